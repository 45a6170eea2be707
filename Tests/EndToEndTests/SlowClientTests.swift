import Foundation
import Testing
@testable import BallotServer
#if canImport(Glibc)
import Glibc
#endif

/// A slow or oversized client cannot hold the server: stalled connections are closed after the
/// idle timeout, oversized headers are refused, and the server keeps answering others.
@Suite("slow and oversized clients", .serialized)
struct SlowClientTests {
    /// A raw loopback TCP connection (no HTTP client smoothing things over).
    final class RawConnection {
        let fd: Int32
        init(port: Int) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard result == 0 else { throw Tools.ToolError("connect failed: \(errno)") }
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }
        deinit { close(fd) }
        func send(_ text: String) { _ = text.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
        /// Everything the server sends until it closes the connection (or 10 s pass).
        func readUntilClosed() -> (bytes: String, closed: Bool) {
            var out = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while true {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n == 0 { return (String(decoding: out, as: UTF8.self), true) }
                if n < 0 { return (String(decoding: out, as: UTF8.self), false) }
                out += buffer.prefix(n)
            }
        }
    }

    @Test("a stalled request is cut off after the idle timeout; an oversized header is refused; others are still served")
    func slowClients() async throws {
        let path = try Tools.temporaryDirectory("e2e-slow")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dir = DataDirectory(path: path + "/election")
        _ = try await ElectionStore.create(in: dir, database: .sqlite, manifest: try ExampleElection.manifest())
        let server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path,
                                       extraArguments: ["--idle-timeout", "1", "--max-header-bytes", "4096"])
        defer { server.stop() }

        // Half a request, then silence: the server closes the connection by itself.
        let stalled = try RawConnection(port: server.port)
        stalled.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        let started = Date()
        let (_, closed) = stalled.readUntilClosed()
        #expect(closed, "the server should close a stalled connection")
        #expect(Date().timeIntervalSince(started) < 8, "closed after the 1 s idle timeout, not the client's 10 s")

        // A header section over the limit is refused.
        let oversized = try RawConnection(port: server.port)
        oversized.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: \(String(repeating: "a", count: 8192))\r\n\r\n")
        let (answer, _) = oversized.readUntilClosed()
        #expect(!answer.hasPrefix("HTTP/1.1 200"), "an oversized header must not be served: \(answer.prefix(80))")

        // Meanwhile a well-behaved client is served.
        let normal = try RawConnection(port: server.port)
        normal.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        let (reply, _) = normal.readUntilClosed()
        #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply.prefix(80))")
        #expect(reply.contains("\"status\":\"ok\""))
    }
}
