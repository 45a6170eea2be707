import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

/// When the database cannot be written the server answers 503 `unavailable` with
/// Retry-After, signs no receipt, stores nothing, reports it on /health and /metrics, and
/// recovers by itself once writes succeed again. Here the fault is a real SQLITE_READONLY on
/// the server's own writer connection (`PRAGMA query_only`), switched on and off while it
/// serves; every failed commit takes the same path, whatever SQLite error caused it. The
/// drill on a really full filesystem, with a real server process, is DiskFullDrillTests.
@Suite("Storage failures")
struct StorageFailureTests {
    func setReadOnly(_ e: TestElection, _ on: Bool) async throws {
        try await e.pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA query_only = \(on ? 1 : 0)") }
    }

    @Test("a read-only database: casting and enrolling are refused with 503 and no receipt, then work again")
    func readOnlyAndRecover() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            var ballots: [SignedBallot] = []
            for voter in 0..<6 { ballots.append(try e.ballot(try await e.enrolledKey(client, voter: voter), voter: voter)) }
            #expect(try await client.get("/health").status == .ok)

            try await setReadOnly(e, true)
            let ballot = ballots[0]
            let checkpoint = try await client.get("/v1/log/checkpoint").text
            let before = try await e.snapshot()
            for response in [try await e.cast(client, ballot), try await e.enroll(client, voter: 7, key: try Ed25519PrivateKey())] {
                let error = expectError(response, .serviceUnavailable, "unavailable")
                #expect(error?.trackingCode == nil)
                #expect(response.headers[.retryAfter] == "5")
                #expect(!response.text.contains("\"logged\""), "no receipt may be signed: \(response.text)")
            }
            #expect(try await e.snapshot() == before)
            #expect(try await client.get("/v1/log/checkpoint").text == checkpoint, "no checkpoint was signed")
            let health = try await client.get("/health")
            #expect(health.status == .serviceUnavailable)
            #expect(health.text.contains("\"storage\":\"failing\""))
            let metrics = try await client.get("/metrics").text
            #expect(metrics.contains("evote_storage_writable 0"))
            // Reading keeps working: voters can still verify their receipts.
            #expect(try await client.get("/v1/election").status == .ok)

            try await setReadOnly(e, false)
            let cast = try await e.cast(client, ballot)
            #expect(cast.status == .created, "the same ballot is accepted once storage is back: \(cast.text)")
            let logged = try cast.decode(CastResponse.self).logged
            expectAllPassed(e.verifier.verify(receipt: logged.receipt, entryBytes: logged.entry.bytes,
                                              inclusionProof: logged.inclusionProof, expectedPayload: ballot.canonicalBytes))
            #expect(try await e.enroll(client, voter: 7, key: try Ed25519PrivateKey()).status == .created)
            #expect(try await client.get("/health").status == .ok)
            #expect(try await client.get("/metrics").text.contains("evote_storage_writable 1"))
            let after = try await e.snapshot()
            #expect(after.ballots == before.ballots + 1 && after.enrollments == before.enrollments + 1)
            // The log still verifies: rebuilt from its entries it gives the latest signed root.
            var tree = InMemoryMerkleTree()
            for entry in try await LogRouteTests.allEntries(client, limit: 1000) { tree.append(leafHash: Merkle.leafHash(entry.data.bytes)) }
            #expect(tree.root == (try await LogRouteTests.latest(client)).checkpoint.rootHash)
        }
    }
}
