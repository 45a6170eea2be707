import ArgumentParser
import Foundation
import VoterKit
import Synchronization
import VotingCore
#if canImport(Glibc)
import Glibc
#endif

/// `ballot-server bench-audit`: writes a synthetic but fully valid election record of N
/// encrypted 11-option ballots (real keys, signatures, proofs, ceremony, tally), then times
/// `voter audit --record` on it in a child process (peak memory from the kernel) against
/// the raw in-process proof verification rate on all cores, measured in the same run.
struct BenchAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-audit",
        abstract: "Benchmark `voter audit` on a generated N-ballot record (run with -c release).")

    @Option(help: "Ballots in the generated record.")
    var ballots = 100_000
    @Option(help: "Keep the generated record here instead of a temporary file.")
    var record: String?
    @Flag(help: "Keep the generated record even when it went to a temporary file (its path is printed).")
    var keepRecord = false
    @Flag(help: "Write the record (to --record) and stop: no audit, no raw rates.")
    var generateOnly = false
    @Option(help: "Audit this existing record instead of generating one (the raw rates use its first 512 ballots); the file is kept.")
    var auditRecord: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (10...2_000_000).contains(ballots) else { throw ValidationError("--ballots must be 10 to 2000000") }
        if generateOnly && record == nil { throw ValidationError("--generate-only needs --record PATH") }
        if generateOnly && auditRecord != nil { throw ValidationError("--generate-only and --audit-record exclude each other") }
    }

    struct GeneratedRecord: Encodable {
        let ballots: Int
        let path: String
        let recordBytes: Int
        let generationSeconds: Double
        enum CodingKeys: String, CodingKey {
            case ballots, path
            case recordBytes = "record_bytes", generationSeconds = "generation_s"
        }
    }

    struct Result: Encodable {
        let ballots: Int
        let options: Int
        let recordBytes: Int
        let generationSeconds: Double
        let auditSeconds: Double
        let auditBallotsPerSecond: Double
        let rawBatchChecksPerSecondAllCores: Double
        let rawProofChecksPerSecondAllCores: Double
        let openSSLBatchChecksPerSecondAllCores: Double
        /// Voters per second for everything cryptographic the audit must do per voter, raw:
        /// the enrollment's code opening (PBKDF2) and proof of possession (Ed25519), and the
        /// ballot's batch check (signature and proofs); on every core, no I/O, no parsing.
        let rawAllChecksPerSecondAllCores: Double?
        let ratio: Double
        /// audit ballots/s over `rawAllChecksPerSecondAllCores`: what the audit spends beyond its
        /// cryptography (reading, parsing, the log's hashes, the tables).
        let ratioToAllChecks: Double?
        let auditPeakMemoryMiB: Double
        let auditPassed: Bool
        let cores: Int
        enum CodingKeys: String, CodingKey {
            case ballots, options, cores, ratio
            case recordBytes = "record_bytes", generationSeconds = "generation_s", auditSeconds = "audit_s"
            case auditBallotsPerSecond = "audit_ballots_per_second", rawProofChecksPerSecondAllCores = "raw_proof_checks_per_second_all_cores"
            case rawBatchChecksPerSecondAllCores = "raw_batch_checks_per_second_all_cores"
            case openSSLBatchChecksPerSecondAllCores = "openssl_batch_checks_per_second_all_cores"
            case rawAllChecksPerSecondAllCores = "raw_all_checks_per_second_all_cores", ratioToAllChecks = "ratio_to_all_checks"
            case auditPeakMemoryMiB = "audit_peak_memory_mib", auditPassed = "audit_passed"
        }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            #if DEBUG
            if !output.json { print("warning: this is a debug build; run `swift run -c release ballot-server bench-audit` for real figures") }
            #endif
            let path = auditRecord ?? record ?? FileManager.default.temporaryDirectory.appendingPathComponent("ballot-record-\(UUID().uuidString).jsonl").path
            // A temporary record always goes; a named one is kept (as before), an existing one is never touched.
            let keep = auditRecord != nil || record != nil || keepRecord
            defer { if !keep { try? FileManager.default.removeItem(atPath: path) } }
            let cores = ProcessInfo.processInfo.activeProcessorCount
            let started = ContinuousClock.now
            let (bytes, sample): (Int, SyntheticRecord.Sample)
            if let auditRecord {
                (bytes, sample) = try SyntheticRecord.sample(record: auditRecord)
            } else {
                (bytes, sample) = try await SyntheticRecord.write(ballots: ballots, to: path, parallelism: cores, progress: !output.json)
            }
            let generation = auditRecord == nil ? (ContinuousClock.now - started).seconds : 0
            if generateOnly {
                reporter.emit(GeneratedRecord(ballots: ballots, path: path, recordBytes: bytes, generationSeconds: generation)) {
                    "bench-audit: wrote \(ballots) ballots to \(path), \(bytes / 1_048_576) MiB, in \(String(format: "%.1f", generation)) s"
                }
                return
            }

            let voter = currentExecutable().deletingLastPathComponent().appendingPathComponent("voter")
            let auditStarted = ContinuousClock.now
            let (status, report, peakKiB) = try Self.runAudit(voter: voter, record: path)
            let audited = auditRecord == nil ? ballots : (report?.ballots ?? 0)
            let auditSeconds = (ContinuousClock.now - auditStarted).seconds
            let peak = Double(peakKiB) / 1024
            // Raw (after the audit, so the record's write-back is over): the same checks in process on every core, no I/O, no parsing: each core checks
            // its share of the sample's ballots (signatures, then all their proofs in one batch,
            // as the auditor does), and separately each ballot alone (the server's worst case).
            let share = max(1, sample.ballots.count / cores)
            let rounds = 8
            let rawStarted = ContinuousClock.now
            let batchesHeld = await withTaskGroup(of: Bool.self) { group in
                for c in 0..<cores {
                    group.addTask {
                        let mine = Array(sample.ballots.dropFirst(c * share).prefix(share))
                        return (0..<rounds).allSatisfy { _ in sample.checkBatch(mine) }
                    }
                }
                return await group.allSatisfy { $0 }
            }
            let rawRate = Double(cores * share * rounds) / (ContinuousClock.now - rawStarted).seconds
            let singleStarted = ContinuousClock.now
            await withTaskGroup(of: Void.self) { group in
                for c in 0..<cores {
                    group.addTask { for b in sample.ballots.dropFirst(c * share).prefix(share) { _ = sample.checkOne(b) } }
                }
            }
            let singleRate = Double(cores * share) / (ContinuousClock.now - singleStarted).seconds
            let openSSLStarted = ContinuousClock.now
            let openSSLHeld = await withTaskGroup(of: Bool.self) { group in
                for c in 0..<cores {
                    group.addTask { sample.checkBatch(Array(sample.ballots.dropFirst(c * share).prefix(share)), openSSL: true) }
                }
                return await group.allSatisfy { $0 }
            }
            let openSSLRate = Double(cores * share) / (ContinuousClock.now - openSSLStarted).seconds
            guard openSSLHeld else { throw CommandError("bench", "the sample ballots failed the OpenSSL batch check") }
            // Everything per voter: the enrollment's two checks, then the ballots' batch check.
            let voters = min(sample.enrollments.count, sample.ballots.count)
            let voterShare = voters / cores
            var allRate: Double?
            if voterShare > 0 {
                let allStarted = ContinuousClock.now
                let allHeld = await withTaskGroup(of: Bool.self) { group in
                    for c in 0..<cores {
                        group.addTask {
                            let ballots = Array(sample.ballots.dropFirst(c * voterShare).prefix(voterShare))
                            let enrollments = sample.enrollments.dropFirst(c * voterShare).prefix(voterShare)
                            return (0..<rounds).allSatisfy { _ in enrollments.allSatisfy(sample.checkEnrollment) && sample.checkBatch(ballots) }
                        }
                    }
                    return await group.allSatisfy { $0 }
                }
                guard allHeld else { throw CommandError("bench", "the sample enrollments or ballots failed their raw checks") }
                allRate = Double(cores * voterShare * rounds) / (ContinuousClock.now - allStarted).seconds
            }
            guard batchesHeld else { throw CommandError("bench", "the sample ballots failed the raw batch check") }

            let rate = Double(audited) / auditSeconds
            let result = Result(ballots: audited, options: sample.options, recordBytes: bytes, generationSeconds: generation,
                                auditSeconds: auditSeconds, auditBallotsPerSecond: rate, rawBatchChecksPerSecondAllCores: rawRate,
                                rawProofChecksPerSecondAllCores: singleRate, openSSLBatchChecksPerSecondAllCores: openSSLRate,
                                rawAllChecksPerSecondAllCores: allRate,
                                ratio: rate / rawRate, ratioToAllChecks: allRate.map { rate / $0 }, auditPeakMemoryMiB: peak, auditPassed: status == 0 && report?.passed == true, cores: cores)
            reporter.emit(result) {
                """
                bench-audit: \(audited) ballots × \(sample.options) options, record \(bytes / 1_048_576) MiB (generated in \(String(format: "%.1f", generation)) s), \(cores) cores
                  voter audit --record: \(String(format: "%.1f", auditSeconds)) s = \(fmt(rate)) ballots/s, peak memory \(String(format: "%.1f", peak)) MiB, \(result.auditPassed ? "all checks passed" : "AUDIT FAILED")
                  raw in-process ballot checks on \(cores) cores, in batches of \(share): \(fmt(rawRate)) /s; one by one: \(fmt(singleRate)) /s
                  the same batches with OpenSSL's EC_POINTs_mul for the folded equation: \(fmt(openSSLRate)) /s (pure Swift \(String(format: "%.2f", rawRate / openSSLRate))× faster)
                  ratio audit / raw batch check: \(String(format: "%.3f", result.ratio))
                  raw per voter, all of the audit's cryptography (code opening, proof of possession, ballot batch check): \(allRate.map(fmt) ?? "n/a") voters/s; ratio audit / that: \(result.ratioToAllChecks.map { String(format: "%.3f", $0) } ?? "n/a")
                """
            }
            if !result.auditPassed { throw ExitCode(1) }
        }
    }

    /// Runs `voter audit --record` and returns its exit status, its report and its peak
    /// resident memory in KiB. The peak is the child's own VmHWM, read from /proc while it
    /// runs: getrusage(RUSAGE_CHILDREN) would also count the memory of this process that the
    /// child held between fork and exec (Linux keeps that high-water mark across exec), which
    /// reported this generator's 1.2 GB instead of the auditor's ~100 MB.
    static func runAudit(voter: URL, record: String) throws -> (Int32, AuditReport?, Int) {
        let process = Process()
        process.executableURL = voter
        process.arguments = ["audit", "--record", record, "--json"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let collected = Mutex(Data())
        let reader = DispatchGroup()
        reader.enter()
        DispatchQueue.global().async {
            let data = out.fileHandleForReading.readDataToEndOfFile()
            collected.withLock { $0 = data }
            reader.leave()
        }
        let statusPath = "/proc/\(process.processIdentifier)/status"
        var peak = 0
        while process.isRunning {
            if let text = try? String(contentsOfFile: statusPath, encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kib = Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") {
                peak = max(peak, kib)
            }
            usleep(20_000)
        }
        process.waitUntilExit()
        reader.wait()
        let data = collected.withLock { $0 }
        return (process.terminationStatus, try? JSONDecoder().decode(AuditReport.self, from: data), peak)
    }
}

