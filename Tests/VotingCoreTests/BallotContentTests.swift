import Foundation
import Testing
@testable import VotingCore

// Encrypted ballot content (docs/protocol.md §11.4): encryption and proofs, what `problem`
// reports for each kind of tampering, Benaloh openings, spoiled ballots and their receipts,
// strict nested JSON, and the manifest's trustee policy. The fixture election and its key
// (x*G for a fixed x) are `Fixture` in EncodingTests.swift.

// MARK: - Helpers

private func be32(_ v: Int) -> [UInt8] {
    [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16),
     UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
}

private func lp(_ s: String) -> [UInt8] { be32(s.utf8.count) + Array(s.utf8) }

private func key(_ n: UInt8) throws -> Ed25519PrivateKey {
    try Ed25519PrivateKey(rawRepresentation: [UInt8](repeating: n, count: 32))
}

private func failedChecks(_ results: [CheckResult]) -> Set<String> {
    Set(results.filter { !$0.passed }.map(\.name))
}

private func json(_ value: some Encodable) throws -> [String: Any] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return try #require(try JSONSerialization.jsonObject(with: try encoder.encode(value)) as? [String: Any])
}

private func data(_ object: [String: Any]) throws -> Data {
    try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
}

/// One encryption of `selections` in a fixture district under a ballot id (random unless given).
private struct Sealed {
    let district: District
    let ballotID: BallotID
    let context: ProofContext
    let content: BallotContent
    let opening: BallotOpening

    init(_ selections: [String], in districtId: String, ballotID: BallotID? = nil, nonces: [Scalar]? = nil) throws {
        district = Fixture.district(districtId)
        self.ballotID = try ballotID ?? BallotID.random()
        context = try Fixture.context(ballotID: self.ballotID, district: districtId)
        let (c, o) = try BallotContent.encrypt(selections: selections, district: district, context: context, nonces: nonces)
        content = c
        opening = o
    }

    /// `problem` of `other` content (default: this one) in this district, under `context` (default: this ballot's).
    func problem(_ other: BallotContent? = nil, context ctx: ProofContext? = nil) -> BallotProblem? {
        (other ?? content).problem(in: district, context: ctx ?? context)
    }

    func with(ciphertexts: [Ciphertext]? = nil, proofs: [ZeroOrOneProof]? = nil, limitProof: KnownValueProof? = nil) -> BallotContent {
        BallotContent(ciphertexts: ciphertexts ?? content.ciphertexts, proofs: proofs ?? content.proofs,
                      limitProof: limitProof ?? content.limitProof)
    }
}

private func nonces(_ label: String, count: Int = 3) -> [Scalar] {
    (0..<count).map { P256Constants.scalar(label: "\(label) nonce \($0)") }
}

// MARK: - Encryption, proofs and problems

@Suite("Encrypted ballot content")
struct BallotContentTests {
    @Test(arguments: [("d1", ["bob"]), ("d1", ["alice"]), ("d1", ["carol"]), ("d2", ["x", "z"]), ("d2", ["z", "y"])])
    func encryptVerifyRoundTrip(district: String, selections: [String]) throws {
        let s = try Sealed(selections, in: district)
        #expect(s.problem() == nil)
        #expect(s.content.ciphertexts.count == s.district.options.count)
        #expect(s.content.proofs.count == s.district.options.count)
        #expect(s.opening.selections == selections)
        #expect(s.opening.nonces.count == s.district.options.count)
        #expect(s.opening.opens(s.content, district: s.district, electionKey: Fixture.electionKey))

        // Each ciphertext encrypts 1 for a selected option and 0 otherwise, under its nonce.
        for (i, option) in s.district.options.enumerated() {
            let m: UInt64 = selections.contains(option.id) ? 1 : 0
            let ct = s.content.ciphertexts[i]
            #expect(ct == Ciphertext.encrypt(m, nonce: s.opening.nonces[i], key: Fixture.electionKey), "\(option.id)")
            #expect(Fixture.decrypt(ct) == (m == 1 ? GroupElement.generator : .identity), "\(option.id) decrypts to \(m)")
            #expect(s.content.proofs[i].verify(ciphertext: ct, context: s.context), "\(option.id)")
        }
        // The sum encrypts the selection limit and the limit proof says so.
        let total = Ciphertext.sum(s.content.ciphertexts)
        #expect(Fixture.decrypt(total) == .base(Scalar(UInt64(s.district.selectionLimit))))
        #expect(s.content.limitProof.verify(ciphertexts: s.content.ciphertexts, value: UInt64(s.district.selectionLimit), context: s.context))
        #expect(!s.content.limitProof.verify(ciphertexts: s.content.ciphertexts, value: UInt64(s.district.selectionLimit + 1), context: s.context))

        // JSON round trips of the content and of the opening.
        let content = try JSONDecoder().decode(BallotContent.self, from: try JSONEncoder().encode(s.content))
        #expect(content == s.content)
        #expect(s.problem(content) == nil)
        let opening = try JSONDecoder().decode(BallotOpening.self, from: try JSONEncoder().encode(s.opening))
        #expect(opening == s.opening)
    }

