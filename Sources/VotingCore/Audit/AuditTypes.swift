/// The numbered checks of docs/verification.md §4 (protocol version 2).
public enum AuditCheck: Int, CaseIterable, Sendable, Codable {
    case manifest = 1
    case entries
    case checkpointSignatures
    case logRoot
    case checkpointConsistency
    case trusteeCeremony
    case enrollments
    case ballotEligibility
    case ballotProofs
    case spoiledBallots
    case supervisedBallots
    case aggregate
    case partialDecryptions
    case counts
    case winners
    case resultsSignature

    public var name: String {
        switch self {
        case .manifest: return "manifest and election hash"
        case .entries: return "log entries well formed"
        case .checkpointSignatures: return "checkpoint signatures"
        case .logRoot: return "log root equals every checkpoint"
        case .checkpointConsistency: return "checkpoints consistent and complete"
        case .trusteeCeremony: return "trustees appointed and signed, ceremony and election key"
        case .enrollments: return "roll signed by the registrar; enrollments open its commitments, within the roll"
        case .ballotEligibility: return "ballots signed by enrolled, unrevoked voters, one each, while open"
        case .ballotProofs: return "ballot proofs"
        case .spoiledBallots: return "spoiled ballots open, name no voter and are not counted"
        case .supervisedBallots: return "supervised ballots signed by stations, one per roll entry, supersessions real"
        case .aggregate: return "aggregate equals the sum of counted ballots, within the roll"
        case .partialDecryptions: return "partial decryption proofs"
        case .counts: return "counts follow from the decryptions"
        case .winners: return "winners follow from the counts"
        case .resultsSignature: return "results signed by the server"
        }
    }
}

/// One check's outcome: how many items it examined and the first failures it found.
public struct AuditCheckResult: Sendable, Codable, Hashable {
    public let number: Int
    public let name: String
    public let passed: Bool
    public let examined: Int
    public let failures: [String]
    /// Failures beyond the listed ones.
    public let moreFailures: Int

    enum CodingKeys: String, CodingKey {
        case number, name, passed, examined, failures
        case moreFailures = "more_failures"
    }
}

public struct AuditReport: Sendable, Codable {
    public let electionHash: Digest?
    public let entries: UInt64
    public let ballots: Int
    public let checks: [AuditCheckResult]
    public var passed: Bool { checks.allSatisfy(\.passed) }

    enum CodingKeys: String, CodingKey { case electionHash = "election_hash", entries, ballots, checks, passed }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(electionHash, forKey: .electionHash)
        try c.encode(entries, forKey: .entries)
        try c.encode(ballots, forKey: .ballots)
        try c.encode(checks, forKey: .checks)
        try c.encode(passed, forKey: .passed)
    }

    public init(electionHash: Digest?, entries: UInt64, ballots: Int, checks: [AuditCheckResult]) {
        self.electionHash = electionHash
        self.entries = entries
        self.ballots = ballots
        self.checks = checks
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        electionHash = try c.decodeIfPresent(Digest.self, forKey: .electionHash)
        entries = try c.decode(UInt64.self, forKey: .entries)
        ballots = try c.decode(Int.self, forKey: .ballots)
        checks = try c.decode([AuditCheckResult].self, forKey: .checks)
    }
}

/// 32 bytes as four words: a compact, allocation-free key for the auditor's per-voter tables
/// (voter keys, commitments, tracking codes, ballot ids), so a million voters fit in memory.
struct Key32: Hashable, Sendable {
    let a: UInt64, b: UInt64, c: UInt64, d: UInt64

    init(_ bytes: [UInt8]) {
        func word(_ i: Int) -> UInt64 {
            var v: UInt64 = 0
            for j in 0..<8 where i + j < bytes.count { v = v << 8 | UInt64(bytes[i + j]) }
            return v
        }
        a = word(0); b = word(8); c = word(16); d = word(24)
    }

    init(a: UInt64, b: UInt64, c: UInt64, d: UInt64) {
        self.a = a; self.b = b; self.c = c; self.d = d
    }

    static let zero = Key32(a: 0, b: 0, c: 0, d: 0)

    init(_ digest: Digest) { self.init(digest.bytes) }
    init(_ key: Ed25519PublicKey) { self.init(key.rawRepresentation) }
}

/// A 16-byte salt as two words (no heap allocation per commitment).
struct Salt16: Sendable {
    let hi: UInt64, lo: UInt64
    init(hi: UInt64, lo: UInt64) {
        self.hi = hi
        self.lo = lo
    }
    init(_ salt: Salt) {
        let k = Key32(salt.bytes + [UInt8](repeating: 0, count: 16))
        hi = k.a
        lo = k.b
    }
    var salt: Salt {
        var bytes: [UInt8] = []
        for w in [hi, lo] { for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: w >> UInt64(shift))) } }
        return Salt(trusted: bytes)
    }
}
