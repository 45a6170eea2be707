import Foundation
import GRDB
import VotingCore

/// The embedded default storage: GRDB over the system SQLite, WAL with `synchronous=FULL` on
/// every connection (ElectionDatabase). SQLite's single writer is the log's append lock.
final class SQLiteStorage: ElectionStorage {
    let pool: DatabasePool
    let path: String

    init(path: String) throws {
        self.path = path
        pool = try ElectionDatabase.open(path: path)
    }

    var location: String { "SQLite at \(path)" }

    func write<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) throws -> T) async throws -> T {
        try await pool.write { db in try body(SQLiteTransaction(db)) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StorageReads) throws -> T) async throws -> T {
        try await pool.read { db in try body(SQLiteTransaction(db)) }
    }

    func writeNow<T>(_ body: (any StorageTransaction) throws -> T) throws -> T {
        try pool.write { db in try body(SQLiteTransaction(db)) }
    }

    func readNow<T>(_ body: (any StorageReads) throws -> T) throws -> T {
        try pool.read { db in try body(SQLiteTransaction(db)) }
    }

    func close() async throws {}
}

/// One GRDB connection's view inside `pool.read` or `pool.write`.
struct SQLiteTransaction: StorageTransaction {
    let db: Database

    init(_ db: Database) { self.db = db }

    private func blob(_ bytes: [UInt8]) -> Data { Data(bytes) }
    private func digest(_ row: Row, _ column: String) throws -> Digest {
        let data: Data = row[column]
        guard let d = Digest(bytes: [UInt8](data)) else { throw RuleError.internalError }
        return d
    }
    private func key(_ data: Data?) throws -> Ed25519PublicKey? {
        guard let data else { return nil }
        return try Ed25519PublicKey(rawRepresentation: [UInt8](data))
    }

    // MARK: the election

    func state() throws -> ElectionState {
        let raw = try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM election WHERE id = 1"))
        guard let raw, let state = ElectionState(rawValue: raw) else { throw RuleError.internalError }
        return state
    }

    func setState(_ state: ElectionState) throws {
        try db.execute(sql: "UPDATE election SET state = ? WHERE id = 1", arguments: [state.rawValue])
    }

    func setupBytes() throws -> [UInt8]? {
        try Data.fetchOne(db, sql: "SELECT setup FROM election WHERE id = 1").map { [UInt8]($0) }
    }

    func insertSetup(electionHash: Digest, setupBytes: [UInt8]) throws {
        try db.execute(sql: "INSERT INTO election (id, election_hash, setup, state) VALUES (1, ?, ?, 'setup')",
                       arguments: [blob(electionHash.bytes), blob(setupBytes)])
    }

    // MARK: the log

    func logSize() throws -> UInt64 {
        UInt64(try Int64.fetchOne(db.cachedStatement(sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries")) ?? 0)
    }

    func entryBytes(at index: UInt64) throws -> [UInt8]? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT data FROM log_entries WHERE idx = ?"),
                          arguments: [Int64(clamping: index)]).map { [UInt8]($0) }
    }

    private func entryRows(_ rows: [Row]) throws -> [(UInt64, LogEntryKind, [UInt8])] {
        try rows.map { row in
            let idx: Int64 = row["idx"]
            let raw: String = row["kind"]
            let data: Data = row["data"]
            guard let kind = LogEntryKind(rawValue: raw) else { throw RuleError.internalError }
            return (UInt64(idx), kind, [UInt8](data))
        }
    }

    func entries(in range: Range<UInt64>) throws -> [(UInt64, LogEntryKind, [UInt8])] {
        try entryRows(Row.fetchAll(db.cachedStatement(sql: "SELECT idx, kind, data FROM log_entries WHERE idx >= ? AND idx < ? ORDER BY idx"),
                                   arguments: [Int64(clamping: range.lowerBound), Int64(clamping: range.upperBound)]))
    }

    func entries(kinds: Set<LogEntryKind>, from start: UInt64, limit: Int) throws -> [(UInt64, LogEntryKind, [UInt8])] {
        let list = kinds.map { "'\($0.rawValue)'" }.sorted().joined(separator: ", ")
        return try entryRows(Row.fetchAll(db, sql: "SELECT idx, kind, data FROM log_entries WHERE idx >= ? AND kind IN (\(list)) ORDER BY idx LIMIT ?",
                                          arguments: [Int64(clamping: start), limit]))
    }

    func payloads(kind: LogEntryKind) throws -> [(index: UInt64, payload: [UInt8])] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT idx, data FROM log_entries WHERE kind = ? ORDER BY idx"), arguments: [kind.rawValue])
            .map { row in
                let idx: Int64 = row["idx"]
                let data: Data = row["data"]
                return (UInt64(idx), try LogEntry.decode(canonical: [UInt8](data)).payload)
            }
    }