    @Test func givenNoncesAreTheCiphertexts() throws {
        let r = nonces("given")
        let a = try Sealed(["bob"], in: "d1", nonces: r)
        let b = try Sealed(["bob"], in: "d1", nonces: r)
        #expect(a.opening.nonces == r)
        #expect(a.content.ciphertexts == b.content.ciphertexts)
        #expect(a.content.ciphertexts == [Ciphertext.encrypt(0, nonce: r[0], key: Fixture.electionKey),
                                          Ciphertext.encrypt(1, nonce: r[1], key: Fixture.electionKey),
                                          Ciphertext.encrypt(0, nonce: r[2], key: Fixture.electionKey)])
        // The proofs' own randomness is fresh each time; both verify.
        #expect(a.content.proofs != b.content.proofs)
        #expect(a.problem() == nil)
        #expect(b.problem() == nil)
        // Without given nonces, two encryptions of the same choice share nothing.
        let c = try Sealed(["bob"], in: "d1")
        let d = try Sealed(["bob"], in: "d1")
        #expect(Set(c.content.ciphertexts).isDisjoint(with: d.content.ciphertexts))
        #expect(Set(c.opening.nonces).isDisjoint(with: d.opening.nonces))
    }

    @Test func wrongOptionCount() throws {
        let s = try Sealed(["bob"], in: "d1")
        let c = s.content
        #expect(s.problem(s.with(ciphertexts: Array(c.ciphertexts.dropLast()), proofs: Array(c.proofs.dropLast())))
            == .wrongOptionCount(expected: 3, got: 2), "one option dropped")
        #expect(s.problem(s.with(ciphertexts: Array(c.ciphertexts.dropLast()))) == .wrongOptionCount(expected: 3, got: 2),
                "a ciphertext dropped, its proof kept")
        #expect(s.problem(s.with(ciphertexts: Array(c.ciphertexts.dropFirst()))) == .wrongOptionCount(expected: 3, got: 2),
                "the first ciphertext dropped")
        #expect(s.problem(s.with(ciphertexts: c.ciphertexts + [c.ciphertexts[0]], proofs: c.proofs + [c.proofs[0]]))
            == .wrongOptionCount(expected: 3, got: 4), "an extra option")
        #expect(s.problem(s.with(ciphertexts: [], proofs: [])) == .wrongOptionCount(expected: 3, got: 0))
        // A proof missing (all ciphertexts there) is its own shape problem.
        #expect(s.problem(s.with(proofs: Array(c.proofs.dropLast()))) == .wrongProofCount(expected: 3, got: 2))
    }

    @Test func swappedCiphertextsBreakTheRangeProofs() throws {
        let s = try Sealed(["bob"], in: "d1")  // alice 0, bob 1, carol 0
        var cts = s.content.ciphertexts
        cts.swapAt(0, 1)
        #expect(s.problem(s.with(ciphertexts: cts)) == .badRangeProof(option: "alice"))
        cts = s.content.ciphertexts
        cts.swapAt(1, 2)
        #expect(s.problem(s.with(ciphertexts: cts)) == .badRangeProof(option: "bob"))
        // Even two encryptions of 0: each proof is bound to its own ciphertext.
        cts = s.content.ciphertexts
        cts.swapAt(0, 2)
        #expect(s.problem(s.with(ciphertexts: cts)) == .badRangeProof(option: "alice"))
        var proofs = s.content.proofs
        proofs.swapAt(1, 2)
        #expect(s.problem(s.with(proofs: proofs)) == .badRangeProof(option: "bob"))
        // A proof from another encryption of the same choice.
        let other = try Sealed(["bob"], in: "d1")
        #expect(s.problem(s.with(proofs: [s.content.proofs[0], other.content.proofs[1], s.content.proofs[2]]))
            == .badRangeProof(option: "bob"))
    }

    /// Content whose ciphertexts encrypt `plaintexts` (any scalars) under `r`, with range proofs
    /// made as if they encrypted `claims` and a genuine proof that the sum encrypts `limit`.
    private func forged(_ plaintexts: [Scalar], claims: [UInt64], limit: UInt64, r: [Scalar], context: ProofContext) throws -> BallotContent {
        let K = context.electionKey
        let cts = zip(plaintexts, r).map { m, r in Ciphertext(alpha: .base(r), beta: .linear(m, r, K)) }
        let proofs = try zip(zip(cts, claims), r).map { pair, r in
            try ZeroOrOneProof.prove(ciphertext: pair.0, vote: pair.1, nonce: r, context: context)
        }
        let limitProof = try KnownValueProof.prove(ciphertexts: cts, value: limit,
                                                   nonce: r.dropFirst().reduce(r[0], +), context: context)
        return BallotContent(ciphertexts: cts, proofs: proofs, limitProof: limitProof)
    }

    @Test func ciphertextOfTwo() throws {
        let s = try Sealed(["bob"], in: "d1")
        let r = nonces("two")
        let two = Scalar(2), minusOne = -Scalar.one

        // 2 for alice and -1 for bob: the sum is the limit, only the range proofs can tell.
        let sneaky = try forged([two, minusOne, .zero], claims: [1, 0, 0], limit: 1, r: r, context: s.context)
        #expect(sneaky.limitProof.verify(ciphertexts: sneaky.ciphertexts, value: 1, context: s.context))
        #expect(Fixture.decrypt(sneaky.ciphertexts[0]) == .base(two))
        #expect(s.problem(sneaky) == .badRangeProof(option: "alice"))

        // 2 for bob, the others 0 (their proofs genuine).
        let double = try forged([.zero, two, .zero], claims: [0, 1, 0], limit: 2, r: r, context: s.context)
        #expect(s.problem(double) == .badRangeProof(option: "bob"))
        // The same with an honest-looking limit: still the range proof of bob.
        let capped = try forged([.zero, two, .zero], claims: [0, 1, 0], limit: 1, r: r, context: s.context)
        #expect(s.problem(capped) == .badRangeProof(option: "bob"))
        // A genuine 0/1 proof borrowed from an honest ballot does not cover a 2 either.
        let borrowed = BallotContent(ciphertexts: double.ciphertexts, proofs: s.content.proofs, limitProof: double.limitProof)
        #expect(s.problem(borrowed) == .badRangeProof(option: "alice"))

        // Control: the same construction with 0/1 plaintexts is a valid ballot.
        let honest = try forged([.zero, .one, .zero], claims: [0, 1, 0], limit: 1, r: r, context: s.context)
        #expect(s.problem(honest) == nil)
    }

    @Test func wrongNumberOfSelectionsFailsTheLimitProof() throws {
        // Every range proof holds; only the sum is wrong.
        let cases: [([String], String, Int)] = [
            (["alice", "bob"], "d1", 1),
            ([], "d1", 1),
            (["alice", "bob", "carol"], "d1", 1),
            (["x"], "d2", 2),
            (["x", "y", "z"], "d2", 2),
        ]
        for (selections, district, limit) in cases {
            let s = try Sealed(selections, in: district)
            #expect(zip(s.content.ciphertexts, s.content.proofs).allSatisfy { $0.1.verify(ciphertext: $0.0, context: s.context) })
            #expect(s.problem() == .badLimitProof(limit: limit), "\(selections) in \(district)")
        }
        // A limit proof taken from another encryption of the same choice.
        let a = try Sealed(["bob"], in: "d1")
        let b = try Sealed(["bob"], in: "d1")
        #expect(a.problem(a.with(limitProof: b.content.limitProof)) == .badLimitProof(limit: 1))
        // Commitments of one proof with the response of another.
        #expect(a.problem(a.with(limitProof: KnownValueProof(a: b.content.limitProof.a, b: b.content.limitProof.b, z: a.content.limitProof.z)))
            == .badLimitProof(limit: 1))
        #expect(a.problem(a.with(limitProof: KnownValueProof(a: a.content.limitProof.a, b: b.content.limitProof.b, z: a.content.limitProof.z)))
            == .badLimitProof(limit: 1))
    }

    @Test func proofsAreBoundToTheBallotIDDistrictAndElection() throws {
        let s = try Sealed(["bob"], in: "d1")
        let hash = try Fixture.electionHash()
        func context(hash: Digest = hash, key: GroupElement = Fixture.electionKey, ballotID: BallotID? = nil,
                     district: String = "d1") -> ProofContext {
            BallotContent.context(electionHash: hash, electionKey: key, ballotID: ballotID ?? s.ballotID, district: district)
        }
        #expect(context() == s.context)
        // bound = ballot_id || UTF-8(district), no separator (§11.5).
        #expect(s.context.bound == s.ballotID.bytes + Array("d1".utf8))
        #expect(s.problem(context: context()) == nil)
        let others: [(String, ProofContext)] = [
            ("another ballot id", context(ballotID: Fixture.ballotID("another ballot"))),
            ("another district", context(district: "d2")),
            ("another election", context(hash: SHA256.hash(Array("another election".utf8)))),
            ("another election key", context(key: .base(Fixture.electionSecret + .one))),
        ]
        for (what, ctx) in others {
            #expect(s.problem(context: ctx) == .badRangeProof(option: "alice"), "\(what)")
        }

        // Copied whole into a ballot with another id: the ballot's own context rejects it.
        let copied = Ballot(electionHash: hash, ballotID: Fixture.ballotID("copy"), district: "d1", content: s.content)
        #expect(copied.content.problem(in: s.district, context: try Fixture.context(ballotID: copied.ballotID, district: copied.district))
            == .badRangeProof(option: "alice"))
        // The context names no voter: the same ballot is valid whoever casts it (v1 bound the voter key).
        let ballot = Ballot(electionHash: hash, ballotID: s.ballotID, district: "d1", content: s.content)
        for seed: UInt8 in [3, 4] {
            let cast = try ballot.cast(with: try key(seed))
            #expect(cast.hasValidSignature)
            #expect(cast.ballot.content.problem(in: s.district, context: try Fixture.context(ballotID: cast.ballot.ballotID, district: "d1")) == nil)
        }
    }
}

