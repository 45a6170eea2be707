import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

/// The tally through the router: the aggregate published with the close (GET /v1/tally),
/// the trustees' partial decryptions (POST /v1/tally/decryptions) and the signed results.
@Suite("Tally")
struct TallyRouteTests {
    static let policy = TrusteePolicy(count: 3, quorum: 2)

    /// Every non-empty subset of `items` with at least `size` elements.
    static func subsets<T>(_ items: [T], ofAtLeast size: Int) -> [[T]] {
        (1..<(1 << items.count)).map { mask in items.indices.filter { mask & (1 << $0) != 0 }.map { items[$0] } }
            .filter { $0.count >= size }
    }

    /// Six voters (three in d01, three in d02), three trustees with a quorum of two. In d01
    /// the votes are c02, c02, against-all (c02 elected); in d02 c01 and c03 while the third
    /// voter abstains (a tie for the one seat); d03 has no voters, so (v2) nobody is elected
    /// or tied there. Voter 0 also spoils a ballot for c01 first, which must not count.
    @Test(arguments: StorageBackend.all) func quorumDecryptsTheAggregateIntoSignedResults(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 6, districts: 2, manifest: TestElection.manifest(trustees: Self.policy))
        defer { e.remove() }
        let hash = e.store.electionHash
        let serverKey = e.store.setup.serverKey
        try await e.withRouter { client in
            var keys: [Ed25519PrivateKey] = []
            for voter in 0..<6 { keys.append(try await e.enrolledKey(client, voter: voter)) }
            let (spoiled, opening) = try e.encryptedBallot(keys[0], district: "d01", selections: ["c01"])
            #expect(try await e.spoil(client, spoiled, opening, by: keys[0]).status == .created)
            let choices: [(Int, String, String)] = [(0, "d01", "c02"), (2, "d01", "c02"), (4, "d01", "against-all"),
                                                    (1, "d02", "c01"), (3, "d02", "c03")]
            var cast: [SignedBallot] = []
            for (voter, district, option) in choices {
                let ballot = try e.ballot(keys[voter], district: district, selections: [option])
                #expect(try await e.cast(client, ballot).status == .created)
                cast.append(ballot)
            }
            let expected = TallyAggregate.sum(manifest: e.store.manifest, ballots: cast.map { ($0.ballot.district, $0.ballot.content.ciphertexts) })
            let info = try await e.trusteesInfo(client)

            // Before the close there is no aggregate, so nothing to decrypt.
            let empty = try await e.tallyInfo(client)
            #expect(empty.aggregate == nil && empty.decryptions.isEmpty && empty.results == nil)
            let early = try e.trustees[0].partialDecryption(electionHash: hash, info: info, aggregate: expected)
            let before = try await e.snapshot()
            expectError(try await e.postDecryption(client, early), .conflict, "tally-not-ready")
            #expect(try await e.snapshot() == before)

            try await e.close()
            let closed = try await e.tallyInfo(client)
            let aggregate = try #require(closed.aggregate)
            #expect(aggregate == expected)
            #expect(aggregate.districts.map(\.district) == ["d01", "d02", "d03"])
            #expect(aggregate.districts.map(\.ballots) == [3, 2, 0])
            #expect(aggregate.districts.map(\.ciphertexts.count) == [4, 3, 0])
            #expect(closed.decryptions.isEmpty && closed.results == nil)
            #expect(try await e.logKinds().suffix(2) == [.window, .aggregate])

            let partials = try e.trustees.map { try $0.partialDecryption(electionHash: hash, info: info, aggregate: aggregate) }
            let t2 = e.trustees[1]
            func signedBy2(_ districts: [[PartialDecryption.Share]]) throws -> PartialDecryption {
                PartialDecryption(index: 2, districts: districts, signature: try t2.signingKey.signature(
                    for: PartialDecryption.signedBytes(electionHash: hash, index: 2, districts: districts)))
            }
            var shifted = partials[1].districts
            shifted[0][0] = PartialDecryption.Share(partial: shifted[0][0].partial + .generator, proof: shifted[0][0].proof)
            var vanished = partials[1].districts
            vanished[0][1] = PartialDecryption.Share(partial: .identity, proof: vanished[0][1].proof)
            var lastOption = partials[1].districts
            lastOption[1][2] = PartialDecryption.Share(partial: lastOption[1][2].partial + .generator, proof: lastOption[1][2].proof)
            let share3 = try e.trustees[2].secretShare(info: info, electionHash: hash)
            let withShare3 = try PartialDecryption.make(electionHash: hash, index: 2, secretShare: share3, aggregate: aggregate,
                                                        signingKey: t2.signingKey)
            let refusals: [(String, PartialDecryption, String)] = [
                ("D + G in d01, option 1", try signedBy2(shifted), "option 1"),
                ("D + G in d02, option 3", try signedBy2(lastOption), "option 3"),
                ("the identity for a real alpha in d01, option 2", try signedBy2(vanished), "option 2"),
                ("trustee 3's share under trustee 2's name", withShare3, "decryption proof fails"),
                ("a district missing", try signedBy2(Array(partials[1].districts.dropLast(2))), "shape"),
                ("an option missing", try signedBy2([Array(partials[1].districts[0].dropLast())] + partials[1].districts.dropFirst()), "shape"),
                ("signed by trustee 1", PartialDecryption(index: 2, districts: partials[1].districts, signature: partials[0].signature), "not signed"),
            ]
            let closedSnapshot = try await e.snapshot()
            for (name, partial, fragment) in refusals {
                let body = expectError(try await e.postDecryption(client, partial), .badRequest, "bad-proof")
                #expect(body?.message.contains("trustee 2") == true, "\(name): \(body?.message ?? "")")
                #expect(body?.message.contains(fragment) == true, "\(name): \(body?.message ?? "")")
            }
            let stranger = try PartialDecryption.make(electionHash: hash, index: 9, secretShare: try Scalar.random(), aggregate: aggregate,
                                                      signingKey: try Ed25519PrivateKey())
            expectError(try await e.postDecryption(client, stranger), .forbidden, "not-a-trustee")
            #expect(try await e.snapshot() == closedSnapshot)

            // One partial decryption (k - 1): logged, no results yet.
            #expect(try await e.postDecryption(client, partials[0]).status == .created)
            let one = try await e.tallyInfo(client)
            #expect(one.decryptions == [partials[0]])
            #expect(one.results == nil)
            let afterOne = try await e.snapshot()
            #expect(try await e.postDecryption(client, partials[0]).status == .ok)
            // Decryption proofs are randomized, so making it again gives another publication.
            let remade = try e.trustees[0].partialDecryption(electionHash: hash, info: info, aggregate: aggregate)
            #expect(remade != partials[0])
            expectError(try await e.postDecryption(client, remade), .conflict, "already-published")
            #expect(try await e.snapshot() == afterOne)

            // Trustee 3 completes the quorum: the results are logged with its decryption.
            #expect(try await e.postDecryption(client, partials[2]).status == .created)
            let tally = try await e.tallyInfo(client)
            let signed = try #require(tally.results)
            #expect(signed.isValid(serverKey: serverKey))
            #expect(!signed.isValid(serverKey: e.store.setup.commissionKey))
            let results = signed.results
            #expect(results.quorum == [1, 3])
            #expect(results.districts.map(\.district) == ["d01", "d02", "d03"])
            #expect(results.districts.map(\.counts) == [[0, 2, 0, 1], [1, 0, 1], [0, 0, 0, 0]])
            #expect(results.districts.map(\.ballots) == [3, 2, 0])
            #expect(results.districts.map(\.roll) == [3, 3, 0])
            #expect(results.districts.map(\.elected) == [["c02"], [], []])
            #expect(results.districts.map(\.tied) == [[], ["c01", "c03"], []])
            for (d, district) in zip(results.districts, e.store.manifest.districts) {
                let winners = ElectionResults.winners(district: district, counts: d.counts, ballots: d.ballots)
                #expect(d.elected == winners.elected && d.tied == winners.tied, "\(d.district)")
            }
            // The results entry in the log is exactly these signed results, after the decryption.
            #expect(try await e.logKinds().suffix(3) == [.decryption, .decryption, .results])
            let entries = try await e.store.entries(start: 0, limit: 1000).entries
            let logged = try SignedResults.decode(payload: try LogEntry.decode(canonical: try #require(entries.last).data.bytes).payload)
            #expect(logged == signed)

            // A later partial decryption is still checked and logged; the results stay.
            expectError(try await e.postDecryption(client, try signedBy2(shifted)), .badRequest, "bad-proof")
            #expect(try await e.postDecryption(client, partials[1]).status == .created)
            let all = try await e.tallyInfo(client)
            #expect(all.decryptions == partials)
            #expect(all.results == signed)

            // Anyone can recombine: every quorum of the published partials gives the same
            // counts, and fewer than a quorum give none.
            var roll: [String: UInt32] = [:]
            for d in results.districts { roll[d.district] = d.roll }
            for subset in Self.subsets(all.decryptions, ofAtLeast: 1) {
                let combined = ElectionResults.combine(manifest: e.store.manifest, aggregate: aggregate, partials: subset, roll: roll)
                let indices = subset.map(\.index)
                if subset.count >= Self.policy.quorum {
                    #expect(combined?.districts == results.districts, "trustees \(indices)")
                    #expect(combined?.quorum == indices, "trustees \(indices)")
                } else {
                    #expect(combined == nil, "trustees \(indices) are fewer than the quorum")
                }
            }
        }
    }

    /// Another quorum, posted out of index order, gives the same counts on the server.
    @Test(arguments: StorageBackend.all) func anotherQuorumGivesTheSameCounts(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 3, districts: 1, manifest: TestElection.manifest(trustees: Self.policy))
        defer { e.remove() }
        try await e.withRouter { client in
            for (voter, option) in [(0, "c03"), (1, "c03"), (2, "c01")] {
                let key = try await e.enrolledKey(client, voter: voter)
                #expect(try await e.cast(client, try e.ballot(key, district: "d01", selections: [option])).status == .created)
            }
            try await e.close()
            try await e.decrypt(client, trustees: [3])
            #expect(try await e.tallyInfo(client).results == nil)
            try await e.decrypt(client, trustees: [2])
            let signed = try #require(try await e.tallyInfo(client).results)
            #expect(signed.isValid(serverKey: e.store.setup.serverKey))
            #expect(signed.results.quorum == [2, 3])
            #expect(signed.results.districts.map(\.counts) == [[1, 0, 2, 0], [0, 0, 0], [0, 0, 0, 0]])
            #expect(signed.results.districts[0].elected == ["c03"])
            #expect(signed.results.districts[0].tied.isEmpty)
        }
    }

