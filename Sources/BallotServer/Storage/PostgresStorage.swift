import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization
import VotingCore

/// PostgreSQL storage for several server instances on one database (docs/operations.md
/// "PostgreSQL"). The rules' transactions are synchronous closures, so each transaction runs
/// on a thread of its own pool (never the Swift concurrency pool, never an event loop), on one
/// connection of its own, and every statement waits for postgres-nio's answer there.
///
/// Every write transaction takes the same transaction-scoped advisory lock first: that lock is
/// the log's append lock across all instances and commission commands, so the log stays one
/// sequence with no gap and no fork. Commits keep PostgreSQL's default `synchronous_commit`
/// (on): a receipt is signed only after the commit is on disk.
final class PostgresStorage: ElectionStorage {
    /// The key of `pg_advisory_xact_lock` that serializes every write ("evote-lg" in ASCII).
    static let appendLockKey: Int64 = 0x6576_6f74_652d_6c67
    /// The schema version recorded in `schema_migrations`, named like SQLite's migration.
    static let schemaVersion = "p2-election-log-roll-ballots"

    let url: PostgresURL
    private let connections: PostgresConnectionPool
    private let threads: NIOThreadPool

    private init(url: PostgresURL, logger: Logger, threads: Int) {
        self.url = url
        connections = PostgresConnectionPool(url: url, logger: logger, keepIdle: threads + 2)
        self.threads = NIOThreadPool(numberOfThreads: threads)
        self.threads.start()
    }

    /// Opens the election's database at `url`. `creating` makes the schema and refuses a
    /// database that already holds an election; otherwise a database without the schema is
    /// refused as not initialized.
    static func connect(_ url: PostgresURL, creating: Bool, threads: Int = 4) async throws -> PostgresStorage {
        var logger = Logger(label: "evote.postgres")
        logger.logLevel = .warning
        let storage = PostgresStorage(url: url, logger: logger, threads: max(1, threads))
        do {
            try await storage.threads.runIfActive { try storage.prepareSchema(creating: creating) }
        } catch let error as PostgresStorageError {
            try? await storage.close()
            throw CommandError("database-unavailable", "cannot use PostgreSQL at \(url) (\(error)); start it, or check --database and PGPASSWORD")
        } catch {
            try? await storage.close()
            throw error
        }
        return storage
    }

    var location: String { "PostgreSQL at \(url)" }

