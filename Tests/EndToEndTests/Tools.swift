import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The built executables: in a test run they sit in the products directory, which is the
/// test bundle's own directory (never guess .build/debug; SWIFT-LINUX-NOTES.md).
enum Tools {
    static var products: URL { Bundle.main.bundleURL }
    static var ballotServer: URL { products.appendingPathComponent("ballot-server") }
    static var voter: URL { products.appendingPathComponent("voter") }

    struct Outcome {
        let status: Int32
        let stdout: String
        let stderr: String

        /// The JSON document a `--json` command printed (its last non-empty line).
        func json() throws -> [String: Any] {
            let line = stdout.split(separator: "\n").last.map(String.init) ?? ""
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw ToolError("not a JSON object: \(stdout) / \(stderr)")
            }
            return object
        }
    }

    struct ToolError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// The environment of every tool a test runs: this one, with the language settings
    /// replaced by `LANG=C.UTF-8` (so the voter tool speaks English whatever the machine's
    /// locale), then `overrides`.
    static func environment(_ overrides: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        for name in ["LC_ALL", "LC_MESSAGES", "LANGUAGE"] { environment[name] = nil }
        environment["LANG"] = "C.UTF-8"
        environment.merge(overrides) { _, new in new }
        return environment
    }

    /// Runs a tool to completion, reading its pipes on Dispatch threads, with a watchdog
    /// that kills it by PID after `timeout` seconds.
    static func run(_ tool: URL, _ arguments: [String], cwd: String? = nil, timeout: TimeInterval = 120,
                    environment: [String: String] = [:]) throws -> Outcome {
        let process = Process()
        process.executableURL = tool
        process.arguments = arguments
        process.environment = Self.environment(environment)
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        let group = DispatchGroup()
        nonisolated(unsafe) var outData = Data()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        // Blocking reads on threads of their own, never on Dispatch's global queues: on Linux
        // those have as few threads as cores, and Swift concurrency needs them too.
        Thread.detachNewThread { outData = out.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        group.enter()
        Thread.detachNewThread { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: watchdog)
        defer { watchdog.cancel() }
        process.waitUntilExit()
        group.wait()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                       stderr: String(decoding: errData, as: UTF8.self))
    }

    static func temporaryDirectory(_ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("\(label)-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

/// A blocking tool run on a thread of its own (never on the cooperative pool or Dispatch's
/// global queues), awaited later.
final class BackgroundRun: @unchecked Sendable {
    private let group = DispatchGroup()
    private var result: Result<Tools.Outcome, any Error>?

    init(_ tool: URL, _ arguments: [String], timeout: TimeInterval) {
        group.enter()
        Thread.detachNewThread {
            self.result = Result { try Tools.run(tool, arguments, timeout: timeout) }
            self.group.leave()
        }
    }

    var isFinished: Bool { group.wait(timeout: .now()) == .success }

    func outcome() async throws -> Tools.Outcome {
        let result: Result<Tools.Outcome, any Error> = await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                self.group.wait()
                continuation.resume(returning: self.result!)
            }
        }
        return try result.get()
    }
}
