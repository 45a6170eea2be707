/// Verifies an election record streamed in order (docs/verification.md, protocol version 2).
/// Memory holds compact per-voter tables and per-option sums, never the ballots; ballot
/// proofs and enrollment openings are checked in parallel batches. Uses only VotingCore and
/// the record: no server code.
public final class ElectionAudit {
    private struct Tally {
        var examined = 0
        var failures: [AuditFailure] = []
        var more = 0
        mutating func pass() { examined += 1 }
        mutating func fail(_ failure: @autoclosure () -> AuditFailure) {
            examined += 1
            // Only the listed failures are built; the rest are counted.
            if failures.count < 20 { failures.append(failure()) } else { more += 1 }
        }
    }

    /// A counted supervised ballot, until the close reveals what it was for.
    private struct SupervisedInfo {
        let district: Int32
        let link: Digest
        var revealed = false
    }

    /// A ballot entry waiting for its batch (its id was claimed when it was read).
    private struct PendingBallot: Sendable {
        let index: UInt64
        let payload: [UInt8]
        let idClaimedBefore: Bool
    }

    /// An enrollment whose expensive checks (code opening, proof of possession) wait for a batch.
    private struct PendingEnrollment: Sendable {
        let index: UInt64
        let enrollment: Enrollment
        let salt: Salt
    }

    private var tallies: [AuditCheck: Tally] = [:]
    private var setup: ElectionSetup?
    private var electionHash: Digest?
    private var headerHash: Digest?
    private var frontier = MerkleFrontier()
    private var lastCheckpoint: Checkpoint?
    private var checkpointCount: UInt64 = 0
    private var expectedEnd: RecordEnd?
    private var state: ElectionState = .setup
    private var openedAt: UInt64?
    private var closedAt: UInt64?
    private var districtIndex: [String: Int32] = [:]

    // Check 7: the registrar's lists, enrollments, reissues.
    private var roll: [Int] = []
    // Per-voter state in compact tables (≈250 bytes a voter; see KeyedRecordTable).
    private var commitments = KeyedRecordTable<CommitmentRecord>()
    private var voters = KeyedRecordTable<VoterKeyRecord>()
    private var active: [Int] = []
    private var pendingEnrollments: [PendingEnrollment] = []

    // Check 6: the ceremony.
    private var trustees: [UInt32: TrusteeRegistration] = [:]
    private var dealings: [UInt32: DealerPublication] = [:]
    private var verifications: [UInt32: ShareVerification] = [:]
    private var electionKey: ElectionKeyRecord?

    // Checks 8-12: ballots.
    private var stations: [UInt32: StationRegistration] = [:]
    private var ballotIDs = KeyedRecordTable<KeyOnly>()
    private var supervised: [Key32: SupervisedInfo] = [:]
    private var revealedPseudonyms: Set<Key32> = []
    private var pendingBallots: [PendingBallot] = []
    private var sums: [CiphertextSum?] = []
    private var counted: [Int] = []

    // Checks 12-16: the tally.
    private var publishedAggregate: TallyAggregate?
    private var decryptions: [UInt32: PartialDecryption] = [:]
    private var decryptionOrder: [UInt32] = []
    private var results: SignedResults?

    public private(set) var ballotCount = 0
    private let batchSize: Int
    private let parallelism: Int

    /// Called after each batch of ballots is checked, with the number checked so far.
    public var onProgress: (@Sendable (Int) -> Void)?

    public init(batchSize: Int = 512, parallelism: Int = 2) {
        self.batchSize = batchSize
        self.parallelism = max(1, parallelism)
    }

    private func pass(_ check: AuditCheck) { tallies[check, default: Tally()].pass() }
    /// A failed item: its stable code and named values (AuditFailure renders the sentence).
    private func fail(_ check: AuditCheck, _ code: String, _ values: @autoclosure () -> [String: String] = [:]) {
        tallies[check, default: Tally()].fail(AuditFailure(code: code, values: values()))
    }

    // MARK: streaming

    /// A record line that is not a well-formed line of a known type (verification.md §1.1):
    /// it fails check 2 and is then ignored (no entry, no checkpoint, no leaf). `number`
    /// counts every line of the record from 1, malformed ones included.
    public func malformedLine(_ number: Int, _ error: RecordLineError) {
        fail(.entries, "record-line-malformed", ["line": "\(number)", "reason": "\(error.description)"])
    }

    /// A record line that could not be read for another reason than the grammar.
    public func malformedLine(_ number: Int, _ error: any Error) {
        if let error = error as? RecordLineError { return malformedLine(number, error) }
        fail(.entries, "record-line-malformed", ["line": "\(number)", "reason": "\(error)"])
    }

    public func consume(_ item: RecordItem) async {
        switch item {
        case .header(let header):
            guard header.format == RecordItem.format else {
                fail(.entries, "record-format", ["format": "\(header.format)", "expected": "\(RecordItem.format)"])
                return
            }
            headerHash = header.electionHash
        case .entry(let body):
            await consume(entry: body)
        case .checkpoint(let signed):
            consume(checkpoint: signed)
        case .end(let end):
            expectedEnd = end
        }
    }

