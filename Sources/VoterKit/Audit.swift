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
        var lines = LineBatch()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            for line in splitter.feed(chunk) { await lines.add(line, audit) }
        }
        if let last = splitter.finish() { await lines.add(last, audit) }
        await lines.flush(audit)
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
        var lines = LineBatch()
        for try await buffer in response.body {
            for line in splitter.feed(Data(buffer.readableBytesView)) { await lines.add(line, audit) }
        }
        if let last = splitter.finish() { await lines.add(last, audit) }
        await lines.flush(audit)
        return await audit.finish()
    }
}

/// Parses record lines in parallel batches (JSON and hex decoding are a large share of the
/// audit's serial work), then hands the items to the audit in order.
struct LineBatch {
    private var pending: [Data] = []
    private var consumed = 0
    static let size = 1024

    mutating func add(_ line: Data, _ audit: ElectionAudit) async {
        pending.append(line)
        if pending.count >= Self.size { await flush(audit) }
    }

    mutating func flush(_ audit: ElectionAudit) async {
        guard !pending.isEmpty else { return }
        let lines = pending
        pending = []
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let parsed: [Result<RecordItem, any Error>] = await withTaskGroup(of: [(Int, Result<RecordItem, any Error>)].self) { group in
            for w in 0..<workers {
                group.addTask {
                    stride(from: w, to: lines.count, by: workers).map { i in (i, Result { try RecordItem.parse(line: lines[i]) }) }
                }
            }
            var all = [Result<RecordItem, any Error>?](repeating: nil, count: lines.count)
            for await part in group { for (i, r) in part { all[i] = r } }
            return all.map { $0 ?? .failure(VoterError("internal", "line not parsed")) }
        }
        for result in parsed {
            consumed += 1
            switch result {
            case .success(let item): await audit.consume(item)
            case .failure(let error): audit.malformedLine(consumed, error)
            }
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
