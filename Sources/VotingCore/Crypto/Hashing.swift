internal import COpenSSL
public import Foundation

/// SHA-256 over OpenSSL (FIPS 180-4).
public enum SHA256 {
    public static let byteCount = 32

    /// One-shot digest of `data`.
    public static func hash(_ data: some ContiguousBytes) -> Digest {
        var out = [UInt8](repeating: 0, count: byteCount)
        data.withUnsafeBytes { raw in
            _ = COpenSSL.SHA256(raw.baseAddress?.assumingMemoryBound(to: UInt8.self), raw.count, &out)
        }
        return Digest(trusted: out)
    }

    /// One-shot digest of the concatenation of `parts` without copying them together.
    public static func hash(parts: [[UInt8]]) -> Digest {
        let hasher = Hasher()
        for part in parts { hasher.update(part) }
        return hasher.finalize()
    }

    /// Streaming SHA-256 (EVP_MD_CTX). Not shared between threads.
    public final class Hasher {
        private let ctx: OpaquePointer
        private var finished = false

        public init() {
            // EVP_MD_CTX_new fails only on allocation failure, which Swift treats as fatal anyway.
            guard let ctx = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new: out of memory") }
            self.ctx = ctx
            EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        }

        deinit { EVP_MD_CTX_free(ctx) }

        public func update(_ data: some ContiguousBytes) {
            precondition(!finished, "SHA256.Hasher used after finalize()")
            data.withUnsafeBytes { raw in
                _ = EVP_DigestUpdate(ctx, raw.baseAddress, raw.count)
            }
        }

        public func finalize() -> Digest {
            precondition(!finished, "SHA256.Hasher finalized twice")
            finished = true
            var out = [UInt8](repeating: 0, count: SHA256.byteCount)
            var length: UInt32 = 0
            EVP_DigestFinal_ex(ctx, &out, &length)
            return Digest(trusted: out)
        }
    }
}

/// HMAC-SHA-256 (RFC 2104) over OpenSSL.
public enum HMACSHA256 {
    public static func authenticate(_ message: some ContiguousBytes, key: some ContiguousBytes) -> Digest {
        var out = [UInt8](repeating: 0, count: SHA256.byteCount)
        var length: UInt32 = 0
        key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                _ = HMAC(EVP_sha256(), k.baseAddress, Int32(k.count),
                         m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count, &out, &length)
            }
        }
        return Digest(trusted: out)
    }
}

/// Cryptographically secure random bytes from OpenSSL's DRBG.
public enum SecureRandom {
    public static func bytes(_ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        try check(RAND_bytes(&out, Int32(count)), "RAND_bytes")
        return out
    }
}

/// Constant-time equality for secrets (CRYPTO_memcmp); lengths are not secret.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    if a.isEmpty { return true }
    return a.withUnsafeBytes { pa in
        b.withUnsafeBytes { pb in CRYPTO_memcmp(pa.baseAddress, pb.baseAddress, a.count) == 0 }
    }
}

/// PBKDF2-HMAC-SHA-256 (RFC 8018 §5.2) over OpenSSL: the slow, salted hash of enrollment
/// codes (docs/protocol.md §8.2).
public enum PBKDF2SHA256 {
    public static func derive(password: [UInt8], salt: [UInt8], iterations: Int, length: Int = 32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: length)
        // PKCS5_PBKDF2_HMAC fails only on allocation failure or a zero/negative length, neither reachable here.
        let ok = password.withUnsafeBufferPointer { p in
            salt.withUnsafeBufferPointer { s in
                PKCS5_PBKDF2_HMAC(p.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }, Int32(p.count),
                                  s.baseAddress, Int32(s.count), Int32(iterations), EVP_sha256(), Int32(length), &out)
            }
        }
        precondition(ok == 1, "PKCS5_PBKDF2_HMAC failed")
        return out
    }
}
