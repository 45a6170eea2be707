import Foundation
import VotingCore

/// One write batch: the transaction, the log appender and the running tally sums touched so
/// far (written back once, before the batch is sealed).
final class Batch {
    let tx: any StorageTransaction
    let log: LogAppender
    let now: Timestamp
    /// The running sums touched by this batch, in the pure-Swift Jacobian form (one mixed
    /// addition per ciphertext component); turned into ciphertexts only when read or flushed.
    private var sums: [String: RunningSum] = [:]
    private var dirty: Set<String> = []

    fileprivate struct RunningSum {
        var ballots: Int
        var sum: CiphertextSum
    }

    init(_ tx: any StorageTransaction, electionHash: Digest, now: Timestamp) throws {
        self.tx = tx
        self.now = now
        log = try LogAppender(tx, electionHash: electionHash, timestamp: now)
    }

    private func running(_ district: String) throws -> RunningSum {
        if let cached = sums[district] { return cached }
        let stored = try tx.tallySums(district: district) ?? TallySums(ballots: 0, ciphertexts: [])
        var sum = CiphertextSum(count: stored.ciphertexts.count)
        guard sum.add(stored.ciphertexts) else { throw RuleError.internalError }
        let loaded = RunningSum(ballots: stored.ballots, sum: sum)
        sums[district] = loaded
        return loaded
    }

    func sums(_ district: String) throws -> TallySums {
        let r = try running(district)
        return TallySums(ballots: r.ballots, ciphertexts: r.sum.count == 0 ? [] : r.sum.ciphertexts())
    }

    /// Adds (sign +1) or removes (−1) one ballot's ciphertexts from its district's running sum.
    func tally(_ ciphertexts: [Ciphertext], district: String, sign: Int) throws {
        var current = try running(district)
        if current.sum.count == 0 { current.sum = CiphertextSum(count: ciphertexts.count) }
        let applied = sign > 0 ? current.sum.add(ciphertexts) : current.sum.subtract(ciphertexts)
        guard applied else { throw RuleError.internalError }
        current.ballots += sign
        sums[district] = current
        dirty.insert(district)
    }

    /// Writes the touched sums back (in the batch's transaction, before the seal).
    func flush() throws {
        for district in dirty.sorted() where sums[district] != nil {
            try tx.setTallySums(district: district, try self.sums(district))
        }
        dirty = []
    }

    /// The in-memory state an operation may change, to restore when its savepoint rolls back.
    struct Mark {
        fileprivate let log: Int
        fileprivate let sums: [String: RunningSum]
        fileprivate let dirty: Set<String>
    }

    var mark: Mark { Mark(log: log.mark, sums: sums, dirty: dirty) }

    func rewind(to mark: Mark) {
        log.rewind(to: mark.log)
        sums = mark.sums
        dirty = mark.dirty
    }
}

/// The election's rules (docs/protocol.md §7): states, the roll and its codes, enrollment,
/// one ballot per voter, challenges, supervised ballots and supersession, the ceremony, the
/// close and the tally. Written once against `StorageTransaction`; refusals are results (a
/// refusal may still have to commit something, such as a wrong code's backoff), failures
/// of storage are thrown.
struct ElectionRules: Sendable {
    let setup: ElectionSetup
    let electionHash: Digest
    let serverKey: Ed25519PrivateKey

    init(setup: ElectionSetup, serverKey: Ed25519PrivateKey) {
        self.setup = setup
        self.electionHash = setup.electionHash
        self.serverKey = serverKey
    }

    var manifest: ElectionManifest { setup.manifest }

    enum Recorded: Sendable, Equatable {
        /// Newly logged at this index.
        case new(UInt64)
        /// The identical request was already logged at this index.
        case existing(UInt64)

        var index: UInt64 {
            switch self {
            case .new(let i), .existing(let i): return i
            }
        }
    }

    // MARK: creating the election

    /// Entry 0 in its own transaction (`ballot-server init`).
    func create(_ tx: any StorageTransaction, now: Timestamp) throws {
        try tx.insertSetup(electionHash: electionHash, setupBytes: setup.canonicalBytes)
        let batch = try Batch(tx, electionHash: electionHash, now: now)
        _ = try batch.log.append(kind: .election, payload: setup.canonicalBytes)
        _ = try batch.log.seal(serverKey: serverKey)
    }

    // MARK: the registrar (commission)

