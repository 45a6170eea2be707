/// What a log entry records (docs/protocol.md §5.2).
public enum LogEntryKind: String, Sendable, Codable, CaseIterable {
    /// Entry 0: the manifest, the election's keys and nonce (`ElectionSetup`).
    case election
    /// The registrar's signed list of code commitments for voters added to the roll (`RollImport`).
    case roll
    /// The registrar's signed order replacing one voter's code; revokes the key it enrolled (`ReissueEntry`).
    case reissue
    /// A voter key bound to a district by opening a registrar commitment (`Enrollment`).
    case enrollment
    /// A cast ballot, signed by the voter's key (`SignedBallot`).
    case ballot
    /// The commission opened or closed voting (`WindowChange`).
    case window
    /// A trustee's self-signed public keys, appointed by the commission (`TrusteeRegistration`).
    case trustee
    /// A trustee's commitments, proof and encrypted shares (`DealerPublication`, signed).
    case dealing
    /// A trustee's verdict on the shares it received (`ShareVerification`, signed).
    case verification
    /// The joint election key and the trustees' public shares (`ElectionKeyRecord`).
    case electionKey = "election-key"
    /// A polling station's key, appointed by the commission (`StationRegistration`).
    case station
    /// A challenged ballot and its opening; never counted, names no voter (`SpoiledBallot`).
    case spoiled
    /// A ballot cast in person at a station, signed by the station (`SupervisedBallot`).
    case supervised
    /// At the close: which roll entry each supervised ballot is for and which remote ballot it supersedes (`SupersessionReveal`).
    case reveal
    /// The homomorphic sum of the counted ballots per district (`TallyAggregate`).
    case aggregate
    /// A trustee's partial decryption of the aggregate (`PartialDecryption`, signed).
    case decryption
    /// Counts and winners per district, signed by the server (`ElectionResults`).
    case results
}

/// One leaf of the transparency log (docs/protocol.md §5.1). The leaf hash is
/// SHA-256(0x00 || canonicalBytes).
public struct LogEntry: Sendable, Hashable {
    public let index: UInt64
    public let electionHash: Digest
    public let timestamp: Timestamp
    public let kind: LogEntryKind
    /// Canonical bytes of the kind's object.
    public let payload: [UInt8]

    public init(index: UInt64, electionHash: Digest, timestamp: Timestamp, kind: LogEntryKind, payload: [UInt8]) {
        self.index = index
        self.electionHash = electionHash
        self.timestamp = timestamp
        self.kind = kind
        self.payload = payload
    }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .logEntry)
        w.u64(index)
        w.fixed(electionHash)
        w.u64(timestamp)
        w.string(kind.rawValue)
        w.bytes(payload)
        return w.bytes
    }

    public var leafHash: Digest { Merkle.leafHash(canonicalBytes) }

    public static func decode(canonical bytes: [UInt8]) throws -> LogEntry {
        var r = try CanonicalReader(bytes, tag: .logEntry)
        let index = try r.u64()
        let hash = try r.fixed(Digest.self)
        let time = try r.u64()
        let rawKind = try r.string()
        guard let kind = LogEntryKind(rawValue: rawKind) else { throw RecordError.unknownValue("log entry kind \"\(rawKind)\"") }
        let payload = try r.bytes()
        try r.finish()
        return LogEntry(index: index, electionHash: hash, timestamp: time, kind: kind, payload: payload)
    }
}

/// A tree head: the log's size and root at a moment (docs/protocol.md §5.3).
public struct Checkpoint: Sendable, Hashable {
    public let electionHash: Digest
    public let treeSize: UInt64
    public let rootHash: Digest
    public let timestamp: Timestamp

    public init(electionHash: Digest, treeSize: UInt64, rootHash: Digest, timestamp: Timestamp) {
        self.electionHash = electionHash
        self.treeSize = treeSize
        self.rootHash = rootHash
        self.timestamp = timestamp
    }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .checkpoint)
        w.fixed(electionHash)
        w.u64(treeSize)
        w.fixed(rootHash)
        w.u64(timestamp)
        return w.bytes
    }

    public func signed(with key: Ed25519PrivateKey) throws -> SignedCheckpoint {
        SignedCheckpoint(checkpoint: self, signature: try key.signature(for: canonicalBytes))
    }
}

