import Foundation
import Testing
@testable import VotingCore

/// Naive RFC 9162 §2.1 reference: MTH, PATH and PROOF computed straight from the
/// definitions over a list of leaf hashes, independent of the library's stored-subtree code.
enum NaiveMerkle {
    static func node(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        SHA256.hash([0x01] + left + right).bytes
    }

    /// Largest power of two strictly less than n (n > 1).
    static func k(_ n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }

    /// MTH(D[n]) where the leaves are already leaf hashes.
    static func mth(_ leaves: ArraySlice<[UInt8]>) -> [UInt8] {
        switch leaves.count {
        case 0: return SHA256.hash([UInt8]()).bytes
        case 1: return leaves[leaves.startIndex]
        default:
            let split = leaves.startIndex + k(leaves.count)
            return node(mth(leaves[leaves.startIndex..<split]), mth(leaves[split...]))
        }
    }

    /// PATH(m, D[n]).
    static func path(_ m: Int, _ leaves: ArraySlice<[UInt8]>) -> [[UInt8]] {
        let n = leaves.count
        guard n > 1 else { return [] }
        let split = leaves.startIndex + k(n)
        if m < k(n) {
            return path(m, leaves[leaves.startIndex..<split]) + [mth(leaves[split...])]
        } else {
            return path(m - k(n), leaves[split...]) + [mth(leaves[leaves.startIndex..<split])]
        }
    }

    /// PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
    static func proof(_ m: Int, _ leaves: ArraySlice<[UInt8]>) -> [[UInt8]] { subproof(m, leaves, true) }

    static func subproof(_ m: Int, _ leaves: ArraySlice<[UInt8]>, _ b: Bool) -> [[UInt8]] {
        let n = leaves.count
        if m == n { return b ? [] : [mth(leaves)] }
        let split = leaves.startIndex + k(n)
        if m <= k(n) {
            return subproof(m, leaves[leaves.startIndex..<split], b) + [mth(leaves[split...])]
        } else {
            return subproof(m - k(n), leaves[split...], false) + [mth(leaves[leaves.startIndex..<split])]
        }
    }
}

/// A node store built only from `Merkle.nodesForAppend` output; counts the reads it serves.
final class AppendStore: MerkleNodeSource {
    var nodes: [String: Digest] = [:]
    var reads = 0

    static func key(_ level: Int, _ index: UInt64) -> String { "\(level)/\(index)" }

    func node(level: Int, index: UInt64) throws -> Digest? {
        reads += 1
        return nodes[Self.key(level, index)]
    }
}

@Suite("Merkle trees")
struct MerkleTreeTests {
    static let maxSize = 70

    static func leaf(_ i: Int) -> Digest { Merkle.leafHash([UInt8(truncatingIfNeeded: i)]) }

    static func tree(size: Int) -> InMemoryMerkleTree {
        var tree = InMemoryMerkleTree()
        for i in 0..<size { tree.append(leafHash: leaf(i)) }
        return tree
    }

    static let leaves: [[UInt8]] = (0..<maxSize).map { leaf($0).bytes }

    @Test func hashingPrimitives() throws {
        #expect(Merkle.emptyRoot == SHA256.hash([UInt8]()))
        #expect(Merkle.emptyRoot.hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(InMemoryMerkleTree().root == Merkle.emptyRoot)
        #expect(InMemoryMerkleTree().size == 0)
        #expect(try Merkle.root(size: 0, in: InMemoryMerkleTree()) == Merkle.emptyRoot)
        // RFC 9162 §2.1.1: leaf = SHA-256(0x00 || d), node = SHA-256(0x01 || l || r).
        let data: [UInt8] = [1, 2, 3]
        #expect(Merkle.leafHash(data) == SHA256.hash([0x00] + data))
        #expect(Merkle.leafHash([]) == SHA256.hash([0x00]))
        let l = Merkle.leafHash([1]), r = Merkle.leafHash([2])
        #expect(Merkle.nodeHash(l, r) == SHA256.hash([0x01] + l.bytes + r.bytes))
        #expect(Merkle.nodeHash(l.bytes, r.bytes) == SHA256.hash([0x01] + l.bytes + r.bytes).bytes)
        #expect(Merkle.nodeHash(l, r) != Merkle.nodeHash(r, l))
    }

