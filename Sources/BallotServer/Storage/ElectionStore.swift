import Foundation
import GRDB
import Synchronization
import VotingCore

/// The election's storage and the rules that need it: roll, enrollment, one ballot per
/// voter, the log and its proofs. Stateless beyond its database, so several processes
/// (the server and commission commands) can share one data directory.
final class ElectionStore: Sendable {
    let pool: DatabasePool
    let setup: ElectionSetup
    let electionHash: Digest
    let serverKey: Ed25519PrivateKey
    let clock: Clock
    let keyCache = Mutex<GroupElement?>(nil)

    private init(pool: DatabasePool, setup: ElectionSetup, serverKey: Ed25519PrivateKey, clock: Clock) {
        self.pool = pool
        self.setup = setup
        self.electionHash = setup.manifest.electionHash
        self.serverKey = serverKey
        self.clock = clock
    }

    var manifest: ElectionManifest { setup.manifest }

    // MARK: creating and opening

    /// `ballot-server init`: keys (0600), database, and log entry 0 (the election setup).
    static func create(in dir: DataDirectory, manifest: ElectionManifest, clock: Clock = .system) throws -> ElectionStore {
        guard !dir.isInitialized else {
            throw CommandError("already-initialized", "\(dir.url.path) already holds an election; choose an empty directory")
        }
        let problems = manifest.problems()
        guard problems.isEmpty else { throw CommandError("invalid-manifest", problems.joined(separator: "; ")) }
        try dir.create()
        let serverKey = try Ed25519PrivateKey()
        let commissionKey = try Ed25519PrivateKey()
        try SecretFile.write(dir.serverKeyPath, Array(try serverKey.pemRepresentation.utf8))
        try SecretFile.write(dir.commissionKeyPath, Array(try commissionKey.pemRepresentation.utf8))
        try SecretFile.write(dir.rollSecretPath, Array(Hex.encode(try SecureRandom.bytes(32)).utf8))

        let setup = ElectionSetup(manifest: manifest, serverKey: serverKey.publicKey, commissionKey: commissionKey.publicKey)
        let pool = try ElectionDatabase.open(path: dir.databasePath)
        let hash = manifest.electionHash
        try pool.write { db in
            try db.execute(sql: "INSERT INTO election (id, election_hash, setup, state) VALUES (1, ?, ?, 'setup')",
                           arguments: [Data(hash.bytes), Data(setup.canonicalBytes)])
            let log = try LogAppender(db: db, electionHash: hash, timestamp: clock.now())
            _ = try log.append(kind: .election, payload: setup.canonicalBytes)
            _ = try log.seal(serverKey: serverKey)
        }
        return ElectionStore(pool: pool, setup: setup, serverKey: serverKey, clock: clock)
    }

    static func open(_ dir: DataDirectory, clock: Clock = .system) throws -> ElectionStore {
        guard dir.isInitialized else {
            throw CommandError("not-initialized", "\(dir.url.path) holds no election; run `ballot-server init --data \(dir.url.path)` first")
        }
        let serverKey = try dir.serverKey()
        let pool = try ElectionDatabase.open(path: dir.databasePath)
        let setupBytes = try pool.read { db in try Data.fetchOne(db, sql: "SELECT setup FROM election WHERE id = 1") }
        guard let setupBytes else { throw CommandError("corrupt-database", "the election row is missing; restore the database from backup") }
        let setup = try ElectionSetup.decode(canonical: [UInt8](setupBytes))
        guard setup.serverKey == serverKey.publicKey else {
            throw CommandError("key-mismatch", "server.key does not match the key published for this election; restore the right key file")
        }
        return ElectionStore(pool: pool, setup: setup, serverKey: serverKey, clock: clock)
    }

    // MARK: commission actions (run in their own transaction)

    struct RollRow {
        let personalNumber: String
        let district: String
        let line: Int
    }

    struct IssuedCode {
        let personalNumber: String
        let district: String
        let code: String
    }

