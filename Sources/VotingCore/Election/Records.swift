/// Milliseconds since the Unix epoch, UTC.
public typealias Timestamp = UInt64

/// Log entry 0: the manifest, the keys that sign for this election, and a nonce drawn at
/// `init`. Its hash is the election hash (eq. 1), so every receipt, request and ballot names
/// one election only, even when two elections share a manifest.
public struct ElectionSetup: Sendable, Hashable {
    public let manifest: ElectionManifest
    /// Signs checkpoints, receipts and results.
    public let serverKey: Ed25519PublicKey
    /// Signs commission orders: roll imports, code reissues, trustee and station appointments, window orders.
    public let commissionKey: Ed25519PublicKey
    /// 32 random bytes drawn when the election is created.
    public let nonce: Nonce32

    public init(manifest: ElectionManifest, serverKey: Ed25519PublicKey, commissionKey: Ed25519PublicKey, nonce: Nonce32) {
        self.manifest = manifest
        self.serverKey = serverKey
        self.commissionKey = commissionKey
        self.nonce = nonce
    }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .electionSetup)
        w.bytes(manifest.canonicalBytes)
        w.key(serverKey)
        w.key(commissionKey)
        w.fixed(nonce)
        return w.bytes
    }

    /// election_hash = SHA-256(election setup bytes) (eq. 1).
    public var electionHash: Digest { SHA256.hash(canonicalBytes) }

    public static func decode(canonical bytes: [UInt8]) throws -> ElectionSetup {
        var r = try CanonicalReader(bytes, tag: .electionSetup)
        let manifest = try ElectionManifest.decode(canonical: try r.bytes())
        let server = try r.key()
        let commission = try r.key()
        let nonce = try r.fixed(Nonce32.self)
        try r.finish()
        return ElectionSetup(manifest: manifest, serverKey: server, commissionKey: commission, nonce: nonce)
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
/// encryption held the stated choice. It carries no voter key and its proofs are bound to
/// the ballot's own id, so nothing in the record links it to a voter. Never counted.
public struct SpoiledBallot: Sendable, Hashable {
    public let ballot: Ballot
    public let ballotBytes: [UInt8]
    public let opening: BallotOpening

    public init(ballot: Ballot, opening: BallotOpening) {
        self.ballot = ballot
        self.ballotBytes = ballot.canonicalBytes
        self.opening = opening
    }

    init(ballot: Ballot, ballotBytes: [UInt8], opening: BallotOpening) {
        self.ballot = ballot
        self.ballotBytes = ballotBytes
        self.opening = opening
    }

    public var trackingCode: TrackingCode { TrackingCode(digest: SHA256.hash(ballotBytes)) }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .spoiledBallot)
        w.bytes(ballotBytes)
        w.list(opening.selections) { w, s in w.string(s) }
        w.list(opening.nonces) { w, n in w.scalar(n) }
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> SpoiledBallot {
        var r = try CanonicalReader(bytes, tag: .spoiledBallot)
        let ballotBytes = try r.bytes()
        let selections = try r.list { try $0.string() }
        let nonces = try r.list { try $0.scalar() }
        try r.finish()
        return SpoiledBallot(ballot: try Ballot.decode(canonical: ballotBytes), ballotBytes: ballotBytes,
                             opening: BallotOpening(selections: selections, nonces: nonces))
    }
}

/// A signed publication as a log payload (docs/protocol.md §12.3): tag, the signed bytes
/// (length-prefixed, tag included), the signature.
func signedPayload(_ body: [UInt8], _ signature: Ed25519Signature) -> [UInt8] {
    var w = CanonicalWriter(tag: .signedMessage)
    w.bytes(body)
    w.fixed(signature)
    return w.bytes
}

func openSignedPayload(_ payload: [UInt8]) throws -> ([UInt8], Ed25519Signature) {
    var r = try CanonicalReader(payload, tag: .signedMessage)
    let body = try r.bytes()
    let signature = try r.fixed(Ed25519Signature.self)
    try r.finish()
    return (body, signature)
}