// MARK: - Openings (Benaloh challenge)

@Suite("Ballot opening")
struct BallotOpeningTests {
    @Test func opensOnlyWithTheRightSelectionsAndNonces() throws {
        let s = try Sealed(["bob"], in: "d1")
        let K = Fixture.electionKey
        func opens(_ selections: [String]? = nil, _ nonces: [Scalar]? = nil, content: BallotContent? = nil,
                   district: District? = nil, key: GroupElement = K) -> Bool {
            BallotOpening(selections: selections ?? s.opening.selections, nonces: nonces ?? s.opening.nonces)
                .opens(content ?? s.content, district: district ?? s.district, electionKey: key)
        }
        #expect(opens())

        // Wrong selections.
        for selections in [["alice"], ["carol"], [], ["alice", "bob"], ["bob", "bob"], ["dave"], ["Bob"]] {
            #expect(!opens(selections), "\(selections)")
        }
        // Wrong nonces: one replaced, out of order, too few, too many.
        let r = s.opening.nonces
        for i in r.indices {
            var bad = r
            bad[i] = bad[i] + .one
            #expect(!opens(nil, bad), "nonce \(i) changed")
        }
        #expect(!opens(nil, Array(r.reversed())), "nonces reversed")
        #expect(!opens(nil, [r[1], r[0], r[2]]), "nonces 0 and 1 swapped")
        #expect(!opens(nil, [r[2], r[1], r[0]]), "nonces of the two zero options swapped")
        #expect(!opens(nil, Array(r.dropLast())), "a nonce missing")
        #expect(!opens(nil, r + [r[0]]), "an extra nonce")
        // The right opening of the wrong thing.
        var swapped = s.content.ciphertexts
        swapped.swapAt(0, 2)
        #expect(!opens(content: BallotContent(ciphertexts: swapped, proofs: s.content.proofs, limitProof: s.content.limitProof)))
        #expect(!opens(content: try Sealed(["bob"], in: "d1").content), "another encryption of the same choice")
        #expect(!opens(key: .base(Fixture.electionSecret + .one)), "another election key")
        #expect(!opens(district: Fixture.district("d2")), "another district's options")
    }