    /// Adds voters to the roll (only before voting opens): their rows and the registrar's
    /// signed commitment lists, already split into entries of at most 10,000 commitments.
    func importRoll(_ batch: Batch, rows: [RollRow], signedLists: [[UInt8]]) throws -> Result<[UInt64], RuleError> {
        guard try batch.tx.state() == .setup else { return .failure(.notInSetup("The roll can only be imported")) }
        for row in rows { try batch.tx.insertRollRow(row) }
        var indices: [UInt64] = []
        for payload in signedLists {
            let (list, hash, signed) = try RollImport.decode(payload: payload, commissionKey: setup.commissionKey)
            guard signed, hash == electionHash else { return .failure(.badOrderSignature) }
            _ = list
            indices.append(try batch.log.append(kind: .roll, payload: payload).index)
        }
        return .success(indices)
    }

    struct Reissued: Sendable, Equatable {
        let index: UInt64
        let revoked: Ed25519PublicKey?
    }

    /// Replaces one voter's code (the registrar's signed order): the old code and the key it
    /// enrolled (if any) are dead from now on; refused once the voter has voted.
    func reissue(_ batch: Batch, voterMac: Digest, order: CodeReissue, signature: Ed25519Signature) throws -> Result<Reissued, RuleError> {
        let tx = batch.tx
        let entry = ReissueEntry(order: order, electionHash: electionHash, signature: signature, revoked: [])
        guard entry.isSigned(by: setup.commissionKey) else { return .failure(.badOrderSignature) }
        guard try tx.state() != .closed else { return .failure(.electionClosed) }
        guard var row = try tx.rollRow(voterMac: voterMac) else { return .failure(.notOnRoll) }
        guard row.commitment.value == order.replaces, row.district == order.district else { return .failure(.reissueStale) }
        guard row.supervised == nil else { return .failure(.reissueAfterVote) }
        if let key = row.voterKey, try tx.ballot(voterKey: key) != nil { return .failure(.reissueAfterVote) }
        guard try !tx.isCommitmentKnown(order.commitment.value) else { return .failure(.reissueStale) }
        let revoked = row.voterKey
        let logged = ReissueEntry(order: order, electionHash: electionHash, signature: signature, revoked: revoked.map { [$0] } ?? [])
        let index = try batch.log.append(kind: .reissue, payload: logged.canonicalBytes).index
        if let revoked { try tx.revokeEnrollment(voterKey: revoked, at: index) }
        row.commitment = order.commitment
        row.voterKey = nil
        try tx.updateRollRow(row)
        try tx.setBackoff(voterMac: voterMac, nil)
        return .success(Reissued(index: index, revoked: revoked))
    }

    // MARK: enrollment

    /// An enrollment attempt, prepared outside the writer: the typed code's commitment was
    /// computed (the slow hash) with the salt read for this personal number, or with a fixed
    /// salt for a number that is not on the roll, so both take the same time.
    struct EnrollmentAttempt: Sendable {
        let voterMac: Digest
        let salt: Salt
        let typedCommitment: Digest
        let normalizedCode: String
        let voterKey: Ed25519PublicKey
        /// The voter's proof of possession, already verified over the normalized code.
        let signature: Ed25519Signature
    }

    /// Wrong codes for a personal number (on the roll or not): the first three are free, then
    /// each further one is followed by a window of 2^(f−4) s (at most 5 minutes) in which wrong
    /// codes are answered `enrollment-locked`. The right code is always accepted.
    static let freeFailures = 3
    static let maxBackoffMilliseconds: Timestamp = 5 * 60 * 1000

    static func backoffDelay(failures: Int) -> Timestamp {
        guard failures > freeFailures else { return 0 }
        let exponent = min(failures - freeFailures - 1, 20)
        return min(maxBackoffMilliseconds, 1000 << Timestamp(exponent))
    }

