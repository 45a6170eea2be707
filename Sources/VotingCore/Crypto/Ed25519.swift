internal import COpenSSL
import Foundation

/// Owns one EVP_PKEY. Immutable after init and only read by OpenSSL calls that are
/// thread-safe on a shared key (EVP_DigestSign/Verify on a per-call EVP_MD_CTX), so
/// sharing it across tasks is safe.
final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
    deinit { EVP_PKEY_free(pointer) }
}

/// An Ed25519 signature (RFC 8032), 64 bytes.
public struct Ed25519Signature: FixedBytes {
    public static let byteCount = 64
    public let bytes: [UInt8]
    public init(trusted bytes: [UInt8]) { self.bytes = bytes }
}

/// An Ed25519 public key, 32 bytes. Parsing through OpenSSL happens once, on first use.
public struct Ed25519PublicKey: Sendable, Hashable, Codable, CustomStringConvertible {
    public static let byteCount = 32
    public let rawRepresentation: [UInt8]
    private let key: EVPKey

    public init(rawRepresentation raw: [UInt8]) throws {
        guard raw.count == Self.byteCount else {
            throw CryptoError.invalidEncoding("Ed25519 public key must be 32 bytes, got \(raw.count)")
        }
        guard let pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, raw, raw.count) else {
            throw CryptoError.fromQueue("EVP_PKEY_new_raw_public_key")
        }
        self.rawRepresentation = raw
        self.key = EVPKey(pkey)
    }

    init(evp: EVPKey) throws {
        var raw = [UInt8](repeating: 0, count: Self.byteCount)
        var length = raw.count
        try check(EVP_PKEY_get_raw_public_key(evp.pointer, &raw, &length), "EVP_PKEY_get_raw_public_key")
        guard length == Self.byteCount else { throw CryptoError.invalidEncoding("public key length \(length)") }
        self.rawRepresentation = raw
        self.key = evp
    }

    public init?(hex: String) {
        guard let raw = Hex.decode(hex), let key = try? Ed25519PublicKey(rawRepresentation: raw) else { return nil }
        self = key
    }

    /// Parses a SubjectPublicKeyInfo PEM ("PUBLIC KEY") holding an Ed25519 key.
    public init(pemRepresentation pem: String) throws {
        let evp = try readPEM(pem, isPrivate: false)
        try self.init(evp: evp)
    }

    public var pemRepresentation: String {
        get throws { try writePEM(key, isPrivate: false) }
    }

    public var hex: String { Hex.encode(rawRepresentation) }
    public var description: String { hex }

    /// RFC 8032 verification through EVP_DigestVerify (OpenSSL rejects S >= L and bad encodings).
    public func isValidSignature(_ signature: Ed25519Signature, for message: [UInt8]) -> Bool {
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestVerifyInit(ctx, nil, nil, nil, key.pointer) == 1 else {
            ERR_clear_error()
            return false
        }
        let ok = EVP_DigestVerify(ctx, signature.bytes, signature.bytes.count, message, message.count) == 1
        if !ok { ERR_clear_error() }
        return ok
    }

    public static func == (a: Self, b: Self) -> Bool { a.rawRepresentation == b.rawRepresentation }
    public func hash(into hasher: inout Swift.Hasher) { hasher.combine(rawRepresentation) }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let key = Ed25519PublicKey(hex: try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a 32-byte Ed25519 public key in lowercase hex")
        }
        self = key
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// An Ed25519 private key. The seed never leaves this type except through the explicit
/// export accessors, which callers use only to write 0600 key files.
public struct Ed25519PrivateKey: Sendable {
    private let key: EVPKey
    public let publicKey: Ed25519PublicKey

    /// Generates a fresh key from OpenSSL's DRBG.
    public init() throws {
        guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nil) else {
            throw CryptoError.fromQueue("EVP_PKEY_CTX_new_id")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        try check(EVP_PKEY_keygen_init(ctx), "EVP_PKEY_keygen_init")
        var pkey: OpaquePointer?
        try check(EVP_PKEY_keygen(ctx, &pkey), "EVP_PKEY_keygen")
        guard let pkey else { throw CryptoError.fromQueue("EVP_PKEY_keygen") }
        let evp = EVPKey(pkey)
        self.key = evp
        self.publicKey = try Ed25519PublicKey(evp: evp)
    }

