import Foundation
import Testing
@testable import VotingCore

// Supervised ballots and their reveals (docs/protocol.md §16): the station's cast statement
// (eq. 47), the supervised entry, the supersession link (eq. 48) and the reveal at the close.

private func u32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
private func lp(_ b: [UInt8]) -> [UInt8] { u32(b.count) + b }
private func lp(_ s: String) -> [UInt8] { lp(Array(s.utf8)) }

private struct StationFixture {
    let hash: Digest
    let key: GroupElement
    let station: Ed25519PrivateKey
    let ballot: Ballot

    init() throws {
        hash = try TestElections.setup(TestElections.manifest).electionHash
        key = .base(try TestElections.electionSecret())
        station = try TestElections.key("station-1")
        ballot = try TestElections.ballot(["b"], district: "north", electionHash: hash, electionKey: key).0
    }
}

@Suite("Supervised ballots (§16)")
struct SupervisedBallotTests {
    @Test("the supervised cast statement (eq. 47): layout, signature by the station, bound to station index, ballot and election")
    func castStatement() throws {
        let f = try StationFixture()
        let statement = SupervisedBallot.castStatement(electionHash: f.hash, station: 3, trackingCode: f.ballot.trackingCode)
        #expect(statement == lp("evote.v2.supervised-cast") + f.hash.bytes + u32(3) + f.ballot.trackingCode.digest.bytes)
        let signature = try SupervisedBallot.sign(ballot: f.ballot, station: 3, key: f.station)
        #expect(f.station.publicKey.isValidSignature(signature, for: statement))
        let link = SupervisedBallot.link(pseudonym: SHA256.hash([1]), blinding: TestElections.nonce("blinding"))
        let supervised = SupervisedBallot(ballot: f.ballot, station: 3, signature: signature, link: link)
        #expect(supervised.isSigned(by: f.station.publicKey))
        #expect(supervised.trackingCode == f.ballot.trackingCode)

        // Another station index, another station key, another ballot, another election: refused.
        #expect(!SupervisedBallot(ballot: f.ballot, station: 4, signature: signature, link: link).isSigned(by: f.station.publicKey))
        #expect(!supervised.isSigned(by: try TestElections.key("station-2").publicKey))
        let other = try TestElections.ballot(["b"], district: "north", electionHash: f.hash, electionKey: f.key).0
        #expect(!SupervisedBallot(ballot: other, station: 3, signature: signature, link: link).isSigned(by: f.station.publicKey))
        let foreign = try TestElections.ballot(["b"], district: "north", electionHash: SHA256.hash([9]), electionKey: f.key,
                                               ballotID: f.ballot.ballotID).0
        #expect(!SupervisedBallot(ballot: foreign, station: 3, signature: signature, link: link).isSigned(by: f.station.publicKey))
        // A voter's cast signature over the same ballot is not a station's (different statement and tag).
        let voterCast = try f.ballot.cast(with: f.station)
        #expect(!SupervisedBallot(ballot: f.ballot, station: 3, signature: voterCast.signature, link: link).isSigned(by: f.station.publicKey))
    }

