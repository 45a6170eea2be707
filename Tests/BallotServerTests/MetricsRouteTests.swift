import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

@Suite("GET /metrics and GET /v1/status")
struct MetricsRouteTests {
    @Test func metricsCountAcceptedBallotsRefusalsLatencyAndTheLog() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let ballot = try e.ballot(key, voter: 0, option: 1)
            #expect(try await e.cast(client, ballot).status == .created)
            #expect(try await e.cast(client, ballot).status == .ok, "an identical re-send is not a new ballot")
            #expect(try await e.cast(client, try e.ballot(key, voter: 0, option: 2)).status == .conflict)
            _ = try await client.executeRequest(uri: "/v1/nothing", method: .get, headers: [:], body: nil)

            let response = try await client.executeRequest(uri: "/metrics", method: .get, headers: [:], body: nil)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let text = String(buffer: response.body)
            let logSize = try await e.snapshot().logSize
            #expect(text.contains("evote_ballots_accepted_total 1"), "\(text)")
            #expect(text.contains("evote_enrollments_accepted_total 1"))
            #expect(text.contains("evote_rejections_total{code=\"already-voted\"} 1"))
            #expect(text.contains("evote_rejections_total{code=\"not-found\"} 1"))
            #expect(text.contains("evote_log_entries \(logSize)"))
            #expect(text.contains("evote_request_duration_seconds_count"))
            // Two casts reached the proof check (the first and its identical re-send; the voter's
            // second ballot is refused by the read before the proofs): the sizes add up to two.
            #expect(text.contains("evote_proof_batch_ballots_sum 2.0") || text.contains("evote_proof_batch_ballots_sum 2\n"), "\(text)")

            // The dashboard's numbers: counted from the log, refusals from the same counters.
            let status = try await client.executeRequest(uri: "/v1/status", method: .get, headers: [:], body: nil)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(buffer: status.body)) as? [String: Any])
            let districts = try #require(object["districts"] as? [[String: Any]])
            #expect(districts.compactMap { $0["ballots"] as? Int }.reduce(0, +) == 1)
            #expect(districts.compactMap { $0["enrolled"] as? Int }.reduce(0, +) == 1)
            #expect((object["rejections"] as? [String: Int])?["already-voted"] == 1)
            #expect(object["state"] as? String == "open")

            let page = try await client.executeRequest(uri: "/", method: .get, headers: [:], body: nil)
            #expect(page.status == .ok)
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'self'") == true)
            let html = String(buffer: page.body)
            #expect(html.contains("Check my ballot") && !html.contains("<script src") && !html.contains("http://") && !html.contains("https://"))
        }
    }
}
