import Foundation
import Synchronization
import VotingCore

/// One election as the API and the commission commands see it: its storage, its rules, its
/// keys, and the reads that answer the public API. Stateless beyond its storage, so several
/// processes (server instances and commission commands) can share one database.
final class ElectionStore: Sendable {
    let storage: any ElectionStorage
    let rules: ElectionRules
    let clock: Clock
    private let keyCache = Mutex<GroupElement?>(nil)
    /// The log tree's upper levels, for proofs (committed nodes never change).
    let nodeCache = MerkleNodeCache()

    private init(storage: any ElectionStorage, rules: ElectionRules, clock: Clock) {
        self.storage = storage
        self.rules = rules
        self.clock = clock
    }

    var setup: ElectionSetup { rules.setup }
    var electionHash: Digest { rules.electionHash }
    var manifest: ElectionManifest { rules.setup.manifest }
    var serverKey: Ed25519PrivateKey { rules.serverKey }

    // MARK: creating and opening

    /// `ballot-server init`: keys (0600), the election nonce, the database, and log entry 0.
    static func create(in dir: DataDirectory, database: DatabaseLocation, manifest: ElectionManifest, clock: Clock = .system) async throws -> ElectionStore {
        guard !dir.hasKeys else {
            throw CommandError("already-initialized", "\(dir.url.path) already holds an election's keys; choose an empty directory")
        }
        let problems = manifest.problems()
        guard problems.isEmpty else { throw CommandError("invalid-manifest", problems.joined(separator: "; ")) }
        let storage = try await database.storage(dir: dir, creating: true)
        if try await storage.read({ try $0.setupBytes() }) != nil {
            throw CommandError("already-initialized", "\(storage.location) already holds an election; use an empty database")
        }
        try dir.create()
        let serverKey = try Ed25519PrivateKey()
        let commissionKey = try Ed25519PrivateKey()
        try SecretFile.write(dir.serverKeyPath, Array(try serverKey.pemRepresentation.utf8))
        try SecretFile.write(dir.commissionKeyPath, Array(try commissionKey.pemRepresentation.utf8))
        try SecretFile.write(dir.rollSecretPath, Array(Hex.encode(try SecureRandom.bytes(32)).utf8))
        let setup = ElectionSetup(manifest: manifest, serverKey: serverKey.publicKey, commissionKey: commissionKey.publicKey,
                                  nonce: try Nonce32.random())
        let rules = ElectionRules(setup: setup, serverKey: serverKey)
        let now = clock.now()
        try await storage.write { tx in try rules.create(tx, now: now) }
        return ElectionStore(storage: storage, rules: rules, clock: clock)
    }

    static func open(_ dir: DataDirectory, database: DatabaseLocation, clock: Clock = .system) async throws -> ElectionStore {
        let serverKey = try dir.serverKey()
        let storage = try await database.storage(dir: dir, creating: false)
        guard let setupBytes = try await storage.read({ try $0.setupBytes() }) else {
            throw CommandError("not-initialized", "\(storage.location) holds no election; run `ballot-server init --data \(dir.url.path)` first")
        }
        let setup: ElectionSetup
        do { setup = try ElectionSetup.decode(canonical: setupBytes) } catch {
            throw CommandError("protocol-v1-data", "\(storage.location) holds an election of another protocol version; keep it for its record and create a new election with `ballot-server init`")
        }
        guard setup.serverKey == serverKey.publicKey else {
            throw CommandError("key-mismatch", "server.key does not match the key published for this election; restore the right key file")
        }
        return ElectionStore(storage: storage, rules: ElectionRules(setup: setup, serverKey: serverKey), clock: clock)
    }

    // MARK: commission actions run locally (their own transaction and checkpoint)

    /// Runs one commission action in its own transaction: refused actions roll back whole.
    func commissionWrite<T: Sendable>(_ body: @escaping @Sendable (Batch) throws -> Result<T, RuleError>) async throws -> T {
        let rules = self.rules
        let now = clock.now()
        return try await storage.write { tx in
            let batch = try Batch(tx, electionHash: rules.electionHash, now: now)
            let value = try body(batch).get()
            try batch.flush()
            _ = try batch.log.seal(serverKey: rules.serverKey)
            return value
        }
    }