    @Test("the supervised entry: layout of §16.2, round trip, header, strict decoding")
    func entry() throws {
        let f = try StationFixture()
        let signature = try SupervisedBallot.sign(ballot: f.ballot, station: 1, key: f.station)
        let link = SupervisedBallot.link(pseudonym: SHA256.hash([1]), blinding: TestElections.nonce("blinding"))
        let supervised = SupervisedBallot(ballot: f.ballot, station: 1, signature: signature, link: link)
        let bytes = supervised.canonicalBytes
        #expect(bytes == lp("evote.v2.supervised-entry") + lp(f.ballot.canonicalBytes) + u32(1) + signature.bytes + link.bytes)
        let back = try SupervisedBallot.decode(canonical: bytes)
        #expect(back == supervised)
        #expect(back.canonicalBytes == bytes)
        #expect(back.isSigned(by: f.station.publicKey))
        let header = try SupervisedBallot.header(canonical: bytes)
        #expect(header.district == "north" && header.ballotID == f.ballot.ballotID)

        for n in stride(from: 0, to: bytes.count, by: 13) {
            #expect(throws: (any Error).self, "prefix \(n)") { _ = try SupervisedBallot.decode(canonical: Array(bytes[..<n])) }
        }
        #expect(throws: CanonicalReader.Failure.trailingBytes(1)) { _ = try SupervisedBallot.decode(canonical: bytes + [0]) }
        // Not a cast ballot, and a cast ballot is not one.
        let cast = try f.ballot.cast(with: try TestElections.key("voter"))
        #expect(throws: CanonicalReader.Failure.self) { _ = try SupervisedBallot.decode(canonical: cast.canonicalBytes) }
        #expect(throws: CanonicalReader.Failure.self) { _ = try SignedBallot.decode(canonical: bytes) }
        // The embedded ballot is validated like any ballot: an identity point is refused.
        var bad = bytes
        let alpha0 = 4 + "evote.v2.supervised-entry".utf8.count + 4 + 4 + "evote.v2.ballot".utf8.count + 32 + 32 + 4 + "north".utf8.count
            + 4 + "elgamal-p256-v2".utf8.count + 4
        #expect(Array(bytes[alpha0..<(alpha0 + 65)]) == f.ballot.content.ciphertexts[0].alpha.encoding)
        bad.replaceSubrange(alpha0..<(alpha0 + 65), with: [UInt8](repeating: 0, count: 65))
        #expect(throws: CryptoError.self) { _ = try SupervisedBallot.decode(canonical: bad) }
    }

    @Test("the link (eq. 48) is SHA-256(string(tag) || pseudonym || blinding), checked against Python, and hides both")
    func link() {
        let pseudonym = SHA256.hash(Array("pseudonym".utf8))
        let blinding = Nonce32(trusted: SHA256.hash(Array("blinding".utf8)).bytes)
        // python3 -c "import hashlib,struct; t=b'evote.v2.supersession-link'; \
        //   print(hashlib.sha256(struct.pack('>I',len(t))+t+hashlib.sha256(b'pseudonym').digest()+hashlib.sha256(b'blinding').digest()).hexdigest())"
        let expected = "1089480d2be395163f29289c8719c4de872a3ec60f494ac47bb42029737d4b18"
        let link = SupervisedBallot.link(pseudonym: pseudonym, blinding: blinding)
        #expect(link.hex == expected)
        #expect(link == SHA256.hash(lp("evote.v2.supersession-link") + pseudonym.bytes + blinding.bytes))
        #expect(SupervisedBallot.link(pseudonym: SHA256.hash([0]), blinding: blinding) != link)
        #expect(SupervisedBallot.link(pseudonym: pseudonym, blinding: .zero) != link)
        // Swapping the two halves gives another link (fixed positions, no ambiguity).
        #expect(SupervisedBallot.link(pseudonym: Digest(trusted: blinding.bytes), blinding: Nonce32(trusted: pseudonym.bytes)) != link)
    }

