// P-256 base field arithmetic in pure Swift, for batch verification over public data.
// Variable time on purpose: nothing here may ever touch a secret (keys, nonces, shares).

/// 64-bit limb primitives shared by the field and the scalar code.
enum Limb {
    #if DEBUG
    // Unoptimised builds call UInt128's generic initialisers out of line (10x slower test runs);
    // these concrete UInt64 operations compute the same functions.

    /// a + b + carry, as (low word, carry out ∈ {0, 1}).
    @inline(__always)
    static func adc(_ a: UInt64, _ b: UInt64, _ carry: UInt64) -> (UInt64, UInt64) {
        let (s1, o1) = a.addingReportingOverflow(b)
        let (s2, o2) = s1.addingReportingOverflow(carry)
        return (s2, (o1 || o2) ? 1 : 0)
    }

    /// a − b − borrow, as (low word, borrow out ∈ {0, 1}).
    @inline(__always)
    static func sbb(_ a: UInt64, _ b: UInt64, _ borrow: UInt64) -> (UInt64, UInt64) {
        let (d1, o1) = a.subtractingReportingOverflow(b)
        let (d2, o2) = d1.subtractingReportingOverflow(borrow)
        return (d2, (o1 || o2) ? 1 : 0)
    }

    /// acc + a·b + carry, as (low word, high word); never overflows 128 bits.
    @inline(__always)
    static func mac(_ acc: UInt64, _ a: UInt64, _ b: UInt64, _ carry: UInt64) -> (UInt64, UInt64) {
        let (hi, lo) = a.multipliedFullWidth(by: b)
        let (l1, o1) = lo.addingReportingOverflow(acc)
        let (l2, o2) = l1.addingReportingOverflow(carry)
        return (l2, hi &+ (o1 ? 1 : 0) &+ (o2 ? 1 : 0))
    }
    #else
    // UInt128 lets LLVM emit mul/add/adc directly; measured faster than the flag-based forms.

    /// a + b + carry, as (low word, carry out ∈ {0, 1}).
    @inline(__always)
    static func adc(_ a: UInt64, _ b: UInt64, _ carry: UInt64) -> (UInt64, UInt64) {
        let t = UInt128(a) &+ UInt128(b) &+ UInt128(carry)
        return (UInt64(truncatingIfNeeded: t), UInt64(truncatingIfNeeded: t &>> 64))
    }

    /// a − b − borrow, as (low word, borrow out ∈ {0, 1}).
    @inline(__always)
    static func sbb(_ a: UInt64, _ b: UInt64, _ borrow: UInt64) -> (UInt64, UInt64) {
        let t = UInt128(a) &- UInt128(b) &- UInt128(borrow)
        return (UInt64(truncatingIfNeeded: t), UInt64(truncatingIfNeeded: t &>> 127))
    }

    /// acc + a·b + carry, as (low word, high word); never overflows 128 bits.
    @inline(__always)
    static func mac(_ acc: UInt64, _ a: UInt64, _ b: UInt64, _ carry: UInt64) -> (UInt64, UInt64) {
        let t = UInt128(acc) &+ UInt128(a) &* UInt128(b) &+ UInt128(carry)
        return (UInt64(truncatingIfNeeded: t), UInt64(truncatingIfNeeded: t &>> 64))
    }
    #endif

    /// Big-endian bytes [offset, offset+8) as a word; the caller guarantees the range.
    @inline(__always)
    static func word(_ bytes: UnsafeBufferPointer<UInt8>, _ offset: Int) -> UInt64 {
        var w: UInt64 = 0
        for i in 0..<8 { w = (w &<< 8) | UInt64(bytes[offset + i]) }
        return w
    }

    /// Appends a word as 8 big-endian bytes.
    @inline(__always)
    static func append(_ w: UInt64, to out: inout [UInt8]) {
        for i in (0..<8).reversed() { out.append(UInt8(truncatingIfNeeded: w &>> (8 * UInt64(i)))) }
    }

