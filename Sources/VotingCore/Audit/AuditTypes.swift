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
    /// The listed failures, each a stable code with its values (a tool words them in its language).
    public let details: [AuditFailure]
    /// Failures beyond the listed ones.
    public let moreFailures: Int

    /// The listed failures as English sentences (`failures` in the JSON report).
    public var failures: [String] { details.map(\.message) }

    public init(number: Int, name: String, passed: Bool, examined: Int, details: [AuditFailure], moreFailures: Int) {
        self.number = number
        self.name = name
        self.passed = passed
        self.examined = examined
        self.details = details
        self.moreFailures = moreFailures
    }

    enum CodingKeys: String, CodingKey {
        case number, name, passed, examined, failures
        case failureCodes = "failure_codes"
        case moreFailures = "more_failures"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(number, forKey: .number)
        try c.encode(name, forKey: .name)
        try c.encode(passed, forKey: .passed)
        try c.encode(examined, forKey: .examined)
        try c.encode(failures, forKey: .failures)
        try c.encode(details.map(\.code), forKey: .failureCodes)
        try c.encode(moreFailures, forKey: .moreFailures)
    }

    /// A report read back keeps each failure's English sentence and code (its values are not in the JSON).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        number = try c.decode(Int.self, forKey: .number)
        name = try c.decode(String.self, forKey: .name)
        passed = try c.decode(Bool.self, forKey: .passed)
        examined = try c.decode(Int.self, forKey: .examined)
        moreFailures = try c.decode(Int.self, forKey: .moreFailures)
        let sentences = try c.decode([String].self, forKey: .failures)
        let codes = try c.decodeIfPresent([String].self, forKey: .failureCodes) ?? []
        details = sentences.enumerated().map { i, sentence in
            AuditFailure(code: i < codes.count ? codes[i] : "unknown", values: [:], message: sentence)
        }
    }
}

/// A failed audit item: a stable code (`failure_codes` in the JSON report), the values its
/// sentence names, and the English sentence. VotingCore words nothing else; a tool renders
/// the code and values in its own language (the voter tool's catalog: `audit.failure.<code>`).
public struct AuditFailure: Sendable, Hashable {
    public let code: String
    public let values: [String: String]
    public let message: String

    public init(code: String, values: [String: String] = [:]) {
        self.code = code
        self.values = values
        message = SentenceTemplate.fill(Self.templates[code] ?? code, values)
    }

    init(code: String, values: [String: String], message: String) {
        self.code = code
        self.values = values
        self.message = message
    }

