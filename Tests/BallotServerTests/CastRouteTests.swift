import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

@Suite("POST /v1/ballots")
struct CastRouteTests {
    @Test(arguments: StorageBackend.all) func castSucceedsWithAVerifiableReceipt(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let ballot = try e.ballot(key, voter: 0, option: 2)
            let before = try await e.snapshot()
            let response = try await e.cast(client, ballot)
            #expect(response.status == .created, "\(response.text)")
            let body = try response.decode(CastResponse.self)
            #expect(body.trackingCode == ballot.trackingCode)
            #expect(body.shortCode == ballot.trackingCode.short)
            let receipt = body.logged.receipt
            #expect(receipt.kind == .ballot)
            #expect(receipt.subject == ballot.trackingCode.digest)
            #expect(receipt.electionHash == e.store.electionHash)
            #expect(receipt.logIndex == UInt64(before.logSize))
            expectAllPassed(e.verifier.verify(receipt: receipt, entryBytes: body.logged.entry.bytes,
                                              inclusionProof: body.logged.inclusionProof, expectedPayload: ballot.canonicalBytes))
            // A verifier holding another ballot's bytes must notice.
            let other = try e.ballot(key, voter: 0, option: 3)
            let mismatch = e.verifier.verify(receipt: receipt, entryBytes: body.logged.entry.bytes,
                                             inclusionProof: body.logged.inclusionProof, expectedPayload: other.canonicalBytes)
            #expect(mismatch.contains { $0.name == "entry-content" && !$0.passed })

            let after = try await e.snapshot()
            #expect(after.ballots == 1)
            #expect(after.logSize == before.logSize + 1)
            let publicKey = key.publicKey
            let row = try await e.store.storage.read { try $0.ballot(voterKey: publicKey) }
            #expect(row?.trackingCode == ballot.trackingCode)
            #expect(row?.district == e.codes[0].district)
            #expect(row?.logIndex == receipt.logIndex)
        }
    }

    @Test(arguments: StorageBackend.all) func identicalResendReturnsTheSameReceipt(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let ballot = try e.ballot(key, voter: 0)
            let first = try await e.cast(client, ballot)
            #expect(first.status == .created)
            // Something else is logged in between, so the log has grown.
            _ = try await e.enrolledKey(client, voter: 1)
            let before = try await e.snapshot()
            let again = try await e.cast(client, ballot)
            #expect(again.status == .ok, "\(again.text)")
            #expect(again.text == first.text)
            let a = try first.decode(CastResponse.self)
            let b = try again.decode(CastResponse.self)
            #expect(a.logged == b.logged)
            #expect(try await e.snapshot() == before)
        }
    }

    @Test(arguments: StorageBackend.all) func differentBallotFromTheSameVoterIsAlreadyVoted(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let first = try e.ballot(key, voter: 0, option: 0)
            #expect(try await e.cast(client, first).status == .created)
            let before = try await e.snapshot()
            let second = try e.ballot(key, voter: 0, option: 1)
            let body = expectError(try await e.cast(client, second), .conflict, "already-voted")
            #expect(body?.trackingCode == first.trackingCode.hex)
            #expect(body?.message.contains(first.trackingCode.short) == true)
            // The same choice encrypted afresh is a different ballot, so it is refused too.
            let sameChoice = try e.ballot(key, voter: 0, option: 0)
            #expect(sameChoice.trackingCode != first.trackingCode)
            let again = expectError(try await e.cast(client, sameChoice), .conflict, "already-voted")
            #expect(again?.trackingCode == first.trackingCode.hex)
            #expect(try await e.snapshot() == before)
        }
    }

    @Test(arguments: StorageBackend.all) func keyThatIsNotEnrolledIsRefused(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            _ = try await e.enrolledKey(client, voter: 0)
            let before = try await e.snapshot()
            let stranger = try Ed25519PrivateKey()
            expectError(try await e.cast(client, try e.ballot(stranger, voter: 0)), .forbidden, "not-enrolled")
            #expect(try await e.snapshot() == before)
        }
    }

    /// Someone who signs ballots with keys of their own (or re-sends for a voter who has voted)
    /// would make the server check every proof before refusing: those refusals come from a read
    /// before the proof check, so no proof of theirs is ever checked (the batch sizes in
    /// /metrics count only the ballot that was accepted).
    @Test(arguments: StorageBackend.all) func refusedKeysCostNoProofCheck(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            #expect(try await e.cast(client, try e.ballot(key, voter: 0, option: 0)).status == .created)
            for _ in 0..<5 {
                expectError(try await e.cast(client, try e.ballot(try Ed25519PrivateKey(), voter: 0)), .forbidden, "not-enrolled")
            }
            expectError(try await e.cast(client, try e.ballot(key, voter: 0, option: 1)), .conflict, "already-voted")
            let metrics = try await client.executeRequest(uri: "/metrics", method: .get, headers: [:], body: nil)
            let text = String(buffer: metrics.body)
            #expect(text.contains("evote_proof_batch_ballots_sum 1.0") || text.contains("evote_proof_batch_ballots_sum 1\n"), "\(text)")
        }
    }

    @Test(arguments: StorageBackend.all) func ballotForAnotherDistrictIsWrongDistrict(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            #expect(e.codes[0].district == "d01")
            let before = try await e.snapshot()
            let d02 = e.district("d02")
            let ballot = try e.ballot(key, district: "d02", selections: [d02.options[0].id])
            let body = expectError(try await e.cast(client, ballot), .badRequest, "wrong-district")
            #expect(body?.message.contains("d01") == true)
            #expect(try await e.snapshot() == before)
            // The right district still works afterwards.
            #expect(try await e.cast(client, try e.ballot(key, voter: 0)).status == .created)
        }
    }

    /// Choices that do not mark exactly one option of a vote-for-1 contest: the limit proof
    /// cannot prove 1, so the server refuses them without learning the choice. (Option ids
    /// never reach the server: an unknown id can only be encrypted as no mark at all.)
    @Test(arguments: StorageBackend.all) func invalidChoicesAreRefused(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let d01 = e.district("d01")
            #expect(d01.selectionLimit == 1 && d01.options.count == 4)
            let before = try await e.snapshot()
            let invalid: [(String, SignedBallot)] = [
                ("no mark", try e.ballot(key, district: "d01", selections: [])),
                ("two marks", try e.ballot(key, district: "d01", selections: [d01.options[0].id, d01.options[1].id])),
                ("three marks", try e.ballot(key, district: "d01", selections: d01.options.prefix(3).map(\.id))),
                ("every option marked", try e.ballot(key, district: "d01", selections: d01.options.map(\.id))),
                ("no mark, by hand", try e.handMadeBallot(key, district: "d01", values: [0, 0, 0, 0])),
                ("two marks, by hand", try e.handMadeBallot(key, district: "d01", values: [0, 1, 0, 1])),
            ]
            for (name, ballot) in invalid {
                let body = expectError(try await e.cast(client, ballot), .badRequest, "invalid-choice")
                #expect(body?.message.contains("exactly 1 option") == true, "\(name): \(body?.message ?? "")")
            }
            // A client cannot even encrypt names that are not options, or one option twice.
            for selections in [["no-such-option"], ["C01"], ["c01", "c01"]] {
                #expect(throws: VotingCore.RecordError.self, "\(selections)") { _ = try e.ballot(key, district: "d01", selections: selections) }
            }
            // A district that is not in the manifest at all.
            let unknown = expectError(try await e.cast(client, try e.ballot(key, district: "d99", selections: ["c01"])),
                                      .badRequest, "invalid-choice")
            #expect(unknown?.message.contains("d99") == true)
            #expect(try await e.snapshot() == before)
            #expect(try await e.cast(client, try e.ballot(key, voter: 0)).status == .created)
        }
    }

    /// With a vote-for-2 contest, marking one option twice (encrypting 2 for it) keeps the
    /// sum right, so only the 0-or-1 proof of that option catches it.
    @Test(arguments: StorageBackend.all) func duplicateSelectionInAMultiSelectContestIsRefused(_ backend: StorageBackend) async throws {
        let options = (1...4).map { BallotOption(id: "c0\($0)", name: "Candidate \($0)") }
        let manifest = ElectionManifest(electionId: "council-2026-test", name: "Council election (test)", districts: [
            District(id: "d01", name: "Only District", seats: 2, selectionLimit: 2, options: options),
        ], trustees: TrusteePolicy(count: 1, quorum: 1))
        let e = try await TestElection(backend: backend, voters: 2, districts: 1, manifest: manifest)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let before = try await e.snapshot()
            let duplicate = try e.handMadeBallot(key, district: "d01", values: [2, 0, 0, 0])
            let body = expectError(try await e.cast(client, duplicate), .badRequest, "invalid-choice")
            #expect(body?.message.contains("option \"c01\" encrypts 0 or 1") == true, "\(body?.message ?? "")")
            let tooFew = try e.ballot(key, district: "d01", selections: ["c01"])
            let few = expectError(try await e.cast(client, tooFew), .badRequest, "invalid-choice")
            #expect(few?.message.contains("exactly 2 option") == true, "\(few?.message ?? "")")
            let tooMany = try e.ballot(key, district: "d01", selections: ["c01", "c02", "c03"])
            expectError(try await e.cast(client, tooMany), .badRequest, "invalid-choice")
            #expect(try await e.snapshot() == before)
            let valid = try e.ballot(key, district: "d01", selections: ["c03", "c01"])
            #expect(try await e.cast(client, valid).status == .created)
        }
    }

    @Test(arguments: StorageBackend.all) func badSignatureIsRefused(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let good = try e.ballot(key, voter: 0)
            let otherVoter = try await e.enrolledKey(client, voter: 2)
            let before = try await e.snapshot()
            // Signed by another key.
            let forged = try TestElection.forged(good, by: try Ed25519PrivateKey())
            expectError(try await e.cast(client, forged), .badRequest, "bad-signature")
            // The voter's signature over another choice, attached to this one.
            let otherChoice = try e.ballot(key, voter: 0, option: 1)
            let swapped = SignedBallot(ballot: good.ballot, voterKey: key.publicKey, signature: otherChoice.signature)
            expectError(try await e.cast(client, swapped), .badRequest, "bad-signature")
            // The voter's own key signing the ballot bytes instead of the cast statement (eq. 2).
            let rawBytes = SignedBallot(ballot: good.ballot, voterKey: key.publicKey, signature: try key.signature(for: good.ballot.canonicalBytes))
            expectError(try await e.cast(client, rawBytes), .badRequest, "bad-signature")
            // The genuine signature under another enrolled voter's key.
            let renamed = SignedBallot(ballot: good.ballot, voterKey: otherVoter.publicKey, signature: good.signature)
            expectError(try await e.cast(client, renamed), .badRequest, "bad-signature")
            // One flipped bit.
            var bytes = good.signature.bytes
            bytes[10] ^= 0x01
            let flipped = SignedBallot(ballot: good.ballot, voterKey: key.publicKey, signature: Ed25519Signature(trusted: bytes))
            expectError(try await e.cast(client, flipped), .badRequest, "bad-signature")
            #expect(try await e.snapshot() == before)
            // And after all that, the genuine ballot is still accepted.
            #expect(try await e.cast(client, good).status == .created)
        }
    }

    /// A ballot signed for another election (the same key enrolled in both) cannot be
    /// replayed into this one, even when both elections run the very same manifest (v2: the
    /// election hash covers entry 0 with its keys and a random nonce).
    @Test(arguments: StorageBackend.all) func ballotFromAnotherElectionIsWrongElection(_ backend: StorageBackend) async throws {
        let first = try await TestElection(backend: backend)
        defer { first.remove() }
        let second = try await TestElection(backend: backend)
        defer { second.remove() }
        #expect(first.store.manifest == second.store.manifest)
        #expect(first.store.electionHash != second.store.electionHash)
        let key = try Ed25519PrivateKey()
        let foreign = try second.ballot(key, voter: 0)
        try await second.withRouter { client async throws -> Void in
            #expect(try await second.enroll(client, voter: 0, key: key).status == .created)
            #expect(try await second.cast(client, foreign).status == .created)
        }
        try await first.withRouter { client in
            #expect(try await first.enroll(client, voter: 0, key: key).status == .created)
            let before = try await first.snapshot()
            expectError(try await first.cast(client, foreign), .badRequest, "wrong-election")
            #expect(try await first.snapshot() == before)
            // The same choice signed for this election is accepted.
            #expect(try await first.cast(client, try first.ballot(key, voter: 0)).status == .created)
        }
    }

    /// Before the ceremony there is no election key, so no ballot can be checked; after it,
    /// until the commission opens voting, valid ballots are refused in the write batch.
    @Test(arguments: StorageBackend.all) func castingBeforeTheElectionOpensIsRefused(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, stage: .registered)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            #expect(try await e.electionInfo(client).electionKey == nil)
            // Encrypted to a key of the voter's own choosing: there is no election key yet.
            let stray = GroupElement.base(try Scalar.random())
            let before = try await e.snapshot()
            expectError(try await e.cast(client, try e.ballot(key, voter: 0, electionKey: stray)), .forbidden, "election-not-open")
            // Even a key that is not enrolled learns only that voting is not open.
            expectError(try await e.cast(client, try e.ballot(try Ed25519PrivateKey(), voter: 0, electionKey: stray)),
                        .forbidden, "election-not-open")
            #expect(try await e.snapshot() == before)

            try await e.runCeremony(client)
            #expect(try await e.electionInfo(client).electionKey == (try e.electionKey()))
            #expect(try await e.electionInfo(client).state == .setup)
            let ballot = try e.ballot(key, voter: 0)
            let keyed = try await e.snapshot()
            expectError(try await e.cast(client, ballot), .forbidden, "election-not-open")
            expectError(try await e.cast(client, try e.ballot(try Ed25519PrivateKey(), voter: 0)), .forbidden, "election-not-open")
            #expect(try await e.snapshot() == keyed)
            try await e.open()
            #expect(try await e.cast(client, ballot).status == .created)
        }
    }

    @Test(arguments: StorageBackend.all) func castingAfterCloseIsRefused(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let voted = try await e.enrolledKey(client, voter: 1)
            let cast = try e.ballot(voted, voter: 1)
            #expect(try await e.cast(client, cast).status == .created)
            try await e.close()
            let before = try await e.snapshot()
            expectError(try await e.cast(client, try e.ballot(key, voter: 0)), .forbidden, "election-closed")
            expectError(try await e.cast(client, try e.ballot(voted, voter: 1, option: 1)), .forbidden, "election-closed")
            #expect(try await e.snapshot() == before)
            // The cast ballot can still be looked up.
            let lookup = try await client.get("/v1/ballots/\(cast.trackingCode.hex)")
            #expect(lookup.status == .ok)
        }
    }

    /// The checks run in the documented order (docs/openapi.yaml, POST /v1/ballots): body,
    /// election hash, district, signature; the state, the enrollment and an earlier ballot
    /// read before the proofs; election key, proofs; inside the batch the same rules again.
    @Test(arguments: StorageBackend.all) func castChecksRunInTheDocumentedOrder(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let stranger = try Ed25519PrivateKey()
            func forged(_ b: SignedBallot) throws -> SignedBallot { try TestElection.forged(b, by: stranger) }
            let otherHash = try TestElection.otherElectionHash()
            // Wrong election and bad signature: wrong-election.
            expectError(try await e.cast(client, try forged(try e.ballot(key, district: "d01", selections: ["c01"], electionHash: otherHash))),
                        .badRequest, "wrong-election")
            // Wrong election and unknown district: wrong-election.
            expectError(try await e.cast(client, try e.ballot(key, district: "d99", selections: ["c01"], electionHash: otherHash)),
                        .badRequest, "wrong-election")
            // Unknown district and bad signature: invalid-choice.
            expectError(try await e.cast(client, try forged(try e.ballot(key, district: "d99", selections: ["c01"])),),
                        .badRequest, "invalid-choice")
            // Invalid content and bad signature: bad-signature (the signature is checked
            // before the proofs, the expensive part; docs/openapi.yaml POST /v1/ballots).
            expectError(try await e.cast(client, try forged(try e.ballot(key, district: "d01", selections: ["c01", "c02"]))),
                        .badRequest, "bad-signature")
            // Bad signature by a key that is not enrolled: bad-signature.
            expectError(try await e.cast(client, try forged(try e.ballot(try Ed25519PrivateKey(), voter: 0))), .badRequest, "bad-signature")
            // Invalid content signed by a key that is not enrolled: not-enrolled (the enrollment
            // is read before the proofs, so a stranger's ballot costs no proof check).
            expectError(try await e.cast(client, try e.ballot(try Ed25519PrivateKey(), district: "d01", selections: ["c01", "c02"])),
                        .forbidden, "not-enrolled")
            // Invalid content signed by an enrolled voter: invalid-choice.
            expectError(try await e.cast(client, try e.ballot(key, district: "d01", selections: ["c01", "c02"])),
                        .badRequest, "invalid-choice")
            // A voter who has voted, sending a ballot for another district: wrong-district.
            let first = try e.ballot(key, voter: 0)
            #expect(try await e.cast(client, first).status == .created)
            let before = try await e.snapshot()
            let body = expectError(try await e.cast(client, try e.ballot(key, district: "d02", selections: ["c01"])),
                                   .badRequest, "wrong-district")
            #expect(body?.trackingCode == nil)
            // Closed, and the key is not enrolled: election-closed.
            try await e.close()
            expectError(try await e.cast(client, try e.ballot(try Ed25519PrivateKey(), voter: 0)), .forbidden, "election-closed")
            // Closed, resend of the identical ballot: election-closed (§7.3).
            expectError(try await e.cast(client, first), .forbidden, "election-closed")
            var expected = before
            expected.logSize += 2
            expected.checkpoints += 1
            #expect(try await e.snapshot() == expected)  // only the close order and the aggregate were logged
            #expect(try await e.logKinds().suffix(2) == [.window, .aggregate])
        }
    }

    /// §7.4 step 5: when the batch transaction fails, every request of the batch gets
    /// `unavailable`, nothing is recorded and no receipt is signed; later requests work.
    @Test(arguments: StorageBackend.all) func failedBatchIsUnavailableAndRecordsNothing(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let keys = [try await e.enrolledKey(client, voter: 0), try await e.enrolledKey(client, voter: 1)]
            let before = try await e.snapshot()
            // Storing Merkle nodes fails: the batch appends, then cannot seal.
            try await e.execute(
                sqlite: ["CREATE TRIGGER test_fail_nodes BEFORE INSERT ON log_nodes BEGIN SELECT RAISE(ABORT, 'disk on fire'); END"],
                postgres: ["CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$",
                           "CREATE TRIGGER test_fail_nodes BEFORE INSERT ON log_nodes FOR EACH ROW EXECUTE FUNCTION test_fail()"])
            let ballots = try [e.ballot(keys[0], voter: 0), e.ballot(keys[1], voter: 1)]
            for ballot in ballots {
                expectError(try await e.cast(client, ballot), .serviceUnavailable, "unavailable")
            }
            expectError(try await e.enroll(client, voter: 2, key: try Ed25519PrivateKey()), .serviceUnavailable, "unavailable")
            #expect(try await e.snapshot() == before)
            expectError(try await client.get("/v1/ballots/\(ballots[0].trackingCode.hex)"), .notFound, "not-found")

            try await e.execute(sqlite: ["DROP TRIGGER test_fail_nodes"], postgres: ["DROP TRIGGER test_fail_nodes ON log_nodes"])
            for ballot in ballots {
                let response = try await e.cast(client, ballot)
                #expect(response.status == .created, "\(response.text)")
                let cast = try response.decode(CastResponse.self)
                expectAllPassed(e.verifier.verify(receipt: cast.logged.receipt, entryBytes: cast.logged.entry.bytes,
                                                  inclusionProof: cast.logged.inclusionProof, expectedPayload: ballot.canonicalBytes))
            }
            #expect(try await e.snapshot().ballots == 2)
        }
    }

    /// §7.4 step 2: an operation that fails with an error is rolled back alone (its log
    /// append undone); the others in its batch are recorded, and the log has no gap.
    @Test(arguments: StorageBackend.all) func failingOperationIsRolledBackAlone(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 8, districts: 2)
        defer { e.remove() }
        try await e.withRouter { client in
            var keys: [Ed25519PrivateKey] = []
            for voter in 0..<8 { keys.append(try await e.enrolledKey(client, voter: voter)) }
            let failing = Set([0, 3, 6])
            let keyList = failing.sorted().map { "X'\(keys[$0].publicKey.hex)'" }.joined(separator: ", ")
            let pgKeyList = failing.sorted().map { "'\\x\(keys[$0].publicKey.hex)'::bytea" }.joined(separator: ", ")
            try await e.execute(
                sqlite: ["""
                    CREATE TRIGGER test_fail_ballots BEFORE INSERT ON ballots WHEN NEW.voter_key IN (\(keyList))
                    BEGIN SELECT RAISE(ABORT, 'this voter cannot be stored'); END
                    """],
                postgres: ["CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'this voter cannot be stored'; END $$",
                           "CREATE TRIGGER test_fail_ballots BEFORE INSERT ON ballots FOR EACH ROW WHEN (NEW.voter_key IN (\(pgKeyList))) EXECUTE FUNCTION test_fail()"])
            let before = try await e.snapshot()
            let ballots = try (0..<8).map { try e.ballot(keys[$0], voter: $0) }
            let frozenKeys = keys
            let results = try await withThrowingTaskGroup(of: (Int, TestResponse).self) { group in
                for (voter, ballot) in ballots.enumerated() {
                    group.addTask { (voter, try await e.cast(client, ballot)) }
                }
                var all: [(Int, TestResponse)] = []
                for try await r in group { all.append(r) }
                return all
            }
            _ = frozenKeys
            for (voter, response) in results {
                if failing.contains(voter) {
                    expectError(response, .serviceUnavailable, "unavailable")
                } else {
                    #expect(response.status == .created, "voter \(voter): \(response.text)")
                    let cast = try response.decode(CastResponse.self)
                    expectAllPassed(e.verifier.verify(receipt: cast.logged.receipt, entryBytes: cast.logged.entry.bytes,
                                                      inclusionProof: cast.logged.inclusionProof,
                                                      expectedPayload: ballots[voter].canonicalBytes))
                }
            }
            let after = try await e.snapshot()
            #expect(after.ballots == 5)
            #expect(after.logSize == before.logSize + 5)
            // No gap, no stray entry: indices are contiguous and the tree matches the checkpoint.
            let page = try await e.store.entries(start: 0, limit: 1000)
            #expect(page.entries.map(\.index) == Array(0..<UInt64(after.logSize)))
            var tree = InMemoryMerkleTree()
            for entry in page.entries { tree.append(leafHash: Merkle.leafHash(entry.data.bytes)) }
            #expect(tree.root == (try await e.store.latestCheckpoint()).checkpoint.rootHash)
            let logged = try page.entries.filter { $0.kind == .ballot }.map {
                try SignedBallot.decode(canonical: try LogEntry.decode(canonical: $0.data.bytes).payload).trackingCode
            }
            #expect(Set(logged) == Set((0..<8).filter { !failing.contains($0) }.map { ballots[$0].trackingCode }))
        }
    }

    /// Once the group committer has stopped (graceful shutdown), writes are answered
    /// `unavailable` and nothing is recorded; reads still work.
    @Test(arguments: StorageBackend.all) func stoppedCommitterAnswersUnavailable(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouterAndCommitter { client, committer in
            let key = try await e.enrolledKey(client, voter: 0)
            committer.stop()
            let before = try await e.snapshot()
            expectError(try await e.cast(client, try e.ballot(key, voter: 0)), .serviceUnavailable, "unavailable")
            expectError(try await e.enroll(client, voter: 1, key: try Ed25519PrivateKey()), .serviceUnavailable, "unavailable")
            #expect(try await e.snapshot() == before)
            #expect(try await client.get("/v1/log/checkpoint").status == .ok)
        }
    }
}
