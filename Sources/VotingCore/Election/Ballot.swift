
/// Checks a voter's choice against a contest before it is encrypted (the encrypted ballot's
/// proofs then show the server the same thing without revealing it).
public enum Selections {
    public static func problem(_ selections: [String], in district: District) -> BallotProblem? {
        guard selections.count == district.selectionLimit else {
            return .wrongSelectionCount(expected: district.selectionLimit, got: selections.count)
        }
        var seen = Set<String>()
        for s in selections {
            guard district.option(s) != nil else { return .unknownOption(s) }
            guard seen.insert(s).inserted else { return .duplicateOption(s) }
        }
        return nil
    }
}

public enum BallotProblem: Sendable, Equatable, CustomStringConvertible {
    case wrongSelectionCount(expected: Int, got: Int)
    case unknownOption(String)
    case duplicateOption(String)
    case wrongOptionCount(expected: Int, got: Int)
    case wrongProofCount(expected: Int, got: Int)
    case badRangeProof(option: String)
    case badLimitProof(limit: Int)

    public var description: String {
        switch self {
        case .wrongSelectionCount(let e, let g): return "the contest takes exactly \(e) selection(s), the ballot has \(g)"
        case .unknownOption(let o): return "option \"\(o)\" is not on this district's ballot"
        case .duplicateOption(let o): return "option \"\(o)\" is selected more than once"
        case .wrongOptionCount(let e, let g): return "the contest has \(e) options, the ballot encrypts \(g)"
        case .wrongProofCount(let e, let g): return "the ballot has \(e) ciphertexts but \(g) range proofs"
        case .badRangeProof(let o): return "the proof that option \"\(o)\" encrypts 0 or 1 does not verify"
        case .badLimitProof(let l): return "the proof that the ballot marks exactly \(l) option(s) does not verify"
        }
    }
}

/// An encrypted ballot: the voter's choice encrypted for one district, with proofs bound to
/// a fresh random ballot id (docs/protocol.md §4.4). It names no voter: the same bytes are
/// either cast (signed by the voter's key) or challenged (opened and published as spoiled),
/// and the device that encrypted it cannot tell which until the voter decides.
public struct Ballot: Sendable, Hashable {
    public let electionHash: Digest
    public let ballotID: BallotID
    public let district: String
    public let content: BallotContent

    public init(electionHash: Digest, ballotID: BallotID, district: String, content: BallotContent) {
        self.electionHash = electionHash
        self.ballotID = ballotID
        self.district = district
        self.content = content
    }

    /// docs/protocol.md §4.4.
    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .ballot)
        w.fixed(electionHash)
        w.fixed(ballotID)
        w.string(district)
        content.write(to: &w)
        return w.bytes
    }

    /// tracking_code = SHA-256(ballot_bytes) (eq. 3): the same for the cast and the challenged form.
    public var trackingCode: TrackingCode { TrackingCode(digest: SHA256.hash(canonicalBytes)) }

    public static func decode(canonical bytes: [UInt8]) throws -> Ballot {
        var r = try CanonicalReader(bytes, tag: .ballot)
        let hash = try r.fixed(Digest.self)
        let id = try r.fixed(BallotID.self)
        let district = try r.string()
        let content = try BallotContent.read(from: &r)
        try r.finish()
        return Ballot(electionHash: hash, ballotID: id, district: district, content: content)
    }

    /// The district and ballot id named by a ballot's canonical bytes, read without decoding
    /// (and validating) its points: for counting, not for verifying.
    public static func header(canonical bytes: [UInt8]) throws -> (district: String, ballotID: BallotID) {
        var r = try CanonicalReader(bytes, tag: .ballot)
        _ = try r.fixed(Digest.self)
        let id = try r.fixed(BallotID.self)
        return (try r.string(), id)
    }

    /// Casts this ballot: the voter's key signs the cast statement (eq. 2).
    public func cast(with key: Ed25519PrivateKey) throws -> SignedBallot {
        let bytes = canonicalBytes
        let code = TrackingCode(digest: SHA256.hash(bytes))
        let statement = SignedBallot.castStatement(electionHash: electionHash, voterKey: key.publicKey, trackingCode: code)
        return SignedBallot(ballot: self, ballotBytes: bytes, voterKey: key.publicKey, signature: try key.signature(for: statement))
    }

    /// The JSON form of the ballot alone (inside a challenge request).
    public var wire: BallotWire {
        BallotWire(electionHash: electionHash, ballotID: ballotID, district: district, content: content)
    }
}

/// A cast ballot: the ballot and the enrolled voter key that casts it, with the voter's
/// signature over the cast statement (log kind `ballot`).
public struct SignedBallot: Sendable, Hashable {
    public let ballot: Ballot
    /// The canonical ballot bytes (hashed into the tracking code).
    public let ballotBytes: [UInt8]
    public let voterKey: Ed25519PublicKey
    public let signature: Ed25519Signature
    public let canonicalBytes: [UInt8]
    public let trackingCode: TrackingCode

