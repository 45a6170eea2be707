import Foundation
import Testing
@testable import VotingCore

/// Two colluding voters can pick nonces r and n − r for one option so that the aggregate's
/// alpha is the identity. The tally must still be stored, read back, decrypted and proven.
@Suite("a vanished aggregate component")
struct VanishedSumTests {
    @Test("aggregate with an identity alpha round-trips, decrypts with proofs, and counts correctly")
    func identityAlpha() throws {
        let manifest = ElectionManifest(electionId: "v", name: "V", districts: [
            District(id: "d1", name: "One", seats: 1, selectionLimit: 1,
                     options: [BallotOption(id: "a", name: "A"), BallotOption(id: "b", name: "B")]),
        ], trustees: TrusteePolicy(count: 1, quorum: 1))
        let hash = try TestElections.setup(manifest).electionHash
        let secret = try Scalar(reducing: SHA256.hash(Array("vanish-secret".utf8)).bytes)
        let key = GroupElement.base(secret)
        let r = try Scalar(reducing: SHA256.hash(Array("vanish-nonce".utf8)).bytes)
        let s = try Scalar(reducing: SHA256.hash(Array("other-nonce".utf8)).bytes)
        // Voter 1 marks a with nonce r; voter 2 marks b, using nonce n − r for option a.
        let ballot1 = [Ciphertext.encrypt(1, nonce: r, key: key), Ciphertext.encrypt(0, nonce: s, key: key)]
        let ballot2 = [Ciphertext.encrypt(0, nonce: -r, key: key), Ciphertext.encrypt(1, nonce: s, key: key)]
        let aggregate = TallyAggregate.sum(manifest: manifest, ballots: [("d1", ballot1), ("d1", ballot2)])
        let summed = try #require(aggregate.districts.first?.ciphertexts.first)
        #expect(summed.alpha.isIdentity)
        #expect(summed.alpha.encoding == [UInt8](repeating: 0, count: 65))

        // Canonical bytes and JSON both carry the identity and read it back.
        #expect(try TallyAggregate.decode(canonical: aggregate.canonicalBytes) == aggregate)
        #expect(try JSONDecoder().decode(TallyAggregate.self, from: JSONEncoder().encode(aggregate)) == aggregate)
        // A ballot may never carry the identity.
        var w = CanonicalWriter(tag: .aggregate)
        w.point(summed.alpha)
        var reader = try CanonicalReader(w.bytes, tag: .aggregate)
        #expect(throws: (any Error).self) { _ = try reader.point() }

        let signer = try Ed25519PrivateKey()
        let partial = try PartialDecryption.make(electionHash: hash, index: 1, secretShare: secret, aggregate: aggregate, signingKey: signer)
        #expect(partial.problem(electionHash: hash, aggregate: aggregate, publicShare: key, signingKey: signer.publicKey) == nil)
        let (decoded, _) = try PartialDecryption.decode(payload: partial.payload(electionHash: hash))
        #expect(decoded == partial)
        #expect(try JSONDecoder().decode(PartialDecryption.self, from: JSONEncoder().encode(partial)) == partial)

        let results = try #require(ElectionResults.combine(manifest: manifest, aggregate: aggregate, partials: [partial], roll: ["d1": 2]))
        #expect(results.districts.first?.counts == [1, 1])
    }
}

@Suite("reading a ballot's header without decoding it")
struct BallotDistrictTests {
    @Test("SignedBallot.header(canonical:) reads the district, ballot id and voter key a full decode reads, and refuses other objects")
    func district() throws {
        let voter = try Ed25519PrivateKey()
        let key = GroupElement.base(Scalar(7))
        let district = District(id: "d-7", name: "Seven", seats: 1, selectionLimit: 1,
                                options: [BallotOption(id: "a", name: "A"), BallotOption(id: "b", name: "B")])
        let hash = SHA256.hash(Array("e".utf8))
        let id = try BallotID.random()
        let context = BallotContent.context(electionHash: hash, electionKey: key, ballotID: id, district: "d-7")
        let (content, _) = try BallotContent.encrypt(selections: ["b"], district: district, context: context)
        let ballot = try Ballot(electionHash: hash, ballotID: id, district: "d-7", content: content).cast(with: voter)
        let header = try SignedBallot.header(canonical: ballot.canonicalBytes)
        #expect(header.district == "d-7")
        #expect(header.ballotID == id)
        #expect(header.voterKey == voter.publicKey)
        let decoded = try SignedBallot.decode(canonical: ballot.canonicalBytes)
        #expect(header.district == decoded.ballot.district && header.ballotID == decoded.ballot.ballotID && header.voterKey == decoded.voterKey)
        // The ballot alone has its own header reader; each refuses the other's bytes and truncations.
        let inner = try Ballot.header(canonical: ballot.ballotBytes)
        #expect(inner.district == "d-7" && inner.ballotID == id)
        #expect(throws: (any Error).self) { _ = try SignedBallot.header(canonical: ballot.ballotBytes) }
        #expect(throws: (any Error).self) { _ = try Ballot.header(canonical: ballot.canonicalBytes) }
        #expect(throws: (any Error).self) { _ = try SignedBallot.header(canonical: Array(ballot.canonicalBytes.prefix(40))) }
    }
}
