import ArgumentParser
import Foundation
import VoterKit
import VotingCore
#if canImport(Glibc)
import Glibc
#endif

/// `ballot-server bench-capacity`: a server holding N ballots. Fills a fresh SQLite election
/// with N voters who enroll and cast encrypted 11-option ballots, written straight into the
/// store through the election rules (the same `enroll` and `recordBallot` the server runs, the
/// same log appender, Merkle nodes, running sums and checkpoints, in write transactions of
/// 4,096 voters); then starts the real `serve` on it and measures what a server holding them
/// costs: its memory, inclusion proofs over HTTP, and the real `close` command.
///
/// What the fill skips, and why the figures do not depend on it: HTTP and the server's proof
/// check of each ballot (the ballots are made here by `BallotContent.encrypt`, as `voter`
/// makes them; `bench` measures casting). Every ballot's proofs are valid: `ballot-server
/// export` of the election then `voter audit` passes.
struct BenchCapacityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-capacity",
        abstract: "Benchmark a server holding N ballots (run with -c release): memory, inclusion proofs, close.",
        discussion: """
            The election is filled through the election rules without HTTP (voters enroll and cast real encrypted ballots, \
            written in transactions of 4,096 voters), then the real `serve` is started on it: its resident memory after \
            start, after the inclusion proofs and after the close, the inclusion proof round trip over loopback (one \
            connection, random log entries, at the latest checkpoint) and the wall time of `ballot-server close --server`. \
            --data keeps the election (a new directory) for `export` and `voter audit`.
            """)

    @Option(help: "Ballots (voters who enroll and cast) in the election.")
    var ballots = 100_000
    @Option(help: "Inclusion proofs to request after the fill.")
    var proofs = 2_000
    @Option(help: "Keep the election in this new directory instead of a temporary one.")
    var data: String?
    @Option(help: "Fill nothing: measure the open election a run with --data left in this directory (stopped during its fill, each committed chunk of 4,096 voters stays).")
    var measure: String?
    @Flag(name: .customLong("fill-only"), help: "With --data: fill the election and stop, leaving it open for a later --measure (on an idle machine).")
    var fillOnly = false
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (10...2_000_000).contains(ballots) else { throw ValidationError("--ballots must be 10 to 2000000") }
        guard (10...1_000_000).contains(proofs) else { throw ValidationError("--proofs must be 10 to 1000000") }
        if measure != nil, data != nil { throw ValidationError("give --data (fill and keep) or --measure (measure a kept election), not both") }
        if fillOnly, data == nil { throw ValidationError("--fill-only needs --data DIR: the filled election is kept there for --measure") }
        if let measure, !FileManager.default.fileExists(atPath: DataDirectory(path: measure).databasePath) {
            throw ValidationError("--measure \(measure) holds no election.sqlite: give the directory an earlier run's --data named")
        }
        if let data, FileManager.default.fileExists(atPath: data) {
            throw ValidationError("--data \(data) exists already: give a new directory (the benchmark makes its own election)")
        }
    }

    struct Memory: Encodable {
        let rssMiB: Double
        let peakMiB: Double
        enum CodingKeys: String, CodingKey { case rssMiB = "rss_mib", peakMiB = "peak_mib" }
    }

    struct Result: Encodable {
        let ballots: Int
        let options: Int
        let logEntries: UInt64
        let databaseBytes: Int
        let fillSeconds: Double
        let serverStartSeconds: Double
        let memoryAfterStart: Memory
        let memoryAfterProofs: Memory
        let memoryAfterClose: Memory
        let proofs: Int
        let inclusionP50Microseconds: Double
        let inclusionP99Microseconds: Double
        let inclusionInProcessP50Microseconds: Double
        let inclusionInProcessP99Microseconds: Double
        /// The server's own answer times for the same proofs (its request-duration histogram):
        /// the share answered within 1 ms, and the bucket bounds under which half and 99 % fall.
        let inclusionServerWithin1msShare: Double?
        let inclusionServerP50BoundMicroseconds: Double?
        let inclusionServerP99BoundMicroseconds: Double?
        let closeSeconds: Double
        let cores: Int
        enum CodingKeys: String, CodingKey {
            case ballots, options, proofs, cores
            case logEntries = "log_entries", databaseBytes = "database_bytes", fillSeconds = "fill_s"
            case serverStartSeconds = "server_start_s", memoryAfterStart = "memory_after_start"
            case memoryAfterProofs = "memory_after_proofs", memoryAfterClose = "memory_after_close"
            case inclusionP50Microseconds = "inclusion_p50_us", inclusionP99Microseconds = "inclusion_p99_us"
            case inclusionInProcessP50Microseconds = "inclusion_in_process_p50_us"
            case inclusionInProcessP99Microseconds = "inclusion_in_process_p99_us"
            case inclusionServerWithin1msShare = "inclusion_server_within_1ms_share"
            case inclusionServerP50BoundMicroseconds = "inclusion_server_p50_bound_us"
            case inclusionServerP99BoundMicroseconds = "inclusion_server_p99_bound_us"
            case closeSeconds = "close_s"
        }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            #if DEBUG
            if !output.json { print("warning: this is a debug build; run `swift run -c release ballot-server bench-capacity` for real figures") }
            #endif
            let path = measure ?? data ?? FileManager.default.temporaryDirectory.appendingPathComponent("ballot-capacity-\(UUID().uuidString)").path
            defer { if data == nil && measure == nil { try? FileManager.default.removeItem(atPath: path) } }
            let started = ContinuousClock.now
            var held = ballots
            let options: Int
            if measure != nil {
                let store = try await ElectionStore.open(DataDirectory(path: path), database: .sqlite)
                guard try await store.currentState() == .open else {
                    throw CommandError("bench", "the election in \(path) is not open: --measure needs one left open by a stopped fill")
                }
                held = try await store.counts().ballotsByDistrict.values.reduce(0, +)
                options = store.manifest.district(BenchCommand.district)?.options.count ?? 0
                try await store.storage.close()
            } else {
                options = try await Self.fill(path: path, ballots: ballots, progress: !output.json)
            }
            let fillSeconds = measure == nil ? (ContinuousClock.now - started).seconds : 0
            if fillOnly {
                struct Filled: Encodable {
                    let ballots: Int
                    let data: String
                    let fillSeconds: Double
                    enum CodingKeys: String, CodingKey { case ballots, data, fillSeconds = "fill_s" }
                }
                let filled = Filled(ballots: held, data: path, fillSeconds: fillSeconds)
                reporter.emit(filled) {
                    "bench-capacity: \(held) ballots filled into \(path) in \(String(format: "%.1f", fillSeconds)) s; measure it with `ballot-server bench-capacity --measure \(path)`"
                }
                return
            }
            let result = try await measureServer(path: path, ballots: held, options: options, fillSeconds: fillSeconds)
            reporter.emit(result) {
                func mem(_ m: Memory) -> String { String(format: "%.1f MiB (peak %.1f MiB)", m.rssMiB, m.peakMiB) }
                return """
                bench-capacity: \(result.ballots) ballots × \(options) options, \(result.logEntries) log entries, SQLite \(result.databaseBytes / 1_048_576) MiB (filled in \(String(format: "%.1f", fillSeconds)) s), \(result.cores) cores
                  serve started in \(String(format: "%.2f", result.serverStartSeconds)) s; resident memory \(mem(result.memoryAfterStart))
                  inclusion proof over HTTP (\(proofs) random log entries, one connection): p50 \(fmt(result.inclusionP50Microseconds)) µs, p99 \(fmt(result.inclusionP99Microseconds)) µs; in process (storage reads and hashing only): p50 \(fmt(result.inclusionInProcessP50Microseconds)) µs, p99 \(fmt(result.inclusionInProcessP99Microseconds)) µs
                  the server's own answer times for those proofs (its request-duration histogram): \(result.inclusionServerWithin1msShare.map { String(format: "%.2f", $0 * 100) } ?? "n/a") % within 1 ms; half within \(result.inclusionServerP50BoundMicroseconds.map(fmt) ?? "n/a") µs, 99 % within \(result.inclusionServerP99BoundMicroseconds.map(fmt) ?? "n/a") µs (bucket bounds)
                  after the proofs: \(mem(result.memoryAfterProofs))
                  close (ballot-server close --server, the order, the reveals and the aggregate in one transaction): \(String(format: "%.2f", result.closeSeconds)) s; after it: \(mem(result.memoryAfterClose))
                """
            }
        }
    }

    /// The example election's 11-option district, N voters on its roll, the ceremony through a
    /// real server, the open, then every voter's enrollment and ballot through the rules.
    /// Returns the number of options.
    static func fill(path: String, ballots: Int, progress: Bool) async throws -> Int {
        let dir = DataDirectory(path: path)
        let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: try ExampleElection.manifest())
        guard let contest = store.manifest.district(BenchCommand.district) else {
            throw CommandError("bench", "the example has no district \(BenchCommand.district)")
        }
        let commissionKey = try dir.commissionKey()
        let rollSecret = try dir.rollSecret()
        let rows = ExampleElection.roll(voters: ballots, districts: 1).map {
            ElectionStore.RollLine(personalNumber: $0.personalNumber, district: contest.id, line: $0.line)
        }
        let rollBar = ProgressBar("roll (codes and commitments)", total: rows.count, enabled: progress)
        let (_, codes) = try await store.importRoll(rows, rollSecret: rollSecret, commissionKey: commissionKey) { _ in rollBar.advance(by: 1000) }
        rollBar.finish()
        let trustees = try await LocalTrustees.register(in: store, commissionKey: commissionKey)
        do {
            let server = try ServerProcess(executable: currentExecutable(), dataDirectory: path)
            defer { server.stop() }
            try await BallotServerClient.withPooledHTTPClient(connections: 2) { http in
                try await trustees.runCeremony(client: try BallotServerClient(baseURL: server.url, http: http))
            }
        }
        _ = try await store.changeWindow(.open, commissionKey: commissionKey)
        guard let key = try await store.electionKey() else { throw CommandError("bench", "the ceremony did not publish an election key") }
        let hash = store.electionHash
        let rules = store.rules
        let clock = store.clock

        let bar = ProgressBar("voters enroll and cast", total: codes.count, enabled: progress)
        // A pipeline: the next chunk's voters are made on every core while the last chunk's
        // transaction commits on the database's writer.
        var writing: Task<Void, any Error>?
        for part in codes.chunked(4096) {
            let macs = part.map { PersonalNumber.mac(PersonalNumber.normalize($0.personalNumber), secret: rollSecret) }
            let salts = try await store.storage.read { tx in
                try macs.map { mac -> Salt in
                    guard let row = try tx.rollRow(voterMac: mac) else { throw CommandError("bench", "a generated voter is not on the roll") }
                    return row.commitment.salt
                }
            }
            // What each voter's device and the server's enrollment route compute, on every core.
            let made = try Parallel.map(part.indices) { i -> (ElectionRules.EnrollmentAttempt, SignedBallot) in
                let j = i - part.startIndex
                let code = EnrollmentCode.normalize(part[i].code)
                let voter = try Ed25519PrivateKey()
                let signature = try voter.signature(for: EnrollmentRequest.signedBytes(electionHash: hash, voterKey: voter.publicKey, normalizedCode: code))
                let attempt = ElectionRules.EnrollmentAttempt(
                    voterMac: macs[j], salt: salts[j],
                    typedCommitment: EnrollmentCode.commitment(normalizedCode: code, salt: salts[j], electionHash: hash),
                    normalizedCode: code, voterKey: voter.publicKey, signature: signature)
                let id = try BallotID.random()
                let context = BallotContent.context(electionHash: hash, electionKey: key, ballotID: id, district: contest.id)
                let choice = contest.options[i % contest.options.count].id
                let (content, _) = try BallotContent.encrypt(selections: [choice], district: contest, context: context)
                return (attempt, try Ballot(electionHash: hash, ballotID: id, district: contest.id, content: content).cast(with: voter))
            }
            try await writing?.value
            let storage = store.storage
            writing = Task {
                let now = clock.now()
                try await storage.write { tx in
                    let batch = try Batch(tx, electionHash: rules.electionHash, now: now)
                    for (attempt, ballot) in made {
                        guard case .new = try rules.enroll(batch, attempt).get().0, case .new = try rules.recordBallot(batch, ballot).get() else {
                            throw CommandError("bench", "a generated voter was already recorded")
                        }
                    }
                    try batch.flush()
                    _ = try batch.log.seal(serverKey: rules.serverKey)
                }
                bar.advance(by: made.count)
            }
        }
        try await writing?.value
        bar.finish()
        try await store.storage.close()
        return contest.options.count
    }

    /// Starts `serve` on the filled election and measures it.
    private func measureServer(path: String, ballots: Int, options: Int, fillSeconds: Double) async throws -> Result {
        let executable = currentExecutable()
        let startClock = ContinuousClock.now
        let server = try ServerProcess(executable: executable, dataDirectory: path, startTimeout: 600)
        defer { server.stop() }
        let startSeconds = (ContinuousClock.now - startClock).seconds
        let afterStart = try Self.memory(server.pid)

        // Round trips over loopback, one connection, as a voter's `verify` asks.
        // The server's own answer times come from its request-duration histogram, read
        // before and after the timed proofs (nothing else is asked meanwhile).
        let (size, roundTrips, serverTimes) = try await BallotServerClient.withPooledHTTPClient(connections: 1) { http in
            let client = try BallotServerClient(baseURL: server.url, http: http)
            let size = try await client.latestCheckpoint().checkpoint.treeSize
            func proof() async throws -> Double {
                let index = UInt64.random(in: 0..<size)
                let t0 = ContinuousClock.now
                let body = try await client.inclusionProof(index: index, treeSize: size)
                let t = (ContinuousClock.now - t0).seconds * 1e6
                guard body.index == index, body.treeSize == size else { throw CommandError("bench", "the server answered another inclusion proof") }
                return t
            }
            for _ in 0..<100 { _ = try await proof() }  // warm the connection
            let before = HistogramSample("evote_request_duration_seconds", in: [try await client.metricsText()])
            var times: [Double] = []
            times.reserveCapacity(proofs)
            for _ in 0..<proofs { times.append(try await proof()) }
            let after = HistogramSample("evote_request_duration_seconds", in: [try await client.metricsText()])
            return (size, times, after.since(before))
        }
        let afterProofs = try Self.memory(server.pid)

        // The same proofs in process: what the server's storage and hashing cost without HTTP.
        let store = try await ElectionStore.open(DataDirectory(path: path), database: .sqlite)
        try await store.warmNodeCache()  // as serve does at start
        var local: [Double] = []
        for _ in 0..<proofs {
            let index = UInt64.random(in: 0..<size)
            let t0 = ContinuousClock.now
            _ = try await store.inclusionProof(index: index, treeSize: size)
            local.append((ContinuousClock.now - t0).seconds * 1e6)
        }
        try await store.storage.close()

        let closeClock = ContinuousClock.now
        let close = Process()
        close.executableURL = executable
        close.arguments = ["close", "--server", server.url, "--commission-key", DataDirectory(path: path).commissionKeyPath, "--json"]
        close.standardOutput = FileHandle.nullDevice
        close.standardError = FileHandle.nullDevice
        try close.run()
        close.waitUntilExit()
        let closeSeconds = (ContinuousClock.now - closeClock).seconds
        guard close.terminationStatus == 0 else { throw CommandError("bench", "ballot-server close failed (exit \(close.terminationStatus))") }
        let afterClose = try Self.memory(server.pid)

        // The database with its write-ahead log (not yet checkpointed into the main file).
        let database = ["", "-wal"].reduce(0) { sum, suffix in
            sum + ((try? FileManager.default.attributesOfItem(atPath: DataDirectory(path: path).databasePath + suffix)[.size] as? Int) ?? 0)
        }
        func pct(_ xs: [Double], _ p: Double) -> Double {
            let s = xs.sorted()
            return s.isEmpty ? 0 : s[min(s.count - 1, Int(Double(s.count) * p))]
        }
        return Result(ballots: ballots, options: options, logEntries: size, databaseBytes: database, fillSeconds: fillSeconds,
                      serverStartSeconds: startSeconds, memoryAfterStart: afterStart, memoryAfterProofs: afterProofs, memoryAfterClose: afterClose,
                      proofs: proofs, inclusionP50Microseconds: pct(roundTrips, 0.5), inclusionP99Microseconds: pct(roundTrips, 0.99),
                      inclusionInProcessP50Microseconds: pct(local, 0.5), inclusionInProcessP99Microseconds: pct(local, 0.99),
                      inclusionServerWithin1msShare: serverTimes.share(atMost: 0.001),
                      inclusionServerP50BoundMicroseconds: serverTimes.bound(quantile: 0.5).map { $0 * 1e6 },
                      inclusionServerP99BoundMicroseconds: serverTimes.bound(quantile: 0.99).map { $0 * 1e6 },
                      closeSeconds: closeSeconds, cores: ProcessInfo.processInfo.activeProcessorCount)
    }

    /// The process's resident memory now and its peak so far (VmRSS, VmHWM).
    static func memory(_ pid: Int32) throws -> Memory {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else {
            throw CommandError("bench", "cannot read /proc/\(pid)/status")
        }
        func kib(_ field: String) -> Double {
            guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") }),
                  let value = Double(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "") else { return 0 }
            return value
        }
        return Memory(rssMiB: kib("VmRSS") / 1024, peakMiB: kib("VmHWM") / 1024)
    }
}