    func enroll(_ batch: Batch, _ attempt: EnrollmentAttempt) throws -> Result<(Recorded, String), RuleError> {
        let tx = batch.tx
        guard try tx.state() != .closed else { return .failure(.electionClosed) }
        let row = try tx.rollRow(voterMac: attempt.voterMac)
        // Same reads and writes whether or not the number is on the roll (no oracle, §7.2).
        let stored = row?.commitment ?? CodeCommitment(salt: attempt.salt, value: Digest(trusted: [UInt8](repeating: 0xff, count: 32)))
        let correct = constantTimeEquals(stored.value.bytes, attempt.typedCommitment.bytes) && stored.salt == attempt.salt && row != nil
        let backoff = try tx.backoff(voterMac: attempt.voterMac)
        guard correct, let row else {
            if let backoff, batch.now < backoff.blockedUntil {
                return .failure(.enrollmentBackoff(seconds: Int((backoff.blockedUntil - batch.now + 999) / 1000)))
            }
            let failures = (backoff?.failures ?? 0) + 1
            try tx.setBackoff(voterMac: attempt.voterMac,
                              CodeBackoff(failures: failures, blockedUntil: batch.now + Self.backoffDelay(failures: failures)))
            return .failure(.invalidCredentials)
        }
        if backoff != nil { try tx.setBackoff(voterMac: attempt.voterMac, nil) }
        if let bound = row.voterKey {
            guard bound == attempt.voterKey, let enrolled = try tx.enrollment(voterKey: bound) else { return .failure(.alreadyEnrolled) }
            return .success((.existing(enrolled.logIndex), row.district))
        }
        if try tx.enrollment(voterKey: attempt.voterKey) != nil { return .failure(.keyInUse) }
        let enrollment = Enrollment(voterKey: attempt.voterKey, district: row.district, commitment: row.commitment.value,
                                    code: attempt.normalizedCode, signature: attempt.signature)
        let index = try batch.log.append(kind: .enrollment, payload: enrollment.canonicalBytes).index
        try tx.insertEnrollment(EnrollmentRow(voterKey: attempt.voterKey, district: row.district, logIndex: index,
                                              voterMac: attempt.voterMac, revokedAt: nil))
        var bound = row
        bound.voterKey = attempt.voterKey
        try tx.updateRollRow(bound)
        return .success((.new(index), row.district))
    }

    // MARK: ballots

    private func requireOpen(_ tx: any StorageReads) throws -> RuleError? {
        switch try tx.state() {
        case .setup: return .electionNotOpen
        case .closed: return .electionClosed
        case .open: return nil
        }
    }

    /// The voter's enrollment, unrevoked and in `district`.
    private func activeEnrollment(_ tx: any StorageReads, key: Ed25519PublicKey, district: String) throws -> Result<EnrollmentRow, RuleError> {
        guard let enrolled = try tx.enrollment(voterKey: key) else { return .failure(.notEnrolled) }
        guard enrolled.revokedAt == nil else { return .failure(.keyRevoked) }
        guard enrolled.district == district else { return .failure(.wrongDistrict(enrolled.district)) }
        return .success(enrolled)
    }

    /// The refusals a ballot can get without its proofs, read before the costly proof check so
    /// that a ballot which will be refused anyway (voting not open, a key not enrolled, revoked
    /// or of another district, a voter who cast another ballot) costs the server a read, not a
    /// proof check. Advisory: `recordBallot` decides again inside the write transaction.
    func castRefusal(_ tx: any StorageReads, _ ballot: SignedBallot) throws -> RuleError? {
        if let refusal = try requireOpen(tx) { return refusal }
        if case .failure(let refusal) = try activeEnrollment(tx, key: ballot.voterKey, district: ballot.ballot.district) { return refusal }
        if let existing = try tx.ballot(voterKey: ballot.voterKey), existing.trackingCode != ballot.trackingCode {
            return .alreadyVoted(existing.trackingCode)
        }
        return nil
    }

    /// The same for a challenge: voting open and the key enrolled, unrevoked, in the district
    /// (an earlier ballot is left to the write batch, where a re-sent challenge finds its entry).
    func spoilRefusal(_ tx: any StorageReads, voterKey: Ed25519PublicKey, district: String) throws -> RuleError? {
        if let refusal = try requireOpen(tx) { return refusal }
        if case .failure(let refusal) = try activeEnrollment(tx, key: voterKey, district: district) { return refusal }
        return nil
    }

    /// One ballot per voter key. The caller has already checked the signature, the election
    /// and the content against the district. A voter who already voted in person gets a
    /// receipt like anyone, but the ballot is superseded from the start: the remote channel
    /// never reveals the in-person vote before the close (§16).
    func recordBallot(_ batch: Batch, _ ballot: SignedBallot) throws -> Result<Recorded, RuleError> {
        let tx = batch.tx
        if let refusal = try requireOpen(tx) { return .failure(refusal) }
        let b = ballot.ballot
        switch try activeEnrollment(tx, key: ballot.voterKey, district: b.district) {
        case .failure(let refusal): return .failure(refusal)
        case .success: break
        }
        if let existing = try tx.ballot(voterKey: ballot.voterKey) {
            guard existing.trackingCode == ballot.trackingCode else { return .failure(.alreadyVoted(existing.trackingCode)) }
            return .success(.existing(existing.logIndex))
        }
        if try tx.spoiledIndex(trackingCode: ballot.trackingCode) != nil { return .failure(.ballotSpoiled) }
        guard try tx.claimBallotID(b.ballotID) else { return .failure(.ballotIDUsed) }
        let index = try batch.log.append(kind: .ballot, payload: ballot.canonicalBytes).index
        let inPerson = try tx.rollRow(voterKey: ballot.voterKey)?.supervised != nil
        try tx.insertBallot(BallotRow(voterKey: ballot.voterKey, trackingCode: ballot.trackingCode, district: b.district,
                                      logIndex: index, superseded: inPerson))
        if !inPerson { try batch.tally(b.content.ciphertexts, district: b.district, sign: 1) }
        return .success(.new(index))
    }

