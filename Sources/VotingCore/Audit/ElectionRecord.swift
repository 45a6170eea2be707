public import Foundation

/// The public election record (docs/verification.md §1): JSON Lines, one item per line, in
/// this order: a header; every log entry in index order, each signed checkpoint placed right
/// after the entry that completes its tree; an end line with the counts. Everything in it is
/// public; it carries no personal data.
public enum RecordItem: Codable, Sendable, Hashable {
    case header(RecordHeader)
    case entry(LogEntryBody)
    case checkpoint(SignedCheckpoint)
    case end(RecordEnd)

    public static let format = "evote-election-record/2"

    enum CodingKeys: String, CodingKey { case type }

    public init(from decoder: any Decoder) throws {
        let type = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .type)
        switch type {
        case "header": self = .header(try RecordHeader(from: decoder))
        case "entry": self = .entry(try TypedEntry(from: decoder).body)
        case "checkpoint": self = .checkpoint(try TypedCheckpoint(from: decoder).checkpoint)
        case "end": self = .end(try RecordEnd(from: decoder))
        default:
            throw DecodingError.dataCorrupted(.init(codingPath: [CodingKeys.type], debugDescription: "unknown record line type \"\(type)\""))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .header(let h): try h.encode(to: encoder)
        case .entry(let e): try TypedEntry(body: e).encode(to: encoder)
        case .checkpoint(let c): try TypedCheckpoint(checkpoint: c).encode(to: encoder)
        case .end(let e): try e.encode(to: encoder)
        }
    }

    /// One line of the record file.
    public func line() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0a)
        return data
    }

    public static func parse(line: Data) throws -> RecordItem {
        try JSONDecoder().decode(RecordItem.self, from: line)
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
        type = "header"
        format = RecordItem.format
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

struct TypedEntry: Codable {
    let body: LogEntryBody
    enum CodingKeys: String, CodingKey { case type, index, kind, data }
    init(body: LogEntryBody) { self.body = body }
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        body = LogEntryBody(index: try c.decode(UInt64.self, forKey: .index), kind: try c.decode(LogEntryKind.self, forKey: .kind),
                            data: try c.decode(HexBytes.self, forKey: .data))
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("entry", forKey: .type)
        try c.encode(body.index, forKey: .index)
        try c.encode(body.kind, forKey: .kind)
        try c.encode(body.data, forKey: .data)
    }
}

struct TypedCheckpoint: Codable {
    let checkpoint: SignedCheckpoint
    enum CodingKeys: String, CodingKey { case type }
    init(checkpoint: SignedCheckpoint) { self.checkpoint = checkpoint }
    init(from decoder: any Decoder) throws {
        // The checkpoint's own fields sit beside "type"; decode them without the strict check.
        checkpoint = try LenientCheckpoint(from: decoder).value
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("checkpoint", forKey: .type)
        try checkpoint.encode(to: encoder)
    }
}

struct LenientCheckpoint: Decodable {
    let value: SignedCheckpoint
    enum CodingKeys: String, CodingKey {
        case electionHash = "election_hash", treeSize = "tree_size", rootHash = "root_hash", timestamp, signature
    }
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = SignedCheckpoint(
            checkpoint: Checkpoint(electionHash: try c.decode(Digest.self, forKey: .electionHash),
                                   treeSize: try c.decode(UInt64.self, forKey: .treeSize),
                                   rootHash: try c.decode(Digest.self, forKey: .rootHash),
                                   timestamp: try c.decode(UInt64.self, forKey: .timestamp)),
            signature: try c.decode(Ed25519Signature.self, forKey: .signature))
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
