public import Foundation
import AsyncHTTPClient
import NIOCore
public import VotingCore

/// Runs the election audit over a record file or a server's `GET /v1/record` stream, one
/// line at a time, so memory does not grow with the number of ballots.
public enum AuditRunner {
    public static func audit(recordFile path: String, progress: (@Sendable (Int) -> Void)? = nil) async throws -> AuditReport {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw VoterError("no-record", "cannot read the record \(path); export one with `ballot-server export` or use --server")
        }
        defer { try? handle.close() }
        let audit = ElectionAudit(parallelism: ProcessInfo.processInfo.activeProcessorCount)
        audit.onProgress = progress
        var splitter = LineSplitter()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            for line in splitter.feed(chunk) { await consume(line, splitter.lineNumber, audit) }
        }
        if let last = splitter.finish() { await consume(last, splitter.lineNumber, audit) }
        return await audit.finish()
    }

    public static func audit(client: BallotServerClient, progress: (@Sendable (Int) -> Void)? = nil) async throws -> AuditReport {
        let audit = ElectionAudit(parallelism: ProcessInfo.processInfo.activeProcessorCount)
        audit.onProgress = progress
        var splitter = LineSplitter()
        var request = HTTPClientRequest(url: client.baseURL + "/v1/record")
        request.method = .GET
        let response: HTTPClientResponse
        do {
            response = try await client.http.execute(request, timeout: .hours(1))
        } catch {
            throw VoterError("unreachable", "cannot reach the ballot server at \(client.baseURL) (\(error))")
        }
        guard response.status == .ok else {
            throw VoterError("http-\(response.status.code)", "the server refused to send the record (\(response.status))")
        }
        for try await buffer in response.body {
            for line in splitter.feed(Data(buffer.readableBytesView)) { await consume(line, splitter.lineNumber, audit) }
        }
        if let last = splitter.finish() { await consume(last, splitter.lineNumber, audit) }
        return await audit.finish()
    }

    private static func consume(_ line: Data, _ number: Int, _ audit: ElectionAudit) async {
        do {
            await audit.consume(try RecordItem.parse(line: line))
        } catch {
            audit.malformedLine(number, error)
        }
    }
}

/// Splits a byte stream into lines (LF), keeping at most one partial line.
struct LineSplitter {
    private var buffer = Data()
    private(set) var lineNumber = 0

    mutating func feed(_ chunk: Data) -> [Data] {
        buffer.append(chunk)
        var lines: [Data] = []
        var start = buffer.startIndex
        while let newline = buffer[start...].firstIndex(of: 0x0a) {
            if newline > start { lines.append(Data(buffer[start..<newline])) }
            start = buffer.index(after: newline)
        }
        buffer = Data(buffer[start...])
        lineNumber += lines.count
        return lines
    }

    mutating func finish() -> Data? {
        defer { buffer = Data() }
        guard !buffer.isEmpty else { return nil }
        lineNumber += 1
        return buffer
    }
}
