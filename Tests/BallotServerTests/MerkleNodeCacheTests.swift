import Synchronization
import Testing
import VotingCore
@testable import BallotServer

/// A node source that counts what it is asked, by level.
private final class CountingSource: MerkleNodeSource, Sendable {
    let tree: Mutex<InMemoryMerkleTree>
    let asked = Mutex<[Int: Int]>([:])

    init(leaves: Int) {
        var tree = InMemoryMerkleTree()
        for i in 0..<leaves { tree.append(leafHash: Merkle.leafHash(Array("entry \(i)".utf8))) }
        self.tree = Mutex(tree)
    }

    func node(level: Int, index: UInt64) throws -> Digest? {
        asked.withLock { $0[level, default: 0] += 1 }
        return try tree.withLock { try $0.node(level: level, index: index) }
    }

    func asked(atLeast level: Int) -> Int { asked.withLock { $0.filter { $0.key >= level }.values.reduce(0, +) } }
}

@Suite("Merkle node cache")
struct MerkleNodeCacheTests {
    static let sizes: [UInt64] = [1, 2, 3, 63, 64, 65, 511, 512, 513, 999, 1000]

    @Test("proofs through the cache are the proofs from storage, and a second pass reads no cached level")
    func sameProofs() throws {
        let source = CountingSource(leaves: 1000)
        let reference = CountingSource(leaves: 1000)
        let cache = MerkleNodeCache(minLevel: 2)
        let cached = cache.reading(source)
        func proofs(_ nodes: some MerkleNodeSource) throws -> [[Digest]] {
            var all: [[Digest]] = []
            for size in Self.sizes {
                for index in stride(from: UInt64(0), to: size, by: 7) { all.append(try Merkle.inclusionProof(index: index, size: size, in: nodes)) }
                for first in stride(from: UInt64(1), through: size, by: 37) { all.append(try Merkle.consistencyProof(size1: first, size2: size, in: nodes)) }
            }
            return all
        }
        let expected = try proofs(reference)
        #expect(try proofs(cached) == expected)
        let upperReads = source.asked(atLeast: 2)
        #expect(upperReads > 0)
        #expect(try proofs(cached) == expected)
        #expect(source.asked(atLeast: 2) == upperReads, "the second pass read cached levels from storage")
        #expect(source.asked.withLock { $0[0] ?? 0 } == 2 * (reference.asked.withLock { $0[0] ?? 0 }), "levels under minLevel are read every time")
        #expect(cache.count > 0)
        #expect(cache.count <= 2 * 1000 / 4)
    }

    @Test("the levels under minLevel always come from storage; a node storage lacks is not kept; one read out of order brings the nodes before it")
    func lowerLevelsMissingAndOutOfOrderNodes() throws {
        let source = CountingSource(leaves: 8)
        let cache = MerkleNodeCache(minLevel: 3)
        let cached = cache.reading(source)
        _ = try cached.node(level: 0, index: 1)
        _ = try cached.node(level: 0, index: 1)
        #expect(source.asked.withLock { $0[0] } == 2)
        // Level 3, index 0 (leaves 0–7) exists: kept.
        #expect(try cached.node(level: 3, index: 0) == (try source.node(level: 3, index: 0)))
        #expect(cache.count == 1)
        // Index 1 (leaves 8–15) does not exist yet: not kept as missing.
        #expect(try cached.node(level: 3, index: 1) == nil)
        #expect(cache.count == 1)
        source.tree.withLock { tree in
            for i in 8..<32 { tree.append(leafHash: Merkle.leafHash(Array("entry \(i)".utf8))) }
        }
        // Index 3 before 1 and 2 (as a receipt's proof reads a level): 1 and 2 are read once and kept with it.
        #expect(try cached.node(level: 3, index: 3) == (try source.node(level: 3, index: 3)))
        #expect(cache.count == 4)
        let asked = source.asked(atLeast: 3)
        for i in UInt64(0)..<4 { #expect(try cached.node(level: 3, index: i) == (try source.node(level: 3, index: i))) }
        // Only the reference reads above asked storage: the cached reads did not.
        #expect(source.asked(atLeast: 3) == asked + 4)

        // A gap longer than maxGap (a cache never warmed on a long log) is not filled: answered, not kept.
        let long = CountingSource(leaves: Int(MerkleNodeCache.maxGap + 2) * 8)
        let cold = MerkleNodeCache(minLevel: 3)
        let far = MerkleNodeCache.maxGap + 1
        #expect(try cold.reading(long).node(level: 3, index: far) == (try long.node(level: 3, index: far)))
        #expect(cold.count == 0)
    }

    @Test("warm start: the stored upper levels from either storage, and only those", arguments: StorageBackend.all)
    func warmFromStorage(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 2, districts: 1, stage: .created)
        defer { e.remove() }
        // This election's log is a few entries (no stored node above level 1): synthetic
        // nodes at levels 5 to 8, indexes 0 to 2, stand in for a long log's upper levels.
        let nodes = (5...8).flatMap { level in
            (0..<3).map { i in StoredNode(level: level, index: UInt64(i), hash: SHA256.hash(Array("\(level)/\(i)".utf8))) }
        }
        try await e.store.storage.write { tx in try tx.insertNodes(nodes) }
        let stored = try await e.store.storage.read { r -> [String] in
            var seen: [String] = []
            try r.forEachNode(fromLevel: 6) { seen.append("\($0.level)/\($0.index)/\($0.hash.hex)") }
            return seen
        }
        // By level, then index.
        #expect(stored == nodes.filter { $0.level >= 6 }.map { "\($0.level)/\($0.index)/\($0.hash.hex)" })

        #expect(e.store.nodeCache.count == 0)
        try await e.store.warmNodeCache()
        #expect(e.store.nodeCache.minLevel == 6)
        #expect(e.store.nodeCache.count == 9)
        // Answered from memory: the source below knows no node at all.
        let empty = CountingSource(leaves: 0)
        let reading = e.store.nodeCache.reading(empty)
        for node in nodes where node.level >= 6 {
            #expect(try reading.node(level: node.level, index: node.index) == node.hash)
        }
        #expect(try reading.node(level: 5, index: 0) == nil)
        #expect(empty.asked(atLeast: 6) == 0)
    }
}
