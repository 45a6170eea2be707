import Foundation
import GRDB
import VotingCore

/// Opens the election's SQLite database in WAL mode with `synchronous=FULL` on every
/// connection and runs the named migrations once.
enum ElectionDatabase {
    static func open(path: String) throws -> DatabasePool {
        // "On unix, try to create the *-wal and *-shm files with the same permissions as the
        // associated database file" (sqlite.org/src check-in e5d180ee): so the database goes first, 0600.
        try DatabaseFile.restrictToOwner(path)
        var config = Configuration()
        // "When a writer cannot get the lock, wait": commission commands run in other processes.
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            // "FULL: the database engine will use xSync to ensure all content is safely written
            // to disk before continuing" (sqlite.org/pragma.html#pragma_synchronous).
            try db.execute(sql: "PRAGMA synchronous = FULL")
            try db.execute(sql: "PRAGMA foreign_keys = ON")
        }
        let pool = try DatabasePool(path: path, configuration: config)
        // DatabasePool switches to WAL after prepareDatabase and leaves the writer at NORMAL;
        // set FULL again on the writer (SWIFT-LINUX-NOTES.md, durability trap).
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        let applied = try pool.read { db in try migrator.appliedIdentifiers(db) }
        guard !applied.contains("v1-election-log-roll-ballots") else {
            throw CommandError("protocol-v1-data", "\(path) holds an election of protocol version 1, which this server no longer runs; keep it for its record and create a new election with `ballot-server init`")
        }
        try migrator.migrate(pool)
        return pool
    }

    /// Protocol version 2's schema (docs/protocol.md §8). A data directory made by protocol
    /// version 1 has none of these migrations and is refused when opened.
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("p2-election-log-roll-ballots") { db in
            try db.execute(sql: """
                CREATE TABLE election (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    election_hash BLOB NOT NULL,
                    setup BLOB NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('setup', 'open', 'closed'))
                );
                CREATE TABLE log_entries (
                    idx INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL,
                    data BLOB NOT NULL
                );
                CREATE INDEX log_entries_by_kind ON log_entries(kind, idx);
                -- Perfect subtrees of the Merkle tree: hash of leaves [idx*2^level, (idx+1)*2^level).
                CREATE TABLE log_nodes (
                    level INTEGER NOT NULL,
                    idx INTEGER NOT NULL,
                    hash BLOB NOT NULL,
                    PRIMARY KEY (level, idx)
                ) WITHOUT ROWID;
                CREATE TABLE checkpoints (
                    tree_size INTEGER PRIMARY KEY,
                    root_hash BLOB NOT NULL,
                    timestamp INTEGER NOT NULL,
                    signature BLOB NOT NULL
                );
                -- voter_mac = HMAC-SHA-256(roll secret, personal number); the number itself is never stored.
                -- salt/commitment: the current code commitment; pseudonym: the first one (public).
                CREATE TABLE roll (
                    voter_mac BLOB PRIMARY KEY,
                    district TEXT NOT NULL,
                    salt BLOB NOT NULL,
                    commitment BLOB NOT NULL UNIQUE,
                    pseudonym BLOB NOT NULL UNIQUE,
                    voter_key BLOB UNIQUE,
                    supervised BLOB UNIQUE
                ) WITHOUT ROWID;
                CREATE INDEX roll_by_district ON roll(district);
                -- Every commitment ever published (a reissue never reuses one).
                CREATE TABLE commitments (value BLOB PRIMARY KEY) WITHOUT ROWID;
                -- Wrong-code backoff per personal number, on the roll or not.
                CREATE TABLE code_backoff (
                    voter_mac BLOB PRIMARY KEY,
                    failures INTEGER NOT NULL,
                    blocked_until INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE enrollments (
                    voter_key BLOB PRIMARY KEY,
                    district TEXT NOT NULL,
                    log_index INTEGER NOT NULL,
                    voter_mac BLOB NOT NULL,
                    revoked_at INTEGER
                ) WITHOUT ROWID;
                -- One row per voter key: the primary key is the one-vote-per-voter rule.
                CREATE TABLE ballots (
                    voter_key BLOB PRIMARY KEY REFERENCES enrollments(voter_key),
                    tracking_code BLOB NOT NULL UNIQUE,
                    district TEXT NOT NULL,
                    log_index INTEGER NOT NULL,
                    superseded INTEGER NOT NULL DEFAULT 0
                ) WITHOUT ROWID;
                CREATE INDEX ballots_by_district ON ballots(district, superseded);
                -- Ballot ids of cast, challenged and supervised ballots: none twice in the log.
                CREATE TABLE ballot_ids (ballot_id BLOB PRIMARY KEY) WITHOUT ROWID;
                CREATE TABLE spoiled (
                    tracking_code BLOB PRIMARY KEY,
                    log_index INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE TABLE supervised (
                    tracking_code BLOB PRIMARY KEY,
                    voter_mac BLOB NOT NULL UNIQUE,
                    district TEXT NOT NULL,
                    station INTEGER NOT NULL,
                    log_index INTEGER NOT NULL,
                    blinding BLOB NOT NULL
                ) WITHOUT ROWID;
                -- The running sum of the counted ballots per district (close never re-reads the ballots).
                CREATE TABLE tally_sums (
                    district TEXT PRIMARY KEY,
                    ballots INTEGER NOT NULL,
                    data BLOB NOT NULL
                ) WITHOUT ROWID;
                -- Nonces of accepted commission, trustee and station requests, kept until they expire.
                CREATE TABLE request_nonces (
                    nonce BLOB PRIMARY KEY,
                    expires_at INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX request_nonces_by_expiry ON request_nonces(expires_at);
                """)
        }
        return m
    }
}

/// Reads perfect subtrees from `log_nodes` through one cached statement.
struct DatabaseNodeSource: MerkleNodeSource {
    let db: Database

    func node(level: Int, index: UInt64) throws -> Digest? {
        let statement = try db.cachedStatement(sql: "SELECT hash FROM log_nodes WHERE level = ? AND idx = ?")
        guard let data = try Data.fetchOne(statement, arguments: [level, Int64(index)]) else { return nil }
        return Digest(bytes: [UInt8](data))
    }
}