/// A generated election record: real ceremony, enrollments, encrypted ballots with proofs,
/// close, aggregate, partial decryptions and signed results, checkpoints every 1000 entries.
enum SyntheticRecord {
    /// Ballots of the record, decoded from their canonical bytes as the auditor sees them,
    /// for the raw in-process rates.
    struct Sample: Sendable {
        let ballots: [SignedBallot]
        /// Enrollments with the salt of the commitment each opens (from the registrar's lists).
        var enrollments: [(enrollment: Enrollment, salt: Salt)] = []
        let district: District
        let electionHash: Digest
        let key: GroupElement
        var options: Int { district.options.count }

        func context(_ b: SignedBallot) -> ProofContext {
            BallotContent.context(electionHash: electionHash, electionKey: key, ballotID: b.ballot.ballotID, district: district.id)
        }

        /// An enrollment's two checks, as the auditor makes them (check 7).
        func checkEnrollment(_ item: (enrollment: Enrollment, salt: Salt)) -> Bool {
            let e = item.enrollment
            return CodeCommitment(salt: item.salt, value: e.commitment).isOpened(by: e.code, electionHash: electionHash)
                && e.hasValidSignature(electionHash: electionHash)
        }

        /// One ballot alone: its signature and its proofs (one batch of its own equations).
        func checkOne(_ b: SignedBallot) -> Bool {
            b.hasValidSignature && b.ballot.content.problem(in: district, context: context(b)) == nil
        }

