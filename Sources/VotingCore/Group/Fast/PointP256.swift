// P-256 points (y² = x³ − 3x + b) in pure Swift for batch verification over public data.
// Variable time: never use these for secret scalars.

/// An affine point; the identity is (0, 0), which is not on the curve (b ≠ 0).
struct AffinePoint: Sendable, Hashable {
    var x: FieldElement
    var y: FieldElement

    @inline(__always)
    init(x: FieldElement, y: FieldElement) {
        self.x = x
        self.y = y
    }

    static let identity = AffinePoint(x: .zero, y: .zero)

    /// The standard generator G (SEC 2 §2.4.2), coordinates in Montgomery form.
    static let generator = AffinePoint(
        x: FieldElement(limbs: 0x79e7_30d4_18a9_143c, 0x75ba_95fc_5fed_b601, 0x79fb_732b_7762_2510, 0x1890_5f76_a537_55c6),
        y: FieldElement(limbs: 0xddf2_5357_ce95_560a, 0x8b4a_b8e4_ba19_e45c, 0xd2e8_8688_dd21_f325, 0x8571_ff18_2588_5d85))

    /// 3 in Montgomery form, for the curve's a = −3.
    static let three = FieldElement(limbs: 0x0000_0000_0000_0003, 0xffff_fffd_0000_0000, 0xffff_ffff_ffff_ffff, 0x0000_0002_ffff_fffc)

    /// No point of P-256 has y = 0 (the group has odd prime order), so y = 0 marks the identity.
    @inline(__always)
    var isIdentity: Bool { y.isZero }

    @inline(__always)
    var negated: AffinePoint { isIdentity ? self : AffinePoint(x: x, y: -y) }

    /// x³ − 3x + b
    @inline(__always)
    static func curveRightSide(_ x: FieldElement) -> FieldElement {
        (x.squared() - three) * x + FieldElement.curveB
    }

    /// Whether (x, y) satisfies the curve equation (false for the identity).
    var isOnCurve: Bool { !isIdentity && y.squared() == Self.curveRightSide(x) }

    // MARK: SEC1 encodings

    /// SEC1 §2.3.4 uncompressed `04 ‖ x ‖ y`: exactly 65 bytes, x, y < p, on the curve.
    init?(uncompressed bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard b.count == 65, b[0] == 0x04,
              let x = FieldElement(bytes: b[1..<33]), let y = FieldElement(bytes: b[33..<65]) else { return nil }
        let point = AffinePoint(x: x, y: y)
        guard point.isOnCurve else { return nil }
        self = point
    }

    /// SEC1 §2.3.4 compressed `02/03 ‖ x`: exactly 33 bytes, x < p, x³ − 3x + b a square.
    init?(compressed bytes: some Collection<UInt8>) {
        let b = Array(bytes)
        guard b.count == 33, b[0] == 0x02 || b[0] == 0x03, let x = FieldElement(bytes: b[1..<33]),
              var y = Self.curveRightSide(x).squareRoot, !y.isZero else { return nil }
        if y.isOdd != (b[0] == 0x03) { y = -y }
        self = AffinePoint(x: x, y: y)
    }

    /// Either SEC1 form by length; never the identity.
    init?(sec1 bytes: some Collection<UInt8>) {
        switch bytes.count {
        case 33: self.init(compressed: bytes)
        case 65: self.init(uncompressed: bytes)
        default: return nil
        }
    }

    /// 65 bytes `04 ‖ x ‖ y`; 65 zero bytes for the identity (which no decoder accepts).
    var uncompressedEncoding: [UInt8] {
        guard !isIdentity else { return [UInt8](repeating: 0, count: 65) }
        return [0x04] + x.bytes + y.bytes
    }

    /// 33 bytes `02/03 ‖ x`; 33 zero bytes for the identity, as `GroupElement` does.
    var compressedEncoding: [UInt8] {
        guard !isIdentity else { return [UInt8](repeating: 0, count: 33) }
        return [y.isOdd ? 0x03 : 0x02] + x.bytes
    }

    // MARK: bridge to the OpenSSL-backed type

    /// From a `GroupElement`'s encoding (33-byte compressed today, 65-byte uncompressed
    /// accepted too); the all-zero identity encoding maps to `.identity`.
    init?(_ element: GroupElement) {
        if let decoded = element.box.affine {
            self = decoded
            return
        }
        let e = element.encoding
        if e.allSatisfy({ $0 == 0 }) {
            self = .identity
        } else if let p = AffinePoint(sec1: e) {
            self = p
        } else {
            return nil
        }
    }

    /// The same point as a `GroupElement`, through its validating decoder in whichever form
    /// `GroupElement` encodes.
    func groupElement() throws -> GroupElement {
        if isIdentity { return GroupElement.identity }
        let encoding = GroupElement.byteCount == 65 ? uncompressedEncoding : compressedEncoding
        return try GroupElement(encoding: encoding)
    }
}

/// A point in Jacobian coordinates (X, Y, Z) ↦ (X/Z², Y/Z³); Z = 0 is the identity.
struct JacobianPoint: Sendable {
    var x: FieldElement
    var y: FieldElement
    var z: FieldElement

    @inline(__always)
    init(x: FieldElement, y: FieldElement, z: FieldElement) {
        self.x = x
        self.y = y
        self.z = z
    }

    @inline(__always)
    init(_ p: AffinePoint) {
        self = p.isIdentity ? .identity : JacobianPoint(x: p.x, y: p.y, z: .one)
    }

