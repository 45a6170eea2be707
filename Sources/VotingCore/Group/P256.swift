internal import COpenSSL
import Synchronization

/// NIST P-256 (secp256r1) through OpenSSL's EC_GROUP. The group object is created once and
/// only read afterwards; OpenSSL documents EC_GROUP as safe to share for read-only use.
final class P256Group: @unchecked Sendable {
    static let shared = P256Group()

    let group: OpaquePointer
    let order: OpaquePointer

    private init() {
        // Failing to construct a built-in curve means libcrypto itself is broken.
        guard let group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1), let order = EC_GROUP_get0_order(group) else {
            preconditionFailure("OpenSSL has no P-256 group")
        }
        self.group = group
        self.order = order
    }
}

/// Owns a BIGNUM; cleared on free because scalars may be secret.
final class BigNum {
    let pointer: OpaquePointer
    init() throws {
        guard let p = BN_new() else { throw CryptoError.fromQueue("BN_new") }
        pointer = p
    }
    init(bytes: [UInt8]) throws {
        guard let p = BN_bin2bn(bytes, Int32(bytes.count), nil) else { throw CryptoError.fromQueue("BN_bin2bn") }
        pointer = p
    }
    deinit { BN_clear_free(pointer) }

    func bytes32() throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        guard BN_bn2binpad(pointer, &out, 32) == 32 else { throw CryptoError.fromQueue("BN_bn2binpad") }
        return out
    }
}

/// Owns a BN_CTX for one operation.
final class BigNumContext {
    let pointer: OpaquePointer
    init() throws {
        guard let p = BN_CTX_new() else { throw CryptoError.fromQueue("BN_CTX_new") }
        pointer = p
    }
    deinit { BN_CTX_free(pointer) }
}

/// An integer modulo the P-256 group order n, as 32 big-endian bytes. Values from outside
/// must be < n (docs/protocol.md, group encodings).
public struct Scalar: Sendable, Hashable, Codable, CustomStringConvertible {
    public static let byteCount = 32
    public let bytes: [UInt8]

    init(trusted bytes: [UInt8]) { self.bytes = bytes }

