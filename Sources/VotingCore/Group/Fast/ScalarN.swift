// Integers modulo the P-256 group order n, in pure Swift, for batch-verification weights and
// MSM scalars. Variable time: public values only.

/// An integer modulo n = ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551, kept as
/// its canonical value (< n, not Montgomery form) so MSM windows read bits directly.
struct ScalarN: Sendable, Hashable {
    var l0: UInt64
    var l1: UInt64
    var l2: UInt64
    var l3: UInt64

    @inline(__always)
    init(limbs l0: UInt64, _ l1: UInt64, _ l2: UInt64, _ l3: UInt64) {
        self.l0 = l0
        self.l1 = l1
        self.l2 = l2
        self.l3 = l3
    }

    // n as limbs.
    static let n0: UInt64 = 0xf3b9_cac2_fc63_2551
    static let n1: UInt64 = 0xbce6_faad_a717_9e84
    static let n2: UInt64 = 0xffff_ffff_ffff_ffff
    static let n3: UInt64 = 0xffff_ffff_0000_0000
    /// −n⁻¹ mod 2^64 for Montgomery reduction.
    static let nPrime: UInt64 = 0xccd1_c8aa_ee00_bc4f
    /// 2^512 mod n: a Montgomery product with it undoes the 2^−256 of the previous one.
    static let rSquared = ScalarN(limbs: 0x8324_4c95_be79_eea2, 0x4699_799c_49bd_6fa6, 0x2845_b239_2b6b_ec59, 0x66e1_2d94_f3d9_5620)

    static let zero = ScalarN(limbs: 0, 0, 0, 0)
    static let one = ScalarN(limbs: 1, 0, 0, 0)

    init(_ value: UInt64) { self.init(limbs: value, 0, 0, 0) }

    /// From 32 big-endian bytes; nil unless exactly 32 bytes encoding an integer < n.
    init?(bytes: some Collection<UInt8>) {
        guard let l = Limb.limbs(bigEndian: bytes),
              Limb.less(l, (Self.n0, Self.n1, Self.n2, Self.n3)) else { return nil }
        self.init(limbs: l.0, l.1, l.2, l.3)
    }

    /// Any byte string of at most 64 bytes, read big-endian and reduced mod n; nil when longer.
    init?(reducing bytes: some Collection<UInt8>) {
        guard bytes.count <= 64 else { return nil }
        let padded = [UInt8](repeating: 0, count: 64 - bytes.count) + Array(bytes)
        guard let hi = Limb.limbs(bigEndian: padded[0..<32]), let lo = Limb.limbs(bigEndian: padded[32..<64]) else { return nil }
        // hi·2^256 + lo ≡ REDC(hi·2^512) + lo; each half is < 2^256 < 2n.
        let h = Self.reduceOnce(hi.0, hi.1, hi.2, hi.3, 0)
        let l = Self.reduceOnce(lo.0, lo.1, lo.2, lo.3, 0)
        self = Self.montgomeryProduct(h, Self.rSquared) + l
    }

    /// The existing OpenSSL-backed scalar (always < n).
    init(_ scalar: Scalar) {
        // Scalar's invariant makes the first branch the only one taken; reducing keeps this total.
        self = ScalarN(bytes: scalar.bytes) ?? ScalarN(reducing: scalar.bytes) ?? .zero
    }

    /// The same value as the OpenSSL-backed scalar type.
    var scalar: Scalar { Scalar(trusted: bytes) }