    /// A challenged ballot, published with its opening and without any voter key. The voter
    /// who asked is enrolled and has not cast yet (a challenge after casting is refused
    /// before anything is published).
    func recordSpoiled(_ batch: Batch, _ spoiled: SpoiledBallot, voterKey: Ed25519PublicKey) throws -> Result<Recorded, RuleError> {
        let tx = batch.tx
        if let refusal = try requireOpen(tx) { return .failure(refusal) }
        switch try activeEnrollment(tx, key: voterKey, district: spoiled.ballot.district) {
        case .failure(let refusal): return .failure(refusal)
        case .success: break
        }
        let code = spoiled.trackingCode
        if let index = try tx.spoiledIndex(trackingCode: code) { return .success(.existing(index)) }
        if try tx.ballot(trackingCode: code) != nil { return .failure(.ballotCast) }
        if let cast = try tx.ballot(voterKey: voterKey) { return .failure(.alreadyVoted(cast.trackingCode)) }
        guard try tx.claimBallotID(spoiled.ballot.ballotID) else { return .failure(.ballotIDUsed) }
        let index = try batch.log.append(kind: .spoiled, payload: spoiled.canonicalBytes).index
        try tx.insertSpoiled(trackingCode: code, index: index)
        return .success(.new(index))
    }

    /// The outcome of a supervised ballot: where it was logged and whether it superseded a
    /// remote ballot (shown to the voter at the station, never on the remote channel).
    struct SupervisedOutcome: Sendable, Equatable {
        let recorded: Recorded
        let superseded: TrackingCode?
    }

    /// A ballot cast at a station for the roll entry `voterMac` (the poll worker checked the
    /// voter's identity document). At most one per roll entry; supersedes the voter's remote
    /// ballot, in the same transaction.
    func recordSupervised(_ batch: Batch, voterMac: Digest, ballot: Ballot, station: UInt32,
                          signature: Ed25519Signature) throws -> Result<SupervisedOutcome, RuleError> {
        let tx = batch.tx
        if let refusal = try requireOpen(tx) { return .failure(refusal) }
        guard try stations(tx).contains(where: { $0.index == station }) else { return .failure(.notAStation(station)) }
        guard var row = try tx.rollRow(voterMac: voterMac) else { return .failure(.notOnRoll) }
        guard row.district == ballot.district else { return .failure(.wrongDistrict(row.district)) }
        let code = ballot.trackingCode
        if let previous = row.supervised {
            guard previous == code, let existing = try tx.supervisedRows().first(where: { $0.trackingCode == code }) else {
                return .failure(.alreadyVotedInPerson)
            }
            return .success(SupervisedOutcome(recorded: .existing(existing.logIndex), superseded: nil))
        }
        guard try tx.claimBallotID(ballot.ballotID) else { return .failure(.ballotIDUsed) }
        let blinding = try Nonce32.random()
        let entry = SupervisedBallot(ballot: ballot, station: station, signature: signature,
                                     link: SupervisedBallot.link(pseudonym: row.pseudonym, blinding: blinding))
        let index = try batch.log.append(kind: .supervised, payload: entry.canonicalBytes).index
        try tx.insertSupervised(SupervisedRow(trackingCode: code, voterMac: voterMac, district: row.district, station: station,
                                              logIndex: index, blinding: blinding))
        row.supervised = code
        try tx.updateRollRow(row)
        var superseded: TrackingCode?
        if let key = row.voterKey, let remote = try tx.ballot(voterKey: key), !remote.superseded {
            guard let bytes = try tx.entryBytes(at: remote.logIndex) else { throw RuleError.internalError }
            let cast = try SignedBallot.decode(canonical: try LogEntry.decode(canonical: bytes).payload)
            try tx.markSuperseded(trackingCode: remote.trackingCode)
            try batch.tally(cast.ballot.content.ciphertexts, district: remote.district, sign: -1)
            superseded = remote.trackingCode
        }
        try batch.tally(ballot.content.ciphertexts, district: row.district, sign: 1)
        return .success(SupervisedOutcome(recorded: .new(index), superseded: superseded))
    }

    // MARK: the window, the close and the aggregate