    @Test func selectionOrderDoesNotMatter() throws {
        // The opening names a set of options; the ciphertexts are in manifest order.
        let s = try Sealed(["z", "x"], in: "d2")
        #expect(s.opening.opens(s.content, district: s.district, electionKey: Fixture.electionKey))
        #expect(BallotOpening(selections: ["x", "z"], nonces: s.opening.nonces)
            .opens(s.content, district: s.district, electionKey: Fixture.electionKey))
        #expect(!BallotOpening(selections: ["x", "y"], nonces: s.opening.nonces)
            .opens(s.content, district: s.district, electionKey: Fixture.electionKey))
        #expect(!BallotOpening(selections: ["z", "x", "z"], nonces: s.opening.nonces)
            .opens(s.content, district: s.district, electionKey: Fixture.electionKey))
    }
}

// MARK: - Canonical encodings of encrypted ballots and spoiled ballots

@Suite("Encrypted ballot records")
struct EncryptedBallotRecordTests {
    @Test(arguments: ["d1", "d2"])
    func ballotAndSignedBallotRoundTrip(district: String) throws {
        let selections = district == "d1" ? ["carol"] : ["x", "y"]
        let ballot = try BallotTests.ballot(selections, district: district)
        let back = try Ballot.decode(canonical: ballot.canonicalBytes)
        #expect(back == ballot)
        #expect(back.canonicalBytes == ballot.canonicalBytes)
        #expect(back.content.problem(in: Fixture.district(district), context: try Fixture.context(ballotID: back.ballotID, district: district)) == nil)

        let signed = try ballot.cast(with: try key(6))
        let decoded = try SignedBallot.decode(canonical: signed.canonicalBytes)
        #expect(decoded == signed)
        #expect(decoded.hasValidSignature)
        #expect(decoded.trackingCode == signed.trackingCode)
        #expect(decoded.ballot.content == ballot.content)

        // One flipped bit in a proof scalar: still decodes (the scalar stays below n), but the
        // signature and the proof both fail.
        var bytes = signed.canonicalBytes
        let z = bytes.count - 32 - 64 - 1  // last byte of the limit proof's z, before the voter key and signature
        bytes[z] ^= 0x01
        let tampered = try SignedBallot.decode(canonical: bytes)
        #expect(!tampered.hasValidSignature)
        #expect(tampered.trackingCode != signed.trackingCode)
        #expect(tampered.ballot.content.problem(in: Fixture.district(district),
                                                context: try Fixture.context(ballotID: ballot.ballotID, district: district))
            == .badLimitProof(limit: Fixture.district(district).selectionLimit))
    }

    @Test func spoiledBallotRoundTrip() throws {
        let (ballot, opening) = try BallotTests.sealed(["carol"], district: "d1")
        let voter = try key(3)
        let spoiled = SpoiledBallot(ballot: ballot, opening: opening)
        let expected = lp("evote.v2.spoiled-ballot") + be32(ballot.canonicalBytes.count) + ballot.canonicalBytes
            + be32(1) + lp("carol")
            + be32(3) + opening.nonces.flatMap(\.bytes)
        #expect(spoiled.canonicalBytes == expected)
        // v2: a spoiled ballot carries no voter key and no signature (§14); the challenging
        // voter's key is nowhere in its bytes.
        let bytes = spoiled.canonicalBytes
        #expect(!bytes.indices.dropLast(31).contains { Array(bytes[$0..<($0 + 32)]) == voter.publicKey.rawRepresentation })

        let back = try SpoiledBallot.decode(canonical: spoiled.canonicalBytes)
        #expect(back == spoiled)
        #expect(back.trackingCode == ballot.trackingCode)
        #expect(back.opening.opens(back.ballot.content, district: Fixture.district("d1"), electionKey: Fixture.electionKey))
        // Its tracking code is the one the same ballot would have had if cast.
        let signed = try ballot.cast(with: voter)
        #expect(back.trackingCode == signed.trackingCode)

        for n in stride(from: 0, to: bytes.count, by: 11) {
            #expect(throws: (any Error).self, "prefix \(n)") { try SpoiledBallot.decode(canonical: Array(bytes[..<n])) }
        }
        #expect(throws: (any Error).self) { try SpoiledBallot.decode(canonical: Array(bytes.dropLast())) }
        #expect(throws: CanonicalReader.Failure.trailingBytes(1)) { try SpoiledBallot.decode(canonical: bytes + [0]) }
        // Not a signed ballot, and a signed ballot is not one.
        #expect(throws: CanonicalReader.Failure.self) { try SpoiledBallot.decode(canonical: signed.canonicalBytes) }
        #expect(throws: CanonicalReader.Failure.self) { try SignedBallot.decode(canonical: bytes) }
        // A nonce not below the group order.
        var bad = bytes
        bad.replaceSubrange((bad.count - 32)..<bad.count, with: hex(P256Constants.orderHex))
        #expect(throws: CryptoError.self) { try SpoiledBallot.decode(canonical: bad) }

        // Multiple selections keep their order.
        let (b2, o2) = try BallotTests.sealed(["z", "x"], district: "d2")
        let s2 = SpoiledBallot(ballot: b2, opening: o2)
        let back2 = try SpoiledBallot.decode(canonical: s2.canonicalBytes)
        #expect(back2 == s2)
        #expect(back2.opening.selections == ["z", "x"])
    }
}