    private func consume(checkpoint signed: SignedCheckpoint) {
        checkpointCount += 1
        let cp = signed.checkpoint
        if let setup {
            if signed.isValid(serverKey: setup.serverKey) && cp.electionHash == electionHash { pass(.checkpointSignatures) } else {
                fail(.checkpointSignatures, "checkpoint-unsigned", ["size": "\(cp.treeSize)"])
            }
        } else {
            fail(.checkpointSignatures, "checkpoint-before-setup", ["size": "\(cp.treeSize)"])
        }
        if cp.treeSize == frontier.size {
            if cp.rootHash == frontier.root { pass(.logRoot) } else {
                fail(.logRoot, "checkpoint-root-mismatch", ["size": "\(cp.treeSize)", "root": "\(cp.rootHash.hex.prefix(16))", "computed": "\(frontier.root.hex.prefix(16))"])
            }
        } else {
            fail(.logRoot, "checkpoint-misplaced", ["size": "\(cp.treeSize)", "after": "\(Int(frontier.size) - 1)", "expected": "\(Int(cp.treeSize) - 1)"])
        }
        if let last = lastCheckpoint {
            // Only sizes must grow: the server's clock is not required to be monotonic (protocol §5.3).
            if cp.treeSize > last.treeSize { pass(.checkpointConsistency) } else {
                fail(.checkpointConsistency, "checkpoint-not-extending", ["size": "\(cp.treeSize)", "previous": "\(last.treeSize)"])
            }
        } else {
            pass(.checkpointConsistency)
        }
        lastCheckpoint = cp
    }

    private func consume(entry body: LogEntryBody) async {
        let position = frontier.size
        frontier.append(leafHash: Merkle.leafHash(body.data.bytes))
        let entry: LogEntry
        do {
            entry = try LogEntry.decode(canonical: body.data.bytes)
        } catch {
            fail(.entries, "entry-undecodable", ["entry": "\(position)", "reason": "\(error)"])
            return
        }
        guard entry.index == position, body.index == position, entry.kind == body.kind else {
            fail(.entries, "entry-misplaced", ["position": "\(position)", "index": "\(entry.index)", "kind": "\(entry.kind.rawValue)"])
            return
        }
        if position == 0 {
            consumeSetup(entry)
            return
        }
        guard let setup, let electionHash else {
            fail(.entries, "entry-without-setup", ["entry": "\(position)"])
            return
        }
        guard entry.electionHash == electionHash else {
            fail(.entries, "entry-other-election", ["entry": "\(position)"])
            return
        }
        pass(.entries)
        do {
            try await apply(entry, setup: setup, electionHash: electionHash)
        } catch {
            fail(.entries, "entry-payload-undecodable", ["entry": "\(position)", "kind": "\(entry.kind.rawValue)", "reason": "\(error)"])
        }
    }

    private func consumeSetup(_ entry: LogEntry) {
        guard entry.kind == .election, let setup = try? ElectionSetup.decode(canonical: entry.payload) else {
            fail(.manifest, "setup-not-first")
            return
        }
        let hash = setup.electionHash
        let problems = setup.manifest.problems()
        if entry.electionHash != hash { fail(.manifest, "setup-hash-mismatch", ["election": "\(entry.electionHash.hex.prefix(16))", "computed": "\(hash.hex.prefix(16))"]) }
        else if let header = headerHash, header != hash { fail(.manifest, "header-other-election") }
        else if !problems.isEmpty { fail(.manifest, "manifest-invalid", ["problems": "\(problems.joined(separator: "; "))"]) }
        else { pass(.manifest) }
        self.setup = setup
        electionHash = hash
        let districts = setup.manifest.districts
        for (i, d) in districts.enumerated() where districtIndex[d.id] == nil { districtIndex[d.id] = Int32(i) }
        roll = Array(repeating: 0, count: districts.count)
        active = roll
        counted = roll
        sums = Array(repeating: nil, count: districts.count)
        pass(.entries)
    }

    /// Whether the entry at `index` lies inside the voting window (after the accepted open,
    /// before the accepted close).
    private func insideWindow(_ index: UInt64) -> Bool {
        guard let openedAt, openedAt < index else { return false }
        return closedAt.map { index < $0 } ?? true
    }

    /// Claims a ballot id in log order; false when an earlier entry claimed it.
    private func claim(_ id: BallotID) -> Bool { ballotIDs.insert(KeyOnly(key: Key32(id.bytes))).inserted }

