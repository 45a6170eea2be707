public import Foundation

/// The public election record (docs/verification.md §1): JSON Lines, one item per line, in
/// this order: a header; every log entry in index order, each signed checkpoint placed right
/// after the entry that completes its tree; an end line with the counts. Everything in it is
/// public; it carries no personal data.
///
/// Reading and writing share one grammar, `RecordLine` (Record §1.1): `parse` accepts exactly
/// the canonical lines that `line()` writes (sorted keys, no whitespace, no escapes) with
/// exactly the keys of Record §1.2 for the line's type, and nothing else.
public enum RecordItem: Sendable, Hashable {
    case header(RecordHeader)
    case entry(LogEntryBody)
    case checkpoint(SignedCheckpoint)
    case end(RecordEnd)

    public static let format = "evote-election-record/2"

    /// The keys of each line type (Record §1.2).
    static let headerKeys = ["election_hash", "exported_at", "format", "type"]
    static let entryKeys = ["data", "index", "kind", "type"]
    static let checkpointKeys = ["election_hash", "root_hash", "signature", "timestamp", "tree_size", "type"]
    static let endKeys = ["checkpoints", "entries", "type"]

    // MARK: Writing

    /// The members of this item's line.
    public var recordLine: RecordLine {
        let members: [(String, RecordValue)]
        switch self {
        case .header(let h):
            members = [("type", .string("header")), ("format", .string(h.format)),
                       ("election_hash", .string(FastHex.encode(h.electionHash.bytes))), ("exported_at", .integer(h.exportedAt))]
        case .entry(let e):
            members = [("type", .string("entry")), ("index", .integer(e.index)), ("kind", .string(e.kind.rawValue)),
                       ("data", .string(FastHex.encode(e.data.bytes)))]
        case .checkpoint(let signed):
            let cp = signed.checkpoint
            members = [("type", .string("checkpoint")), ("election_hash", .string(FastHex.encode(cp.electionHash.bytes))),
                       ("tree_size", .integer(cp.treeSize)), ("root_hash", .string(FastHex.encode(cp.rootHash.bytes))),
                       ("timestamp", .integer(cp.timestamp)), ("signature", .string(FastHex.encode(signed.signature.bytes)))]
        case .end(let e):
            members = [("type", .string("end")), ("entries", .integer(e.entries)), ("checkpoints", .integer(e.checkpoints))]
        }
        do {
            return try RecordLine(members)
        } catch {
            // Keys are fixed, hex and kinds are printable ASCII; only a header format read
            // from elsewhere could hold a byte the grammar cannot carry, and none is built so.
            preconditionFailure("record item cannot be written: \(error)")
        }
    }

    /// The canonical bytes of this item's line, LF included (`RecordLine.serialized`).
    public func serializedLine() -> [UInt8] {
        recordLine.serialized()
    }

    /// One line of the record file, LF included.
    public func line() throws -> Data {
        Data(serializedLine())
    }

    // MARK: Reading

    /// Reads one line given without its LF: malformed (Record §1.1) unless it is canonical
    /// and has exactly the keys of its type, hex of the right length and a known entry kind.
    public static func parse(line: some Collection<UInt8>, maxLength: Int = RecordLine.defaultMaxLength) throws(RecordLineError) -> RecordItem {
        try parse(try RecordLine.parse(line, maxLength: maxLength))
    }

    /// Reads one line given without its LF from raw bytes (the audit's splitter output).
    public static func parse(_ line: UnsafeRawBufferPointer, maxLength: Int = RecordLine.defaultMaxLength) throws(RecordLineError) -> RecordItem {
        try parse(try RecordLine.parse(line, maxLength: maxLength))
    }

    /// Reads a line that the grammar accepted as the record line type it names (Record §1.1 rule 9).
    public static func parse(_ line: RecordLine) throws(RecordLineError) -> RecordItem {
        let type = try line.string("type")
        switch type {
        case "header":
            try line.readObject(expecting: headerKeys)
            // Any format string is a well-formed header; the audit fails check 2 for another one.
            return .header(RecordHeader(format: try line.string("format"),
                                        electionHash: Digest(trusted: try line.hexBytes("election_hash", byteCount: Digest.byteCount)),
                                        exportedAt: try line.integer("exported_at")))
        case "entry":
            try line.readObject(expecting: entryKeys)
            let index = try line.integer("index")
            let kindName = try line.string("kind")
            guard let kind = LogEntryKind(rawValue: kindName) else { throw RecordLineError(.unknownEntryKind(kindName)) }
            let data = try line.hexBytes("data")
            guard !data.isEmpty else { throw RecordLineError(.emptyValue(key: "data")) }
            return .entry(LogEntryBody(index: index, kind: kind, data: HexBytes(data)))
        case "checkpoint":
            try line.readObject(expecting: checkpointKeys)
            let checkpoint = Checkpoint(electionHash: Digest(trusted: try line.hexBytes("election_hash", byteCount: Digest.byteCount)),
                                        treeSize: try line.integer("tree_size"),
                                        rootHash: Digest(trusted: try line.hexBytes("root_hash", byteCount: Digest.byteCount)),
                                        timestamp: try line.integer("timestamp"))
            let signature = Ed25519Signature(trusted: try line.hexBytes("signature", byteCount: Ed25519Signature.byteCount))
            return .checkpoint(SignedCheckpoint(checkpoint: checkpoint, signature: signature))
        case "end":
            try line.readObject(expecting: endKeys)
            return .end(RecordEnd(entries: try line.integer("entries"), checkpoints: try line.integer("checkpoints")))
        default:
            throw RecordLineError(.unknownLineType(type))
        }
    }
}

public struct RecordHeader: Codable, Sendable, Hashable {
    public let type: String
    public let format: String
    public let electionHash: Digest
    public let exportedAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case type, format
        case electionHash = "election_hash"
        case exportedAt = "exported_at"
    }

    public init(electionHash: Digest, exportedAt: Timestamp) {
        self.init(format: RecordItem.format, electionHash: electionHash, exportedAt: exportedAt)
    }

    /// A header as read, whatever its format (the audit judges the format, Record §4 check 2).
    public init(format: String, electionHash: Digest, exportedAt: Timestamp) {
        type = "header"
        self.format = format
        self.electionHash = electionHash
        self.exportedAt = exportedAt
    }
}

public struct RecordEnd: Codable, Sendable, Hashable {
    public let type: String
    public let entries: UInt64
    public let checkpoints: UInt64

    public init(entries: UInt64, checkpoints: UInt64) {
        type = "end"
        self.entries = entries
        self.checkpoints = checkpoints
    }
}

/// RFC 9162 tree root over a stream of leaves in O(log n) memory: the perfect subtrees on
/// the right edge, largest first.
public struct MerkleFrontier: Sendable {
    private var stack: [(size: UInt64, hash: Digest)] = []
    public private(set) var size: UInt64 = 0

    public init() {}

    public mutating func append(leafHash: Digest) {
        var node = (size: UInt64(1), hash: leafHash)
        while let last = stack.last, last.size == node.size {
            stack.removeLast()
            node = (last.size * 2, Merkle.nodeHash(last.hash, node.hash))
        }
        stack.append(node)
        size += 1
    }

    /// MTH of all leaves so far (RFC 9162 §2.1.1).
    public var root: Digest {
        guard var acc = stack.last?.hash else { return Merkle.emptyRoot }
        for node in stack.dropLast().reversed() { acc = Merkle.nodeHash(node.hash, acc) }
        return acc
    }
}
