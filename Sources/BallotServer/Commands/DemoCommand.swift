import ArgumentParser
import Foundation
import VoterKit
import VotingCore

/// `ballot-server demo`: a whole small election on loopback, narrated, nothing to configure.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a narrated test election end to end on loopback in a temporary directory.")

    @Option(help: "Number of voters, spread over the districts.")
    var voters = 30
    @Option(help: "Number of districts that have voters (1-30).")
    var districts = 3
    @Option(help: "Keep the election's data in this directory instead of a temporary one.")
    var data: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...30).contains(districts) else { throw ValidationError("--districts must be 1 to 30") }
        guard voters >= districts, voters <= 100_000 else { throw ValidationError("--voters must be between --districts and 100000") }
    }

    struct Step: Encodable {
        let step: String
        let passed: Bool
        let detail: String
    }

    struct Summary: Encodable {
        let passed: Bool
        let electionHash: String
        let voters: Int
        let ballots: Int
        let logSize: UInt64
        let rootHash: String
        let ballotsPerSecond: Double
        let steps: [Step]
        let dataDirectory: String?
        enum CodingKeys: String, CodingKey {
            case passed, electionHash = "election_hash", voters, ballots, logSize = "log_size", rootHash = "root_hash"
            case ballotsPerSecond = "ballots_per_second", steps, dataDirectory = "data_directory"
        }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let narrator = Narrator(json: output.json)
            let temporary = data == nil
            let path = data ?? FileManager.default.temporaryDirectory.appendingPathComponent("ballot-demo-\(UUID().uuidString)").path
            defer { if temporary { try? FileManager.default.removeItem(atPath: path) } }
            let dir = DataDirectory(path: path)

            // 1. The commission sets up the election.
            let store = try ElectionStore.create(in: dir, manifest: try ExampleElection.manifest())
            narrator.step("Election created", true, "\(store.manifest.districts.count) districts, election hash \(store.electionHash.hex.prefix(16))…, manifest is log entry 0")
            let rows = ExampleElection.roll(voters: voters, districts: districts)
            let (_, codes) = try store.importRoll(rows, rollSecret: try dir.rollSecret())
            narrator.step("Voter roll imported", true, "\(codes.count) voters in \(districts) districts; only keyed hashes of personal numbers are stored, one-time codes issued")
            _ = try store.changeWindow(.open, commissionKey: try dir.commissionKey())
            narrator.step("Voting opened", true, "the commission's signed order is in the log")

            // 2. The server runs as its own process on a free loopback port.
            let server = try ServerProcess(executable: currentExecutable(), dataDirectory: path)
            defer { server.stop() }
            narrator.step("Server listening", true, server.url)

            try await BallotServerClient.withPooledHTTPClient(connections: 16) { http in
            let client = try BallotServerClient(baseURL: server.url, http: http)
            let election = try await VoterActions.fetchElection(client)

            // 3. Every voter enrolls and casts, concurrently.
            let progress = ProgressBar("enroll and cast", total: codes.count, enabled: !output.json)
            let started = Date()
            let results = try await withThrowingTaskGroup(of: (Wallet, BallotReceiptFile).self) { group in
                var out: [(Wallet, BallotReceiptFile)] = []
                var next = 0
                func add(_ issued: ElectionStore.IssuedCode) {
                    group.addTask {
                        let wallet = try await VoterActions.enroll(client: client, personalNumber: issued.personalNumber,
                                                                   code: issued.code, election: election)
                        let choice = election.manifest.district(wallet.district)?.options.randomElement()?.id ?? "against-all"
                        let receipt = try await VoterActions.cast(client: client, wallet: wallet, selections: [choice], election: election)
                        progress.advance()
                        return (wallet, receipt)
                    }
                }
                while next < min(codes.count, 32) { add(codes[next]); next += 1 }
                while let result = try await group.next() {
                    out.append(result)
                    if next < codes.count { add(codes[next]); next += 1 }
                }
                return out
            }
            progress.finish()
            let elapsed = Date().timeIntervalSince(started)
            let rate = Double(results.count) / max(elapsed, 0.001)
            narrator.step("Every voter enrolled and cast", results.count == codes.count,
                          "\(results.count) ballots in \(String(format: "%.2f", elapsed)) s; each receipt's signature and inclusion proof checked by the voter")

            // 4. Drills: the same ballot again, and a second, different ballot.
            if let (wallet, receipt) = results.first {
                let district = election.manifest.district(wallet.district)
                let again = try await client.lookup(trackingCode: receipt.trackingCode)
                narrator.step("Tracking code lookup", again.logIndex == receipt.logged.receipt.logIndex,
                              "ballot \(receipt.shortCode) found at log entry \(again.logIndex)")
                let other = district?.options.first { $0.id != receiptChoice(receipt) }?.id ?? "against-all"
                do {
                    _ = try await VoterActions.cast(client: client, wallet: wallet, selections: [other], election: election)
                    narrator.step("Second vote refused", false, "the server accepted a second ballot from the same voter")
                } catch let error as VoterError where error.code == "already-voted" {
                    narrator.step("Second vote refused", true, "\(error.code): the server keeps the first ballot (\(receipt.shortCode))")
                }
            }

            // 5. Every voter checks their receipt against the live log.
            let verifyProgress = ProgressBar("verify receipts", total: results.count, enabled: !output.json)
            let failures = await withTaskGroup(of: Int.self) { group in
                for (_, receipt) in results {
                    group.addTask {
                        let checks = await VoterActions.verify(client: client, receipt: receipt)
                        verifyProgress.advance()
                        return checks.allSatisfy(\.passed) ? 0 : 1
                    }
                }
                return await group.reduce(0, +)
            }
            verifyProgress.finish()
            narrator.step("Every receipt verified", failures == 0,
                          "\(results.count - failures) of \(results.count) receipts: signed, included in the latest checkpoint, log consistent since")

            let checkpoint = try await client.latestCheckpoint()
            let counts = try await store.counts()
            let summaryLine = "Log has \(checkpoint.checkpoint.treeSize) entries, root \(checkpoint.checkpoint.rootHash.hex.prefix(16))…; " +
                "ballots per district: " + store.manifest.districts.compactMap { d in counts.ballotsByDistrict[d.id].map { "\(d.id) \($0)" } }.joined(separator: ", ")
            narrator.step("Summary", true, summaryLine)

            let passed = narrator.allPassed
            if output.json {
                reporter.emit(Summary(passed: passed, electionHash: store.electionHash.hex, voters: codes.count, ballots: results.count,
                                      logSize: checkpoint.checkpoint.treeSize, rootHash: checkpoint.checkpoint.rootHash.hex,
                                      ballotsPerSecond: rate, steps: narrator.steps, dataDirectory: temporary ? nil : path)) { "" }
            } else {
                print(passed ? "\nDemo passed: every step above held." : "\nDemo FAILED: see the ✗ steps above.")
            }
            if !passed { throw ExitCode(1) }
            }
        }
    }
}

private func receiptChoice(_ receipt: BallotReceiptFile) -> String? {
    guard let entry = try? LogEntry.decode(canonical: receipt.logged.entry.bytes),
          let ballot = try? SignedBallot.decode(canonical: entry.payload) else { return nil }
    return ballot.ballot.content.selections.first
}

/// Prints each demo step as a short sentence with a pass/fail mark, and keeps them for --json.
final class Narrator: @unchecked Sendable {
    // Used from the demo's main task only.
    private(set) var steps: [DemoCommand.Step] = []
    let json: Bool

    init(json: Bool) { self.json = json }

    var allPassed: Bool { steps.allSatisfy(\.passed) }

    func step(_ title: String, _ passed: Bool, _ detail: String) {
        steps.append(.init(step: title, passed: passed, detail: detail))
        if !json {
            print("\(passed ? "✓" : "✗") \(title): \(detail)")
            fflush(nil)
        }
    }
}
