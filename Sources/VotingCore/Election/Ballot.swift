
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

/// A ballot before the voter signs it.
public struct Ballot: Sendable, Hashable {
    public let electionHash: Digest
    public let voterKey: Ed25519PublicKey
    public let district: String
    public let content: BallotContent

    public init(electionHash: Digest, voterKey: Ed25519PublicKey, district: String, content: BallotContent) {
        self.electionHash = electionHash
        self.voterKey = voterKey
        self.district = district
        self.content = content
    }

    /// What the voter signs (docs/protocol.md §4.4).
    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .ballot)
        w.fixed(electionHash)
        w.key(voterKey)
        w.string(district)
        content.write(to: &w)
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> Ballot {
        var r = try CanonicalReader(bytes, tag: .ballot)
        let hash = try r.fixed(Digest.self)
        let key = try r.key()
        let district = try r.string()
        let content = try BallotContent.read(from: &r)
        try r.finish()
        return Ballot(electionHash: hash, voterKey: key, district: district, content: content)
    }

    public func signed(with key: Ed25519PrivateKey) throws -> SignedBallot {
        let bytes = canonicalBytes
        return SignedBallot(ballot: self, ballotBytes: bytes, signature: try key.signature(for: bytes))
    }
}

/// A ballot with the voter's signature. Its tracking code is the hash of its canonical
/// encoding, so the same signed ballot always has the same code.
public struct SignedBallot: Sendable, Hashable {
    public let ballot: Ballot
    public let signature: Ed25519Signature
    /// The canonical ballot bytes the signature covers.
    public let ballotBytes: [UInt8]
    public let canonicalBytes: [UInt8]
    public let trackingCode: TrackingCode

    init(ballot: Ballot, ballotBytes: [UInt8], signature: Ed25519Signature) {
        self.ballot = ballot
        self.ballotBytes = ballotBytes
        self.signature = signature
        var w = CanonicalWriter(tag: .signedBallot)
        w.bytes(ballotBytes)
        w.fixed(signature)
        self.canonicalBytes = w.bytes
        self.trackingCode = TrackingCode(digest: SHA256.hash(canonicalBytes))
    }

    public init(ballot: Ballot, signature: Ed25519Signature) {
        self.init(ballot: ballot, ballotBytes: ballot.canonicalBytes, signature: signature)
    }

    public var hasValidSignature: Bool {
        ballot.voterKey.isValidSignature(signature, for: ballotBytes)
    }

    /// The district named by a signed ballot's canonical bytes, read without decoding (and
    /// validating) its points: for counting, not for verifying.
    public static func district(canonical bytes: [UInt8]) throws -> String {
        var outer = try CanonicalReader(bytes, tag: .signedBallot)
        var r = try CanonicalReader(try outer.bytes(), tag: .ballot)
        _ = try r.fixed(Digest.self)
        _ = try r.fixed(Digest.self)  // the voter key's 32 raw bytes
        return try r.string()
    }

    public static func decode(canonical bytes: [UInt8]) throws -> SignedBallot {
        var r = try CanonicalReader(bytes, tag: .signedBallot)
        let ballotBytes = try r.bytes()
        let sig = try r.fixed(Ed25519Signature.self)
        try r.finish()
        let ballot = try Ballot.decode(canonical: ballotBytes)
        return SignedBallot(ballot: ballot, ballotBytes: ballotBytes, signature: sig)
    }

    /// The JSON form sent to `POST /v1/ballots`.
    public var wire: SignedBallotWire {
        SignedBallotWire(electionHash: ballot.electionHash, voterKey: ballot.voterKey, district: ballot.district,
                         content: ballot.content, signature: signature)
    }
}

/// JSON mirror of a signed ballot. Decoding rejects unknown fields.
public struct SignedBallotWire: Codable, Sendable, Hashable {
    public let electionHash: Digest
    public let voterKey: Ed25519PublicKey
    public let district: String
    public let content: BallotContent
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable {
        case electionHash = "election_hash"
        case voterKey = "voter_key"
        case district, content, signature
    }

    public init(electionHash: Digest, voterKey: Ed25519PublicKey, district: String, content: BallotContent, signature: Ed25519Signature) {
        self.electionHash = electionHash
        self.voterKey = voterKey
        self.district = district
        self.content = content
        self.signature = signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        electionHash = try c.decode(Digest.self, forKey: .electionHash)
        voterKey = try c.decode(Ed25519PublicKey.self, forKey: .voterKey)
        district = try c.decode(String.self, forKey: .district)
        content = try c.decode(BallotContent.self, forKey: .content)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }

    public var signedBallot: SignedBallot {
        SignedBallot(ballot: Ballot(electionHash: electionHash, voterKey: voterKey, district: district, content: content),
                     signature: signature)
    }
}

/// The public handle of a cast ballot: SHA-256 of the signed ballot's canonical bytes.
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
    public func strictContainer<Key: CodingKey & CaseIterable>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        let any = try container(keyedBy: AnyCodingKey.self)
        let known = Set(Key.allCases.map(\.stringValue))
        for key in any.allKeys where !known.contains(key.stringValue) {
            throw DecodingError.dataCorrupted(.init(codingPath: codingPath + [key], debugDescription: "unknown field \"\(key.stringValue)\""))
        }
        return try container(keyedBy: type)
    }
}

public struct AnyCodingKey: CodingKey {
    public let stringValue: String
    public let intValue: Int?
    public init(stringValue: String) { self.stringValue = stringValue; self.intValue = nil }
    public init?(intValue: Int) { self.stringValue = String(intValue); self.intValue = intValue }
}