// MARK: - Receipts for spoiled ballots

@Suite("Receipt verifier: spoiled ballots")
struct SpoiledReceiptTests {
    /// Setup, enrollment, the challenged ballot (spoiled), then the ballot the voter cast.
    struct Log {
        let server: Ed25519PrivateKey
        let hash: Digest
        let spoiled: SpoiledBallot
        let cast: SignedBallot
        let entries: [LogEntry]
        let tree: InMemoryMerkleTree
        let checkpoint: SignedCheckpoint

        init() throws {
            server = try key(1)
            let voter = try key(3)
            hash = try Fixture.electionHash()
            let (challenged, opening) = try BallotTests.sealed(["alice"], district: "d1")
            spoiled = SpoiledBallot(ballot: challenged, opening: opening)
            cast = try BallotTests.ballot(["bob"], district: "d1").cast(with: voter)
            let payloads: [(LogEntryKind, [UInt8])] = [
                (.election, try Fixture.setup().canonicalBytes),
                (.enrollment, try TestElections.enrollment(voter, district: "d1", electionHash: hash).0.canonicalBytes),
                (.spoiled, spoiled.canonicalBytes),
                (.ballot, cast.canonicalBytes),
            ]
            var entries: [LogEntry] = []
            var tree = InMemoryMerkleTree()
            for (i, (kind, payload)) in payloads.enumerated() {
                let e = LogEntry(index: UInt64(i), electionHash: hash, timestamp: 1_800_000_000_000 + UInt64(i), kind: kind, payload: payload)
                entries.append(e)
                tree.append(leafHash: e.leafHash)
            }
            self.entries = entries
            self.tree = tree
            checkpoint = try Checkpoint(electionHash: hash, treeSize: tree.size, rootHash: tree.root, timestamp: 1_800_000_100_000)
                .signed(with: server)
        }

        var verifier: ReceiptVerifier { ReceiptVerifier(serverKey: server.publicKey, electionHash: hash) }

        func receipt(_ kind: Receipt.Kind, at index: UInt64, subject: Digest) throws -> Receipt {
            try Receipt.issue(kind: kind, electionHash: hash, subject: subject, logIndex: index,
                              leafHash: entries[Int(index)].leafHash, checkpoint: checkpoint, serverKey: server)
        }

        func verify(_ receipt: Receipt, expectedPayload: [UInt8]? = nil) throws -> [CheckResult] {
            let i = receipt.logIndex
            return verifier.verify(receipt: receipt, entryBytes: entries[Int(i)].canonicalBytes,
                                   inclusionProof: try Merkle.inclusionProof(index: i, size: tree.size, in: tree),
                                   expectedPayload: expectedPayload)
        }
    }