    private func requireCommissionKey(_ key: Ed25519PrivateKey) throws {
        guard key.publicKey == setup.commissionKey else {
            throw CommandError("key-mismatch", "the commission key given is not the commission key published for this election")
        }
    }

    struct RollLine: Sendable {
        let personalNumber: String
        let district: String
        let line: Int
    }

    struct IssuedCode: Sendable {
        let personalNumber: String
        let district: String
        let code: String
        let commitment: Digest
    }

    /// The registrar's roll import (before voting opens): one fresh 80-bit code per voter, its
    /// commitment (the slow hash, computed on every core), the signed per-district lists in
    /// entries of at most 10,000, and the rows with keyed hashes of the numbers, never the
    /// numbers. Returns the codes for the registration office.
    func importRoll(_ lines: [RollLine], rollSecret: [UInt8], commissionKey: Ed25519PrivateKey,
                    progress: (@Sendable (Int) -> Void)? = nil) async throws -> (counts: [(district: String, voters: Int)], codes: [IssuedCode]) {
        try requireCommissionKey(commissionKey)
        var problems: [String] = []
        var seen = Set<String>()
        for line in lines {
            if !PersonalNumber.isValid(line.personalNumber) { problems.append("line \(line.line): \(PersonalNumber.rule)") }
            if manifest.district(line.district) == nil { problems.append("line \(line.line): district \"\(line.district)\" is not in the manifest") }
            if !seen.insert(line.personalNumber).inserted { problems.append("line \(line.line): personal number appears twice") }
        }
        guard problems.isEmpty else { throw CommandError("invalid-roll", problems.prefix(20).joined(separator: "; ")) }
        guard !lines.isEmpty else { throw CommandError("invalid-roll", "the roll has no voters") }
        guard try await currentState() == .setup else {
            throw CommandError("election-not-in-setup", "the roll can only be imported before voting opens")
        }
        let hash = electionHash
        let codes = try lines.map { _ in try EnrollmentCode.generate() }
        let commitments = try Parallel.map(codes.indices, progress: progress) { i in
            try CodeCommitment.make(normalizedCode: EnrollmentCode.normalize(codes[i]), electionHash: hash)
        }
        var rows: [RollRow] = []
        var issued: [IssuedCode] = []
        var byDistrict: [String: [CodeCommitment]] = [:]
        for (i, line) in lines.enumerated() {
            let c = commitments[i]
            rows.append(RollRow(voterMac: PersonalNumber.mac(line.personalNumber, secret: rollSecret), district: line.district,
                                commitment: c, pseudonym: c.value, voterKey: nil, supervised: nil))
            issued.append(IssuedCode(personalNumber: line.personalNumber, district: line.district, code: codes[i], commitment: c.value))
            byDistrict[line.district, default: []].append(c)
        }
        // Manifest district order; each district's list shuffled so its order says nothing.
        var flat: [(String, CodeCommitment)] = []
        for d in manifest.districts { for c in (byDistrict[d.id] ?? []).shuffled() { flat.append((d.id, c)) } }
        var payloads: [[UInt8]] = []
        for chunk in flat.chunked(RollImport.maxCommitmentsPerEntry) {
            var lists: [RollImport.DistrictCommitments] = []
            for (district, c) in chunk {
                if lists.last?.district == district {
                    lists[lists.count - 1] = RollImport.DistrictCommitments(district: district, commitments: lists[lists.count - 1].commitments + [c])
                } else {
                    lists.append(RollImport.DistrictCommitments(district: district, commitments: [c]))
                }
            }
            payloads.append(try RollImport(districts: lists).payload(electionHash: hash, commissionKey: commissionKey))
        }
        let rules = self.rules
        let signed = payloads
        let newRows = rows
        _ = try await commissionWrite { batch in try rules.importRoll(batch, rows: newRows, signedLists: signed) }
        let counts = manifest.districts.compactMap { d in byDistrict[d.id].map { (district: d.id, voters: $0.count) } }
        return (counts, issued)
    }

    /// What the registrar needs to reissue a voter's code: the roll entry's district and current commitment.
    func rollEntry(personalNumber: String, rollSecret: [UInt8]) async throws -> RollRow {
        let number = PersonalNumber.normalize(personalNumber)
        guard PersonalNumber.isValid(number) else { throw RuleError.malformed(PersonalNumber.rule) }
        let mac = PersonalNumber.mac(number, secret: rollSecret)
        guard let row = try await storage.read({ try $0.rollRow(voterMac: mac) }) else { throw RuleError.notOnRoll }
        return row
    }

