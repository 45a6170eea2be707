import Foundation
import GRDB
import VotingCore

/// Opens the election's SQLite database in WAL mode with `synchronous=FULL` on every
/// connection and runs the named migrations once.
enum ElectionDatabase {
    static func open(path: String) throws -> DatabasePool {
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
        try migrator.migrate(pool)
        return pool
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-election-log-roll-ballots") { db in
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
                CREATE TABLE roll (
                    voter_mac BLOB PRIMARY KEY,
                    district TEXT NOT NULL,
                    code_mac BLOB NOT NULL,
                    failed_attempts INTEGER NOT NULL DEFAULT 0,
                    voter_key BLOB UNIQUE
                ) WITHOUT ROWID;
                CREATE TABLE enrollments (
                    voter_key BLOB PRIMARY KEY,
                    district TEXT NOT NULL,
                    log_index INTEGER NOT NULL
                ) WITHOUT ROWID;
                -- One row per voter key: the primary key is the one-vote-per-voter rule.
                CREATE TABLE ballots (
                    voter_key BLOB PRIMARY KEY REFERENCES enrollments(voter_key),
                    tracking_code BLOB NOT NULL UNIQUE,
                    district TEXT NOT NULL,
                    log_index INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        m.registerMigration("v2-ceremony-spoiled-tally") { db in
            try db.execute(sql: """
                CREATE INDEX log_entries_by_kind ON log_entries(kind, idx);
                CREATE TABLE spoiled (
                    tracking_code BLOB PRIMARY KEY,
                    voter_key BLOB NOT NULL,
                    log_index INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        m.registerMigration("v3-request-nonces") { db in
            try db.execute(sql: """
                -- Nonces of accepted commission and trustee requests, kept until they expire
                -- (an expired request is refused before its nonce is looked up).
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