    func insertEntry(index: UInt64, kind: LogEntryKind, bytes: [UInt8]) throws {
        try db.cachedStatement(sql: "INSERT INTO log_entries (idx, kind, data) VALUES (?, ?, ?)")
            .execute(arguments: [Int64(clamping: index), kind.rawValue, blob(bytes)])
    }

    func node(level: Int, index: UInt64) throws -> Digest? {
        try Data.fetchOne(db.cachedStatement(sql: "SELECT hash FROM log_nodes WHERE level = ? AND idx = ?"),
                          arguments: [level, Int64(clamping: index)]).flatMap { Digest(bytes: [UInt8]($0)) }
    }

    func forEachNode(fromLevel level: Int, _ body: (StoredNode) throws -> Void) throws {
        let rows = try Row.fetchCursor(db, sql: "SELECT level, idx, hash FROM log_nodes WHERE level >= ? ORDER BY level, idx", arguments: [level])
        while let row = try rows.next() {
            let idx: Int64 = row["idx"]
            let hash: Data = row["hash"]
            guard let digest = Digest(bytes: [UInt8](hash)) else { throw RuleError.internalError }
            try body(StoredNode(level: row["level"], index: UInt64(max(0, idx)), hash: digest))
        }
    }

    func insertNodes(_ nodes: [StoredNode]) throws {
        let insert = try db.cachedStatement(sql: "INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)")
        for node in nodes { try insert.execute(arguments: [node.level, Int64(clamping: node.index), blob(node.hash.bytes)]) }
    }

    private func checkpoint(_ row: Row, electionHash: Digest) throws -> SignedCheckpoint {
        let size: Int64 = row["tree_size"]
        let time: Int64 = row["timestamp"]
        let sig: Data = row["signature"]
        guard let signature = Ed25519Signature(bytes: [UInt8](sig)) else { throw RuleError.internalError }
        return SignedCheckpoint(checkpoint: Checkpoint(electionHash: electionHash, treeSize: UInt64(size), rootHash: try digest(row, "root_hash"),
                                                       timestamp: UInt64(time)), signature: signature)
    }

    private func electionHash() throws -> Digest {
        guard let data = try Data.fetchOne(db.cachedStatement(sql: "SELECT election_hash FROM election WHERE id = 1")),
              let d = Digest(bytes: [UInt8](data)) else { throw RuleError.internalError }
        return d
    }

    func latestCheckpoint() throws -> SignedCheckpoint? {
        let hash = try electionHash()
        return try Row.fetchOne(db, sql: "SELECT * FROM checkpoints ORDER BY tree_size DESC LIMIT 1").map { try checkpoint($0, electionHash: hash) }
    }

    func checkpoint(size: UInt64) throws -> SignedCheckpoint? {
        let hash = try electionHash()
        return try Row.fetchOne(db, sql: "SELECT * FROM checkpoints WHERE tree_size = ?", arguments: [Int64(clamping: size)])
            .map { try checkpoint($0, electionHash: hash) }
    }

    func checkpoint(covering index: UInt64) throws -> SignedCheckpoint? {
        let hash = try electionHash()
        return try Row.fetchOne(db, sql: "SELECT * FROM checkpoints WHERE tree_size > ? ORDER BY tree_size LIMIT 1",
                                arguments: [Int64(clamping: index)]).map { try checkpoint($0, electionHash: hash) }
    }

    func checkpoints(in range: ClosedRange<UInt64>) throws -> [SignedCheckpoint] {
        let hash = try electionHash()
        return try Row.fetchAll(db, sql: "SELECT * FROM checkpoints WHERE tree_size >= ? AND tree_size <= ? ORDER BY tree_size",
                                arguments: [Int64(clamping: range.lowerBound), Int64(clamping: range.upperBound)])
            .map { try checkpoint($0, electionHash: hash) }
    }