    /// Adds voters to the roll (only before voting opens). Stores keyed hashes, never the
    /// numbers; returns one fresh single-use code per voter for the registration office.
    func importRoll(_ rows: [RollRow], rollSecret: [UInt8]) throws -> (RollImport, [IssuedCode]) {
        var problems: [String] = []
        var seen = Set<String>()
        for row in rows {
            if !PersonalNumber.isValid(row.personalNumber) { problems.append("line \(row.line): \(PersonalNumber.rule)") }
            if manifest.district(row.district) == nil { problems.append("line \(row.line): district \"\(row.district)\" is not in the manifest") }
            if !seen.insert(row.personalNumber).inserted { problems.append("line \(row.line): personal number appears twice") }
        }
        guard problems.isEmpty else { throw CommandError("invalid-roll", problems.prefix(20).joined(separator: "; ")) }
        guard !rows.isEmpty else { throw CommandError("invalid-roll", "the roll has no voters") }

        var codes: [IssuedCode] = []
        var counts: [String: Int] = [:]
        for row in rows {
            codes.append(IssuedCode(personalNumber: row.personalNumber, district: row.district, code: try EnrollmentCode.generate()))
            counts[row.district, default: 0] += 1
        }
        let summary = RollImport(counts: manifest.districts.compactMap { d in
            counts[d.id].map { RollImport.DistrictCount(district: d.id, voters: $0) }
        })
        let hash = electionHash
        let key = serverKey
        let now = clock.now()
        try pool.write { db in
            let state = try Self.state(db)
            guard state == .setup else {
                throw CommandError("election-not-in-setup", "the roll can only be imported before voting opens")
            }
            let insert = try db.cachedStatement(sql: "INSERT INTO roll (voter_mac, district, code_mac) VALUES (?, ?, ?)")
            for issued in codes {
                let mac = PersonalNumber.mac(issued.personalNumber, secret: rollSecret)
                do {
                    try insert.execute(arguments: [Data(mac.bytes), issued.district,
                                                   Data(EnrollmentCode.mac(issued.code, secret: rollSecret).bytes)])
                } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                    throw CommandError("duplicate-voter", "a personal number in this roll is already on the election's roll; remove it and import again")
                }
            }
            let log = try LogAppender(db: db, electionHash: hash, timestamp: now)
            _ = try log.append(kind: .roll, payload: summary.canonicalBytes)
            _ = try log.seal(serverKey: key)
        }
        return (summary, codes)
    }

    /// Opens or closes voting with a commission-signed order recorded in the log (the local
    /// command, with the commission key file at hand).
    func changeWindow(_ action: WindowChange.Action, commissionKey: Ed25519PrivateKey) throws -> WindowChange {
        guard commissionKey.publicKey == setup.commissionKey else {
            throw CommandError("key-mismatch", "commission.key is not the commission key published for this election")
        }
        let order = try WindowChange.sign(electionHash: electionHash, action: action, issuedAt: clock.now(), commissionKey: commissionKey)
        let hash = electionHash
        let key = serverKey
        let now = clock.now()
        try pool.write { db in
            let log = try LogAppender(db: db, electionHash: hash, timestamp: now)
            _ = try self.applyWindow(db: db, log: log, order: order).mapError(CommandError.init).get()
            _ = try log.seal(serverKey: key)
        }
        return order
    }

    /// The window rules, inside a transaction (the local command's or a group-commit batch):
    /// the new state, then the order and, with a close, the aggregate in the same transaction.
    /// Returns the order's log index.
    func applyWindow(db: Database, log: LogAppender, order: WindowChange) throws -> Result<UInt64, APIError> {
        guard order.isValid(electionHash: electionHash, commissionKey: setup.commissionKey) else {
            return .failure(.badOrderSignature)
        }
        let state = try Self.state(db)
        switch (order.action, state) {
        case (.open, .setup):
            let voters = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM roll") ?? 0
            guard voters > 0 else { return .failure(.emptyRoll) }
            guard try Self.electionKey(db) != nil else { return .failure(.ceremonyIncomplete) }
        case (.close, .open): break
        case (.open, _), (.close, _): return .failure(.invalidState(state, for: order.action))
        }
        let newState: ElectionState = order.action == .open ? .open : .closed
        try db.execute(sql: "UPDATE election SET state = ? WHERE id = 1", arguments: [newState.rawValue])
        let index = try log.append(kind: .window, payload: order.canonicalBytes).index
        if order.action == .close {
            // The aggregate is published with the close, in the same transaction.
            _ = try log.append(kind: .aggregate, payload: try self.aggregate(db).canonicalBytes)
        }
        return .success(index)
    }

    // MARK: voter operations (run inside a group-commit batch)

    enum Recorded: Sendable {
        /// Newly logged at this index.
        case new(UInt64)
        /// The identical request was already logged at this index.
        case existing(UInt64)
    }

    /// The enrollment rules, inside the batch transaction. A wrong code is counted (and that
    /// count committed) before the refusal is returned.
    static func enroll(db: Database, log: LogAppender, voterMac: Digest, codeMac: Digest,
                       voterKey: Ed25519PublicKey) throws -> Result<(Recorded, String), APIError> {
        switch try state(db) {
        case .closed: return .failure(.electionClosed)
        case .setup, .open: break
        }
        let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT district, code_mac, failed_attempts, voter_key FROM roll WHERE voter_mac = ?"),
            arguments: [Data(voterMac.bytes)])
        guard let row else { return .failure(.invalidCredentials) }
        let district: String = row["district"]
        let failed: Int = row["failed_attempts"]
        guard failed < EnrollmentCode.maxAttempts else { return .failure(.enrollmentLocked) }
        let storedCode: Data = row["code_mac"]
        guard constantTimeEquals([UInt8](storedCode), codeMac.bytes) else {
            try db.execute(sql: "UPDATE roll SET failed_attempts = failed_attempts + 1 WHERE voter_mac = ?",
                           arguments: [Data(voterMac.bytes)])
            return .failure(.invalidCredentials)
        }
        let keyData = Data(voterKey.rawRepresentation)
        if let bound: Data = row["voter_key"] {
            guard bound == keyData else { return .failure(.alreadyEnrolled) }
            let index = try Int64.fetchOne(db, sql: "SELECT log_index FROM enrollments WHERE voter_key = ?", arguments: [keyData]) ?? -1
            guard index >= 0 else { throw APIError.internalError }
            return .success((.existing(UInt64(index)), district))
        }
        if try Int.fetchOne(db, sql: "SELECT 1 FROM enrollments WHERE voter_key = ?", arguments: [keyData]) != nil {
            return .failure(.keyInUse)
        }
        let appended = try log.append(kind: .enrollment, payload: Enrollment(voterKey: voterKey, district: district).canonicalBytes)
        try db.execute(sql: "UPDATE roll SET voter_key = ? WHERE voter_mac = ?", arguments: [keyData, Data(voterMac.bytes)])
        try db.execute(sql: "INSERT INTO enrollments (voter_key, district, log_index) VALUES (?, ?, ?)",
                       arguments: [keyData, district, Int64(appended.index)])
        return .success((.new(appended.index), district))
    }

    /// A challenged ballot from an enrolled voter of its district, published with its opening.
    static func recordSpoiled(db: Database, log: LogAppender, spoiled: SpoiledBallot) throws -> Result<Recorded, APIError> {
        switch try state(db) {
        case .setup: return .failure(.electionNotOpen)
        case .closed: return .failure(.electionClosed)
        case .open: break
        }
        let ballot = spoiled.ballot.ballot
        let enrolled = try String.fetchOne(
            db.cachedStatement(sql: "SELECT district FROM enrollments WHERE voter_key = ?"), arguments: [Data(ballot.voterKey.rawRepresentation)])
        guard let enrolled else { return .failure(.notEnrolled) }
        guard enrolled == ballot.district else { return .failure(.wrongDistrict(enrolled)) }
        let code = Data(spoiled.ballot.trackingCode.digest.bytes)
        if let index = try Int64.fetchOne(db, sql: "SELECT log_index FROM spoiled WHERE tracking_code = ?", arguments: [code]) {
            return .success(.existing(UInt64(index)))
        }
        if try Int.fetchOne(db, sql: "SELECT 1 FROM ballots WHERE tracking_code = ?", arguments: [code]) != nil {
            return .failure(APIError(status: .conflict, code: "ballot-cast",
                                     message: "This exact ballot was cast; a cast ballot can never be opened. Challenge a fresh encryption instead."))
        }
        let appended = try log.append(kind: .spoiled, payload: spoiled.canonicalBytes)
        try db.execute(sql: "INSERT INTO spoiled (tracking_code, voter_key, log_index) VALUES (?, ?, ?)",
                       arguments: [code, Data(ballot.voterKey.rawRepresentation), Int64(appended.index)])
        return .success(.new(appended.index))
    }

    /// One ballot per voter key, inside the batch transaction. The caller has already checked
    /// the signature, the election and the content against the district.
    static func recordBallot(db: Database, log: LogAppender, ballot: SignedBallot) throws -> Result<Recorded, APIError> {
        switch try state(db) {
        case .setup: return .failure(.electionNotOpen)
        case .closed: return .failure(.electionClosed)
        case .open: break
        }
        let keyData = Data(ballot.ballot.voterKey.rawRepresentation)
        let enrolled = try String.fetchOne(
            db.cachedStatement(sql: "SELECT district FROM enrollments WHERE voter_key = ?"), arguments: [keyData])
        guard let enrolled else { return .failure(.notEnrolled) }
        guard enrolled == ballot.ballot.district else { return .failure(.wrongDistrict(enrolled)) }
        if try Int.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM spoiled WHERE tracking_code = ?"),
                            arguments: [Data(ballot.trackingCode.digest.bytes)]) != nil {
            return .failure(APIError(status: .conflict, code: "ballot-spoiled",
                                     message: "This exact ballot was challenged and opened, so it can no longer be secret; cast a fresh encryption."))
        }
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT tracking_code, log_index FROM ballots WHERE voter_key = ?"), arguments: [keyData]) {
            let code: Data = row["tracking_code"]
            let stored = TrackingCode(digest: Digest(trusted: [UInt8](code)))
            guard stored == ballot.trackingCode else { return .failure(.alreadyVoted(stored)) }
            let index: Int64 = row["log_index"]
            return .success(.existing(UInt64(index)))
        }
        let appended = try log.append(kind: .ballot, payload: ballot.canonicalBytes)
        try db.cachedStatement(sql: "INSERT INTO ballots (voter_key, tracking_code, district, log_index) VALUES (?, ?, ?, ?)")
            .execute(arguments: [keyData, Data(ballot.trackingCode.digest.bytes), ballot.ballot.district, Int64(appended.index)])
        return .success(.new(appended.index))
    }

    static func state(_ db: Database) throws -> ElectionState {
        let raw = try String.fetchOne(db.cachedStatement(sql: "SELECT state FROM election WHERE id = 1"))
        guard let raw, let state = ElectionState(rawValue: raw) else { throw APIError.internalError }
        return state
    }

    // MARK: reads

    func currentState() async throws -> ElectionState {
        try await pool.read { db in try Self.state(db) }
    }

    func latestCheckpoint() async throws -> SignedCheckpoint {
        try await pool.read { db in try self.latestCheckpoint(db) }
    }

    func latestCheckpoint(_ db: Database) throws -> SignedCheckpoint {
        guard let row = try Row.fetchOne(db, sql: "SELECT * FROM checkpoints ORDER BY tree_size DESC LIMIT 1") else {
            throw APIError.internalError
        }
        return try checkpoint(row)
    }

    /// The signed checkpoint at exactly `size`, if the server signed one there.
    func checkpoint(size: UInt64) async throws -> SignedCheckpoint? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM checkpoints WHERE tree_size = ?", arguments: [Int64(clamping: size)])
                .map { try self.checkpoint($0) }
        }
    }

    func checkpointRow(_ row: Row) throws -> SignedCheckpoint { try checkpoint(row) }

    private func checkpoint(_ row: Row) throws -> SignedCheckpoint {
        let size: Int64 = row["tree_size"]
        let root: Data = row["root_hash"]
        let time: Int64 = row["timestamp"]
        let sig: Data = row["signature"]
        guard let rootHash = Digest(bytes: [UInt8](root)), let signature = Ed25519Signature(bytes: [UInt8](sig)) else {
            throw APIError.internalError
        }
        return SignedCheckpoint(
            checkpoint: Checkpoint(electionHash: electionHash, treeSize: UInt64(size), rootHash: rootHash, timestamp: UInt64(time)),
            signature: signature)
    }

    /// A receipt for the entry at `index`, against the first checkpoint that covers it, with
    /// the entry and its inclusion proof. Signed here, after the entry's commit.
    func loggedReceipt(kind: Receipt.Kind, subject: Digest, index: UInt64) async throws -> LoggedReceipt {
        let (entry, checkpoint, proof) = try await pool.read { db -> ([UInt8], SignedCheckpoint, [Digest]) in
            guard let row = try Row.fetchOne(
                db, sql: "SELECT * FROM checkpoints WHERE tree_size > ? ORDER BY tree_size LIMIT 1", arguments: [Int64(index)]) else {
                throw APIError.internalError
            }
            let checkpoint = try self.checkpoint(row)
            let entry = try self.entryBytes(db, index: index)
            let proof = try Merkle.inclusionProof(index: index, size: checkpoint.checkpoint.treeSize, in: DatabaseNodeSource(db: db))
            return (entry, checkpoint, proof)
        }
        let receipt = try Receipt.issue(kind: kind, electionHash: electionHash, subject: subject, logIndex: index,
                                        leafHash: Merkle.leafHash(entry), checkpoint: checkpoint, serverKey: serverKey)
        return LoggedReceipt(receipt: receipt, entry: HexBytes(entry), inclusionProof: proof)
    }

    private func entryBytes(_ db: Database, index: UInt64) throws -> [UInt8] {
        guard let data = try Data.fetchOne(
            db.cachedStatement(sql: "SELECT data FROM log_entries WHERE idx = ?"), arguments: [Int64(clamping: index)]) else {
            throw APIError.notFound("Log entry \(index)")
        }
        return [UInt8](data)
    }

    func lookup(trackingCode: TrackingCode) async throws -> BallotLookup {
        try await pool.read { db in
            guard let index = try Int64.fetchOne(
                db, sql: "SELECT log_index FROM ballots WHERE tracking_code = ?", arguments: [Data(trackingCode.digest.bytes)]) else {
                throw APIError.notFound("A ballot with tracking code \(trackingCode.short)")
            }
            let checkpoint = try self.latestCheckpoint(db)
            let entry = try self.entryBytes(db, index: UInt64(index))
            let proof = try Merkle.inclusionProof(index: UInt64(index), size: checkpoint.checkpoint.treeSize, in: DatabaseNodeSource(db: db))
            return BallotLookup(trackingCode: trackingCode, logIndex: UInt64(index), entry: HexBytes(entry),
                                checkpoint: checkpoint, inclusionProof: proof)
        }
    }

    func logSize(_ db: Database) throws -> UInt64 {
        UInt64(try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries") ?? 0)
    }

    func inclusionProof(index: UInt64, treeSize: UInt64) async throws -> [Digest] {
        try await pool.read { db in
            let size = try self.logSize(db)
            guard treeSize <= size else {
                throw APIError(status: .badRequest, code: "beyond-log",
                               message: "tree_size \(treeSize) is larger than the log (\(size) entries); fetch the latest checkpoint first.")
            }
            guard index < treeSize else {
                throw APIError(status: .badRequest, code: "index-out-of-range",
                               message: "index \(index) is not below tree_size \(treeSize); ask for an entry inside the tree.")
            }
            return try Merkle.inclusionProof(index: index, size: treeSize, in: DatabaseNodeSource(db: db))
        }
    }

    func consistencyProof(first: UInt64, second: UInt64) async throws -> [Digest] {
        try await pool.read { db in
            let size = try self.logSize(db)
            guard second <= size else {
                throw APIError(status: .badRequest, code: "beyond-log",
                               message: "second \(second) is larger than the log (\(size) entries); fetch the latest checkpoint first.")
            }
            guard first >= 1, first <= second else {
                throw APIError(status: .badRequest, code: "invalid-range",
                               message: "first must be at least 1 and at most second; a proof from the empty tree proves nothing.")
            }
            return try Merkle.consistencyProof(size1: first, size2: second, in: DatabaseNodeSource(db: db))
        }
    }

    func entries(start: UInt64, limit: Int) async throws -> LogEntriesPage {
        try await pool.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT idx, kind, data FROM log_entries WHERE idx >= ? ORDER BY idx LIMIT ?",
                                        arguments: [Int64(clamping: start), limit + 1])
            var entries: [LogEntryBody] = []
            for row in rows.prefix(limit) {
                let idx: Int64 = row["idx"]
                let kindRaw: String = row["kind"]
                let data: Data = row["data"]
                guard let kind = LogEntryKind(rawValue: kindRaw) else { throw APIError.internalError }
                entries.append(LogEntryBody(index: UInt64(idx), kind: kind, data: HexBytes([UInt8](data))))
            }
            let next: UInt64? = rows.count > limit ? entries.last.map { $0.index + 1 } : nil
            return LogEntriesPage(entries: entries, next: next)
        }
    }

    struct Counts: Sendable {
        var rollByDistrict: [String: Int] = [:]
        var enrolledByDistrict: [String: Int] = [:]
        var ballotsByDistrict: [String: Int] = [:]
        var logSize: UInt64 = 0
    }

    func counts() async throws -> Counts {
        try await pool.read { db in
            var c = Counts()
            for row in try Row.fetchAll(db, sql: "SELECT district, COUNT(*) AS n FROM roll GROUP BY district") {
                c.rollByDistrict[row["district"]] = row["n"]
            }
            for row in try Row.fetchAll(db, sql: "SELECT district, COUNT(*) AS n FROM enrollments GROUP BY district") {
                c.enrolledByDistrict[row["district"]] = row["n"]
            }
            for row in try Row.fetchAll(db, sql: "SELECT district, COUNT(*) AS n FROM ballots GROUP BY district") {
                c.ballotsByDistrict[row["district"]] = row["n"]
            }
            c.logSize = try self.logSize(db)
            return c
        }
    }
}

