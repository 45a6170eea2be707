/// Milliseconds since the Unix epoch, UTC.
public typealias Timestamp = UInt64

/// Log entry 0: the manifest plus the keys that sign for this election.
public struct ElectionSetup: Sendable, Hashable {
    public let manifest: ElectionManifest
    /// Signs checkpoints and receipts.
    public let serverKey: Ed25519PublicKey
    /// Signs commission orders (open, close).
    public let commissionKey: Ed25519PublicKey

    public init(manifest: ElectionManifest, serverKey: Ed25519PublicKey, commissionKey: Ed25519PublicKey) {
        self.manifest = manifest
        self.serverKey = serverKey
        self.commissionKey = commissionKey
    }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .electionSetup)
        w.bytes(manifest.canonicalBytes)
        w.key(serverKey)
        w.key(commissionKey)
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> ElectionSetup {
        var r = try CanonicalReader(bytes, tag: .electionSetup)
        let manifest = try ElectionManifest.decode(canonical: try r.bytes())
        let server = try r.key()
        let commission = try r.key()
        try r.finish()
        return ElectionSetup(manifest: manifest, serverKey: server, commissionKey: commission)
    }
}

/// A roll import: how many voters each district gained. No personal data.
public struct RollImport: Sendable, Hashable {
    public struct DistrictCount: Sendable, Hashable, Codable {
        public let district: String
        public let voters: Int
        public init(district: String, voters: Int) {
            self.district = district
            self.voters = voters
        }
    }

    public let counts: [DistrictCount]

    public init(counts: [DistrictCount]) { self.counts = counts }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .rollImport)
        w.list(counts) { w, c in
            w.string(c.district)
            w.u32(UInt32(clamping: c.voters))
        }
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> RollImport {
        var r = try CanonicalReader(bytes, tag: .rollImport)
        let counts = try r.list { r in DistrictCount(district: try r.string(), voters: Int(try r.u32())) }
        try r.finish()
        return RollImport(counts: counts)
    }
}

/// The voter's proof of possession of its new key, sent with the enrollment code.
public enum EnrollmentRequest {
    public static func signedBytes(electionHash: Digest, voterKey: Ed25519PublicKey) -> [UInt8] {
        var w = CanonicalWriter(tag: .enrollmentRequest)
        w.fixed(electionHash)
        w.key(voterKey)
        return w.bytes
    }
}

/// A public enrollment: this key may cast one ballot in this district.
public struct Enrollment: Sendable, Hashable {
    public let voterKey: Ed25519PublicKey
    public let district: String

    public init(voterKey: Ed25519PublicKey, district: String) {
        self.voterKey = voterKey
        self.district = district
    }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .enrollment)
        w.key(voterKey)
        w.string(district)
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> Enrollment {
        var r = try CanonicalReader(bytes, tag: .enrollment)
        let key = try r.key()
        let district = try r.string()
        try r.finish()
        return Enrollment(voterKey: key, district: district)
    }
}

/// A commission order that opens or closes the voting window, signed by the commission key.
public struct WindowChange: Sendable, Hashable {
    public enum Action: String, Sendable, Codable, CaseIterable {
        case open, close
    }

    public let action: Action
    public let issuedAt: Timestamp
    public let signature: Ed25519Signature

    public init(action: Action, issuedAt: Timestamp, signature: Ed25519Signature) {
        self.action = action
        self.issuedAt = issuedAt
        self.signature = signature
    }

    /// What the commission signs (docs/protocol.md §4.6).
    public static func orderBytes(electionHash: Digest, action: Action, issuedAt: Timestamp) -> [UInt8] {
        var w = CanonicalWriter(tag: .windowOrder)
        w.fixed(electionHash)
        w.string(action.rawValue)
        w.u64(issuedAt)
        return w.bytes
    }

    public static func sign(electionHash: Digest, action: Action, issuedAt: Timestamp,
                            commissionKey: Ed25519PrivateKey) throws -> WindowChange {
        let sig = try commissionKey.signature(for: orderBytes(electionHash: electionHash, action: action, issuedAt: issuedAt))
        return WindowChange(action: action, issuedAt: issuedAt, signature: sig)
    }

    public func isValid(electionHash: Digest, commissionKey: Ed25519PublicKey) -> Bool {
        commissionKey.isValidSignature(signature, for: Self.orderBytes(electionHash: electionHash, action: action, issuedAt: issuedAt))
    }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .windowChange)
        w.string(action.rawValue)
        w.u64(issuedAt)
        w.fixed(signature)
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> WindowChange {
        var r = try CanonicalReader(bytes, tag: .windowChange)
        let raw = try r.string()
        guard let action = Action(rawValue: raw) else { throw RecordError.unknownValue("window action \"\(raw)\"") }
        let at = try r.u64()
        let sig = try r.fixed(Ed25519Signature.self)
        try r.finish()
        return WindowChange(action: action, issuedAt: at, signature: sig)
    }
}

public enum RecordError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownValue(String)
    case mismatch(String)

    public var description: String {
        switch self {
        case .unknownValue(let s): return "unknown value: \(s)"
        case .mismatch(let s): return "mismatch: \(s)"
        }
    }
}

/// A challenged ballot published with its opening (Benaloh challenge): anyone can check the
/// encryption held the stated choice. Never counted.
public struct SpoiledBallot: Sendable, Hashable {
    public let ballot: SignedBallot
    public let opening: BallotOpening

    public init(ballot: SignedBallot, opening: BallotOpening) {
        self.ballot = ballot
        self.opening = opening
    }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .spoiledBallot)
        w.bytes(ballot.canonicalBytes)
        w.list(opening.selections) { w, s in w.string(s) }
        w.list(opening.nonces) { w, n in w.scalar(n) }
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> SpoiledBallot {
        var r = try CanonicalReader(bytes, tag: .spoiledBallot)
        let ballot = try SignedBallot.decode(canonical: try r.bytes())
        let selections = try r.list { try $0.string() }
        let nonces = try r.list { try $0.scalar() }
        try r.finish()
        return SpoiledBallot(ballot: ballot, opening: BallotOpening(selections: selections, nonces: nonces))
    }
}