    @Test("the reveal (§16.3): layout, round trip, superseded ballot bytes or none, strict decoding")
    func reveal() throws {
        let f = try StationFixture()
        let remote = try TestElections.ballot(["a"], district: "north", electionHash: f.hash, electionKey: f.key).0
        let second = try TestElections.ballot(["c"], district: "north", electionHash: f.hash, electionKey: f.key).0
        let withRemote = SupersessionReveal.Item(supervised: f.ballot.trackingCode, pseudonym: SHA256.hash([1]),
                                                 blinding: TestElections.nonce("b1"), supersededBallot: remote.canonicalBytes)
        let withoutRemote = SupersessionReveal.Item(supervised: second.trackingCode, pseudonym: SHA256.hash([2]),
                                                    blinding: TestElections.nonce("b2"), supersededBallot: [])
        #expect(withRemote.superseded == remote.trackingCode)
        #expect(withoutRemote.superseded == nil)

        let reveal = SupersessionReveal(items: [withRemote, withoutRemote])
        let bytes = reveal.canonicalBytes
        let expected = lp("evote.v2.supersession-reveal") + u32(2)
            + f.ballot.trackingCode.digest.bytes + SHA256.hash([1]).bytes + TestElections.nonce("b1").bytes + lp(remote.canonicalBytes)
            + second.trackingCode.digest.bytes + SHA256.hash([2]).bytes + TestElections.nonce("b2").bytes + u32(0)
        #expect(bytes == expected)
        let back = try SupersessionReveal.decode(canonical: bytes)
        #expect(back == reveal)
        #expect(back.items.map(\.superseded) == [remote.trackingCode, nil])
        #expect(try SupersessionReveal.decode(canonical: SupersessionReveal(items: []).canonicalBytes).items.isEmpty)

        for n in stride(from: 0, to: bytes.count, by: 17) {
            #expect(throws: (any Error).self, "prefix \(n)") { _ = try SupersessionReveal.decode(canonical: Array(bytes[..<n])) }
        }
        #expect(throws: CanonicalReader.Failure.trailingBytes(1)) { _ = try SupersessionReveal.decode(canonical: bytes + [0]) }
        #expect(throws: CanonicalReader.Failure.self) { _ = try SupersessionReveal.decode(canonical: remote.canonicalBytes) }
        #expect(SupersessionReveal.maxItemsPerEntry == 1_000)
    }

    @Test("a receipt of kind supervised passes the six checks of §6.2, and fails for a cast-ballot entry")
    func supervisedReceipt() throws {
        let f = try StationFixture()
        let server = try TestElections.key("test-server")
        let signature = try SupervisedBallot.sign(ballot: f.ballot, station: 1, key: f.station)
        let supervised = SupervisedBallot(ballot: f.ballot, station: 1, signature: signature,
                                          link: SupervisedBallot.link(pseudonym: SHA256.hash([1]), blinding: .zero))
        let cast = try TestElections.ballot(["a"], district: "north", electionHash: f.hash, electionKey: f.key).0
            .cast(with: try TestElections.key("voter"))
        let entries = [
            LogEntry(index: 0, electionHash: f.hash, timestamp: 1, kind: .election, payload: try TestElections.setup(TestElections.manifest).canonicalBytes),
            LogEntry(index: 1, electionHash: f.hash, timestamp: 2, kind: .supervised, payload: supervised.canonicalBytes),
            LogEntry(index: 2, electionHash: f.hash, timestamp: 3, kind: .ballot, payload: cast.canonicalBytes),
        ]
        var tree = InMemoryMerkleTree()
        for e in entries { tree.append(leafHash: e.leafHash) }
        let checkpoint = try Checkpoint(electionHash: f.hash, treeSize: tree.size, rootHash: tree.root, timestamp: 4).signed(with: server)
        let verifier = ReceiptVerifier(serverKey: server.publicKey, electionHash: f.hash)
        func verify(index: UInt64, subject: Digest, expected: [UInt8]? = nil) throws -> [CheckResult] {
            let receipt = try Receipt.issue(kind: .supervised, electionHash: f.hash, subject: subject, logIndex: index,
                                            leafHash: entries[Int(index)].leafHash, checkpoint: checkpoint, serverKey: server)
            return verifier.verify(receipt: receipt, entryBytes: entries[Int(index)].canonicalBytes,
                                   inclusionProof: try Merkle.inclusionProof(index: index, size: tree.size, in: tree), expectedPayload: expected)
        }
        let good = try verify(index: 1, subject: f.ballot.trackingCode.digest, expected: supervised.canonicalBytes)
        #expect(good.count == 6 && good.allSatisfy(\.passed), "\(good.filter { !$0.passed })")
        let onCast = try verify(index: 2, subject: cast.trackingCode.digest)
        #expect(onCast.filter { !$0.passed }.map(\.name) == ["entry-content"])
        let wrongSubject = try verify(index: 1, subject: cast.trackingCode.digest)
        #expect(wrongSubject.filter { !$0.passed }.map(\.name) == ["entry-content"])
    }
}