    /// Four little-endian limbs from 32 big-endian bytes; nil unless exactly 32 bytes.
    static func limbs(bigEndian bytes: some Collection<UInt8>) -> (UInt64, UInt64, UInt64, UInt64)? {
        guard bytes.count == 32 else { return nil }
        let array = Array(bytes)
        return array.withUnsafeBufferPointer { b in
            (word(b, 24), word(b, 16), word(b, 8), word(b, 0))
        }
    }

    /// True when (a3..a0) < (b3..b0) as 256-bit integers.
    @inline(__always)
    static func less(_ a: (UInt64, UInt64, UInt64, UInt64), _ b: (UInt64, UInt64, UInt64, UInt64)) -> Bool {
        var (_, borrow) = sbb(a.0, b.0, 0)
        (_, borrow) = sbb(a.1, b.1, borrow)
        (_, borrow) = sbb(a.2, b.2, borrow)
        (_, borrow) = sbb(a.3, b.3, borrow)
        return borrow == 1
    }
}

/// An element of GF(p), p = 2^256 − 2^224 + 2^192 + 2^96 − 1, in Montgomery form
/// (a·2^256 mod p, always fully reduced) as four little-endian 64-bit limbs.
/// p ≡ −1 (mod 2^64), so each Montgomery reduction step needs one multiplication.
struct FieldElement: Sendable, Hashable {
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

    // p as limbs; p2 is zero.
    static let p0: UInt64 = 0xffff_ffff_ffff_ffff
    static let p1: UInt64 = 0x0000_0000_ffff_ffff
    static let p3: UInt64 = 0xffff_ffff_0000_0001

    static let zero = FieldElement(limbs: 0, 0, 0, 0)
    /// 1 in Montgomery form: 2^256 mod p.
    static let one = FieldElement(limbs: 0x0000_0000_0000_0001, 0xffff_ffff_0000_0000, 0xffff_ffff_ffff_ffff, 0x0000_0000_ffff_fffe)
    /// 2^512 mod p: multiplying by it moves a plain value into Montgomery form.
    static let rSquared = FieldElement(limbs: 0x0000_0000_0000_0003, 0xffff_fffb_ffff_ffff, 0xffff_ffff_ffff_fffe, 0x0000_0004_ffff_fffd)
    /// The curve coefficient b (SEC 2 §2.4.2) in Montgomery form.
    static let curveB = FieldElement(limbs: 0xd89c_df62_29c4_bddf, 0xacf0_05cd_7884_3090, 0xe5a2_20ab_f721_2ed6, 0xdc30_061d_0487_4834)

    /// A plain integer < p from limbs; nil when ≥ p.
    init?(plain a0: UInt64, _ a1: UInt64, _ a2: UInt64, _ a3: UInt64) {
        guard Limb.less((a0, a1, a2, a3), (Self.p0, Self.p1, 0, Self.p3)) else { return nil }
        self = FieldElement(limbs: a0, a1, a2, a3).multiplied(by: Self.rSquared)
    }

    /// From 32 big-endian bytes; nil unless exactly 32 bytes encoding an integer < p.
    init?(bytes: some Collection<UInt8>) {
        guard let l = Limb.limbs(bigEndian: bytes) else { return nil }
        self.init(plain: l.0, l.1, l.2, l.3)
    }

    /// A small integer.
    init(_ value: UInt64) {
        self = FieldElement(limbs: value, 0, 0, 0).multiplied(by: Self.rSquared)
    }

    /// The plain integer's limbs (out of Montgomery form).
    @inline(__always)
    var plainLimbs: (UInt64, UInt64, UInt64, UInt64) {
        let r = Self.montgomeryReduce(l0, l1, l2, l3, 0, 0, 0, 0)
        return (r.l0, r.l1, r.l2, r.l3)
    }

    /// 32 big-endian bytes of the plain integer.
    var bytes: [UInt8] {
        let l = plainLimbs
        var out: [UInt8] = []
        out.reserveCapacity(32)
        Limb.append(l.3, to: &out)
        Limb.append(l.2, to: &out)
        Limb.append(l.1, to: &out)
        Limb.append(l.0, to: &out)
        return out
    }

