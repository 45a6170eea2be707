public import Foundation

/// Lowercase hexadecimal, the only text form of bytes on the wire.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes lowercase hex; rejects odd length, upper case and any other character
    /// (eight digits per step: `FastHex`).
    public static func decode(_ text: String) -> [UInt8]? { FastHex.decode(text) }
}

/// Fixed-size byte strings (hashes, keys, signatures) carried as lowercase hex in JSON.
public protocol FixedBytes: Hashable, Sendable, Codable, CustomStringConvertible {
    static var byteCount: Int { get }
    var bytes: [UInt8] { get }
    init(trusted bytes: [UInt8])
}

extension FixedBytes {
    /// Validating initialiser: returns nil unless `bytes` has exactly `byteCount` bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        self.init(trusted: bytes)
    }

    public init?(hex: String) {
        guard let b = Hex.decode(hex), b.count == Self.byteCount else { return nil }
        self.init(trusted: b)
    }

    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let value = Self(hex: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "expected \(Self.byteCount * 2) lowercase hex digits")
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}

/// A SHA-256 output: election hash, tracking code, Merkle node, root.
public struct Digest: FixedBytes {
    public static let byteCount = 32
    public let bytes: [UInt8]
    public init(trusted bytes: [UInt8]) { self.bytes = bytes }
}

/// 32 random bytes naming one encryption (docs/protocol.md §4.4): the ballot's proofs are
/// bound to it, and no two ballots in a log share one.
public struct BallotID: FixedBytes {
    public static let byteCount = 32
    public let bytes: [UInt8]
    public init(trusted bytes: [UInt8]) { self.bytes = bytes }
    public static func random() throws -> BallotID { BallotID(trusted: try SecureRandom.bytes(byteCount)) }
}

/// 16 random bytes that salt one enrollment-code commitment (docs/protocol.md §8.2).
public struct Salt: FixedBytes {
    public static let byteCount = 16
    public let bytes: [UInt8]
    public init(trusted bytes: [UInt8]) { self.bytes = bytes }
    public static func random() throws -> Salt { Salt(trusted: try SecureRandom.bytes(byteCount)) }
}

/// 32 random bytes: the election nonce of entry 0, or the blinding of a hiding commitment.
public struct Nonce32: FixedBytes {
    public static let byteCount = 32
    public let bytes: [UInt8]
    public init(trusted bytes: [UInt8]) { self.bytes = bytes }
    public static func random() throws -> Nonce32 { Nonce32(trusted: try SecureRandom.bytes(byteCount)) }
    public static let zero = Nonce32(trusted: [UInt8](repeating: 0, count: byteCount))
}

/// Variable-length bytes carried as lowercase hex in JSON (log entry data).
public struct HexBytes: Hashable, Sendable, Codable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let b = Hex.decode(try container.decode(String.self)) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected lowercase hex")
        }
        bytes = b
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Hex.encode(bytes))
    }
}

extension Data {
    public var byteArray: [UInt8] { [UInt8](self) }
}
