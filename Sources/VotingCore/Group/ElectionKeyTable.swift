internal import COpenSSL
import Synchronization

/// s·K for one election key K, for secret s (ElGamal nonces, proof nonces): the voter's side
/// of every ballot multiplies K by secrets, so this is where encryption spends its time.
///
/// Once built, the table is a second OpenSSL EC_GROUP on P-256 whose generator is K, with
/// OpenSSL's precomputed multiples of that generator (`EC_GROUP_set_generator` +
/// `EC_GROUP_precompute_mult`). `EC_POINT_mul(groupK, out, s, NULL, NULL, ctx)` then takes
/// the same path as s·G on the standard group. Constant time, from the OpenSSL 3.0 source
/// (crypto/ec/ecp_nistz256.c, the method `EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)`
/// gets on x86-64 and aarch64 builds with assembly; `P256Group.usesNistz256` checks it here):
/// `ecp_nistz256_points_mul` accepts a precomputed table only after comparing its first entry
/// with the group's generator, and then walks 37 rows of 64 multiples with Booth-recoded 7-bit
/// windows, reading each row with `ecp_nistz256_gather_w7` (touches every entry, selects by
/// mask) and adding with `ecp_nistz256_point_add_affine`: no branch and no address depends on
/// s. On a libcrypto without that method the generic code sends a single generator scalar to
/// `ossl_ec_scalar_mul_ladder` (a Montgomery ladder, also constant time) and only the speed is
/// lost. Points made in groupK carry the same EC_METHOD and curve as the standard group's
/// (`ec_point_is_compat`), so they are ordinary `GroupElement`s.
///
/// Building the table costs tens of milliseconds (docs/performance.md), more than one ballot
/// saves, so `forEncrypting(to:)` builds it at the second ballot encrypted to a key in this
/// process; until then s·K is OpenSSL's constant-time single-point multiplication.
final class ElectionKeyTable: @unchecked Sendable {
    // @unchecked: the EC_GROUP is only read after init; OpenSSL allows concurrent read-only use.
    let key: GroupElement
    private let keyGroup: OpaquePointer?
    /// How long building the table took (zero without one).
    let buildTime: Duration

    /// `precompute: false` gives the plain multiplier (no table); results are the same.
    init(key: GroupElement, precompute: Bool) throws {
        self.key = key
        guard precompute, !key.isIdentity else {
            keyGroup = nil
            buildTime = .zero
            return
        }
        let started = ContinuousClock.now
        guard let group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1) else { throw CryptoError.fromQueue("EC_GROUP_new_by_curve_name") }
        do {
            let ctx = try BigNumContext()
            let cofactor = try BigNum(bytes: [1])
            try check(EC_GROUP_set_generator(group, key.box.pointer, P256Group.shared.order, cofactor.pointer), "EC_GROUP_set_generator")
            try check(EC_GROUP_precompute_mult(group, ctx.pointer), "EC_GROUP_precompute_mult")
        } catch {
            EC_GROUP_free(group)
            throw error
        }
        keyGroup = group
        buildTime = ContinuousClock.now - started
    }

    deinit { if let g = keyGroup { EC_GROUP_free(g) } }

    var hasTable: Bool { keyGroup != nil }

    /// s·K, constant time in s (see the type's comment); the identity for s = 0.
    func times(_ s: Scalar) -> GroupElement {
        guard let group = keyGroup else { return s * key }
        do {
            let ctx = try BigNumContext()
            let result = try ECPointBox()
            let sn = try BigNum(bytes: s.bytes)
            try check(EC_POINT_mul(group, result.pointer, sn.pointer, nil, nil, ctx.pointer), "EC_POINT_mul")
            return try GroupElement(box: result)
        } catch {
            preconditionFailure("EC_POINT_mul failed on valid inputs: \(error)")
        }
    }

    // MARK: one table per election key per process

    private struct Cache {
        var tables: [[UInt8]: ElectionKeyTable] = [:]
        var uses: [[UInt8]: Int] = [:]
    }
    private static let cache = Mutex(Cache())
    /// A process encrypts for one election, or a few in tests; a table is about 150 KB.
    static let cacheLimit = 4

    /// The multiplier for encrypting to `key`: the cached table, built at the key's second use
    /// in this process (a voter casting one ballot never pays for it).
    static func forEncrypting(to key: GroupElement) -> ElectionKeyTable {
        let id = key.encoding
        let build: Bool = cache.withLock { c in
            if c.tables[id] != nil { return false }
            c.uses[id, default: 0] += 1
            return c.uses[id, default: 0] >= 2
        }
        if !build, let table = cache.withLock({ $0.tables[id] }) { return table }
        if build, let table = try? prepared(for: key) { return table }
        // Only allocation failure leaves us without a table: the plain multiplication is as safe.
        return (try? ElectionKeyTable(key: key, precompute: false)) ?? plainFallback(key)
    }

    /// Builds (or finds) the table for `key` now, for a process that knows it will encrypt many ballots.
    static func prepared(for key: GroupElement) throws -> ElectionKeyTable {
        let id = key.encoding
        if let table = cache.withLock({ $0.tables[id] }) { return table }
        // Built outside the lock: tens of milliseconds; a concurrent builder's table is dropped.
        let table = try ElectionKeyTable(key: key, precompute: true)
        return cache.withLock { c in
            if let existing = c.tables[id] { return existing }
            if c.tables.count >= cacheLimit {
                c.tables.removeAll()
                c.uses.removeAll()
            }
            c.tables[id] = table
            return table
        }
    }

    private static func plainFallback(_ key: GroupElement) -> ElectionKeyTable {
        do { return try ElectionKeyTable(key: key, precompute: false) } catch {
            preconditionFailure("cannot allocate a multiplier: \(error)")
        }
    }
}

