internal import COpenSSL

/// Modular arithmetic on big-endian byte strings through OpenSSL's BIGNUM: the independent
/// reference the pure-Swift field and scalar code is tested against (the test target cannot
/// import COpenSSL itself). Slow; not for production paths.
enum BigNumReference {
    /// p = 2^256 − 2^224 + 2^192 + 2^96 − 1, big-endian.
    static let fieldPrime: [UInt8] = Hex.decode("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff") ?? []
    /// n, the group order, big-endian.
    static let groupOrder: [UInt8] = Scalar.orderBytes

    enum Operation {
        case add, subtract, multiply, exponentiate
    }

    /// a ∘ b mod m as 32 big-endian bytes; nil if OpenSSL fails.
    static func compute(_ op: Operation, _ a: [UInt8], _ b: [UInt8], modulus m: [UInt8]) -> [UInt8]? {
        guard let ctx = try? BigNumContext(), let x = try? BigNum(bytes: a), let y = try? BigNum(bytes: b),
              let mod = try? BigNum(bytes: m), let r = try? BigNum() else { return nil }
        let ok: Int32
        switch op {
        case .add: ok = BN_mod_add(r.pointer, x.pointer, y.pointer, mod.pointer, ctx.pointer)
        case .subtract: ok = BN_mod_sub(r.pointer, x.pointer, y.pointer, mod.pointer, ctx.pointer)
        case .multiply: ok = BN_mod_mul(r.pointer, x.pointer, y.pointer, mod.pointer, ctx.pointer)
        case .exponentiate: ok = BN_mod_exp(r.pointer, x.pointer, y.pointer, mod.pointer, ctx.pointer)
        }
        guard ok == 1 else {
            ERR_clear_error()
            return nil
        }
        return try? r.bytes32()
    }

    /// a⁻¹ mod m; nil for zero or failure.
    static func inverse(_ a: [UInt8], modulus m: [UInt8]) -> [UInt8]? {
        guard let ctx = try? BigNumContext(), let x = try? BigNum(bytes: a), let mod = try? BigNum(bytes: m),
              let r = BN_mod_inverse(nil, x.pointer, mod.pointer, ctx.pointer) else {
            ERR_clear_error()
            return nil
        }
        defer { BN_free(r) }
        var out = [UInt8](repeating: 0, count: 32)
        guard BN_bn2binpad(r, &out, 32) == 32 else { return nil }
        return out
    }

    /// Whether y² ≡ x³ − 3x + b (mod p) for the given big-endian coordinates (each < p assumed).
    static func isOnCurve(x: [UInt8], y: [UInt8]) -> Bool {
        let b = Hex.decode("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b") ?? []
        let three = [UInt8](repeating: 0, count: 31) + [3]
        let p = fieldPrime
        guard let x2 = compute(.multiply, x, x, modulus: p), let x3 = compute(.multiply, x2, x, modulus: p),
              let threeX = compute(.multiply, three, x, modulus: p), let t = compute(.subtract, x3, threeX, modulus: p),
              let rhs = compute(.add, t, b, modulus: p), let lhs = compute(.multiply, y, y, modulus: p) else { return false }
        return lhs == rhs
    }
}

/// SEC1 decoding through OpenSSL's EC_POINT_oct2point: the independent reference the
/// pure-Swift decoder (which `GroupElement` now uses) is tested against. Slow; tests only.
enum OpenSSLPointReference {
    /// The 65-byte uncompressed encoding of the point OpenSSL decodes from `bytes` (33-byte
    /// compressed or 65-byte uncompressed), or nil when OpenSSL refuses it or it is the identity.
    static func decode(_ bytes: [UInt8]) -> [UInt8]? {
        let g = P256Group.shared.group
        guard let p = EC_POINT_new(g) else { return nil }
        defer { EC_POINT_free(p) }
        guard EC_POINT_oct2point(g, p, bytes, bytes.count, nil) == 1,
              EC_POINT_is_on_curve(g, p, nil) == 1, EC_POINT_is_at_infinity(g, p) == 0 else {
            ERR_clear_error()
            return nil
        }
        var out = [UInt8](repeating: 0, count: 65)
        guard EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, &out, 65, nil) == 65 else {
            ERR_clear_error()
            return nil
        }
        return out
    }
}