    @Test func honestSpoiledReceiptPasses() throws {
        let log = try Log()
        let receipt = try log.receipt(.spoiled, at: 2, subject: log.spoiled.trackingCode.digest)
        let results = try log.verify(receipt)
        #expect(results.map(\.name) == ReceiptVerifierTests.allChecks)
        #expect(failedChecks(results) == [], "\(results)")
        let withPayload = try log.verify(receipt, expectedPayload: log.spoiled.canonicalBytes)
        #expect(failedChecks(withPayload) == [], "\(withPayload)")
        let detail = try #require(results.first { $0.name == "entry-content" }?.detail)
        #expect(detail.contains("spoiled"), "\(detail)")

        // The cast ballot's receipt still passes next to it.
        let cast = try log.receipt(.ballot, at: 3, subject: log.cast.trackingCode.digest)
        #expect(failedChecks(try log.verify(cast, expectedPayload: log.cast.canonicalBytes)) == [])
    }

    @Test func spoiledReceiptForABallotEntryFails() throws {
        let log = try Log()
        // A "spoiled" receipt for the entry that holds the cast ballot.
        let onBallot = try log.receipt(.spoiled, at: 3, subject: log.cast.trackingCode.digest)
        let r1 = try log.verify(onBallot)
        #expect(failedChecks(r1) == ["entry-content"], "\(r1)")
        let detail = try #require(r1.first { $0.name == "entry-content" }?.detail)
        #expect(detail.contains("not a spoiled"), "\(detail)")

        // And the other way round: a ballot receipt for the spoiled entry.
        let onSpoiled = try log.receipt(.ballot, at: 2, subject: log.spoiled.trackingCode.digest)
        let r2 = try log.verify(onSpoiled)
        #expect(failedChecks(r2) == ["entry-content"], "\(r2)")

        // A spoiled receipt naming another ballot's tracking code.
        let wrongSubject = try log.receipt(.spoiled, at: 2, subject: log.cast.trackingCode.digest)
        let r3 = try log.verify(wrongSubject)
        #expect(failedChecks(r3) == ["entry-content"], "\(r3)")

        // What was submitted differs from what was logged.
        let honest = try log.receipt(.spoiled, at: 2, subject: log.spoiled.trackingCode.digest)
        let r4 = try log.verify(honest, expectedPayload: log.cast.canonicalBytes)
        #expect(failedChecks(r4) == ["entry-content"], "\(r4)")
    }
}

// MARK: - Strict nested JSON

@Suite("Strict nested JSON")
struct StrictNestedJSONTests {
    /// Applies `edit` to the `content` object of a wire ballot.
    private static func content(_ o: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
        var c = o["content"] as? [String: Any] ?? [:]
        edit(&c)
        o["content"] = c
    }

    /// Applies `edit` to element `index` of the list `field` inside the content.
    private static func element(_ o: inout [String: Any], _ field: String, _ index: Int, _ edit: (inout [String: Any]) -> Void) {
        content(&o) { c in
            var list = c[field] as? [[String: Any]] ?? []
            if list.indices.contains(index) { edit(&list[index]) }
            c[field] = list
        }
    }

    private static func limitProof(_ o: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
        content(&o) { c in
            var p = c["limit_proof"] as? [String: Any] ?? [:]
            edit(&p)
            c["limit_proof"] = p
        }
    }

    /// `02` in place of the uppercase prefix `04`, the 64 coordinate bytes kept (a hybrid-looking form).
    private static func prefix02(_ v: Any?) -> String { "02" + ((v as? String) ?? "").dropFirst(2) }

    /// The SEC1 compressed form (33 bytes) of the same point: valid SEC1, refused by the protocol.
    private static func compressed(_ v: Any?) -> String {
        let hex = (v as? String) ?? ""
        let x = hex.dropFirst(2).prefix(64)
        let lastY = hex.suffix(1)
        let odd = "13579bdf".contains(lastY)
        return (odd ? "03" : "02") + x
    }

    static let identity = String(repeating: "00", count: 65)

