import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import BallotServer

/// Behind a reverse proxy every request comes from the proxy's address: `serve
/// --trusted-proxy ADDR` counts the per-address limits against the client named by
/// X-Forwarded-For, and only for requests that come from ADDR.
@Suite("trusted proxy", .serialized)
struct TrustedProxyTests {
    @Test("the client address: X-Forwarded-For only from a trusted proxy, right-most untrusted hop")
    func clientAddress() {
        var limits = RateLimits.default
        #expect(limits.clientAddress(peer: "10.0.0.2", forwardedFor: "1.2.3.4") == "10.0.0.2", "no proxy trusted: the header is ignored")
        limits.trustedProxies = ["10.0.0.2", "10.0.0.3"]
        #expect(limits.clientAddress(peer: "10.0.0.2", forwardedFor: "1.2.3.4") == "1.2.3.4")
        #expect(limits.clientAddress(peer: "10.0.0.2", forwardedFor: "6.6.6.6, 1.2.3.4, 10.0.0.3") == "1.2.3.4",
                "a client cannot pick its address by sending its own header: the right-most untrusted hop counts")
        #expect(limits.clientAddress(peer: "10.0.0.2", forwardedFor: nil) == "10.0.0.2")
        #expect(limits.clientAddress(peer: "10.0.0.9", forwardedFor: "1.2.3.4") == "10.0.0.9", "from an untrusted peer the header is ignored")
        #expect(limits.clientAddress(peer: "10.0.0.2", forwardedFor: " , ") == "10.0.0.2")
    }

    /// Three refused enrollments per address and minute; the third from one client is limited.
    func refusals(server: ServerProcess, forwardedFor: [String]) async throws -> [Int] {
        var statuses: [Int] = []
        for client in forwardedFor {
            var request = URLRequest(url: URL(string: server.url + "/v1/enrollments")!)
            request.httpMethod = "POST"
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue(client, forHTTPHeaderField: "X-Forwarded-For")
            request.httpBody = Data("{}".utf8)  // refused (malformed): counted against the address
            let (_, response) = try await URLSession.shared.data(for: request)
            statuses.append((response as? HTTPURLResponse)?.statusCode ?? 0)
        }
        return statuses
    }

    @Test("with --trusted-proxy 127.0.0.1 one client's refusals do not limit another behind the same proxy; without it they do")
    func behindAProxy() async throws {
        let work = try Tools.temporaryDirectory("e2e-proxy")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let data = work + "/election"
        #expect(try Tools.run(Tools.ballotServer, ["init", "--data", data, "--json"]).status == 0)
        let limits = ["--refusals-per-ip", "2", "--rate-per-ip", "0", "--attempts-per-voter", "0"]

        let trusting = try ServerProcess(executable: Tools.ballotServer, dataDirectory: data, extraArguments: limits + ["--trusted-proxy", "127.0.0.1"])
        let behind = try await refusals(server: trusting, forwardedFor: ["198.51.100.1", "198.51.100.1", "198.51.100.1", "198.51.100.2"])
        trusting.stop()
        #expect(behind[0] == 400 && behind[1] == 400, "\(behind)")
        #expect(behind[2] == 429, "the first client used its refusals: \(behind)")
        #expect(behind[3] == 400, "another client behind the same proxy is not limited: \(behind)")

        let plain = try ServerProcess(executable: Tools.ballotServer, dataDirectory: data, extraArguments: limits)
        defer { plain.stop() }
        let direct = try await refusals(server: plain, forwardedFor: ["198.51.100.1", "198.51.100.1", "198.51.100.1", "198.51.100.2"])
        #expect(direct[2] == 429 && direct[3] == 429, "without --trusted-proxy the header is ignored: one address, \(direct)")
    }
}
