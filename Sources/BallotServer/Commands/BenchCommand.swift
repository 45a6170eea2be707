import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import VoterKit
import VotingCore

/// `ballot-server bench`: signed ballots cast over loopback by concurrent clients against a
/// real server process, compared with the raw in-process OpenSSL cost of the same work.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark casting over loopback (run with -c release); prints ballots/s, latency, CPU per ballot and the ratio to raw crypto cost.",
        discussion: """
            With --database postgres://user@host:port/db the election lives in a throwaway database created beside the one \
            named (the user needs CREATEDB; the password comes from PGPASSWORD) and dropped after, and --instances N runs N \
            `serve` processes on it with the clients spread over them. CPU per ballot is read from /proc for each server \
            process and, when PostgreSQL runs on this machine, for the PostgreSQL server.
            """)

    @Option(help: "Voters to enroll and ballots to cast.")
    var voters = 5000
    @Option(help: "Concurrent HTTP clients.")
    var clients = 64
    @Option(help: "A PostgreSQL server to bench against, postgres://user@host:port/db (a scratch database is created beside db and dropped); default: SQLite in a temporary directory.")
    var database: String?
    @Option(help: "`serve` processes on the one database, the clients spread over them (PostgreSQL only when more than 1).")
    var instances = 1
    @Option(name: .customLong("tally-ballots"), help: "Ballots in the in-process tally and decryption benchmark (0 skips it).")
    var tallyBallots = 100_000
    @Option(help: "Cast at this steady rate, ballots per second, instead of as fast as the clients can (open loop: each ballot has its send time, and its latency counts from that time, so a server falling behind shows in p99); 0 = as fast as possible.")
    var rate: Double = 0
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (10...1_000_000).contains(voters) else { throw ValidationError("--voters must be 10 to 1000000") }
        guard (1...1024).contains(clients) else { throw ValidationError("--clients must be 1 to 1024") }
        guard (0...1_000_000).contains(tallyBallots) else { throw ValidationError("--tally-ballots must be 0 to 1000000") }
        guard (1...8).contains(instances) else { throw ValidationError("--instances must be 1 to 8") }
        guard rate == 0 || (1...100_000).contains(rate) else { throw ValidationError("--rate must be 0 (as fast as possible) or 1 to 100000 ballots per second") }
        let location: DatabaseLocation
        do { location = try DatabaseLocation(database) } catch let error as CommandError { throw ValidationError(error.message) }
        if instances > 1, location == .sqlite {
            throw ValidationError("--instances above 1 needs --database postgres://…: several servers share one PostgreSQL database, not one SQLite file")
        }
    }

    struct Phase: Encodable {
        let count: Int
        let seconds: Double
        let perSecond: Double
        let p50Ms: Double
        let p99Ms: Double
        enum CodingKeys: String, CodingKey { case count, seconds, perSecond = "per_second", p50Ms = "p50_ms", p99Ms = "p99_ms" }
    }

    struct Tally: Encodable {
        let ballots: Int
        let options: Int
        let aggregateSeconds: Double
        let decryptionSeconds: Double
        let decodeMicrosecondsPerBallot: Double
        enum CodingKeys: String, CodingKey {
            case ballots, options
            case aggregateSeconds = "aggregate_s"
            case decryptionSeconds = "decryption_s"
            case decodeMicrosecondsPerBallot = "decode_us_per_ballot"
        }
    }

    /// CPU spent during the casting phase, divided by the ballots cast (milliseconds).
    struct CastCPU: Encodable {
        /// One figure per `serve` process, in instance order: its CPU over the ballots it took.
        let serverMsPerBallot: [Double?]
        /// All `serve` processes' CPU over all ballots (what a ballot costs the servers).
        let serversMsPerBallot: Double?
        /// PostgreSQL's whole server (postmaster and its children), when it runs here.
        let postgresMsPerBallot: Double?
        /// The benchmark process itself (HTTP clients).
        let loadGeneratorMsPerBallot: Double?
        enum CodingKeys: String, CodingKey {
            case serverMsPerBallot = "server_ms_per_ballot"
            case serversMsPerBallot = "servers_ms_per_ballot"
            case postgresMsPerBallot = "postgres_ms_per_ballot"
            case loadGeneratorMsPerBallot = "load_generator_ms_per_ballot"
        }
    }

    /// The servers' proof batches during the casting phase (their /metrics before and after).
    struct ProofBatches: Encodable {
        /// Batches checked.
        let batches: Int
        /// Ballots per batch on average.
        let meanBallots: Double
        /// Share of batches that held one ballot (checked alone, at the single-ballot cost).
        let singleShare: Double
        enum CodingKeys: String, CodingKey { case batches, meanBallots = "mean_ballots", singleShare = "single_share" }

        /// The servers' `evote_proof_batch_ballots` histogram.
        static func sample(_ instances: [BallotServerClient]) async throws -> HistogramSample {
            HistogramSample("evote_proof_batch_ballots", in: try await BenchCommand.metricsTexts(instances))
        }

        init?(from before: HistogramSample, to after: HistogramSample) {
            let phase = after.since(before)
            guard let mean = phase.mean, let single = phase.share(atMost: 1) else { return nil }
            batches = Int(phase.count)
            meanBallots = mean
            singleShare = single
        }
    }

    struct BatchCost: Encodable {
        let ballots: Int
        let microsecondsPerBallot: Double
        enum CodingKeys: String, CodingKey { case ballots, microsecondsPerBallot = "us_per_ballot" }
    }

    /// The server's batch check (`ProofBatcher.judge`) over the first n of `sample`, for n = 1, 2, 4 … 128.
    static func batchCosts(_ sample: [SignedBallot], district: District, electionHash: Digest, key: GroupElement) throws -> [BatchCost] {
        let items = sample.map { ballot in
            (content: ballot.ballot.content, district: district,
             context: BallotContent.context(electionHash: electionHash, electionKey: key, ballotID: ballot.ballot.ballotID, district: district.id))
        }
        var costs: [BatchCost] = []
        var n = 1
        while n <= min(128, items.count) {
            let batch = Array(items.prefix(n))
            var rounds = 0
            let started = ContinuousClock.now
            repeat {
                var cost = ProofBatcher.Cost()
                guard ProofBatcher.judge(batch, cost: &cost).allSatisfy({ $0 == nil }) else {
                    throw CommandError("bench", "a benchmark ballot failed the batch check")
                }
                rounds += 1
            } while (ContinuousClock.now - started) < .milliseconds(200)
            costs.append(BatchCost(ballots: n, microsecondsPerBallot: (ContinuousClock.now - started).seconds * 1e6 / Double(rounds * n)))
            n *= 2
        }
        return costs
    }

    struct Result: Encodable {
        let database: String
        let instances: Int
        let voters: Int
        let clients: Int
        let options: Int
        let enrollment: Phase
        let casting: Phase
        let castCPU: CastCPU
        let proofBatches: ProofBatches?
        /// The proofs of one ballot checked in batches of n (µs per ballot, one core, same run): what the batch size saves.
        let proofCheckByBatchSize: [BatchCost]
        let rawBallotCheckMicroseconds: Double
        let rawBallotChecksPerSecondOneCore: Double
        let ratioToRawOneCore: Double
        let rawEd25519VerifyPlusSignMicroseconds: Double
        let encryptMicroseconds: Double
        /// The steady send rate of `--rate`, nil when the clients cast as fast as they could.
        let castRate: Double?
        let encryptTableBuildMicroseconds: Double
        /// Raw OpenSSL multiplications timed in the same run (each includes encoding the point).
        let encryptRawCost: RawMultiplicationCost
        /// encrypt_us / one fixed-base multiplication of the same run: the figure to compare across runs.
        let encryptInFixedBaseMultiplications: Double
        let tally: Tally?
        let cores: Int
        enum CodingKeys: String, CodingKey {
            case database, instances, voters, clients, options, enrollment, casting, cores, tally
            case castRate = "cast_rate"
            case castCPU = "cast_cpu"
            case proofBatches = "proof_batches"
            case proofCheckByBatchSize = "proof_check_by_batch_size"
            case rawBallotCheckMicroseconds = "raw_ballot_check_us"
            case rawBallotChecksPerSecondOneCore = "raw_ballot_checks_per_second_one_core"
            case ratioToRawOneCore = "ratio_to_raw_one_core"
            case rawEd25519VerifyPlusSignMicroseconds = "raw_ed25519_verify_plus_sign_us"
            case encryptMicroseconds = "encrypt_us"
            case encryptTableBuildMicroseconds = "encrypt_table_build_us"
            case encryptRawCost = "encrypt_raw_openssl"
            case encryptInFixedBaseMultiplications = "encrypt_in_fixed_base_muls"
        }
    }

    /// The benchmark's contest: a district of the example election with 11 options.
    static let district = "d05"

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            #if DEBUG
            if !output.json { print("warning: this is a debug build; run `swift run -c release ballot-server bench` for real figures") }
            #endif
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("ballot-bench-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            // PostgreSQL: a scratch database, dropped after, as the SQLite run's temporary directory is removed.
            guard case .postgres(let server) = try DatabaseLocation(database) else {
                try await bench(path: path, location: .sqlite, reporter: reporter)
                return
            }
            let scratch = try await PostgresScratchDatabase.create(near: server, prefix: "evote_bench")
            do {
                try await bench(path: path, location: .postgres(scratch.url), reporter: reporter)
            } catch {
                try? await scratch.drop()
                throw error
            }
            try await scratch.drop()
        }
    }

    /// The CPU seconds used so far by each server process, PostgreSQL's server and this process.
    private struct CPUSample {
        let servers: [Double?]
        let postgres: Double?
        let loadGenerator: Double?

        init(servers: [ServerProcess], postmaster: Int32?) {
            self.servers = servers.map { ProcessCPU.seconds($0.pid) }
            postgres = postmaster.flatMap(ProcessCPU.treeSeconds)
            loadGenerator = ProcessCPU.seconds(getpid())
        }

        static func perBallot(_ before: Double?, _ after: Double?, ballots: Int) -> Double? {
            guard let before, let after, ballots > 0 else { return nil }
            return (after - before) * 1000 / Double(ballots)
        }

        /// `ballots` cast in all, ballot i by instance i mod N.
        func perBallot(since before: CPUSample, ballots: Int) -> CastCPU {
            let n = servers.count
            let perInstance = zip(before.servers, servers).enumerated().map { i, pair in
                Self.perBallot(pair.0, pair.1, ballots: ballots / n + (i < ballots % n ? 1 : 0))
            }
            let used = zip(before.servers, servers).map { pair in pair.0.flatMap { b in pair.1.map { $0 - b } } }
            let all: Double? = used.contains { $0 == nil } ? nil : used.compactMap { $0 }.reduce(0, +)
            return CastCPU(serverMsPerBallot: perInstance, serversMsPerBallot: all.flatMap { Self.perBallot(0, $0, ballots: ballots) },
                    postgresMsPerBallot: Self.perBallot(before.postgres, postgres, ballots: ballots),
                    loadGeneratorMsPerBallot: Self.perBallot(before.loadGenerator, loadGenerator, ballots: ballots))
        }
    }

    private func bench(path: String, location: DatabaseLocation, reporter: Reporter) async throws {
        let dir = DataDirectory(path: path)
        let store = try await ElectionStore.create(in: dir, database: location, manifest: try ExampleElection.manifest())
        guard let contest = store.manifest.district(Self.district) else { throw CommandError("bench", "the example has no district \(Self.district)") }
        let rows = ExampleElection.roll(voters: voters, districts: 1).map {
            ElectionStore.RollLine(personalNumber: $0.personalNumber, district: Self.district, line: $0.line)
        }
        let commissionKey = try dir.commissionKey()
        let (_, codes) = try await store.importRoll(rows, rollSecret: try dir.rollSecret(), commissionKey: commissionKey)
        let trustees = try await LocalTrustees.register(in: store, commissionKey: commissionKey)
        var serverArguments: [String] = []
        var postmaster: Int32?
        if case .postgres(let url) = location {
            // Without the password: the servers read PGPASSWORD from the environment they inherit.
            serverArguments = ["--database", url.description]
            postmaster = try await PostgresScratchDatabase.backendProcessID(url).flatMap(ProcessCPU.postmaster(ofBackend:))
        }
        let servers = try (0..<instances).map { _ in
            try ServerProcess(executable: currentExecutable(), dataDirectory: path, extraArguments: serverArguments)
        }
        defer { for server in servers { server.stop() } }
        let instanceCount = servers.count
        try await BallotServerClient.withPooledHTTPClient(connections: clients) { http in
            let instances = try servers.map { try BallotServerClient(baseURL: $0.url, http: http) }
            let client = instances[0]
            try await trustees.runCeremony(client: client)
            _ = try await store.changeWindow(.open, commissionKey: commissionKey)
            let election = try await VoterActions.fetchElection(client)

            // Voter i talks to instance i mod N, as `voter simulate --server URL1,URL2` spreads them.
            let enrollProgress = ProgressBar("enroll", total: codes.count, enabled: !output.json)
            let (wallets, enrollPhase) = try await runConcurrently(Array(codes.enumerated()), clients: clients, progress: enrollProgress) { i, issued in
                try await VoterActions.enroll(client: instances[i % instanceCount], personalNumber: issued.personalNumber, code: issued.code,
                                              election: election)
            }
            enrollProgress.finish()

            // Signed and encoded to JSON before timing: the load generator should spend its CPU
            // on HTTP, not on signing or encoding (voters do that on their own machines).
            let ballots = try wallets.map { wallet -> SignedBallot in
                let choice = election.manifest.district(try wallet.enrolledDistrict())?.options.first?.id ?? "against-all"
                return try VoterActions.prepareBallot(wallet: wallet, selections: [choice], election: election).0.cast(with: try wallet.signingKey())
            }
            let encoder = JSONEncoder()
            let bodies = try ballots.map { (body: Array(try encoder.encode($0.wire)), trackingCode: $0.trackingCode) }
            let castProgress = ProgressBar("cast", total: ballots.count, enabled: !output.json)
            let batchesBefore = try await ProofBatches.sample(instances)
            let cpuBefore = CPUSample(servers: servers, postmaster: postmaster)
            let (_, castPhase) = try await runConcurrently(Array(bodies.enumerated()), clients: clients, rate: rate, progress: castProgress) { i, ballot in
                let response = try await instances[i % instanceCount].cast(json: ballot.body)
                guard response.trackingCode == ballot.trackingCode else { throw VoterError("bench", "tracking code mismatch") }
                return response.logged.receipt.logIndex
            }
            let castCPU = CPUSample(servers: servers, postmaster: postmaster).perBallot(since: cpuBefore, ballots: ballots.count)
            let proofBatches = ProofBatches(from: batchesBefore, to: try await ProofBatches.sample(instances))
            castProgress.finish()

            // The same run's raw cost of what the server must check per ballot: the voter's
            // signature and every proof (in-process, one core, no HTTP, no storage).
            guard let key = election.electionKey else { throw CommandError("bench", "the ceremony did not publish an election key") }
            // Decoded from its bytes, as the server receives it (points validated once, kept affine).
            let sample = try SignedBallot.decode(canonical: ballots[0].canonicalBytes)
            let context = BallotContent.context(electionHash: election.electionHash, electionKey: key,
                                                ballotID: sample.ballot.ballotID, district: Self.district)
            let rawCheck = try Self.measure(iterations: 200) {
                guard sample.hasValidSignature, sample.ballot.content.problem(in: contest, context: context) == nil else {
                    throw CommandError("bench", "a benchmark ballot failed its own check")
                }
            }
            let rawRate = 1_000_000 / rawCheck
            let decoded = try ballots.prefix(128).map { try SignedBallot.decode(canonical: $0.canonicalBytes) }
            let batchCosts = try Self.batchCosts(decoded, district: contest, electionHash: election.electionHash, key: key)
            // The voter's side in the same run: encrypting one ballot with every proof (OpenSSL,
            // constant time: the nonces are secret), to set beside other systems' encrypt times.
            // The election key's table is built once per process first (timed on its own), as
            // `voter simulate` and a polling station do; a one-ballot `voter cast` skips it.
            let tableBuild = try BallotContent.prepareEncryption(electionKey: key)
            let encryptRaw = try RawMultiplicationCost.measure(electionKey: key)
            let encrypt = try Self.measure(iterations: 50) {
                let ctx = BallotContent.context(electionHash: election.electionHash, electionKey: key,
                                                ballotID: try BallotID.random(), district: Self.district)
                _ = try BallotContent.encrypt(selections: [contest.options[0].id], district: contest, context: ctx)
            }
            let rawSign = try Self.rawVerifyPlusSign(iterations: 3000)
            let tally = tallyBallots > 0 ? try Self.tallyBenchmark(ballots: tallyBallots, contest: contest, progress: !output.json) : nil
            let databaseName: String
            if case .postgres = location { databaseName = "postgresql" } else { databaseName = "sqlite" }
            let result = Result(database: databaseName, instances: instanceCount, voters: voters, clients: clients, options: contest.options.count,
                                enrollment: enrollPhase, casting: castPhase, castCPU: castCPU, proofBatches: proofBatches,
                                proofCheckByBatchSize: batchCosts,
                                rawBallotCheckMicroseconds: rawCheck, rawBallotChecksPerSecondOneCore: rawRate,
                                ratioToRawOneCore: castPhase.perSecond / rawRate, rawEd25519VerifyPlusSignMicroseconds: rawSign,
                                encryptMicroseconds: encrypt, castRate: rate > 0 ? rate : nil,
                                encryptTableBuildMicroseconds: Double(tableBuild.components.seconds) * 1e6 + Double(tableBuild.components.attoseconds) / 1e12,
                                encryptRawCost: encryptRaw,
                                encryptInFixedBaseMultiplications: encrypt / encryptRaw.fixedBaseMicros,
                                tally: tally, cores: ProcessInfo.processInfo.activeProcessorCount)
            reporter.emit(result) {
                func ms(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "n/a" }
                let storage = databaseName == "sqlite" ? "SQLite" : "PostgreSQL, \(instanceCount) serve instance\(instanceCount == 1 ? "" : "s")"
                var cpu: [String] = castCPU.serverMsPerBallot.enumerated().map { i, v in "serve #\(i + 1) \(ms(v)) ms per ballot it took" }
                if instanceCount > 1 { cpu.append("all serve processes \(ms(castCPU.serversMsPerBallot)) ms") }
                if databaseName != "sqlite" { cpu.append("PostgreSQL \(ms(castCPU.postgresMsPerBallot)) ms") }
                cpu.append("load generator \(ms(castCPU.loadGeneratorMsPerBallot)) ms per ballot")
                let cpuLine: String = "  CPU per ballot while casting: " + cpu.joined(separator: ", ")
                var lines: [String] = [
                    "bench: \(voters) voters, \(contest.options.count)-option encrypted ballots, \(clients) concurrent clients, \(result.cores) cores, \(storage), servers and load generator on one machine",
                    "  enroll: \(fmt(enrollPhase.perSecond)) /s   p50 \(fmt(enrollPhase.p50Ms)) ms   p99 \(fmt(enrollPhase.p99Ms)) ms",
                    "  cast:   \(fmt(castPhase.perSecond)) ballots/s   p50 \(fmt(castPhase.p50Ms)) ms   p99 \(fmt(castPhase.p99Ms)) ms   (every proof verified by the server"
                        + (rate > 0 ? "; sent at a steady \(fmt(rate))/s, latency from each ballot's send time)" : ")"),
                    cpuLine,
                    proofBatches.map { "  proof batches while casting: \($0.batches), \(String(format: "%.1f", $0.meanBallots)) ballots each on average, \(String(format: "%.0f", $0.singleShare * 100)) % of them a single ballot" }
                        ?? "  proof batches while casting: not reported by the server",
                    "  proof check per ballot in batches of n (one core, µs): " + batchCosts.map { "\($0.ballots): \(fmt($0.microsecondsPerBallot))" }.joined(separator: ", "),
                    "  raw in-process ballot check (signature + \(contest.options.count) zero-or-one proofs + limit proof): \(fmt(rawCheck)) µs = \(fmt(rawRate)) /s on one core",
                    "  ratio cast rate / raw one-core check rate: \(String(format: "%.3f", result.ratioToRawOneCore))",
                    "  raw Ed25519 verify + sign: \(fmt(rawSign)) µs",
                    "  encrypting one \(contest.options.count)-option ballot with its proofs (the voter's side, one core): \(fmt(encrypt)) µs"
                        + " = \(String(format: "%.1f", result.encryptInFixedBaseMultiplications)) OpenSSL s·G of this run (\(String(format: "%.2f", encryptRaw.fixedBaseMicros)) µs;"
                        + " s·K \(String(format: "%.2f", encryptRaw.keyTableMicros)) µs with the key's table, \(String(format: "%.2f", encryptRaw.variableBaseMicros)) µs without;"
                        + " table built once in \(String(format: "%.1f", result.encryptTableBuildMicroseconds / 1000)) ms)",
                ]
                if let tally {
                    lines.append("  tally of \(tally.ballots) ballots × \(tally.options) options: aggregate \(String(format: "%.2f", tally.aggregateSeconds)) s, decryption by 3 of 5 trustees with proofs + combination \(String(format: "%.2f", tally.decryptionSeconds)) s; decoding a stored ballot with point validation \(fmt(tally.decodeMicrosecondsPerBallot)) µs")
                }
                return lines.joined(separator: "\n")
            }
        }
        try await store.storage.close()
    }

    /// Runs `work` over `items` with `clients` workers; returns results in order and timings.
    /// With `rate` > 0, item i is due at start + i/rate and its latency counts from then (open
    /// loop: a client that is late because the server is slow does not hide the delay).
    private func runConcurrently<Item: Sendable, Output: Sendable>(
        _ items: [Item], clients: Int, rate: Double = 0, progress: ProgressBar,
        _ work: @escaping @Sendable (Item) async throws -> Output
    ) async throws -> ([Output], Phase) {
        let next = WorkCounter()
        let started = ContinuousClock.now
        let collected = try await withThrowingTaskGroup(of: [(Int, Output, Double)].self) { group in
            for _ in 0..<min(clients, items.count) {
                group.addTask {
                    var mine: [(Int, Output, Double)] = []
                    while true {
                        let i = next.take()
                        guard i < items.count else { break }
                        var t0 = ContinuousClock.now
                        if rate > 0 {
                            let due = started + .seconds(Double(i) / rate)
                            if due > t0 { try await Task.sleep(until: due, clock: .continuous) }
                            t0 = due
                        }
                        let out = try await work(items[i])
                        mine.append((i, out, (ContinuousClock.now - t0).milliseconds))
                        progress.advance()
                    }
                    return mine
                }
            }
            var all: [(Int, Output, Double)] = []
            for try await part in group { all.append(contentsOf: part) }
            return all
        }
        let seconds = (ContinuousClock.now - started).seconds
        let latencies = collected.map(\.2).sorted()
        func pct(_ p: Double) -> Double { latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        let ordered = collected.sorted { $0.0 < $1.0 }.map(\.1)
        return (ordered, Phase(count: items.count, seconds: seconds, perSecond: Double(items.count) / seconds, p50Ms: pct(0.5), p99Ms: pct(0.99)))
    }

    /// Every instance's /metrics text, in order.
    static func metricsTexts(_ instances: [BallotServerClient]) async throws -> [String] {
        var texts: [String] = []
        for instance in instances { texts.append(try await instance.metricsText()) }
        return texts
    }

    static func measure(iterations: Int, _ body: () throws -> Void) throws -> Double {
        let started = ContinuousClock.now
        for _ in 0..<iterations { try body() }
        return (ContinuousClock.now - started).seconds * 1_000_000 / Double(iterations)
    }

    /// Tally and decryption of `ballots` 11-option ballots in process: homomorphic aggregate,
    /// 3-of-5 partial decryptions with proofs, their verification, Lagrange and discrete logs.
    /// Ciphertexts use consecutive nonces (r, r+1, …) so that making 100,000 valid ballots
    /// costs point additions, not scalar multiplications; the tally's work is the same.
    static func tallyBenchmark(ballots: Int, contest: District, progress: Bool) throws -> Tally {
        let electionHash = SHA256.hash(Array("bench".utf8))
        let manifest = ElectionManifest(electionId: "bench", name: "bench", districts: [contest], trustees: TrusteePolicy(count: 5, quorum: 3))
        let polynomial = try SecretPolynomial.random(degree: 2)
        let key = GroupElement.base(polynomial.coefficients[0])
        let width = contest.options.count
        let r0 = try Scalar.random()
        var alpha = GroupElement.base(r0)
        var rK = r0 * key
        var rows: [(district: String, ciphertexts: [Ciphertext])] = []
        rows.reserveCapacity(ballots)
        var expected = [UInt64](repeating: 0, count: width)
        let bar = ProgressBar("make ballots", total: ballots, enabled: progress)
        for b in 0..<ballots {
            let choice = b % width
            var row: [Ciphertext] = []
            for o in 0..<width {
                alpha = alpha + .generator
                rK = rK + key
                row.append(Ciphertext(alpha: alpha, beta: o == choice ? rK + .generator : rK))
            }
            expected[choice] += 1
            rows.append((contest.id, row))
            if b % 1000 == 999 { bar.advance(by: 1000) }
        }
        bar.finish()
        let g = GroupElement.generator
        let encoded = Ballot(electionHash: electionHash, ballotID: try BallotID.random(), district: contest.id,
                             content: BallotContent(ciphertexts: rows[0].ciphertexts,
                                                    proofs: Array(repeating: ZeroOrOneProof(a0: g, b0: g, a1: g, b1: g, c0: .one, z0: .one, z1: .one), count: width),
                                                    limitProof: KnownValueProof(a: g, b: g, z: .one))).canonicalBytes
        let decode = try measure(iterations: 200) { _ = try Ballot.decode(canonical: encoded) }

        let t0 = ContinuousClock.now
        let aggregate = TallyAggregate.sum(manifest: manifest, ballots: rows)
        let aggregateSeconds = (ContinuousClock.now - t0).seconds

        let t1 = ContinuousClock.now
        let trustees: [UInt32] = [2, 4, 5]
        var partials: [PartialDecryption] = []
        for index in trustees {
            let signer = try Ed25519PrivateKey()
            let share = polynomial.evaluate(at: UInt64(index))
            let partial = try PartialDecryption.make(electionHash: electionHash, index: index, secretShare: share,
                                                     aggregate: aggregate, signingKey: signer)
            guard partial.problem(electionHash: electionHash, aggregate: aggregate, publicShare: .base(share),
                                  signingKey: signer.publicKey) == nil else {
                throw CommandError("bench", "a partial decryption failed its own proof check")
            }
            partials.append(partial)
        }
        guard let results = ElectionResults.combine(manifest: manifest, aggregate: aggregate, partials: partials, roll: [:]),
              results.districts.first?.counts == expected else {
            throw CommandError("bench", "the benchmark tally did not decrypt to the counts that were cast")
        }
        let decryptionSeconds = (ContinuousClock.now - t1).seconds
        return Tally(ballots: ballots, options: width, aggregateSeconds: aggregateSeconds, decryptionSeconds: decryptionSeconds,
                     decodeMicrosecondsPerBallot: decode)
    }

    /// Microseconds for what the server must do per ballot in OpenSSL: verify the voter's
    /// Ed25519 signature and sign the receipt.
    static func rawVerifyPlusSign(iterations: Int) throws -> Double {
        let voter = try Ed25519PrivateKey()
        let server = try Ed25519PrivateKey()
        let message = [UInt8](repeating: 0x5a, count: 180)
        let signature = try voter.signature(for: message)
        var ok = 0
        let started = ContinuousClock.now
        for _ in 0..<iterations {
            if voter.publicKey.isValidSignature(signature, for: message) { ok += 1 }
            _ = try server.signature(for: message)
        }
        let elapsed = (ContinuousClock.now - started).seconds
        guard ok == iterations else { throw CommandError("bench", "signature verification failed during the raw benchmark") }
        return elapsed * 1_000_000 / Double(iterations)
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var milliseconds: Double { seconds * 1000 }
}

func fmt(_ v: Double) -> String { String(format: v >= 100 ? "%.0f" : "%.2f", v) }

/// Hands out work item indices to concurrent workers.
final class WorkCounter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.add(1, ordering: .relaxed).oldValue }
}