/// Personal numbers: validated, then only ever stored as HMAC-SHA-256 under the roll secret.
enum PersonalNumber {
    static let rule = "a personal number is 1 to 64 letters, digits or '-'"

    static func normalize(_ s: String) -> String { s.trimmingCharacters(in: .whitespaces) }

    static func isValid(_ s: String) -> Bool {
        let u = Array(s.utf8)
        return !u.isEmpty && u.count <= 64 && u.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x2d
        }
    }

    static func mac(_ s: String, secret: [UInt8]) -> Digest {
        HMACSHA256.authenticate(Array("evote.v1.personal-number\u{0}".utf8) + Array(s.utf8), key: secret)
    }
}

/// Single-use enrollment codes: 60 random bits as 12 Crockford base32 characters, shown as
/// XXXX-XXXX-XXXX. Stored only as an HMAC; compared in constant time.
enum EnrollmentCode {
    static let maxAttempts = 5
    private static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)

    static func generate() throws -> String {
        let random = try SecureRandom.bytes(12)
        let chars = random.map { alphabet[Int($0 & 31)] }
        let text = String(decoding: chars, as: UTF8.self)
        return stride(from: 0, to: 12, by: 4).map { i in
            String(text[text.index(text.startIndex, offsetBy: i)..<text.index(text.startIndex, offsetBy: i + 4)])
        }.joined(separator: "-")
    }

    /// Upper-cases, drops '-' and spaces, and maps the Crockford look-alikes (O→0, I/L→1).
    static func normalize(_ s: String) -> String {
        var out = ""
        for ch in s.uppercased() {
            switch ch {
            case "-", " ": continue
            case "O": out.append("0")
            case "I", "L": out.append("1")
            default: out.append(ch)
            }
        }
        return out
    }

    static func mac(_ code: String, secret: [UInt8]) -> Digest {
        HMACSHA256.authenticate(Array("evote.v1.enrollment-code\u{0}".utf8) + Array(normalize(code).utf8), key: secret)
    }
}
