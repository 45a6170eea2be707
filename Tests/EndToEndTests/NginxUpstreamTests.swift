import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import BallotServer

/// nginx (Debian's package, unprivileged, everything in a temporary folder) running the
/// configuration block of docs/operations.md "nginx in front of the instances".
final class NginxProcess: @unchecked Sendable {
    // Immutable after init; the Process is only signalled and waited on.
    private let process: Process
    let folder: String
    let port: Int
    var url: String { "https://127.0.0.1:\(port)" }

    /// nginx from PATH or Debian's /usr/sbin; nil when it is not installed.
    static let executable: String? = {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/usr/local/sbin", "/sbin"]
        return folders.map { $0 + "/nginx" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static let curl: String? = ["/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// The first ```nginx block after the heading "### nginx in front of the instances".
    static func documentedBlock() throws -> String {
        let text = try String(contentsOf: ReadmeByHandTests.packageRoot.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        guard let heading = text.range(of: "### nginx in front of the instances"),
              let open = text.range(of: "```nginx\n", range: heading.upperBound..<text.endIndex),
              let close = text.range(of: "\n```", range: open.upperBound..<text.endIndex) else {
            throw Tools.ToolError("docs/operations.md has no ```nginx block under \"### nginx in front of the instances\"")
        }
        return String(text[open.upperBound..<close.lowerBound])
    }

    /// The documented block with only its ports and certificate paths replaced, wrapped in
    /// the few main-context lines an unprivileged nginx in `folder` needs.
    static func configuration(block: String, folder: String, port: Int, instances: [Int], certificate: String, key: String) throws -> String {
        let replacements = [
            ("listen 443 ssl;", "listen 127.0.0.1:\(port) ssl;"),
            ("server 127.0.0.1:8081 ", "server 127.0.0.1:\(instances[0]) "),
            ("server 127.0.0.1:8082 ", "server 127.0.0.1:\(instances[1]) "),
            ("/etc/evote/tls/server.crt", certificate),
            ("/etc/evote/tls/server.key", key),
        ]
        var http = block
        for (documented, local) in replacements {
            guard http.contains(documented) else { throw Tools.ToolError("the documented nginx block no longer contains \(documented)") }
            http = http.replacingOccurrences(of: documented, with: local)
        }
        return """
            daemon off;
            worker_processes 1;
            pid \(folder)/nginx.pid;
            error_log \(folder)/error.log warn;
            events { worker_connections 512; }
            http {
                access_log \(folder)/access.log;
                client_body_temp_path \(folder)/client_body;
                proxy_temp_path \(folder)/proxy;
                fastcgi_temp_path \(folder)/fastcgi;
                uwsgi_temp_path \(folder)/uwsgi;
                scgi_temp_path \(folder)/scgi;
            \(http)
            }

            """
    }

    /// Writes `configuration` to `folder/nginx.conf`, starts nginx on it and waits until it
    /// answers /health through the instances.
    init(configuration: String, folder: String, port: Int, caFile: String) throws {
        guard let nginx = Self.executable else { throw Tools.ToolError("nginx is not installed") }
        try configuration.write(toFile: folder + "/nginx.conf", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: nginx)
        process.arguments = ["-e", folder + "/error.log", "-c", folder + "/nginx.conf", "-p", folder + "/"]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        self.folder = folder
        self.port = port
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            guard process.isRunning else { break }
            if let answer = try? Self.request("https://127.0.0.1:\(port)/health", method: "GET", caFile: caFile), answer.status == 200 { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        stop()
        throw Tools.ToolError("nginx did not start: \(errorLog)")
    }

    var errorLog: String { (try? String(contentsOfFile: folder + "/error.log", encoding: .utf8)) ?? "" }

    /// SIGTERM: the master stops its workers and exits.
    func stop() {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + 10, execute: watchdog)
        process.waitUntilExit()
        watchdog.cancel()
    }

    deinit { stop() }

    /// One request by curl from the loopback address `source` (Linux routes all of 127/8 to
    /// lo, so clients behind nginx can have addresses of their own), without retries.
    static func request(_ url: String, method: String = "POST", body: String? = nil, from source: String = "127.0.0.1",
                        forwardedFor: String? = nil, caFile: String? = nil) throws -> (status: Int, code: String?) {
        guard let curl else { throw Tools.ToolError("curl is not installed") }
        var arguments = ["-sS", "--max-time", "30", "--interface", source, "-X", method, "-w", "\n%{http_code}"]
        if let caFile { arguments += ["--cacert", caFile] }
        if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
        if let forwardedFor { arguments += ["-H", "X-Forwarded-For: \(forwardedFor)"] }
        let outcome = try Tools.run(URL(fileURLWithPath: curl), arguments + [url], timeout: 60)
        let lines = outcome.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        guard outcome.status == 0, let last = lines.last, let status = Int(last) else {
            throw Tools.ToolError("curl \(url) failed (\(outcome.status)): \(outcome.stderr)")
        }
        let answer = lines.dropLast().joined(separator: "\n")
        let code = (try? JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any])?["code"] as? String
        return (status, code)
    }
}

extension PostgresInstancesTests {
    static let nginxReady = url != nil && NginxProcess.executable != nil && NginxProcess.curl != nil

    /// Locally the nginx test skips without nginx or curl; CI must run it (.ci/run installs both).
    @Test func nginxIsInstalledUnderCI() {
        guard NginxProcess.executable == nil || NginxProcess.curl == nil else { return }
        let underCI = ProcessInfo.processInfo.environment["CI"] == "true"
        #expect(!underCI, "CI=true but nginx or curl is missing: .ci/run must install them")
        if !underCI { print("nginx test skipped: install Debian's nginx and curl (apt-get install nginx curl) to run it") }
    }

    @Test("docs/operations.md's nginx block in front of two instances: simulate through it while one instance is killed loses nothing, the limits count each client behind it, X-Forwarded-For only from the trusted proxy",
          .enabled(if: nginxReady, "needs EVOTE_TEST_POSTGRES_URL, nginx and curl"))
    func nginxInFrontOfTwoInstances() async throws {
        let election = try Self.election("e2e-nginx", districts: 2, votersPerDistrict: 30)
        defer { election.cleanUp() }
        // Two refusals per address and minute on each instance, so a client behind nginx meets the limit fast.
        let servers = try election.startInstances(2, ["--trusted-proxy", "127.0.0.1", "--refusals-per-ip", "2", "--rate-per-ip", "0",
                                                      "--attempts-per-voter", "0"])
        defer { for s in servers { s.stop(signal: SIGKILL) } }
        try election.open(through: servers)

        let work = election.work
        let certificate = work + "/tls.crt"
        try PostgresElection.must(Tools.ballotServer, ["tls-cert", "--name", "127.0.0.1", "--cert-out", certificate, "--key-out", work + "/tls.key"])
        let folder = work + "/nginx"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let port = try ReadmeByHandTests.freePort()
        let documentation = try String(contentsOf: ReadmeByHandTests.packageRoot.appendingPathComponent("docs/operations.md"), encoding: .utf8)
        #expect(documentation.contains("--trusted-proxy 127.0.0.1"), "docs/operations.md no longer runs the instances with --trusted-proxy 127.0.0.1")
        let configuration = try NginxProcess.configuration(block: try NginxProcess.documentedBlock(), folder: folder, port: port,
                                                           instances: servers.map(\.port), certificate: certificate, key: work + "/tls.key")
        let nginx = try NginxProcess(configuration: configuration, folder: folder, port: port, caFile: certificate)
        defer { nginx.stop() }

        // Per-address limits behind nginx count the real client: 127.0.0.2 uses up its refusals
        // (two per instance), 127.0.0.3 behind the same proxy still has its own.
        let enroll = nginx.url + "/v1/enrollments"
        var first: [Int] = []
        for _ in 0..<6 { first.append(try NginxProcess.request(enroll, body: "{}", from: "127.0.0.2", caFile: certificate).status) }
        #expect(first.first == 400 && first.last == 429 && first.filter { $0 == 400 }.count <= 4, "127.0.0.2's refusals through nginx: \(first)")
        let other = try NginxProcess.request(enroll, body: "{}", from: "127.0.0.3", caFile: certificate)
        #expect(other.status == 400 && other.code == "malformed", "another client behind nginx is not limited by 127.0.0.2's refusals: \(other)")
        // A client cannot pick its address by sending X-Forwarded-For itself: nginx appends the real one.
        let spoofed = try NginxProcess.request(enroll, body: "{}", from: "127.0.0.2", forwardedFor: "203.0.113.9", caFile: certificate)
        #expect(spoofed.status == 429, "127.0.0.2 with its own X-Forwarded-For is still 127.0.0.2: \(spoofed)")
        // Straight to an instance from an untrusted peer, X-Forwarded-For is ignored: a new header each time does not help.
        var direct: [Int] = []
        for i in 0..<4 {
            direct.append(try NginxProcess.request(servers[0].url + "/v1/enrollments", body: "{}", from: "127.0.0.4", forwardedFor: "198.51.100.\(i + 1)").status)
        }
        #expect(direct == [400, 400, 429, 429], "X-Forwarded-For from an untrusted peer: \(direct)")
        print("behind nginx: 127.0.0.2 \(first), then 127.0.0.3 \(other.status), 127.0.0.2 with its own X-Forwarded-For \(spoofed.status); straight to an instance from 127.0.0.4 with a new X-Forwarded-For each time \(direct)")

        // Voters through nginx; the second instance is killed once a fifth have their receipt.
        let voters = 60
        let receipts = work + "/receipts.jsonl"
        let load = BackgroundRun(Tools.voter, ["simulate", "--server", nginx.url, "--ca-file", certificate, "--codes", election.codes,
                                               "--voters", "\(voters)", "--concurrency", "6", "--receipts-out", receipts, "--json"], timeout: 600)
        let killed = try await PostgresElection.when(receipts, reach: voters / 5, before: load) { servers[1].stop(signal: SIGKILL) }
        let outcome = try await load.outcome()
        #expect(killed, "the load finished before the kill: \(outcome.stdout)")
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)\n\(nginx.errorLog.suffix(2000))")
        let summary = try outcome.json()
        #expect(summary["succeeded"] as? Int == voters, "every voter got a receipt through nginx: \(outcome.stdout)")
        print("simulate through nginx, one instance SIGKILLed: \(summary["succeeded"] ?? "-") of \(voters) voters succeeded in \(summary["seconds"] ?? "-") s")
        let problems = try election.lossCheck(receipts: receipts, voters: voters, verifyAgainst: nginx.url, caFile: certificate)
        #expect(problems.isEmpty, "\(problems)")

        // The commission and the trustees through nginx too (signed, not resent by nginx); results and audit.
        try PostgresElection.must(Tools.ballotServer, ["close", "--server", nginx.url, "--ca-file", certificate, "--commission-key", election.commissionKey])
        for i in 1...3 {
            try PostgresElection.must(Tools.ballotServer, ["trustee", "decrypt", "--server", nginx.url, "--ca-file", certificate, "--key", election.trusteeKey(i)])
        }
        let mismatches = try await resultsMismatches(server: servers[0].url, expected: simulatedCounts(summary))
        #expect(mismatches.isEmpty, "\(mismatches)")
        let audit = try Tools.run(Tools.voter, ["audit", "--server", nginx.url, "--ca-file", certificate, "--json"], timeout: 300)
        #expect(audit.status == 0, "\(audit.stdout.suffix(2000))")
    }
}
