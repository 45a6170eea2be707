import Foundation
import Testing
@testable import VotingCore

/// The election key's fixed-base table (Group/ElectionKeyTable.swift): the same points as
/// OpenSSL's plain multiplication, ciphertexts and proofs made with it verify and decrypt, and
/// one key's table never serves another key.
@Suite("Election key table (fixed-base s·K)")
struct ElectionKeyTableTests {
    typealias C = P256Constants

    @Test("libcrypto gives P-256 the constant-time nistz256 method on this machine")
    func nistz256Method() {
        #expect(P256Group.shared.usesNistz256)
    }

    @Test("s·K through the table equals EC_POINT_mul(NULL, K, s) on random and edge scalars")
    func tableMatchesPlainMultiplication() throws {
        let K = try C.randomPoint()
        let table = try ElectionKeyTable(key: K, precompute: true)
        let plain = try ElectionKeyTable(key: K, precompute: false)
        #expect(table.hasTable)
        #expect(!plain.hasTable)
        var scalars: [Scalar] = [.one, Scalar(2), C.orderMinusOne, C.scalar(label: "key-table-edge")]
        for _ in 0..<24 { scalars.append(try C.random()) }
        for s in scalars {
            #expect(table.times(s) == s * K, "s = \(s.hex)")
            #expect(plain.times(s) == s * K, "s = \(s.hex)")
        }
        // Edge values: 1·K = K, (n − 1)·K = −K, 0·K = the identity (never a secret nonce: the
        // DRBG's nonces are nonzero, but the multiplier must not misbehave on it).
        #expect(table.times(.one) == K)
        #expect(table.times(C.orderMinusOne) == -K)
        #expect(table.times(.zero).isIdentity)
        #expect(plain.times(.zero).isIdentity)
    }

    @Test("points made in the key's group mix with the standard group's (add, negate, encode, decode)")
    func pointsInteroperate() throws {
        let K = try C.randomPoint()
        let table = try ElectionKeyTable(key: K, precompute: true)
        let r = try C.random(), s = try C.random()
        let rK = table.times(r)
        #expect(rK + .base(s) == GroupElement.linear(s, r, K))
        #expect(rK - rK == GroupElement.identity)
        #expect(try GroupElement(encoding: rK.encoding) == r * K)
    }

    @Test("a different key gets its own table; the cache never answers for the wrong key")
    func tablePerKey() throws {
        let K1 = try C.randomPoint(), K2 = try C.randomPoint()
        let t1 = try ElectionKeyTable.prepared(for: K1)
        let t2 = try ElectionKeyTable.prepared(for: K2)
        #expect(t1 !== t2)
        #expect(t1.key == K1 && t2.key == K2)
        #expect(try ElectionKeyTable.prepared(for: K1).key == K1)
        let s = try C.random()
        #expect(t2.times(s) == s * K2)
        #expect(t2.times(s) != s * K1)
        #expect(ElectionKeyTable.forEncrypting(to: K2).times(s) == s * K2)
        // A key seen once gets the plain multiplier, with the same results.
        let K3 = try C.randomPoint()
        let first = ElectionKeyTable.forEncrypting(to: K3)
        #expect(first.key == K3 && first.times(s) == s * K3)
    }