    /// The window rules: the new state, then the order; a close also reveals what every
    /// supervised ballot was for and publishes the aggregate, in the same transaction.
    func applyWindow(_ batch: Batch, order: WindowChange) throws -> Result<UInt64, RuleError> {
        let tx = batch.tx
        guard order.isValid(electionHash: electionHash, commissionKey: setup.commissionKey) else { return .failure(.badOrderSignature) }
        let state = try tx.state()
        switch (order.action, state) {
        case (.open, .setup):
            guard try tx.rollSizes().values.reduce(0, +) > 0 else { return .failure(.emptyRoll) }
            guard try electionKey(tx) != nil else { return .failure(.ceremonyIncomplete) }
        case (.close, .open): break
        case (.open, _), (.close, _): return .failure(.invalidState(state, for: order.action))
        }
        try tx.setState(order.action == .open ? .open : .closed)
        let index = try batch.log.append(kind: .window, payload: order.canonicalBytes).index
        if order.action == .close {
            for chunk in try revealItems(tx).chunked(SupersessionReveal.maxItemsPerEntry) {
                _ = try batch.log.append(kind: .reveal, payload: SupersessionReveal(items: chunk).canonicalBytes)
            }
            _ = try batch.log.append(kind: .aggregate, payload: try aggregate(batch).canonicalBytes)
        }
        return .success(index)
    }

    /// What each supervised ballot was for, in log order (eq. 48 opened).
    private func revealItems(_ tx: any StorageTransaction) throws -> [SupersessionReveal.Item] {
        try tx.supervisedRows().sorted { $0.logIndex < $1.logIndex }.map { s in
            guard let row = try tx.rollRow(voterMac: s.voterMac) else { throw RuleError.internalError }
            var supersededBallot: [UInt8] = []
            if let key = row.voterKey, let remote = try tx.ballot(voterKey: key), remote.superseded,
               let bytes = try tx.entryBytes(at: remote.logIndex) {
                supersededBallot = try SignedBallot.decode(canonical: try LogEntry.decode(canonical: bytes).payload).ballotBytes
            }
            return SupersessionReveal.Item(supervised: s.trackingCode, pseudonym: row.pseudonym, blinding: s.blinding,
                                           supersededBallot: supersededBallot)
        }
    }

    /// The aggregate from the running sums, after checking that their ballot counts agree
    /// with the ballots stored (remote not superseded, plus supervised) district by district.
    func aggregate(_ batch: Batch) throws -> TallyAggregate {
        let tx = batch.tx
        let (cast, superseded) = try tx.ballotCounts()
        var supervisedCounts: [String: Int] = [:]
        for s in try tx.supervisedRows() { supervisedCounts[s.district, default: 0] += 1 }
        return TallyAggregate(districts: try manifest.districts.map { d in
            let sums = try batch.sums(d.id)
            let expected = (cast[d.id] ?? 0) - (superseded[d.id] ?? 0) + (supervisedCounts[d.id] ?? 0)
            guard sums.ballots == expected else {
                throw RuleError(.internal, code: "tally-mismatch",
                                message: "The running sum of district \(d.id) counts \(sums.ballots) ballots but \(expected) are stored; the close was not made. Report this to the operators.")
            }
            return TallyAggregate.District(district: d.id, ballots: UInt32(clamping: sums.ballots),
                                           ciphertexts: sums.ballots > 0 ? sums.ciphertexts : [])
        })
    }

    // MARK: the ceremony and stations (commission and trustees)

    func trustees(_ tx: any StorageReads) throws -> [TrusteeRegistration] {
        try tx.payloads(kind: .trustee).map { try TrusteeRegistration.decode(payload: $0.payload).0 }.sorted { $0.index < $1.index }
    }

    func stations(_ tx: any StorageReads) throws -> [StationRegistration] {
        try tx.payloads(kind: .station).map { try StationRegistration.decode(payload: $0.payload).0 }.sorted { $0.index < $1.index }
    }

    func dealings(_ tx: any StorageReads) throws -> [DealerPublication] {
        try tx.payloads(kind: .dealing).map { try DealerPublication.decode(payload: $0.payload).0 }.sorted { $0.index < $1.index }
    }

    func verifications(_ tx: any StorageReads) throws -> [ShareVerification] {
        try tx.payloads(kind: .verification).map { try ShareVerification.decode(payload: $0.payload).0 }.sorted { $0.index < $1.index }
    }

    func electionKey(_ tx: any StorageReads) throws -> ElectionKeyRecord? {
        try tx.payloads(kind: .electionKey).last.map { try ElectionKeyRecord.decode(canonical: $0.payload) }
    }

    func storedAggregate(_ tx: any StorageReads) throws -> (TallyAggregate, UInt64)? {
        try tx.payloads(kind: .aggregate).last.map { (try TallyAggregate.decode(canonical: $0.payload), $0.index) }
    }

