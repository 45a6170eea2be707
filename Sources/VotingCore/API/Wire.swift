/// JSON bodies of the HTTP API (docs/openapi.yaml), shared by the server and its clients.
/// Request bodies reject unknown fields; all bytes are lowercase hex.

/// `POST /v1/enrollments`.
public struct EnrollmentRequestBody: Codable, Sendable {
    public let personalNumber: String
    public let code: String
    public let voterKey: Ed25519PublicKey
    /// Voter's signature over `EnrollmentRequest.signedBytes` (proof of possession).
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable {
        case personalNumber = "personal_number"
        case code
        case voterKey = "voter_key"
        case signature
    }

    public init(personalNumber: String, code: String, voterKey: Ed25519PublicKey, signature: Ed25519Signature) {
        self.personalNumber = personalNumber
        self.code = code
        self.voterKey = voterKey
        self.signature = signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        personalNumber = try c.decode(String.self, forKey: .personalNumber)
        code = try c.decode(String.self, forKey: .code)
        voterKey = try c.decode(Ed25519PublicKey.self, forKey: .voterKey)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }
}

/// A receipt with what a client needs to check it on the spot: the logged entry and its
/// inclusion proof against the receipt's checkpoint.
public struct LoggedReceipt: Codable, Sendable, Hashable {
    public let receipt: Receipt
    public let entry: HexBytes
    public let inclusionProof: [Digest]

    enum CodingKeys: String, CodingKey {
        case receipt, entry
        case inclusionProof = "inclusion_proof"
    }

    public init(receipt: Receipt, entry: HexBytes, inclusionProof: [Digest]) {
        self.receipt = receipt
        self.entry = entry
        self.inclusionProof = inclusionProof
    }
}

/// `POST /v1/enrollments` response.
public struct EnrollmentResponse: Codable, Sendable {
    public let district: String
    public let logged: LoggedReceipt

    public init(district: String, logged: LoggedReceipt) {
        self.district = district
        self.logged = logged
    }
}

/// `POST /v1/ballots` response.
public struct CastResponse: Codable, Sendable {
    public let trackingCode: TrackingCode
    public let shortCode: String
    public let logged: LoggedReceipt

    enum CodingKeys: String, CodingKey {
        case trackingCode = "tracking_code"
        case shortCode = "short_code"
        case logged
    }

    public init(trackingCode: TrackingCode, logged: LoggedReceipt) {
        self.trackingCode = trackingCode
        self.shortCode = trackingCode.short
        self.logged = logged
    }
}

/// Voting window state.
public enum ElectionState: String, Codable, Sendable {
    /// Roll may be imported and voters may enroll; no ballots yet.
    case setup
    /// Voters enroll and cast.
    case open
    /// No more ballots or enrollments.
    case closed
}

/// `GET /v1/election`.
public struct ElectionInfo: Codable, Sendable {
    public let electionHash: Digest
    public let manifest: ElectionManifest
    public let serverKey: Ed25519PublicKey
    public let commissionKey: Ed25519PublicKey
    /// The 32 random bytes drawn at `init` (entry 0).
    public let nonce: Nonce32
    public let state: ElectionState
    /// The joint election key, once the trustees' ceremony has completed.
    public let electionKey: GroupElement?

    enum CodingKeys: String, CodingKey {
        case electionHash = "election_hash"
        case manifest
        case serverKey = "server_key"
        case commissionKey = "commission_key"
        case nonce
        case state
        case electionKey = "election_key"
    }

    public init(electionHash: Digest, manifest: ElectionManifest, serverKey: Ed25519PublicKey,
                commissionKey: Ed25519PublicKey, nonce: Nonce32, state: ElectionState, electionKey: GroupElement?) {
        self.electionHash = electionHash
        self.manifest = manifest
        self.serverKey = serverKey
        self.commissionKey = commissionKey
        self.nonce = nonce
        self.state = state
        self.electionKey = electionKey
    }

    /// Entry 0 as this answer describes it; its hash must be `electionHash` (eq. 1).
    public var setup: ElectionSetup {
        ElectionSetup(manifest: manifest, serverKey: serverKey, commissionKey: commissionKey, nonce: nonce)
    }
}

