import Foundation
import Testing
@testable import VotingCore

@Suite("ElGamal and ballot proofs (P-256)")
struct ElGamalTests {
    typealias C = P256Constants

    /// A key pair and a proof context for one test.
    struct Setup {
        let x: Scalar
        let K: GroupElement
        let ctx: ProofContext

        init() throws {
            x = try C.random()
            K = .base(x)
            ctx = ProofContext(electionHash: C.digest(label: "elgamal-election"), electionKey: K,
                               bound: Array(repeating: 0x5a, count: 32) + Array("district-1".utf8))
        }

        /// beta - x*alpha = m*G
        func decryptToPoint(_ ct: Ciphertext) -> GroupElement { ct.beta - x * ct.alpha }
    }

    // MARK: Encryption

    @Test("encrypt: alpha = rG, beta = mG + rK; opens only with the right m, r and key")
    func encryptAndOpen() throws {
        let s = try Setup()
        for m: UInt64 in [0, 1, 2, 37] {
            let r = try C.random()
            let ct = Ciphertext.encrypt(m, nonce: r, key: s.K)
            #expect(ct.alpha == .base(r))
            #expect(ct.beta == .base(Scalar(m)) + r * s.K)
            #expect(s.decryptToPoint(ct) == .base(Scalar(m)))
            #expect(ct.opens(to: m, nonce: r, key: s.K))
            #expect(!ct.opens(to: m + 1, nonce: r, key: s.K))
            #expect(!ct.opens(to: m, nonce: r + .one, key: s.K))
            #expect(!ct.opens(to: m, nonce: r, key: s.K + .generator))
        }
        // Encryption of 0 has beta = rK exactly (no identity term to trip over).
        let r = try C.random()
        #expect(Ciphertext.encrypt(0, nonce: r, key: s.K).beta == r * s.K)
    }