    struct ReissuedCode: Sendable {
        let code: String
        let district: String
        let commitment: Digest
        let logIndex: UInt64
        let revoked: Ed25519PublicKey?
    }

    /// A new code for one voter (lost letter, lost wallet before casting), locally.
    func reissue(personalNumber: String, rollSecret: [UInt8], commissionKey: Ed25519PrivateKey) async throws -> ReissuedCode {
        try requireCommissionKey(commissionKey)
        let row = try await rollEntry(personalNumber: personalNumber, rollSecret: rollSecret)
        let code = try EnrollmentCode.generate()
        let commitment = try CodeCommitment.make(normalizedCode: EnrollmentCode.normalize(code), electionHash: electionHash)
        let order = CodeReissue(district: row.district, replaces: row.commitment.value, commitment: commitment, issuedAt: clock.now())
        let signature = try ReissueEntry.sign(order, electionHash: electionHash, commissionKey: commissionKey)
        let done = try await applyReissue(voterMac: row.voterMac, order: order, signature: signature)
        return ReissuedCode(code: code, district: row.district, commitment: commitment.value, logIndex: done.index, revoked: done.revoked)
    }

    func applyReissue(voterMac: Digest, order: CodeReissue, signature: Ed25519Signature) async throws -> ElectionRules.Reissued {
        let rules = self.rules
        return try await commissionWrite { batch in try rules.reissue(batch, voterMac: voterMac, order: order, signature: signature) }
    }

    /// Opens or closes voting with a commission-signed order recorded in the log.
    func changeWindow(_ action: WindowChange.Action, commissionKey: Ed25519PrivateKey) async throws -> (WindowChange, UInt64) {
        try requireCommissionKey(commissionKey)
        let order = try WindowChange.sign(electionHash: electionHash, action: action, issuedAt: clock.now(), commissionKey: commissionKey)
        let rules = self.rules
        let index = try await commissionWrite { batch in try rules.applyWindow(batch, order: order) }
        return (order, index)
    }

    func appointTrustee(_ registration: TrusteeRegistration, commissionKey: Ed25519PrivateKey) async throws -> ElectionRules.Recorded {
        try requireCommissionKey(commissionKey)
        let signature = try registration.appointmentSignature(electionHash: electionHash, commissionKey: commissionKey)
        let rules = self.rules
        return try await commissionWrite { batch in try rules.appointTrustee(batch, registration, commissionSignature: signature) }
    }

    func appointStation(_ station: StationRegistration, commissionKey: Ed25519PrivateKey) async throws -> ElectionRules.Recorded {
        try requireCommissionKey(commissionKey)
        let signature = try commissionKey.signature(for: station.appointmentBytes(electionHash: electionHash))
        let rules = self.rules
        return try await commissionWrite { batch in try rules.appointStation(batch, station, commissionSignature: signature) }
    }

    // MARK: reads

    func currentState() async throws -> ElectionState {
        try await storage.read { try $0.state() }
    }

    /// The joint key, cached once published (it never changes afterwards).
    func electionKey() async throws -> GroupElement? {
        if let cached = keyCache.withLock({ $0 }) { return cached }
        let rules = self.rules
        let record = try await storage.read { try rules.electionKey($0) }
        if let key = record?.key { keyCache.withLock { $0 = key } }
        return record?.key
    }

    func latestCheckpoint() async throws -> SignedCheckpoint {
        guard let cp = try await storage.read({ try $0.latestCheckpoint() }) else { throw RuleError.internalError }
        return cp
    }

    func checkpoint(size: UInt64) async throws -> SignedCheckpoint? {
        try await storage.read { try $0.checkpoint(size: size) }
    }