    /// Whether the plain integer is odd (SEC1 compressed-point parity).
    var isOdd: Bool { plainLimbs.0 & 1 == 1 }

    @inline(__always)
    var isZero: Bool { (l0 | l1 | l2 | l3) == 0 }

    // MARK: addition

    /// Subtracts p when (carry:a) ≥ p; inputs satisfy (carry:a) < 2p. Adds 2^256 − p instead of
    /// subtracting p: the carry out then says a ≥ p, and add/adc chains compile best.
    @inline(__always)
    static func reduceOnce(_ a0: UInt64, _ a1: UInt64, _ a2: UInt64, _ a3: UInt64, _ carry: UInt64) -> FieldElement {
        let (s0, c0) = Limb.adc(a0, 1, 0)
        let (s1, c1) = Limb.adc(a1, 0xffff_ffff_0000_0000, c0)
        let (s2, c2) = Limb.adc(a2, 0xffff_ffff_ffff_ffff, c1)
        let (s3, c3) = Limb.adc(a3, 0x0000_0000_ffff_fffe, c2)
        // Keep a when neither carry is set. Branch-free because the outcome is a coin toss.
        let keep = (c3 | carry) &- 1
        return FieldElement(limbs: (a0 & keep) | (s0 & ~keep), (a1 & keep) | (s1 & ~keep),
                            (a2 & keep) | (s2 & ~keep), (a3 & keep) | (s3 & ~keep))
    }

    @inline(__always)
    static func + (a: FieldElement, b: FieldElement) -> FieldElement {
        let (t0, c0) = Limb.adc(a.l0, b.l0, 0)
        let (t1, c1) = Limb.adc(a.l1, b.l1, c0)
        let (t2, c2) = Limb.adc(a.l2, b.l2, c1)
        let (t3, c3) = Limb.adc(a.l3, b.l3, c2)
        return reduceOnce(t0, t1, t2, t3, c3)
    }

    @inline(__always)
    static func - (a: FieldElement, b: FieldElement) -> FieldElement {
        let (t0, b0) = Limb.sbb(a.l0, b.l0, 0)
        let (t1, b1) = Limb.sbb(a.l1, b.l1, b0)
        let (t2, b2) = Limb.sbb(a.l2, b.l2, b1)
        let (t3, b3) = Limb.sbb(a.l3, b.l3, b2)
        // On borrow add p back (p masked by the borrow).
        let m = 0 &- b3
        let (r0, c0) = Limb.adc(t0, p0 & m, 0)
        let (r1, c1) = Limb.adc(t1, p1 & m, c0)
        let (r2, c2) = Limb.adc(t2, 0, c1)
        let (r3, _) = Limb.adc(t3, p3 & m, c2)
        return FieldElement(limbs: r0, r1, r2, r3)
    }

    @inline(__always)
    static prefix func - (a: FieldElement) -> FieldElement { zero - a }

    @inline(__always)
    var doubled: FieldElement { self + self }

    @inline(__always)
    static func += (a: inout FieldElement, b: FieldElement) { a = a + b }

    @inline(__always)
    static func -= (a: inout FieldElement, b: FieldElement) { a = a - b }

    // MARK: multiplication

    /// REDC of the 512-bit (t7..t0) < p·2^256: returns t·2^−256 mod p, fully reduced.
    /// One step: with m = u0 (since −p⁻¹ ≡ 1 mod 2^64), (u + m·p)/2^64 = (u ≫ 64) + m·2^32 + m·p3·2^128.
    @inline(__always)
    static func montgomeryReduce(_ t0: UInt64, _ t1: UInt64, _ t2: UInt64, _ t3: UInt64,
                                 _ t4: UInt64, _ t5: UInt64, _ t6: UInt64, _ t7: UInt64) -> FieldElement {
        var u0 = t0, u1 = t1, u2 = t2, u3 = t3
        // Four steps on the low half; each intermediate stays below 2^256 (p + 2^192 < 2^256).
        for _ in 0..<4 {
            let m = u0
            let (lo, hi) = Limb.mac(0, m, p3, 0)
            let (n0, c0) = Limb.adc(u1, m &<< 32, 0)
            let (n1, c1) = Limb.adc(u2, m &>> 32, c0)
            let (n2, c2) = Limb.adc(u3, lo, c1)
            u0 = n0; u1 = n1; u2 = n2; u3 = hi &+ c2
        }
        // Result = high half + reduced low half < 2p.
        let (r0, c0) = Limb.adc(u0, t4, 0)
        let (r1, c1) = Limb.adc(u1, t5, c0)
        let (r2, c2) = Limb.adc(u2, t6, c1)
        let (r3, c3) = Limb.adc(u3, t7, c2)
        return reduceOnce(r0, r1, r2, r3, c3)
    }

