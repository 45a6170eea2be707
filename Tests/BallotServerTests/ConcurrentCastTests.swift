import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

@Suite("One ballot per voter under concurrency")
struct ConcurrentCastTests {
    struct Outcome: Sendable {
        let ballot: Int
        let status: HTTPResponse.Status
        let body: Data
    }

    /// The architecture's must-have test: 200 concurrent casts by one voter, about half the
    /// identical ballot and the rest different ones, store exactly one ballot, and every
    /// response agrees with the one stored.
    @Test(arguments: StorageBackend.all) func twoHundredConcurrentCastsByOneVoterStoreExactlyOneBallot(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 4, districts: 2)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let options = e.district(e.codes[0].district).options
            #expect(options.count >= 3)
            // Encryption is randomized: the same choice encrypted twice is a different ballot,
            // so "identical" means resending one signed ballot. The others are one fresh
            // encryption of each other option, each sent many times.
            let identical = try e.ballot(key, voter: 0, option: 0)
            #expect(try e.ballot(key, voter: 0, option: 0) != identical)
            let others = try (1..<options.count).map { try e.ballot(key, voter: 0, option: $0) }
            var ballots: [SignedBallot] = []
            for i in 0..<200 {
                ballots.append(i % 2 == 0 ? identical : others[(i / 2) % others.count])
            }
            let distinct = Set(ballots.map(\.trackingCode))
            #expect(distinct.count == options.count)
            #expect(ballots.filter { $0 == identical }.count == 100)
            let bodies = try ballots.map { try JSONEncoder().encode($0.wire) }
            let before = try await e.snapshot()

            let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
                for (i, body) in bodies.enumerated() {
                    group.addTask {
                        let r = try await client.postJSON("/v1/ballots", body)
                        return Outcome(ballot: i, status: r.status, body: r.data)
                    }
                }
                var all: [Outcome] = []
                for try await o in group { all.append(o) }
                return all
            }
            #expect(outcomes.count == 200)

            // Exactly one ballot row and one ballot log entry.
            let counts = try await e.counts(["SELECT COUNT(*) FROM ballots", "SELECT COUNT(*) FROM log_entries WHERE kind = 'ballot'"])
            try #require(counts[0] == 1)
            #expect(counts[1] == 1)
            let publicKey = key.publicKey
            let row = try #require(try await e.store.storage.read { try $0.ballot(voterKey: publicKey) })
            let after = try await e.snapshot()
            #expect(after.ballots == before.ballots + 1)
            #expect(after.logSize == before.logSize + 1)
            let storedCode = row.trackingCode
            let storedIndex = row.logIndex
            let stored = try #require(ballots.first { $0.trackingCode == storedCode })

            // The logged entry is that ballot.
            let entry = try await e.store.entries(start: storedIndex, limit: 1).entries[0]
            #expect(entry.kind == .ballot)
            #expect(try LogEntry.decode(canonical: entry.data.bytes).payload == stored.canonicalBytes)

            var created = 0
            var accepted = 0
            var conflicts = 0
            for o in outcomes {
                let sent = ballots[o.ballot]
                if sent.trackingCode == storedCode {
                    #expect(o.status == .created || o.status == .ok, "ballot \(o.ballot): \(o.status)")
                    if o.status == .created { created += 1 } else { accepted += 1 }
                    let body = try JSONDecoder().decode(CastResponse.self, from: o.body)
                    #expect(body.trackingCode == storedCode)
                    #expect(body.logged.receipt.logIndex == storedIndex)
                    expectAllPassed(e.verifier.verify(receipt: body.logged.receipt, entryBytes: body.logged.entry.bytes,
                                                      inclusionProof: body.logged.inclusionProof,
                                                      expectedPayload: stored.canonicalBytes))
                } else {
                    #expect(o.status == .conflict, "ballot \(o.ballot): \(o.status) \(String(decoding: o.body, as: UTF8.self))")
                    let body = try JSONDecoder().decode(ErrorBody.self, from: o.body)
                    #expect(body.code == "already-voted")
                    #expect(body.trackingCode == storedCode.hex)
                    conflicts += 1
                }
            }
            #expect(created == 1, "exactly one request may create the ballot")
            let sameAsStored = ballots.filter { $0.trackingCode == storedCode }.count
            #expect(created + accepted == sameAsStored)
            #expect(conflicts == 200 - sameAsStored)
        }
    }
}
