import ArgumentParser
import AsyncHTTPClient
import Foundation
import Synchronization
import VoterKit
import VotingCore

/// `voter simulate`: the first N voters of a codes file enroll and cast encrypted ballots
/// with C concurrent workers; throughput, latency and failures are reported, and with
/// `--expect` the signed results are awaited and compared with what was cast.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Enroll and cast for many voters from a codes file, concurrently; report ballots/s and latency, and with --expect check the published results.",
        discussion: """
            --server may name several instances of one election, separated by commas (e.g. behind no load balancer): voter i \
            enrolls and casts through instance i mod n.

            The codes file is the one `ballot-server roll import --codes-out` writes (personal_number,district,code,commitment); the \
            first --voters lines are used. Each voter's key is generated and kept in memory only.

            --distribution FILE is JSON mapping district id -> option id -> share or count, e.g. \
            {"d01": {"c01": 0.5, "c02": 0.25, "against-all": 0.25}, "d02": {"c01": 3, "c03": 2}}. A district whose numbers are all \
            integers gets exactly those counts (at most as many as its voters among the first N); otherwise its numbers are shares \
            that sum to 1, rounded by largest remainder over its voters. Voters of districts the file does not name are not used. \
            Without --distribution every voter marks a random option.

            --expect waits (polling every second, up to --wait-seconds) until the commission closes voting and a quorum of \
            trustees decrypts, checks the results' signature, and compares every count in the districts this run cast in with \
            what it cast. Exit code 1 when a count differs or a voter failed, 0 otherwise; 2 on an error.

            --supersede-share S --station-key FILE: after every voter has cast remotely, the share S (0 to 1) of the planned voters, \
            rounded to the nearest whole number, also vote at the polling station whose key file is FILE (made by `ballot-server \
            station keygen` and registered with `ballot-server station add`): a supervised ballot, cast like `ballot-server station \
            cast` does, that supersedes their remote one (docs/protocol.md §16). The voters are chosen deterministically, spread \
            evenly over the plan in file order (positions ⌊k·N/m⌋); each marks the option after their remote one in the ballot's \
            order, so a superseded ballot counted by mistake shows as a mismatch. The expected counts are then what should be \
            counted: remote ballots not superseded plus supervised ballots, and --expect compares the results with those.
            """)

    @OptionGroup var serverOption: ServerOption
    @Option(help: "The codes file written by `ballot-server roll import --codes-out` (personal_number,district,code,commitment).")
    var codes: String
    @Option(help: "How many voters to use: the first N of the codes file.")
    var voters: Int
    @Option(help: "Concurrent workers (each enrolls a voter, then casts their ballot).")
    var concurrency: Int
    @Option(help: "JSON file: district id -> option id -> share (fraction) or count (integer).")
    var distribution: String?
    @Flag(help: "After casting, wait for the signed results and compare them with what this run cast.")
    var expect = false
    @Option(name: .customLong("wait-seconds"), help: "With --expect: how long to wait for the results.")
    var waitSeconds = 600
    @Option(name: .customLong("receipts-out"), help: "Append every receipt received, one JSON line each, as it arrives (a new file).")
    var receiptsOut: String?
    @Option(name: .customLong("supersede-share"), help: "Share of the voters (0 to 1, e.g. 0.05) who, after casting remotely, vote again at a polling station; needs --station-key.")
    var supersedeShare = "0"
    @Option(name: .customLong("station-key"), help: "With --supersede-share: the polling station's key file (`ballot-server station keygen --out`), registered in this election.")
    var stationKey: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard voters >= 1 else { throw ValidationError("--voters must be at least 1") }
        guard (1...1024).contains(concurrency) else { throw ValidationError("--concurrency must be 1 to 1024") }
        guard (0...86_400).contains(waitSeconds) else { throw ValidationError("--wait-seconds must be 0 to 86400") }
    }

    struct Latency: Encodable {
        let p50: Double
        let p95: Double
        let p99: Double
    }

    struct Expectation: Encodable {
        let checked: Bool
        let matched: Bool?
        let compared: Int
        let mismatches: [Simulation.Mismatch]

        enum CodingKeys: String, CodingKey { case checked, matched, compared, mismatches }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(checked, forKey: .checked)
            try c.encode(matched, forKey: .matched)
            try c.encode(compared, forKey: .compared)
            try c.encode(mismatches, forKey: .mismatches)
        }
    }

    struct Result: Encodable {
        let voters: Int
        let skipped: Int
        let succeeded: Int
        let failed: Int
        let failuresByCode: [String: Int]
        let failureExamples: [String: String]
        let seconds: Double
        let ballotsPerSecond: Double
        let latencyMs: Latency
        let expected: [String: [String: Int]]
        let expect: Expectation
        let supersedeShare: Double
        /// Supervised ballots sent at the station, recorded, superseding a remote ballot, failed.
        let supervisedAttempted: Int
        let supervised: Int
        let superseded: Int
        let supervisedFailed: Int
        let supervisedFailuresByCode: [String: Int]
        let supervisedFailureExamples: [String: String]

        enum CodingKeys: String, CodingKey {
            case voters, skipped, succeeded, failed, seconds, expected, expect, supervised, superseded
            case supersedeShare = "supersede_share"
            case supervisedAttempted = "supervised_attempted"
            case supervisedFailed = "supervised_failed"
            case supervisedFailuresByCode = "supervised_failures_by_code"
            case supervisedFailureExamples = "supervised_failure_examples"
            case failuresByCode = "failures_by_code"
            case failureExamples = "failure_examples"
            case ballotsPerSecond = "ballots_per_second"
            case latencyMs = "latency_ms"
        }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        var passed = false
        try await reporter.run {
            let share = try Self.parseShare(supersedeShare)
            let station: StationKeyFile?
            if share > 0 {
                guard let stationKey else {
                    throw VoterError("station-key-required", "--supersede-share \(supersedeShare) sends voters to a polling station, which signs with its key: pass --station-key FILE (made by `ballot-server station keygen --out FILE` and registered with `ballot-server station add`)")
                }
                station = try StationKeyFile.load(path: stationKey)
            } else {
                station = nil
            }
            let all = try Simulation.loadCodes(path: codes)
            guard all.count >= voters else {
                throw VoterError("not-enough-voters", "\(codes) holds \(all.count) voters, fewer than --voters \(voters); lower --voters or import a larger roll")
            }
            let planDistribution = try distribution.map { try Simulation.Distribution.load(path: $0) }
            let receiptLog = try receiptsOut.map { try ReceiptLog(path: $0) }
            // With several instances a dead one must answer at once so voters fail over.
            let several = serverOption.server.contains(",")
            let result: Result = try await BallotServerClient.withPooledHTTPClient(connections: concurrency, caFile: serverOption.caFile,
                                                                                    retryConnections: !several) { http in
                // --server URL1,URL2,… spreads the voters over several instances of one election
                // (voter i enrolls and casts through instance i mod n).
                let urls = serverOption.server.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                let clients = try urls.map { try BallotServerClient(baseURL: $0, http: http) }
                guard let client = clients.first else {
                    throw VoterError("bad-url", "--server names no server; pass e.g. --server http://127.0.0.1:8080 (several: separated by commas)")
                }
                let election = try await VoterActions.fetchElection(client)
                for other in clients.dropFirst() {
                    let info = try await VoterActions.fetchElection(other)
                    guard info.electionHash == election.electionHash, info.serverKey == election.serverKey else {
                        throw VoterError("different-elections", "\(other.baseURL) runs election \(info.electionHash.hex.prefix(16))…, not \(client.baseURL)'s \(election.electionHash.hex.prefix(16))…; every --server must be an instance of the same election")
                    }
                }
                guard election.state == .open else {
                    throw VoterError("election-not-open", "voting is \(election.state.rawValue) on \(serverOption.server); the commission must open it (`ballot-server open`) before a simulation can cast")
                }
                if let station {
                    let registered = try await client.stations()
                    guard registered.contains(try station.registration) else {
                        throw VoterError("station-not-registered", registered.contains { $0.index == station.index }
                            ? "station \(station.index) of \(stationKey ?? "") has another key in this election (is the key file from another election?); pass the key file of a station registered here (GET /v1/stations lists them)"
                            : "station \(station.index) (\(station.name)) is not registered in this election; the commission registers it with `ballot-server station add --public FILE`, then run again")
                    }
                }
                let plan = try Simulation(voters: Array(all.prefix(voters)), manifest: election.manifest, distribution: planDistribution,
                                          supersedeShare: share)
                if !output.json {
                    print("Simulating \(plan.assignments.count) voters\(plan.skipped > 0 ? " (\(plan.skipped) of the first \(voters) not used by the distribution)" : "") with \(concurrency) workers against \(clients.map(\.baseURL).joined(separator: ", ")).")
                    if let station {
                        print("Then \(plan.supersessions.count) of them (share \(supersedeShare), spread evenly over the plan) vote again at station \(station.index) (\(station.name)), superseding their remote ballot.")
                    }
                    print(plan.supersessions.isEmpty ? "Expected counts (what this run casts):"
                                                     : "Expected counts (what should be counted: remote ballots not superseded + supervised ballots):")
                    print(Self.countLines(plan.expected, manifest: election.manifest).joined(separator: "\n"))
                    fflush(nil)
                }
                let bar = ProgressBar("enroll+cast", total: plan.assignments.count, enabled: !output.json)
                let outcome = await plan.run(clients: clients, election: election, concurrency: concurrency,
                                             onReceipt: { receiptLog?.append($0) }) { bar.advance() }
                bar.finish()
                var counted = outcome.cast
                var stationOutcome: Simulation.StationOutcome?
                if let station, !plan.supersessions.isEmpty {
                    let stationBar = ProgressBar("station", total: plan.supersessions.filter { outcome.castAssignments.contains($0.assignment) }.count,
                                                 enabled: !output.json)
                    let done = await plan.runStation(client: client, election: election, key: station, remote: outcome,
                                                     concurrency: concurrency) { stationBar.advance() }
                    stationBar.finish()
                    counted = done.counted
                    stationOutcome = done
                }

                var expectation = Expectation(checked: false, matched: nil, compared: 0, mismatches: [])
                if expect {
                    if !output.json {
                        print("Cast \(outcome.succeeded) of \(outcome.voters) ballots in \(String(format: "%.1f", outcome.seconds)) s. Waiting up to \(waitSeconds) s for signed results (the commission closes voting, a quorum of trustees decrypts)…")
                        fflush(nil)
                    }
                    let signed: SignedResults
                    do {
                        signed = try await Simulation.awaitResults(client: client, election: election, waitSeconds: waitSeconds)
                    } catch let error as VoterError {
                        throw VoterError(error.code, "\(error.message) (this run cast \(outcome.succeeded) of \(outcome.voters) ballots; \(outcome.failed) failed)",
                                         status: error.status, trackingCode: error.trackingCode)
                    }
                    let (compared, mismatches) = Simulation.compare(cast: counted, results: signed.results, manifest: election.manifest)
                    expectation = Expectation(checked: true, matched: mismatches.isEmpty, compared: compared, mismatches: mismatches)
                }
                return Result(voters: outcome.voters, skipped: plan.skipped, succeeded: outcome.succeeded, failed: outcome.failed,
                              failuresByCode: outcome.failuresByCode, failureExamples: outcome.failureExamples,
                              seconds: outcome.seconds, ballotsPerSecond: outcome.ballotsPerSecond,
                              latencyMs: Latency(p50: outcome.latency.p50, p95: outcome.latency.p95, p99: outcome.latency.p99),
                              expected: plan.expected, expect: expectation, supersedeShare: share,
                              supervisedAttempted: stationOutcome?.attempted ?? 0, supervised: stationOutcome?.cast ?? 0,
                              superseded: stationOutcome?.superseded ?? 0, supervisedFailed: stationOutcome?.failed ?? 0,
                              supervisedFailuresByCode: stationOutcome?.failuresByCode ?? [:],
                              supervisedFailureExamples: stationOutcome?.failureExamples ?? [:])
            }
            passed = result.failed == 0 && result.supervisedFailed == 0 && result.expect.matched != false
            reporter.emit(result) {
                var lines = [
                    "\(result.succeeded) of \(result.voters) voters enrolled and cast; \(result.failed) failed.",
                    "  throughput: \(String(format: "%.2f", result.ballotsPerSecond)) ballots/s over \(String(format: "%.2f", result.seconds)) s",
                    "  latency (enroll + cast per voter): p50 \(Self.ms(result.latencyMs.p50)) ms   p95 \(Self.ms(result.latencyMs.p95)) ms   p99 \(Self.ms(result.latencyMs.p99)) ms",
                ]
                for code in result.failuresByCode.keys.sorted() {
                    lines.append("  ✗ \(result.failuresByCode[code] ?? 0) × \(code): \(result.failureExamples[code] ?? "")")
                }
                if result.supersedeShare > 0 {
                    lines.append("  polling station: \(result.supervised) of \(result.supervisedAttempted) voters sent there cast a supervised ballot; \(result.superseded) remote ballots superseded; \(result.supervisedFailed) failed.")
                    for code in result.supervisedFailuresByCode.keys.sorted() {
                        lines.append("  ✗ station: \(result.supervisedFailuresByCode[code] ?? 0) × \(code): \(result.supervisedFailureExamples[code] ?? "")")
                    }
                }
                if result.expect.checked {
                    if result.expect.mismatches.isEmpty {
                        lines.append("✓ The signed results (server signature verified) match what this run cast\(result.supervised > 0 ? " (remote ballots not superseded + supervised ballots)" : ""): \(result.expect.compared) counts compared.")
                    } else {
                        lines.append("✗ The signed results (server signature verified) differ from what this run cast in \(result.expect.mismatches.count) of \(result.expect.compared) counts:")
                        for m in result.expect.mismatches { lines.append("    \(m)") }
                    }
                }
                return lines.joined(separator: "\n")
            }
        }
        if !passed { throw ExitCode(1) }
    }

    /// `--supersede-share`: a fraction from 0 to 1, refused with a code (and in --json) otherwise.
    static func parseShare(_ text: String) throws -> Double {
        guard let share = Double(text.trimmingCharacters(in: .whitespaces)), share.isFinite, (0...1).contains(share) else {
            throw VoterError("invalid-supersede-share", "--supersede-share must be a fraction from 0 to 1 (0.05 sends one voter in twenty to the polling station), not \(text)")
        }
        return share
    }

    static func ms(_ v: Double) -> String { String(format: v >= 100 ? "%.0f" : "%.1f", v) }

    /// `d01: c01 3, c02 2, against-all 0`, in manifest order.
    static func countLines(_ counts: [String: [String: Int]], manifest: ElectionManifest) -> [String] {
        counts.keys.sorted().map { districtId in
            let perOption = counts[districtId] ?? [:]
            let order = manifest.district(districtId)?.options.map(\.id) ?? perOption.keys.sorted()
            return "  \(districtId): " + order.map { "\($0) \(perOption[$0] ?? 0)" }.joined(separator: ", ")
        }
    }
}