    /// One CIOS step: (t + a_i·b) then one REDC step, keeping five words (t4 a carry).
    @inline(__always)
    static func ciosStep(_ t0: inout UInt64, _ t1: inout UInt64, _ t2: inout UInt64, _ t3: inout UInt64, _ t4: inout UInt64,
                         _ ai: UInt64, _ b: FieldElement) {
        var c: UInt64
        var u4: UInt64
        (t0, c) = Limb.mac(t0, ai, b.l0, 0)
        (t1, c) = Limb.mac(t1, ai, b.l1, c)
        (t2, c) = Limb.mac(t2, ai, b.l2, c)
        (t3, c) = Limb.mac(t3, ai, b.l3, c)
        (u4, c) = Limb.adc(t4, c, 0)
        let m = t0
        let (lo, hi) = Limb.mac(0, m, p3, 0)
        var k: UInt64
        (t0, k) = Limb.adc(t1, m &<< 32, 0)
        (t1, k) = Limb.adc(t2, m &>> 32, k)
        (t2, k) = Limb.adc(t3, lo, k)
        (t3, k) = Limb.adc(u4, hi, k)
        t4 = c &+ k
    }

    /// Montgomery product a·b·2^−256 mod p: interleaved CIOS (Koç–Acar–Kaliski 1996).
    @inline(__always)
    func multiplied(by b: FieldElement) -> FieldElement {
        var t0: UInt64 = 0, t1: UInt64 = 0, t2: UInt64 = 0, t3: UInt64 = 0, t4: UInt64 = 0
        Self.ciosStep(&t0, &t1, &t2, &t3, &t4, l0, b)
        Self.ciosStep(&t0, &t1, &t2, &t3, &t4, l1, b)
        Self.ciosStep(&t0, &t1, &t2, &t3, &t4, l2, b)
        Self.ciosStep(&t0, &t1, &t2, &t3, &t4, l3, b)
        return Self.reduceOnce(t0, t1, t2, t3, t4)
    }

    /// Montgomery square: the six cross products once, doubled, plus the four squares.
    @inline(__always)
    func squared() -> FieldElement {
        let a = self
        var c: UInt64
        // Cross products a_i·a_j, i < j, at limb i + j.
        var (t1, c01) = Limb.mac(0, a.l0, a.l1, 0)
        var (t2, c02) = Limb.mac(0, a.l0, a.l2, c01)
        var (t3, t4) = Limb.mac(0, a.l0, a.l3, c02)
        (t3, c) = Limb.mac(t3, a.l1, a.l2, 0)
        var t5: UInt64
        (t4, t5) = Limb.mac(t4, a.l1, a.l3, c)
        var t6: UInt64
        (t5, t6) = Limb.mac(t5, a.l2, a.l3, 0)
        // Double the cross products (they fit in 7 limbs, so the shift fits in 8).
        let t7 = t6 &>> 63
        t6 = (t6 &<< 1) | (t5 &>> 63)
        t5 = (t5 &<< 1) | (t4 &>> 63)
        t4 = (t4 &<< 1) | (t3 &>> 63)
        t3 = (t3 &<< 1) | (t2 &>> 63)
        t2 = (t2 &<< 1) | (t1 &>> 63)
        t1 = t1 &<< 1
        // Add the squares a_i² at limb 2i.
        let (s0lo, s0hi) = Limb.mac(0, a.l0, a.l0, 0)
        let (s1lo, s1hi) = Limb.mac(0, a.l1, a.l1, 0)
        let (s2lo, s2hi) = Limb.mac(0, a.l2, a.l2, 0)
        let (s3lo, s3hi) = Limb.mac(0, a.l3, a.l3, 0)
        let r0 = s0lo
        let (r1, k1) = Limb.adc(t1, s0hi, 0)
        let (r2, k2) = Limb.adc(t2, s1lo, k1)
        let (r3, k3) = Limb.adc(t3, s1hi, k2)
        let (r4, k4) = Limb.adc(t4, s2lo, k3)
        let (r5, k5) = Limb.adc(t5, s2hi, k4)
        let (r6, k6) = Limb.adc(t6, s3lo, k5)
        let (r7, _) = Limb.adc(t7, s3hi, k6)
        return Self.montgomeryReduce(r0, r1, r2, r3, r4, r5, r6, r7)
    }