    /// 32 big-endian bytes.
    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32)
        Limb.append(l3, to: &out)
        Limb.append(l2, to: &out)
        Limb.append(l1, to: &out)
        Limb.append(l0, to: &out)
        return out
    }

    var isZero: Bool { (l0 | l1 | l2 | l3) == 0 }

    /// Number of significant bits (0 for zero).
    var bitLength: Int {
        if l3 != 0 { return 256 - l3.leadingZeroBitCount }
        if l2 != 0 { return 192 - l2.leadingZeroBitCount }
        if l1 != 0 { return 128 - l1.leadingZeroBitCount }
        return 64 - l0.leadingZeroBitCount
    }

    @inline(__always)
    func limb(_ i: Int) -> UInt64 {
        switch i {
        case 0: return l0
        case 1: return l1
        case 2: return l2
        case 3: return l3
        default: return 0
        }
    }

    /// Bit i (0 = least significant); false beyond bit 255.
    func bit(_ i: Int) -> Bool {
        guard i >= 0, i < 256 else { return false }
        return (limb(i >> 6) >> UInt64(i & 63)) & 1 == 1
    }

    /// Bits [start, start + count) as an integer, count in 1...63; bits beyond 255 read as 0.
    @inline(__always)
    func bits(from start: Int, count: Int) -> UInt64 {
        let index = start >> 6
        let shift = start & 63
        var w = limb(index) &>> UInt64(shift)
        if shift + count > 64 { w |= limb(index + 1) &<< UInt64(64 - shift) }
        return w & ((1 &<< UInt64(count)) &- 1)
    }

    // MARK: arithmetic

    /// Subtracts n when (carry:a) ≥ n; inputs satisfy (carry:a) < 2n.
    @inline(__always)
    static func reduceOnce(_ a0: UInt64, _ a1: UInt64, _ a2: UInt64, _ a3: UInt64, _ carry: UInt64) -> ScalarN {
        let (s0, b0) = Limb.sbb(a0, n0, 0)
        let (s1, b1) = Limb.sbb(a1, n1, b0)
        let (s2, b2) = Limb.sbb(a2, n2, b1)
        let (s3, b3) = Limb.sbb(a3, n3, b2)
        let (_, under) = Limb.sbb(carry, 0, b3)
        if under == 1 { return ScalarN(limbs: a0, a1, a2, a3) }
        return ScalarN(limbs: s0, s1, s2, s3)
    }

    static func + (a: ScalarN, b: ScalarN) -> ScalarN {
        let (t0, c0) = Limb.adc(a.l0, b.l0, 0)
        let (t1, c1) = Limb.adc(a.l1, b.l1, c0)
        let (t2, c2) = Limb.adc(a.l2, b.l2, c1)
        let (t3, c3) = Limb.adc(a.l3, b.l3, c2)
        return reduceOnce(t0, t1, t2, t3, c3)
    }

    static func - (a: ScalarN, b: ScalarN) -> ScalarN {
        let (t0, b0) = Limb.sbb(a.l0, b.l0, 0)
        let (t1, b1) = Limb.sbb(a.l1, b.l1, b0)
        let (t2, b2) = Limb.sbb(a.l2, b.l2, b1)
        let (t3, b3) = Limb.sbb(a.l3, b.l3, b2)
        guard b3 == 1 else { return ScalarN(limbs: t0, t1, t2, t3) }
        let (r0, c0) = Limb.adc(t0, n0, 0)
        let (r1, c1) = Limb.adc(t1, n1, c0)
        let (r2, c2) = Limb.adc(t2, n2, c1)
        let (r3, _) = Limb.adc(t3, n3, c2)
        return ScalarN(limbs: r0, r1, r2, r3)
    }

    static prefix func - (a: ScalarN) -> ScalarN { zero - a }

    /// a·b mod n: two Montgomery products, the second by 2^512 mod n to cancel the 2^−256.
    static func * (a: ScalarN, b: ScalarN) -> ScalarN {
        montgomeryProduct(montgomeryProduct(a, b), rSquared)
    }

    /// a·b·2^−256 mod n for a, b < n (CIOS, Koç–Acar–Kaliski 1996); the running value stays < 2n.
    static func montgomeryProduct(_ a: ScalarN, _ b: ScalarN) -> ScalarN {
        var t0: UInt64 = 0, t1: UInt64 = 0, t2: UInt64 = 0, t3: UInt64 = 0, t4: UInt64 = 0
        for i in 0..<4 {
            let ai = a.limb(i)
            var c: UInt64
            var t5: UInt64
            (t0, c) = Limb.mac(t0, ai, b.l0, 0)
            (t1, c) = Limb.mac(t1, ai, b.l1, c)
            (t2, c) = Limb.mac(t2, ai, b.l2, c)
            (t3, c) = Limb.mac(t3, ai, b.l3, c)
            (t4, t5) = Limb.adc(t4, c, 0)
            let m = t0 &* nPrime
            (_, c) = Limb.mac(t0, m, n0, 0)
            (t0, c) = Limb.mac(t1, m, n1, c)
            (t1, c) = Limb.mac(t2, m, n2, c)
            (t2, c) = Limb.mac(t3, m, n3, c)
            var c2: UInt64
            (t3, c2) = Limb.adc(t4, c, 0)
            t4 = t5 &+ c2
        }
        return reduceOnce(t0, t1, t2, t3, t4)
    }

    /// A uniformly random 128-bit value (a batch-verification weight) from `source(16)`.
    static func random128(using source: (Int) throws -> [UInt8]) rethrows -> ScalarN {
        let b = try source(16)
        var lo: UInt64 = 0, hi: UInt64 = 0
        for i in 0..<min(8, b.count) { lo |= UInt64(b[i]) &<< UInt64(8 * i) }
        for i in 8..<min(16, b.count) { hi |= UInt64(b[i]) &<< UInt64(8 * (i - 8)) }
        return ScalarN(limbs: lo, hi, 0, 0)
    }

    /// A random scalar mod n from 64 bytes of `source` (bias below 2^−256).
    static func random(using source: (Int) throws -> [UInt8]) rethrows -> ScalarN {
        let b = try source(64)
        return ScalarN(reducing: b.prefix(64)) ?? .zero
    }
}