    func write<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) throws -> T) async throws -> T {
        try await threads.runIfActive { try self.transaction(writing: true, body) }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (any StorageReads) throws -> T) async throws -> T {
        try await threads.runIfActive { try self.transaction(writing: false, body) }
    }

    func writeNow<T>(_ body: (any StorageTransaction) throws -> T) throws -> T {
        try transaction(writing: true, body)
    }

    func readNow<T>(_ body: (any StorageReads) throws -> T) throws -> T {
        try transaction(writing: false, body)
    }

    func close() async throws {
        connections.closeAll()
        try await threads.shutdownGracefully()
    }

    /// `close()` for synchronous clean-up (a test's `defer`): blocks the calling thread.
    func closeNow() throws {
        connections.closeAll()
        try threads.syncShutdownGracefully()
    }

    // MARK: transactions

    /// One transaction on one connection, on the calling thread (which may block).
    private func transaction<T>(writing: Bool, _ body: (PostgresTransaction) throws -> T) throws -> T {
        // A write runs at READ COMMITTED: each statement after the lock sees every commit made
        // before the lock was granted (a REPEATABLE READ snapshot would be taken before the wait).
        let begin: PostgresQuery = writing ? "BEGIN ISOLATION LEVEL READ COMMITTED" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        var (connection, wasIdle) = try connections.acquire()
        var tx = PostgresTransaction(connection, logger: connections.logger)
        do {
            // BEGIN answers at once on a live connection; an idle one that died with a
            // PostgreSQL restart may never answer, so it gets only a few seconds.
            try tx.run(begin, timeout: wasIdle ? .seconds(5) : PostgresTransaction.statementTimeout)
        } catch where wasIdle {
            // An idle connection may have died with a PostgreSQL restart, and so may the other
            // idle ones; nothing ran yet, so drop them and begin once more on a new connection.
            connections.release(connection, reusable: false)
            connections.discardIdle()
            (connection, wasIdle) = try connections.acquire(fresh: true)
            tx = PostgresTransaction(connection, logger: connections.logger)
            do { try tx.run(begin) } catch {
                connections.release(connection, reusable: false)
                throw error
            }
        } catch {
            connections.release(connection, reusable: false)
            throw error
        }
        var reusable = false
        defer { connections.release(connection, reusable: reusable) }
        do {
            if writing { try tx.run("SELECT pg_advisory_xact_lock(\(Self.appendLockKey))") }
            let value = try body(tx)
            // "COMMIT of a transaction that has failed reports ROLLBACK": check the command tag.
            let tag = try tx.command("COMMIT")
            guard tag == "COMMIT" else {
                throw PostgresStorageError("the transaction was rolled back by PostgreSQL instead of committed (\(tag))")
            }
            reusable = true
            return value
        } catch {
            // A connection that cannot even roll back is dropped; the next transaction connects anew.
            reusable = !tx.broken && !connection.isClosed && (try? tx.run("ROLLBACK")) != nil
            // A connection that failed under us means PostgreSQL went away: the idle ones went with it.
            if tx.broken { connections.discardIdle() }
            throw error
        }
    }

    /// Creates or checks the schema, in a write transaction so two `init`s cannot race.
    private func prepareSchema(creating: Bool) throws {
        try transaction(writing: true) { tx in
            let present = try tx.scalar("SELECT to_regclass('public.schema_migrations') IS NOT NULL", as: Bool.self) ?? false
            let applied: [String] = present
                ? try tx.rows("SELECT identifier FROM schema_migrations ORDER BY identifier").map { try $0.decode(String.self) }
                : []
            if creating {
                if applied.contains(Self.schemaVersion) {
                    if try tx.setupBytes() != nil {
                        throw CommandError("already-initialized", "\(self.url) already holds an election; create an empty database (createdb) for a new one")
                    }
                    return
                }
                try self.createSchema(tx)
            } else {
                guard applied.contains(Self.schemaVersion) else {
                    throw CommandError("not-initialized", "\(self.url) holds no election; run `ballot-server init --database \(self.url) --data DIR` first")
                }
            }
        }
    }

    /// Protocol version 2's schema (docs/protocol.md §8), the same tables, keys and uniqueness
    /// rules as SQLite's (ElectionDatabase), with BYTEA for blobs and BIGINT for integers.
    private func createSchema(_ tx: PostgresTransaction) throws {
        let statements = [
            "CREATE TABLE schema_migrations (identifier TEXT PRIMARY KEY)",
            """
            CREATE TABLE election (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                election_hash BYTEA NOT NULL,
                setup BYTEA NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('setup', 'open', 'closed'))
            )
            """,
            "CREATE TABLE log_entries (idx BIGINT PRIMARY KEY, kind TEXT NOT NULL, data BYTEA NOT NULL)",
            "CREATE INDEX log_entries_by_kind ON log_entries(kind, idx)",
            // Perfect subtrees of the Merkle tree: hash of leaves [idx*2^level, (idx+1)*2^level).
            "CREATE TABLE log_nodes (level BIGINT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (level, idx))",
            "CREATE TABLE checkpoints (tree_size BIGINT PRIMARY KEY, root_hash BYTEA NOT NULL, \"timestamp\" BIGINT NOT NULL, signature BYTEA NOT NULL)",
            """
            CREATE TABLE roll (
                voter_mac BYTEA PRIMARY KEY,
                district TEXT NOT NULL,
                salt BYTEA NOT NULL,
                commitment BYTEA NOT NULL UNIQUE,
                pseudonym BYTEA NOT NULL UNIQUE,
                voter_key BYTEA UNIQUE,
                supervised BYTEA UNIQUE
            )
            """,
            "CREATE INDEX roll_by_district ON roll(district)",
            "CREATE TABLE commitments (value BYTEA PRIMARY KEY)",
            "CREATE TABLE code_backoff (voter_mac BYTEA PRIMARY KEY, failures BIGINT NOT NULL, blocked_until BIGINT NOT NULL)",
            """
            CREATE TABLE enrollments (
                voter_key BYTEA PRIMARY KEY,
                district TEXT NOT NULL,
                log_index BIGINT NOT NULL,
                voter_mac BYTEA NOT NULL,
                revoked_at BIGINT
            )
            """,
            // One row per voter key: the primary key is the one-vote-per-voter rule, across instances.
            """
            CREATE TABLE ballots (
                voter_key BYTEA PRIMARY KEY REFERENCES enrollments(voter_key),
                tracking_code BYTEA NOT NULL UNIQUE,
                district TEXT NOT NULL,
                log_index BIGINT NOT NULL,
                superseded BOOLEAN NOT NULL DEFAULT FALSE
            )
            """,
            "CREATE INDEX ballots_by_district ON ballots(district, superseded)",
            "CREATE TABLE ballot_ids (ballot_id BYTEA PRIMARY KEY)",
            "CREATE TABLE spoiled (tracking_code BYTEA PRIMARY KEY, log_index BIGINT NOT NULL)",
            """
            CREATE TABLE supervised (
                tracking_code BYTEA PRIMARY KEY,
                voter_mac BYTEA NOT NULL UNIQUE,
                district TEXT NOT NULL,
                station BIGINT NOT NULL,
                log_index BIGINT NOT NULL,
                blinding BYTEA NOT NULL
            )
            """,
            "CREATE TABLE tally_sums (district TEXT PRIMARY KEY, ballots BIGINT NOT NULL, data BYTEA NOT NULL)",
            "CREATE TABLE request_nonces (nonce BYTEA PRIMARY KEY, expires_at BIGINT NOT NULL)",
            "CREATE INDEX request_nonces_by_expiry ON request_nonces(expires_at)",
        ]
        for sql in statements { try tx.run(PostgresQuery(unsafeSQL: sql)) }
        try tx.run("INSERT INTO schema_migrations (identifier) VALUES (\(Self.schemaVersion))")
    }
}

