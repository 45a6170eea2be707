import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

/// Per-address and per-voter limits on enrollment and casting (`serve --rate-per-ip`,
/// `--refusals-per-ip`, `--attempts-per-voter`): refusals are 429 `rate-limited` with a
/// Retry-After header, and a limited request reaches neither the proofs nor the database.
@Suite("Rate limits")
struct RateLimitTests {
    func withLimits<T: Sendable>(_ e: TestElection, _ limits: RateLimits,
                                 _ test: @Sendable (any TestClientProtocol) async throws -> T) async throws -> T {
        try await TestElection.withRouter(store: e.store, rollSecret: e.rollSecret, clock: e.clock, limits: limits) { client, _ in
            try await test(client)
        }
    }

    @Test("one voter key gets a bounded number of attempts; other voters are not affected")
    func perVoterAttempts() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        let limits = RateLimits(perAddress: 0, refusalsPerAddress: 0, perVoter: 3)
        try await withLimits(e, limits) { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let ballot = try e.ballot(key, voter: 0)
            #expect(try await e.cast(client, ballot).status == .created)
            #expect(try await e.cast(client, ballot).status == .ok, "a resend of the same ballot is answered with its receipt")
            #expect(try await e.cast(client, ballot).status == .ok)
            let limited = try await e.cast(client, ballot)
            expectError(limited, .tooManyRequests, "rate-limited")
            let wait = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...60).contains(wait), "Retry-After \(wait) s: one attempt comes back every 20 s at 3 per minute")
            // Another voter is served.
            let other = try await e.enrolledKey(client, voter: 1)
            #expect(try await e.cast(client, try e.ballot(other, voter: 1)).status == .created)
        }
    }

    @Test("wrong enrollment codes from one address are limited before they reach the roll")
    func refusalsPerAddress() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        let limits = RateLimits(perAddress: 0, refusalsPerAddress: 4, perVoter: 0)
        try await withLimits(e, limits) { client in
            // Wrong codes for four different voters: each is refused and counted on its roll entry.
            for voter in 0..<4 {
                expectError(try await e.enroll(client, number: e.codes[voter].personalNumber, code: "WRONG-CODE-0000", key: try Ed25519PrivateKey()),
                            .unauthorized, "invalid-credentials")
            }
            let before = try await e.snapshot()
            #expect(before.failedAttempts == 4)
            // The address has used its refusals: even a right code waits, and nothing is counted or stored.
            let limited = try await e.enroll(client, voter: 5, key: try Ed25519PrivateKey())
            expectError(limited, .tooManyRequests, "rate-limited")
            #expect(limited.headers[.retryAfter] != nil)
            expectError(try await e.enroll(client, number: e.codes[6].personalNumber, code: "WRONG-CODE-0000", key: try Ed25519PrivateKey()),
                        .tooManyRequests, "rate-limited")
            #expect(try await e.snapshot() == before)
        }
    }

    @Test("one address gets a bounded request rate")
    func requestRatePerAddress() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        // 1 request per second, bursts of 2: eight enrollments sent at once.
        let limits = RateLimits(perAddress: 1, refusalsPerAddress: 0, perVoter: 0)
        try await withLimits(e, limits) { client in
            let started = ContinuousClock.now
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for voter in 0..<8 { group.addTask { try await e.enroll(client, voter: voter, key: try Ed25519PrivateKey()).status } }
                var all: [HTTPResponse.Status] = []
                for try await status in group { all.append(status) }
                return all
            }
            let elapsed = (ContinuousClock.now - started).components.seconds
            let created = statuses.filter { $0 == .created }.count
            #expect(created >= 2, "the burst of 2 is served")
            #expect(created <= 2 + Int(elapsed) + 1, "no more than the burst plus one per second elapsed (\(elapsed) s)")
            #expect(created + statuses.filter { $0 == .tooManyRequests }.count == 8, "\(statuses)")
            // Reading routes are not limited.
            #expect(try await client.get("/v1/election").status == .ok)
        }
    }

    @Test("buckets refill with time and forget keys that are full again")
    func bucketsRefill() async throws {
        let buckets = TokenBuckets(capacity: 2, refillPerSecond: 20, pruneAbove: 3)
        #expect(buckets.take("a") == nil)
        #expect(buckets.take("a") == nil)
        let wait = try #require(buckets.take("a"))
        #expect(wait > 0 && wait <= 0.05)
        #expect(buckets.wait("a") != nil)
        try await Task.sleep(for: .milliseconds(120))
        #expect(buckets.wait("a") == nil)
        #expect(buckets.take("a") == nil)
        for key in ["b", "c", "d"] { _ = buckets.take(key) }
        try await Task.sleep(for: .milliseconds(120))
        _ = buckets.take("e")
        #expect(buckets.count <= 2, "full buckets were pruned once more than 3 keys were held")
    }

    @Test("body sizes and the log page cap follow serve's --max-body-bytes, --max-decryption-bytes and --max-page")
    func requestLimits() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        // A v2 ballot of d01 (4 options, 65-byte points, commitment-form proofs) is about 5 KB.
        let small = RequestLimits(maxBodyBytes: 8192, maxDecryptionBodyBytes: 16384, maxPage: 3)
        try await TestElection.withRouter(store: e.store, rollSecret: e.rollSecret, clock: e.clock, requestLimits: small) { client, _ in
            let key = try await e.enrolledKey(client, voter: 0)
            let ballot = try JSONEncoder().encode(try e.ballot(key, voter: 0).wire)
            try #require(ballot.count < 8192, "the test ballot is \(ballot.count) bytes")
            // The same ballot padded with JSON whitespace past 8 KiB (the default limit would take it).
            let padded = ballot + Data(repeating: 0x20, count: 8193 - ballot.count)
            let refused = expectError(try await client.postJSON("/v1/ballots", padded), .contentTooLarge, "too-large")
            #expect(refused?.message.contains("8 KiB") == true, "\(refused?.message ?? "")")
            #expect(try await client.postJSON("/v1/ballots", ballot).status == .created, "the unpadded ballot fits")
            expectError(try await e.postDecryptionBody(client, Data(repeating: 0x20, count: 17_000)), .contentTooLarge, "too-large")
            #expect(try await client.get("/v1/log/entries?start=0&limit=3").status == .ok)
            expectError(try await client.get("/v1/log/entries?start=0&limit=4"), .badRequest, "malformed")
        }
    }

    @Test("the defaults leave room for a simulation of 10,000 voters from one host")
    func defaultsAreGenerous() {
        let limits = RateLimits.default
        // `voter simulate` sends two requests per voter (enroll, cast); the measured ceiling of one
        // server on this hardware is about 600 encrypted ballots/s (docs/performance.md).
        #expect(limits.perAddress >= 2 * 600)
        // A voter with a challenge and a resend after a dropped connection needs 4 attempts.
        #expect(limits.perVoter >= 4)
        #expect(RateLimits.unlimited.perAddress == 0)
    }
}