        /// Many ballots: each signature, then every proof of all of them in one batch (eq. 49),
        /// through the pure-Swift multiplication or, for the reference, OpenSSL's EC_POINTs_mul.
        func checkBatch(_ ballots: [SignedBallot], openSSL: Bool = false) -> Bool {
            var batch = ProofBatch(electionKey: key)
            batch.reserve(terms: ballots.count * 70)
            for b in ballots {
                guard b.hasValidSignature else { return false }
                b.ballot.content.addEquations(in: district, context: context(b), to: &batch)
            }
            return openSSL ? batch.holdsUsingOpenSSL() : batch.holds()
        }
    }

    /// One generated voter: its enrollment and its cast ballot.
    struct Voter: Sendable {
        let enrollment: Enrollment
        let salt: Salt
        let ballot: SignedBallot
    }

    /// Voter `i`'s secrets, derived from the run's random seed so that the roll pass and the
    /// voting pass can each make them again instead of holding a million voters in memory.
    /// (Test data only: the seed never leaves the generator.)
    struct VoterSecrets {
        let code: String
        let salt: Salt
        let keySeed: [UInt8]

        init(seed: [UInt8], index: Int) {
            func derive(_ label: String) -> [UInt8] {
                SHA256.hash(parts: [seed, Array(label.utf8), withUnsafeBytes(of: UInt64(index).bigEndian, Array.init)]).bytes
            }
            // 80 bits as 16 Crockford base32 characters, like EnrollmentCode.generate.
            let bits = derive("code").prefix(10).reduce((value: [UInt8](), acc: UInt64(0), n: 0)) { state, byte in
                var (value, acc, n) = state
                acc = acc << 8 | UInt64(byte)
                n += 8
                while n >= 5 {
                    n -= 5
                    value.append(EnrollmentCode.alphabet[Int((acc >> UInt64(n)) & 31)])
                }
                return (value, acc & 0xff, n)
            }
            code = String(decoding: bits.value, as: UTF8.self)
            salt = Salt(trusted: Array(derive("salt").prefix(16)))
            keySeed = derive("key")
        }