/// `GET /v1/ballots/{tracking_code}`: where a ballot is, proven against the latest checkpoint.
public struct BallotLookup: Codable, Sendable {
    public let trackingCode: TrackingCode
    public let logIndex: UInt64
    public let entry: HexBytes
    public let checkpoint: SignedCheckpoint
    public let inclusionProof: [Digest]

    enum CodingKeys: String, CodingKey {
        case trackingCode = "tracking_code"
        case logIndex = "log_index"
        case entry, checkpoint
        case inclusionProof = "inclusion_proof"
    }

    public init(trackingCode: TrackingCode, logIndex: UInt64, entry: HexBytes, checkpoint: SignedCheckpoint, inclusionProof: [Digest]) {
        self.trackingCode = trackingCode
        self.logIndex = logIndex
        self.entry = entry
        self.checkpoint = checkpoint
        self.inclusionProof = inclusionProof
    }
}

/// `GET /v1/log/inclusion`.
public struct InclusionProofBody: Codable, Sendable {
    public let index: UInt64
    public let treeSize: UInt64
    public let proof: [Digest]

    enum CodingKeys: String, CodingKey {
        case index
        case treeSize = "tree_size"
        case proof
    }

    public init(index: UInt64, treeSize: UInt64, proof: [Digest]) {
        self.index = index
        self.treeSize = treeSize
        self.proof = proof
    }
}

/// `GET /v1/log/consistency`.
public struct ConsistencyProofBody: Codable, Sendable {
    public let first: UInt64
    public let second: UInt64
    public let proof: [Digest]

    public init(first: UInt64, second: UInt64, proof: [Digest]) {
        self.first = first
        self.second = second
        self.proof = proof
    }
}

/// One log entry as served by `GET /v1/log/entries`.
public struct LogEntryBody: Codable, Sendable, Hashable {
    public let index: UInt64
    public let kind: LogEntryKind
    public let data: HexBytes

    public init(index: UInt64, kind: LogEntryKind, data: HexBytes) {
        self.index = index
        self.kind = kind
        self.data = data
    }
}

/// `GET /v1/log/entries`.
public struct LogEntriesPage: Codable, Sendable {
    public let entries: [LogEntryBody]
    /// Index to ask for next, or null at the end of the log.
    public let next: UInt64?

    public init(entries: [LogEntryBody], next: UInt64?) {
        self.entries = entries
        self.next = next
    }
}

/// Every error response: a stable machine-readable code and a sentence saying what to do.
public struct ErrorBody: Codable, Sendable, Hashable {
    public let code: String
    public let message: String
    /// For `already-voted`: the tracking code of the ballot already recorded.
    public let trackingCode: String?

    enum CodingKeys: String, CodingKey {
        case code, message
        case trackingCode = "tracking_code"
    }

    public init(code: String, message: String, trackingCode: String? = nil) {
        self.code = code
        self.message = message
        self.trackingCode = trackingCode
    }
}

/// `GET /v1/trustees`: the ceremony so far.
public struct TrusteesInfo: Codable, Sendable {
    public let policy: TrusteePolicy
    public let trustees: [TrusteeRegistration]
    public let dealings: [DealerPublication]
    public let verifications: [ShareVerification]
    public let electionKey: ElectionKeyRecord?

    enum CodingKeys: String, CodingKey {
        case policy, trustees, dealings, verifications
        case electionKey = "election_key"
    }

    public init(policy: TrusteePolicy, trustees: [TrusteeRegistration], dealings: [DealerPublication],
                verifications: [ShareVerification], electionKey: ElectionKeyRecord?) {
        self.policy = policy
        self.trustees = trustees
        self.dealings = dealings
        self.verifications = verifications
        self.electionKey = electionKey
    }
}

/// Results with the server's signature over their canonical bytes.
public struct SignedResults: Codable, Sendable, Hashable {
    public let results: ElectionResults
    public let signature: Ed25519Signature

    public init(results: ElectionResults, signature: Ed25519Signature) {
        self.results = results
        self.signature = signature
    }

    public func isValid(serverKey: Ed25519PublicKey) -> Bool {
        serverKey.isValidSignature(signature, for: results.canonicalBytes)
    }

    /// Log payload: results canonical bytes and the server's signature.
    public var payload: [UInt8] { signedPayload(results.canonicalBytes, signature) }

    public static func decode(payload: [UInt8]) throws -> SignedResults {
        let (body, signature) = try openSignedPayload(payload)
        return SignedResults(results: try ElectionResults.decode(canonical: body), signature: signature)
    }
}

