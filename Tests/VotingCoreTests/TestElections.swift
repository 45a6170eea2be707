import Foundation
import Testing
@testable import VotingCore

/// Deterministic keys and election setups for tests. In protocol v2 the election hash is
/// SHA-256 of the election setup (manifest, server key, commission key, nonce; eq. 1), so a
/// test that needs one builds a setup from fixed labels.
enum TestElections {
    /// An Ed25519 key whose seed is SHA-256(label): the same key in every run.
    static func key(_ label: String) throws -> Ed25519PrivateKey {
        try Ed25519PrivateKey(rawRepresentation: SHA256.hash(Array(label.utf8)).bytes)
    }

    /// 32 bytes SHA-256(label) as a nonce or blinding.
    static func nonce(_ label: String) -> Nonce32 { Nonce32(trusted: SHA256.hash(Array(label.utf8)).bytes) }

    /// A ballot id SHA-256(label).
    static func ballotID(_ label: String) -> BallotID { BallotID(trusted: SHA256.hash(Array(label.utf8)).bytes) }

    /// A salt: the first 16 bytes of SHA-256(label).
    static func salt(_ label: String) -> Salt { Salt(trusted: Array(SHA256.hash(Array(label.utf8)).bytes.prefix(16))) }

    /// The election setup of `manifest` with the server key "server", the commission key
    /// "commission" and the nonce "nonce" (all `label`-prefixed).
    static func setup(_ manifest: ElectionManifest, label: String = "test") throws -> ElectionSetup {
        ElectionSetup(manifest: manifest, serverKey: try key("\(label)-server").publicKey,
                      commissionKey: try key("\(label)-commission").publicKey, nonce: nonce("\(label)-nonce"))
    }

    /// A real enrollment (§4.7) of `voter` in `district`: a registrar commitment (eq. 13) to
    /// `code` with `salt`, opened by the code, and the voter's proof of possession (eq. 6).
    static func enrollment(_ voter: Ed25519PrivateKey, district: String, electionHash: Digest,
                           code: String = "0K1M-Q9XD-4TBN-7RWE", salt: Salt = salt("enrollment")) throws -> (Enrollment, CodeCommitment) {
        let normalized = EnrollmentCode.normalize(code)
        let commitment = CodeCommitment(salt: salt, value: EnrollmentCode.commitment(normalizedCode: normalized, salt: salt,
                                                                                     electionHash: electionHash))
        let request = EnrollmentRequest.signedBytes(electionHash: electionHash, voterKey: voter.publicKey, normalizedCode: normalized)
        let enrollment = Enrollment(voterKey: voter.publicKey, district: district, commitment: commitment.value, code: normalized,
                                    signature: try voter.signature(for: request))
        return (enrollment, commitment)
    }

    /// A two-district manifest used by the ballot, registrar and batch tests.
    static let manifest = ElectionManifest(electionId: "test-2026", name: "Test", districts: [
        District(id: "north", name: "North", seats: 1, selectionLimit: 1,
                 options: [BallotOption(id: "a", name: "A"), BallotOption(id: "b", name: "B"), BallotOption(id: "c", name: "C")]),
        District(id: "south", name: "South", seats: 2, selectionLimit: 2,
                 options: [BallotOption(id: "p", name: "P"), BallotOption(id: "q", name: "Q"), BallotOption(id: "r", name: "R"),
                           BallotOption(id: "s", name: "S")]),
    ], trustees: TrusteePolicy(count: 1, quorum: 1))

    /// An election key K = x·G with x = SHA-256("election-secret") mod n.
    static func electionSecret() throws -> Scalar { try Scalar(reducing: SHA256.hash(Array("election-secret".utf8)).bytes) }

    /// A ballot for `district` of `manifest` encrypting `selections` under a random ballot id.
    static func ballot(_ selections: [String], district id: String, electionHash: Digest, electionKey: GroupElement,
                       manifest: ElectionManifest = TestElections.manifest,
                       ballotID: BallotID? = nil) throws -> (Ballot, BallotOpening) {
        let district = try #require(manifest.district(id))
        let ballotID = try ballotID ?? BallotID.random()
        let context = BallotContent.context(electionHash: electionHash, electionKey: electionKey, ballotID: ballotID, district: id)
        let (content, opening) = try BallotContent.encrypt(selections: selections, district: district, context: context)
        return (Ballot(electionHash: electionHash, ballotID: ballotID, district: id, content: content), opening)
    }
}
