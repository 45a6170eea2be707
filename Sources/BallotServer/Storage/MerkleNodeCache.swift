import Synchronization
import VotingCore

/// The log tree's upper levels in memory, for inclusion and consistency proofs (receipts,
/// `GET /v1/log/inclusion`, lookups). A proof for one entry of a 2,000,000-entry log needs
/// about 21 stored perfect subtrees; with the levels from `minLevel` up in memory it reads
/// only the few lowest from storage.
///
/// A stored node never changes: the log is append-only and a node is written once, when its
/// subtree is complete. So a cached node is never stale, whichever instance wrote it, and
/// instances sharing one PostgreSQL database need no invalidation. Only nodes read through
/// `StorageReads` (committed data) are cached, never nodes of a write transaction that could
/// still roll back.
///
/// Each level is one array of 32-byte hashes, node i at position i. The start loads every
/// level whole; a node read later is kept with the nodes of its level before it that were
/// not yet kept (read once each, at most `maxGap` of them; every perfect subtree left of a
/// stored one is stored too). Memory: 32 bytes per node, at most 2·N / 2^minLevel nodes for
/// N entries (62,500 nodes, 2 MB, for the 2,000,000 entries of a million voters with
/// `minLevel` 6).
final class MerkleNodeCache: Sendable {
    static let defaultMinLevel = 6
    let minLevel: Int
    /// levels[k]: the nodes of level minLevel + k, from index 0 on.
    private let levels = Mutex<[[NodeHash]]>([])

    init(minLevel: Int = MerkleNodeCache.defaultMinLevel) {
        self.minLevel = minLevel
    }

    /// Nodes cached now (tests).
    var count: Int { levels.withLock { $0.reduce(0) { $0 + $1.count } } }

    /// `source` with the upper levels answered from memory (and remembered when read).
    func reading(_ source: any MerkleNodeSource) -> some MerkleNodeSource {
        CachedNodeSource(base: source, cache: self)
    }

    /// Remembers `node` if it is at `minLevel` or above and the next of its level; false otherwise.
    @discardableResult
    func remember(_ node: StoredNode) -> Bool {
        guard node.level >= minLevel, node.level - minLevel < 64 else { return false }
        let k = node.level - minLevel
        return levels.withLock { levels in
            while levels.count <= k { levels.append([]) }
            guard node.index == UInt64(levels[k].count) else { return false }
            levels[k].append(NodeHash(node.hash))
            return true
        }
    }

    /// The most nodes one read fills in before the one it asked for (a cache that was not
    /// warmed on a long log stays a pass-through rather than make one request read thousands).
    static let maxGap: UInt64 = 256

    /// The index the next node kept at `level` must have.
    fileprivate func nextIndex(_ level: Int) -> UInt64 {
        let k = level - minLevel
        return levels.withLock { k >= 0 && k < $0.count ? UInt64($0[k].count) : 0 }
    }

    fileprivate func cached(_ level: Int, _ index: UInt64) -> Digest? {
        let k = level - minLevel
        let hash: NodeHash? = levels.withLock { levels in
            guard k >= 0, k < levels.count, index < UInt64(levels[k].count) else { return nil }
            return levels[k][Int(index)]
        }
        return hash?.digest
    }
}

/// A node's SHA-256 inline (no array per node).
private struct NodeHash: Sendable {
    var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

    init(_ digest: Digest) {
        withUnsafeMutableBytes(of: &words) { out in
            digest.bytes.withUnsafeBytes { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: $0.prefix(32))) }
        }
    }

    var digest: Digest { withUnsafeBytes(of: words) { Digest(trusted: Array($0)) } }
}

private struct CachedNodeSource: MerkleNodeSource {
    let base: any MerkleNodeSource
    let cache: MerkleNodeCache

    func node(level: Int, index: UInt64) throws -> Digest? {
        guard level >= cache.minLevel else { return try base.node(level: level, index: index) }
        if let hash = cache.cached(level, index) { return hash }
        guard let hash = try base.node(level: level, index: index) else { return nil }
        // The nodes of this level before it, not yet kept, first: the level stays one array.
        var next = cache.nextIndex(level)
        if next < index, index - next <= MerkleNodeCache.maxGap {
            while next < index, let earlier = try base.node(level: level, index: next) {
                cache.remember(StoredNode(level: level, index: next, hash: earlier))
                next += 1
            }
        }
        cache.remember(StoredNode(level: level, index: index, hash: hash))
        return hash
    }
}
