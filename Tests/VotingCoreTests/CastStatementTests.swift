import Foundation
import Testing
@testable import VotingCore

// What a voter's key signs about a ballot (docs/protocol.md §4.4, §14): the cast statement
// (eq. 2) and the challenge request (eq. 18). Both name the election, the key and the
// tracking code; neither is the ballot itself, and neither can stand in for the other.

private func lp(_ s: String) -> [UInt8] {
    let b = Array(s.utf8)
    return [UInt8(truncatingIfNeeded: b.count >> 24), UInt8(truncatingIfNeeded: b.count >> 16),
            UInt8(truncatingIfNeeded: b.count >> 8), UInt8(truncatingIfNeeded: b.count)] + b
}

private struct Voting {
    let hash: Digest
    let otherHash: Digest
    let voter: Ed25519PrivateKey
    let stranger: Ed25519PrivateKey
    let ballot: Ballot
    let opening: BallotOpening

    init() throws {
        let setup = try TestElections.setup(TestElections.manifest)
        hash = setup.electionHash
        // The same manifest and keys with another nonce: another election (eq. 1).
        otherHash = ElectionSetup(manifest: setup.manifest, serverKey: setup.serverKey, commissionKey: setup.commissionKey,
                                  nonce: TestElections.nonce("another nonce")).electionHash
        voter = try TestElections.key("voter")
        stranger = try TestElections.key("stranger")
        (ballot, opening) = try TestElections.ballot(["p", "q"], district: "south", electionHash: hash,
                                                     electionKey: .base(try TestElections.electionSecret()))
    }
}

@Suite("Cast statement (eq. 2)")
struct CastStatementTests {
    @Test("layout: string(tag) || election_hash || voter_key || tracking_code; Ballot.cast signs exactly it")
    func layout() throws {
        let v = try Voting()
        let statement = SignedBallot.castStatement(electionHash: v.hash, voterKey: v.voter.publicKey, trackingCode: v.ballot.trackingCode)
        #expect(statement == lp("evote.v2.cast") + v.hash.bytes + v.voter.publicKey.rawRepresentation + v.ballot.trackingCode.digest.bytes)
        let cast = try v.ballot.cast(with: v.voter)
        #expect(cast.voterKey == v.voter.publicKey)
        #expect(v.voter.publicKey.isValidSignature(cast.signature, for: statement))
        #expect(cast.signature == (try v.voter.signature(for: statement)), "Ed25519 is deterministic")
        #expect(cast.hasValidSignature)
        // Through the JSON form the server receives, still valid.
        let wire = try JSONDecoder().decode(SignedBallotWire.self, from: try JSONEncoder().encode(cast.wire))
        #expect(wire.signedBallot.hasValidSignature)
        #expect(wire.signedBallot.canonicalBytes == cast.canonicalBytes)
    }

    @Test("refused: a statement for another election, another key, another tracking code, or the ballot bytes signed instead")
    func refusals() throws {
        let v = try Voting()
        let key = v.voter.publicKey
        func signedBallot(_ statement: [UInt8], by signer: Ed25519PrivateKey, claiming claimed: Ed25519PublicKey) throws -> SignedBallot {
            SignedBallot(ballot: v.ballot, voterKey: claimed, signature: try signer.signature(for: statement))
        }
        let good = SignedBallot.castStatement(electionHash: v.hash, voterKey: key, trackingCode: v.ballot.trackingCode)
        #expect(try signedBallot(good, by: v.voter, claiming: key).hasValidSignature)

        let otherElection = SignedBallot.castStatement(electionHash: v.otherHash, voterKey: key, trackingCode: v.ballot.trackingCode)
        #expect(!(try signedBallot(otherElection, by: v.voter, claiming: key).hasValidSignature), "wrong election hash")
        // Signed by another key: neither under the voter's key nor claiming the stranger's.
        #expect(!(try signedBallot(good, by: v.stranger, claiming: key).hasValidSignature), "wrong signer")
        #expect(!(try signedBallot(good, by: v.stranger, claiming: v.stranger.publicKey).hasValidSignature),
                "a statement naming another key")
        #expect(!(try signedBallot(good, by: v.voter, claiming: v.stranger.publicKey).hasValidSignature), "the key swapped after signing")
        let otherBallot = try TestElections.ballot(["p", "q"], district: "south", electionHash: v.hash,
                                                   electionKey: .base(try TestElections.electionSecret())).0
        let otherCode = SignedBallot.castStatement(electionHash: v.hash, voterKey: key, trackingCode: otherBallot.trackingCode)
        #expect(!(try signedBallot(otherCode, by: v.voter, claiming: key).hasValidSignature), "another ballot's tracking code")
        #expect(!(try signedBallot(v.ballot.canonicalBytes, by: v.voter, claiming: key).hasValidSignature), "the ballot bytes")
        // The ballot's own election hash is what the statement must name: a ballot of another
        // election cast honestly verifies for that election only (the server compares the hash).
        let foreign = Ballot(electionHash: v.otherHash, ballotID: v.ballot.ballotID, district: "south", content: v.ballot.content)
        let foreignCast = try foreign.cast(with: v.voter)
        #expect(foreignCast.hasValidSignature)
        #expect(!SignedBallot(ballot: v.ballot, voterKey: key, signature: foreignCast.signature).hasValidSignature)
    }
}