/// PostgreSQL could not be reached or refused a statement. Like an SQLite disk error, the API
/// answers 503 `unavailable` (StorageFailure) and the next transaction tries again.
struct PostgresStorageError: StorageFailure, CustomStringConvertible {
    let description: String

    init(_ description: String) { self.description = description }

    /// postgres-nio hides the server's message from `description`; keep the parts that help an
    /// operator (SQLSTATE and message), never the statement's bound values.
    init(_ action: String, _ error: any Error) {
        guard let psql = error as? PSQLError else {
            description = "PostgreSQL \(action) failed: \(error)"
            return
        }
        var parts = ["\(psql.code)"]
        if let state = psql.serverInfo?[.sqlState] { parts.append("SQLSTATE \(state)") }
        if let message = psql.serverInfo?[.message] { parts.append(message) }
        if let underlying = psql.underlying { parts.append("\(underlying)") }
        description = "PostgreSQL \(action) failed: \(parts.joined(separator: ", "))"
    }

    /// The SQLSTATE of a statement the server refused, if that is what happened.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}

/// A few open connections, each lent to one transaction at a time. A dropped connection is
/// never reused: after PostgreSQL restarts, the next transaction simply connects again.
final class PostgresConnectionPool: Sendable {
    let logger: Logger
    private let configuration: PostgresConnection.Configuration
    private let keepIdle: Int
    private let idle = Mutex<[PostgresConnection]>([])
    private let nextID = Atomic<Int>(1)

    init(url: PostgresURL, logger: Logger, keepIdle: Int) {
        var configuration = PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user,
                                                             password: url.password, database: url.database, tls: .disable)
        configuration.options.connectTimeout = .seconds(5)
        self.configuration = configuration
        self.logger = logger
        self.keepIdle = keepIdle
    }

    /// An open connection: an idle one (unless `fresh`), or a new one (blocks the calling
    /// thread); `wasIdle` tells which.
    func acquire(fresh: Bool = false) throws -> (connection: PostgresConnection, wasIdle: Bool) {
        while !fresh, let connection = idle.withLock({ $0.popLast() }) {
            if !connection.isClosed { return (connection, true) }
        }
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let connecting = PostgresConnection.connect(on: PostgresConnection.defaultEventLoopGroup.any(), configuration: configuration,
                                                    id: id, logger: logger)
        do {
            // The connect timeout covers TCP only; the start-up exchange is bounded here.
            return (try Self.waitForAnswer(connecting, timeout: .seconds(15)), false)
        } catch {
            // A connection that arrives after the deadline is closed, not leaked.
            connecting.whenSuccess { late in Self.close(late) }
            throw PostgresStorageError("connecting", error)
        }
    }

    /// Waits on the calling (blocking) thread for `future`, at most `timeout`.
    static func waitForAnswer<T: Sendable>(_ future: EventLoopFuture<T>, timeout: TimeAmount) throws -> T {
        let bounded = future.eventLoop.makePromise(of: T.self)
        future.cascade(to: bounded)
        let deadline = future.eventLoop.scheduleTask(in: timeout) {
            bounded.fail(PostgresStorageError("PostgreSQL did not answer within \(timeout.nanoseconds / 1_000_000_000) s"))
        }
        defer { deadline.cancel() }
        return try bounded.futureResult.wait()
    }

    func release(_ connection: PostgresConnection, reusable: Bool) {
        let keep = reusable && !connection.isClosed && idle.withLock { list -> Bool in
            guard list.count < keepIdle else { return false }
            list.append(connection)
            return true
        }
        if !keep { Self.close(connection) }
    }