    /// The English sentence of every failure code, with its `{value}` placeholders.
    public static let templates: [String: String] = [
        "aggregate-before-close": "entry {entry}: the aggregate was published before the close",
        "aggregate-mismatch": "the published aggregate differs from the sum of the counted ballots in district(s) {districts}",
        "ballot-before-key": "entry {entry}: a ballot before the election key was published",
        "ballot-id-reused": "entry {entry}: ballot {code} reuses a ballot id already in the log",
        "ballot-key-revoked": "entry {entry}: ballot {code} is from key {key}…, revoked by a reissue at entry {reissue}",
        "ballot-not-enrolled": "entry {entry}: ballot {code} is not from a key enrolled in district {district} before it",
        "ballot-outside-window": "entry {entry}: ballot {code} logged outside the voting window",
        "ballot-proof-invalid": "entry {entry}: ballot {code} has a proof that does not verify or the wrong shape",
        "ballot-second": "entry {entry}: a second ballot from key {key}…",
        "ballot-undecodable": "entry {entry} (ballot) has a payload that does not decode",
        "ballot-unsigned": "entry {entry}: ballot {code} is not validly signed for this election",
        "checkpoint-before-setup": "checkpoint of size {size} appears before the election setup entry",
        "checkpoint-misplaced": "checkpoint of size {size} is placed after entry {after}; it must follow entry {expected}",
        "checkpoint-not-extending": "checkpoint of size {size} does not extend the previous one (size {previous})",
        "checkpoint-root-mismatch": "checkpoint of size {size} has root {root}…, the entries give {computed}…",
        "checkpoint-unsigned": "checkpoint of size {size} is not signed by the election's server key for this election",
        "code-does-not-open": "entry {entry}: the code {code} does not open commitment {commitment}…",
        "commitment-retired": "entry {entry}: the code commitment {commitment}… was retired by a reissue",
        "commitment-used": "entry {entry}: the code commitment {commitment}… was already used by another enrollment",
        "counts-mismatch": "district {district}: published counts {counts} (ballots {ballots}, roll {roll}), the decryptions give {computed} (ballots {computed_ballots}, roll {computed_roll})",
        "counts-shape": "district {district}: {counts} counts for {options} options; no winners can follow from them",
        "dealing-invalid": "entry {entry}: {problem}",
        "dealing-out-of-order": "entry {entry}: dealing of trustee {trustee} before every trustee was registered, after a verification, or after voting opened",
        "dealing-repeated": "entry {entry}: dealing of trustee {trustee} is repeated or for another election",
        "decryption-invalid": "entry {entry}: {problem}",
        "decryption-twice": "entry {entry}: trustee {trustee} decrypted twice",
        "decryption-unknown": "entry {entry}: partial decryption of trustee {trustee} before the aggregate or from an unknown trustee",
        "decryptions-do-not-combine": "the quorum's partial decryptions do not combine into counts",
        "district-counts-over-roll": "district {district} counts {counted} ballots but has {roll} voters on the roll",
        "district-over-roll": "entry {entry}: district {district} now has {active} active enrollments but {roll} voters on the roll",
        "election-key-wrong": "entry {entry}: the election key is not the one derived from all {count} dealings after every trustee accepted them",
        "enrollment-after-close": "entry {entry}: enrollment after the close",
        "enrollment-opens-nothing": "entry {entry}: the enrollment opens no commitment of district {district}'s signed roll lists",
        "enrollment-proof-invalid": "entry {entry}: the enrollment's proof of possession does not verify under key {key}…",
        "enrollment-unknown-district": "entry {entry}: district {district} is not in the manifest",
        "entry-misplaced": "entry at position {position} says index {index} and kind {kind}",
        "entry-other-election": "entry {entry} names another election",
        "entry-payload-undecodable": "entry {entry} ({kind}) has a payload that does not decode: {reason}",
        "entry-undecodable": "entry {entry} does not decode: {reason}",
        "entry-without-setup": "entry {entry} comes without a valid election setup in entry 0",
        "header-other-election": "the record header names another election than its entry 0",
        "key-enrolled-twice": "entry {entry}: key {key}… enrolled twice",
        "manifest-invalid": "the manifest is invalid: {problems}",
        "no-aggregate": "the election closed but no aggregate was published",
        "no-election-key": "no election key was published",
        "no-final-checkpoint": "no signed checkpoint covers all {entries} entries",
        "quorum-without-results": "a quorum of valid partial decryptions was published but no results (protocol §5.2)",
        "record-end-mismatch": "the record says {entries} entries and {checkpoints} checkpoints, it holds {held_entries} and {held_checkpoints}",
        "record-format": "the record format is {format}, not {expected}",
        "record-line-malformed": "record line {line} is malformed: {reason}",
        "record-no-end": "the record has no end line: it may be truncated",
        "record-no-header": "the record has no header line",
        "record-no-setup": "the record has no election setup entry",
        "reissue-after-close": "entry {entry}: a code reissued after the close",
        "reissue-commitment-exists": "entry {entry}: the reissue's new commitment is already on the roll",
        "reissue-retired": "entry {entry}: the reissue replaces a commitment already retired",
        "reissue-revokes-other": "entry {entry}: the reissue revokes {revoked} but the retired code enrolled another key",
        "reissue-revokes-unused": "entry {entry}: the reissue revokes {revoked} but the retired code enrolled no key",
        "reissue-revokes-voter": "entry {entry}: the reissue revokes a key that has already cast a ballot",
        "reissue-unknown-commitment": "entry {entry}: the reissue replaces {commitment}…, which is no commitment of district {district}",
        "reissue-unsigned": "entry {entry}: the code reissue is not signed by the commission's registrar key for this election",
        "results-before-quorum": "entry {entry}: results published after {count} valid partial decryptions; the quorum is {quorum}",
        "results-district-count": "the results list {listed} districts, the manifest {manifest}",
        "results-no-aggregate": "results were published but no aggregate",
        "results-unsigned": "the results are not signed by the election's server key",
        "results-without-aggregate": "entry {entry}: results published without an aggregate",
        "results-wrong-quorum": "the results name trustees {named}; the first {quorum} valid partial decryptions in the log are from {first}",
        "reveal-leaves-counted": "entry {entry}: supervised ballot {code} leaves its voter's remote ballot {remote} counted",
        "reveal-link-mismatch": "entry {entry}: the reveal of {code} does not open its link commitment",
        "reveal-not-roll-entry": "entry {entry}: supervised ballot {code} is for {pseudonym}…, which is no roll entry of its district",
        "reveal-outside-close": "entry {entry}: a supersession reveal outside the close (it must come after the close entry, before the aggregate)",
        "reveal-second": "entry {entry}: a second supervised ballot ({code}) for the same roll entry",
        "reveal-superseded-undecodable": "entry {entry}: the superseded ballot's bytes do not decode",
        "reveal-supersedes-other": "entry {entry}: the reveal of {code} supersedes a ballot that is not its voter's counted remote ballot",
        "reveal-unknown": "entry {entry}: the reveal names {code}, which is no counted supervised ballot or was revealed already",
        "roll-after-open": "entry {entry}: voters added to the roll after voting opened",
        "roll-repeats-commitment": "entry {entry}: the roll list repeats a code commitment",
        "roll-unknown-district": "entry {entry}: the roll list names district {district}, which is not in the manifest",
        "roll-unsigned": "entry {entry}: the roll list is not signed by the commission's registrar key for this election",
        "second-aggregate": "entry {entry}: a second aggregate",
        "second-results": "entry {entry}: a second results entry",
        "second-setup": "entry {entry} is a second election setup",
        "setup-hash-mismatch": "entry 0 names election {election}…, its setup hashes to {computed}…",
        "setup-not-first": "entry 0 is not the election setup",
        "spoiled-id-reused": "entry {entry}: spoiled ballot {code} reuses a ballot id already in the log",
        "spoiled-opening-wrong": "entry {entry}: spoiled ballot {code} does not open to the choice it claims",
        "spoiled-other-election": "entry {entry}: spoiled ballot {code} names another election",
        "spoiled-outside-window": "entry {entry}: spoiled ballot {code} logged outside the voting window",
        "spoiled-proofs-invalid": "entry {entry}: spoiled ballot {code} has proofs that do not verify",
        "spoiled-unknown-district": "entry {entry}: spoiled ballot for an unknown district or before the election key",
        "station-not-appointed": "entry {entry}: station {station} is not appointed by the commission key for this election",
        "station-twice-or-late": "entry {entry}: station {station} registered twice, with index 0, or after the close",
        "supervised-before-key": "entry {entry}: a supervised ballot before the election key was published",
        "supervised-id-reused": "entry {entry}: supervised ballot {code} reuses a ballot id already in the log",
        "supervised-never-revealed": "entry {entry}: supervised ballot {code} was never revealed before the aggregate",
        "supervised-outside-window": "entry {entry}: supervised ballot {code} logged outside the voting window",
        "supervised-proof-invalid": "entry {entry}: supervised ballot {code} has a proof that does not verify or the wrong shape",
        "supervised-unknown-district": "entry {entry}: supervised ballot {code} is for district {district}, which is not in the manifest",
        "supervised-unknown-station": "entry {entry}: supervised ballot {code} names station {station}, which is not registered before it",
        "supervised-unsigned": "entry {entry}: supervised ballot {code} is not signed by station {station} for this election",
        "trustee-late": "entry {entry}: trustee {trustee} registered after the ceremony started or after voting opened",
        "trustee-not-appointed": "entry {entry}: trustee {trustee}'s registration is not appointed by the commission key for this election",
        "trustee-not-self-signed": "entry {entry}: trustee {trustee}'s registration is not signed by the trustee's own signing key",
        "trustee-twice-or-outside": "entry {entry}: trustee {trustee} registered twice or outside 1…{count}",
        "trustees-missing": "{registered} trustees registered, the manifest needs {needed}",
        "verification-complaint": "entry {entry}: trustee {trustee} complained about trustee(s) {complaints}",
        "verification-out-of-order": "entry {entry}: verification of trustee {trustee} before every dealing was logged, or after voting opened",
        "verification-twice": "entry {entry}: trustee {trustee} published a second verification",
        "verification-unsigned": "entry {entry}: verification of trustee {trustee} is not signed by its registered key",
        "window-order-invalid": "entry {entry}: window order {action} is unsigned, out of order, or opens before the election key or with an empty roll",
        "winners-mismatch": "district {district}: published elected {elected}, tied {tied}; the counts give elected {computed_elected}, tied {computed_tied}"
    ]
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
