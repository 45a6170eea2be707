import Foundation
import Testing
@testable import VotingCore

/// Deterministic inputs for the pure-Swift P-256 tests (the benchmark's SplitMix64).
private struct TestInputs {
    var gen: GroupBenchmark.InputGenerator

    init(seed: UInt64) { gen = GroupBenchmark.InputGenerator(state: seed) }

    mutating func bytes(_ n: Int) -> [UInt8] { gen.bytes(n) }

    /// Uniform below p (rejection sampling).
    mutating func fieldBytes() -> [UInt8] {
        while true {
            let b = bytes(32)
            if FieldElement(bytes: b) != nil { return b }
        }
    }

    mutating func scalar() -> ScalarN { gen.scalar() }
    mutating func short() -> ScalarN { gen.short() }

    /// A random point as both representations, k·G computed by OpenSSL.
    mutating func point() throws -> (AffinePoint, GroupElement) {
        let element = GroupElement.base(scalar().scalar)
        return (try #require(AffinePoint(element)), element)
    }
}

/// Field values that stress carries and the reduction: 0, 1, p − 1, p − 2, 2^255, 2^224, …
private let fieldEdgeHex = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000001",
    "0000000000000000000000000000000000000000000000000000000000000002",
    "ffffffff00000001000000000000000000000000fffffffffffffffffffffffe",
    "ffffffff00000001000000000000000000000000fffffffffffffffffffffffd",
    "8000000000000000000000000000000000000000000000000000000000000000",
    "0000000100000000000000000000000000000000000000000000000000000000",
    "00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffff00000000ffffffffffffffffffffffffffffffffffffffffffffffff",
    "0000000000000000000000000000000000000000ffffffffffffffffffffffff",
    "ffffffff00000001000000000000000000000000000000000000000000000000",
]

/// Scalars that stress signed-digit carries: 1, 2, n − 1, n − 2, 2^128 − 1, 2^128, 2^255, runs
/// of ones, alternating bits.
private let scalarEdgeHex = [
    "0000000000000000000000000000000000000000000000000000000000000001",
    "0000000000000000000000000000000000000000000000000000000000000002",
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550",
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc63254f",
    "00000000000000000000000000000000ffffffffffffffffffffffffffffffff",
    "0000000000000000000000000000000100000000000000000000000000000000",
    "8000000000000000000000000000000000000000000000000000000000000000",
    "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "5555555555555555555555555555555555555555555555555555555555555555",
    "0000000000000000000000000000000000000000000000000000000000000fff",
    "0000000000000000000000000000000000000000000000000000000000008000",
]