    @Test("homomorphic sum of 0/1 encryptions decrypts to the count")
    func homomorphicTally() throws {
        let s = try Setup()
        let votes: [UInt64] = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0]
        var sum: Ciphertext?
        var nonceSum = Scalar.zero
        for v in votes {
            let r = try C.random()
            nonceSum = nonceSum + r
            let ct = Ciphertext.encrypt(v, nonce: r, key: s.K)
            sum = sum.map { $0 + ct } ?? ct
        }
        let total = try #require(sum)
        let count = votes.reduce(0, +)
        #expect(s.decryptToPoint(total) == .base(Scalar(count)))
        #expect(DiscreteLog.solve(s.decryptToPoint(total), bound: UInt64(votes.count)) == count)
        // The sum is an encryption of the count under the summed nonce.
        #expect(total.opens(to: count, nonce: nonceSum, key: s.K))
    }

    @Test("Ciphertext canonical and JSON round trips")
    func ciphertextEncodings() throws {
        let s = try Setup()
        let ct = Ciphertext.encrypt(1, nonce: try C.random(), key: s.K)
        var w = CanonicalWriter(tag: .ballot)
        ct.write(to: &w)
        #expect(w.bytes.count == CanonicalWriter(tag: .ballot).bytes.count + 130)
        var r = try CanonicalReader(w.bytes, tag: .ballot)
        #expect(try Ciphertext.read(from: &r) == ct)
        try r.finish()
        let json = try JSONEncoder().encode(ct)
        #expect(try JSONDecoder().decode(Ciphertext.self, from: json) == ct)
        // A ciphertext with the identity as beta cannot be read back (identity is never accepted).
        var bad = CanonicalWriter(tag: .ballot)
        bad.point(ct.alpha)
        bad.point(.identity)
        var br = try CanonicalReader(bad.bytes, tag: .ballot)
        #expect(throws: (any Error).self) { try Ciphertext.read(from: &br) }
    }

    // MARK: ZeroOrOneProof

    @Test("ZeroOrOneProof proves and verifies for m = 0 and m = 1", arguments: [UInt64(0), 1])
    func zeroOrOneValid(_ m: UInt64) throws {
        let s = try Setup()
        let r = try C.random()
        let ct = Ciphertext.encrypt(m, nonce: r, key: s.K)
        let proof = try ZeroOrOneProof.prove(ciphertext: ct, vote: m, nonce: r, context: s.ctx)
        #expect(proof.verify(ciphertext: ct, context: s.ctx))
        // Fresh randomness each time: two proofs differ and both verify.
        let again = try ZeroOrOneProof.prove(ciphertext: ct, vote: m, nonce: r, context: s.ctx)
        #expect(again != proof)
        #expect(again.verify(ciphertext: ct, context: s.ctx))

        // Canonical and JSON round trips keep it valid.
        var w = CanonicalWriter(tag: .rangeProof)
        proof.write(to: &w)
        #expect(w.bytes.count == CanonicalWriter(tag: .rangeProof).bytes.count + 356)
        var rd = try CanonicalReader(w.bytes, tag: .rangeProof)
        let back = try ZeroOrOneProof.read(from: &rd)
        try rd.finish()
        #expect(back == proof)
        let json = try JSONEncoder().encode(proof)
        #expect(try JSONDecoder().decode(ZeroOrOneProof.self, from: json).verify(ciphertext: ct, context: s.ctx))
    }

    @Test("ZeroOrOneProof does not verify for an encryption of 2 (or a lie about 0/1)")
    func zeroOrOneRejectsOtherValues() throws {
        let s = try Setup()
        let r = try C.random()
        let two = Ciphertext.encrypt(2, nonce: r, key: s.K)
        for claimed: UInt64 in [0, 1] {
            let forced = try ZeroOrOneProof.prove(ciphertext: two, vote: claimed, nonce: r, context: s.ctx)
            #expect(!forced.verify(ciphertext: two, context: s.ctx), "Enc(2) proved as \(claimed)")
        }
        // Proving the wrong branch of an honest 0/1 ciphertext.
        for m: UInt64 in [0, 1] {
            let ct = Ciphertext.encrypt(m, nonce: r, key: s.K)
            let lie = try ZeroOrOneProof.prove(ciphertext: ct, vote: 1 - m, nonce: r, context: s.ctx)
            #expect(!lie.verify(ciphertext: ct, context: s.ctx), "Enc(\(m)) proved as \(1 - m)")
        }
        // Enc(-1): beta = (n-1)G + rK, also rejected.
        let minusOne = Ciphertext(alpha: .base(r), beta: GroupElement.linear(C.orderMinusOne, r, s.K))
        let p = try ZeroOrOneProof.prove(ciphertext: minusOne, vote: 0, nonce: r, context: s.ctx)
        #expect(!p.verify(ciphertext: minusOne, context: s.ctx))
    }

    @Test("ZeroOrOneProof is bound to its context, ciphertext and values", arguments: [UInt64(0), 1])
    func zeroOrOneRejectsTampering(_ m: UInt64) throws {
        let s = try Setup()
        let r = try C.random()
        let ct = Ciphertext.encrypt(m, nonce: r, key: s.K)
        let proof = try ZeroOrOneProof.prove(ciphertext: ct, vote: m, nonce: r, context: s.ctx)
        #expect(proof.verify(ciphertext: ct, context: s.ctx))

        // Wrong context: another election hash, another key, other bound bytes.
        let otherElection = ProofContext(electionHash: C.digest(label: "other-election"), electionKey: s.K, bound: s.ctx.bound)
        let otherKey = ProofContext(electionHash: s.ctx.electionHash, electionKey: try C.randomPoint(), bound: s.ctx.bound)
        let otherBound = ProofContext(electionHash: s.ctx.electionHash, electionKey: s.K, bound: s.ctx.bound + [0])
        let emptyBound = ProofContext(electionHash: s.ctx.electionHash, electionKey: s.K, bound: [])
        for (name, ctx) in [("election hash", otherElection), ("key", otherKey), ("bound", otherBound), ("empty bound", emptyBound)] {
            #expect(!proof.verify(ciphertext: ct, context: ctx), "verified under another \(name)")
        }

        // Tampered responses, challenge share and commitments: every field is bound.
        let G = GroupElement.generator
        let tampered: [(String, ZeroOrOneProof)] = [
            ("c0+1", ZeroOrOneProof(a0: proof.a0, b0: proof.b0, a1: proof.a1, b1: proof.b1, c0: proof.c0 + .one, z0: proof.z0, z1: proof.z1)),
            ("z0+1", ZeroOrOneProof(a0: proof.a0, b0: proof.b0, a1: proof.a1, b1: proof.b1, c0: proof.c0, z0: proof.z0 + .one, z1: proof.z1)),
            ("z1+1", ZeroOrOneProof(a0: proof.a0, b0: proof.b0, a1: proof.a1, b1: proof.b1, c0: proof.c0, z0: proof.z0, z1: proof.z1 + .one)),
            ("a0+G", ZeroOrOneProof(a0: proof.a0 + G, b0: proof.b0, a1: proof.a1, b1: proof.b1, c0: proof.c0, z0: proof.z0, z1: proof.z1)),
            ("b0+G", ZeroOrOneProof(a0: proof.a0, b0: proof.b0 + G, a1: proof.a1, b1: proof.b1, c0: proof.c0, z0: proof.z0, z1: proof.z1)),
            ("a1+G", ZeroOrOneProof(a0: proof.a0, b0: proof.b0, a1: proof.a1 + G, b1: proof.b1, c0: proof.c0, z0: proof.z0, z1: proof.z1)),
            ("b1+G", ZeroOrOneProof(a0: proof.a0, b0: proof.b0, a1: proof.a1, b1: proof.b1 + G, c0: proof.c0, z0: proof.z0, z1: proof.z1)),
            ("c0 -> c1", ZeroOrOneProof(a0: proof.a0, b0: proof.b0, a1: proof.a1, b1: proof.b1,
                                        c0: proof.challenge(ciphertext: ct, context: s.ctx) - proof.c0, z0: proof.z0, z1: proof.z1)),
            ("swap branches", ZeroOrOneProof(a0: proof.a1, b0: proof.b1, a1: proof.a0, b1: proof.b0,
                                             c0: proof.challenge(ciphertext: ct, context: s.ctx) - proof.c0, z0: proof.z1, z1: proof.z0)),
            ("swap z", ZeroOrOneProof(a0: proof.a0, b0: proof.b0, a1: proof.a1, b1: proof.b1, c0: proof.c0, z0: proof.z1, z1: proof.z0)),
            ("zero scalars", ZeroOrOneProof(a0: proof.a0, b0: proof.b0, a1: proof.a1, b1: proof.b1, c0: .zero, z0: .zero, z1: .zero)),
            ("all commitments G", ZeroOrOneProof(a0: G, b0: G, a1: G, b1: G, c0: proof.c0, z0: proof.z0, z1: proof.z1)),
        ]
        for (name, t) in tampered {
            #expect(!t.verify(ciphertext: ct, context: s.ctx), "tampered proof (\(name)) verified")
        }

        // Swapped / other ciphertexts.
        let other = Ciphertext.encrypt(m, nonce: try C.random(), key: s.K)
        #expect(!proof.verify(ciphertext: other, context: s.ctx), "verified for another encryption of the same vote")
        #expect(!proof.verify(ciphertext: Ciphertext(alpha: ct.beta, beta: ct.alpha), context: s.ctx), "verified with alpha/beta swapped")
        #expect(!proof.verify(ciphertext: Ciphertext(alpha: ct.alpha, beta: ct.beta + .generator), context: s.ctx), "verified for beta + G")
        // Re-randomised ciphertext (same vote, different nonce) is a different statement.
        let rerandomised = ct + Ciphertext.encrypt(0, nonce: try C.random(), key: s.K)
        #expect(!proof.verify(ciphertext: rerandomised, context: s.ctx))
    }

    // MARK: KnownValueProof

    @Test("KnownValueProof verifies for the right value; fails for value ± 1 and other contexts")
    func knownValue() throws {
        let s = try Setup()
        let r = try C.random()
        let ct = Ciphertext.encrypt(1, nonce: r, key: s.K)
        let proof = try KnownValueProof.prove(ciphertexts: [ct], value: 1, nonce: r, context: s.ctx)
        #expect(proof.verify(ciphertexts: [ct], value: 1, context: s.ctx))
        #expect(!proof.verify(ciphertexts: [ct], value: 0, context: s.ctx))
        #expect(!proof.verify(ciphertexts: [ct], value: 2, context: s.ctx))
        let otherElection = ProofContext(electionHash: C.digest(label: "other-election"), electionKey: s.K, bound: s.ctx.bound)
        let otherKey = ProofContext(electionHash: s.ctx.electionHash, electionKey: try C.randomPoint(), bound: s.ctx.bound)
        let otherBound = ProofContext(electionHash: s.ctx.electionHash, electionKey: s.K, bound: [1, 2, 3])
        for ctx in [otherElection, otherKey, otherBound] {
            #expect(!proof.verify(ciphertexts: [ct], value: 1, context: ctx))
        }
        #expect(!KnownValueProof(a: proof.a + .generator, b: proof.b, z: proof.z).verify(ciphertexts: [ct], value: 1, context: s.ctx))
        #expect(!KnownValueProof(a: proof.a, b: proof.b + .generator, z: proof.z).verify(ciphertexts: [ct], value: 1, context: s.ctx))
        #expect(!KnownValueProof(a: proof.a, b: proof.b, z: proof.z + .one).verify(ciphertexts: [ct], value: 1, context: s.ctx))
        #expect(!KnownValueProof(a: proof.b, b: proof.a, z: proof.z).verify(ciphertexts: [ct], value: 1, context: s.ctx))
        #expect(!proof.verify(ciphertexts: [Ciphertext.encrypt(1, nonce: try C.random(), key: s.K)], value: 1, context: s.ctx))

        // A false statement cannot be proven: Enc(1) claimed as 2 with the real nonce.
        let lie = try KnownValueProof.prove(ciphertexts: [ct], value: 2, nonce: r, context: s.ctx)
        #expect(!lie.verify(ciphertexts: [ct], value: 2, context: s.ctx))
    }

    @Test("KnownValueProof over a ballot's ciphertexts: their sum encrypts the selection limit, including 0")
    func knownValueOnSum() throws {
        let s = try Setup()
        let votes: [UInt64] = [1, 0, 1, 0]
        let nonces = try votes.map { _ in try C.random() }
        let cts = zip(votes, nonces).map { Ciphertext.encrypt($0, nonce: $1, key: s.K) }
        let r = nonces.reduce(Scalar.zero, +)
        let proof = try KnownValueProof.prove(ciphertexts: cts, value: 2, nonce: r, context: s.ctx)
        #expect(proof.verify(ciphertexts: cts, value: 2, context: s.ctx))
        #expect(!proof.verify(ciphertexts: cts, value: 1, context: s.ctx))
        #expect(!proof.verify(ciphertexts: cts, value: 3, context: s.ctx))
        // The challenge hashes the list itself (eq. 27), not the sum: the same sum given as one
        // ciphertext, or the list in another order, is another statement.
        #expect(!proof.verify(ciphertexts: [Ciphertext.sum(cts)], value: 2, context: s.ctx))
        #expect(!proof.verify(ciphertexts: cts.reversed(), value: 2, context: s.ctx))
        #expect(!proof.verify(ciphertexts: Array(cts.dropLast()), value: 2, context: s.ctx))

        let r0 = try C.random()
        let zero = Ciphertext.encrypt(0, nonce: r0, key: s.K)
        let p0 = try KnownValueProof.prove(ciphertexts: [zero], value: 0, nonce: r0, context: s.ctx)
        #expect(p0.verify(ciphertexts: [zero], value: 0, context: s.ctx))
        #expect(!p0.verify(ciphertexts: [zero], value: 1, context: s.ctx))

        let json = try JSONEncoder().encode(proof)
        #expect(try JSONDecoder().decode(KnownValueProof.self, from: json) == proof)
        var w = CanonicalWriter(tag: .sumProof)
        proof.write(to: &w)
        #expect(w.bytes.count == CanonicalWriter(tag: .sumProof).bytes.count + 162)
        var rd = try CanonicalReader(w.bytes, tag: .sumProof)
        #expect(try KnownValueProof.read(from: &rd) == proof)
        try rd.finish()
    }
}