    func decryptions(_ tx: any StorageReads) throws -> [PartialDecryption] {
        try tx.payloads(kind: .decryption).map { try PartialDecryption.decode(payload: $0.payload).0 }.sorted { $0.index < $1.index }
    }

    func results(_ tx: any StorageReads) throws -> SignedResults? {
        try tx.payloads(kind: .results).last.map { try SignedResults.decode(payload: $0.payload) }
    }

    private func index(_ tx: any StorageReads, kind: LogEntryKind, payload: [UInt8]) throws -> UInt64 {
        guard let found = try tx.payloads(kind: kind).first(where: { $0.payload == payload }) else { throw RuleError.internalError }
        return found.index
    }

    /// Appoints a trustee: its self-signed registration, countersigned by the commission.
    func appointTrustee(_ batch: Batch, _ registration: TrusteeRegistration, commissionSignature: Ed25519Signature) throws -> Result<Recorded, RuleError> {
        let tx = batch.tx
        let policy = manifest.trustees
        guard (1...UInt32(policy.count)).contains(registration.index) else {
            return .failure(.invalidTrustee("trustee index must be 1 to \(policy.count) (the manifest's trustees.count)"))
        }
        guard !registration.name.isEmpty, registration.name.utf8.count <= 200 else {
            return .failure(.invalidTrustee("a trustee name is 1 to 200 bytes"))
        }
        guard registration.isSelfSigned else {
            return .failure(.invalidTrustee("the registration is not signed by the trustee's own signing key (make it with `ballot-server trustee keygen`)"))
        }
        guard setup.commissionKey.isValidSignature(commissionSignature, for: registration.appointmentBytes(electionHash: electionHash)) else {
            return .failure(.badOrderSignature)
        }
        guard try tx.state() == .setup else { return .failure(.notInSetup("Trustees can only be registered")) }
        let existing = try trustees(tx)
        if existing.contains(registration) {
            return .success(.existing(try index(tx, kind: .trustee, payload: registration.payload(electionHash: electionHash, commissionSignature: commissionSignature))))
        }
        guard !existing.contains(where: { $0.index == registration.index }) else { return .failure(.trusteeExists(registration.index)) }
        guard try dealings(tx).isEmpty else { return .failure(.ceremonyStarted) }
        let payload = registration.payload(electionHash: electionHash, commissionSignature: commissionSignature)
        return .success(.new(try batch.log.append(kind: .trustee, payload: payload).index))
    }

    /// Registers a polling station (setup or open).
    func appointStation(_ batch: Batch, _ station: StationRegistration, commissionSignature: Ed25519Signature) throws -> Result<Recorded, RuleError> {
        let tx = batch.tx
        guard station.index >= 1 else { return .failure(.invalidStation("a station index is 1 or more")) }
        guard !station.name.isEmpty, station.name.utf8.count <= 200 else { return .failure(.invalidStation("a station name is 1 to 200 bytes")) }
        guard setup.commissionKey.isValidSignature(commissionSignature, for: station.appointmentBytes(electionHash: electionHash)) else {
            return .failure(.badOrderSignature)
        }
        guard try tx.state() != .closed else { return .failure(.electionClosed) }
        let existing = try stations(tx)
        if existing.contains(station) {
            return .success(.existing(try index(tx, kind: .station, payload: station.payload(electionHash: electionHash, commissionSignature: commissionSignature))))
        }
        guard !existing.contains(where: { $0.index == station.index }) else { return .failure(.stationExists(station.index)) }
        let payload = station.payload(electionHash: electionHash, commissionSignature: commissionSignature)
        return .success(.new(try batch.log.append(kind: .station, payload: payload).index))
    }

    func recordDealing(_ batch: Batch, _ publication: DealerPublication) throws -> Result<Recorded, RuleError> {
        let tx = batch.tx
        guard try tx.state() == .setup else { return .failure(.ceremonyClosed) }
        let trustees = try trustees(tx)
        guard trustees.count == manifest.trustees.count else { return .failure(.trusteesIncomplete(trustees.count, manifest.trustees.count)) }
        if let problem = publication.problem(electionHash: electionHash, quorum: manifest.trustees.quorum, trustees: trustees) {
            return .failure(.badPublication(problem))
        }
        if let existing = try dealings(tx).first(where: { $0.index == publication.index }) {
            guard existing == publication else { return .failure(.alreadyPublished("trustee \(publication.index) has already published its dealing")) }
            return .success(.existing(try index(tx, kind: .dealing, payload: publication.payload(electionHash: electionHash))))
        }
        return .success(.new(try batch.log.append(kind: .dealing, payload: publication.payload(electionHash: electionHash)).index))
    }