private func fieldElement(_ bytes: [UInt8]) throws -> FieldElement { try #require(FieldElement(bytes: bytes)) }
private func scalarN(_ hexText: String) throws -> ScalarN { try #require(ScalarN(bytes: hex(hexText))) }

/// The OpenSSL sum of `terms`, the reference every MSM is compared with.
private func reference(_ terms: [(ScalarN, GroupElement)]) -> GroupElement {
    GroupElement.combination(generator: nil, terms.map { ($0.0.scalar, $0.1) })
}

@Suite("FastP256")
struct FastP256Tests {
    // MARK: field

    /// The raw limbs (Montgomery representation) as 32 big-endian bytes.
    private func rawBytes(_ f: FieldElement) -> [UInt8] {
        var out: [UInt8] = []
        for w in [f.l3, f.l2, f.l1, f.l0] { Limb.append(w, to: &out) }
        return out
    }

    @Test func fieldConstantsMatchTheirDefinitions() throws {
        #expect(FieldElement.one.bytes == hex(String(repeating: "0", count: 63) + "1"))
        #expect(FieldElement(1) == FieldElement.one)
        #expect(FieldElement.zero.bytes == [UInt8](repeating: 0, count: 32))
        #expect(AffinePoint.three == FieldElement(3))
        // b from SEC 2 §2.4.2.
        #expect(FieldElement.curveB.bytes == hex("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b"))
        // Montgomery one = 2^256 mod p and R² = 2^512 mod p, computed by BIGNUM.
        let p = BigNumReference.fieldPrime
        #expect(rawBytes(FieldElement.one) == BigNumReference.compute(.exponentiate, [2], [0x01, 0x00], modulus: p))
        #expect(rawBytes(FieldElement.rSquared) == BigNumReference.compute(.exponentiate, [2], [0x02, 0x00], modulus: p))
        #expect(FieldElement.one.plainLimbs == (1, 0, 0, 0))
    }

    @Test func fieldDecodingRejectsValuesFromP() throws {
        #expect(FieldElement(bytes: hex(P256Constants.fieldHex)) == nil)
        #expect(FieldElement(bytes: [UInt8](repeating: 0xff, count: 32)) == nil)
        #expect(FieldElement(bytes: [UInt8](repeating: 0, count: 31)) == nil)
        #expect(FieldElement(bytes: [UInt8](repeating: 0, count: 33)) == nil)
        let pMinusOne = hex("ffffffff00000001000000000000000000000000fffffffffffffffffffffffe")
        #expect(try fieldElement(pMinusOne).bytes == pMinusOne)
        #expect(try fieldElement(pMinusOne) + FieldElement.one == FieldElement.zero)
    }

    @Test func fieldArithmeticMatchesBigNum() throws {
        var inputs = TestInputs(seed: 1)
        var values = fieldEdgeHex.map { hex($0) }
        for _ in 0..<120 { values.append(inputs.fieldBytes()) }
        let p = BigNumReference.fieldPrime
        for (i, a) in values.enumerated() {
            let b = values[(i * 7 + 3) % values.count]
            let x = try fieldElement(a), y = try fieldElement(b)
            #expect(x.bytes == a)
            #expect((x + y).bytes == BigNumReference.compute(.add, a, b, modulus: p), "add \(Hex.encode(a)) \(Hex.encode(b))")
            #expect((x - y).bytes == BigNumReference.compute(.subtract, a, b, modulus: p), "sub \(Hex.encode(a)) \(Hex.encode(b))")
            #expect((-x).bytes == BigNumReference.compute(.subtract, [0], a, modulus: p), "neg \(Hex.encode(a))")
            #expect((x * y).bytes == BigNumReference.compute(.multiply, a, b, modulus: p), "mul \(Hex.encode(a)) \(Hex.encode(b))")
            #expect(x.squared().bytes == BigNumReference.compute(.multiply, a, a, modulus: p), "square \(Hex.encode(a))")
            if x.isZero {
                #expect(x.inverse.isZero)
            } else {
                #expect(x.inverse.bytes == BigNumReference.inverse(a, modulus: p), "inverse \(Hex.encode(a))")
                #expect(x.inverse * x == FieldElement.one)
            }
        }
    }

    @Test func squareRootsAndNonResidues() throws {
        var inputs = TestInputs(seed: 2)
        let p = BigNumReference.fieldPrime
        // (p − 1)/2, for Euler's criterion through BIGNUM.
        let halfOrder = hex("7fffffff800000008000000000000000000000007fffffffffffffffffffffff")
        let minusOne = hex("ffffffff00000001000000000000000000000000fffffffffffffffffffffffe")
        var residues = 0, nonResidues = 0
        for _ in 0..<100 {
            let a = inputs.fieldBytes()
            let x = try fieldElement(a)
            let euler = try #require(BigNumReference.compute(.exponentiate, a, halfOrder, modulus: p))
            if let r = x.squareRoot {
                residues += 1
                #expect(r.squared() == x)
                #expect(euler != minusOne)
            } else {
                nonResidues += 1
                #expect(euler == minusOne, "BIGNUM says \(Hex.encode(a)) is a square")
            }
            // Every square has a root, equal to ±x.
            let root = try #require(x.squared().squareRoot)
            #expect(root == x || root == -x)
        }
        #expect(residues > 20 && nonResidues > 20)
        #expect(FieldElement.zero.squareRoot == FieldElement.zero)
        #expect(-FieldElement.one == (try fieldElement(minusOne)))
        #expect((-FieldElement.one).squareRoot == nil)  // p ≡ 3 mod 4
    }

    @Test func batchInversionSkipsZeros() throws {
        var inputs = TestInputs(seed: 3)
        var values: [FieldElement] = []
        for i in 0..<40 { values.append(i % 9 == 4 ? .zero : try fieldElement(inputs.fieldBytes())) }
        var inverted = values
        FieldElement.batchInvert(&inverted)
        for (v, w) in zip(values, inverted) {
            #expect(v.isZero ? w.isZero : w == v.inverse)
        }
        var empty: [FieldElement] = []
        FieldElement.batchInvert(&empty)
        #expect(empty.isEmpty)
    }

    // MARK: scalars

    @Test func scalarConstantsMatchBigNum() throws {
        let n = BigNumReference.groupOrder
        let twoTo512 = try #require(BigNumReference.compute(.exponentiate, [2], [0x02, 0x00], modulus: n))
        #expect(ScalarN.rSquared.bytes == twoTo512)
        #expect(ScalarN(limbs: ScalarN.n0, ScalarN.n1, ScalarN.n2, ScalarN.n3).bytes == n)
        // n·n' ≡ −1 mod 2^64
        #expect(ScalarN.n0 &* ScalarN.nPrime == UInt64.max)
    }

    @Test func scalarDecodingAndReduction() throws {
        #expect(ScalarN(bytes: hex(P256Constants.orderHex)) == nil)
        #expect(ScalarN(bytes: hex(P256Constants.orderMinusOneHex)) != nil)
        #expect(ScalarN(bytes: [UInt8](repeating: 0, count: 31)) == nil)
        #expect(ScalarN(reducing: hex(P256Constants.orderHex)) == .zero)
        #expect(ScalarN(reducing: hex(P256Constants.orderPlusOneHex)) == .one)
        #expect(ScalarN(reducing: [UInt8](repeating: 0, count: 65)) == nil)
        #expect(ScalarN(reducing: [7]) == ScalarN(7))
        var inputs = TestInputs(seed: 4)
        for length in [32, 33, 48, 64] {
            for _ in 0..<20 {
                let b = inputs.bytes(length)
                let reduced = try #require(ScalarN(reducing: b))
                #expect(reduced.bytes == (try Scalar(reducing: b)).bytes, "\(Hex.encode(b))")
            }
        }
        let all = [UInt8](repeating: 0xff, count: 64)
        #expect(ScalarN(reducing: all)?.bytes == (try Scalar(reducing: all)).bytes)
    }

    @Test func scalarArithmeticMatchesOpenSSL() throws {
        var inputs = TestInputs(seed: 5)
        var values = try scalarEdgeHex.map { try scalarN($0) } + [.zero]
        for _ in 0..<60 { values.append(inputs.scalar()) }
        for (i, a) in values.enumerated() {
            let b = values[(i * 5 + 1) % values.count]
            let sa = a.scalar, sb = b.scalar
            #expect(ScalarN(sa) == a)
            #expect((a + b).scalar == sa + sb)
            #expect((a - b).scalar == sa - sb)
            #expect((-a).scalar == -sa)
            #expect((a * b).scalar == sa * sb, "\(sa.hex) * \(sb.hex)")
        }
    }

    @Test func scalarBitsAndLength() throws {
        let k = try scalarN("8000000000000000000000000000000100000000000000000000000000000005")
        #expect(k.bitLength == 256)
        #expect(k.bit(0) && !k.bit(1) && k.bit(2) && k.bit(128) && k.bit(255) && !k.bit(256) && !k.bit(-1))
        #expect(k.bits(from: 0, count: 3) == 5)
        #expect(k.bits(from: 126, count: 4) == 0b0100)
        #expect(k.bits(from: 252, count: 8) == 0b1000)
        #expect(k.bits(from: 60, count: 10) == 0)
        let m = try scalarN("00000000000000000000000000000000ffffffffffffffffffffffffffffffff")
        #expect(m.bitLength == 128)
        #expect(m.bits(from: 60, count: 10) == 0x3ff)
        #expect(m.bits(from: 124, count: 8) == 0xf)
        #expect(ScalarN.zero.bitLength == 0 && ScalarN.one.bitLength == 1)
        var inputs = TestInputs(seed: 6)
        for _ in 0..<50 { #expect(inputs.short().bitLength <= 128) }
        let weight = try ScalarN.random128(using: SecureRandom.bytes)
        #expect(weight.bitLength <= 128)
    }

    // MARK: points

    @Test func generatorMatchesOpenSSL() throws {
        #expect(AffinePoint.generator.isOnCurve)
        #expect(Hex.encode(AffinePoint.generator.uncompressedEncoding) == P256Constants.generatorHex)
        #expect(AffinePoint(GroupElement.generator) == AffinePoint.generator)
        #expect(try AffinePoint.generator.groupElement() == GroupElement.generator)
        #expect(AffinePoint(GroupElement.identity) == AffinePoint.identity)
        #expect(try AffinePoint.identity.groupElement().isIdentity)
        #expect(try JacobianPoint.identity.groupElement().isIdentity)
    }

    @Test func fixedBaseAndSingleMultiplicationMatchOpenSSL() throws {
        var inputs = TestInputs(seed: 7)
        let (kPoint, kElement) = try inputs.point()
        let kTables = [FixedBaseTable(kPoint), FixedBaseTable(kPoint, windowBits: 4), FixedBaseTable(kPoint, windowBits: 7)]
        var scalars = try scalarEdgeHex.map { try scalarN($0) } + [.zero]
        for _ in 0..<12 { scalars.append(inputs.scalar()) }
        for k in scalars {
            let s = k.scalar
            #expect(try FixedBaseTable.generator.mul(k).groupElement() == GroupElement.base(s), "k·G, k = \(s.hex)")
            let expected = s * kElement
            for table in kTables {
                #expect(try table.mul(k).groupElement() == expected, "k·K, c = \(table.windowBits), k = \(s.hex)")
            }
            if !k.isZero {
                #expect(try MultiScalar.straus(scalars: [k], points: [kPoint]).groupElement() == expected)
                #expect(try MultiScalar.pippenger(scalars: [k], points: [kPoint]).groupElement() == expected)
            }
        }
        #expect(FixedBaseTable(.identity).mul(inputs.scalar()).isIdentity)
    }

    @Test func additionMatchesOpenSSLIncludingEdgeCases() throws {
        var inputs = TestInputs(seed: 8)
        for _ in 0..<20 {
            let (p, pe) = try inputs.point()
            let (q, qe) = try inputs.point()
            let sum = pe + qe
            // Mixed, full (with Z ≠ 1 on both sides), and through a scaled representative.
            #expect(try JacobianPoint(p).adding(q).groupElement() == sum)
            let pj = JacobianPoint(p).doubled().adding(p.negated)   // P with Z ≠ 1
            let qj = JacobianPoint(q).doubled().adding(q.negated)
            #expect(pj == JacobianPoint(p))
            #expect(try pj.adding(qj).groupElement() == sum)
            #expect(try pj.adding(q).groupElement() == sum)
            #expect(try (pj - qj).groupElement() == pe - qe)
            // Doubling through addition, in both forms, against OpenSSL's 2·P.
            let twice = Scalar(2) * pe
            #expect(try pj.adding(p).groupElement() == twice)
            #expect(try pj.adding(pj).groupElement() == twice)
            #expect(try pj.doubled().groupElement() == twice)
            // P + (−P) and the identity on either side.
            #expect(pj.adding(p.negated).isIdentity)
            #expect(pj.adding(pj.negated).isIdentity)
            #expect(pj.adding(AffinePoint.identity) == pj)
            #expect(pj.adding(JacobianPoint.identity) == pj)
            #expect(JacobianPoint.identity.adding(p) == pj)
            #expect(JacobianPoint.identity.adding(pj) == pj)
            #expect(pj != qj && pj != .identity && JacobianPoint.identity == JacobianPoint.identity)
            #expect(pj.affine == p)
        }
        #expect(JacobianPoint.identity.doubled().isIdentity)
        #expect(JacobianPoint.identity.affine.isIdentity)
    }

    @Test func equalityWithoutNormalising() throws {
        var inputs = TestInputs(seed: 9)
        let (p, _) = try inputs.point()
        let lambda = try fieldElement(inputs.fieldBytes())
        let l2 = lambda.squared()
        let scaled = JacobianPoint(x: p.x * l2, y: p.y * l2 * lambda, z: lambda)
        #expect(scaled == JacobianPoint(p))
        #expect(scaled != JacobianPoint(p.negated))
        #expect(scaled.affine == p)
    }

    @Test func batchNormalisationKeepsIdentities() throws {
        var inputs = TestInputs(seed: 10)
        var jacobian: [JacobianPoint] = []
        var elements: [GroupElement?] = []
        for i in 0..<12 {
            if i % 5 == 2 {
                jacobian.append(.identity)
                elements.append(nil)
            } else {
                let (p, pe) = try inputs.point()
                jacobian.append(JacobianPoint(p).doubled())
                elements.append(Scalar(2) * pe)
            }
        }
        let affine = JacobianPoint.batchNormalize(jacobian)
        for (a, e) in zip(affine, elements) {
            if let e {
                #expect(try a.groupElement() == e)
            } else {
                #expect(a.isIdentity)
            }
        }
    }

    @Test func encodingsRoundTripAndMatchOpenSSL() throws {
        var inputs = TestInputs(seed: 11)
        for _ in 0..<20 {
            let (p, pe) = try inputs.point()
            #expect(p.uncompressedEncoding == pe.encoding)
            #expect(OpenSSLPointReference.decode(p.compressedEncoding) == pe.encoding)
            #expect(AffinePoint(compressed: p.compressedEncoding) == p)
            #expect(AffinePoint(uncompressed: p.uncompressedEncoding) == p)
            #expect(AffinePoint(sec1: p.uncompressedEncoding) == p)
            #expect(AffinePoint(sec1: p.compressedEncoding) == p)
            // The opposite parity decodes to −P.
            var flipped = p.compressedEncoding
            flipped[0] ^= 1
            #expect(AffinePoint(compressed: flipped) == p.negated)
            // Hybrid (06/07), other prefixes, truncation and the identity are refused.
            var u = p.uncompressedEncoding
            for prefix: UInt8 in [0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07] {
                u[0] = prefix
                #expect(AffinePoint(uncompressed: u) == nil)
            }
            #expect(AffinePoint(uncompressed: p.uncompressedEncoding.dropLast()) == nil)
            #expect(AffinePoint(compressed: pe.encoding.dropLast()) == nil)
            var c = pe.encoding
            c[0] = 0x04
            #expect(AffinePoint(compressed: c) == nil)
            // A changed y is off the curve.
            var off = p.uncompressedEncoding
            off[64] ^= 1
            #expect(AffinePoint(uncompressed: off) == nil)
        }
        #expect(AffinePoint(uncompressed: [UInt8](repeating: 0, count: 65)) == nil)
        #expect(AffinePoint(compressed: [UInt8](repeating: 0, count: 33)) == nil)
        #expect(AffinePoint(sec1: [0x00]) == nil)
        #expect(AffinePoint(sec1: []) == nil)
        #expect(AffinePoint.identity.compressedEncoding == [UInt8](repeating: 0, count: 33))
        // x = p (≥ p) with either parity.
        #expect(AffinePoint(compressed: [0x02] + hex(P256Constants.fieldHex)) == nil)
        #expect(AffinePoint(compressed: [0x03] + hex(P256Constants.fieldHex)) == nil)
    }

    // MARK: MSM

    /// Compares Straus, Pippenger (chosen and forced window widths) and the public entry point
    /// with OpenSSL on the same terms.
    private func checkMSM(_ terms: [(ScalarN, AffinePoint, GroupElement)], forcedWindows: [Int] = [],
                          sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = reference(terms.map { ($0.0, $0.2) })
        let result = MultiScalar.linearCombination(terms.map { ($0.0, $0.1) })
        #expect(try result.groupElement() == expected, "MSM of \(terms.count) terms", sourceLocation: sourceLocation)
        let live = terms.filter { !$0.0.isZero && !$0.1.isIdentity }
        guard !live.isEmpty else { return }
        let ks = live.map(\.0), ps = live.map(\.1)
        if live.count <= 64 {
            #expect(try MultiScalar.straus(scalars: ks, points: ps).groupElement() == expected, "Straus", sourceLocation: sourceLocation)
        }
        #expect(try MultiScalar.pippenger(scalars: ks, points: ps).groupElement() == expected, "Pippenger", sourceLocation: sourceLocation)
        #expect(try MultiScalar.pippengerBatchAffine(scalars: ks, points: ps).groupElement() == expected,
                "Pippenger, batch-affine", sourceLocation: sourceLocation)
        for c in forcedWindows {
            #expect(try MultiScalar.pippenger(scalars: ks, points: ps, windowBits: c).groupElement() == expected,
                    "Pippenger c = \(c)", sourceLocation: sourceLocation)
            #expect(try MultiScalar.pippengerBatchAffine(scalars: ks, points: ps, windowBits: c).groupElement() == expected,
                    "Pippenger, batch-affine, c = \(c)", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: [1, 2, 7, 64, 500, 3000])
    func msmMatchesOpenSSL(size: Int) throws {
        var inputs = TestInputs(seed: UInt64(100 + size))
        var pool: [(AffinePoint, GroupElement)] = []
        for _ in 0..<min(size, 600) { pool.append(try inputs.point()) }
        var terms: [(ScalarN, AffinePoint, GroupElement)] = []
        for i in 0..<size {
            let (p, pe) = pool[i % pool.count]   // repeats points above 600 terms
            terms.append((i % 3 == 0 ? inputs.scalar() : inputs.short(), p, pe))
        }
        try checkMSM(terms, forcedWindows: size <= 64 ? [1, 2, 3, 5, 8] : [])
    }

    @Test func msmEdgeCases() throws {
        var inputs = TestInputs(seed: 12)
        let (p, pe) = try inputs.point()
        let (q, qe) = try inputs.point()
        let minusP = (p.negated, -pe)
        var pool: [(ScalarN, AffinePoint, GroupElement)] = []
        // Repeated point, a point and its negation, zero scalars, identity points, edge scalars.
        for i in 0..<40 {
            switch i % 5 {
            case 0: pool.append((inputs.scalar(), p, pe))
            case 1: pool.append((inputs.short(), minusP.0, minusP.1))
            case 2: pool.append((.zero, q, qe))
            case 3: pool.append((inputs.scalar(), .identity, .identity))
            default: pool.append((try scalarN(scalarEdgeHex[i % scalarEdgeHex.count]), q, qe))
            }
        }
        for size in [1, 2, 5, 40] { try checkMSM(Array(pool.prefix(size)), forcedWindows: [1, 4, 9]) }
        // Only zero scalars or identity points.
        #expect(MultiScalar.linearCombination([(.zero, p), (inputs.scalar(), .identity)]).isIdentity)
        #expect(MultiScalar.linearCombination([]).isIdentity)
        // k·P + (n − k)·P = identity, and k·P + k·(−P).
        let k = inputs.scalar()
        #expect(MultiScalar.linearCombination([(k, p), (-k, p)]).isIdentity)
        #expect(MultiScalar.linearCombination([(k, p), (k, p.negated)]).isIdentity)
        // The same point twice is 2k·P.
        #expect(try MultiScalar.linearCombination([(k, p), (k, p)]).groupElement() == (k + k).scalar * pe)
        // Unpaired trailing scalars or points are ignored.
        #expect(try MultiScalar.linearCombination(scalars: [k, k, k], points: [p]).groupElement() == k.scalar * pe)
        #expect(try MultiScalar.linearCombination(scalars: [k], points: [p, q, q]).groupElement() == k.scalar * pe)
    }

    @Test(arguments: [3, 40, 700])
    func msmTermsSummingToIdentity(size: Int) throws {
        var inputs = TestInputs(seed: UInt64(200 + size))
        var terms: [(ScalarN, AffinePoint, GroupElement)] = []
        for i in 0..<size {
            let (p, pe) = try inputs.point()
            terms.append((i.isMultiple(of: 2) ? inputs.scalar() : inputs.short(), p, pe))
        }
        let total = reference(terms.map { ($0.0, $0.2) })
        let cancel = try #require(AffinePoint(-total))
        terms.append((.one, cancel, -total))
        #expect(MultiScalar.linearCombination(terms.map { ($0.0, $0.1) }).isIdentity)
        try checkMSM(terms)
    }

    @Test func planPicksStrausForFewTermsAndBucketsForMany() {
        #expect(MultiScalar.plan(bitLengths: [256]) == .straus)
        #expect(MultiScalar.plan(bitLengths: [128, 128]) == .straus)
        guard case .affineBuckets(let c) = MultiScalar.plan(bitLengths: Array(repeating: 256, count: 16384)) else {
            Issue.record("16384 full scalars should use batch-affine buckets")
            return
        }
        #expect((8...14).contains(c))
        #expect(MultiScalar.windowBits(bitLengths: Array(repeating: 256, count: 512)) < c)
    }

    // MARK: Wycheproof

    @Test("Wycheproof ecdh_secp256r1_ecpoint_test.json: decoding agrees with OpenSSL",
          .enabled(if: Vectors.availableOrRequired, "outside vectors folder ../shared/vectors not found; skipping"))
    func wycheproofPointDecoding() throws {
        let data = try Vectors.data("wycheproof/ecdh_secp256r1_ecpoint_test.json")
        let file = try JSONDecoder().decode(WycheproofECPointFile.self, from: data)
        #expect(file.testGroups.first?.curve == "secp256r1")
        var checked = 0
        for group in file.testGroups {
            for test in group.tests {
                let encoded = try #require(Hex.decode(test.public), "tcId \(test.tcId)")
                // The reference is OpenSSL's own decoder; GroupElement now decodes with ours.
                let reference = OpenSSLPointReference.decode(encoded)
                let element = try? GroupElement(encoding: encoded)
                switch encoded.count {
                case 65:
                    let ours = AffinePoint(uncompressed: encoded)
                    let x = Array(encoded[1..<33]), y = Array(encoded[33..<65])
                    let inField = FieldElement(bytes: x) != nil && FieldElement(bytes: y) != nil
                    let bigNumSays = encoded[0] == 0x04 && inField && BigNumReference.isOnCurve(x: x, y: y)
                    #expect((ours != nil) == bigNumSays, "tcId \(test.tcId): our curve check vs BIGNUM")
                    #expect((ours != nil) == (test.result != .invalid), "tcId \(test.tcId) \(test.comment)")
                    // OpenSSL accepts exactly the points we accept (it also takes hybrid 06/07
                    // prefixes, which SEC1 allows and the protocol does not).
                    if encoded[0] == 0x04 {
                        #expect((ours != nil) == (reference != nil), "tcId \(test.tcId): ours vs OpenSSL oct2point")
                    }
                    #expect((element != nil) == (ours != nil), "tcId \(test.tcId): GroupElement decoder")
                    if let ours {
                        #expect(ours.uncompressedEncoding == encoded)
                        #expect(reference == encoded)
                        #expect(AffinePoint(compressed: ours.compressedEncoding) == ours)
                        #expect(OpenSSLPointReference.decode(ours.compressedEncoding) == encoded)
                        #expect(element?.encoding == encoded)
                    }
                case 33:
                    let ours = AffinePoint(compressed: encoded)
                    #expect((ours != nil) == (reference != nil), "tcId \(test.tcId): compressed, ours vs OpenSSL")
                    #expect((ours != nil) == (test.result != .invalid), "tcId \(test.tcId) \(test.comment)")
                    if let ours { #expect(ours.uncompressedEncoding == reference) }
                    #expect(element == nil, "tcId \(test.tcId): the protocol takes uncompressed points only")
                default:
                    #expect(AffinePoint(sec1: encoded) == nil, "tcId \(test.tcId)")
                    #expect(reference == nil && element == nil, "tcId \(test.tcId)")
                    #expect(test.result == .invalid)
                }
                checked += 1
            }
        }
        #expect(checked == file.numberOfTests)
    }
}

/// The Wycheproof ECDH ecpoint schema (ecdh_ecpoint_test_schema_v1.json), only the fields used.
private struct WycheproofECPointFile: Decodable {
    let numberOfTests: Int
    let testGroups: [Group]

    struct Group: Decodable {
        let curve: String
        let tests: [Case]
    }

    struct Case: Decodable {
        let tcId: Int
        let comment: String
        let `public`: String
        let result: Result
    }

    enum Result: String, Decodable {
        case valid, invalid, acceptable
    }
}

/// Prints the micro-benchmark; only with EVOTE_BENCH=1, meant for `swift test -c release`.
@Suite("FastP256Bench")
struct FastP256Bench {
    @Test(.enabled(if: ProcessInfo.processInfo.environment["EVOTE_BENCH"] == "1", "set EVOTE_BENCH=1 to run the benchmark"))
    func report() {
        let terms = Int(ProcessInfo.processInfo.environment["EVOTE_BENCH_TERMS"] ?? "") ?? 16384
        let report = GroupBenchmark.run(terms: terms)
        print(report.description)
        #expect(report.allMatched)
    }
}
