import Foundation
import Testing
@testable import BallotServer
#if canImport(Glibc)
import Glibc
#endif

/// What the HTTP layer refuses before the router (oversize bodies, unparseable requests,
/// oversize headers) is answered at once with the API's JSON error body and the connection
/// is closed; the server keeps serving.
@Suite("HTTP edge: refusals below the router", .serialized)
struct HTTPEdgeTests {
    /// One response read off a raw connection.
    struct RawResponse {
        let statusLine: String
        let headers: [String: String]
        let body: String
        let closed: Bool
        let seconds: Double

        /// The `{"code","message"}` error body's code, or nil when the body is not that shape.
        var errorCode: String? {
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                  let code = object["code"] as? String, object["message"] is String,
                  Set(object.keys).isSubset(of: ["code", "message", "tracking_code"]) else { return nil }
            return code
        }
    }

    /// Sends `request` on a fresh connection and reads until the server closes it (10 s at most).
    static func exchange(_ port: Int, _ request: [UInt8]) throws -> RawResponse {
        let connection = try SlowClientTests.RawConnection(port: port)
        let started = Date()
        connection.send(bytes: request)
        let (raw, closed) = connection.readUntilClosed()
        let seconds = Date().timeIntervalSince(started)
        let parts = raw.components(separatedBy: "\r\n\r\n")
        let head = parts.first ?? ""
        let lines = head.components(separatedBy: "\r\n")
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return RawResponse(statusLine: lines.first ?? "", headers: headers, body: parts.dropFirst().joined(separator: "\r\n\r\n"),
                           closed: closed, seconds: seconds)
    }

    static func exchange(_ port: Int, _ request: String) throws -> RawResponse { try exchange(port, Array(request.utf8)) }

    /// The refusal arrives at once, as JSON with `code`, and the server closes the connection after it.
    static func expectRefusal(_ response: RawResponse, status: String, code: String, _ label: String) {
        #expect(response.statusLine.hasPrefix("HTTP/1.1 \(status)"), "\(label): \(response.statusLine)")
        #expect(response.headers["content-type"] == "application/json; charset=utf-8", "\(label): \(response.headers)")
        #expect(response.errorCode == code, "\(label): \(response.body)")
        #expect(response.closed, "\(label): the server should close the connection after the refusal")
        #expect(response.seconds < 5, "\(label): answered and closed after \(response.seconds) s, not at once")
    }

    static func startServer(_ label: String, _ arguments: [String] = []) async throws -> (ServerProcess, String) {
        let path = try Tools.temporaryDirectory(label)
        let dir = DataDirectory(path: path + "/election")
        _ = try await ElectionStore.create(in: dir, database: .sqlite, manifest: try ExampleElection.manifest())
        let server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path, extraArguments: arguments)
        return (server, path)
    }

    static func expectStillServing(_ port: Int) throws {
        let health = try exchange(port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        #expect(health.statusLine.hasPrefix("HTTP/1.1 200"), "\(health.statusLine)")
        #expect(health.body.contains("\"status\":\"ok\""))
    }

    @Test("an announced or streamed body over the route's limit gets 413 too-large at once, without sending the body")
    func oversizeBodies() async throws {
        let (server, path) = try await Self.startServer("e2e-edge-413")
        defer { server.stop(); try? FileManager.default.removeItem(atPath: path) }
        let port = server.port

        for length in ["65537", "1000000000000"] {
            let response = try Self.exchange(port, "POST /v1/ballots HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: \(length)\r\n\r\n")
            Self.expectRefusal(response, status: "413", code: "too-large", "Content-Length: \(length)")
        }
        // Partial decryptions take --max-decryption-bytes (4 MiB), not --max-body-bytes.
        let decryption = try Self.exchange(port, "POST /v1/tally/decryptions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(4 * 1024 * 1024 + 1)\r\n\r\n")
        Self.expectRefusal(decryption, status: "413", code: "too-large", "decryption over 4 MiB")
        let fits = try Self.exchange(port, "POST /v1/tally/decryptions HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 65537\r\n\r\n"
                                     + String(repeating: "x", count: 65537))
        #expect(!fits.statusLine.hasPrefix("HTTP/1.1 413"), "65537 bytes fit the decryption route's limit: \(fits.statusLine) \(fits.body)")

        // Chunked: one huge chunk announced, a little more than the limit sent, the rest never.
        let chunked = try Self.exchange(port, "POST /v1/ballots HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000\r\n"
                                        + String(repeating: "x", count: 70_000))
        Self.expectRefusal(chunked, status: "413", code: "too-large", "one huge chunk")

        try Self.expectStillServing(port)
    }

    @Test("requests the HTTP parser rejects get 400 malformed or 431 headers-too-large as JSON, and the connection is closed")
    func parserErrors() async throws {
        let (server, path) = try await Self.startServer("e2e-edge-400", ["--max-header-bytes", "4096"])
        defer { server.stop(); try? FileManager.default.removeItem(atPath: path) }
        let port = server.port

        let malformed: [(String, [UInt8])] = [
            ("unparseable Content-Length", Array("POST /v1/ballots HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n".utf8)),
            ("two different Content-Lengths", Array("POST /v1/ballots HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!".utf8)),
            ("unknown method", Array("FROB /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)),
            ("NUL byte in the path", Array("GET /hea".utf8) + [0] + Array("lth HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)),
            ("chunk size not hex", Array("POST /v1/ballots HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n".utf8)),
            ("not HTTP/1", Array("GET /health HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)),
        ]
        for (label, request) in malformed {
            Self.expectRefusal(try Self.exchange(port, request), status: "400", code: "malformed", label)
        }
        let oversized = try Self.exchange(port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: \(String(repeating: "a", count: 8192))\r\n\r\n")
        Self.expectRefusal(oversized, status: "431", code: "headers-too-large", "oversize header section")

        try Self.expectStillServing(port)
    }

    @Test("a body the route never reads does not hold the connection: the answer comes at once and the connection closes")
    func unreadBodies() async throws {
        let (server, path) = try await Self.startServer("e2e-edge-unread")
        defer { server.stop(); try? FileManager.default.removeItem(atPath: path) }
        let port = server.port

        // A route that reads no body, half the body sent.
        let health = try Self.exchange(port, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "x", count: 500))
        #expect(health.statusLine.hasPrefix("HTTP/1.1 200"), "\(health.statusLine)")
        #expect(health.headers["connection"] == "close", "\(health.headers)")
        #expect(health.closed && health.seconds < 5, "closed \(health.closed) after \(health.seconds) s")

        // No route at all: 404 before any body is read.
        let unknown = try Self.exchange(port, "POST /v1/nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n" + String(repeating: "x", count: 500))
        Self.expectRefusal(unknown, status: "404", code: "not-found", "unknown route with a body")

        // A complete request keeps the connection: two pipelined requests, two answers.
        let connection = try SlowClientTests.RawConnection(port: port)
        connection.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\nhi"
                        + "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let (both, _) = connection.readUntilClosed()
        #expect(both.components(separatedBy: "HTTP/1.1 200").count == 3, "\(both)")

        try Self.expectStillServing(port)
    }
}

extension SlowClientTests.RawConnection {
    /// Sends raw bytes (a NUL byte included), all of them.
    func send(bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return }
            offset += n
        }
    }
}