@Suite("Challenge request (eq. 18)")
struct ChallengeRequestTests {
    @Test("layout: string(tag) || election_hash || voter_key || tracking_code; make() signs it and the body verifies")
    func layout() throws {
        let v = try Voting()
        let bytes = SpoilRequestBody.signedBytes(electionHash: v.hash, voterKey: v.voter.publicKey, trackingCode: v.ballot.trackingCode)
        #expect(bytes == lp("evote.v2.challenge-request") + v.hash.bytes + v.voter.publicKey.rawRepresentation
            + v.ballot.trackingCode.digest.bytes)
        let body = try SpoilRequestBody.make(ballot: v.ballot, opening: v.opening, voterKey: v.voter)
        #expect(body.voterKey == v.voter.publicKey)
        #expect(body.ballot.ballot == v.ballot)
        #expect(v.voter.publicKey.isValidSignature(body.signature, for: bytes))
        #expect(body.hasValidSignature)
        let decoded = try JSONDecoder().decode(SpoilRequestBody.self, from: try JSONEncoder().encode(body))
        #expect(decoded.hasValidSignature)
        // The logged spoiled ballot names no voter: neither the key nor the signature is in it.
        let spoiled = SpoiledBallot(ballot: decoded.ballot.ballot, opening: decoded.opening)
        #expect(spoiled.trackingCode == v.ballot.trackingCode)
        #expect(spoiled.opening.opens(v.ballot.content, district: try #require(TestElections.manifest.district("south")),
                                      electionKey: .base(try TestElections.electionSecret())))
    }

    @Test("refused: another election, another key, another ballot; a cast signature is not a challenge signature and vice versa")
    func refusals() throws {
        let v = try Voting()
        let key = v.voter.publicKey
        func body(_ statement: [UInt8], by signer: Ed25519PrivateKey, claiming claimed: Ed25519PublicKey,
                  ballot: Ballot? = nil) throws -> SpoilRequestBody {
            SpoilRequestBody(ballot: (ballot ?? v.ballot).wire, opening: v.opening, voterKey: claimed,
                             signature: try signer.signature(for: statement))
        }
        let good = SpoilRequestBody.signedBytes(electionHash: v.hash, voterKey: key, trackingCode: v.ballot.trackingCode)
        #expect(try body(good, by: v.voter, claiming: key).hasValidSignature)

        let otherElection = SpoilRequestBody.signedBytes(electionHash: v.otherHash, voterKey: key, trackingCode: v.ballot.trackingCode)
        #expect(!(try body(otherElection, by: v.voter, claiming: key).hasValidSignature), "wrong election hash")
        #expect(!(try body(good, by: v.stranger, claiming: key).hasValidSignature), "wrong signer")
        #expect(!(try body(good, by: v.voter, claiming: v.stranger.publicKey).hasValidSignature), "another key claimed")
        let otherBallot = try TestElections.ballot(["p", "q"], district: "south", electionHash: v.hash,
                                                   electionKey: .base(try TestElections.electionSecret())).0
        #expect(!(try body(good, by: v.voter, claiming: key, ballot: otherBallot).hasValidSignature), "another ballot")

        // Domain separation: the two statements differ only in their tag, and neither signature
        // is accepted as the other.
        let cast = SignedBallot.castStatement(electionHash: v.hash, voterKey: key, trackingCode: v.ballot.trackingCode)
        #expect(Array(cast.dropFirst(4 + "evote.v2.cast".utf8.count)) == Array(good.dropFirst(4 + "evote.v2.challenge-request".utf8.count)))
        let castSigned = try v.ballot.cast(with: v.voter)
        #expect(!SpoilRequestBody(ballot: v.ballot.wire, opening: v.opening, voterKey: key, signature: castSigned.signature).hasValidSignature)
        let challenge = try SpoilRequestBody.make(ballot: v.ballot, opening: v.opening, voterKey: v.voter)
        #expect(!SignedBallot(ballot: v.ballot, voterKey: key, signature: challenge.signature).hasValidSignature)
        // Nor is an enrollment request's signature (eq. 6) anything but that.
        let enrollment = try TestElections.enrollment(v.voter, district: "south", electionHash: v.hash).0
        #expect(!SpoilRequestBody(ballot: v.ballot.wire, opening: v.opening, voterKey: key, signature: enrollment.signature).hasValidSignature)
        #expect(!SignedBallot(ballot: v.ballot, voterKey: key, signature: enrollment.signature).hasValidSignature)
    }
}