    static let identity = JacobianPoint(x: .one, y: .one, z: .zero)

    @inline(__always)
    var isIdentity: Bool { z.isZero }

    @inline(__always)
    var negated: JacobianPoint { JacobianPoint(x: x, y: -y, z: z) }

    @inline(__always)
    static prefix func - (p: JacobianPoint) -> JacobianPoint { p.negated }

    /// 2P with a = −3: "dbl-2001-b" (Bernstein 2001, Explicit-Formulas Database), 3M + 5S,
    /// with Z3 = 2·Y·Z (one multiplication instead of a square and three subtractions).
    @inline(__always)
    func doubled() -> JacobianPoint {
        if isIdentity { return self }
        let delta = z.squared()
        let gamma = y.squared()
        let beta = x * gamma
        let t = (x - delta) * (x + delta)
        let alpha = t.doubled + t
        let beta4 = beta.doubled.doubled
        let x3 = alpha.squared() - beta4.doubled
        let z3 = (y * z).doubled
        let gamma2 = gamma.squared()
        let y3 = alpha * (beta4 - x3) - gamma2.doubled.doubled.doubled
        return JacobianPoint(x: x3, y: y3, z: z3)
    }

    /// 2^k·P
    @inline(__always)
    func doubled(times k: Int) -> JacobianPoint {
        var r = self
        for _ in 0..<k { r = r.doubled() }
        return r
    }

    /// P + Q for affine Q: "madd-2004-hmv" (Hankerson–Menezes–Vanstone, Explicit-Formulas
    /// Database), 8M + 3S; fewer additions than madd-2007-bl, which measured slower here. The
    /// identity, P = Q and P = −Q cases are handled.
    @inline(__always)
    func adding(_ q: AffinePoint) -> JacobianPoint {
        if q.isIdentity { return self }
        if isIdentity { return JacobianPoint(x: q.x, y: q.y, z: .one) }
        let zz = z.squared()
        let h = q.x * zz - x
        let r = q.y * (zz * z) - y
        if h.isZero {
            // Same x: either the same point (double) or its negation (identity).
            return r.isZero ? doubled() : .identity
        }
        let z3 = z * h
        let hh = h.squared()
        let hhh = hh * h
        let v = hh * x
        let x3 = r.squared() - hhh - v.doubled
        let y3 = (v - x3) * r - hhh * y
        return JacobianPoint(x: x3, y: y3, z: z3)
    }

    /// P + Q: "add-1998-cmo-2" (Cohen–Miyaji–Ono, Explicit-Formulas Database), 12M + 4S; fewer
    /// additions than add-2007-bl, which measured slower here. The identity, P = Q and P = −Q
    /// cases are handled.
    @inline(__always)
    func adding(_ q: JacobianPoint) -> JacobianPoint {
        if q.isIdentity { return self }
        if isIdentity { return q }
        let z1z1 = z.squared()
        let z2z2 = q.z.squared()
        let u1 = x * z2z2
        let u2 = q.x * z1z1
        let s1 = y * (q.z * z2z2)
        let s2 = q.y * (z * z1z1)
        let h = u2 - u1
        let r = s2 - s1
        if h.isZero {
            return r.isZero ? doubled() : .identity
        }
        let hh = h.squared()
        let hhh = hh * h
        let v = u1 * hh
        let x3 = r.squared() - hhh - v.doubled
        let y3 = r * (v - x3) - s1 * hhh
        let z3 = z * q.z * h
        return JacobianPoint(x: x3, y: y3, z: z3)
    }

    @inline(__always)
    static func + (p: JacobianPoint, q: JacobianPoint) -> JacobianPoint { p.adding(q) }

    @inline(__always)
    static func + (p: JacobianPoint, q: AffinePoint) -> JacobianPoint { p.adding(q) }

    @inline(__always)
    static func - (p: JacobianPoint, q: JacobianPoint) -> JacobianPoint { p.adding(q.negated) }

    /// Affine form with one field inversion.
    var affine: AffinePoint {
        guard !isIdentity else { return .identity }
        let zi = z.inverse
        let zi2 = zi.squared()
        return AffinePoint(x: x * zi2, y: y * zi2 * zi)
    }

    /// Affine forms of many points with a single field inversion (Montgomery's trick).
    static func batchNormalize(_ points: [JacobianPoint]) -> [AffinePoint] {
        var zs = points.map(\.z)
        FieldElement.batchInvert(&zs)
        var out: [AffinePoint] = []
        out.reserveCapacity(points.count)
        for (p, zi) in zip(points, zs) {
            if p.isIdentity {
                out.append(.identity)
            } else {
                let zi2 = zi.squared()
                out.append(AffinePoint(x: p.x * zi2, y: p.y * zi2 * zi))
            }
        }
        return out
    }

    /// The same point as a `GroupElement` (one inversion, then the validating decoder).
    func groupElement() throws -> GroupElement { try affine.groupElement() }
}

extension JacobianPoint: Equatable {
    /// Compares X1·Z2² with X2·Z1² and Y1·Z2³ with Y2·Z1³: no inversion.
    static func == (p: JacobianPoint, q: JacobianPoint) -> Bool {
        if p.isIdentity || q.isIdentity { return p.isIdentity && q.isIdentity }
        let pz2 = p.z.squared()
        let qz2 = q.z.squared()
        guard p.x * qz2 == q.x * pz2 else { return false }
        return p.y * qz2 * q.z == q.y * pz2 * p.z
    }
}
