/// The canonical byte encoding (docs/protocol.md §2): every signed or hashed object has
/// exactly one encoding. Integers are big-endian; variable-length strings and byte strings
/// carry a u32 length; fixed-size values (hashes, keys, signatures) are raw; lists carry a
/// u32 count; every object starts with its domain tag as a length-prefixed string.
public struct CanonicalWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(tag: DomainTag) {
        bytes.reserveCapacity(256)
        string(tag.rawValue)
    }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }

    public mutating func u32(_ v: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: v >> 24))
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }

    public mutating func u64(_ v: UInt64) {
        for shift in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift)))
        }
    }

    /// Length-prefixed byte string.
    public mutating func bytes(_ b: [UInt8]) {
        u32(UInt32(b.count))
        bytes.append(contentsOf: b)
    }

    /// Length-prefixed UTF-8 string.
    public mutating func string(_ s: String) { bytes(Array(s.utf8)) }

    /// Fixed-size value written raw (its size is fixed by the field's type).
    public mutating func fixed(_ value: some FixedBytes) { bytes.append(contentsOf: value.bytes) }

    /// A P-256 group element, 65-byte uncompressed SEC1 (`04 || x || y`).
    public mutating func point(_ p: GroupElement) { bytes.append(contentsOf: p.encoding) }

    /// A P-256 scalar, 32 bytes big-endian.
    public mutating func scalar(_ s: Scalar) { bytes.append(contentsOf: s.bytes) }

    /// An Ed25519 public key, written raw (32 bytes).
    public mutating func key(_ k: Ed25519PublicKey) { bytes.append(contentsOf: k.rawRepresentation) }

    public mutating func list<T>(_ items: [T], _ each: (inout CanonicalWriter, T) -> Void) {
        u32(UInt32(items.count))
        for item in items { each(&self, item) }
    }
}

/// Reads the canonical encoding back; every read is bounds-checked and the whole input
/// must be consumed (`finish()`), so trailing garbage is an error.
public struct CanonicalReader {
    private let data: [UInt8]
    private var offset = 0

    public init(_ data: [UInt8]) { self.data = data }

    public enum Failure: Error, Equatable, Sendable {
        case truncated(at: Int)
        case wrongTag(expected: String, found: String)
        case trailingBytes(Int)
        case invalidUTF8(at: Int)
        case tooLarge(at: Int)
    }

    /// Opens an object: reads and checks its domain tag.
    public init(_ data: [UInt8], tag: DomainTag) throws {
        self.init(data)
        let found = try string()
        guard found == tag.rawValue else { throw Failure.wrongTag(expected: tag.rawValue, found: found) }
    }

    private mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
        guard n >= 0, data.count - offset >= n else { throw Failure.truncated(at: offset) }
        defer { offset += n }
        return data[offset..<(offset + n)]
    }

    public mutating func u8() throws -> UInt8 { try take(1).first ?? 0 }

    public mutating func u32() throws -> UInt32 {
        try take(4).reduce(0) { $0 << 8 | UInt32($1) }
    }

    public mutating func u64() throws -> UInt64 {
        try take(8).reduce(0) { $0 << 8 | UInt64($1) }
    }

    public mutating func bytes() throws -> [UInt8] {
        let start = offset
        let n = try u32()
        guard Int(n) <= data.count - offset else { throw Failure.tooLarge(at: start) }
        return Array(try take(Int(n)))
    }

    public mutating func string() throws -> String {
        let start = offset
        let raw = try bytes()
        guard let s = String(validating: raw, as: UTF8.self) else { throw Failure.invalidUTF8(at: start) }
        return s
    }

    public mutating func fixed<T: FixedBytes>(_ type: T.Type) throws -> T {
        T(trusted: Array(try take(T.byteCount)))
    }

    /// A P-256 group element: on the curve, not the identity.
    public mutating func point() throws -> GroupElement {
        try GroupElement(encoding: Array(try take(GroupElement.byteCount)))
    }

    /// A P-256 group element or the identity (65 zero bytes): aggregates and partial decryptions only.
    public mutating func pointOrIdentity() throws -> GroupElement {
        try GroupElement(encodingAllowingIdentity: Array(try take(GroupElement.byteCount)))
    }

    /// A P-256 scalar below the group order.
    public mutating func scalar() throws -> Scalar {
        let raw = Array(try take(Scalar.byteCount))
        guard let s = Scalar(bytes: raw) else { throw CryptoError.invalidEncoding("scalar is not below the group order") }
        return s
    }

    /// An Ed25519 public key (32 raw bytes); OpenSSL must accept it.
    public mutating func key() throws -> Ed25519PublicKey {
        try Ed25519PublicKey(rawRepresentation: Array(try take(Ed25519PublicKey.byteCount)))
    }

    public mutating func list<T>(_ each: (inout CanonicalReader) throws -> T) throws -> [T] {
        let start = offset
        let count = try u32()
        // Every item takes at least one byte, so a count above the remaining bytes is a lie.
        guard Int(count) <= data.count - offset else { throw Failure.tooLarge(at: start) }
        var items: [T] = []
        items.reserveCapacity(Int(count))
        for _ in 0..<count { items.append(try each(&self)) }
        return items
    }

    public func finish() throws {
        guard offset == data.count else { throw Failure.trailingBytes(data.count - offset) }
    }
}

/// Domain-separation tags: the first field of every canonical object (docs/protocol.md §3).
/// Protocol version 2: every tag starts with `evote.v2.`.
public enum DomainTag: String, Sendable, CaseIterable {
    case manifest = "evote.v2.manifest"
    case electionSetup = "evote.v2.election-setup"
    case rollImport = "evote.v2.roll-import"
    case codeReissue = "evote.v2.code-reissue"
    case reissueEntry = "evote.v2.reissue-entry"
    case codeCommitment = "evote.v2.code-commitment"
    case enrollmentRequest = "evote.v2.enrollment-request"
    case enrollment = "evote.v2.enrollment"
    case ballot = "evote.v2.ballot"
    case castStatement = "evote.v2.cast"
    case signedBallot = "evote.v2.signed-ballot"
    case challengeRequest = "evote.v2.challenge-request"
    case windowOrder = "evote.v2.window-order"
    case windowChange = "evote.v2.window-change"
    case logEntry = "evote.v2.log-entry"
    case checkpoint = "evote.v2.checkpoint"
    case receipt = "evote.v2.receipt"
    case rangeProof = "evote.v2.proof.zero-or-one"
    case sumProof = "evote.v2.proof.selection-sum"
    case schnorrProof = "evote.v2.proof.schnorr"
    case decryptionProof = "evote.v2.proof.decryption"
    case shareEncryption = "evote.v2.share-encryption"
    case trusteeRegistration = "evote.v2.trustee"
    case trusteeAppointment = "evote.v2.trustee-appointment"
    case dealerPublication = "evote.v2.dealer-publication"
    case shareVerification = "evote.v2.share-verification"
    case electionKey = "evote.v2.election-key"
    case stationAppointment = "evote.v2.station-appointment"
    case supervisedCast = "evote.v2.supervised-cast"
    case supervisedEntry = "evote.v2.supervised-entry"
    case supersessionLink = "evote.v2.supersession-link"
    case supersessionReveal = "evote.v2.supersession-reveal"
    case aggregate = "evote.v2.aggregate"
    case partialDecryption = "evote.v2.partial-decryption"
    case results = "evote.v2.results"
    case spoiledBallot = "evote.v2.spoiled-ballot"
    case signedMessage = "evote.v2.signed-message"
    case authorizedRequest = "evote.v2.authorized-request"
}