        func commitment(electionHash: Digest) -> CodeCommitment {
            CodeCommitment(salt: salt, value: EnrollmentCode.commitment(normalizedCode: code, salt: salt, electionHash: electionHash))
        }
    }

    /// `body(i)` for every i in `range`, on `parallelism` tasks, results in order.
    static func parallelMap<T: Sendable>(_ range: Range<Int>, parallelism: Int, _ body: @escaping @Sendable (Int) throws -> T) async throws -> [T] {
        try await withThrowingTaskGroup(of: [(Int, T)].self) { group in
            for w in 0..<parallelism {
                group.addTask { try stride(from: range.lowerBound + w, to: range.upperBound, by: parallelism).map { ($0, try body($0)) } }
            }
            var all: [(Int, T)] = []
            all.reserveCapacity(range.count)
            for try await part in group { all += part }
            return all.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    static func write(ballots: Int, to path: String, parallelism: Int, progress: Bool) async throws -> (Int, Sample) {
        let example = try ExampleElection.manifest()
        guard let contest = example.district(BenchCommand.district) else { throw CommandError("bench", "no district \(BenchCommand.district)") }
        let manifest = ElectionManifest(electionId: "audit-bench", name: "Audit benchmark", districts: [contest],
                                        trustees: TrusteePolicy(count: 3, quorum: 2))
        let server = try Ed25519PrivateKey()
        let commission = try Ed25519PrivateKey()
        let setup = ElectionSetup(manifest: manifest, serverKey: server.publicKey, commissionKey: commission.publicKey, nonce: try Nonce32.random())
        let hash = setup.electionHash
        guard FileManager.default.createFile(atPath: path, contents: nil), let handle = FileHandle(forWritingAtPath: path) else {
            throw CommandError("io-error", "cannot create \(path)")
        }
        defer { try? handle.close() }
        var writer = RecordWriter(handle: handle, electionHash: hash, serverKey: server)
        var time: Timestamp = 1_800_000_000_000
        try writer.header(at: time)
        try writer.append(.election, setup.canonicalBytes, at: time)
        let trustees = try (1...UInt32(3)).map { try TrusteeKeyFile.generate(index: $0, name: "Trustee \($0)") }
        let registrations = try trustees.map { try $0.registration }
        for r in registrations {
            try writer.append(.trustee, r.payload(electionHash: hash, commissionSignature: try r.appointmentSignature(electionHash: hash, commissionKey: commission)), at: time)
        }
        var dealings: [DealerPublication] = []
        var polynomials: [SecretPolynomial] = []
        for t in trustees {
            let (d, p) = try DealerPublication.deal(electionHash: hash, index: t.index, quorum: 2, trustees: registrations,
                                                    signingKey: try t.signingKey()) { label, i in try t.derive(label, i, electionHash: hash) }
            dealings.append(d)
            polynomials.append(p)
            try writer.append(.dealing, d.payload(electionHash: hash), at: time)
        }
        for t in trustees {
            let v = ShareVerification(index: t.index, complaints: [],
                                      signature: try t.signingKey().signature(for: ShareVerification.signedBytes(electionHash: hash, index: t.index, complaints: [])))
            try writer.append(.verification, v.payload(electionHash: hash), at: time)
        }
        guard let key = ElectionKeyRecord.derive(from: dealings, trustees: [1, 2, 3]) else { throw CommandError("bench", "no key") }
        try writer.append(.electionKey, key.canonicalBytes, at: time)

        // Streamed in two passes over voter numbers, so memory does not grow with the ballots:
        // the registrar's signed lists (each voter's commitment), then the open, then every
        // voter's enrollment and ballot, made again from the seed, in chunks on every core.
        let seed = try SecureRandom.bytes(32)
        let rollBar = ProgressBar("generate roll", total: ballots, enabled: progress)
        for start in stride(from: 0, to: ballots, by: RollImport.maxCommitmentsPerEntry) {
            let range = start..<min(ballots, start + RollImport.maxCommitmentsPerEntry)
            let part = try await parallelMap(range, parallelism: parallelism) { VoterSecrets(seed: seed, index: $0).commitment(electionHash: hash) }
            let list = RollImport(districts: [.init(district: contest.id, commitments: part.shuffled())])
            try writer.append(.roll, try list.payload(electionHash: hash, commissionKey: commission), at: time)
            rollBar.advance(by: range.count)
        }
        rollBar.finish()
        time += 1000
        try writer.append(.window, try WindowChange.sign(electionHash: hash, action: .open, issuedAt: time, commissionKey: commission).canonicalBytes, at: time)

        let bar = ProgressBar("generate voters", total: ballots, enabled: progress)
        let chunk = 256
        @Sendable func makeVoters(_ range: Range<Int>) async throws -> [Voter] {
            try await parallelMap(range, parallelism: parallelism) { i in
                let secrets = VoterSecrets(seed: seed, index: i)
                let commitment = secrets.commitment(electionHash: hash)
                let voter = try Ed25519PrivateKey(rawRepresentation: secrets.keySeed)
                let pop = try voter.signature(for: EnrollmentRequest.signedBytes(electionHash: hash, voterKey: voter.publicKey, normalizedCode: secrets.code))
                let enrollment = Enrollment(voterKey: voter.publicKey, district: contest.id, commitment: commitment.value, code: secrets.code, signature: pop)
                let choice = contest.options[i % contest.options.count].id
                let id = try BallotID.random()
                let context = BallotContent.context(electionHash: hash, electionKey: key.key, ballotID: id, district: contest.id)
                let (content, _) = try BallotContent.encrypt(selections: [choice], district: contest, context: context)
                let ballot = try Ballot(electionHash: hash, ballotID: id, district: contest.id, content: content).cast(with: voter)
                return Voter(enrollment: enrollment, salt: commitment.salt, ballot: ballot)
            }
        }
        var sampleBallots: [SignedBallot] = []
        var sampleEnrollments: [(enrollment: Enrollment, salt: Salt)] = []
        // The next chunk is made while this one is written, so no core waits for the writer.
        var next: Task<[Voter], any Error>? = Task { try await makeVoters(0..<min(chunk, ballots)) }
        var start = 0
        while let making = next {
            let batch = try await making.value
            let following = start + chunk
            next = following < ballots ? Task { try await makeVoters(following..<min(ballots, following + chunk)) } : nil
            time += 1
            for v in batch { try writer.append(.enrollment, v.enrollment.canonicalBytes, at: time) }
            for v in batch { try writer.append(.ballot, v.ballot.canonicalBytes, at: time) }
            writer.addCounted(batch.map { $0.ballot.ballot.content.ciphertexts })
            for v in batch where sampleBallots.count < 512 { sampleBallots.append(try SignedBallot.decode(canonical: v.ballot.canonicalBytes)) }
            for v in batch where sampleEnrollments.count < 512 {
                sampleEnrollments.append((try Enrollment.decode(canonical: v.enrollment.canonicalBytes), v.salt))
            }
            bar.advance(by: batch.count)
            start = following
        }
        bar.finish()
        guard !sampleBallots.isEmpty else { throw CommandError("bench", "no ballots generated") }
        let sample = Sample(ballots: sampleBallots, enrollments: sampleEnrollments, district: contest, electionHash: hash, key: key.key)
        time += 1000
        try writer.append(.window, try WindowChange.sign(electionHash: hash, action: .close, issuedAt: time, commissionKey: commission).canonicalBytes, at: time)
        let aggregate = TallyAggregate(districts: [.init(district: contest.id, ballots: UInt32(ballots), ciphertexts: writer.sums)])
        try writer.append(.aggregate, aggregate.canonicalBytes, at: time)
        var partials: [PartialDecryption] = []
        for t in trustees.prefix(2) {
            // s_j = Σ_i f_i(j)
            let share = polynomials.map { $0.evaluate(at: UInt64(t.index)) }.dropFirst().reduce(polynomials[0].evaluate(at: UInt64(t.index)), +)
            let partial = try PartialDecryption.make(electionHash: hash, index: t.index, secretShare: share, aggregate: aggregate, signingKey: try t.signingKey())
            partials.append(partial)
            try writer.append(.decryption, partial.payload(electionHash: hash), at: time)
        }
        guard let results = ElectionResults.combine(manifest: manifest, aggregate: aggregate, partials: partials, roll: [contest.id: UInt32(ballots)]) else {
            throw CommandError("bench", "the synthetic tally did not combine")
        }
        try writer.append(.results, SignedResults(results: results, signature: try server.signature(for: results.canonicalBytes)).payload, at: time)
        try writer.finish(at: time)
        return (writer.bytes, sample)
    }

    /// The size of an existing record and its first 512 ballots and enrollments as a sample
    /// for the raw rates (`bench-audit --audit-record`); reads only until it has them, then
    /// the registrar's lists again for the salts of the enrollments' commitments.
    static func sample(record path: String) throws -> (Int, Sample) {
        let bytes = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        var setup: ElectionSetup?
        var key: GroupElement?
        var ballots: [SignedBallot] = []
        var enrollments: [Enrollment] = []
        let reader = try RecordFileReader(path: path)
        while ballots.count < 512, let output = try reader.next() {
            guard case .line(_, _, let line) = output, case .entry(let body) = try RecordItem.parse(line: line) else { continue }
            let entry = try LogEntry.decode(canonical: body.data.bytes)
            switch entry.kind {
            case .election: setup = try ElectionSetup.decode(canonical: entry.payload)
            case .electionKey: key = try ElectionKeyRecord.decode(canonical: entry.payload).key
            case .ballot: ballots.append(try SignedBallot.decode(canonical: entry.payload))
            case .enrollment where enrollments.count < 512: enrollments.append(try Enrollment.decode(canonical: entry.payload))
            default: continue
            }
        }
        guard let setup, let key, let first = ballots.first, let district = setup.manifest.district(first.ballot.district) else {
            throw CommandError("bench", "\(path) has no election setup, election key or ballot to sample")
        }
        // The salts, from the signed lists (which precede every enrollment).
        var salts: [Digest: Salt] = [:]
        let wanted = Set(enrollments.map(\.commitment))
        let lists = try RecordFileReader(path: path)
        while salts.count < wanted.count, let output = try lists.next() {
            guard case .line(_, _, let line) = output, case .entry(let body) = try RecordItem.parse(line: line) else { continue }
            let entry = try LogEntry.decode(canonical: body.data.bytes)
            if entry.kind == .enrollment { break }
            guard entry.kind == .roll else { continue }
            let (list, _, _) = try RollImport.decode(payload: entry.payload, commissionKey: setup.commissionKey)
            for d in list.districts { for c in d.commitments where wanted.contains(c.value) { salts[c.value] = c.salt } }
        }
        let sampled = enrollments.compactMap { e in salts[e.commitment].map { (enrollment: e, salt: $0) } }
        return (bytes, Sample(ballots: ballots.filter { $0.ballot.district == district.id }, enrollments: sampled, district: district,
                              electionHash: setup.electionHash, key: key))
    }

    /// Appends entries, keeps the Merkle frontier, signs a checkpoint every 1000 entries.
    struct RecordWriter {
        let handle: FileHandle
        let electionHash: Digest
        let serverKey: Ed25519PrivateKey
        var frontier = MerkleFrontier()
        var checkpoints: UInt64 = 0
        var bytes = 0
        var buffer = Data()
        var sums: [Ciphertext] = []

        init(handle: FileHandle, electionHash: Digest, serverKey: Ed25519PrivateKey) {
            self.handle = handle
            self.electionHash = electionHash
            self.serverKey = serverKey
        }

        mutating func header(at time: Timestamp) throws {
            try emit(try RecordItem.header(RecordHeader(electionHash: electionHash, exportedAt: time)).line())
        }

        mutating func append(_ kind: LogEntryKind, _ payload: [UInt8], at time: Timestamp) throws {
            let entry = LogEntry(index: frontier.size, electionHash: electionHash, timestamp: time, kind: kind, payload: payload)
            let data = entry.canonicalBytes
            frontier.append(leafHash: Merkle.leafHash(data))
            try emit(try RecordItem.entry(LogEntryBody(index: entry.index, kind: kind, data: HexBytes(data))).line())
            if frontier.size % 1000 == 0 { try checkpoint(at: time) }
        }

        mutating func checkpoint(at time: Timestamp) throws {
            let cp = try Checkpoint(electionHash: electionHash, treeSize: frontier.size, rootHash: frontier.root, timestamp: time).signed(with: serverKey)
            try emit(try RecordItem.checkpoint(cp).line())
            checkpoints += 1
        }

        mutating func addCounted(_ rows: [[Ciphertext]]) {
            guard let width = rows.first?.count else { return }
            let partial = (0..<width).map { o in Ciphertext.sum(rows.lazy.map { $0[o] }) }
            sums = sums.isEmpty ? partial : zip(sums, partial).map { $0 + $1 }
        }

        mutating func finish(at time: Timestamp) throws {
            if frontier.size % 1000 != 0 { try checkpoint(at: time) }
            try emit(try RecordItem.end(RecordEnd(entries: frontier.size, checkpoints: checkpoints)).line())
            try handle.write(contentsOf: buffer)
            buffer = Data()
        }

        mutating func emit(_ line: Data) throws {
            buffer.append(line)
            bytes += line.count
            if buffer.count > 1 << 20 {
                try handle.write(contentsOf: buffer)
                buffer = Data()
            }
        }
    }
}
