import VotingCore

/// Appends entries to the transparency log inside the caller's transaction, then seals the
/// batch: stores the new perfect subtrees and one signed checkpoint (docs/protocol.md §5.3).
/// The log's size is read inside the transaction, which holds the append lock, so any process
/// or instance appends safely.
final class LogAppender {
    let tx: any StorageTransaction
    let electionHash: Digest
    let timestamp: Timestamp
    let startSize: UInt64
    private(set) var size: UInt64
    private var leaves: [Digest] = []

    init(_ tx: any StorageTransaction, electionHash: Digest, timestamp: Timestamp) throws {
        self.tx = tx
        self.electionHash = electionHash
        self.timestamp = timestamp
        startSize = try tx.logSize()
        size = startSize
    }

    struct Appended {
        let index: UInt64
        let leafHash: Digest
    }

    func append(kind: LogEntryKind, payload: [UInt8]) throws -> Appended {
        let entry = LogEntry(index: size, electionHash: electionHash, timestamp: timestamp, kind: kind, payload: payload)
        let bytes = entry.canonicalBytes
        try tx.insertEntry(index: size, kind: kind, bytes: bytes)
        let leaf = Merkle.leafHash(bytes)
        leaves.append(leaf)
        size += 1
        return Appended(index: entry.index, leafHash: leaf)
    }

    /// Whether this batch appended anything yet.
    var isEmpty: Bool { leaves.isEmpty }

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
        let nodes = try Merkle.nodesForAppend(size: startSize, leaves: leaves, in: tx)
        try tx.insertNodes(nodes.map { StoredNode(level: $0.level, index: $0.index, hash: $0.hash) })
        let root = try Merkle.root(size: size, in: tx)
        let checkpoint = try Checkpoint(electionHash: electionHash, treeSize: size, rootHash: root, timestamp: timestamp)
            .signed(with: serverKey)
        try tx.insertCheckpoint(checkpoint)
        return checkpoint
    }
}
