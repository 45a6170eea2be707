import VotingCore

/// What the election's rules need from a database (docs/operations.md "Storage"): an
/// append-only log with its Merkle nodes and checkpoints, the roll, enrollments, ballots and
/// the other rows of §8, and transactions. Two implementations: GRDB over SQLite (the
/// embedded default, `SQLiteStorage`) and PostgreSQL (several server instances,
/// `PostgresStorage`). The rules (`ElectionRules`) are written once against this protocol.
protocol ElectionStorage: Sendable {
    /// Runs `body` in one write transaction that holds the log's append lock for its whole
    /// duration (SQLite's write lock; PostgreSQL's advisory lock), so the log stays one
    /// sequence whatever process appends. Commits durably before returning.
    func write<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) throws -> T) async throws -> T
    /// Runs `body` on a consistent snapshot.
    func read<T: Sendable>(_ body: @escaping @Sendable (any StorageReads) throws -> T) async throws -> T
    /// The same, for synchronous commission commands that run without a server.
    func writeNow<T>(_ body: (any StorageTransaction) throws -> T) throws -> T
    func readNow<T>(_ body: (any StorageReads) throws -> T) throws -> T
    /// A short description for status output ("SQLite at …", "PostgreSQL at …").
    var location: String { get }
    /// Releases connections (PostgreSQL); a no-op for SQLite.
    func close() async throws
}

/// One roll entry: the keyed hash of a personal number and what the registrar and voting
/// attached to it. Never the number itself.
struct RollRow: Sendable, Equatable {
    var voterMac: Digest
    var district: String
    /// The current code commitment (changes with a reissue).
    var commitment: CodeCommitment
    /// The first commitment of this roll entry: its public pseudonym (supervised ballots).
    var pseudonym: Digest
    /// The voter key enrolled with the current code, if any.
    var voterKey: Ed25519PublicKey?
    /// The tracking code of this voter's supervised (in-person) ballot, if any.
    var supervised: TrackingCode?
}

/// Growing delays for wrong enrollment codes per personal number (on the roll or not).
struct CodeBackoff: Sendable, Equatable {
    var failures: Int
    var blockedUntil: Timestamp
}

struct EnrollmentRow: Sendable, Equatable {
    var voterKey: Ed25519PublicKey
    var district: String
    var logIndex: UInt64
    var voterMac: Digest
    var revokedAt: UInt64?
}

struct BallotRow: Sendable, Equatable {
    var voterKey: Ed25519PublicKey
    var trackingCode: TrackingCode
    var district: String
    var logIndex: UInt64
    /// Left out of the sum because the voter cast a supervised ballot.
    var superseded: Bool
}

struct SupervisedRow: Sendable, Equatable {
    var trackingCode: TrackingCode
    var voterMac: Digest
    var district: String
    var station: UInt32
    var logIndex: UInt64
    var blinding: Nonce32
}

/// The running per-option sum of the counted ballots of one district (so `close` never
/// re-reads the ballots).
struct TallySums: Sendable, Equatable {
    var ballots: Int
    var ciphertexts: [Ciphertext]
}

/// A perfect subtree of the Merkle tree to store (see `Merkle.nodesForAppend`).
struct StoredNode: Sendable {
    let level: Int
    let index: UInt64
    let hash: Digest
}

/// Reads on a snapshot (or inside a transaction, seeing its writes).
protocol StorageReads: MerkleNodeSource {
    func state() throws -> ElectionState
    func setupBytes() throws -> [UInt8]?