extension P256Group {
    /// Whether libcrypto gave P-256 the nistz256 method (assembly, constant time for every
    /// multiplication, hard-coded table for G). Only that method reports a precomputed table
    /// for a freshly made group: the generic wNAF and the nistp256 methods report one only after
    /// `EC_GROUP_precompute_mult`.
    var usesNistz256: Bool { EC_GROUP_have_precompute_mult(group) == 1 }
}

/// `bit` 0 gives `a`, 1 gives `b`, by masking every byte: no branch and no address depends on
/// `bit` (how a secret vote picks between two values computed either way).
@inline(never)
func constantTimeSelect(_ bit: UInt8, _ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
    precondition(a.count == b.count, "selecting between values of one size")
    let mask = 0 &- (bit & 1)
    var out = [UInt8](repeating: 0, count: a.count)
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            for i in 0..<pa.count { out[i] = (pa[i] & ~mask) | (pb[i] & mask) }
        }
    }
    return out
}

extension GroupElement {
    /// `a` for bit 0, `b` for bit 1, selected on the encodings (both are computed by the caller).
    static func select(_ bit: UInt8, _ a: GroupElement, _ b: GroupElement) -> GroupElement {
        do {
            return try GroupElement(encodingAllowingIdentity: constantTimeSelect(bit, a.encoding, b.encoding))
        } catch {
            // Both are encodings OpenSSL produced for points of the curve.
            preconditionFailure("an encoding OpenSSL produced did not decode: \(error)")
        }
    }
}

extension Scalar {
    /// `a` for bit 0, `b` for bit 1, without a branch on `bit`.
    static func select(_ bit: UInt8, _ a: Scalar, _ b: Scalar) -> Scalar {
        Scalar(trusted: constantTimeSelect(bit, a.bytes, b.bytes))
    }
}

/// Raw OpenSSL multiplication costs measured in this process, so that an encryption time can be
/// reported as a ratio to them (the machine is shared and its speed drifts between runs).
public struct RawMultiplicationCost: Sendable, Codable {
    /// s·G through OpenSSL's built-in table for G (µs).
    public let fixedBaseMicros: Double
    /// s·K through the election key's table (µs).
    public let keyTableMicros: Double
    /// s·K without a table: OpenSSL's windowed variable-base multiplication (µs).
    public let variableBaseMicros: Double

    enum CodingKeys: String, CodingKey {
        case fixedBaseMicros = "fixed_base_g_us"
        case keyTableMicros = "key_table_us"
        case variableBaseMicros = "variable_base_us"
    }

    /// Times `iterations` of each on random scalars (the key's table is built first if needed).
    public static func measure(electionKey: GroupElement, iterations: Int = 200) throws -> RawMultiplicationCost {
        let table = try ElectionKeyTable.prepared(for: electionKey)
        let plain = try ElectionKeyTable(key: electionKey, precompute: false)
        let scalars = try (0..<iterations).map { _ in try Scalar.random() }
        var sink = 0
        func time(_ body: (Scalar) -> GroupElement) -> Double {
            let started = ContinuousClock.now
            for s in scalars { sink &+= Int(body(s).encoding[64]) }
            let d = ContinuousClock.now - started
            return (Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12) / Double(scalars.count)
        }
        let g = time { .base($0) }
        let k = time { table.times($0) }
        let v = time { plain.times($0) }
        withExtendedLifetime(sink) {}
        return RawMultiplicationCost(fixedBaseMicros: g, keyTableMicros: k, variableBaseMicros: v)
    }
}