    /// An observer who can time the voter's device (a browser tab beside it, a shared
    /// machine) must not learn a vote from how long its encryption and proof took. Before the
    /// table, proving a 1 took other OpenSSL calls than proving a 0, and β = m·G + r·K did
    /// more work for m = 1. Timed in interleaved pairs (a 0 and a 1, random order in each
    /// pair, fresh nonces), the median of the within-pair differences must stay within 3 % of
    /// a proof's time: the old code's extra multiplication was a far larger share.
    @Test("encrypting and proving a 1 takes the time of a 0 (paired timings, median difference)")
    func voteDoesNotShowInTiming() throws {
        let K = GroupElement.base(try C.random())
        let ctx = ProofContext(electionHash: C.digest(label: "timing-election"), electionKey: K,
                               bound: Array(repeating: 0x22, count: 32) + Array("d".utf8))
        let table = try ElectionKeyTable(key: K, precompute: true)
        func timed(_ m: UInt64) throws -> Double {
            let r = try C.random()
            let started = ContinuousClock.now
            let ct = Ciphertext.encrypt(m, nonce: r, keyTable: table)
            _ = try ZeroOrOneProof.prove(ciphertext: ct, vote: m, nonce: r, context: ctx, keyTable: table)
            let elapsed = ContinuousClock.now - started
            return Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6
        }
        for _ in 0..<20 { _ = try timed(0); _ = try timed(1) }  // warm up
        var differences: [Double] = []
        var times: [Double] = []
        for _ in 0..<400 {
            let oneFirst = Bool.random()
            let (a, b) = oneFirst ? (try timed(1), try timed(0)) : (try timed(0), try timed(1))
            let (one, zero) = oneFirst ? (a, b) : (b, a)
            differences.append(one - zero)
            times.append(zero)
        }
        let median = differences.sorted()[differences.count / 2]
        let typical = times.sorted()[times.count / 2]
        #expect(abs(median) < 0.03 * typical, "median difference \(median) µs against \(typical) µs per encryption and proof")
    }

    @Test("ciphertexts and proofs made with the table verify, decrypt and open, for both votes")
    func encryptionWithTable() throws {
        let x = try C.random()
        let K = GroupElement.base(x)
        let ctx = ProofContext(electionHash: C.digest(label: "key-table-election"), electionKey: K,
                               bound: Array(repeating: 0x11, count: 32) + Array("d".utf8))
        let table = try ElectionKeyTable(key: K, precompute: true)
        var cts: [Ciphertext] = []
        var nonces: [Scalar] = []
        for m: UInt64 in [0, 1, 0, 1, 1] {
            let r = try C.random()
            let ct = Ciphertext.encrypt(m, nonce: r, keyTable: table)
            #expect(ct == Ciphertext(alpha: .base(r), beta: .base(Scalar(m)) + r * K))
            #expect(ct.beta - x * ct.alpha == .base(Scalar(m)))
            #expect(ct.opens(to: m, nonce: r, key: K))
            let proof = try ZeroOrOneProof.prove(ciphertext: ct, vote: m, nonce: r, context: ctx, keyTable: table)
            #expect(proof.verify(ciphertext: ct, context: ctx))
            // The same randomness gives the same proof with and without the table.
            let fixed = (u: try C.random(), cFake: try C.random(), zFake: try C.random())
            let withTable = try ZeroOrOneProof.prove(ciphertext: ct, vote: m, nonce: r, context: ctx, keyTable: table, randomness: fixed)
            let plain = try ZeroOrOneProof.prove(ciphertext: ct, vote: m, nonce: r, context: ctx,
                                                 keyTable: try ElectionKeyTable(key: K, precompute: false), randomness: fixed)
            #expect(withTable == plain)
            // A proof for the other vote does not verify against this ciphertext.
            let lie = try ZeroOrOneProof.prove(ciphertext: ct, vote: 1 - m, nonce: r, context: ctx, keyTable: table)
            #expect(!lie.verify(ciphertext: ct, context: ctx))
            cts.append(ct)
            nonces.append(r)
        }
        let sum = nonces.dropFirst().reduce(nonces[0], +)
        let limit = try KnownValueProof.prove(ciphertexts: cts, value: 3, nonce: sum, context: ctx, keyTable: table)
        #expect(limit.verify(ciphertexts: cts, value: 3, context: ctx))
        #expect(!limit.verify(ciphertexts: cts, value: 2, context: ctx))
    }

    @Test("the constant-time select picks by the bit, byte for byte")
    func select() {
        let a: [UInt8] = [0x00, 0xff, 0x5a, 0x01], b: [UInt8] = [0xff, 0x00, 0xa5, 0x80]
        #expect(constantTimeSelect(0, a, b) == a)
        #expect(constantTimeSelect(1, a, b) == b)
        #expect(Scalar.select(0, .one, Scalar(2)) == .one)
        #expect(Scalar.select(1, .one, Scalar(2)) == Scalar(2))
    }
}