    private func apply(_ entry: LogEntry, setup: ElectionSetup, electionHash: Digest) async throws {
        let manifest = setup.manifest
        let at = entry.index
        switch entry.kind {
        case .election:
            fail(.entries, "second-setup", ["entry": "\(at)"])

        case .roll:
            let (list, hash, signed) = try RollImport.decode(payload: entry.payload, commissionKey: setup.commissionKey)
            if !signed || hash != electionHash {
                fail(.enrollments, "roll-unsigned", ["entry": "\(at)"])
            } else if state != .setup {
                fail(.enrollments, "roll-after-open", ["entry": "\(at)"])
            } else if let unknown = list.districts.first(where: { districtIndex[$0.district] == nil }) {
                fail(.enrollments, "roll-unknown-district", ["entry": "\(at)", "district": "\(unknown.district)"])
            } else if list.districts.contains(where: { d in d.commitments.contains { commitments.contains(Key32($0.value)) } })
                        || Set(list.districts.flatMap { $0.commitments.map { Key32($0.value) } }).count != list.districts.reduce(0, { $0 + $1.commitments.count }) {
                fail(.enrollments, "roll-repeats-commitment", ["entry": "\(at)"])
            } else {
                pass(.enrollments)
                for d in list.districts {
                    guard let di = districtIndex[d.district] else { continue }
                    roll[Int(di)] += d.commitments.count
                    for c in d.commitments {
                        // A roll commitment is its own root.
                        commitments.insert(CommitmentRecord(key: Key32(c.value), salt: Salt16(c.salt), district: di, root: Int32(commitments.count)))
                    }
                }
            }

        case .reissue:
            let (reissue, hash) = try ReissueEntry.decode(canonical: entry.payload)
            await flushBallots()  // the rule on cast keys needs every ballot before this entry judged
            applyReissue(reissue, hash: hash, setup: setup, at: at, index: entry.index)

        case .trustee:
            let (r, hash, commissionSignature) = try TrusteeRegistration.decode(payload: entry.payload)
            if hash != electionHash || !setup.commissionKey.isValidSignature(commissionSignature, for: r.appointmentBytes(electionHash: electionHash)) {
                fail(.trusteeCeremony, "trustee-not-appointed", ["entry": "\(at)", "trustee": "\(r.index)"])
            } else if !r.isSelfSigned {
                fail(.trusteeCeremony, "trustee-not-self-signed", ["entry": "\(at)", "trustee": "\(r.index)"])
            } else if trustees[r.index] != nil || r.index < 1 || Int(r.index) > manifest.trustees.count {
                fail(.trusteeCeremony, "trustee-twice-or-outside", ["entry": "\(at)", "trustee": "\(r.index)", "count": "\(manifest.trustees.count)"])
            } else if state != .setup || !dealings.isEmpty {
                fail(.trusteeCeremony, "trustee-late", ["entry": "\(at)", "trustee": "\(r.index)"])
            } else {
                pass(.trusteeCeremony)
                trustees[r.index] = r
            }

        case .dealing:
            let (d, hash) = try DealerPublication.decode(payload: entry.payload)
            let registered = trustees.values.sorted { $0.index < $1.index }
            if hash != electionHash || dealings[d.index] != nil {
                fail(.trusteeCeremony, "dealing-repeated", ["entry": "\(at)", "trustee": "\(d.index)"])
            } else if registered.count != manifest.trustees.count || !verifications.isEmpty || state != .setup {
                fail(.trusteeCeremony, "dealing-out-of-order", ["entry": "\(at)", "trustee": "\(d.index)"])
            } else if let problem = d.problem(electionHash: electionHash, quorum: manifest.trustees.quorum, trustees: registered) {
                fail(.trusteeCeremony, "dealing-invalid", ["entry": "\(at)", "problem": "\(problem)"])
            } else {
                pass(.trusteeCeremony)
                dealings[d.index] = d
            }

        case .verification:
            let (v, hash) = try ShareVerification.decode(payload: entry.payload)
            if hash != electionHash || trustees[v.index].map({ !$0.signingKey.isValidSignature(v.signature, for: v.signedBytes(electionHash: electionHash)) }) ?? true {
                fail(.trusteeCeremony, "verification-unsigned", ["entry": "\(at)", "trustee": "\(v.index)"])
            } else if verifications[v.index] != nil {
                fail(.trusteeCeremony, "verification-twice", ["entry": "\(at)", "trustee": "\(v.index)"])
            } else if dealings.count != manifest.trustees.count || state != .setup {
                fail(.trusteeCeremony, "verification-out-of-order", ["entry": "\(at)", "trustee": "\(v.index)"])
            } else if !v.complaints.isEmpty {
                fail(.trusteeCeremony, "verification-complaint", ["entry": "\(at)", "trustee": "\(v.index)", "complaints": "\(v.complaints)"])
                verifications[v.index] = v
            } else {
                pass(.trusteeCeremony)
                verifications[v.index] = v
            }

        case .electionKey:
            let record = try ElectionKeyRecord.decode(canonical: entry.payload)
            let expected = ElectionKeyRecord.derive(from: dealings.values.sorted { $0.index < $1.index }, trustees: trustees.keys.sorted())
            let accepted = verifications.count == manifest.trustees.count && verifications.values.allSatisfy { $0.complaints.isEmpty }
            if electionKey != nil || dealings.count != manifest.trustees.count || !accepted || expected != record || state != .setup {
                fail(.trusteeCeremony, "election-key-wrong", ["entry": "\(at)", "count": "\(manifest.trustees.count)"])
            } else {
                pass(.trusteeCeremony)
                electionKey = record
            }

        case .station:
            let (s, hash, signature) = try StationRegistration.decode(payload: entry.payload)
            if hash != electionHash || !setup.commissionKey.isValidSignature(signature, for: s.appointmentBytes(electionHash: electionHash)) {
                fail(.supervisedBallots, "station-not-appointed", ["entry": "\(at)", "station": "\(s.index)"])
            } else if s.index < 1 || stations[s.index] != nil || state == .closed {
                fail(.supervisedBallots, "station-twice-or-late", ["entry": "\(at)", "station": "\(s.index)"])
            } else {
                pass(.supervisedBallots)
                stations[s.index] = s
            }

        case .window:
            let w = try WindowChange.decode(canonical: entry.payload)
            let ok = w.isValid(electionHash: electionHash, commissionKey: setup.commissionKey)
            switch (w.action, state) {
            case (.open, .setup) where ok && electionKey != nil && roll.reduce(0, +) > 0:
                state = .open
                openedAt = entry.index
            case (.close, .open) where ok:
                state = .closed
                closedAt = entry.index
            default: fail(.ballotEligibility, "window-order-invalid", ["entry": "\(at)", "action": "\(w.action.rawValue)"])
            }

        case .enrollment:
            let e = try Enrollment.decode(canonical: entry.payload)
            applyEnrollment(e, index: entry.index, at: at)
            if pendingEnrollments.count >= batchSize { await flushEnrollments() }

        case .ballot:
            // Decoded and checked in parallel batches; eligibility uses log positions, so
            // deferring does not change the outcome. The ballot id is claimed now, in log order.
            ballotCount += 1
            let claimedBefore = (try? SignedBallot.header(canonical: entry.payload)).map { !claim($0.ballotID) } ?? false
            pendingBallots.append(PendingBallot(index: entry.index, payload: entry.payload, idClaimedBefore: claimedBefore))
            if pendingBallots.count >= batchSize { await flushBallots() }

        case .spoiled:
            let spoiled = try SpoiledBallot.decode(canonical: entry.payload)
            applySpoiled(spoiled, manifest: manifest, electionHash: electionHash, at: at, index: entry.index)

        case .supervised:
            let ballot = try SupervisedBallot.decode(canonical: entry.payload)
            applySupervised(ballot, manifest: manifest, electionHash: electionHash, at: at, index: entry.index)

        case .reveal:
            let reveal = try SupersessionReveal.decode(canonical: entry.payload)
            await flushBallots()
            for item in reveal.items { applyReveal(item, at: at) }

        case .aggregate:
            await flushBallots()
            if publishedAggregate != nil { fail(.aggregate, "second-aggregate", ["entry": "\(at)"]) }
            publishedAggregate = try TallyAggregate.decode(canonical: entry.payload)
            if state != .closed { fail(.aggregate, "aggregate-before-close", ["entry": "\(at)"]) }
            for (code, info) in supervised where !info.revealed {
                fail(.supervisedBallots, "supervised-never-revealed", ["entry": "\(at)", "code": "\(Self.short(code))"])
            }

        case .decryption:
            let (p, hash) = try PartialDecryption.decode(payload: entry.payload)
            guard let aggregate = publishedAggregate, let record = electionKey, let trustee = trustees[p.index],
                  Int(p.index) >= 1, Int(p.index) <= record.publicShares.count, hash == electionHash else {
                fail(.partialDecryptions, "decryption-unknown", ["entry": "\(at)", "trustee": "\(p.index)"])
                return
            }
            if decryptions[p.index] != nil { fail(.partialDecryptions, "decryption-twice", ["entry": "\(at)", "trustee": "\(p.index)"]) }
            else if let problem = p.problem(electionHash: electionHash, aggregate: aggregate, publicShare: record.publicShares[Int(p.index) - 1], signingKey: trustee.signingKey) {
                fail(.partialDecryptions, "decryption-invalid", ["entry": "\(at)", "problem": "\(problem)"])
            } else {
                pass(.partialDecryptions)
                // Only valid decryptions count, in log order (protocol §13.3).
                decryptions[p.index] = p
                decryptionOrder.append(p.index)
            }

        case .results:
            let signed = try SignedResults.decode(payload: entry.payload)
            if results != nil { fail(.counts, "second-results", ["entry": "\(at)"]) }
            else if publishedAggregate == nil { fail(.counts, "results-without-aggregate", ["entry": "\(at)"]) }
            else if decryptionOrder.count < manifest.trustees.quorum {
                fail(.counts, "results-before-quorum", ["entry": "\(at)", "count": "\(decryptionOrder.count)", "quorum": "\(manifest.trustees.quorum)"])
            }
            if results == nil { results = signed }
        }
    }

