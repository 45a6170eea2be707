import Foundation
import GRDB
import VotingCore

/// Appends entries to the transparency log inside the caller's write transaction, then
/// seals the batch: stores the new perfect subtrees and one signed checkpoint. The log's
/// size is read from the database, so any process that holds the write lock appends safely.
final class LogAppender {
    let db: Database
    let electionHash: Digest
    let timestamp: Timestamp
    let startSize: UInt64
    private(set) var size: UInt64
    private var leaves: [Digest] = []

    init(db: Database, electionHash: Digest, timestamp: Timestamp) throws {
        self.db = db
        self.electionHash = electionHash
        self.timestamp = timestamp
        let next = try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries") ?? 0
        startSize = UInt64(next)
        size = startSize
    }

    struct Appended {
        let index: UInt64
        let leafHash: Digest
    }

    func append(kind: LogEntryKind, payload: [UInt8]) throws -> Appended {
        let entry = LogEntry(index: size, electionHash: electionHash, timestamp: timestamp, kind: kind, payload: payload)
        let bytes = entry.canonicalBytes
        let statement = try db.cachedStatement(sql: "INSERT INTO log_entries (idx, kind, data) VALUES (?, ?, ?)")
        try statement.execute(arguments: [Int64(size), kind.rawValue, Data(bytes)])
        let leaf = Merkle.leafHash(bytes)
        leaves.append(leaf)
        size += 1
        return Appended(index: entry.index, leafHash: leaf)
    }

    /// A position to come back to when an operation's savepoint rolls back.
    var mark: Int { leaves.count }

    func rewind(to mark: Int) {
        leaves.removeLast(leaves.count - mark)
        size = startSize + UInt64(mark)
    }

    /// Stores the batch's Merkle nodes and a checkpoint signed by `serverKey`; nil when the
    /// batch appended nothing.
    func seal(serverKey: Ed25519PrivateKey) throws -> SignedCheckpoint? {
        guard !leaves.isEmpty else { return nil }
        let source = DatabaseNodeSource(db: db)
        let nodes = try Merkle.nodesForAppend(size: startSize, leaves: leaves, in: source)
        let insert = try db.cachedStatement(sql: "INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)")
        for node in nodes {
            try insert.execute(arguments: [node.level, Int64(node.index), Data(node.hash.bytes)])
        }
        let root = try Merkle.root(size: size, in: source)
        let checkpoint = try Checkpoint(electionHash: electionHash, treeSize: size, rootHash: root, timestamp: timestamp)
            .signed(with: serverKey)
        try db.execute(
            sql: "INSERT INTO checkpoints (tree_size, root_hash, timestamp, signature) VALUES (?, ?, ?, ?)",
            arguments: [Int64(size), Data(root.bytes), Int64(timestamp), Data(checkpoint.signature.bytes)])
        return checkpoint
    }
}