    /// Every trustee decrypts at once: the results are logged exactly once, from the
    /// quorum of the lowest indices, and the partials and resends all succeed.
    @Test(arguments: StorageBackend.all) func concurrentDecryptionsLogTheResultsOnce(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 2, districts: 1, manifest: TestElection.manifest(trustees: Self.policy))
        defer { e.remove() }
        let hash = e.store.electionHash
        try await e.withRouter { client in
            for (voter, option) in [(0, "c01"), (1, "against-all")] {
                let key = try await e.enrolledKey(client, voter: voter)
                #expect(try await e.cast(client, try e.ballot(key, district: "d01", selections: [option])).status == .created)
            }
            try await e.close()
            let info = try await e.trusteesInfo(client)
            let aggregate = try #require(try await e.tallyInfo(client).aggregate)
            let bodies = try e.trustees.flatMap { t in
                Array(repeating: try JSONEncoder().encode(try t.partialDecryption(electionHash: hash, info: info, aggregate: aggregate)), count: 3)
            }
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for body in bodies { group.addTask { try await e.postTrustee(client, "/v1/tally/decryptions", body).status } }
                var all: [HTTPResponse.Status] = []
                for try await s in group { all.append(s) }
                return all
            }
            #expect(statuses.filter { $0 == .created }.count == 3)
            #expect(statuses.filter { $0 == .ok }.count == bodies.count - 3)
            let kinds = try await e.logKinds()
            #expect(kinds.filter { $0 == .decryption }.count == 3)
            #expect(kinds.filter { $0 == .results }.count == 1)
            let tally = try await e.tallyInfo(client)
            let signed = try #require(tally.results)
            #expect(signed.isValid(serverKey: e.store.setup.serverKey))
            #expect(signed.results.quorum.count == 2)
            #expect(signed.results.districts[0].counts == [1, 0, 0, 1])
            // "Against all" is counted but not electable (v2): c01 takes the seat, no tie.
            #expect(signed.results.districts[0].elected == ["c01"])
            #expect(signed.results.districts[0].tied.isEmpty)
            #expect(tally.decryptions.map(\.index) == [1, 2, 3])
        }
    }

    /// Closing without a single ballot still gives an aggregate to decrypt and results:
    /// zero ballots and zero votes everywhere.
    @Test(arguments: StorageBackend.all) func electionWithoutBallotsDecryptsToZeros(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 2, districts: 2, manifest: TestElection.manifest(trustees: Self.policy))
        defer { e.remove() }
        try await e.withRouter { client in
            try await e.close()
            let aggregate = try #require(try await e.tallyInfo(client).aggregate)
            #expect(aggregate == TallyAggregate.sum(manifest: e.store.manifest, ballots: []))
            #expect(aggregate.districts.allSatisfy { $0.ballots == 0 && $0.ciphertexts.isEmpty })
            try await e.decrypt(client, trustees: [1, 2])
            let signed = try #require(try await e.tallyInfo(client).results)
            #expect(signed.isValid(serverKey: e.store.setup.serverKey))
            #expect(signed.results.districts.map(\.counts) == e.store.manifest.districts.map { Array(repeating: 0, count: $0.options.count) })
            #expect(signed.results.districts.map(\.ballots) == [0, 0, 0])
            #expect(signed.results.districts.map(\.roll) == [1, 1, 0])
        }
    }

    /// eq. 44: the `seats` options with the most votes; a tie across the last seat is
    /// reported, not broken.
    @Test func winnersReportTiesAcrossTheLastSeat() {
        let options = ["a", "b", "c", "d"]
        /// [elected, tied]
        func winners(_ counts: [UInt64], seats: Int) -> [[String]] {
            let w = ElectionResults.winners(options: options, counts: counts, seats: seats)
            return [w.elected, w.tied]
        }
        #expect(winners([5, 3, 3, 1], seats: 2) == [["a"], ["b", "c"]])
        #expect(winners([5, 4, 3, 1], seats: 2) == [["a", "b"], []])
        #expect(winners([1, 3, 5, 3], seats: 2) == [["c"], ["b", "d"]])
        #expect(winners([3, 3, 1, 0], seats: 1) == [[], ["a", "b"]])
        #expect(winners([3, 3, 1, 0], seats: 2) == [["a", "b"], []])
        #expect(winners([2, 2, 2, 2], seats: 3) == [[], ["a", "b", "c", "d"]])
        #expect(winners([0, 0, 0, 0], seats: 1) == [[], ["a", "b", "c", "d"]])
        #expect(winners([7, 1, 1, 0], seats: 1) == [["a"], []])
        #expect(winners([4, 2, 9, 0], seats: 4) == [["c", "a", "b", "d"], []])
    }
}
