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
    // Computed, not stored: the help is in the language chosen before parsing (VoterCommandMain).
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "simulate",
            abstract: L("help.simulate.abstract"),
            discussion: L("help.simulate.discussion"))
    }

    @OptionGroup var serverOption: ServerOption
    @Option(help: ArgumentHelp(L("help.simulate.codes")))
    var codes: String
    @Option(help: ArgumentHelp(L("help.simulate.voters")))
    var voters: Int
    @Option(help: ArgumentHelp(L("help.simulate.concurrency")))
    var concurrency: Int
    @Option(help: ArgumentHelp(L("help.simulate.distribution")))
    var distribution: String?
    @Flag(help: ArgumentHelp(L("help.simulate.expect")))
    var expect = false
    @Option(name: .customLong("wait-seconds"), help: ArgumentHelp(L("help.simulate.wait-seconds")))
    var waitSeconds = 600
    @Option(name: .customLong("receipts-out"), help: ArgumentHelp(L("help.simulate.receipts-out")))
    var receiptsOut: String?
    @Option(name: .customLong("supersede-share"), help: ArgumentHelp(L("help.simulate.supersede-share")))
    var supersedeShare = "0"
    @Option(name: .customLong("station-key"), help: ArgumentHelp(L("help.simulate.station-key")))
    var stationKey: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard voters >= 1 else { throw ValidationError(L("args.voters")) }
        guard (1...1024).contains(concurrency) else { throw ValidationError(L("args.concurrency")) }
        guard (0...86_400).contains(waitSeconds) else { throw ValidationError(L("args.wait-seconds")) }
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
                    throw VoterError("station-key-required", L("simulate.station-key-required", ["share": supersedeShare]))
                }
                station = try StationKeyFile.load(path: stationKey)
            } else {
                station = nil
            }
            let all = try Simulation.loadCodes(path: codes)
            guard all.count >= voters else {
                throw VoterError("not-enough-voters", L("simulate.not-enough-voters", ["path": codes, "have": "\(all.count)", "voters": "\(voters)"]))
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
                    throw VoterError("bad-url", L("simulate.no-server"))
                }
                let election = try await VoterActions.fetchElection(client)
                for other in clients.dropFirst() {
                    let info = try await VoterActions.fetchElection(other)
                    guard info.electionHash == election.electionHash, info.serverKey == election.serverKey else {
                        throw VoterError("different-elections", L("simulate.different-elections", ["other": other.baseURL, "other_election": "\(info.electionHash.hex.prefix(16))…",
                                                                                          "server": client.baseURL, "election": "\(election.electionHash.hex.prefix(16))…"]))
                    }
                }
                switch election.state {
                case .open: break
                case .setup: throw VoterError("election-not-open", L("simulate.not-open", ["server": serverOption.server]))
                // A closed election never reopens: only its results and receipts are left to look at.
                case .closed: throw VoterError("election-closed", L("simulate.closed", ["server": serverOption.server]))
                }
                if let station {
                    let registered = try await client.stations()
                    guard registered.contains(try station.registration) else {
                        throw VoterError("station-not-registered", registered.contains { $0.index == station.index }
                            ? L("simulate.station-other-key", ["index": "\(station.index)", "path": stationKey ?? ""])
                            : L("simulate.station-not-registered", ["index": "\(station.index)", "name": station.name]))
                    }
                }
                let plan = try Simulation(voters: Array(all.prefix(voters)), manifest: election.manifest, distribution: planDistribution,
                                          supersedeShare: share)
                if !output.json {
                    let servers = clients.map(\.baseURL).joined(separator: ", ")
                    print(plan.skipped > 0
                          ? L("simulate.start-skipped", ["voters": "\(plan.assignments.count)", "skipped": "\(plan.skipped)", "first": "\(voters)",
                                                         "workers": "\(concurrency)", "servers": servers])
                          : L("simulate.start", ["voters": "\(plan.assignments.count)", "workers": "\(concurrency)", "servers": servers]))
                    if let station {
                        print(L("simulate.station-plan", ["count": "\(plan.supersessions.count)", "share": supersedeShare,
                                                          "index": "\(station.index)", "name": station.name]))
                    }
                    print(L(plan.supersessions.isEmpty ? "simulate.expected" : "simulate.expected-supervised"))
                    print(Self.countLines(plan.expected, manifest: election.manifest).joined(separator: "\n"))
                    fflush(nil)
                }
                let bar = ProgressBar(L("simulate.progress-cast"), total: plan.assignments.count, enabled: !output.json)
                let outcome = await plan.run(clients: clients, election: election, concurrency: concurrency,
                                             onReceipt: { receiptLog?.append($0) }) { bar.advance() }
                bar.finish()
                var counted = outcome.cast
                var stationOutcome: Simulation.StationOutcome?
                if let station, !plan.supersessions.isEmpty {
                    let stationBar = ProgressBar(L("simulate.progress-station"), total: plan.supersessions.filter { outcome.castAssignments.contains($0.assignment) }.count,
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
                        print(L("simulate.waiting", ["cast": "\(outcome.succeeded)", "voters": "\(outcome.voters)", "seconds": String(format: "%.1f", outcome.seconds),
                                                     "wait": "\(waitSeconds)"]))
                        fflush(nil)
                    }
                    let signed: SignedResults
                    do {
                        signed = try await Simulation.awaitResults(client: client, election: election, waitSeconds: waitSeconds)
                    } catch let error as VoterError {
                        throw VoterError(error.code, L("simulate.error-after-cast", ["reason": error.message, "cast": "\(outcome.succeeded)",
                                                                                      "voters": "\(outcome.voters)", "failed": "\(outcome.failed)"]),
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
                    L("simulate.summary", ["succeeded": "\(result.succeeded)", "voters": "\(result.voters)", "failed": "\(result.failed)"]),
                    "  " + L("simulate.throughput", ["rate": String(format: "%.2f", result.ballotsPerSecond), "seconds": String(format: "%.2f", result.seconds)]),
                    "  " + L("simulate.latency", ["p50": Self.ms(result.latencyMs.p50), "p95": Self.ms(result.latencyMs.p95), "p99": Self.ms(result.latencyMs.p99)]),
                ]
                for code in result.failuresByCode.keys.sorted() {
                    lines.append("  ✗ \(result.failuresByCode[code] ?? 0) × \(code): \(result.failureExamples[code] ?? "")")
                }
                if result.supersedeShare > 0 {
                    lines.append("  " + L("simulate.station-summary", ["cast": "\(result.supervised)", "sent": "\(result.supervisedAttempted)",
                                                                        "superseded": "\(result.superseded)", "failed": "\(result.supervisedFailed)"]))
                    for code in result.supervisedFailuresByCode.keys.sorted() {
                        lines.append("  ✗ " + L("simulate.station-failures", ["count": "\(result.supervisedFailuresByCode[code] ?? 0)", "code": code,
                                                                                "example": result.supervisedFailureExamples[code] ?? ""]))
                    }
                }
                if result.expect.checked {
                    if result.expect.mismatches.isEmpty {
                        lines.append(L(result.supervised > 0 ? "simulate.match-supervised" : "simulate.match", ["compared": "\(result.expect.compared)"]))
                    } else {
                        lines.append(L("simulate.mismatch", ["count": "\(result.expect.mismatches.count)", "compared": "\(result.expect.compared)"]))
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
            throw VoterError("invalid-supersede-share", L("simulate.invalid-share", ["value": text]))
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