    @Test("root, inclusion and consistency for every size 1...70", arguments: 1...maxSize)
    func everySize(_ size: Int) throws {
        let tree = Self.tree(size: size)
        let n = UInt64(size)
        #expect(tree.size == n)
        let leaves = Self.leaves[0..<size]
        let root = tree.root
        #expect(root.bytes == NaiveMerkle.mth(leaves), "root of size \(size)")
        #expect(try Merkle.root(size: n, in: tree) == root)

        for index in 0..<size {
            let proof = try Merkle.inclusionProof(index: UInt64(index), size: n, in: tree)
            #expect(proof.map(\.bytes) == NaiveMerkle.path(index, leaves), "PATH(\(index)) in size \(size)")
            let raw = proof.map(\.bytes)
            #expect(throws: Never.self, "inclusion \(index) in size \(size)") {
                try Merkle.verifyInclusion(leafHash: Self.leaves[index], index: UInt64(index), treeSize: n,
                                           proof: raw, root: root.bytes)
            }
            #expect(try Merkle.rootFromInclusion(leafHash: Self.leaves[index], index: UInt64(index), treeSize: n,
                                                 proof: raw) == root.bytes)
            // The proof must not verify another leaf at the same place.
            #expect(throws: ProofError.self, "wrong leaf at \(index) in size \(size)") {
                try Merkle.verifyInclusion(leafHash: Self.leaf(size + 1).bytes, index: UInt64(index), treeSize: n,
                                           proof: raw, root: root.bytes)
            }
            // A flipped bit anywhere in the proof fails.
            for (e, element) in raw.enumerated() {
                for bit in [0, 7, 255] {
                    var bad = raw
                    var bytes = element
                    bytes[bit / 8] ^= UInt8(1 << (bit % 8))
                    bad[e] = bytes
                    #expect(throws: ProofError.self, "flip bit \(bit) of element \(e), inclusion \(index)/\(size)") {
                        try Merkle.verifyInclusion(leafHash: Self.leaves[index], index: UInt64(index), treeSize: n,
                                                   proof: bad, root: root.bytes)
                    }
                }
            }
            // A shortened or lengthened proof fails.
            if !raw.isEmpty {
                #expect(throws: ProofError.self) {
                    try Merkle.verifyInclusion(leafHash: Self.leaves[index], index: UInt64(index), treeSize: n,
                                               proof: Array(raw.dropLast()), root: root.bytes)
                }
            }
            #expect(throws: ProofError.self) {
                try Merkle.verifyInclusion(leafHash: Self.leaves[index], index: UInt64(index), treeSize: n,
                                           proof: raw + [root.bytes], root: root.bytes)
            }
        }
        #expect(throws: ProofError.indexOutOfRange(index: n, treeSize: n)) {
            try Merkle.inclusionProof(index: n, size: n, in: tree)
        }
        #expect(throws: ProofError.indexOutOfRange(index: n, treeSize: n)) {
            try Merkle.verifyInclusion(leafHash: Self.leaves[0], index: n, treeSize: n, proof: [], root: root.bytes)
        }

        for size1 in 1...size {
            let m = UInt64(size1)
            let root1 = Self.tree(size: size1).root
            #expect(try Merkle.root(size: m, in: tree) == root1, "root of the first \(size1) leaves from the size-\(size) tree")
            let proof = try Merkle.consistencyProof(size1: m, size2: n, in: tree)
            #expect(proof.map(\.bytes) == NaiveMerkle.proof(size1, leaves), "PROOF(\(size1), \(size))")
            let raw = proof.map(\.bytes)
            #expect(throws: Never.self, "consistency \(size1) -> \(size)") {
                try Merkle.verifyConsistency(size1: m, size2: n, root1: root1.bytes, root2: root.bytes, proof: raw)
            }
            for (e, element) in raw.enumerated() {
                var bad = raw
                var bytes = element
                bytes[31] ^= 0x01
                bad[e] = bytes
                #expect(throws: ProofError.self, "flip in element \(e), consistency \(size1) -> \(size)") {
                    try Merkle.verifyConsistency(size1: m, size2: n, root1: root1.bytes, root2: root.bytes, proof: bad)
                }
            }
            if size1 < size {
                // Wrong old root, wrong new root.
                #expect(throws: ProofError.self) {
                    try Merkle.verifyConsistency(size1: m, size2: n, root1: root.bytes, root2: root.bytes, proof: raw)
                }
                #expect(throws: ProofError.self) {
                    try Merkle.verifyConsistency(size1: m, size2: n, root1: root1.bytes, root2: root1.bytes, proof: raw)
                }
            } else {
                #expect(raw.isEmpty, "a proof between equal sizes is empty")
            }
        }
        #expect(throws: ProofError.emptyTreeConsistency) { try Merkle.consistencyProof(size1: 0, size2: n, in: tree) }
        #expect(throws: ProofError.sizesReversed(size1: n, size2: n - 1)) {
            try Merkle.consistencyProof(size1: n, size2: n - 1, in: tree)
        }
    }

    @Test("nodesForAppend in batches reproduces the same roots", arguments: [1, 2, 3, 5, 7, 16, 70])
    func nodesForAppendBatches(_ firstBatch: Int) throws {
        let store = AppendStore()
        var size = 0
        var batch = firstBatch
        var allCreated = Set<String>()
        while size < Self.maxSize {
            let count = min(batch, Self.maxSize - size)
            let newLeaves = (size..<(size + count)).map(Self.leaf)
            store.reads = 0
            let created = try Merkle.nodesForAppend(size: UInt64(size), leaves: newLeaves, in: store)
            let nonLeaf = created.filter { $0.level > 0 }.count
            #expect(store.reads <= nonLeaf, "append of \(count) at \(size): \(store.reads) store reads for \(nonLeaf) new interior nodes")
            for node in created {
                let key = AppendStore.key(node.level, node.index)
                #expect(allCreated.insert(key).inserted, "node \(key) created twice")
                // Each created node is the perfect subtree hash of its range.
                let start = Int(node.index) << node.level
                let end = start + (1 << node.level)
                #expect(end <= size + count, "node \(key) reaches past the tree")
                if end <= size + count {
                    #expect(node.hash.bytes == NaiveMerkle.mth(Self.leaves[start..<end]), "node \(key) hash")
                }
                store.nodes[key] = node.hash
            }
            #expect(created.filter { $0.level == 0 }.map(\.hash) == newLeaves)
            size += count
            // Every perfect subtree of the new size exists: sum over levels of floor(size / 2^level).
            var expectedNodes = 0
            var level = 0
            while (1 << level) <= size {
                expectedNodes += size >> level
                level += 1
            }
            #expect(store.nodes.count == expectedNodes, "stored nodes after size \(size)")
            let root = try Merkle.root(size: UInt64(size), in: store)
            #expect(root == Self.tree(size: size).root, "root at size \(size), first batch \(firstBatch)")
            #expect(root.bytes == NaiveMerkle.mth(Self.leaves[0..<size]))
            // Proofs can be built from this store too.
            for m in [0, size / 2, size - 1] {
                let proof = try Merkle.inclusionProof(index: UInt64(m), size: UInt64(size), in: store)
                #expect(throws: Never.self) {
                    try Merkle.verifyInclusion(leafHash: Self.leaves[m], index: UInt64(m), treeSize: UInt64(size),
                                               proof: proof.map(\.bytes), root: root.bytes)
                }
            }
            batch = batch % 9 + 1  // vary the batch size
        }
        #expect(size == Self.maxSize)
    }

    @Test func nodesForAppendNeedsTheLeftSiblings() {
        // Appending leaf 1 to an empty store that claims size 1 must report the missing leaf 0.
        let store = AppendStore()
        #expect(throws: ProofError.missingNode(level: 0, index: 0)) {
            try Merkle.nodesForAppend(size: 1, leaves: [Self.leaf(1)], in: store)
        }
        #expect(throws: ProofError.self) { try Merkle.root(size: 2, in: store) }
    }

    @Test func consistencyEdgeCases() throws {
        let tree = Self.tree(size: 8)
        let root = tree.root.bytes
        #expect(throws: ProofError.emptyTreeConsistency) {
            try Merkle.verifyConsistency(size1: 0, size2: 8, root1: Merkle.emptyRoot.bytes, root2: root, proof: [])
        }
        #expect(throws: ProofError.sizesReversed(size1: 8, size2: 4)) {
            try Merkle.verifyConsistency(size1: 8, size2: 4, root1: root, root2: root, proof: [])
        }
        #expect(throws: Never.self) { try Merkle.verifyConsistency(size1: 8, size2: 8, root1: root, root2: root, proof: []) }
        #expect(throws: ProofError.self) {
            try Merkle.verifyConsistency(size1: 8, size2: 8, root1: root, root2: root, proof: [root])
        }
        #expect(throws: ProofError.wrongProofSize(got: 0)) {
            try Merkle.verifyConsistency(size1: 4, size2: 8, root1: Self.tree(size: 4).root.bytes, root2: root, proof: [])
        }
    }
}