    /// Closes without waiting; the connection is kept alive until it is closed (postgres-nio
    /// asserts that no open connection is deinitialized).
    private static func close(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    deinit {
        // A command that ends without `close()` (status, export) still closes its connections.
        for connection in idle.withLock({ $0 }) { Self.close(connection) }
    }

    /// Closes every idle connection (after PostgreSQL went away they are all dead).
    func discardIdle() {
        let all = idle.withLock { list -> [PostgresConnection] in
            defer { list = [] }
            return list
        }
        for connection in all { Self.close(connection) }
    }

    func closeAll() {
        let all = idle.withLock { list -> [PostgresConnection] in
            defer { list = [] }
            return list
        }
        for connection in all { try? connection.close().wait() }
    }
}

/// One connection's view inside a transaction: every statement waits for its answer on the
/// calling thread. Confined to that thread for the transaction's life.
final class PostgresTransaction: StorageTransaction {
    private let connection: PostgresConnection
    private let logger: Logger
    private var savepoints = 0

    init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    // MARK: statements

    /// Whether the connection failed under this transaction (no answer, or closed): then no
    /// ROLLBACK is sent on it, since it would wait on the same dead connection.
    private(set) var broken = false

    /// The longest a statement's answer is awaited. A connection that PostgreSQL dropped (it was
    /// stopped with `-m immediate`) can leave a statement unanswered forever; after this the
    /// request answers 503 `unavailable` and the connection is closed instead of reused.
    static let statementTimeout: TimeAmount = .seconds(30)

    private func result(_ query: PostgresQuery, timeout: TimeAmount = PostgresTransaction.statementTimeout) throws -> PostgresQueryResult {
        do {
            return try PostgresConnectionPool.waitForAnswer(connection.query(query, logger: logger), timeout: timeout)
        } catch {
            if Self.endsConnection(error) { broken = true }
            throw PostgresStorageError("statement", error)
        }
    }

    /// Whether `error` leaves the connection unusable: anything but an error PostgreSQL reported
    /// for the statement alone. A FATAL or PANIC (e.g. 57P01 "terminating connection due to
    /// immediate shutdown command") or a class 08/57 SQLSTATE ends the session.
    static func endsConnection(_ error: any Error) -> Bool {
        guard let info = (error as? PSQLError)?.serverInfo else { return true }
        if let severity = info[.severity], ["FATAL", "PANIC"].contains(severity) { return true }
        guard let state = info[.sqlState] else { return false }
        return state.hasPrefix("08") || state.hasPrefix("57")
    }

    /// Runs a statement; returns the rows it changed (or returned).
    @discardableResult
    func run(_ query: PostgresQuery, timeout: TimeAmount = PostgresTransaction.statementTimeout) throws -> Int {
        try result(query, timeout: timeout).metadata.rows ?? 0
    }

    /// Runs a statement; returns its command tag ("COMMIT", "ROLLBACK", …).
    func command(_ query: PostgresQuery) throws -> String {
        try result(query).metadata.command
    }

    func rows(_ query: PostgresQuery) throws -> [PostgresRow] {
        try result(query).rows
    }

    func scalar<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type) throws -> T? {
        guard let row = try rows(query).first else { return nil }
        return try decode(row, T.self)
    }

    private func decode<each Column: PostgresDecodable>(_ row: PostgresRow, _ type: (repeat each Column).Type) throws -> (repeat each Column) {
        do { return try row.decode(type) } catch { throw PostgresStorageError("decoding a row", error) }
    }

    // MARK: conversions

