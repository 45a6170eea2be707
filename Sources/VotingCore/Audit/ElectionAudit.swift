/// The numbered checks of docs/verification.md.
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
        case .trusteeCeremony: return "trustee ceremony and election key"
        case .enrollments: return "enrollments unique and within the roll"
        case .ballotEligibility: return "ballots signed by enrolled voters, one each, while open"
        case .ballotProofs: return "ballot proofs"
        case .spoiledBallots: return "spoiled ballots open and are not counted"
        case .aggregate: return "aggregate equals the sum of counted ballots"
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

/// Verifies an election record streamed in order (docs/verification.md). Memory holds the
/// per-voter sets and per-option sums, never the ballots; ballot proofs are checked in
/// parallel batches. Uses only VotingCore and the record: no server code.
public final class ElectionAudit {
    private struct Tally {
        var examined = 0
        var failures: [String] = []
        var more = 0
        mutating func pass() { examined += 1 }
        mutating func fail(_ why: String) {
            examined += 1
            if failures.count < 20 { failures.append(why) } else { more += 1 }
        }
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

    private var roll: [String: Int] = [:]
    private var trustees: [UInt32: TrusteeRegistration] = [:]
    private var dealings: [UInt32: DealerPublication] = [:]
    private var verifications: [UInt32: ShareVerification] = [:]
    private var electionKey: ElectionKeyRecord?
    private var enrolled: [[UInt8]: String] = [:]
    private var enrolledPerDistrict: [String: Int] = [:]
    private var voted: Set<[UInt8]> = []
    private var castCodes: Set<Digest> = []
    private var spoiledCodes: Set<Digest> = []
    private var sums: [String: [Ciphertext]] = [:]
    private var ballotsPerDistrict: [String: Int] = [:]
    private var publishedAggregate: TallyAggregate?
    private var decryptions: [UInt32: PartialDecryption] = [:]
    private var decryptionOrder: [UInt32] = []
    private var results: SignedResults?
    private var pendingBallots: [(index: UInt64, payload: [UInt8])] = []
    private var enrolledAt: [[UInt8]: UInt64] = [:]
    private var openedAt: UInt64?
    private var closedAt: UInt64?
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
    private func fail(_ check: AuditCheck, _ why: String) { tallies[check, default: Tally()].fail(why) }

    // MARK: streaming

    /// A record line that is not valid JSON of a known item.
    public func malformedLine(_ number: Int, _ error: any Error) {
        fail(.entries, "record line \(number) is malformed: \(error)")
    }