    // MARK: check 7

    private func applyEnrollment(_ e: Enrollment, index: UInt64, at: UInt64) {
        let key = Key32(e.voterKey)
        let commitmentKey = Key32(e.commitment)
        let found = commitments.find(commitmentKey)
        let info = found.map { commitments[$0] }
        let firstTime = !voters.contains(key)
        if !firstTime {
            fail(.enrollments, "key-enrolled-twice", ["entry": "\(at)", "key": "\(e.voterKey.hex.prefix(16))"])
        } else if districtIndex[e.district] == nil {
            fail(.enrollments, "enrollment-unknown-district", ["entry": "\(at)", "district": "\(e.district)"])
        } else if state == .closed {
            fail(.enrollments, "enrollment-after-close", ["entry": "\(at)"])
        } else if info == nil || info?.district != districtIndex[e.district] {
            fail(.enrollments, "enrollment-opens-nothing", ["entry": "\(at)", "district": "\(e.district)"])
        } else if info?.status == .used {
            fail(.enrollments, "commitment-used", ["entry": "\(at)", "commitment": "\(e.commitment.hex.prefix(16))"])
        } else if info?.status == .retired {
            fail(.enrollments, "commitment-retired", ["entry": "\(at)", "commitment": "\(e.commitment.hex.prefix(16))"])
        } else if let info, let found, let di = districtIndex[e.district] {
            active[Int(di)] += 1
            let voter = voters.insert(VoterKeyRecord(key: key, district: di, enrolledAt: index, root: info.root)).number
            var opened = info
            opened.status = .used
            opened.opener = Int32(voter)
            commitments[found] = opened
            if active[Int(di)] > roll[Int(di)] {
                fail(.enrollments, "district-over-roll", ["entry": "\(at)", "district": "\(e.district)", "active": "\(active[Int(di)])", "roll": "\(roll[Int(di)])"])
            } else {
                // The code opening and the proof of possession are judged in a batch.
                pendingEnrollments.append(PendingEnrollment(index: index, enrollment: e, salt: info.salt.salt))
            }
            return
        }
        if firstTime, let di = districtIndex[e.district] {
            // A key's first enrollment entry enrolls it for check 8 whatever its verdict here.
            voters.insert(VoterKeyRecord(key: key, district: di, enrolledAt: index, root: -1))
        }
    }

