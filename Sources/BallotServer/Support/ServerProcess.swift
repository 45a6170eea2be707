import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A `ballot-server serve --port 0 --json` child process (the demo, the benchmark and the
/// end-to-end tests run the real server this way so that it can be killed and restarted).
final class ServerProcess: @unchecked Sendable {
    // Immutable after init; the Process object is only signalled and waited on.
    private let process: Process
    private let errors: OutputTail
    let port: Int
    let scheme: String
    var url: String { "\(scheme)://127.0.0.1:\(port)" }
    var pid: Int32 { process.processIdentifier }

    /// Starts the server binary on a free loopback port and waits until it listens.
    init(executable: URL, dataDirectory: String, extraArguments: [String] = [], startTimeout: TimeInterval = 30) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["serve", "--data", dataDirectory, "--port", "0", "--json", "--log-level", "warning"] + extraArguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()

        let portBox = PortBox()
        let errors = OutputTail()
        // Read the pipes on threads of their own: blocking reads would starve the cooperative
        // pool and, on Linux, Dispatch's global queues (as few threads as cores), which
        // Swift concurrency's own timers and continuations need.
        let outHandle = out.fileHandleForReading
        Thread.detachNewThread {
            var buffer = Data()
            while true {
                let chunk = outHandle.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Data(buffer[buffer.startIndex..<newline])
                    buffer.removeSubrange(buffer.startIndex...newline)
                    if let listening = try? JSONDecoder().decode(ListeningLine.self, from: line) {
                        portBox.set(listening.port)
                    }
                }
            }
            portBox.set(nil)
        }
        let errHandle = err.fileHandleForReading
        Thread.detachNewThread {
            while true {
                let chunk = errHandle.availableData
                if chunk.isEmpty { break }
                errors.append(String(decoding: chunk, as: UTF8.self))
            }
        }
        guard let port = portBox.wait(timeout: startTimeout) else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let tail = errors.text
            throw CommandError("server-start-failed", "the server did not start listening: \(tail.isEmpty ? "no output" : tail)")
        }
        self.process = process
        self.errors = errors
        self.port = port
        scheme = extraArguments.contains("--tls-cert") ? "https" : "http"
    }

    struct ListeningLine: Decodable { let port: Int }

    /// The last lines the server wrote to standard error.
    var recentErrors: String { errors.text }

    var isRunning: Bool { process.isRunning }

    /// Sends `signal` and waits for the process to end.
    func stop(signal: Int32 = SIGTERM) {
        guard process.isRunning else { return }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
    }

    deinit { stop(signal: SIGKILL) }
}

/// The tail of a child's standard error, for failure messages.
final class OutputTail: @unchecked Sendable {
    private let lock = NSLock()
    private var chunks: [String] = []

    func append(_ s: String) {
        lock.withLock {
            chunks.append(s)
            if chunks.count > 50 { chunks.removeFirst() }
        }
    }

    var text: String { lock.withLock { chunks.joined() } }
}

/// A one-shot value handed from a reader thread to the waiting starter.
private final class PortBox: @unchecked Sendable {
    private let condition = NSCondition()
    private var value: Int??

    func set(_ port: Int?) {
        condition.lock()
        if value == nil { value = .some(port) }
        condition.broadcast()
        condition.unlock()
    }

    func wait(timeout: TimeInterval) -> Int? {
        let deadline = Date().addingTimeInterval(timeout)
        condition.lock()
        defer { condition.unlock() }
        while value == nil {
            if !condition.wait(until: deadline) { return nil }
        }
        return value ?? nil
    }
}

/// The path of the running `ballot-server` binary.
func currentExecutable() -> URL {
    URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
}