    /// Validating: exactly 32 bytes and < n.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32, Self.isBelowOrder(bytes) else { return nil }
        self.bytes = bytes
    }

    public init?(hex: String) {
        guard let b = Hex.decode(hex) else { return nil }
        self.init(bytes: b)
    }

    public init(_ value: UInt64) {
        var b = [UInt8](repeating: 0, count: 32)
        for i in 0..<8 { b[31 - i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        bytes = b
    }

    /// Reduces any byte string modulo n (used for hashing to a scalar).
    public init(reducing data: [UInt8]) throws {
        let ctx = try BigNumContext()
        let value = try BigNum(bytes: data)
        let result = try BigNum()
        try check(BN_nnmod(result.pointer, value.pointer, P256Group.shared.order, ctx.pointer), "BN_nnmod")
        bytes = try result.bytes32()
    }

    /// Uniform in [1, n) from OpenSSL's private DRBG.
    public static func random() throws -> Scalar {
        let r = try BigNum()
        repeat {
            try check(BN_priv_rand_range(r.pointer, P256Group.shared.order), "BN_priv_rand_range")
        } while BN_is_zero(r.pointer) == 1
        return Scalar(trusted: try r.bytes32())
    }

    public static let zero = Scalar(0)
    public static let one = Scalar(1)

    public var isZero: Bool { bytes.allSatisfy { $0 == 0 } }
    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    static func isBelowOrder(_ b: [UInt8]) -> Bool {
        // n = FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
        for (x, y) in zip(b, orderBytes) where x != y { return x < y }
        return false
    }

    static let orderBytes: [UInt8] = Hex.decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551") ?? []

    private func binary(_ other: Scalar, _ op: (OpaquePointer, OpaquePointer, OpaquePointer, OpaquePointer, OpaquePointer) -> Int32, _ name: String) -> Scalar {
        do {
            let ctx = try BigNumContext()
            let a = try BigNum(bytes: bytes)
            let b = try BigNum(bytes: other.bytes)
            let r = try BigNum()
            try check(op(r.pointer, a.pointer, b.pointer, P256Group.shared.order, ctx.pointer), name)
            return Scalar(trusted: try r.bytes32())
        } catch {
            // Only allocation failure reaches here (inputs are already < n).
            preconditionFailure("\(name) failed: \(error)")
        }
    }

    public static func + (a: Scalar, b: Scalar) -> Scalar { a.binary(b, { BN_mod_add($0, $1, $2, $3, $4) }, "BN_mod_add") }
    public static func - (a: Scalar, b: Scalar) -> Scalar { a.binary(b, { BN_mod_sub($0, $1, $2, $3, $4) }, "BN_mod_sub") }
    public static func * (a: Scalar, b: Scalar) -> Scalar { a.binary(b, { BN_mod_mul($0, $1, $2, $3, $4) }, "BN_mod_mul") }
    public static prefix func - (a: Scalar) -> Scalar { Scalar.zero - a }

    /// Multiplicative inverse mod n; nil for zero.
    public var inverse: Scalar? {
        guard !isZero else { return nil }
        do {
            let ctx = try BigNumContext()
            let a = try BigNum(bytes: bytes)
            guard let r = BN_mod_inverse(nil, a.pointer, P256Group.shared.order, ctx.pointer) else { return nil }
            defer { BN_clear_free(r) }
            var out = [UInt8](repeating: 0, count: 32)
            guard BN_bn2binpad(r, &out, 32) == 32 else { return nil }
            return Scalar(trusted: out)
        } catch {
            return nil
        }
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let s = Scalar(hex: try c.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a P-256 scalar: 64 lowercase hex digits, below the group order")
        }
        self = s
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}

/// Owns an EC_POINT. The point is immutable after construction. A point computed by OpenSSL
/// gets its encoding on first use (converting to affine coordinates costs a field inversion,
/// which intermediate results of a proof check never need). A point decoded from the wire is
/// validated by the pure-Swift code (Group/Fast) and keeps that affine form for batch
/// verification; its EC_POINT is made only if OpenSSL arithmetic ever needs it (a record's
/// ballots are checked without it).
final class ECPointBox: @unchecked Sendable {
    private struct State {
        var pointer: OpaquePointer?
        var encoding: [UInt8]?
    }
    private let state: Mutex<State>
    /// The validated affine point, for points decoded from bytes.
    let affine: AffinePoint?

    init() throws {
        guard let p = EC_POINT_new(P256Group.shared.group) else { throw CryptoError.fromQueue("EC_POINT_new") }
        state = Mutex(State(pointer: p, encoding: nil))
        affine = nil
    }

    /// A point already validated from its 65-byte encoding (on the curve, coordinates < p,
    /// not the identity).
    init(validated encoding: [UInt8], affine: AffinePoint) {
        state = Mutex(State(pointer: nil, encoding: encoding))
        self.affine = affine
    }

    deinit {
        state.withLock { if let p = $0.pointer { EC_POINT_free(p) } }
    }

    /// The EC_POINT, made from the validated encoding on first use.
    var pointer: OpaquePointer {
        state.withLock { s in
            if let p = s.pointer { return p }
            let g = P256Group.shared.group
            guard let p = EC_POINT_new(g), let e = s.encoding,
                  EC_POINT_oct2point(g, p, e, e.count, nil) == 1 else {
                // Only memory exhaustion gets here: the encoding was validated on decoding.
                preconditionFailure("EC_POINT from a validated encoding failed")
            }
            s.pointer = p
            return p
        }
    }

    var encoding: [UInt8] {
        if let e = state.withLock({ $0.encoding }) { return e }
        let g = P256Group.shared.group
        let p = pointer
        var out = [UInt8](repeating: 0, count: GroupElement.byteCount)
        if EC_POINT_is_at_infinity(g, p) == 0 {
            // point2oct fails only for the identity, handled above.
            _ = EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, &out, GroupElement.byteCount, nil)
        }
        state.withLock { $0.encoding = out }
        return out
    }
}

/// A P-256 group element. On the wire and in hashes: 65-byte SEC1 uncompressed encoding
/// `04 || x || y` (docs/protocol.md §11.2). Decoding checks x, y < p, that the point is on
/// the curve and that it is not the identity.
public struct GroupElement: Sendable, Hashable, Codable, CustomStringConvertible {
    public static let byteCount = 65
    let box: ECPointBox

    /// SEC1 uncompressed encoding; 65 zero bytes for the identity (never accepted on input).
    public var encoding: [UInt8] { box.encoding }

    init(box: ECPointBox) throws {
        self.box = box
    }

    /// Validating decoder: 65-byte uncompressed SEC1, x and y below p, on the curve, not the
    /// identity (OpenSSL's oct2point refuses coordinates ≥ p).
    public init(encoding bytes: [UInt8]) throws {
        guard bytes.count == Self.byteCount, bytes[0] == 0x04 else {
            throw CryptoError.invalidEncoding("a group element is a 65-byte uncompressed SEC1 point (04 || x || y)")
        }
        // x, y < p and y² = x³ − 3x + b, checked by the pure-Swift field code (tested against
        // OpenSSL and the Wycheproof points); (0, 0), the identity's form, is not on the curve.
        guard let point = AffinePoint(uncompressed: bytes) else {
            throw CryptoError.invalidEncoding("not a valid non-identity point on P-256")
        }
        box = ECPointBox(validated: bytes, affine: point)
    }

    public init?(hex: String) {
        guard let b = Hex.decode(hex), let p = try? GroupElement(encoding: b) else { return nil }
        self = p
    }

    /// Like `init(encoding:)`, but also accepts the identity as 65 zero bytes: only for sums
    /// (aggregate ciphertexts) and values derived from them (partial decryptions), where
    /// colluding voters can make a component vanish (docs/protocol.md §11.2).
    public init(encodingAllowingIdentity bytes: [UInt8]) throws {
        if bytes.count == Self.byteCount && bytes.allSatisfy({ $0 == 0 }) {
            self = GroupElement.identity
        } else {
            try self.init(encoding: bytes)
        }
    }

    public var isIdentity: Bool {
        if box.affine != nil { return false }
        return EC_POINT_is_at_infinity(P256Group.shared.group, box.pointer) == 1
    }
    public var hex: String { Hex.encode(encoding) }
    public var description: String { hex }

    public static func == (a: Self, b: Self) -> Bool { a.encoding == b.encoding }
    public func hash(into hasher: inout Swift.Hasher) { hasher.combine(encoding) }

    /// Computes g*G + p*P (either term optional) in one OpenSSL call.
    static func multiply(generator g: Scalar?, point: GroupElement?, scalar p: Scalar?) -> GroupElement {
        do {
            let ctx = try BigNumContext()
            let result = try ECPointBox()
            let gn = try g.map { try BigNum(bytes: $0.bytes) }
            let pn = try p.map { try BigNum(bytes: $0.bytes) }
            try check(EC_POINT_mul(P256Group.shared.group, result.pointer, gn?.pointer, point?.box.pointer, pn?.pointer, ctx.pointer),
                      "EC_POINT_mul")
            return try GroupElement(box: result)
        } catch {
            preconditionFailure("EC_POINT_mul failed on valid inputs: \(error)")
        }
    }

    public static let generator: GroupElement = multiply(generator: .one, point: nil, scalar: nil)

    /// s*G
    public static func base(_ s: Scalar) -> GroupElement { multiply(generator: s, point: nil, scalar: nil) }

    /// s*P
    public static func * (s: Scalar, p: GroupElement) -> GroupElement { multiply(generator: nil, point: p, scalar: s) }

    /// g*G + s*P
    public static func linear(_ g: Scalar, _ s: Scalar, _ p: GroupElement) -> GroupElement {
        multiply(generator: g, point: p, scalar: s)
    }

    /// g*G + Σ s_i*P_i in one multi-scalar multiplication (shared doublings).
    public static func combination(generator g: Scalar?, _ terms: [(Scalar, GroupElement)]) -> GroupElement {
        do {
            let ctx = try BigNumContext()
            let result = try ECPointBox()
            let gn = try g.map { try BigNum(bytes: $0.bytes) }
            let scalars = try terms.map { try BigNum(bytes: $0.0.bytes) }
            var points: [OpaquePointer?] = terms.map { $0.1.box.pointer }
            var bns: [OpaquePointer?] = scalars.map { $0.pointer }
            let ok = points.withUnsafeMutableBufferPointer { p in
                bns.withUnsafeMutableBufferPointer { b in
                    evote_ec_points_mul(P256Group.shared.group, result.pointer, gn?.pointer, terms.count,
                                        p.baseAddress, b.baseAddress, ctx.pointer)
                }
            }
            try check(ok, "EC_POINTs_mul")
            withExtendedLifetime((terms, scalars)) {}
            return try GroupElement(box: result)
        } catch {
            preconditionFailure("EC_POINTs_mul failed on valid inputs: \(error)")
        }
    }

    public static func + (a: GroupElement, b: GroupElement) -> GroupElement {
        do {
            let ctx = try BigNumContext()
            let result = try ECPointBox()
            try check(EC_POINT_add(P256Group.shared.group, result.pointer, a.box.pointer, b.box.pointer, ctx.pointer), "EC_POINT_add")
            return try GroupElement(box: result)
        } catch {
            preconditionFailure("EC_POINT_add failed on valid inputs: \(error)")
        }
    }

    public static prefix func - (a: GroupElement) -> GroupElement {
        do {
            let ctx = try BigNumContext()
            let result = try ECPointBox()
            try check(EC_POINT_copy(result.pointer, a.box.pointer), "EC_POINT_copy")
            try check(EC_POINT_invert(P256Group.shared.group, result.pointer, ctx.pointer), "EC_POINT_invert")
            return try GroupElement(box: result)
        } catch {
            preconditionFailure("EC_POINT_invert failed on valid inputs: \(error)")
        }
    }

    public static func - (a: GroupElement, b: GroupElement) -> GroupElement { a + (-b) }

    /// Σ points, accumulated in one EC_POINT (no per-step encoding): the tally's hot loop.
    public static func sum<C: Collection<GroupElement>>(_ points: C) -> GroupElement {
        do {
            let ctx = try BigNumContext()
            let acc = try ECPointBox()
            let g = P256Group.shared.group
            try check(EC_POINT_set_to_infinity(g, acc.pointer), "EC_POINT_set_to_infinity")
            for p in points {
                try check(EC_POINT_add(g, acc.pointer, acc.pointer, p.box.pointer, ctx.pointer), "EC_POINT_add")
            }
            return try GroupElement(box: acc)
        } catch {
            preconditionFailure("EC_POINT_add failed on valid inputs: \(error)")
        }
    }

    public static var identity: GroupElement { base(.zero) }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let p = GroupElement(hex: try c.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a P-256 point: 130 lowercase hex digits, uncompressed SEC1 (04 || x || y), on the curve, not the identity")
        }
        self = p
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(hex)
    }
}