    private func applyReissue(_ r: ReissueEntry, hash: Digest, setup: ElectionSetup, at: UInt64, index: UInt64) {
        let order = r.order
        let old = Key32(order.replaces)
        let found = commitments.find(old)
        let info = found.map { commitments[$0] }
        let opener = info.flatMap { $0.opener >= 0 ? Int($0.opener) : nil }
        let openerKey = opener.map { voters[$0].key }
        if hash != electionHash || !r.isSigned(by: setup.commissionKey) {
            fail(.enrollments, "reissue-unsigned", ["entry": "\(at)"])
        } else if state == .closed {
            fail(.enrollments, "reissue-after-close", ["entry": "\(at)"])
        } else if info == nil || info?.district != districtIndex[order.district] {
            fail(.enrollments, "reissue-unknown-commitment", ["entry": "\(at)", "commitment": "\(order.replaces.hex.prefix(16))", "district": "\(order.district)"])
        } else if info?.status == .retired {
            fail(.enrollments, "reissue-retired", ["entry": "\(at)"])
        } else if commitments.contains(Key32(order.commitment.value)) {
            fail(.enrollments, "reissue-commitment-exists", ["entry": "\(at)"])
        } else if r.revoked.map(Key32.init) != (openerKey.map { [$0] } ?? []) {
            fail(.enrollments, openerKey == nil ? "reissue-revokes-unused" : "reissue-revokes-other",
                 ["entry": "\(at)", "revoked": "\(r.revoked.map { String($0.hex.prefix(16)) })"])
        } else if let opener, voters[opener].hasBallot {
            fail(.enrollments, "reissue-revokes-voter", ["entry": "\(at)"])
        } else if let info, let found {
            pass(.enrollments)
            var retired = info
            retired.status = .retired
            commitments[found] = retired
            commitments.insert(CommitmentRecord(key: Key32(order.commitment.value), salt: Salt16(order.commitment.salt),
                                                district: info.district, root: info.root))
            if let opener, voters[opener].revoked == nil {
                var revoked = voters[opener]
                revoked.revokedAt = index
                voters[opener] = revoked
                active[Int(info.district)] -= 1
            }
        }
    }

    /// Checks the code openings and proofs of possession of the pending enrollments in parallel.
    private func flushEnrollments() async {
        guard !pendingEnrollments.isEmpty, let electionHash else { return }
        let batch = pendingEnrollments
        pendingEnrollments = []
        let workers = parallelism
        let verdicts: [(opens: Bool, signed: Bool)] = await withTaskGroup(of: [(Int, Bool, Bool)].self) { group in
            for w in 0..<workers {
                group.addTask {
                    stride(from: w, to: batch.count, by: workers).map { i in
                        let e = batch[i].enrollment
                        let commitment = CodeCommitment(salt: batch[i].salt, value: e.commitment)
                        return (i, commitment.isOpened(by: e.code, electionHash: electionHash), e.hasValidSignature(electionHash: electionHash))
                    }
                }
            }
            var all = [(opens: Bool, signed: Bool)](repeating: (false, false), count: batch.count)
            for await part in group { for (i, o, s) in part { all[i] = (o, s) } }
            return all
        }
        for (item, verdict) in zip(batch, verdicts) {
            if !verdict.opens {
                fail(.enrollments, "code-does-not-open", ["entry": "\(item.index)", "code": "\(item.enrollment.code)", "commitment": "\(item.enrollment.commitment.hex.prefix(16))"])
            } else if !verdict.signed {
                fail(.enrollments, "enrollment-proof-invalid", ["entry": "\(item.index)", "key": "\(item.enrollment.voterKey.hex.prefix(16))"])
            } else {
                pass(.enrollments)
            }
        }
    }

    // MARK: checks 8-11

    private func applySpoiled(_ spoiled: SpoiledBallot, manifest: ElectionManifest, electionHash: Digest, at: UInt64, index: UInt64) {
        let b = spoiled.ballot
        let code = spoiled.trackingCode.short
        let claimed = claim(b.ballotID)
        guard let district = manifest.district(b.district), let key = electionKey?.key else {
            fail(.spoiledBallots, "spoiled-unknown-district", ["entry": "\(at)"])
            return
        }
        let context = BallotContent.context(electionHash: electionHash, electionKey: key, ballotID: b.ballotID, district: b.district)
        if !insideWindow(index) {
            fail(.spoiledBallots, "spoiled-outside-window", ["entry": "\(at)", "code": "\(code)"])
        } else if b.electionHash != electionHash {
            fail(.spoiledBallots, "spoiled-other-election", ["entry": "\(at)", "code": "\(code)"])
        } else if !claimed {
            fail(.spoiledBallots, "spoiled-id-reused", ["entry": "\(at)", "code": "\(code)"])
        } else if b.content.problem(in: district, context: context) != nil {
            fail(.spoiledBallots, "spoiled-proofs-invalid", ["entry": "\(at)", "code": "\(code)"])
        } else if Selections.problem(spoiled.opening.selections, in: district) != nil || !spoiled.opening.opens(b.content, district: district, electionKey: key) {
            fail(.spoiledBallots, "spoiled-opening-wrong", ["entry": "\(at)", "code": "\(code)"])
        } else { pass(.spoiledBallots) }
    }