    init(ballot: Ballot, ballotBytes: [UInt8], voterKey: Ed25519PublicKey, signature: Ed25519Signature) {
        self.ballot = ballot
        self.ballotBytes = ballotBytes
        self.voterKey = voterKey
        self.signature = signature
        var w = CanonicalWriter(tag: .signedBallot)
        w.bytes(ballotBytes)
        w.key(voterKey)
        w.fixed(signature)
        self.canonicalBytes = w.bytes
        self.trackingCode = TrackingCode(digest: SHA256.hash(ballotBytes))
    }

    public init(ballot: Ballot, voterKey: Ed25519PublicKey, signature: Ed25519Signature) {
        self.init(ballot: ballot, ballotBytes: ballot.canonicalBytes, voterKey: voterKey, signature: signature)
    }

    /// What the voter's key signs to cast (eq. 2): election, key and tracking code.
    public static func castStatement(electionHash: Digest, voterKey: Ed25519PublicKey, trackingCode: TrackingCode) -> [UInt8] {
        var w = CanonicalWriter(tag: .castStatement)
        w.fixed(electionHash)
        w.key(voterKey)
        w.fixed(trackingCode.digest)
        return w.bytes
    }

    public var hasValidSignature: Bool {
        voterKey.isValidSignature(signature, for: Self.castStatement(electionHash: ballot.electionHash, voterKey: voterKey,
                                                                      trackingCode: trackingCode))
    }

    /// The district, ballot id and voter key named by a cast ballot's canonical bytes, read
    /// without decoding its points: for counting, not for verifying.
    public static func header(canonical bytes: [UInt8]) throws -> (district: String, ballotID: BallotID, voterKey: Ed25519PublicKey) {
        var r = try CanonicalReader(bytes, tag: .signedBallot)
        let inner = try Ballot.header(canonical: try r.bytes())
        return (inner.district, inner.ballotID, try r.key())
    }

    public static func decode(canonical bytes: [UInt8]) throws -> SignedBallot {
        var r = try CanonicalReader(bytes, tag: .signedBallot)
        let ballotBytes = try r.bytes()
        let key = try r.key()
        let sig = try r.fixed(Ed25519Signature.self)
        try r.finish()
        let ballot = try Ballot.decode(canonical: ballotBytes)
        return SignedBallot(ballot: ballot, ballotBytes: ballotBytes, voterKey: key, signature: sig)
    }

    /// The JSON form sent to `POST /v1/ballots`.
    public var wire: SignedBallotWire {
        SignedBallotWire(electionHash: ballot.electionHash, ballotID: ballot.ballotID, district: ballot.district,
                         content: ballot.content, voterKey: voterKey, signature: signature)
    }
}

/// JSON mirror of a ballot (no voter): `{"election_hash", "ballot_id", "district", "content"}`.
public struct BallotWire: Codable, Sendable, Hashable {
    public let electionHash: Digest
    public let ballotID: BallotID
    public let district: String
    public let content: BallotContent

    enum CodingKeys: String, CodingKey, CaseIterable {
        case electionHash = "election_hash"
        case ballotID = "ballot_id"
        case district, content
    }

    public init(electionHash: Digest, ballotID: BallotID, district: String, content: BallotContent) {
        self.electionHash = electionHash
        self.ballotID = ballotID
        self.district = district
        self.content = content
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        electionHash = try c.decode(Digest.self, forKey: .electionHash)
        ballotID = try c.decode(BallotID.self, forKey: .ballotID)
        district = try c.decode(String.self, forKey: .district)
        content = try c.decode(BallotContent.self, forKey: .content)
    }

    public var ballot: Ballot { Ballot(electionHash: electionHash, ballotID: ballotID, district: district, content: content) }
}

/// JSON mirror of a cast ballot (`POST /v1/ballots`). Decoding rejects unknown fields.
public struct SignedBallotWire: Codable, Sendable, Hashable {
    public let electionHash: Digest
    public let ballotID: BallotID
    public let district: String
    public let content: BallotContent
    public let voterKey: Ed25519PublicKey
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable {
        case electionHash = "election_hash"
        case ballotID = "ballot_id"
        case district, content
        case voterKey = "voter_key"
        case signature
    }

    public init(electionHash: Digest, ballotID: BallotID, district: String, content: BallotContent,
                voterKey: Ed25519PublicKey, signature: Ed25519Signature) {
        self.electionHash = electionHash
        self.ballotID = ballotID
        self.district = district
        self.content = content
        self.voterKey = voterKey
        self.signature = signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        electionHash = try c.decode(Digest.self, forKey: .electionHash)
        ballotID = try c.decode(BallotID.self, forKey: .ballotID)
        district = try c.decode(String.self, forKey: .district)
        content = try c.decode(BallotContent.self, forKey: .content)
        voterKey = try c.decode(Ed25519PublicKey.self, forKey: .voterKey)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }

    public var signedBallot: SignedBallot {
        SignedBallot(ballot: Ballot(electionHash: electionHash, ballotID: ballotID, district: district, content: content),
                     voterKey: voterKey, signature: signature)
    }
}