    /// Nested mutations that must make decoding fail; `true` when the failure is an unknown field.
    static let mutations: [(String, Bool, @Sendable (inout [String: Any]) -> Void)] = [
        ("unknown field inside content", true, { o in content(&o) { $0["selections"] = ["x", "z"] } }),
        ("unknown field inside the first ciphertext", true, { o in element(&o, "ciphertexts", 0) { $0["gamma"] = $0["alpha"] } }),
        ("unknown field inside the last ciphertext", true, { o in element(&o, "ciphertexts", 2) { $0["m"] = 1 } }),
        ("unknown field inside a range proof", true, { o in element(&o, "proofs", 1) { $0["c2"] = $0["c0"] } }),
        ("v1's c1 inside a range proof", true, { o in element(&o, "proofs", 1) { $0["c1"] = $0["c0"] } }),
        ("unknown field inside the limit proof", true, { o in limitProof(&o) { $0["limit"] = 2 } }),
        ("v1's c inside the limit proof", true, { o in limitProof(&o) { $0["c"] = $0["z"] } }),
        ("alpha with prefix 02 and 64 coordinate bytes", false, { o in element(&o, "ciphertexts", 0) { $0["alpha"] = prefix02($0["alpha"]) } }),
        ("beta with prefix 02 and 64 coordinate bytes", false, { o in element(&o, "ciphertexts", 2) { $0["beta"] = prefix02($0["beta"]) } }),
        ("compressed alpha (33 bytes)", false, { o in element(&o, "ciphertexts", 0) { $0["alpha"] = compressed($0["alpha"]) } }),
        ("identity point", false, { o in element(&o, "ciphertexts", 1) { $0["alpha"] = identity } }),
        ("identity range-proof commitment", false, { o in element(&o, "proofs", 0) { $0["a0"] = identity } }),
        ("identity limit-proof commitment", false, { o in limitProof(&o) { $0["b"] = identity } }),
        ("range-proof commitment off the curve", false, { o in
            element(&o, "proofs", 2) { p in
                let b1 = (p["b1"] as? String) ?? ""
                p["b1"] = String(b1.dropLast()) + (b1.hasSuffix("0") ? "1" : "0")
            }
        }),
        ("uppercase point", false, { o in element(&o, "ciphertexts", 1) { $0["beta"] = ($0["beta"] as? String)?.uppercased() } }),
        ("64-byte point (no prefix)", false, { o in element(&o, "ciphertexts", 1) { $0["beta"] = String((($0["beta"] as? String) ?? "").dropFirst(2)) } }),
        ("missing beta", false, { o in element(&o, "ciphertexts", 0) { $0["beta"] = nil } }),
        ("missing range-proof commitment", false, { o in element(&o, "proofs", 1) { $0["a1"] = nil } }),
        ("range proof scalar = n", false, { o in element(&o, "proofs", 0) { $0["c0"] = P256Constants.orderHex } }),
        ("range proof scalar = n + 1", false, { o in element(&o, "proofs", 2) { $0["z1"] = P256Constants.orderPlusOneHex } }),
        ("limit proof scalar = 2^256 - 1", false, { o in limitProof(&o) { $0["z"] = String(repeating: "ff", count: 32) } }),
        ("limit proof scalar = n", false, { o in limitProof(&o) { $0["z"] = P256Constants.orderHex } }),
        ("uppercase scalar", false, { o in limitProof(&o) { $0["z"] = ($0["z"] as? String)?.uppercased() } }),
        ("31-byte scalar", false, { o in element(&o, "proofs", 0) { $0["z0"] = String(repeating: "ab", count: 31) } }),
        ("missing limit proof", false, { o in content(&o) { $0["limit_proof"] = nil } }),
        ("ciphertexts not a list", false, { o in content(&o) { $0["ciphertexts"] = "none" } }),
    ]

    @Test func signedBallotWireRejectsNestedProblems() throws {
        let sb = try BallotTests.ballot(["x", "z"], district: "d2").cast(with: try key(5))
        let valid = try json(sb.wire)
        let validBody = try data(valid)
        #expect(try JSONDecoder().decode(SignedBallotWire.self, from: validBody) == sb.wire)
        for (what, unknownField, mutate) in Self.mutations {
            var object = valid
            mutate(&object)
            let body = try data(object)
            #expect(body != validBody, "\(what): the mutation must change something")
            let error = #expect(throws: DecodingError.self, "\(what) must be rejected") {
                try JSONDecoder().decode(SignedBallotWire.self, from: body)
            }
            if unknownField, case .dataCorrupted(let context)? = error {
                #expect(context.debugDescription.contains("unknown field"), "\(what): \(context.debugDescription)")
                #expect(context.codingPath.first?.stringValue == "content", "\(what): \(context.codingPath.map(\.stringValue))")
            } else if unknownField {
                Issue.record("\(what): expected an unknown-field error, got \(String(describing: error))")
            }
        }
    }

    @Test func openingAndSpoilRequestAreStrict() throws {
        let (ballot, opening) = try BallotTests.sealed(["x", "y"], district: "d2")
        let voter = try key(5)
        let body = try SpoilRequestBody.make(ballot: ballot, opening: opening, voterKey: voter)
        #expect(body.hasValidSignature)
        let valid = try json(body)
        #expect(Set(valid.keys) == ["ballot", "opening", "voter_key", "signature"])
        let decoded = try JSONDecoder().decode(SpoilRequestBody.self, from: try data(valid))
        #expect(decoded.ballot == body.ballot)
        #expect(decoded.opening == opening)
        #expect(decoded.voterKey == voter.publicKey)
        #expect(decoded.hasValidSignature)

        let mutations: [(String, (inout [String: Any]) -> Void)] = [
            ("unknown top-level field", { $0["note"] = "x" }),
            ("unknown field inside the opening", { o in
                var op = o["opening"] as? [String: Any] ?? [:]
                op["selection_limit"] = 2
                o["opening"] = op
            }),
            ("a nonce = n", { o in
                var op = o["opening"] as? [String: Any] ?? [:]
                op["nonces"] = [P256Constants.orderHex, P256Constants.orderMinusOneHex, P256Constants.orderMinusOneHex]
                o["opening"] = op
            }),
            ("unknown field inside the ballot's ciphertext", { o in
                var b = o["ballot"] as? [String: Any] ?? [:]
                Self.element(&b, "ciphertexts", 0) { $0["extra"] = true }
                o["ballot"] = b
            }),
            ("a voter key inside the ballot (the ballot names no voter)", { o in
                var b = o["ballot"] as? [String: Any] ?? [:]
                b["voter_key"] = o["voter_key"]
                o["ballot"] = b
            }),
            ("missing opening", { $0["opening"] = nil }),
            ("missing voter key", { $0["voter_key"] = nil }),
            ("missing signature", { $0["signature"] = nil }),
            ("63-byte signature", { $0["signature"] = String(repeating: "ab", count: 63) }),
        ]
        for (what, mutate) in mutations {
            var object = valid
            mutate(&object)
            let mutated = try data(object)
            #expect(throws: DecodingError.self, "\(what) must be rejected") {
                try JSONDecoder().decode(SpoilRequestBody.self, from: mutated)
            }
        }
        // n - 1 is the largest scalar and is accepted.
        var largest = valid
        var op = largest["opening"] as? [String: Any] ?? [:]
        op["nonces"] = [String](repeating: P256Constants.orderMinusOneHex, count: 3)
        largest["opening"] = op
        #expect(try JSONDecoder().decode(SpoilRequestBody.self, from: try data(largest)).opening.nonces == [Scalar](repeating: P256Constants.orderMinusOne, count: 3))
    }
}