    @inline(__always)
    static func * (a: FieldElement, b: FieldElement) -> FieldElement { a.multiplied(by: b) }

    @inline(__always)
    static func *= (a: inout FieldElement, b: FieldElement) { a = a.multiplied(by: b) }

    /// self^(2^k)
    @inline(__always)
    func squared(times k: Int) -> FieldElement {
        var r = self
        for _ in 0..<k { r = r.squared() }
        return r
    }

    /// self^(2^30 − 1) and self^(2^32 − 1), the shared start of the inversion and
    /// square-root addition chains.
    private func onesPowers() -> (x30: FieldElement, x32: FieldElement) {
        let x2 = squared() * self                    // 2^2 − 1
        let x4 = x2.squared(times: 2) * x2           // 2^4 − 1
        let x8 = x4.squared(times: 4) * x4           // 2^8 − 1
        let x16 = x8.squared(times: 8) * x8          // 2^16 − 1
        let x24 = x16.squared(times: 8) * x8         // 2^24 − 1
        let x28 = x24.squared(times: 4) * x4         // 2^28 − 1
        let x30 = x28.squared(times: 2) * x2         // 2^30 − 1
        let x32 = x30.squared(times: 2) * x2         // 2^32 − 1
        return (x30, x32)
    }

    /// self^(p−2) = self⁻¹ (Fermat), 0 for 0. p − 2 in 32-bit words is
    /// ffffffff 00000001 00000000×3 ffffffff ffffffff fffffffd.
    var inverse: FieldElement {
        let (x30, x32) = onesPowers()
        var t = x32.squared(times: 32) * self        // ffffffff 00000001
        t = t.squared(times: 96)                     // three zero words
        t = t.squared(times: 32) * x32               // ffffffff
        t = t.squared(times: 32) * x32               // ffffffff
        t = t.squared(times: 30) * x30               // 30 ones of fffffffd
        t = t.squared(times: 2) * self               // the final "01"
        return t
    }

    /// A square root (p ≡ 3 mod 4, so self^((p+1)/4)), nil when self is not a square.
    /// (p+1)/4 = (2^32 − 1)·2^222 + 2^190 + 2^94.
    var squareRoot: FieldElement? {
        let (_, x32) = onesPowers()
        var t = x32.squared(times: 32) * self
        t = t.squared(times: 96) * self
        t = t.squared(times: 94)
        return t.squared() == self ? t : nil
    }

    /// Inverts every element in place with one field inversion (Montgomery's trick);
    /// zeros stay zero.
    static func batchInvert(_ elements: inout [FieldElement]) {
        let n = elements.count
        guard n > 0 else { return }
        var prefix = [FieldElement](repeating: .one, count: n)
        elements.withUnsafeMutableBufferPointer { e in
            prefix.withUnsafeMutableBufferPointer { pre in
                var acc = FieldElement.one
                for i in 0..<n {
                    pre[i] = acc
                    if !e[i].isZero { acc = acc * e[i] }
                }
                var inv = acc.inverse
                for i in stride(from: n - 1, through: 0, by: -1) where !e[i].isZero {
                    let x = e[i]
                    e[i] = inv * pre[i]
                    inv = inv * x
                }
            }
        }
    }
}