    // The log.
    func logSize() throws -> UInt64
    func entryBytes(at index: UInt64) throws -> [UInt8]?
    /// Entries with index in `range`, as (index, kind, bytes), in index order.
    func entries(in range: Range<UInt64>) throws -> [(UInt64, LogEntryKind, [UInt8])]
    /// Entries of `kinds` with index ≥ `start`, in index order, at most `limit`.
    func entries(kinds: Set<LogEntryKind>, from start: UInt64, limit: Int) throws -> [(UInt64, LogEntryKind, [UInt8])]
    /// Payloads of every entry of `kind`, in index order.
    func payloads(kind: LogEntryKind) throws -> [(index: UInt64, payload: [UInt8])]
    /// Every stored perfect subtree at `level` and above, by level then index (the proof
    /// cache's warm start), one at a time.
    func forEachNode(fromLevel level: Int, _ body: (StoredNode) throws -> Void) throws
    func latestCheckpoint() throws -> SignedCheckpoint?
    func checkpoint(size: UInt64) throws -> SignedCheckpoint?
    /// The first checkpoint whose tree covers entry `index` (the one sealed with it).
    func checkpoint(covering index: UInt64) throws -> SignedCheckpoint?
    /// Checkpoints with size in `range`.
    func checkpoints(in range: ClosedRange<UInt64>) throws -> [SignedCheckpoint]

    // Rows (docs/protocol.md §8).
    func rollRow(voterMac: Digest) throws -> RollRow?
    func rollRow(voterKey: Ed25519PublicKey) throws -> RollRow?
    func rollSizes() throws -> [String: Int]
    func backoff(voterMac: Digest) throws -> CodeBackoff?
    func enrollment(voterKey: Ed25519PublicKey) throws -> EnrollmentRow?
    func enrollmentCounts() throws -> (active: [String: Int], revoked: [String: Int])
    func ballot(voterKey: Ed25519PublicKey) throws -> BallotRow?
    func ballot(trackingCode: TrackingCode) throws -> BallotRow?
    /// Cast ballots whose tracking code starts with `prefix` (a short code's 10 bytes), at most `limit`.
    func ballots(trackingCodePrefix prefix: [UInt8], limit: Int) throws -> [BallotRow]
    func ballotCounts() throws -> (cast: [String: Int], superseded: [String: Int])
    func isBallotIDClaimed(_ id: BallotID) throws -> Bool
    func spoiledIndex(trackingCode: TrackingCode) throws -> UInt64?
    func supervisedRows() throws -> [SupervisedRow]
    func tallySums(district: String) throws -> TallySums?
    func isNonceUsed(_ nonce: RequestAuthorization.Nonce) throws -> Bool
}

/// Writes inside one transaction; every read sees the writes made so far.
protocol StorageTransaction: StorageReads {
    func setState(_ state: ElectionState) throws
    func insertSetup(electionHash: Digest, setupBytes: [UInt8]) throws

    func insertEntry(index: UInt64, kind: LogEntryKind, bytes: [UInt8]) throws
    func insertNodes(_ nodes: [StoredNode]) throws
    func insertCheckpoint(_ checkpoint: SignedCheckpoint) throws

    /// Inserts a roll row; throws `RuleError.duplicateVoter` when the number is already on the roll.
    func insertRollRow(_ row: RollRow) throws
    func updateRollRow(_ row: RollRow) throws
    func isCommitmentKnown(_ value: Digest) throws -> Bool
    func setBackoff(voterMac: Digest, _ backoff: CodeBackoff?) throws
    func insertEnrollment(_ row: EnrollmentRow) throws
    func revokeEnrollment(voterKey: Ed25519PublicKey, at index: UInt64) throws
    func insertBallot(_ row: BallotRow) throws
    func markSuperseded(trackingCode: TrackingCode) throws
    /// Claims a ballot id for the whole log; false when it is already claimed.
    func claimBallotID(_ id: BallotID) throws -> Bool
    func insertSpoiled(trackingCode: TrackingCode, index: UInt64) throws
    func insertSupervised(_ row: SupervisedRow) throws
    func setTallySums(district: String, _ sums: TallySums) throws
    func recordNonce(_ nonce: RequestAuthorization.Nonce, expiresAt: Timestamp, now: Timestamp) throws

    /// Runs `body` so that everything it wrote is undone when it throws.
    func withSavepoint<T>(_ body: () throws -> T) throws -> T
}

extension RuleError {
    static let duplicateVoter = RuleError(.conflict, code: "duplicate-voter",
                                          message: "A personal number in this roll is already on the election's roll; remove it and import again.")
}