    /// Imports the 32-byte RFC 8032 seed.
    public init(rawRepresentation seed: [UInt8]) throws {
        guard seed.count == 32 else {
            throw CryptoError.invalidEncoding("Ed25519 private key must be 32 bytes, got \(seed.count)")
        }
        guard let pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, seed, seed.count) else {
            throw CryptoError.fromQueue("EVP_PKEY_new_raw_private_key")
        }
        let evp = EVPKey(pkey)
        self.key = evp
        self.publicKey = try Ed25519PublicKey(evp: evp)
    }

    /// Parses a PKCS#8 PEM ("PRIVATE KEY") holding an Ed25519 key.
    public init(pemRepresentation pem: String) throws {
        let evp = try readPEM(pem, isPrivate: true)
        self.key = evp
        self.publicKey = try Ed25519PublicKey(evp: evp)
    }

    public var rawRepresentation: [UInt8] {
        get throws {
            var raw = [UInt8](repeating: 0, count: 32)
            var length = raw.count
            try check(EVP_PKEY_get_raw_private_key(key.pointer, &raw, &length), "EVP_PKEY_get_raw_private_key")
            return raw
        }
    }

    public var pemRepresentation: String {
        get throws { try writePEM(key, isPrivate: true) }
    }

    public func signature(for message: [UInt8]) throws -> Ed25519Signature {
        guard let ctx = EVP_MD_CTX_new() else { throw CryptoError.fromQueue("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        try check(EVP_DigestSignInit(ctx, nil, nil, nil, key.pointer), "EVP_DigestSignInit")
        var sig = [UInt8](repeating: 0, count: Ed25519Signature.byteCount)
        var length = sig.count
        try check(EVP_DigestSign(ctx, &sig, &length, message, message.count), "EVP_DigestSign")
        guard length == Ed25519Signature.byteCount else { throw CryptoError.invalidEncoding("signature length \(length)") }
        return Ed25519Signature(trusted: sig)
    }
}

private func readPEM(_ pem: String, isPrivate: Bool) throws -> EVPKey {
    let bytes = Array(pem.utf8)
    // BIO_new_mem_buf does not copy: the buffer must outlive the BIO, so both live inside one closure.
    return try bytes.withUnsafeBufferPointer { buffer in
        guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { throw CryptoError.fromQueue("BIO_new_mem_buf") }
        defer { BIO_free(bio) }
        let pkey = isPrivate ? PEM_read_bio_PrivateKey(bio, nil, nil, nil) : PEM_read_bio_PUBKEY(bio, nil, nil, nil)
        guard let pkey else {
            throw CryptoError.fromQueue(isPrivate ? "PEM_read_bio_PrivateKey" : "PEM_read_bio_PUBKEY")
        }
        let evp = EVPKey(pkey)
        guard EVP_PKEY_get_id(pkey) == EVP_PKEY_ED25519 else {
            throw CryptoError.invalidEncoding("PEM key is not an Ed25519 key")
        }
        return evp
    }
}

private func writePEM(_ key: EVPKey, isPrivate: Bool) throws -> String {
    guard let bio = BIO_new(BIO_s_mem()) else { throw CryptoError.fromQueue("BIO_new") }
    defer { BIO_free(bio) }
    if isPrivate {
        try check(PEM_write_bio_PrivateKey(bio, key.pointer, nil, nil, 0, nil, nil), "PEM_write_bio_PrivateKey")
    } else {
        try check(PEM_write_bio_PUBKEY(bio, key.pointer), "PEM_write_bio_PUBKEY")
    }
    var pointer: UnsafeMutablePointer<CChar>?
    // BIO_get_mem_data is a macro over BIO_ctrl(BIO_CTRL_INFO).
    let length = BIO_ctrl(bio, BIO_CTRL_INFO, 0, &pointer)
    guard length > 0, let pointer else { throw CryptoError.fromQueue("BIO_get_mem_data") }
    return pointer.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
}