    /// A receipt for the entry at `index`, against the first checkpoint that covers it, with
    /// the entry and its inclusion proof. Signed here, after the entry's commit.
    func loggedReceipt(kind: Receipt.Kind, subject: Digest, index: UInt64) async throws -> LoggedReceipt {
        let (entry, checkpoint, proof) = try await storage.read { [nodeCache] r -> ([UInt8], SignedCheckpoint, [Digest]) in
            guard let checkpoint = try r.checkpoint(covering: index), let entry = try r.entryBytes(at: index) else { throw RuleError.internalError }
            return (entry, checkpoint, try Merkle.inclusionProof(index: index, size: checkpoint.checkpoint.treeSize, in: nodeCache.reading(r)))
        }
        let receipt = try Receipt.issue(kind: kind, electionHash: electionHash, subject: subject, logIndex: index,
                                        leafHash: Merkle.leafHash(entry), checkpoint: checkpoint, serverKey: serverKey)
        return LoggedReceipt(receipt: receipt, entry: HexBytes(entry), inclusionProof: proof)
    }

    /// The receipt of the ballot cast by `voterKey` (`GET /v1/receipts/{voter_key}`).
    func castReceipt(voterKey: Ed25519PublicKey) async throws -> CastResponse {
        guard let row = try await storage.read({ try $0.ballot(voterKey: voterKey) }) else {
            throw RuleError.notFound("A ballot cast by this voter key")
        }
        return CastResponse(trackingCode: row.trackingCode,
                            logged: try await loggedReceipt(kind: .ballot, subject: row.trackingCode.digest, index: row.logIndex))
    }

    /// A cast ballot by its short code (the first 80 bits of the tracking code, as the voter's
    /// receipt prints it first): 404 when none, 409 `ambiguous` when two ballots share it.
    func lookup(shortCode prefix: [UInt8], as text: String) async throws -> BallotLookup {
        let rows = try await storage.read { try $0.ballots(trackingCodePrefix: prefix, limit: 2) }
        guard let row = rows.first else { throw RuleError.notFound("A ballot with tracking code \(text)") }
        guard rows.count == 1 else {
            throw RuleError(.conflict, code: "ambiguous",
                            message: "Two or more ballots share the short code \(text); look it up with the full 64-digit tracking code from the receipt.")
        }
        return try await lookup(trackingCode: row.trackingCode)
    }

    func lookup(trackingCode: TrackingCode) async throws -> BallotLookup {
        try await storage.read { [nodeCache] r in
            guard let row = try r.ballot(trackingCode: trackingCode) else {
                throw RuleError.notFound("A ballot with tracking code \(trackingCode.short)")
            }
            guard let checkpoint = try r.latestCheckpoint(), let entry = try r.entryBytes(at: row.logIndex) else { throw RuleError.internalError }
            let proof = try Merkle.inclusionProof(index: row.logIndex, size: checkpoint.checkpoint.treeSize, in: nodeCache.reading(r))
            return BallotLookup(trackingCode: trackingCode, logIndex: row.logIndex, entry: HexBytes(entry),
                                checkpoint: checkpoint, inclusionProof: proof)
        }
    }

    func logSize() async throws -> UInt64 { try await storage.read { try $0.logSize() } }

    /// Loads the log tree's stored upper levels into `nodeCache` (serve calls it at start).
    func warmNodeCache() async throws {
        try await storage.read { [nodeCache] r in
            try r.forEachNode(fromLevel: nodeCache.minLevel) { nodeCache.remember($0) }
        }
    }

    func inclusionProof(index: UInt64, treeSize: UInt64) async throws -> [Digest] {
        try await storage.read { [nodeCache] r in
            let size = try r.logSize()
            guard treeSize <= size else {
                throw RuleError(.badRequest, code: "beyond-log",
                                message: "tree_size \(treeSize) is larger than the log (\(size) entries); fetch the latest checkpoint first.")
            }
            guard index < treeSize else {
                throw RuleError(.badRequest, code: "index-out-of-range",
                                message: "index \(index) is not below tree_size \(treeSize); ask for an entry inside the tree.")
            }
            return try Merkle.inclusionProof(index: index, size: treeSize, in: nodeCache.reading(r))
        }
    }

    func consistencyProof(first: UInt64, second: UInt64) async throws -> [Digest] {
        try await storage.read { [nodeCache] r in
            let size = try r.logSize()
            guard second <= size else {
                throw RuleError(.badRequest, code: "beyond-log",
                                message: "second \(second) is larger than the log (\(size) entries); fetch the latest checkpoint first.")
            }
            guard first >= 1, first <= second else {
                throw RuleError(.badRequest, code: "invalid-range",
                                message: "first must be at least 1 and at most second; a proof from the empty tree proves nothing.")
            }
            return try Merkle.consistencyProof(size1: first, size2: second, in: nodeCache.reading(r))
        }
    }