/// `GET /v1/tally`: the aggregate, the trustees' partial decryptions and the results so far.
public struct TallyInfo: Codable, Sendable {
    public let aggregate: TallyAggregate?
    /// Log index of the aggregate entry: every ballot logged before it is counted in it.
    public let aggregateIndex: UInt64?
    public let decryptions: [PartialDecryption]
    public let results: SignedResults?

    enum CodingKeys: String, CodingKey {
        case aggregate
        case aggregateIndex = "aggregate_index"
        case decryptions, results
    }

    public init(aggregate: TallyAggregate?, aggregateIndex: UInt64?, decryptions: [PartialDecryption], results: SignedResults?) {
        self.aggregate = aggregate
        self.aggregateIndex = aggregateIndex
        self.decryptions = decryptions
        self.results = results
    }
}

/// `POST /v1/ballots/spoiled`: a challenged ballot, what opens it, and the enrolled voter
/// asking for it (the voter's key signs the challenge request; neither is logged).
public struct SpoilRequestBody: Codable, Sendable {
    public let ballot: BallotWire
    public let opening: BallotOpening
    public let voterKey: Ed25519PublicKey
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable {
        case ballot, opening
        case voterKey = "voter_key"
        case signature
    }

    public init(ballot: BallotWire, opening: BallotOpening, voterKey: Ed25519PublicKey, signature: Ed25519Signature) {
        self.ballot = ballot
        self.opening = opening
        self.voterKey = voterKey
        self.signature = signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        ballot = try c.decode(BallotWire.self, forKey: .ballot)
        opening = try c.decode(BallotOpening.self, forKey: .opening)
        voterKey = try c.decode(Ed25519PublicKey.self, forKey: .voterKey)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }

    /// What the voter's key signs to ask for a challenge: `evote.v2.challenge-request`
    /// {election_hash, voter_key, tracking_code}. Transport only: never logged.
    public static func signedBytes(electionHash: Digest, voterKey: Ed25519PublicKey, trackingCode: TrackingCode) -> [UInt8] {
        var w = CanonicalWriter(tag: .challengeRequest)
        w.fixed(electionHash)
        w.key(voterKey)
        w.fixed(trackingCode.digest)
        return w.bytes
    }

    public static func make(ballot: Ballot, opening: BallotOpening, voterKey: Ed25519PrivateKey) throws -> SpoilRequestBody {
        let bytes = signedBytes(electionHash: ballot.electionHash, voterKey: voterKey.publicKey, trackingCode: ballot.trackingCode)
        return SpoilRequestBody(ballot: ballot.wire, opening: opening, voterKey: voterKey.publicKey,
                                signature: try voterKey.signature(for: bytes))
    }

    public var hasValidSignature: Bool {
        let b = ballot.ballot
        return voterKey.isValidSignature(signature, for: Self.signedBytes(electionHash: b.electionHash, voterKey: voterKey,
                                                                        trackingCode: b.trackingCode))
    }
}

/// Answer to a trustee publication: where it was logged.
public struct PublicationResponse: Codable, Sendable {
    public let logIndex: UInt64

    enum CodingKeys: String, CodingKey { case logIndex = "log_index" }

    public init(logIndex: UInt64) { self.logIndex = logIndex }
}

/// POST /v1/commission/window: the commission's signed order (the log's `window` entry).
public struct WindowOrderBody: Codable, Sendable {
    public let action: WindowChange.Action
    public let issuedAt: Timestamp
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable {
        case action, issuedAt = "issued_at", signature
    }

    public init(_ order: WindowChange) {
        action = order.action
        issuedAt = order.issuedAt
        signature = order.signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        action = try c.decode(WindowChange.Action.self, forKey: .action)
        issuedAt = try c.decode(Timestamp.self, forKey: .issuedAt)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }

    public var order: WindowChange { WindowChange(action: action, issuedAt: issuedAt, signature: signature) }
}

/// Answer to a window order: the state it left and where the order was logged.
public struct WindowResponse: Codable, Sendable {
    public let state: ElectionState
    public let logIndex: UInt64

    enum CodingKeys: String, CodingKey { case state, logIndex = "log_index" }

    public init(state: ElectionState, logIndex: UInt64) {
        self.state = state
        self.logIndex = logIndex
    }
}