// MARK: - Trustee policy in the manifest

@Suite("Manifest trustees")
struct ManifestTrusteeTests {
    static func manifest(count: Int, quorum: Int) -> ElectionManifest {
        let m = Fixture.manifest
        return ElectionManifest(electionId: m.electionId, name: m.name, districts: m.districts,
                                trustees: TrusteePolicy(count: count, quorum: quorum))
    }

    static let countRule = "trustees.count must be 1 to 32"
    static let quorumRule = "trustees.quorum must be 1 to trustees.count"

    @Test(arguments: [(1, 1), (2, 1), (3, 2), (3, 3), (5, 3), (32, 1), (32, 32)])
    func validPolicies(count: Int, quorum: Int) throws {
        let m = Self.manifest(count: count, quorum: quorum)
        #expect(m.problems() == [])
        let back = try ElectionManifest.decode(canonical: m.canonicalBytes)
        #expect(back.trustees == TrusteePolicy(count: count, quorum: quorum))
        #expect(try ElectionManifest.load(jsonData: try JSONEncoder().encode(m)) == m)
    }

    @Test func invalidPolicies() throws {
        let cases: [(String, Int, Int, [String])] = [
            ("quorum 0", 3, 0, [Self.quorumRule]),
            ("quorum > count", 3, 4, [Self.quorumRule]),
            ("quorum > count (1 trustee)", 1, 2, [Self.quorumRule]),
            ("count 33", 33, 2, [Self.countRule]),
            ("count 33, quorum 33", 33, 33, [Self.countRule]),
            ("count 0", 0, 0, [Self.countRule, Self.quorumRule]),
            ("negative count", -1, 1, [Self.countRule, Self.quorumRule]),
            ("negative quorum", 3, -1, [Self.quorumRule]),
        ]
        for (what, count, quorum, expected) in cases {
            let m = Self.manifest(count: count, quorum: quorum)
            #expect(m.problems() == expected, "\(what)")
            let body = try JSONEncoder().encode(m)
            #expect(throws: ManifestError.self, "\(what)") { try ElectionManifest.load(jsonData: body) }
        }
    }

    @Test func trusteesAreRequiredInJSON() throws {
        var object = try json(Fixture.manifest)
        #expect(object["trustees"] != nil)
        object["trustees"] = nil
        let missing = try data(object)
        #expect(throws: DecodingError.self) { try ElectionManifest.load(jsonData: missing) }
        object["trustees"] = ["count": 3]
        let noQuorum = try data(object)
        #expect(throws: DecodingError.self) { try ElectionManifest.load(jsonData: noQuorum) }
    }

    @Test func trusteesChangeTheElectionHash() throws {
        let policies = [(3, 2), (3, 3), (4, 2), (2, 3), (5, 3), (32, 32), (1, 1)]
        let setup = try Fixture.setup()
        func electionHash(_ m: ElectionManifest) -> Digest {
            ElectionSetup(manifest: m, serverKey: setup.serverKey, commissionKey: setup.commissionKey, nonce: setup.nonce).electionHash
        }
        let hashes = policies.map { electionHash(Self.manifest(count: $0.0, quorum: $0.1)) }
        #expect(Set(hashes).count == policies.count)
        #expect(electionHash(Self.manifest(count: 3, quorum: 2)) == setup.electionHash)
        // The policy is the last eight bytes of the canonical manifest.
        let bytes = Self.manifest(count: 5, quorum: 3).canonicalBytes
        #expect(Array(bytes.suffix(8)) == be32(5) + be32(3))
        #expect(Array(bytes.dropLast(8)) == Array(Fixture.manifest.canonicalBytes.dropLast(8)))
        // A ballot's proofs name the election hash, so they do not carry over to another policy.
        let s = try Sealed(["bob"], in: "d1")
        let other = BallotContent.context(electionHash: electionHash(Self.manifest(count: 4, quorum: 2)),
                                          electionKey: Fixture.electionKey, ballotID: s.ballotID, district: "d1")
        #expect(s.problem(context: other) == .badRangeProof(option: "alice"))
    }
}
