import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

/// The Benaloh challenge: POST /v1/ballots/spoiled publishes an encrypted ballot with its
/// opening; it is never counted and its exact encryption can never be cast.
@Suite("POST /v1/ballots/spoiled")
struct SpoiledBallotRouteTests {
    @Test(arguments: StorageBackend.all) func spoiledBallotIsLoggedWithAVerifiableReceiptAndNotCounted(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let (ballot, opening) = try e.encryptedBallot(key, voter: 0, option: 1)
            let before = try await e.snapshot()
            let response = try await e.spoil(client, ballot, opening, by: key)
            #expect(response.status == .created, "\(response.text)")
            let body = try response.decode(CastResponse.self)
            #expect(body.trackingCode == ballot.trackingCode)
            #expect(body.shortCode == ballot.trackingCode.short)
            let receipt = body.logged.receipt
            #expect(receipt.kind == .spoiled)
            #expect(receipt.subject == ballot.trackingCode.digest)
            #expect(receipt.logIndex == UInt64(before.logSize))
            let expected = SpoiledBallot(ballot: ballot.ballot, opening: opening).canonicalBytes
            expectAllPassed(e.verifier.verify(receipt: receipt, entryBytes: body.logged.entry.bytes,
                                              inclusionProof: body.logged.inclusionProof, expectedPayload: expected))
            // Not a ballot receipt: a verifier expecting the cast ballot's bytes notices.
            let asBallot = e.verifier.verify(receipt: receipt, entryBytes: body.logged.entry.bytes,
                                             inclusionProof: body.logged.inclusionProof, expectedPayload: ballot.canonicalBytes)
            #expect(asBallot.contains { $0.name == "entry-content" && !$0.passed })

            // Anyone can open the logged ballot and see the choice.
            let entry = try LogEntry.decode(canonical: body.logged.entry.bytes)
            #expect(entry.kind == .spoiled)
            let logged = try SpoiledBallot.decode(canonical: entry.payload)
            #expect(logged.ballot == ballot.ballot)
            #expect(logged.opening.selections == [e.district("d01").options[1].id])
            #expect(logged.opening.opens(logged.ballot.content, district: e.district("d01"), electionKey: try e.electionKey()))
            // The published challenge names no voter: the key that asked for it is nowhere in the entry.
            #expect(!contains(body.logged.entry.bytes, key.publicKey.rawRepresentation))

            // Logged, not counted: no ballot row, and the lookup of cast ballots does not find it.
            var expectedSnapshot = before
            expectedSnapshot.spoiled += 1
            expectedSnapshot.logSize += 1
            expectedSnapshot.checkpoints += 1
            #expect(try await e.snapshot() == expectedSnapshot)
            expectError(try await client.get("/v1/ballots/\(ballot.trackingCode.hex)"), .notFound, "not-found")

            // The same spoiled ballot again: the original receipt, nothing new.
            let again = try await e.spoil(client, ballot, opening, by: key)
            #expect(again.status == .ok, "\(again.text)")
            #expect(try again.decode(CastResponse.self).logged == body.logged)
            #expect(try await e.snapshot() == expectedSnapshot)
        }
    }

    /// An opening that does not open this exact encryption is refused and nothing is published.
    @Test(arguments: StorageBackend.all) func openingThatDoesNotOpenTheBallotIsBadOpening(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let d01 = e.district("d01")
            let (ballot, opening) = try e.encryptedBallot(key, district: "d01", selections: ["c02"])
            let (_, otherOpening) = try e.encryptedBallot(key, district: "d01", selections: ["c02"])
            let nonces = opening.nonces
            var shifted = nonces
            shifted[1] = shifted[1] + .one
            let openings: [(String, BallotOpening)] = [
                ("a wrong nonce", BallotOpening(selections: ["c02"], nonces: shifted)),
                ("two nonces swapped", BallotOpening(selections: ["c02"], nonces: [nonces[1], nonces[0]] + nonces.dropFirst(2))),
                ("one nonce missing", BallotOpening(selections: ["c02"], nonces: Array(nonces.dropLast()))),
                ("one nonce too many", BallotOpening(selections: ["c02"], nonces: nonces + [try Scalar.random()])),
                ("no nonces", BallotOpening(selections: ["c02"], nonces: [])),
                ("the nonces of another encryption", BallotOpening(selections: ["c02"], nonces: otherOpening.nonces)),
                ("a different selection", BallotOpening(selections: ["c01"], nonces: nonces)),
                ("another option's id in another case", BallotOpening(selections: ["C02"], nonces: nonces)),
                ("no selection", BallotOpening(selections: [], nonces: nonces)),
                ("two selections", BallotOpening(selections: ["c02", "c03"], nonces: nonces)),
                ("the selection twice", BallotOpening(selections: ["c02", "c02"], nonces: nonces)),
                ("an unknown option", BallotOpening(selections: ["c09"], nonces: nonces)),
            ]
            #expect(opening.opens(ballot.ballot.content, district: d01, electionKey: try e.electionKey()))
            let before = try await e.snapshot()
            for (name, wrong) in openings {
                let body = expectError(try await e.spoil(client, ballot, wrong, by: key), .badRequest, "bad-opening")
                #expect(body != nil, "\(name)")
            }
            #expect(try await e.snapshot() == before)
            #expect(try await e.spoil(client, ballot, opening, by: key).status == .created)
        }
    }

    @Test(arguments: StorageBackend.all) func spoiledBallotCanNeverBeCastButAFreshEncryptionCan(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let other = try await e.enrolledKey(client, voter: 2)
            let (spoiled, opening) = try e.encryptedBallot(key, voter: 0, option: 2)
            #expect(try await e.spoil(client, spoiled, opening, by: key).status == .created)
            let before = try await e.snapshot()
            let refused = expectError(try await e.cast(client, spoiled), .conflict, "ballot-spoiled")
            #expect(refused?.trackingCode == nil)
            #expect(try await e.snapshot() == before)

            // A fresh encryption of the same choice is cast.
            let (fresh, freshOpening) = try e.encryptedBallot(key, voter: 0, option: 2)
            #expect(fresh.trackingCode != spoiled.trackingCode)
            let cast = try await e.cast(client, fresh)
            #expect(cast.status == .created, "\(cast.text)")
            let afterCast = try await e.snapshot()
            #expect(afterCast.ballots == before.ballots + 1)
            // Once the voter has cast, the spoiled ballot is refused as a second ballot (v2
            // checks the earlier ballot first; it is refused either way and never counted).
            let second = expectError(try await e.cast(client, spoiled), .conflict, "already-voted")
            #expect(second?.trackingCode == fresh.trackingCode.hex)
            // Another voter can never cast the opened encryption either.
            expectError(try await e.cast(client, try spoiled.ballot.cast(with: other)), .conflict, "ballot-spoiled")
            // The cast ballot can never be opened.
            expectError(try await e.spoil(client, fresh, freshOpening, by: key), .conflict, "ballot-cast")
            let afterRefusals = try await e.snapshot()
            #expect(afterRefusals.ballots == afterCast.ballots && afterRefusals.spoiled == afterCast.spoiled
                    && afterRefusals.logSize == afterCast.logSize)
            // v2: a challenge after the voter has cast is refused before anything is published
            // (a challenged encryption is a ballot the device could not tell from a cast one).
            let (late, lateOpening) = try e.encryptedBallot(key, voter: 0, option: 0)
            let lateRefusal = expectError(try await e.spoil(client, late, lateOpening, by: key), .conflict, "already-voted")
            #expect(lateRefusal?.trackingCode == fresh.trackingCode.hex)
            #expect(try await e.snapshot() == afterRefusals)
            // The cast ballot is still the voter's ballot.
            #expect(try await e.cast(client, fresh).status == .ok)
        }
    }

    /// The ballot in a spoil request is checked as for casting, before its opening.
    @Test(arguments: StorageBackend.all) func spoilingFollowsTheCastingRules(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let stranger = try Ed25519PrivateKey()
            let before = try await e.snapshot()
            let (unenrolled, unenrolledOpening) = try e.encryptedBallot(stranger, voter: 0)
            expectError(try await e.spoil(client, unenrolled, unenrolledOpening, by: stranger), .forbidden, "not-enrolled")
            let (elsewhere, elsewhereOpening) = try e.encryptedBallot(key, district: "d02", selections: ["c01"])
            let body = expectError(try await e.spoil(client, elsewhere, elsewhereOpening, by: key), .badRequest, "wrong-district")
            #expect(body?.message.contains("d01") == true)
            let (double, doubleOpening) = try e.encryptedBallot(key, district: "d01", selections: ["c01", "c02"])
            expectError(try await e.spoil(client, double, doubleOpening, by: key), .badRequest, "invalid-choice")
            let (unknown, unknownOpening) = try e.encryptedBallot(key, district: "d99", selections: ["c01"])
            expectError(try await e.spoil(client, unknown, unknownOpening, by: key), .badRequest, "invalid-choice")
            let (foreign, foreignOpening) = try e.encryptedBallot(key, district: "d01", selections: ["c01"],
                                                                  electionHash: try TestElection.otherElectionHash())
            expectError(try await e.spoil(client, foreign, foreignOpening, by: key), .badRequest, "wrong-election")
            let (good, goodOpening) = try e.encryptedBallot(key, voter: 0)
            // A challenge request in the voter's name, signed by someone else.
            let genuine = try SpoilRequestBody.make(ballot: good.ballot, opening: goodOpening, voterKey: key)
            let forged = SpoilRequestBody(ballot: genuine.ballot, opening: goodOpening, voterKey: key.publicKey,
                                          signature: try SpoilRequestBody.make(ballot: good.ballot, opening: goodOpening, voterKey: stranger).signature)
            expectError(try await e.spoil(client, body: forged), .badRequest, "bad-signature")
            // The voter's genuine request signature, moved to another ballot (it signs the tracking code).
            let (other, otherOpening) = try e.encryptedBallot(key, voter: 0)
            let moved = SpoilRequestBody(ballot: other.ballot.wire, opening: otherOpening, voterKey: key.publicKey, signature: genuine.signature)
            expectError(try await e.spoil(client, body: moved), .badRequest, "bad-signature")
            // An invalid ballot is refused as such even with a wrong opening.
            expectError(try await e.spoil(client, double, goodOpening, by: key), .badRequest, "invalid-choice")
            #expect(try await e.snapshot() == before)

            try await e.close()
            let closed = try await e.snapshot()
            expectError(try await e.spoil(client, good, goodOpening, by: key), .forbidden, "election-closed")
            #expect(try await e.snapshot() == closed)
        }
    }

    @Test(arguments: StorageBackend.all) func spoilingBeforeVotingOpensIsRefused(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, stage: .registered)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let before = try await e.snapshot()
            // No election key yet.
            let (early, earlyOpening) = try e.encryptedBallot(key, voter: 0, electionKey: .base(try Scalar.random()))
            expectError(try await e.spoil(client, early, earlyOpening, by: key), .forbidden, "election-not-open")
            #expect(try await e.snapshot() == before)
            // The key is published, voting is not open yet.
            try await e.runCeremony(client)
            let keyed = try await e.snapshot()
            let (ballot, opening) = try e.encryptedBallot(key, voter: 0)
            expectError(try await e.spoil(client, ballot, opening, by: key), .forbidden, "election-not-open")
            #expect(try await e.snapshot() == keyed)
            try await e.open()
            #expect(try await e.spoil(client, ballot, opening, by: key).status == .created)
        }
    }
}

private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
}