/// The public handle of a ballot: SHA-256 of the ballot's canonical bytes (eq. 3), the same
/// whether the ballot is cast, challenged or supervised.
public struct TrackingCode: Sendable, Hashable, Codable, CustomStringConvertible {
    public let digest: Digest

    public init(digest: Digest) { self.digest = digest }

    public init?(hex: String) {
        guard let d = Digest(hex: hex) else { return nil }
        digest = d
    }

    public var hex: String { digest.hex }
    public var description: String { hex }

    /// The human-comparable form: the first 10 bytes in Crockford base32, in four groups
    /// of four (docs/protocol.md §4.5), e.g. `7K2M-Q9XD-4TBN-G1RW`.
    /// The 10 bytes (80 bits) a short code names: the first 10 bytes of the tracking code.
    /// Accepts the printed form with or without dashes and spaces, in any case, with
    /// Crockford's readings O → 0 and I, L → 1; nil for anything that is not 16 such characters.
    public static func shortPrefix(_ text: String) -> [UInt8]? {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
        var values: [UInt8] = []
        for scalar in text.unicodeScalars {
            guard scalar.isASCII else { return nil }
            var c = UInt8(scalar.value)
            if c == UInt8(ascii: "-") || c == UInt8(ascii: " ") { continue }
            if c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z") { c -= 32 }
            if c == UInt8(ascii: "O") { c = UInt8(ascii: "0") }
            if c == UInt8(ascii: "I") || c == UInt8(ascii: "L") { c = UInt8(ascii: "1") }
            guard let v = alphabet.firstIndex(of: c) else { return nil }
            values.append(UInt8(v))
        }
        guard values.count == 16 else { return nil }
        var bytes: [UInt8] = []
        var bits: UInt32 = 0
        var count = 0
        for v in values {
            bits = bits << 5 | UInt32(v)
            count += 5
            if count >= 8 {
                count -= 8
                bytes.append(UInt8(truncatingIfNeeded: bits >> UInt32(count)))
            }
        }
        return bytes
    }

    public var short: String {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        var bits: UInt64 = 0
        var nbits = 0
        var chars: [Character] = []
        for byte in digest.bytes.prefix(10) {
            bits = bits << 8 | UInt64(byte)
            nbits += 8
            while nbits >= 5 {
                nbits -= 5
                chars.append(alphabet[Int((bits >> UInt64(nbits)) & 31)])
            }
        }
        return stride(from: 0, to: chars.count, by: 4).map { String(chars[$0..<min($0 + 4, chars.count)]) }.joined(separator: "-")
    }

    public init(from decoder: any Decoder) throws { digest = try Digest(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try digest.encode(to: encoder) }
}

/// Keyed decoding that refuses fields the type does not define.
extension Decoder {
    /// One container over the object's keys: the unknown ones are refused, and the type's own
    /// keys are read through the same container. (Asking the decoder for a second, typed
    /// container would index the object's keys again: with ≈25 objects per ballot that was
    /// half of the server's JSON cost per ballot.)
    public func strictContainer<Key: CodingKey & CaseIterable>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let any = try container(keyedBy: AnyCodingKey.self)
        for key in any.allKeys where Key(stringValue: key.stringValue) == nil {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [key], debugDescription: "unknown field \"\(key.stringValue)\""))
        }
        return KeyedDecodingContainer(StrictKeyedContainer<Key>(base: any))
    }
}

/// The type's keys read through a container of any keys (see `strictContainer`).
struct StrictKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let base: KeyedDecodingContainer<AnyCodingKey>

    var codingPath: [any CodingKey] { base.codingPath }
    var allKeys: [Key] { base.allKeys.compactMap { Key(stringValue: $0.stringValue) } }

    private func any(_ key: Key) -> AnyCodingKey { AnyCodingKey(stringValue: key.stringValue) }

    func contains(_ key: Key) -> Bool { base.contains(any(key)) }
    func decodeNil(forKey key: Key) throws -> Bool { try base.decodeNil(forKey: any(key)) }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try base.decode(type, forKey: any(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try base.decode(type, forKey: any(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try base.decode(type, forKey: any(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try base.decode(type, forKey: any(key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try base.decode(type, forKey: any(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try base.decode(type, forKey: any(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try base.decode(type, forKey: any(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try base.decode(type, forKey: any(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try base.decode(type, forKey: any(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try base.decode(type, forKey: any(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try base.decode(type, forKey: any(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try base.decode(type, forKey: any(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try base.decode(type, forKey: any(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try base.decode(type, forKey: any(key)) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try base.decode(type, forKey: any(key)) }
    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try base.nestedContainer(keyedBy: type, forKey: any(key))
    }
    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer { try base.nestedUnkeyedContainer(forKey: any(key)) }
    func superDecoder() throws -> any Decoder { try base.superDecoder() }
    func superDecoder(forKey key: Key) throws -> any Decoder { try base.superDecoder(forKey: any(key)) }
}

public struct AnyCodingKey: CodingKey {
    public let stringValue: String
    public let intValue: Int?
    public init(stringValue: String) { self.stringValue = stringValue; self.intValue = nil }
    public init?(intValue: Int) { self.stringValue = String(intValue); self.intValue = intValue }
}
