import ArgumentParser
import Foundation
import Synchronization
import VoterKit
import VotingCore

/// `ballot-server bench`: signed ballots cast over loopback by concurrent clients against a
/// real server process, compared with the raw in-process OpenSSL cost of the same work.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark casting over loopback (run with -c release); prints ballots/s, latency and the ratio to raw crypto cost.")

    @Option(help: "Voters to enroll and ballots to cast.")
    var voters = 5000
    @Option(help: "Concurrent HTTP clients.")
    var clients = 64
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (10...1_000_000).contains(voters) else { throw ValidationError("--voters must be 10 to 1000000") }
        guard (1...1024).contains(clients) else { throw ValidationError("--clients must be 1 to 1024") }
    }

    struct Phase: Encodable {
        let count: Int
        let seconds: Double
        let perSecond: Double
        let p50Ms: Double
        let p99Ms: Double
        enum CodingKeys: String, CodingKey { case count, seconds, perSecond = "per_second", p50Ms = "p50_ms", p99Ms = "p99_ms" }
    }

    struct Result: Encodable {
        let voters: Int
        let clients: Int
        let enrollment: Phase
        let casting: Phase
        let rawVerifyPlusSignMicroseconds: Double
        let rawVerifyPlusSignPerSecondOneCore: Double
        let ratioToRawOneCore: Double
        let cores: Int
        enum CodingKeys: String, CodingKey {
            case voters, clients, enrollment, casting, cores
            case rawVerifyPlusSignMicroseconds = "raw_verify_plus_sign_us"
            case rawVerifyPlusSignPerSecondOneCore = "raw_verify_plus_sign_per_second_one_core"
            case ratioToRawOneCore = "ratio_to_raw_one_core"
        }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            #if DEBUG
            if !output.json { print("warning: this is a debug build; run `swift run -c release ballot-server bench` for real figures") }
            #endif
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("ballot-bench-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: path) }
            let dir = DataDirectory(path: path)
            let store = try ElectionStore.create(in: dir, manifest: try ExampleElection.manifest())
            let (_, codes) = try store.importRoll(ExampleElection.roll(voters: voters, districts: 30), rollSecret: try dir.rollSecret())
            let trustees = try LocalTrustees.register(in: store)
            let server = try ServerProcess(executable: currentExecutable(), dataDirectory: path)
            defer { server.stop() }
            try await BallotServerClient.withPooledHTTPClient(connections: clients) { http in
            let client = try BallotServerClient(baseURL: server.url, http: http)
            try await trustees.runCeremony(client: client)
            _ = try store.changeWindow(.open, commissionKey: try dir.commissionKey())
            let election = try await VoterActions.fetchElection(client)

            let enrollProgress = ProgressBar("enroll", total: codes.count, enabled: !output.json)
            let (wallets, enrollPhase) = try await runConcurrently(codes, clients: clients, progress: enrollProgress) { issued in
                try await VoterActions.enroll(client: client, personalNumber: issued.personalNumber, code: issued.code, election: election)
            }
            enrollProgress.finish()

            // Signed before timing: the load generator should spend its CPU on HTTP, not on signing.
            let ballots = try wallets.map { wallet -> SignedBallot in
                let choice = election.manifest.district(wallet.district)?.options.first?.id ?? "against-all"
                return try VoterActions.prepareBallot(wallet: wallet, selections: [choice], election: election).0
            }
            let castProgress = ProgressBar("cast", total: ballots.count, enabled: !output.json)
            let (_, castPhase) = try await runConcurrently(ballots, clients: clients, progress: castProgress) { ballot in
                let response = try await client.cast(ballot)
                guard response.trackingCode == ballot.trackingCode else { throw VoterError("bench", "tracking code mismatch") }
                return response.logged.receipt.logIndex
            }
            castProgress.finish()

            let raw = try Self.rawVerifyPlusSign(iterations: 3000)
            let rawRate = 1_000_000 / raw
            let result = Result(voters: voters, clients: clients, enrollment: enrollPhase, casting: castPhase,
                                rawVerifyPlusSignMicroseconds: raw, rawVerifyPlusSignPerSecondOneCore: rawRate,
                                ratioToRawOneCore: castPhase.perSecond / rawRate, cores: ProcessInfo.processInfo.activeProcessorCount)
            reporter.emit(result) {
                """
                bench: \(voters) voters, \(clients) concurrent clients, \(result.cores) cores, server and load generator on one machine
                  enroll: \(fmt(enrollPhase.perSecond)) /s   p50 \(fmt(enrollPhase.p50Ms)) ms   p99 \(fmt(enrollPhase.p99Ms)) ms
                  cast:   \(fmt(castPhase.perSecond)) ballots/s   p50 \(fmt(castPhase.p50Ms)) ms   p99 \(fmt(castPhase.p99Ms)) ms
                  raw OpenSSL Ed25519 verify + sign in-process: \(fmt(raw)) µs = \(fmt(rawRate)) /s on one core
                  ratio cast rate / raw one-core rate: \(String(format: "%.3f", result.ratioToRawOneCore))
                """
            }
            }
        }
    }

    /// Runs `work` over `items` with `clients` workers; returns results in order and timings.
    private func runConcurrently<Item: Sendable, Output: Sendable>(
        _ items: [Item], clients: Int, progress: ProgressBar,
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
                        let t0 = ContinuousClock.now
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