    public func consume(_ item: RecordItem) async {
        switch item {
        case .header(let header):
            guard header.format == RecordItem.format else {
                fail(.entries, "the record format is \(header.format), not \(RecordItem.format)")
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
                fail(.checkpointSignatures, "checkpoint of size \(cp.treeSize) is not signed by the election's server key for this election")
            }
        } else {
            fail(.checkpointSignatures, "checkpoint of size \(cp.treeSize) appears before the election setup entry")
        }
        if cp.treeSize == frontier.size {
            if cp.rootHash == frontier.root { pass(.logRoot) } else {
                fail(.logRoot, "checkpoint of size \(cp.treeSize) has root \(cp.rootHash.hex.prefix(16))…, the entries give \(frontier.root.hex.prefix(16))…")
            }
        } else {
            fail(.logRoot, "checkpoint of size \(cp.treeSize) is placed after entry \(Int(frontier.size) - 1); it must follow entry \(Int(cp.treeSize) - 1)")
        }
        if let last = lastCheckpoint {
            // Only sizes must grow: the server's clock is not required to be monotonic (protocol §5.3).
            if cp.treeSize > last.treeSize { pass(.checkpointConsistency) } else {
                fail(.checkpointConsistency, "checkpoint of size \(cp.treeSize) does not extend the previous one (size \(last.treeSize))")
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
            fail(.entries, "entry \(position) does not decode: \(error)")
            return
        }
        guard entry.index == position, body.index == position, entry.kind == body.kind else {
            fail(.entries, "entry at position \(position) says index \(entry.index) and kind \(entry.kind.rawValue)")
            return
        }
        if position == 0 {
            consumeSetup(entry)
            return
        }
        guard let setup, let electionHash else {
            fail(.entries, "entry \(position) comes without a valid election setup in entry 0")
            return
        }
        guard entry.electionHash == electionHash else {
            fail(.entries, "entry \(position) names another election")
            return
        }
        pass(.entries)
        do {
            try await apply(entry, setup: setup, electionHash: electionHash)
        } catch {
            fail(.entries, "entry \(position) (\(entry.kind.rawValue)) has a payload that does not decode: \(error)")
        }
    }

    private func consumeSetup(_ entry: LogEntry) {
        guard entry.kind == .election, let setup = try? ElectionSetup.decode(canonical: entry.payload) else {
            fail(.manifest, "entry 0 is not the election setup")
            return
        }
        let hash = setup.manifest.electionHash
        let problems = setup.manifest.problems()
        if entry.electionHash != hash { fail(.manifest, "entry 0 names election \(entry.electionHash.hex.prefix(16))…, its manifest hashes to \(hash.hex.prefix(16))…") }
        else if let header = headerHash, header != hash { fail(.manifest, "the record header names another election than its manifest") }
        else if !problems.isEmpty { fail(.manifest, "the manifest is invalid: \(problems.joined(separator: "; "))") }
        else { pass(.manifest) }
        self.setup = setup
        electionHash = hash
        pass(.entries)
    }

    private func apply(_ entry: LogEntry, setup: ElectionSetup, electionHash: Digest) async throws {
        let manifest = setup.manifest
        switch entry.kind {
        case .election:
            fail(.entries, "entry \(entry.index) is a second election setup")
        case .roll:
            let counts = try RollImport.decode(canonical: entry.payload).counts
            if state != .setup { fail(.enrollments, "entry \(entry.index): voters added to the roll after voting opened") }
            for c in counts { roll[c.district, default: 0] += c.voters }
        case .trustee:
            let r = try TrusteeRegistration.decode(canonical: entry.payload)
            if trustees[r.index] != nil || r.index < 1 || Int(r.index) > manifest.trustees.count || state != .setup {
                fail(.trusteeCeremony, "entry \(entry.index) registers trustee \(r.index) twice, out of range or after opening")
            }
            trustees[r.index] = r
        case .dealing:
            let (d, hash) = try DealerPublication.decode(payload: entry.payload)
            let registered = trustees.values.sorted { $0.index < $1.index }
            if hash != electionHash || dealings[d.index] != nil {
                fail(.trusteeCeremony, "entry \(entry.index): dealing of trustee \(d.index) is repeated or for another election")
            } else if let problem = d.problem(electionHash: electionHash, quorum: manifest.trustees.quorum, trustees: registered) {
                fail(.trusteeCeremony, "entry \(entry.index): \(problem)")
            } else { pass(.trusteeCeremony) }
            dealings[d.index] = d
        case .verification:
            let (v, hash) = try ShareVerification.decode(payload: entry.payload)
            if hash != electionHash || trustees[v.index].map({ !$0.signingKey.isValidSignature(v.signature, for: v.signedBytes(electionHash: electionHash)) }) ?? true {
                fail(.trusteeCeremony, "entry \(entry.index): verification of trustee \(v.index) is not signed by its registered key")
            } else if !v.complaints.isEmpty {
                fail(.trusteeCeremony, "entry \(entry.index): trustee \(v.index) complained about trustee(s) \(v.complaints)")
            } else { pass(.trusteeCeremony) }
            verifications[v.index] = v
        case .electionKey:
            let record = try ElectionKeyRecord.decode(canonical: entry.payload)
            let expected = ElectionKeyRecord.derive(from: dealings.values.sorted { $0.index < $1.index }, trustees: trustees.keys.sorted())
            if dealings.count != manifest.trustees.count || verifications.count != manifest.trustees.count || expected != record || electionKey != nil {
                fail(.trusteeCeremony, "entry \(entry.index): the election key is not the one derived from all \(manifest.trustees.count) accepted dealings")
            } else { pass(.trusteeCeremony) }
            electionKey = record
        case .window:
            let w = try WindowChange.decode(canonical: entry.payload)
            let ok = w.isValid(electionHash: electionHash, commissionKey: setup.commissionKey)
            switch (w.action, state) {
            case (.open, .setup) where ok && electionKey != nil:
                state = .open
                openedAt = entry.index
            case (.close, .open) where ok:
                state = .closed
                closedAt = entry.index
            default: fail(.ballotEligibility, "entry \(entry.index): window order \(w.action.rawValue) is unsigned, out of order or before the election key")
            }
        case .enrollment:
            let e = try Enrollment.decode(canonical: entry.payload)
            let key = e.voterKey.rawRepresentation
            if enrolled[key] != nil { fail(.enrollments, "entry \(entry.index): key \(e.voterKey.hex.prefix(16))… enrolled twice") }
            else if manifest.district(e.district) == nil { fail(.enrollments, "entry \(entry.index): district \(e.district) is not in the manifest") }
            else if state == .closed { fail(.enrollments, "entry \(entry.index): enrollment after the close") }
            else {
                enrolledPerDistrict[e.district, default: 0] += 1
                if enrolledPerDistrict[e.district, default: 0] > roll[e.district, default: 0] {
                    fail(.enrollments, "entry \(entry.index): district \(e.district) now has \(enrolledPerDistrict[e.district, default: 0]) enrolled keys but \(roll[e.district, default: 0]) voters on the roll")
                } else { pass(.enrollments) }
            }
            if enrolled[key] == nil {
                enrolled[key] = e.district
                enrolledAt[key] = entry.index
            }
        case .ballot:
            // Decoded and checked in parallel batches; eligibility uses log positions, so
            // deferring does not change the outcome (enrollments are never removed).
            ballotCount += 1
            pendingBallots.append((entry.index, entry.payload))
            if pendingBallots.count >= batchSize { await flushBallots() }
        case .spoiled:
            let spoiled = try SpoiledBallot.decode(canonical: entry.payload)
            let b = spoiled.ballot.ballot
            guard let district = manifest.district(b.district), let key = electionKey?.key else {
                fail(.spoiledBallots, "entry \(entry.index): spoiled ballot for an unknown district or before the election key")
                return
            }
            let context = BallotContent.context(electionHash: electionHash, electionKey: key, voterKey: b.voterKey, district: b.district)
            if state != .open {
                fail(.spoiledBallots, "entry \(entry.index): spoiled ballot \(spoiled.ballot.trackingCode.short) logged while the election was \(state.rawValue)")
            } else if !spoiled.ballot.hasValidSignature || b.electionHash != electionHash || enrolled[b.voterKey.rawRepresentation] != b.district {
                fail(.spoiledBallots, "entry \(entry.index): spoiled ballot \(spoiled.ballot.trackingCode.short) is not from an enrolled voter of its district")
            } else if b.content.problem(in: district, context: context) != nil {
                fail(.spoiledBallots, "entry \(entry.index): spoiled ballot \(spoiled.ballot.trackingCode.short) has proofs that do not verify")
            } else if Selections.problem(spoiled.opening.selections, in: district) != nil || !spoiled.opening.opens(b.content, district: district, electionKey: key) {
                fail(.spoiledBallots, "entry \(entry.index): spoiled ballot \(spoiled.ballot.trackingCode.short) does not open to the choice it claims")
            } else { pass(.spoiledBallots) }
            spoiledCodes.insert(spoiled.ballot.trackingCode.digest)
        case .aggregate:
            await flushBallots()
            if publishedAggregate != nil { fail(.aggregate, "entry \(entry.index): a second aggregate") }
            publishedAggregate = try TallyAggregate.decode(canonical: entry.payload)
            if state != .closed { fail(.aggregate, "entry \(entry.index): the aggregate was published before the close") }
        case .decryption:
            let (p, hash) = try PartialDecryption.decode(payload: entry.payload)
            guard let aggregate = publishedAggregate, let record = electionKey, let trustee = trustees[p.index],
                  Int(p.index) >= 1, Int(p.index) <= record.publicShares.count, hash == electionHash else {
                fail(.partialDecryptions, "entry \(entry.index): partial decryption of trustee \(p.index) before the aggregate or from an unknown trustee")
                return
            }
            if decryptions[p.index] != nil { fail(.partialDecryptions, "entry \(entry.index): trustee \(p.index) decrypted twice") }
            else if let problem = p.problem(electionHash: electionHash, aggregate: aggregate, publicShare: record.publicShares[Int(p.index) - 1], signingKey: trustee.signingKey) {
                fail(.partialDecryptions, "entry \(entry.index): \(problem)")
            } else {
                pass(.partialDecryptions)
                // Only valid decryptions count, in log order (protocol §13.3).
                decryptions[p.index] = p
                decryptionOrder.append(p.index)
            }
        case .results:
            let signed = try SignedResults.decode(payload: entry.payload)
            if results != nil { fail(.counts, "entry \(entry.index): a second results entry") }
            else if publishedAggregate == nil { fail(.counts, "entry \(entry.index): results published without an aggregate") }
            else if decryptionOrder.count < setup.manifest.trustees.quorum {
                fail(.counts, "entry \(entry.index): results published after \(decryptionOrder.count) valid partial decryptions; the quorum is \(setup.manifest.trustees.quorum)")
            }
            if results == nil { results = signed }
        }
    }

    private struct BallotCheck: Sendable {
        let ballot: SignedBallot?
        let signed: Bool
        let proofs: Bool
    }

    /// Decodes the pending ballots and checks their signatures and proofs in parallel, then
    /// applies the eligibility rules in log order and adds the counted ones to the sums.
    private func flushBallots() async {
        guard !pendingBallots.isEmpty, let setup, let electionHash else { return }
        let batch = pendingBallots
        pendingBallots = []
        let manifest = setup.manifest
        let key = electionKey?.key
        let workers = parallelism
        let checked: [BallotCheck] = await withTaskGroup(of: [(Int, BallotCheck)].self) { group in
            for w in 0..<workers {
                group.addTask {
                    stride(from: w, to: batch.count, by: workers).map { i in
                        guard let ballot = try? SignedBallot.decode(canonical: batch[i].payload) else {
                            return (i, BallotCheck(ballot: nil, signed: false, proofs: false))
                        }
                        let b = ballot.ballot
                        let signed = b.electionHash == electionHash && ballot.hasValidSignature
                        guard signed, let key, let district = manifest.district(b.district) else {
                            return (i, BallotCheck(ballot: ballot, signed: signed, proofs: false))
                        }
                        let context = BallotContent.context(electionHash: electionHash, electionKey: key, voterKey: b.voterKey, district: b.district)
                        return (i, BallotCheck(ballot: ballot, signed: true, proofs: b.content.problem(in: district, context: context) == nil))
                    }
                }
            }
            var all = [BallotCheck?](repeating: nil, count: batch.count)
            for await part in group { for (i, c) in part { all[i] = c } }
            return all.map { $0 ?? BallotCheck(ballot: nil, signed: false, proofs: false) }
        }
        var byDistrict: [String: [[Ciphertext]]] = [:]
        for (position, check) in checked.enumerated() {
            let index = batch[position].index
            guard let ballot = check.ballot else {
                fail(.entries, "entry \(index) (ballot) has a payload that does not decode")
                continue
            }
            let b = ballot.ballot
            let voter = b.voterKey.rawRepresentation
            let open = openedAt.map { $0 < index } ?? false
            let notClosed = closedAt.map { index < $0 } ?? true
            if !open || !notClosed {
                fail(.ballotEligibility, "entry \(index): ballot \(ballot.trackingCode.short) logged outside the voting window")
            } else if !check.signed {
                fail(.ballotEligibility, "entry \(index): ballot \(ballot.trackingCode.short) is not validly signed for this election")
            } else if enrolled[voter] != b.district || (enrolledAt[voter].map { $0 > index } ?? true) {
                fail(.ballotEligibility, "entry \(index): ballot \(ballot.trackingCode.short) is not from a key enrolled in district \(b.district) before it")
            } else if voted.contains(voter) {
                fail(.ballotEligibility, "entry \(index): a second ballot from key \(b.voterKey.hex.prefix(16))…")
            } else {
                pass(.ballotEligibility)
                voted.insert(voter)
                castCodes.insert(ballot.trackingCode.digest)
                if key == nil {
                    fail(.ballotProofs, "entry \(index): a ballot before the election key was published")
                } else if check.proofs {
                    pass(.ballotProofs)
                    byDistrict[b.district, default: []].append(b.content.ciphertexts)
                } else {
                    fail(.ballotProofs, "entry \(index): ballot \(ballot.trackingCode.short) has a proof that does not verify or the wrong shape")
                }
            }
        }
        for (district, rows) in byDistrict {
            ballotsPerDistrict[district, default: 0] += rows.count
            let width = rows[0].count
            guard rows.allSatisfy({ $0.count == width }) else { continue }
            let partial = (0..<width).map { o in Ciphertext.sum(rows.lazy.map { $0[o] }) }
            sums[district] = sums[district].map { zip($0, partial).map { $0 + $1 } } ?? partial
        }
        onProgress?(ballotCount)
    }

    // MARK: conclusions

    public func finish() async -> AuditReport {
        await flushBallots()
        if headerHash == nil { fail(.entries, "the record has no header line") }
        if let end = expectedEnd {
            if end.entries != frontier.size || end.checkpoints != checkpointCount {
                fail(.checkpointConsistency, "the record says \(end.entries) entries and \(end.checkpoints) checkpoints, it holds \(frontier.size) and \(checkpointCount)")
            }
        } else {
            fail(.checkpointConsistency, "the record has no end line: it may be truncated")
        }
        if lastCheckpoint?.treeSize != frontier.size {
            fail(.checkpointConsistency, "no signed checkpoint covers all \(frontier.size) entries")
        }
        if setup == nil { fail(.manifest, "the record has no election setup entry") }
        if let manifest = setup?.manifest {
            if electionKey == nil { fail(.trusteeCeremony, "no election key was published") }
            if trustees.count != manifest.trustees.count { fail(.trusteeCeremony, "\(trustees.count) trustees registered, the manifest needs \(manifest.trustees.count)") }
            for code in spoiledCodes where castCodes.contains(code) {
                fail(.spoiledBallots, "a spoiled (opened) ballot was also counted")
            }
            concludeTally(manifest)
        }
        let checks = AuditCheck.allCases.map { check -> AuditCheckResult in
            let t = tallies[check] ?? Tally()
            return AuditCheckResult(number: check.rawValue, name: check.name, passed: t.failures.isEmpty, examined: t.examined,
                                    failures: t.failures, moreFailures: t.more)
        }
        return AuditReport(electionHash: electionHash, entries: frontier.size, ballots: ballotCount, checks: checks)
    }

    private func concludeTally(_ manifest: ElectionManifest) {
        guard let published = publishedAggregate else {
            if state == .closed { fail(.aggregate, "the election closed but no aggregate was published") }
            if results != nil { fail(.counts, "results were published but no aggregate") }
            return
        }
        let recomputed = TallyAggregate(districts: manifest.districts.map { d in
            TallyAggregate.District(district: d.id, ballots: UInt32(ballotsPerDistrict[d.id] ?? 0), ciphertexts: sums[d.id] ?? [])
        })
        if recomputed == published { pass(.aggregate) } else {
            let wrong = zip(recomputed.districts, published.districts).filter { $0 != $1 }.map(\.0.district)
            fail(.aggregate, "the published aggregate differs from the sum of the counted ballots in district(s) \(wrong.isEmpty ? ["(shape)"] : wrong)")
        }
        guard let signed = results else {
            if decryptionOrder.count >= manifest.trustees.quorum {
                fail(.counts, "a quorum of valid partial decryptions was published but no results (protocol §5.2)")
            }
            return
        }
        if let setup, signed.isValid(serverKey: setup.serverKey) { pass(.resultsSignature) } else {
            fail(.resultsSignature, "the results are not signed by the election's server key")
        }
        let firstValid = Array(decryptionOrder.prefix(manifest.trustees.quorum)).sorted()
        let quorum = firstValid.compactMap { decryptions[$0] }
        guard quorum.count == manifest.trustees.quorum, signed.results.quorum == firstValid else {
            fail(.counts, "the results name trustees \(signed.results.quorum); the first \(manifest.trustees.quorum) valid partial decryptions in the log are from \(firstValid)")
            return
        }
        guard let combined = ElectionResults.combine(manifest: manifest, aggregate: published, partials: quorum, roll: roll.mapValues { UInt32($0) }) else {
            fail(.counts, "the quorum's partial decryptions do not combine into counts")
            return
        }
        for (mine, theirs) in zip(combined.districts, signed.results.districts) {
            if mine.district == theirs.district && mine.counts == theirs.counts && mine.ballots == theirs.ballots && mine.roll == theirs.roll {
                pass(.counts)
            } else {
                fail(.counts, "district \(theirs.district): published counts \(theirs.counts) (ballots \(theirs.ballots), roll \(theirs.roll)), the decryptions give \(mine.counts) (ballots \(mine.ballots), roll \(mine.roll))")
            }
            guard let district = manifest.district(theirs.district) else { continue }
            let (elected, tied) = ElectionResults.winners(options: district.options.map(\.id), counts: theirs.counts, seats: district.seats)
            if elected == theirs.elected && tied == theirs.tied { pass(.winners) } else {
                fail(.winners, "district \(theirs.district): published elected \(theirs.elected), tied \(theirs.tied); the counts give elected \(elected), tied \(tied)")
            }
        }
        if combined.districts.count != signed.results.districts.count { fail(.counts, "the results list \(signed.results.districts.count) districts, the manifest \(combined.districts.count)") }
    }
}
