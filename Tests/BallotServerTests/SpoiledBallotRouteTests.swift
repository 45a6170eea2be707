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
    @Test func spoiledBallotIsLoggedWithAVerifiableReceiptAndNotCounted() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let (ballot, opening) = try e.encryptedBallot(key, voter: 0, option: 1)
            let before = try await e.snapshot()
            let response = try await e.spoil(client, ballot, opening)
            #expect(response.status == .created, "\(response.text)")
            let body = try response.decode(CastResponse.self)
            #expect(body.trackingCode == ballot.trackingCode)
            #expect(body.shortCode == ballot.trackingCode.short)
            let receipt = body.logged.receipt
            #expect(receipt.kind == .spoiled)
            #expect(receipt.subject == ballot.trackingCode.digest)
            #expect(receipt.logIndex == UInt64(before.logSize))
            let expected = SpoiledBallot(ballot: ballot, opening: opening).canonicalBytes
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
            #expect(logged.ballot == ballot)
            #expect(logged.opening.selections == [e.district("d01").options[1].id])
            #expect(logged.opening.opens(logged.ballot.ballot.content, district: e.district("d01"), electionKey: try e.electionKey()))

            // Logged, not counted: no ballot row, and the lookup of cast ballots does not find it.
            var expectedSnapshot = before
            expectedSnapshot.spoiled += 1
            expectedSnapshot.logSize += 1
            expectedSnapshot.checkpoints += 1
            #expect(try await e.snapshot() == expectedSnapshot)
            expectError(try await client.get("/v1/ballots/\(ballot.trackingCode.hex)"), .notFound, "not-found")

            // The same spoiled ballot again: the original receipt, nothing new.
            let again = try await e.spoil(client, ballot, opening)
            #expect(again.status == .ok, "\(again.text)")
            #expect(try again.decode(CastResponse.self).logged == body.logged)
            #expect(try await e.snapshot() == expectedSnapshot)
        }
    }

    /// An opening that does not open this exact encryption is refused and nothing is published.
    @Test func openingThatDoesNotOpenTheBallotIsBadOpening() async throws {
        let e = try await TestElection()
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
                let body = expectError(try await e.spoil(client, ballot, wrong), .badRequest, "bad-opening")
                #expect(body != nil, "\(name)")
            }
            #expect(try await e.snapshot() == before)
            #expect(try await e.spoil(client, ballot, opening).status == .created)
        }
    }

    @Test func spoiledBallotCanNeverBeCastButAFreshEncryptionCan() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let (spoiled, opening) = try e.encryptedBallot(key, voter: 0, option: 2)
            #expect(try await e.spoil(client, spoiled, opening).status == .created)
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
            // The spoiled ballot is still refused as spoiled (checked before the earlier ballot).
            expectError(try await e.cast(client, spoiled), .conflict, "ballot-spoiled")
            // The cast ballot can never be opened.
            expectError(try await e.spoil(client, fresh, freshOpening), .conflict, "ballot-cast")
            #expect(try await e.snapshot() == afterCast)
            // Challenging another encryption after casting is allowed, and counts nothing.
            let (late, lateOpening) = try e.encryptedBallot(key, voter: 0, option: 0)
            #expect(try await e.spoil(client, late, lateOpening).status == .created)
            let after = try await e.snapshot()
            #expect(after.ballots == afterCast.ballots)
            #expect(after.spoiled == afterCast.spoiled + 1)
            // The cast ballot is still the voter's ballot.
            #expect(try await e.cast(client, fresh).status == .ok)
        }
    }

    /// The ballot in a spoil request is checked as for casting, before its opening.
    @Test func spoilingFollowsTheCastingRules() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let stranger = try Ed25519PrivateKey()
            let before = try await e.snapshot()
            let (unenrolled, unenrolledOpening) = try e.encryptedBallot(stranger, voter: 0)
            expectError(try await e.spoil(client, unenrolled, unenrolledOpening), .forbidden, "not-enrolled")
            let (elsewhere, elsewhereOpening) = try e.encryptedBallot(key, district: "d02", selections: ["c01"])
            let body = expectError(try await e.spoil(client, elsewhere, elsewhereOpening), .badRequest, "wrong-district")
            #expect(body?.message.contains("d01") == true)
            let (double, doubleOpening) = try e.encryptedBallot(key, district: "d01", selections: ["c01", "c02"])
            expectError(try await e.spoil(client, double, doubleOpening), .badRequest, "invalid-choice")
            let (unknown, unknownOpening) = try e.encryptedBallot(key, district: "d99", selections: ["c01"])
            expectError(try await e.spoil(client, unknown, unknownOpening), .badRequest, "invalid-choice")
            let (foreign, foreignOpening) = try e.encryptedBallot(key, district: "d01", selections: ["c01"],
                                                                  electionHash: TestElection.otherManifest().electionHash)
            expectError(try await e.spoil(client, foreign, foreignOpening), .badRequest, "wrong-election")
            let (good, goodOpening) = try e.encryptedBallot(key, voter: 0)
            let forged = SignedBallot(ballot: good.ballot, signature: try stranger.signature(for: good.ballot.canonicalBytes))
            expectError(try await e.spoil(client, forged, goodOpening), .badRequest, "bad-signature")
            // An invalid ballot is refused as such even with a wrong opening.
            expectError(try await e.spoil(client, double, goodOpening), .badRequest, "invalid-choice")
            #expect(try await e.snapshot() == before)

            try e.close()
            let closed = try await e.snapshot()
            expectError(try await e.spoil(client, good, goodOpening), .forbidden, "election-closed")
            #expect(try await e.snapshot() == closed)
        }
    }

    @Test func spoilingBeforeVotingOpensIsRefused() async throws {
        let e = try await TestElection(stage: .registered)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let before = try await e.snapshot()
            // No election key yet.
            let (early, earlyOpening) = try e.encryptedBallot(key, voter: 0, electionKey: .base(try Scalar.random()))
            expectError(try await e.spoil(client, early, earlyOpening), .forbidden, "election-not-open")
            #expect(try await e.snapshot() == before)
            // The key is published, voting is not open yet.
            try await e.runCeremony(client)
            let keyed = try await e.snapshot()
            let (ballot, opening) = try e.encryptedBallot(key, voter: 0)
            expectError(try await e.spoil(client, ballot, opening), .forbidden, "election-not-open")
            #expect(try await e.snapshot() == keyed)
            try e.open()
            #expect(try await e.spoil(client, ballot, opening).status == .created)
        }
    }
}
