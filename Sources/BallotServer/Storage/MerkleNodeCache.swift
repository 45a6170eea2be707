import Synchronization
import VotingCore

/// The log tree's upper levels in memory, for inclusion and consistency proofs (receipts,
/// `GET /v1/log/inclusion`, lookups). A proof for one entry of a 1,000,000-entry log needs
/// about 20 stored perfect subtrees; with the levels from `minLevel` up in memory it reads
/// only the few lowest from storage.
///
/// A stored node never changes: the log is append-only and a node is written once, when its
/// subtree is complete. So a cached node is never stale, whichever instance wrote it, and
/// instances sharing one PostgreSQL database need no invalidation. Only nodes read through
/// `StorageReads` (committed data) are cached, never nodes of a write transaction that could
/// still roll back. Memory: at most 2·N / 2^minLevel nodes for N entries (≈31,000 nodes,
/// ≈3 MB, at a million entries with `minLevel` 6).
final class MerkleNodeCache: Sendable {
    static let defaultMinLevel = 6
    let minLevel: Int
    private let nodes = Mutex<[UInt64: Digest]>([:])

    init(minLevel: Int = MerkleNodeCache.defaultMinLevel) {
        self.minLevel = minLevel
    }

    /// Nodes cached now (tests, metrics).
    var count: Int { nodes.withLock { $0.count } }

    /// `source` with the upper levels answered from memory (and remembered when read).
    func reading(_ source: any MerkleNodeSource) -> some MerkleNodeSource {
        CachedNodeSource(base: source, cache: self)
    }

    /// Remembers `stored` nodes at `minLevel` and above (the others are ignored): the server
    /// loads them at start (`ElectionStore.warmNodeCache`).
    func warm(with stored: [StoredNode]) {
        nodes.withLock { cache in
            for node in stored where node.level >= minLevel {
                if let key = Self.key(node.level, node.index) { cache[key] = node.hash }
            }
        }
    }

    fileprivate func cached(_ level: Int, _ index: UInt64) -> Digest? {
        guard let key = Self.key(level, index) else { return nil }
        return nodes.withLock { $0[key] }
    }

    fileprivate func remember(_ level: Int, _ index: UInt64, _ hash: Digest) {
        guard let key = Self.key(level, index) else { return }
        nodes.withLock { $0[key] = hash }
    }

    /// Level in the top 8 bits, index below (a log of 2^56 entries is far beyond any election).
    private static func key(_ level: Int, _ index: UInt64) -> UInt64? {
        guard (0..<256).contains(level), index < 1 << 56 else { return nil }
        return UInt64(level) << 56 | index
    }
}

private struct CachedNodeSource: MerkleNodeSource {
    let base: any MerkleNodeSource
    let cache: MerkleNodeCache

    func node(level: Int, index: UInt64) throws -> Digest? {
        guard level >= cache.minLevel else { return try base.node(level: level, index: index) }
        if let hash = cache.cached(level, index) { return hash }
        guard let hash = try base.node(level: level, index: index) else { return nil }
        cache.remember(level, index, hash)
        return hash
    }
}