    /// Records a verdict; when every trustee has accepted every share, derives and logs the
    /// joint election key in the same transaction.
    func recordVerification(_ batch: Batch, _ verification: ShareVerification) throws -> Result<Recorded, RuleError> {
        let tx = batch.tx
        guard try tx.state() == .setup else { return .failure(.ceremonyClosed) }
        let trustees = try trustees(tx)
        guard let trustee = trustees.first(where: { $0.index == verification.index }) else { return .failure(.notATrustee(verification.index)) }
        guard trustee.signingKey.isValidSignature(verification.signature, for: verification.signedBytes(electionHash: electionHash)) else {
            return .failure(.badPublication("the verification of trustee \(verification.index) is not signed by its registered key"))
        }
        let dealings = try dealings(tx)
        guard dealings.count == manifest.trustees.count else { return .failure(.dealingsIncomplete(dealings.count, manifest.trustees.count)) }
        let payload = verification.payload(electionHash: electionHash)
        if let existing = try verifications(tx).first(where: { $0.index == verification.index }) {
            guard existing == verification else { return .failure(.alreadyPublished("trustee \(verification.index) has already published its verification")) }
            return .success(.existing(try index(tx, kind: .verification, payload: payload)))
        }
        let appended = try batch.log.append(kind: .verification, payload: payload)
        let all = try verifications(tx)
        if all.count == manifest.trustees.count, all.allSatisfy({ $0.complaints.isEmpty }),
           let record = ElectionKeyRecord.derive(from: dealings, trustees: trustees.map(\.index)) {
            _ = try batch.log.append(kind: .electionKey, payload: record.canonicalBytes)
        }
        return .success(.new(appended.index))
    }

    /// Records a partial decryption; when a quorum is in, combines them and logs the results,
    /// signed by the server, in the same transaction.
    func recordDecryption(_ batch: Batch, _ partial: PartialDecryption) throws -> Result<Recorded, RuleError> {
        let tx = batch.tx
        guard let (aggregate, _) = try storedAggregate(tx) else { return .failure(.tallyNotReady) }
        guard let trustee = try trustees(tx).first(where: { $0.index == partial.index }) else { return .failure(.notATrustee(partial.index)) }
        guard let key = try electionKey(tx), Int(partial.index) <= key.publicShares.count else { return .failure(.notATrustee(partial.index)) }
        if let problem = partial.problem(electionHash: electionHash, aggregate: aggregate,
                                         publicShare: key.publicShares[Int(partial.index) - 1], signingKey: trustee.signingKey) {
            return .failure(.badPublication(problem))
        }
        let payload = partial.payload(electionHash: electionHash)
        let existing = try decryptions(tx)
        if let previous = existing.first(where: { $0.index == partial.index }) {
            guard previous == partial else { return .failure(.alreadyPublished("trustee \(partial.index) has already published its partial decryption")) }
            return .success(.existing(try index(tx, kind: .decryption, payload: payload)))
        }
        let appended = try batch.log.append(kind: .decryption, payload: payload)
        // The quorum is the first `quorum` valid decryptions in log order (protocol §13.3).
        let inOrder = try tx.payloads(kind: .decryption).map { try PartialDecryption.decode(payload: $0.payload).0 }
        if try results(tx) == nil, inOrder.count >= manifest.trustees.quorum {
            let quorum = Array(inOrder.prefix(manifest.trustees.quorum)).sorted { $0.index < $1.index }
            let roll = try tx.rollSizes().mapValues { UInt32(clamping: $0) }
            guard let results = ElectionResults.combine(manifest: manifest, aggregate: aggregate, partials: quorum, roll: roll) else {
                throw RuleError.internalError
            }
            let signed = SignedResults(results: results, signature: try serverKey.signature(for: results.canonicalBytes))
            _ = try batch.log.append(kind: .results, payload: signed.payload)
        }
        return .success(.new(appended.index))
    }

    // MARK: request nonces (docs/protocol.md §15)

    /// Runs `action` for an authorized request inside a batch: refuses a replayed nonce, and
    /// records the nonce only when the action succeeds.
    static func authorized<T>(_ batch: Batch, _ auth: RequestAuthorization, _ action: () throws -> Result<T, RuleError>) throws -> Result<T, RuleError> {
        if try batch.tx.isNonceUsed(auth.nonce) { return .failure(.replayedRequest) }
        let result = try action()
        if case .success = result { try batch.tx.recordNonce(auth.nonce, expiresAt: auth.expiresAt, now: batch.now) }
        return result
    }
}

extension Array {
    func chunked(_ size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: Swift.max(1, size)).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}

