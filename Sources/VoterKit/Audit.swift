import Foundation
import AsyncHTTPClient
import NIOCore
public import VotingCore

/// Runs the election audit over a record file or a server's `GET /v1/record` stream, one
/// line at a time, so memory does not grow with the number of ballots. Lines are read with
/// the strict grammar of docs/verification.md §1.1 (`RecordLineSplitter`, `RecordLine`,
/// `RecordItem.parse`): a malformed line fails check 2, naming its line number and the
/// reason, and reading goes on with the next line.
public enum AuditRunner {
    public static func audit(recordFile path: String, progress: (@Sendable (Int) -> Void)? = nil) async throws -> AuditReport {
        let reader: RecordFileReader
        do {
            reader = try RecordFileReader(path: path)
        } catch {
            throw VoterError("no-record", "\(error.description); export one with `ballot-server export` or use --server")
        }
        let audit = ElectionAudit(parallelism: ProcessInfo.processInfo.activeProcessorCount)
        audit.onProgress = progress
        var lines = RecordAuditFeeder(audit: audit, workers: ProcessInfo.processInfo.activeProcessorCount)
        while true {
            let output: RecordLineSplitter.Output?
            do {
                output = try reader.next()
            } catch {
                throw VoterError("error", error.description)
            }
            guard let output else { break }
            await lines.add(output)
        }
        await lines.flush()
        return await audit.finish()
    }

    public static func audit(client: BallotServerClient, progress: (@Sendable (Int) -> Void)? = nil) async throws -> AuditReport {
        let audit = ElectionAudit(parallelism: ProcessInfo.processInfo.activeProcessorCount)
        audit.onProgress = progress
        var splitter = RecordLineSplitter()
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
        var lines = RecordAuditFeeder(audit: audit, workers: ProcessInfo.processInfo.activeProcessorCount)
        for try await buffer in response.body {
            for output in splitter.feed(buffer.readableBytesView) { await lines.add(output) }
        }
        // A body that stops after a partial line (an export that failed mid-way) ends in a
        // malformed line (Record §1.4).
        if let last = splitter.finish() { await lines.add(last) }
        await lines.flush()
        return await audit.finish()
    }
}
