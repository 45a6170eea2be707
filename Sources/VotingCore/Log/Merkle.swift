/// RFC 9162 §2.1 Merkle tree hashing and proofs.
public enum Merkle {
    /// Domain-separation prefix for leaf hashes (RFC 9162 §2.1.1).
    public static let leafPrefix: UInt8 = 0x00
    /// Domain-separation prefix for interior node hashes (RFC 9162 §2.1.1).
    public static let nodePrefix: UInt8 = 0x01

    /// MTH({}) = SHA-256() (RFC 9162 §2.1.1).
    public static let emptyRoot = SHA256.hash([UInt8]())

    public static func leafHash(_ data: [UInt8]) -> Digest {
        var input = [UInt8]()
        input.reserveCapacity(data.count + 1)
        input.append(leafPrefix)
        input.append(contentsOf: data)
        return SHA256.hash(input)
    }

    /// Hash of an interior node; takes raw bytes so that unchecked proof elements hash as given.
    public static func nodeHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        var input = [UInt8]()
        input.reserveCapacity(1 + left.count + right.count)
        input.append(nodePrefix)
        input.append(contentsOf: left)
        input.append(contentsOf: right)
        return SHA256.hash(input).bytes
    }

    public static func nodeHash(_ left: Digest, _ right: Digest) -> Digest {
        Digest(trusted: nodeHash(left.bytes, right.bytes))
    }

    /// Largest power of two strictly less than n. Requires n > 1.
    static func splitPoint(_ n: UInt64) -> UInt64 {
        var k: UInt64 = 1
        while k << 1 < n { k <<= 1 }
        return k
    }

    // MARK: verification

    /// Verifies an inclusion proof (RFC 9162 §2.1.3.2). Requires index < treeSize.
    public static func verifyInclusion(leafHash: [UInt8], index: UInt64, treeSize: UInt64,
                                       proof: [[UInt8]], root: [UInt8]) throws {
        guard index < treeSize else { throw ProofError.indexOutOfRange(index: index, treeSize: treeSize) }
        let computed = try rootFromInclusion(leafHash: leafHash, index: index, treeSize: treeSize, proof: proof)
        guard computed == root else { throw ProofError.rootMismatch(expected: root, computed: computed) }
    }

    /// The root an inclusion proof leads to (RFC 9162 §2.1.3.2 steps 1-5).
    public static func rootFromInclusion(leafHash: [UInt8], index: UInt64, treeSize: UInt64,
                                         proof: [[UInt8]]) throws -> [UInt8] {
        guard index < treeSize else { throw ProofError.indexOutOfRange(index: index, treeSize: treeSize) }
        // A leaf hash is a SHA-256 output; anything else would let an empty proof "verify" garbage.
        guard leafHash.count == SHA256.byteCount else { throw ProofError.wrongLeafHashSize(leafHash.count) }
        var fn = index
        var sn = treeSize - 1
        var r = leafHash
        for p in proof {
            guard sn != 0 else { throw ProofError.wrongProofSize(got: proof.count) }
            if fn & 1 == 1 || fn == sn {
                r = nodeHash(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = nodeHash(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw ProofError.wrongProofSize(got: proof.count) }
        return r
    }

    /// Verifies a consistency proof (RFC 9162 §2.1.4.2). A proof from the empty tree is
    /// refused: it proves nothing.
    public static func verifyConsistency(size1: UInt64, size2: UInt64, root1: [UInt8], root2: [UInt8],
                                         proof: [[UInt8]]) throws {
        guard size1 > 0 else { throw ProofError.emptyTreeConsistency }
        guard size1 <= size2 else { throw ProofError.sizesReversed(size1: size1, size2: size2) }
        if size1 == size2 {
            guard proof.isEmpty else { throw ProofError.wrongProofSize(got: proof.count) }
            guard root1 == root2 else { throw ProofError.rootMismatch(expected: root2, computed: root1) }
            return
        }
        guard !proof.isEmpty else { throw ProofError.wrongProofSize(got: 0) }
        var path = proof
        if size1 & (size1 - 1) == 0 { path.insert(root1, at: 0) }
        var fn = size1 - 1
        var sn = size2 - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var fr = path[0]
        var sr = path[0]
        for c in path.dropFirst() {
            guard sn != 0 else { throw ProofError.wrongProofSize(got: proof.count) }
            if fn & 1 == 1 || fn == sn {
                fr = nodeHash(c, fr)
                sr = nodeHash(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = nodeHash(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        guard sn == 0 else { throw ProofError.wrongProofSize(got: proof.count) }
        guard fr == root1 else { throw ProofError.rootMismatch(expected: root1, computed: fr) }
        guard sr == root2 else { throw ProofError.rootMismatch(expected: root2, computed: sr) }
    }

    // MARK: construction over stored perfect subtrees

    /// Root of the first `size` leaves.
    public static func root<S: MerkleNodeSource>(size: UInt64, in store: S) throws -> Digest {
        guard size > 0 else { return emptyRoot }
        return try rangeHash(0, size, store)
    }

    /// Inclusion proof for leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1).
    public static func inclusionProof<S: MerkleNodeSource>(index: UInt64, size: UInt64, in store: S) throws -> [Digest] {
        guard index < size else { throw ProofError.indexOutOfRange(index: index, treeSize: size) }
        var proof: [Digest] = []
        try path(index, 0, size, store, &proof)
        return proof
    }

    /// Consistency proof between trees of `size1` and `size2` leaves (RFC 9162 §2.1.4.1).
    public static func consistencyProof<S: MerkleNodeSource>(size1: UInt64, size2: UInt64, in store: S) throws -> [Digest] {
        guard size1 > 0 else { throw ProofError.emptyTreeConsistency }
        guard size1 <= size2 else { throw ProofError.sizesReversed(size1: size1, size2: size2) }
        var proof: [Digest] = []
        try subproof(size1, 0, size2, true, store, &proof)
        return proof
    }

    private static func path<S: MerkleNodeSource>(_ m: UInt64, _ start: UInt64, _ end: UInt64, _ s: S, _ out: inout [Digest]) throws {
        let n = end - start
        guard n > 1 else { return }
        let k = splitPoint(n)
        if m < k {
            try path(m, start, start + k, s, &out)
            out.append(try rangeHash(start + k, end, s))
        } else {
            try path(m - k, start + k, end, s, &out)
            out.append(try rangeHash(start, start + k, s))
        }
    }

    private static func subproof<S: MerkleNodeSource>(_ m: UInt64, _ start: UInt64, _ end: UInt64, _ complete: Bool,
                                                      _ s: S, _ out: inout [Digest]) throws {
        let n = end - start
        if m == n {
            if !complete { out.append(try rangeHash(start, end, s)) }
            return
        }
        let k = splitPoint(n)
        if m <= k {
            try subproof(m, start, start + k, complete, s, &out)
            out.append(try rangeHash(start + k, end, s))
        } else {
            try subproof(m - k, start + k, end, false, s, &out)
            out.append(try rangeHash(start, start + k, s))
        }
    }

    /// MTH(D[start:end]) from stored perfect subtrees: a range whose length is a power of
    /// two and whose start is aligned to it is one stored node; any other range splits.
    static func rangeHash<S: MerkleNodeSource>(_ start: UInt64, _ end: UInt64, _ s: S) throws -> Digest {
        let n = end - start
        guard n > 0 else { return emptyRoot }
        if n & (n - 1) == 0 && start % n == 0 {
            let level = n.trailingZeroBitCount
            guard let h = try s.node(level: level, index: start >> UInt64(level)) else {
                throw ProofError.missingNode(level: level, index: start >> UInt64(level))
            }
            return h
        }
        let k = splitPoint(n)
        return nodeHash(try rangeHash(start, start + k, s), try rangeHash(start + k, end, s))
    }

    /// The perfect-subtree nodes created by appending `leaves` to a tree of `size` leaves,
    /// leaves included (level 0). Reads at most one stored left sibling per new node.
    public static func nodesForAppend<S: MerkleNodeSource>(size: UInt64, leaves: [Digest], in store: S) throws -> [MerkleNode] {
        var created: [MerkleNode] = []
        var fresh: [NodeKey: Digest] = [:]
        func lookup(_ level: Int, _ index: UInt64) throws -> Digest {
            if let h = fresh[NodeKey(level: level, index: index)] { return h }
            guard let h = try store.node(level: level, index: index) else {
                throw ProofError.missingNode(level: level, index: index)
            }
            return h
        }
        for (offset, leaf) in leaves.enumerated() {
            let i = size + UInt64(offset)
            var hash = leaf
            var level = 0
            var index = i
            created.append(MerkleNode(level: 0, index: i, hash: leaf))
            fresh[NodeKey(level: 0, index: i)] = leaf
            while index & 1 == 1 {
                let left = try lookup(level, index - 1)
                hash = nodeHash(left, hash)
                level += 1
                index >>= 1
                created.append(MerkleNode(level: level, index: index, hash: hash))
                fresh[NodeKey(level: level, index: index)] = hash
            }
        }
        return created
    }

    struct NodeKey: Hashable {
        let level: Int
        let index: UInt64
    }
}

/// A stored perfect subtree: the hash of leaves [index * 2^level, (index + 1) * 2^level).
public struct MerkleNode: Sendable, Hashable {
    public let level: Int
    public let index: UInt64
    public let hash: Digest

    public init(level: Int, index: UInt64, hash: Digest) {
        self.level = level
        self.index = index
        self.hash = hash
    }
}

/// Where proof construction reads perfect subtrees (the database, or memory).
public protocol MerkleNodeSource {
    func node(level: Int, index: UInt64) throws -> Digest?
}

/// An in-memory tree (tests, the auditor recomputing a log from its entries).
public struct InMemoryMerkleTree: MerkleNodeSource, Sendable {
    private var levels: [[Digest]] = []
    public private(set) var size: UInt64 = 0

    public init() {}

    public func node(level: Int, index: UInt64) throws -> Digest? {
        guard level < levels.count, index < UInt64(levels[level].count) else { return nil }
        return levels[level][Int(index)]
    }

    public mutating func append(leafHash: Digest) {
        var hash = leafHash
        var level = 0
        var index = size
        while true {
            if levels.count <= level { levels.append([]) }
            levels[level].append(hash)
            guard index & 1 == 1 else { break }
            hash = Merkle.nodeHash(levels[level][Int(index - 1)], hash)
            level += 1
            index >>= 1
        }
        size += 1
    }

    public var root: Digest { (try? Merkle.root(size: size, in: self)) ?? Merkle.emptyRoot }
}

public enum ProofError: Error, Sendable, Equatable, CustomStringConvertible {
    case indexOutOfRange(index: UInt64, treeSize: UInt64)
    case sizesReversed(size1: UInt64, size2: UInt64)
    case emptyTreeConsistency
    case wrongProofSize(got: Int)
    case rootMismatch(expected: [UInt8], computed: [UInt8])
    case missingNode(level: Int, index: UInt64)
    case wrongLeafHashSize(Int)

    public var description: String {
        switch self {
        case .indexOutOfRange(let i, let n): return "leaf index \(i) is not below tree size \(n)"
        case .sizesReversed(let a, let b): return "first tree size \(a) is larger than second size \(b)"
        case .emptyTreeConsistency: return "a consistency proof from the empty tree proves nothing"
        case .wrongProofSize(let n): return "proof has the wrong number of hashes (\(n))"
        case .rootMismatch(let e, let c): return "root mismatch: expected \(Hex.encode(e)), computed \(Hex.encode(c))"
        case .missingNode(let l, let i): return "log node (level \(l), index \(i)) is missing from storage"
        case .wrongLeafHashSize(let n): return "a leaf hash has 32 bytes, this one \(n)"
        }
    }
}