extension RuleError {
    static func notInSetup(_ what: String) -> RuleError {
        RuleError(.conflict, code: "election-not-in-setup", message: "\(what) before voting opens.")
    }
    static let notOnRoll = RuleError(.notFound, code: "not-on-roll",
                                     message: "This personal number is not on the election's roll; check the number on the identity document.")
    static let reissueStale = RuleError(.conflict, code: "reissue-stale",
                                        message: "The voter's code changed while the reissue was being prepared; run the command again.")
    static let reissueAfterVote = RuleError(.conflict, code: "already-voted",
                                            message: "This voter has already voted, so the code can no longer be reissued (a reissue would revoke the key that cast).")
    static let alreadyVotedInPerson = RuleError(.conflict, code: "already-voted-in-person",
                                                message: "This voter has already cast a supervised ballot; at most one is accepted per voter on the roll.")
    static func notAStation(_ index: UInt32) -> RuleError {
        RuleError(.forbidden, code: "not-a-station", message: "Station \(index) is not registered for this election; the commission registers stations with `ballot-server station add`.")
    }
    static func invalidStation(_ problem: String) -> RuleError {
        RuleError(.badRequest, code: "invalid-station", message: "The station registration is invalid: \(problem). Fix the file and send it again.")
    }
    static func stationExists(_ index: UInt32) -> RuleError {
        RuleError(.conflict, code: "station-exists", message: "Station \(index) is already registered with another key; a registration cannot be replaced.")
    }
    static func invalidTrustee(_ problem: String) -> RuleError {
        RuleError(.badRequest, code: "invalid-trustee", message: "The trustee registration is invalid: \(problem). Fix the registration file and send it again.")
    }
    static func trusteeExists(_ index: UInt32) -> RuleError {
        RuleError(.conflict, code: "trustee-exists", message: "Trustee \(index) is already registered with other keys; a registration cannot be replaced.")
    }
    static let ceremonyStarted = RuleError(.conflict, code: "ceremony-started", message: "The ceremony has started; the trustees can no longer change.")
    static let ceremonyClosed = RuleError(.conflict, code: "ceremony-closed",
                                          message: "The key ceremony ended when voting opened; nothing more can be published for it. After the close, trustees publish their decryptions (`ballot-server trustee decrypt`).")
    static func trusteesIncomplete(_ have: Int, _ need: Int) -> RuleError {
        RuleError(.conflict, code: "trustees-incomplete",
                  message: "\(have) of \(need) trustees are registered; the commission must register all of them before dealing starts.")
    }
    static func dealingsIncomplete(_ have: Int, _ need: Int) -> RuleError {
        RuleError(.conflict, code: "dealings-incomplete",
                  message: "\(have) of \(need) trustees have published their dealings; verify shares once all have.")
    }
    static func notATrustee(_ index: UInt32) -> RuleError {
        RuleError(.forbidden, code: "not-a-trustee", message: "Trustee \(index) is not registered for this election; check the key file's index.")
    }
    static func badPublication(_ problem: String) -> RuleError {
        RuleError(.badRequest, code: "bad-proof", message: "The publication was refused: \(problem). Nothing was recorded.")
    }
    static func alreadyPublished(_ what: String) -> RuleError {
        RuleError(.conflict, code: "already-published", message: "\(what.prefix(1).uppercased() + what.dropFirst()) with different content; a publication cannot be replaced.")
    }
    static let tallyNotReady = RuleError(.conflict, code: "tally-not-ready",
                                         message: "Voting has not closed, so there is no aggregate to decrypt yet; try again after the close.")
    static let replayedRequest = RuleError(.conflict, code: "replayed-request",
                                           message: "This signed request was already accepted once (its nonce is used); nothing was done. Run the command again for a fresh signature.")
    static let badOrderSignature = RuleError(.forbidden, code: "bad-order-signature",
                                             message: "The order is not signed by this election's commission key; sign it with commission.key.")
    static let invalidOrderTime = RuleError(.badRequest, code: "invalid-order-time",
                                            message: "The order's issued_at is more than 5 minutes from the server's clock; check the commission machine's clock and sign a new order.")
    static let emptyRoll = RuleError(.conflict, code: "empty-roll", message: "The voter roll is empty; import the roll before opening the election.")
    static let ceremonyIncomplete = RuleError(.conflict, code: "ceremony-incomplete",
                                              message: "The trustees' key ceremony has not completed; register the trustees, then each runs `ballot-server trustee share` and `trustee verify-shares`.")
    static func invalidState(_ state: ElectionState, for action: WindowChange.Action) -> RuleError {
        RuleError(.conflict, code: "invalid-state",
                  message: action == .open
                    ? "The election is \(state.rawValue); only an election in setup can be opened."
                    : "The election is \(state.rawValue); only an open election can be closed.")
    }
}