    private func applySupervised(_ s: SupervisedBallot, manifest: ElectionManifest, electionHash: Digest, at: UInt64, index: UInt64) {
        let b = s.ballot
        let code = s.trackingCode
        let claimed = claim(b.ballotID)
        guard insideWindow(index) else {
            fail(.supervisedBallots, "supervised-outside-window", ["entry": "\(at)", "code": "\(code.short)"])
            return
        }
        guard let station = stations[s.station] else {
            fail(.supervisedBallots, "supervised-unknown-station", ["entry": "\(at)", "code": "\(code.short)", "station": "\(s.station)"])
            return
        }
        guard b.electionHash == electionHash, s.isSigned(by: station.signingKey) else {
            fail(.supervisedBallots, "supervised-unsigned", ["entry": "\(at)", "code": "\(code.short)", "station": "\(s.station)"])
            return
        }
        guard let district = manifest.district(b.district), let di = districtIndex[b.district] else {
            fail(.supervisedBallots, "supervised-unknown-district", ["entry": "\(at)", "code": "\(code.short)", "district": "\(b.district)"])
            return
        }
        guard claimed else {
            fail(.supervisedBallots, "supervised-id-reused", ["entry": "\(at)", "code": "\(code.short)"])
            return
        }
        pass(.supervisedBallots)
        guard let key = electionKey?.key else {
            fail(.ballotProofs, "supervised-before-key", ["entry": "\(at)"])
            return
        }
        let context = BallotContent.context(electionHash: electionHash, electionKey: key, ballotID: b.ballotID, district: b.district)
        guard b.content.problem(in: district, context: context) == nil else {
            fail(.ballotProofs, "supervised-proof-invalid", ["entry": "\(at)", "code": "\(code.short)"])
            return
        }
        pass(.ballotProofs)
        add(b.content.ciphertexts, district: di)
        supervised[Key32(code.digest)] = SupervisedInfo(district: di, link: s.link)
    }

    private func applyReveal(_ item: SupersessionReveal.Item, at: UInt64) {
        let code = Key32(item.supervised.digest)
        guard state == .closed, publishedAggregate == nil else {
            fail(.supervisedBallots, "reveal-outside-close", ["entry": "\(at)"])
            return
        }
        guard let info = supervised[code], !info.revealed else {
            fail(.supervisedBallots, "reveal-unknown", ["entry": "\(at)", "code": "\(item.supervised.short)"])
            return
        }
        guard SupervisedBallot.link(pseudonym: item.pseudonym, blinding: item.blinding) == info.link else {
            fail(.supervisedBallots, "reveal-link-mismatch", ["entry": "\(at)", "code": "\(item.supervised.short)"])
            return
        }
        let pseudonym = Key32(item.pseudonym)
        guard let rootNumber = commitments.find(pseudonym), commitments[rootNumber].root == Int32(rootNumber),
              commitments[rootNumber].district == info.district else {
            fail(.supervisedBallots, "reveal-not-roll-entry", ["entry": "\(at)", "code": "\(item.supervised.short)", "pseudonym": "\(item.pseudonym.hex.prefix(16))"])
            return
        }
        guard revealedPseudonyms.insert(pseudonym).inserted else {
            fail(.supervisedBallots, "reveal-second", ["entry": "\(at)", "code": "\(item.supervised.short)"])
            return
        }
        let rootRecord = commitments[rootNumber]
        let expected = rootRecord.hasBallot ? rootRecord.ballot : nil
        let stated = item.superseded.map { Key32($0.digest) }
        guard expected == stated else {
            if let expected {
                fail(.supervisedBallots, "reveal-leaves-counted", ["entry": "\(at)", "code": "\(item.supervised.short)", "remote": Self.short(expected)])
            } else {
                fail(.supervisedBallots, "reveal-supersedes-other", ["entry": "\(at)", "code": "\(item.supervised.short)"])
            }
            return
        }
        if stated != nil {
            // The superseded ballot leaves the sum (its bytes hash to the tracking code checked above).
            guard let ballot = try? Ballot.decode(canonical: item.supersededBallot) else {
                fail(.supervisedBallots, "reveal-superseded-undecodable", ["entry": "\(at)"])
                return
            }
            subtract(ballot.content.ciphertexts, district: info.district)
            var superseded = rootRecord
            superseded.hasBallot = false
            commitments[rootNumber] = superseded
        }
        supervised[code]?.revealed = true
        pass(.supervisedBallots)
    }

    private func add(_ ciphertexts: [Ciphertext], district: Int32) {
        let i = Int(district)
        if sums[i] == nil { sums[i] = CiphertextSum(count: ciphertexts.count) }
        sums[i]?.add(ciphertexts)
        counted[i] += 1
    }

    private func subtract(_ ciphertexts: [Ciphertext], district: Int32) {
        let i = Int(district)
        guard sums[i]?.subtract(ciphertexts) == true else { return }
        counted[i] -= 1
    }