/// A checkpoint with the server's signature. JSON: flat object with snake_case fields.
public struct SignedCheckpoint: Sendable, Hashable, Codable {
    public let checkpoint: Checkpoint
    public let signature: Ed25519Signature

    public init(checkpoint: Checkpoint, signature: Ed25519Signature) {
        self.checkpoint = checkpoint
        self.signature = signature
    }

    public func isValid(serverKey: Ed25519PublicKey) -> Bool {
        serverKey.isValidSignature(signature, for: checkpoint.canonicalBytes)
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case electionHash = "election_hash"
        case treeSize = "tree_size"
        case rootHash = "root_hash"
        case timestamp, signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        checkpoint = Checkpoint(
            electionHash: try c.decode(Digest.self, forKey: .electionHash),
            treeSize: try c.decode(UInt64.self, forKey: .treeSize),
            rootHash: try c.decode(Digest.self, forKey: .rootHash),
            timestamp: try c.decode(UInt64.self, forKey: .timestamp))
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(checkpoint.electionHash, forKey: .electionHash)
        try c.encode(checkpoint.treeSize, forKey: .treeSize)
        try c.encode(checkpoint.rootHash, forKey: .rootHash)
        try c.encode(checkpoint.timestamp, forKey: .timestamp)
        try c.encode(signature, forKey: .signature)
    }
}

/// What the server signs when it has durably logged a voter's enrollment or ballot
/// (docs/protocol.md §6). For a ballot or a spoiled ballot the subject is the tracking code;
/// for an enrollment it is the voter's public key.
public struct Receipt: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable { case ballot, enrollment, spoiled, supervised }

    public let kind: Kind
    public let electionHash: Digest
    public let subject: Digest
    public let logIndex: UInt64
    public let leafHash: Digest
    public let checkpoint: SignedCheckpoint
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind
        case electionHash = "election_hash"
        case subject
        case logIndex = "log_index"
        case leafHash = "leaf_hash"
        case checkpoint, signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        kind = try c.decode(Kind.self, forKey: .kind)
        electionHash = try c.decode(Digest.self, forKey: .electionHash)
        subject = try c.decode(Digest.self, forKey: .subject)
        logIndex = try c.decode(UInt64.self, forKey: .logIndex)
        leafHash = try c.decode(Digest.self, forKey: .leafHash)
        checkpoint = try c.decode(SignedCheckpoint.self, forKey: .checkpoint)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }

    public static func signedBytes(kind: Kind, electionHash: Digest, subject: Digest, logIndex: UInt64,
                                   leafHash: Digest, checkpoint: SignedCheckpoint) -> [UInt8] {
        var w = CanonicalWriter(tag: .receipt)
        w.string(kind.rawValue)
        w.fixed(electionHash)
        w.fixed(subject)
        w.u64(logIndex)
        w.fixed(leafHash)
        w.bytes(checkpoint.checkpoint.canonicalBytes)
        w.fixed(checkpoint.signature)
        return w.bytes
    }

    public var signedBytes: [UInt8] {
        Self.signedBytes(kind: kind, electionHash: electionHash, subject: subject, logIndex: logIndex,
                         leafHash: leafHash, checkpoint: checkpoint)
    }

    /// Signs a receipt. Call only after the entry's transaction has committed.
    public static func issue(kind: Kind, electionHash: Digest, subject: Digest, logIndex: UInt64, leafHash: Digest,
                             checkpoint: SignedCheckpoint, serverKey: Ed25519PrivateKey) throws -> Receipt {
        let bytes = signedBytes(kind: kind, electionHash: electionHash, subject: subject, logIndex: logIndex,
                                leafHash: leafHash, checkpoint: checkpoint)
        return Receipt(kind: kind, electionHash: electionHash, subject: subject, logIndex: logIndex,
                       leafHash: leafHash, checkpoint: checkpoint, signature: try serverKey.signature(for: bytes))
    }

    public init(kind: Kind, electionHash: Digest, subject: Digest, logIndex: UInt64, leafHash: Digest,
                checkpoint: SignedCheckpoint, signature: Ed25519Signature) {
        self.kind = kind
        self.electionHash = electionHash
        self.subject = subject
        self.logIndex = logIndex
        self.leafHash = leafHash
        self.checkpoint = checkpoint
        self.signature = signature
    }
}