    func insertCheckpoint(_ cp: SignedCheckpoint) throws {
        try db.execute(sql: "INSERT INTO checkpoints (tree_size, root_hash, timestamp, signature) VALUES (?, ?, ?, ?)",
                       arguments: [Int64(clamping: cp.checkpoint.treeSize), blob(cp.checkpoint.rootHash.bytes),
                                   Int64(clamping: cp.checkpoint.timestamp), blob(cp.signature.bytes)])
    }

    // MARK: the roll

    private func rollRow(_ row: Row) throws -> RollRow {
        let salt: Data = row["salt"]
        let supervised: Data? = row["supervised"]
        guard let s = Salt(bytes: [UInt8](salt)) else { throw RuleError.internalError }
        return RollRow(voterMac: try digest(row, "voter_mac"), district: row["district"],
                       commitment: CodeCommitment(salt: s, value: try digest(row, "commitment")),
                       pseudonym: try digest(row, "pseudonym"), voterKey: try key(row["voter_key"]),
                       supervised: supervised.flatMap { Digest(bytes: [UInt8]($0)) }.map { TrackingCode(digest: $0) })
    }

    func rollRow(voterMac: Digest) throws -> RollRow? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM roll WHERE voter_mac = ?"), arguments: [blob(voterMac.bytes)]).map(rollRow)
    }

    func rollRow(voterKey: Ed25519PublicKey) throws -> RollRow? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM roll WHERE voter_key = ?"), arguments: [blob(voterKey.rawRepresentation)]).map(rollRow)
    }

    func insertRollRow(_ row: RollRow) throws {
        do {
            try db.cachedStatement(sql: "INSERT INTO roll (voter_mac, district, salt, commitment, pseudonym, voter_key, supervised) VALUES (?, ?, ?, ?, ?, NULL, NULL)")
                .execute(arguments: [blob(row.voterMac.bytes), row.district, blob(row.commitment.salt.bytes),
                                     blob(row.commitment.value.bytes), blob(row.pseudonym.bytes)])
            try db.cachedStatement(sql: "INSERT INTO commitments (value) VALUES (?)").execute(arguments: [blob(row.commitment.value.bytes)])
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
            throw RuleError.duplicateVoter
        }
    }

    func updateRollRow(_ row: RollRow) throws {
        try db.cachedStatement(sql: "UPDATE roll SET district = ?, salt = ?, commitment = ?, voter_key = ?, supervised = ? WHERE voter_mac = ?")
            .execute(arguments: [row.district, blob(row.commitment.salt.bytes), blob(row.commitment.value.bytes),
                                 row.voterKey.map { blob($0.rawRepresentation) }, row.supervised.map { blob($0.digest.bytes) },
                                 blob(row.voterMac.bytes)])
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO commitments (value) VALUES (?)").execute(arguments: [blob(row.commitment.value.bytes)])
    }

    func isCommitmentKnown(_ value: Digest) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM commitments WHERE value = ?"), arguments: [blob(value.bytes)]) ?? false
    }

    func rollSizes() throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT district, COUNT(*) AS n FROM roll GROUP BY district") { out[row["district"]] = row["n"] }
        return out
    }

    func backoff(voterMac: Digest) throws -> CodeBackoff? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT failures, blocked_until FROM code_backoff WHERE voter_mac = ?"),
                         arguments: [blob(voterMac.bytes)]).map { row in
            let until: Int64 = row["blocked_until"]
            return CodeBackoff(failures: row["failures"], blockedUntil: UInt64(max(0, until)))
        }
    }

    func setBackoff(voterMac: Digest, _ backoff: CodeBackoff?) throws {
        if let backoff {
            try db.cachedStatement(sql: "INSERT INTO code_backoff (voter_mac, failures, blocked_until) VALUES (?, ?, ?) ON CONFLICT(voter_mac) DO UPDATE SET failures = excluded.failures, blocked_until = excluded.blocked_until")
                .execute(arguments: [blob(voterMac.bytes), backoff.failures, Int64(clamping: backoff.blockedUntil)])
        } else {
            try db.cachedStatement(sql: "DELETE FROM code_backoff WHERE voter_mac = ?").execute(arguments: [blob(voterMac.bytes)])
        }
    }

    // MARK: enrollments and ballots

    func enrollment(voterKey: Ed25519PublicKey) throws -> EnrollmentRow? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM enrollments WHERE voter_key = ?"), arguments: [blob(voterKey.rawRepresentation)])
            .map { row in
                let index: Int64 = row["log_index"]
                let revoked: Int64? = row["revoked_at"]
                return EnrollmentRow(voterKey: voterKey, district: row["district"], logIndex: UInt64(index),
                                     voterMac: try digest(row, "voter_mac"), revokedAt: revoked.map { UInt64($0) })
            }
    }

    func insertEnrollment(_ row: EnrollmentRow) throws {
        try db.cachedStatement(sql: "INSERT INTO enrollments (voter_key, district, log_index, voter_mac, revoked_at) VALUES (?, ?, ?, ?, NULL)")
            .execute(arguments: [blob(row.voterKey.rawRepresentation), row.district, Int64(clamping: row.logIndex), blob(row.voterMac.bytes)])
    }

    func revokeEnrollment(voterKey: Ed25519PublicKey, at index: UInt64) throws {
        try db.execute(sql: "UPDATE enrollments SET revoked_at = ? WHERE voter_key = ?",
                       arguments: [Int64(clamping: index), blob(voterKey.rawRepresentation)])
    }

    func enrollmentCounts() throws -> (active: [String: Int], revoked: [String: Int]) {
        var active: [String: Int] = [:], revoked: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT district, revoked_at IS NOT NULL AS revoked, COUNT(*) AS n FROM enrollments GROUP BY district, revoked") {
            let isRevoked: Bool = row["revoked"]
            if isRevoked { revoked[row["district"]] = row["n"] } else { active[row["district"]] = row["n"] }
        }
        return (active, revoked)
    }

    private func ballotRow(_ row: Row) throws -> BallotRow {
        let index: Int64 = row["log_index"]
        let data: Data = row["voter_key"]
        return BallotRow(voterKey: try Ed25519PublicKey(rawRepresentation: [UInt8](data)),
                         trackingCode: TrackingCode(digest: try digest(row, "tracking_code")), district: row["district"],
                         logIndex: UInt64(index), superseded: row["superseded"])
    }

    func ballot(voterKey: Ed25519PublicKey) throws -> BallotRow? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM ballots WHERE voter_key = ?"), arguments: [blob(voterKey.rawRepresentation)]).map(ballotRow)
    }

    func ballot(trackingCode: TrackingCode) throws -> BallotRow? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM ballots WHERE tracking_code = ?"), arguments: [blob(trackingCode.digest.bytes)]).map(ballotRow)
    }

    func ballots(trackingCodePrefix prefix: [UInt8], limit: Int) throws -> [BallotRow] {
        // A range over the unique index: prefix ≤ code < prefix + 1 (as a byte string).
        let low = blob(prefix)
        var high = prefix
        while let last = high.last, last == 0xff { high.removeLast() }
        guard !high.isEmpty else {
            return try Row.fetchAll(db, sql: "SELECT * FROM ballots WHERE tracking_code >= ? LIMIT ?", arguments: [low, limit]).map(ballotRow)
        }
        high[high.count - 1] += 1
        return try Row.fetchAll(db, sql: "SELECT * FROM ballots WHERE tracking_code >= ? AND tracking_code < ? LIMIT ?",
                                arguments: [low, blob(high), limit]).map(ballotRow)
    }

    func insertBallot(_ row: BallotRow) throws {
        try db.cachedStatement(sql: "INSERT INTO ballots (voter_key, tracking_code, district, log_index, superseded) VALUES (?, ?, ?, ?, ?)")
            .execute(arguments: [blob(row.voterKey.rawRepresentation), blob(row.trackingCode.digest.bytes), row.district,
                                 Int64(clamping: row.logIndex), row.superseded])
    }

    func markSuperseded(trackingCode: TrackingCode) throws {
        try db.execute(sql: "UPDATE ballots SET superseded = 1 WHERE tracking_code = ?", arguments: [blob(trackingCode.digest.bytes)])
    }

    func ballotCounts() throws -> (cast: [String: Int], superseded: [String: Int]) {
        var cast: [String: Int] = [:], superseded: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT district, COUNT(*) AS n, SUM(superseded) AS s FROM ballots GROUP BY district") {
            cast[row["district"]] = row["n"]
            superseded[row["district"]] = row["s"]
        }
        return (cast, superseded)
    }

    func isBallotIDClaimed(_ id: BallotID) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM ballot_ids WHERE ballot_id = ?"), arguments: [blob(id.bytes)]) ?? false
    }

    func claimBallotID(_ id: BallotID) throws -> Bool {
        try db.cachedStatement(sql: "INSERT OR IGNORE INTO ballot_ids (ballot_id) VALUES (?)").execute(arguments: [blob(id.bytes)])
        return db.changesCount == 1
    }

    func spoiledIndex(trackingCode: TrackingCode) throws -> UInt64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT log_index FROM spoiled WHERE tracking_code = ?"),
                           arguments: [blob(trackingCode.digest.bytes)]).map { UInt64($0) }
    }

    func insertSpoiled(trackingCode: TrackingCode, index: UInt64) throws {
        try db.cachedStatement(sql: "INSERT INTO spoiled (tracking_code, log_index) VALUES (?, ?)")
            .execute(arguments: [blob(trackingCode.digest.bytes), Int64(clamping: index)])
    }

    func supervisedRows() throws -> [SupervisedRow] {
        try Row.fetchAll(db, sql: "SELECT * FROM supervised ORDER BY log_index").map { row in
            let index: Int64 = row["log_index"]
            let station: Int64 = row["station"]
            let blinding: Data = row["blinding"]
            guard let b = Nonce32(bytes: [UInt8](blinding)) else { throw RuleError.internalError }
            return SupervisedRow(trackingCode: TrackingCode(digest: try digest(row, "tracking_code")), voterMac: try digest(row, "voter_mac"),
                                 district: row["district"], station: UInt32(clamping: station), logIndex: UInt64(index), blinding: b)
        }
    }

    func insertSupervised(_ row: SupervisedRow) throws {
        try db.execute(sql: "INSERT INTO supervised (tracking_code, voter_mac, district, station, log_index, blinding) VALUES (?, ?, ?, ?, ?, ?)",
                       arguments: [blob(row.trackingCode.digest.bytes), blob(row.voterMac.bytes), row.district, Int64(row.station),
                                   Int64(clamping: row.logIndex), blob(row.blinding.bytes)])
    }

    // MARK: the running tally

    func tallySums(district: String) throws -> TallySums? {
        guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT ballots, data FROM tally_sums WHERE district = ?"), arguments: [district]) else {
            return nil
        }
        let data: Data = row["data"]
        return TallySums(ballots: row["ballots"], ciphertexts: try TallySums.decode([UInt8](data)))
    }

    func setTallySums(district: String, _ sums: TallySums) throws {
        try db.cachedStatement(sql: "INSERT INTO tally_sums (district, ballots, data) VALUES (?, ?, ?) ON CONFLICT(district) DO UPDATE SET ballots = excluded.ballots, data = excluded.data")
            .execute(arguments: [district, sums.ballots, blob(sums.encoded)])
    }

    // MARK: request nonces

    func isNonceUsed(_ nonce: RequestAuthorization.Nonce) throws -> Bool {
        try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM request_nonces WHERE nonce = ?"), arguments: [blob(nonce.bytes)]) ?? false
    }

    func recordNonce(_ nonce: RequestAuthorization.Nonce, expiresAt: Timestamp, now: Timestamp) throws {
        try db.execute(sql: "DELETE FROM request_nonces WHERE expires_at < ?", arguments: [Int64(clamping: now)])
        try db.execute(sql: "INSERT INTO request_nonces (nonce, expires_at) VALUES (?, ?)",
                       arguments: [blob(nonce.bytes), Int64(clamping: expiresAt)])
    }

    func withSavepoint<T>(_ body: () throws -> T) throws -> T {
        var result: T?
        try db.inSavepoint {
            result = try body()
            return .commit
        }
        guard let result else { throw RuleError.internalError }
        return result
    }
}

extension TallySums {
    /// The sums as stored: every ciphertext's alpha and beta, 65 bytes each (the identity as 65 zeros).
    var encoded: [UInt8] { ciphertexts.flatMap { $0.alpha.encoding + $0.beta.encoding } }

    static func decode(_ bytes: [UInt8]) throws -> [Ciphertext] {
        let n = GroupElement.byteCount
        guard bytes.count % (2 * n) == 0 else { throw RuleError.internalError }
        return try stride(from: 0, to: bytes.count, by: 2 * n).map { i in
            Ciphertext(alpha: try GroupElement(encodingAllowingIdentity: Array(bytes[i..<(i + n)])),
                       beta: try GroupElement(encodingAllowingIdentity: Array(bytes[(i + n)..<(i + 2 * n)])))
        }
    }
}

/// An error of the database itself (not of the rules): the API answers 503 `unavailable`.
protocol StorageFailure: Error {}

extension DatabaseError: StorageFailure {}