    func entries(start: UInt64, limit: Int) async throws -> LogEntriesPage {
        try await storage.read { r in
            let size = try r.logSize()
            guard start < size else { return LogEntriesPage(entries: [], next: nil) }
            let end = min(size, start + UInt64(limit))
            let entries = try r.entries(in: start..<end).map { LogEntryBody(index: $0.0, kind: $0.1, data: HexBytes($0.2)) }
            return LogEntriesPage(entries: entries, next: end < size ? end : nil)
        }
    }

    struct Counts: Sendable {
        var rollByDistrict: [String: Int] = [:]
        var enrolledByDistrict: [String: Int] = [:]
        var revokedByDistrict: [String: Int] = [:]
        var ballotsByDistrict: [String: Int] = [:]
        var supersededByDistrict: [String: Int] = [:]
        var supervisedByDistrict: [String: Int] = [:]
        var logSize: UInt64 = 0
    }

    func counts() async throws -> Counts {
        try await storage.read { r in
            var c = Counts()
            c.rollByDistrict = try r.rollSizes()
            (c.enrolledByDistrict, c.revokedByDistrict) = try r.enrollmentCounts()
            (c.ballotsByDistrict, c.supersededByDistrict) = try r.ballotCounts()
            for s in try r.supervisedRows() { c.supervisedByDistrict[s.district, default: 0] += 1 }
            c.logSize = try r.logSize()
            return c
        }
    }

    func trusteesInfo() async throws -> TrusteesInfo {
        let rules = self.rules
        return try await storage.read { r in
            TrusteesInfo(policy: rules.manifest.trustees, trustees: try rules.trustees(r), dealings: try rules.dealings(r),
                         verifications: try rules.verifications(r), electionKey: try rules.electionKey(r))
        }
    }

    func stations() async throws -> [StationRegistration] {
        let rules = self.rules
        return try await storage.read { try rules.stations($0) }
    }

    func tallyInfo() async throws -> TallyInfo {
        let rules = self.rules
        return try await storage.read { r in
            let aggregate = try rules.storedAggregate(r)
            return TallyInfo(aggregate: aggregate?.0, aggregateIndex: aggregate?.1, decryptions: try rules.decryptions(r),
                             results: try rules.results(r))
        }
    }
}

/// Personal numbers: validated, then only ever stored as HMAC-SHA-256 under the roll secret.
enum PersonalNumber {
    static let rule = "a personal number is 1 to 64 letters, digits or '-'"

    static func normalize(_ s: String) -> String { s.trimmingCharacters(in: .whitespaces) }

    static func isValid(_ s: String) -> Bool {
        let u = Array(s.utf8)
        return !u.isEmpty && u.count <= 64 && u.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x2d
        }
    }

    static func mac(_ s: String, secret: [UInt8]) -> Digest {
        HMACSHA256.authenticate(Array("evote.v2.personal-number\u{0}".utf8) + Array(s.utf8), key: secret)
    }
}

/// Work spread over every core (the registrar's slow hashes).
enum Parallel {
    static func map<T: Sendable>(_ indices: Range<Int>, progress: (@Sendable (Int) -> Void)? = nil,
                                 _ body: @Sendable (Int) throws -> T) throws -> [T] {
        let count = indices.count
        let results = Mutex<[T?]>(Array(repeating: nil, count: count))
        let failure = Mutex<(any Error)?>(nil)
        let done = Atomic<Int>(0)
        let workers = max(1, ProcessInfo.processInfo.activeProcessorCount)
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var local: [(Int, T)] = []
            for i in stride(from: w, to: count, by: workers) {
                do { local.append((i, try body(indices.lowerBound + i))) } catch {
                    failure.withLock { $0 = $0 ?? error }
                    return
                }
                let n = done.add(1, ordering: .relaxed).newValue
                if n % 1000 == 0 { progress?(n) }
            }
            results.withLock { r in for (i, v) in local { r[i] = v } }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        return try results.withLock { r in try r.map { guard let v = $0 else { throw RuleError.internalError }; return v } }
    }
}