    private func bytea(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }
    private func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }
    private func digest(_ buffer: ByteBuffer) throws -> Digest {
        guard let d = Digest(bytes: bytes(buffer)) else { throw RuleError.internalError }
        return d
    }
    private func key(_ buffer: ByteBuffer?) throws -> Ed25519PublicKey? {
        guard let buffer else { return nil }
        return try Ed25519PublicKey(rawRepresentation: bytes(buffer))
    }
    private func int64(_ value: UInt64) -> Int64 { Int64(clamping: value) }
    private func uint64(_ value: Int64) -> UInt64 { UInt64(max(0, value)) }

    // MARK: the election

    func state() throws -> ElectionState {
        let raw = try scalar("SELECT state FROM election WHERE id = 1", as: String.self)
        guard let raw, let state = ElectionState(rawValue: raw) else { throw RuleError.internalError }
        return state
    }

    func setState(_ state: ElectionState) throws {
        try run("UPDATE election SET state = \(state.rawValue) WHERE id = 1")
    }

    func setupBytes() throws -> [UInt8]? {
        try scalar("SELECT setup FROM election WHERE id = 1", as: ByteBuffer.self).map(bytes)
    }

    func insertSetup(electionHash: Digest, setupBytes: [UInt8]) throws {
        try run("INSERT INTO election (id, election_hash, setup, state) VALUES (1, \(bytea(electionHash.bytes)), \(bytea(setupBytes)), 'setup')")
    }

    // MARK: the log

    func logSize() throws -> UInt64 {
        uint64(try scalar("SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries", as: Int64.self) ?? 0)
    }

    func entryBytes(at index: UInt64) throws -> [UInt8]? {
        try scalar("SELECT data FROM log_entries WHERE idx = \(int64(index))", as: ByteBuffer.self).map(bytes)
    }

    private func entryRows(_ rows: [PostgresRow]) throws -> [(UInt64, LogEntryKind, [UInt8])] {
        try rows.map { row in
            let (idx, raw, data) = try decode(row, (Int64, String, ByteBuffer).self)
            guard let kind = LogEntryKind(rawValue: raw) else { throw RuleError.internalError }
            return (uint64(idx), kind, bytes(data))
        }
    }

    func entries(in range: Range<UInt64>) throws -> [(UInt64, LogEntryKind, [UInt8])] {
        try entryRows(rows("SELECT idx, kind, data FROM log_entries WHERE idx >= \(int64(range.lowerBound)) AND idx < \(int64(range.upperBound)) ORDER BY idx"))
    }

    func entries(kinds: Set<LogEntryKind>, from start: UInt64, limit: Int) throws -> [(UInt64, LogEntryKind, [UInt8])] {
        let list = kinds.map(\.rawValue).sorted()
        return try entryRows(rows("SELECT idx, kind, data FROM log_entries WHERE idx >= \(int64(start)) AND kind = ANY(\(list)) ORDER BY idx LIMIT \(Int64(limit))"))
    }

    func payloads(kind: LogEntryKind) throws -> [(index: UInt64, payload: [UInt8])] {
        try rows("SELECT idx, data FROM log_entries WHERE kind = \(kind.rawValue) ORDER BY idx").map { row in
            let (idx, data) = try decode(row, (Int64, ByteBuffer).self)
            return (uint64(idx), try LogEntry.decode(canonical: bytes(data)).payload)
        }
    }

    func insertEntry(index: UInt64, kind: LogEntryKind, bytes: [UInt8]) throws {
        try run("INSERT INTO log_entries (idx, kind, data) VALUES (\(int64(index)), \(kind.rawValue), \(bytea(bytes)))")
    }

    func node(level: Int, index: UInt64) throws -> Digest? {
        try scalar("SELECT hash FROM log_nodes WHERE level = \(Int64(level)) AND idx = \(int64(index))", as: ByteBuffer.self)
            .flatMap { Digest(bytes: bytes($0)) }
    }

    func forEachNode(fromLevel level: Int, _ body: (StoredNode) throws -> Void) throws {
        for row in try rows("SELECT level, idx, hash FROM log_nodes WHERE level >= \(Int64(level)) ORDER BY level, idx") {
            let (nodeLevel, idx, hash) = try decode(row, (Int64, Int64, ByteBuffer).self)
            guard let digest = Digest(bytes: bytes(hash)) else { throw RuleError.internalError }
            try body(StoredNode(level: Int(nodeLevel), index: uint64(idx), hash: digest))
        }
    }

    func insertNodes(_ nodes: [StoredNode]) throws {
        for node in nodes {
            try run("INSERT INTO log_nodes (level, idx, hash) VALUES (\(Int64(node.level)), \(int64(node.index)), \(bytea(node.hash.bytes)))")
        }
    }

    private static let checkpointColumns = "tree_size, root_hash, \"timestamp\", signature"

    private func checkpoints(_ rows: [PostgresRow]) throws -> [SignedCheckpoint] {
        guard !rows.isEmpty else { return [] }
        let hash = try electionHash()
        return try rows.map { row in
            let (size, root, time, sig) = try decode(row, (Int64, ByteBuffer, Int64, ByteBuffer).self)
            guard let signature = Ed25519Signature(bytes: bytes(sig)) else { throw RuleError.internalError }
            return SignedCheckpoint(checkpoint: Checkpoint(electionHash: hash, treeSize: uint64(size), rootHash: try digest(root),
                                                           timestamp: uint64(time)), signature: signature)
        }
    }

    private func electionHash() throws -> Digest {
        guard let buffer = try scalar("SELECT election_hash FROM election WHERE id = 1", as: ByteBuffer.self) else { throw RuleError.internalError }
        return try digest(buffer)
    }

    func latestCheckpoint() throws -> SignedCheckpoint? {
        try checkpoints(rows("SELECT \(unescaped: Self.checkpointColumns) FROM checkpoints ORDER BY tree_size DESC LIMIT 1")).first
    }

    func checkpoint(size: UInt64) throws -> SignedCheckpoint? {
        try checkpoints(rows("SELECT \(unescaped: Self.checkpointColumns) FROM checkpoints WHERE tree_size = \(int64(size))")).first
    }

    func checkpoint(covering index: UInt64) throws -> SignedCheckpoint? {
        try checkpoints(rows("SELECT \(unescaped: Self.checkpointColumns) FROM checkpoints WHERE tree_size > \(int64(index)) ORDER BY tree_size LIMIT 1")).first
    }

    func checkpoints(in range: ClosedRange<UInt64>) throws -> [SignedCheckpoint] {
        try checkpoints(rows("SELECT \(unescaped: Self.checkpointColumns) FROM checkpoints WHERE tree_size >= \(int64(range.lowerBound)) AND tree_size <= \(int64(range.upperBound)) ORDER BY tree_size"))
    }

    func insertCheckpoint(_ cp: SignedCheckpoint) throws {
        try run("INSERT INTO checkpoints (tree_size, root_hash, \"timestamp\", signature) VALUES (\(int64(cp.checkpoint.treeSize)), \(bytea(cp.checkpoint.rootHash.bytes)), \(int64(cp.checkpoint.timestamp)), \(bytea(cp.signature.bytes)))")
    }

    // MARK: the roll

    private static let rollColumns = "voter_mac, district, salt, commitment, pseudonym, voter_key, supervised"

    private func rollRow(_ row: PostgresRow) throws -> RollRow {
        let (mac, district, salt, commitment, pseudonym, voterKey, supervised) =
            try decode(row, (ByteBuffer, String, ByteBuffer, ByteBuffer, ByteBuffer, ByteBuffer?, ByteBuffer?).self)
        guard let s = Salt(bytes: bytes(salt)) else { throw RuleError.internalError }
        return RollRow(voterMac: try digest(mac), district: district,
                       commitment: CodeCommitment(salt: s, value: try digest(commitment)),
                       pseudonym: try digest(pseudonym), voterKey: try key(voterKey),
                       supervised: try supervised.map { TrackingCode(digest: try digest($0)) })
    }

    func rollRow(voterMac: Digest) throws -> RollRow? {
        try rows("SELECT \(unescaped: Self.rollColumns) FROM roll WHERE voter_mac = \(bytea(voterMac.bytes))").first.map(rollRow)
    }

    func rollRow(voterKey: Ed25519PublicKey) throws -> RollRow? {
        try rows("SELECT \(unescaped: Self.rollColumns) FROM roll WHERE voter_key = \(bytea(voterKey.rawRepresentation))").first.map(rollRow)
    }

    func insertRollRow(_ row: RollRow) throws {
        // ON CONFLICT DO NOTHING (any unique rule) instead of a failed statement, which would
        // abort the whole PostgreSQL transaction where SQLite only fails the statement.
        let inserted = try run("""
            INSERT INTO roll (voter_mac, district, salt, commitment, pseudonym, voter_key, supervised) \
            VALUES (\(bytea(row.voterMac.bytes)), \(row.district), \(bytea(row.commitment.salt.bytes)), \
            \(bytea(row.commitment.value.bytes)), \(bytea(row.pseudonym.bytes)), NULL, NULL) ON CONFLICT DO NOTHING
            """)
        guard inserted == 1 else { throw RuleError.duplicateVoter }
        let known = try run("INSERT INTO commitments (value) VALUES (\(bytea(row.commitment.value.bytes))) ON CONFLICT DO NOTHING")
        guard known == 1 else { throw RuleError.duplicateVoter }
    }

    func updateRollRow(_ row: RollRow) throws {
        try run("""
            UPDATE roll SET district = \(row.district), salt = \(bytea(row.commitment.salt.bytes)), \
            commitment = \(bytea(row.commitment.value.bytes)), voter_key = \(row.voterKey.map { bytea($0.rawRepresentation) }), \
            supervised = \(row.supervised.map { bytea($0.digest.bytes) }) WHERE voter_mac = \(bytea(row.voterMac.bytes))
            """)
        try run("INSERT INTO commitments (value) VALUES (\(bytea(row.commitment.value.bytes))) ON CONFLICT DO NOTHING")
    }

    func isCommitmentKnown(_ value: Digest) throws -> Bool {
        try !rows("SELECT 1 FROM commitments WHERE value = \(bytea(value.bytes))").isEmpty
    }

    func rollSizes() throws -> [String: Int] {
        var out: [String: Int] = [:]
        for row in try rows("SELECT district, COUNT(*) FROM roll GROUP BY district") {
            let (district, n) = try decode(row, (String, Int).self)
            out[district] = n
        }
        return out
    }

    func backoff(voterMac: Digest) throws -> CodeBackoff? {
        try rows("SELECT failures, blocked_until FROM code_backoff WHERE voter_mac = \(bytea(voterMac.bytes))").first.map { row in
            let (failures, until) = try decode(row, (Int, Int64).self)
            return CodeBackoff(failures: failures, blockedUntil: uint64(until))
        }
    }

    func setBackoff(voterMac: Digest, _ backoff: CodeBackoff?) throws {
        if let backoff {
            try run("""
                INSERT INTO code_backoff (voter_mac, failures, blocked_until) \
                VALUES (\(bytea(voterMac.bytes)), \(Int64(backoff.failures)), \(int64(backoff.blockedUntil))) \
                ON CONFLICT (voter_mac) DO UPDATE SET failures = excluded.failures, blocked_until = excluded.blocked_until
                """)
        } else {
            try run("DELETE FROM code_backoff WHERE voter_mac = \(bytea(voterMac.bytes))")
        }
    }

    // MARK: enrollments and ballots

    func enrollment(voterKey: Ed25519PublicKey) throws -> EnrollmentRow? {
        try rows("SELECT district, log_index, voter_mac, revoked_at FROM enrollments WHERE voter_key = \(bytea(voterKey.rawRepresentation))")
            .first.map { row in
                let (district, index, mac, revoked) = try decode(row, (String, Int64, ByteBuffer, Int64?).self)
                return EnrollmentRow(voterKey: voterKey, district: district, logIndex: uint64(index),
                                     voterMac: try digest(mac), revokedAt: revoked.map(uint64))
            }
    }

    func insertEnrollment(_ row: EnrollmentRow) throws {
        try run("""
            INSERT INTO enrollments (voter_key, district, log_index, voter_mac, revoked_at) \
            VALUES (\(bytea(row.voterKey.rawRepresentation)), \(row.district), \(int64(row.logIndex)), \(bytea(row.voterMac.bytes)), NULL)
            """)
    }

    func revokeEnrollment(voterKey: Ed25519PublicKey, at index: UInt64) throws {
        try run("UPDATE enrollments SET revoked_at = \(int64(index)) WHERE voter_key = \(bytea(voterKey.rawRepresentation))")
    }

    func enrollmentCounts() throws -> (active: [String: Int], revoked: [String: Int]) {
        var active: [String: Int] = [:], revoked: [String: Int] = [:]
        for row in try rows("SELECT district, revoked_at IS NOT NULL AS revoked, COUNT(*) FROM enrollments GROUP BY district, revoked") {
            let (district, isRevoked, n) = try decode(row, (String, Bool, Int).self)
            if isRevoked { revoked[district] = n } else { active[district] = n }
        }
        return (active, revoked)
    }

    private static let ballotColumns = "voter_key, tracking_code, district, log_index, superseded"

    private func ballotRow(_ row: PostgresRow) throws -> BallotRow {
        let (voterKey, code, district, index, superseded) = try decode(row, (ByteBuffer, ByteBuffer, String, Int64, Bool).self)
        return BallotRow(voterKey: try Ed25519PublicKey(rawRepresentation: bytes(voterKey)), trackingCode: TrackingCode(digest: try digest(code)),
                         district: district, logIndex: uint64(index), superseded: superseded)
    }

    func ballot(voterKey: Ed25519PublicKey) throws -> BallotRow? {
        try rows("SELECT \(unescaped: Self.ballotColumns) FROM ballots WHERE voter_key = \(bytea(voterKey.rawRepresentation))").first.map(ballotRow)
    }

    func ballot(trackingCode: TrackingCode) throws -> BallotRow? {
        try rows("SELECT \(unescaped: Self.ballotColumns) FROM ballots WHERE tracking_code = \(bytea(trackingCode.digest.bytes))").first.map(ballotRow)
    }

    func ballots(trackingCodePrefix prefix: [UInt8], limit: Int) throws -> [BallotRow] {
        // A range over the unique index: prefix ≤ code < prefix + 1 (bytea compares bytewise).
        var high = prefix
        while let last = high.last, last == 0xff { high.removeLast() }
        guard !high.isEmpty else {
            return try rows("SELECT \(unescaped: Self.ballotColumns) FROM ballots WHERE tracking_code >= \(bytea(prefix)) LIMIT \(limit)").map(ballotRow)
        }
        high[high.count - 1] += 1
        return try rows("""
            SELECT \(unescaped: Self.ballotColumns) FROM ballots \
            WHERE tracking_code >= \(bytea(prefix)) AND tracking_code < \(bytea(high)) LIMIT \(limit)
            """).map(ballotRow)
    }

    func insertBallot(_ row: BallotRow) throws {
        try run("""
            INSERT INTO ballots (voter_key, tracking_code, district, log_index, superseded) \
            VALUES (\(bytea(row.voterKey.rawRepresentation)), \(bytea(row.trackingCode.digest.bytes)), \(row.district), \
            \(int64(row.logIndex)), \(row.superseded))
            """)
    }

    func markSuperseded(trackingCode: TrackingCode) throws {
        try run("UPDATE ballots SET superseded = TRUE WHERE tracking_code = \(bytea(trackingCode.digest.bytes))")
    }

    func ballotCounts() throws -> (cast: [String: Int], superseded: [String: Int]) {
        var cast: [String: Int] = [:], superseded: [String: Int] = [:]
        for row in try rows("SELECT district, COUNT(*), COUNT(*) FILTER (WHERE superseded) FROM ballots GROUP BY district") {
            let (district, n, s) = try decode(row, (String, Int, Int).self)
            cast[district] = n
            superseded[district] = s
        }
        return (cast, superseded)
    }

    func isBallotIDClaimed(_ id: BallotID) throws -> Bool {
        try !rows("SELECT 1 FROM ballot_ids WHERE ballot_id = \(bytea(id.bytes))").isEmpty
    }

    func claimBallotID(_ id: BallotID) throws -> Bool {
        try run("INSERT INTO ballot_ids (ballot_id) VALUES (\(bytea(id.bytes))) ON CONFLICT DO NOTHING") == 1
    }

    func spoiledIndex(trackingCode: TrackingCode) throws -> UInt64? {
        try scalar("SELECT log_index FROM spoiled WHERE tracking_code = \(bytea(trackingCode.digest.bytes))", as: Int64.self).map(uint64)
    }

    func insertSpoiled(trackingCode: TrackingCode, index: UInt64) throws {
        try run("INSERT INTO spoiled (tracking_code, log_index) VALUES (\(bytea(trackingCode.digest.bytes)), \(int64(index)))")
    }

    func supervisedRows() throws -> [SupervisedRow] {
        try rows("SELECT tracking_code, voter_mac, district, station, log_index, blinding FROM supervised ORDER BY log_index").map { row in
            let (code, mac, district, station, index, blinding) =
                try decode(row, (ByteBuffer, ByteBuffer, String, Int64, Int64, ByteBuffer).self)
            guard let b = Nonce32(bytes: bytes(blinding)) else { throw RuleError.internalError }
            return SupervisedRow(trackingCode: TrackingCode(digest: try digest(code)), voterMac: try digest(mac), district: district,
                                 station: UInt32(clamping: station), logIndex: uint64(index), blinding: b)
        }
    }

    func insertSupervised(_ row: SupervisedRow) throws {
        try run("""
            INSERT INTO supervised (tracking_code, voter_mac, district, station, log_index, blinding) \
            VALUES (\(bytea(row.trackingCode.digest.bytes)), \(bytea(row.voterMac.bytes)), \(row.district), \(Int64(row.station)), \
            \(int64(row.logIndex)), \(bytea(row.blinding.bytes)))
            """)
    }

    // MARK: the running tally

    func tallySums(district: String) throws -> TallySums? {
        guard let row = try rows("SELECT ballots, data FROM tally_sums WHERE district = \(district)").first else { return nil }
        let (ballots, data) = try decode(row, (Int, ByteBuffer).self)
        return TallySums(ballots: ballots, ciphertexts: try TallySums.decode(bytes(data)))
    }

    func setTallySums(district: String, _ sums: TallySums) throws {
        try run("""
            INSERT INTO tally_sums (district, ballots, data) VALUES (\(district), \(Int64(sums.ballots)), \(bytea(sums.encoded))) \
            ON CONFLICT (district) DO UPDATE SET ballots = excluded.ballots, data = excluded.data
            """)
    }

    // MARK: request nonces

    func isNonceUsed(_ nonce: RequestAuthorization.Nonce) throws -> Bool {
        try !rows("SELECT 1 FROM request_nonces WHERE nonce = \(bytea(nonce.bytes))").isEmpty
    }

    func recordNonce(_ nonce: RequestAuthorization.Nonce, expiresAt: Timestamp, now: Timestamp) throws {
        try run("DELETE FROM request_nonces WHERE expires_at < \(int64(now))")
        try run("INSERT INTO request_nonces (nonce, expires_at) VALUES (\(bytea(nonce.bytes)), \(int64(expiresAt)))")
    }

    /// SAVEPOINT / ROLLBACK TO SAVEPOINT: "rolls back all commands that were executed after the
    /// savepoint was established" and leaves an aborted transaction usable again.
    func withSavepoint<T>(_ body: () throws -> T) throws -> T {
        savepoints += 1
        defer { savepoints -= 1 }
        let name = "evote_sp\(savepoints)"
        try run(PostgresQuery(unsafeSQL: "SAVEPOINT \(name)"))
        do {
            let value = try body()
            try run(PostgresQuery(unsafeSQL: "RELEASE SAVEPOINT \(name)"))
            return value
        } catch {
            try run(PostgresQuery(unsafeSQL: "ROLLBACK TO SAVEPOINT \(name)"))
            try run(PostgresQuery(unsafeSQL: "RELEASE SAVEPOINT \(name)"))
            throw error
        }
    }
}
