import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// README.md's "Running an election by hand" block, run as written (one bash shell, step by
/// step, stopping at the first failing command), against the built binaries: a newcomer who
/// pastes it must get a whole election. Only what a test must change is changed: the build
/// step (the binaries are already built), the binaries' folder, the working folder and the
/// port (8080 may be taken; a free loopback port instead).
@Suite("README by hand", .serialized)
struct ReadmeByHandTests {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The first ```sh block after the heading.
    static func byHandBlock() throws -> String {
        let readme = try String(contentsOf: packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        guard let heading = readme.range(of: "## Running an election by hand"),
              let open = readme.range(of: "```sh\n", range: heading.upperBound..<readme.endIndex),
              let close = readme.range(of: "\n```", range: open.upperBound..<readme.endIndex) else {
            throw Tools.ToolError("README.md has no ```sh block under \"## Running an election by hand\"")
        }
        return String(readme[open.upperBound..<close.lowerBound])
    }

    /// A loopback port that was free a moment ago.
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Tools.ToolError("socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Tools.ToolError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw Tools.ToolError("getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test("the by-hand block runs as written: ceremony, voter, simulation, close, decryption, two audits, verify")
    func byHandBlockRuns() throws {
        let block = try Self.byHandBlock()
        // The lines the test replaces must be there, so the README cannot drift from what is run.
        for expected in ["swift build", "export PATH=\"$PWD/.build/debug:$PATH\"", "mkdir -p /tmp/evote-by-hand && cd /tmp/evote-by-hand",
                         "--port 8080", "kill %1"] {
            #expect(block.contains(expected), "the by-hand block no longer contains \(expected)")
        }
        let work = try Tools.temporaryDirectory("readme-by-hand")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let port = try Self.freePort()
        var lines: [String] = [
            "set -eo pipefail",
            // A failing step must not leave the server running.
            "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
        ]
        for line in block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("swift build") { continue }
            if line.hasPrefix("export PATH=") {
                lines.append("export PATH=\"\(Tools.products.path):$PATH\"")
                continue
            }
            lines.append(line.replacingOccurrences(of: "/tmp/evote-by-hand", with: work + "/by-hand")
                .replacingOccurrences(of: "8080", with: String(port)))
        }
        let script = work + "/by-hand.sh"
        try lines.joined(separator: "\n").write(toFile: script, atomically: true, encoding: .utf8)
        let run = try Tools.run(URL(fileURLWithPath: "/bin/bash"), [script], cwd: Self.packageRoot.path, timeout: 300)
        #expect(run.status == 0, "the by-hand block failed:\n\(run.stdout.suffix(3000))\n\(run.stderr.suffix(3000))")
        #expect(run.stdout.components(separatedBy: "AUDIT PASSED").count - 1 == 2, "both audits must pass")
        #expect(run.stdout.contains("is recorded as cast"))
        // Every file it made is in its own folder; none in the checkout.
        for made in ["codes.csv", "wallet.json", "receipt.json", "record.jsonl", "results.html", "trustee-1.key.json", "election"] {
            #expect(FileManager.default.fileExists(atPath: work + "/by-hand/" + made), "\(made) is missing")
            #expect(!FileManager.default.fileExists(atPath: Self.packageRoot.path + "/" + made), "\(made) landed in the checkout")
        }
    }
}