    private static func short(_ code: Key32) -> String {
        var bytes: [UInt8] = []
        for w in [code.a, code.b, code.c, code.d] { for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: w >> UInt64(shift))) } }
        return TrackingCode(digest: Digest(trusted: bytes)).short
    }

    private struct BallotCheck: Sendable {
        let ballot: SignedBallot?
        let signed: Bool
        let proofs: Bool
    }

    /// Decodes ballots and checks their signatures, and the proofs of all of them in one batch
    /// (eq. 49: every equation of every ballot weighted and folded into one multi-scalar
    /// multiplication). Only when the batch fails is each ballot checked alone, to name the bad ones.
    private static func checkBallots(_ items: [(Int, [UInt8])], manifest: ElectionManifest, electionHash: Digest,
                                     key: GroupElement?) -> [(Int, BallotCheck)] {
        var results: [(Int, BallotCheck)] = []
        var batched: [(position: Int, content: BallotContent, district: District, context: ProofContext)] = []
        var batch = ProofBatch(electionKey: key)
        batch.reserve(terms: items.count * 70)
        for (i, payload) in items {
            guard let ballot = try? SignedBallot.decode(canonical: payload) else {
                results.append((i, BallotCheck(ballot: nil, signed: false, proofs: false)))
                continue
            }
            let b = ballot.ballot
            let signed = b.electionHash == electionHash && ballot.hasValidSignature
            guard signed, let key, let district = manifest.district(b.district), b.content.shapeProblem(in: district) == nil else {
                results.append((i, BallotCheck(ballot: ballot, signed: signed, proofs: false)))
                continue
            }
            let context = BallotContent.context(electionHash: electionHash, electionKey: key, ballotID: b.ballotID, district: b.district)
            b.content.addEquations(in: district, context: context, to: &batch)
            batched.append((results.count, b.content, district, context))
            results.append((i, BallotCheck(ballot: ballot, signed: true, proofs: true)))
        }
        if !batched.isEmpty && !batch.holds() {
            for item in batched where item.content.problem(in: item.district, context: item.context) != nil {
                let (i, check) = results[item.position]
                results[item.position] = (i, BallotCheck(ballot: check.ballot, signed: true, proofs: false))
            }
        }
        return results
    }

    /// Decodes the pending ballots and checks their signatures and proofs in parallel, then
    /// applies the eligibility rules in log order and adds the counted ones to the sums.
    private func flushBallots() async {
        await flushEnrollments()
        guard !pendingBallots.isEmpty, let setup, let electionHash else { return }
        let batch = pendingBallots
        pendingBallots = []
        let manifest = setup.manifest
        let key = electionKey?.key
        let workers = parallelism
        let checked: [BallotCheck] = await withTaskGroup(of: [(Int, BallotCheck)].self) { group in
            for w in 0..<workers {
                group.addTask {
                    Self.checkBallots(stride(from: w, to: batch.count, by: workers).map { ($0, batch[$0].payload) },
                                      manifest: manifest, electionHash: electionHash, key: key)
                }
            }
            var all = [BallotCheck?](repeating: nil, count: batch.count)
            for await part in group { for (i, c) in part { all[i] = c } }
            return all.map { $0 ?? BallotCheck(ballot: nil, signed: false, proofs: false) }
        }
        for (position, check) in checked.enumerated() {
            let index = batch[position].index
            guard let ballot = check.ballot else {
                fail(.entries, "ballot-undecodable", ["entry": "\(index)"])
                continue
            }
            let b = ballot.ballot
            let voter = Key32(ballot.voterKey)
            let found = voters.find(voter)
            let record = found.map { voters[$0] }
            let code = ballot.trackingCode.short
            if !insideWindow(index) {
                fail(.ballotEligibility, "ballot-outside-window", ["entry": "\(index)", "code": "\(code)"])
            } else if !check.signed {
                fail(.ballotEligibility, "ballot-unsigned", ["entry": "\(index)", "code": "\(code)"])
            } else if record == nil || record?.district != districtIndex[b.district] || (record?.enrolledAt ?? .max) > index {
                fail(.ballotEligibility, "ballot-not-enrolled", ["entry": "\(index)", "code": "\(code)", "district": "\(b.district)"])
            } else if let revoked = record?.revoked, revoked < index {
                fail(.ballotEligibility, "ballot-key-revoked", ["entry": "\(index)", "code": "\(code)", "key": "\(ballot.voterKey.hex.prefix(16))", "reissue": "\(revoked)"])
            } else if record?.hasBallot == true {
                fail(.ballotEligibility, "ballot-second", ["entry": "\(index)", "key": "\(ballot.voterKey.hex.prefix(16))"])
            } else if batch[position].idClaimedBefore {
                fail(.ballotEligibility, "ballot-id-reused", ["entry": "\(index)", "code": "\(code)"])
            } else if var record, let found {
                pass(.ballotEligibility)
                record.hasBallot = true
                voters[found] = record
                if key == nil {
                    fail(.ballotProofs, "ballot-before-key", ["entry": "\(index)"])
                } else if check.proofs {
                    pass(.ballotProofs)
                    add(b.content.ciphertexts, district: record.district)
                    if record.root >= 0 {
                        var root = commitments[Int(record.root)]
                        root.ballot = Key32(ballot.trackingCode.digest)
                        root.hasBallot = true
                        commitments[Int(record.root)] = root
                    }
                } else {
                    fail(.ballotProofs, "ballot-proof-invalid", ["entry": "\(index)", "code": "\(code)"])
                }
            }
        }
        onProgress?(ballotCount)
    }

    // MARK: conclusions

    public func finish() async -> AuditReport {
        await flushBallots()
        await flushEnrollments()
        if headerHash == nil { fail(.entries, "record-no-header") }
        if let end = expectedEnd {
            if end.entries != frontier.size || end.checkpoints != checkpointCount {
                fail(.checkpointConsistency, "record-end-mismatch", ["entries": "\(end.entries)", "checkpoints": "\(end.checkpoints)", "held_entries": "\(frontier.size)", "held_checkpoints": "\(checkpointCount)"])
            }
        } else {
            fail(.checkpointConsistency, "record-no-end")
        }
        if lastCheckpoint?.treeSize != frontier.size {
            fail(.checkpointConsistency, "no-final-checkpoint", ["entries": "\(frontier.size)"])
        }
        if setup == nil { fail(.manifest, "record-no-setup") }
        if let manifest = setup?.manifest {
            if electionKey == nil { fail(.trusteeCeremony, "no-election-key") }
            if trustees.count != manifest.trustees.count { fail(.trusteeCeremony, "trustees-missing", ["registered": "\(trustees.count)", "needed": "\(manifest.trustees.count)"]) }
            concludeTally(manifest)
        }
        let checks = AuditCheck.allCases.map { check -> AuditCheckResult in
            let t = tallies[check] ?? Tally()
            return AuditCheckResult(number: check.rawValue, name: check.name, passed: t.failures.isEmpty, examined: t.examined,
                                    details: t.failures, moreFailures: t.more)
        }
        return AuditReport(electionHash: electionHash, entries: frontier.size, ballots: ballotCount, checks: checks)
    }

    private func concludeTally(_ manifest: ElectionManifest) {
        guard let published = publishedAggregate else {
            if state == .closed { fail(.aggregate, "no-aggregate") }
            if results != nil { fail(.counts, "results-no-aggregate") }
            return
        }
        let recomputed = TallyAggregate(districts: manifest.districts.enumerated().map { i, d in
            TallyAggregate.District(district: d.id, ballots: UInt32(counted[i]), ciphertexts: counted[i] > 0 ? (sums[i]?.ciphertexts() ?? []) : [])
        })
        if recomputed == published { pass(.aggregate) } else {
            let wrong = zip(recomputed.districts, published.districts).filter { $0 != $1 }.map(\.0.district)
            fail(.aggregate, "aggregate-mismatch", ["districts": "\(wrong.isEmpty ? ["(shape)"] : wrong)"])
        }
        for (i, d) in manifest.districts.enumerated() where counted[i] > roll[i] {
            fail(.aggregate, "district-counts-over-roll", ["district": "\(d.id)", "counted": "\(counted[i])", "roll": "\(roll[i])"])
        }
        guard let signed = results else {
            if decryptionOrder.count >= manifest.trustees.quorum {
                fail(.counts, "quorum-without-results")
            }
            return
        }
        if let setup, signed.isValid(serverKey: setup.serverKey) { pass(.resultsSignature) } else {
            fail(.resultsSignature, "results-unsigned")
        }
        let firstValid = Array(decryptionOrder.prefix(manifest.trustees.quorum)).sorted()
        let quorum = firstValid.compactMap { decryptions[$0] }
        guard quorum.count == manifest.trustees.quorum, signed.results.quorum == firstValid else {
            fail(.counts, "results-wrong-quorum", ["named": "\(signed.results.quorum)", "quorum": "\(manifest.trustees.quorum)", "first": "\(firstValid)"])
            return
        }
        let rollSizes = Dictionary(manifest.districts.enumerated().map { ($1.id, UInt32(clamping: roll[$0])) }, uniquingKeysWith: { a, _ in a })
        guard let combined = ElectionResults.combine(manifest: manifest, aggregate: published, partials: quorum, roll: rollSizes) else {
            fail(.counts, "decryptions-do-not-combine")
            return
        }
        for (mine, theirs) in zip(combined.districts, signed.results.districts) {
            if mine.district == theirs.district && mine.counts == theirs.counts && mine.ballots == theirs.ballots && mine.roll == theirs.roll {
                pass(.counts)
            } else {
                fail(.counts, "counts-mismatch", ["district": "\(theirs.district)", "counts": "\(theirs.counts)", "ballots": "\(theirs.ballots)", "roll": "\(theirs.roll)", "computed": "\(mine.counts)", "computed_ballots": "\(mine.ballots)", "computed_roll": "\(mine.roll)"])
            }
            guard let district = manifest.district(theirs.district) else { continue }
            guard theirs.counts.count == district.options.count else {
                fail(.winners, "counts-shape", ["district": "\(theirs.district)", "counts": "\(theirs.counts.count)", "options": "\(district.options.count)"])
                continue
            }
            let (elected, tied) = ElectionResults.winners(district: district, counts: theirs.counts, ballots: theirs.ballots)
            if elected == theirs.elected && tied == theirs.tied { pass(.winners) } else {
                fail(.winners, "winners-mismatch", ["district": "\(theirs.district)", "elected": "\(theirs.elected)", "tied": "\(theirs.tied)", "computed_elected": "\(elected)", "computed_tied": "\(tied)"])
            }
        }
        if combined.districts.count != signed.results.districts.count { fail(.counts, "results-district-count", ["listed": "\(signed.results.districts.count)", "manifest": "\(combined.districts.count)"]) }
    }
}
