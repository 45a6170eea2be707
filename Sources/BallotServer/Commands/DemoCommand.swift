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
    @Option(help: "How many voters challenge an encryption before casting.")
    var challenges = 3
    @Option(help: "Keep the election's data in this directory instead of a temporary one.")
    var data: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...30).contains(districts) else { throw ValidationError("--districts must be 1 to 30") }
        guard voters >= districts, voters <= 100_000 else { throw ValidationError("--voters must be between --districts and 100000") }
        guard challenges >= 0, challenges <= voters else { throw ValidationError("--challenges must be 0 to --voters") }
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
        let spoiled: Int
        let logSize: UInt64
        let rootHash: String
        let ballotsPerSecond: Double
        let results: ElectionResults?
        let steps: [Step]
        let dataDirectory: String?
        enum CodingKeys: String, CodingKey {
            case passed, electionHash = "election_hash", voters, ballots, spoiled, logSize = "log_size", rootHash = "root_hash"
            case ballotsPerSecond = "ballots_per_second", results, steps, dataDirectory = "data_directory"
        }
    }

    struct Voted: Sendable {
        let wallet: Wallet
        let choice: String
        let receipt: BallotReceiptFile
        let challenged: Bool
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let narrator = Narrator(json: output.json)
            let temporary = data == nil
            let path = data ?? FileManager.default.temporaryDirectory.appendingPathComponent("ballot-demo-\(UUID().uuidString)").path
            defer { if temporary { try? FileManager.default.removeItem(atPath: path) } }
            let dir = DataDirectory(path: path)

            // 1. The commission sets up the election and registers the trustees.
            let store = try ElectionStore.create(in: dir, manifest: try ExampleElection.manifest())
            let policy = store.manifest.trustees
            narrator.step("Election created", true, "\(store.manifest.districts.count) districts, election hash \(store.electionHash.hex.prefix(16))…, manifest is log entry 0")
            let (_, codes) = try store.importRoll(ExampleElection.roll(voters: voters, districts: districts), rollSecret: try dir.rollSecret())
            narrator.step("Voter roll imported", true, "\(codes.count) voters in \(districts) districts; only keyed hashes of personal numbers are stored, one-time codes issued")
            let trustees = try LocalTrustees.register(in: store)
            narrator.step("Trustees registered", true, "\(policy.count) trustees, any \(policy.quorum) of whom can decrypt the tally and no fewer")

            // 2. The server runs as its own process on a free loopback port.
            let server = try ServerProcess(executable: currentExecutable(), dataDirectory: path)
            defer { server.stop() }
            narrator.step("Server listening", true, server.url)

            try await BallotServerClient.withPooledHTTPClient(connections: 16) { http in
            let client = try BallotServerClient(baseURL: server.url, http: http)

            // 3. The key ceremony: nobody, the server included, ever holds the election key.
            try await trustees.runCeremony(client: client)
            let ceremony = try await client.trustees()
            narrator.step("Key ceremony", ceremony.electionKey != nil,
                          "each trustee dealt Feldman-committed shares and verified the ones it received; joint key \(ceremony.electionKey?.key.hex.prefix(16) ?? "missing")… published in the log")
            _ = try store.changeWindow(.open, commissionKey: try dir.commissionKey())
            narrator.step("Voting opened", true, "the commission's signed order is in the log")
            let election = try await VoterActions.fetchElection(client)

            // 4. Every voter enrolls and casts an encrypted ballot, concurrently; some challenge first.
            let progress = ProgressBar("enroll and cast", total: codes.count, enabled: !output.json)
            let started = Date()
            let challengeCount = challenges
            let results = try await withThrowingTaskGroup(of: Voted.self) { group in
                var out: [Voted] = []
                var next = 0
                func add(_ position: Int) {
                    let issued = codes[position]
                    group.addTask {
                        let wallet = try await VoterActions.enroll(client: client, personalNumber: issued.personalNumber,
                                                                   code: issued.code, election: election)
                        let choice = election.manifest.district(wallet.district)?.options.randomElement()?.id ?? "against-all"
                        let challenged = position < challengeCount
                        let receipt = try await VoterActions.cast(client: client, wallet: wallet, selections: [choice],
                                                                  election: election, challenge: challenged)
                        progress.advance()
                        return Voted(wallet: wallet, choice: choice, receipt: receipt, challenged: challenged)
                    }
                }
                while next < min(codes.count, 16) { add(next); next += 1 }
                while let result = try await group.next() {
                    out.append(result)
                    if next < codes.count { add(next); next += 1 }
                }
                return out
            }
            progress.finish()
            let elapsed = Date().timeIntervalSince(started)
            let rate = Double(results.count) / max(elapsed, 0.001)
            narrator.step("Challenged encryptions", true,
                          "\(results.filter(\.challenged).count) voters had an encryption opened and published as spoiled; each held exactly their choice, none is counted")
            narrator.step("Every voter enrolled and cast", results.count == codes.count,
                          "\(results.count) encrypted ballots in \(String(format: "%.2f", elapsed)) s; the server checked every proof without learning a vote, each voter checked their receipt")

            // 5. Drills: a second, different ballot from the same voter.
            if let first = results.first {
                let other = election.manifest.district(first.wallet.district)?.options.first { $0.id != first.choice }?.id ?? "against-all"
                do {
                    _ = try await VoterActions.cast(client: client, wallet: first.wallet, selections: [other], election: election)
                    narrator.step("Second vote refused", false, "the server accepted a second ballot from the same voter")
                } catch let error as VoterError where error.code == "already-voted" {
                    narrator.step("Second vote refused", true, "\(error.code): the server keeps the first ballot (\(first.receipt.shortCode))")
                }
                let found = try await client.lookup(trackingCode: first.receipt.trackingCode)
                narrator.step("Tracking code lookup", found.logIndex == first.receipt.logged.receipt.logIndex,
                              "ballot \(first.receipt.shortCode) found at log entry \(found.logIndex) with an inclusion proof")
            }

            // 6. Every voter checks their receipt against the live log.
            let verifyProgress = ProgressBar("verify receipts", total: results.count, enabled: !output.json)
            let failures = await withTaskGroup(of: Int.self) { group in
                for voted in results {
                    group.addTask {
                        let checks = await VoterActions.verify(client: client, receipt: voted.receipt)
                        verifyProgress.advance()
                        return checks.allSatisfy(\.passed) ? 0 : 1
                    }
                }
                return await group.reduce(0, +)
            }
            verifyProgress.finish()
            narrator.step("Every receipt verified", failures == 0,
                          "\(results.count - failures) of \(results.count) receipts: signed, included in the latest checkpoint, log consistent since")

            // 7. Close, aggregate, decryption by a quorum of trustees, results.
            _ = try store.changeWindow(.close, commissionKey: try dir.commissionKey())
            narrator.step("Voting closed", true, "the signed close order and the homomorphic aggregate of the counted ballots are in the log")
            let quorum = Array(1...UInt32(policy.quorum)).map { UInt32(policy.count) + 1 - $0 }.sorted()
            try await trustees.decrypt(client: client, indices: quorum)
            let tally = try await client.tally()
            let signed = tally.results
            var expected: [String: [String: UInt64]] = [:]
            for voted in results { expected[voted.wallet.district, default: [:]][voted.choice, default: 0] += 1 }
            var matches = signed?.isValid(serverKey: election.serverKey) ?? false
            var lines: [String] = []
            for district in signed?.results.districts ?? [] where district.ballots > 0 {
                guard let d = store.manifest.district(district.district) else { continue }
                for (option, count) in zip(d.options, district.counts) where count != expected[d.id]?[option.id] ?? 0 { matches = false }
                let top = zip(d.options, district.counts).sorted { $0.1 > $1.1 }.prefix(3).map { "\($0.0.id) \($0.1)" }.joined(separator: ", ")
                let tie = district.tied.isEmpty ? "" : "; tied for the last seat(s): \(district.tied.joined(separator: ", "))"
                lines.append("    \(d.id) \(d.name): \(district.ballots)/\(district.roll) voted; leading \(top); elected \(district.elected.joined(separator: ", "))\(tie)")
            }
            narrator.step("Tally decrypted by trustees \(quorum.map(String.init).joined(separator: ", ")) of \(policy.count)", signed != nil && matches,
                          "every partial decryption's proof checked; the signed results equal exactly what the simulated voters cast\n" + lines.joined(separator: "\n"))

            // 8. Anyone can now check the whole election from the public record alone.
            let audit = try await AuditRunner.audit(client: client)
            let failed = audit.checks.filter { !$0.passed }.map { "\($0.number). \($0.name)" }
            narrator.step("Full audit", audit.passed,
                          failed.isEmpty ? "all \(audit.checks.count) checks of docs/verification.md passed on the public record (\(audit.entries) entries, \(audit.ballots) ballots); run it yourself: voter audit --server \(server.url)"
                                         : "failed checks: \(failed.joined(separator: "; "))")

            let checkpoint = try await client.latestCheckpoint()
            narrator.step("Summary", true, "log has \(checkpoint.checkpoint.treeSize) entries, root \(checkpoint.checkpoint.rootHash.hex.prefix(16))…, every one signed into a checkpoint")

            let passed = narrator.allPassed
            if output.json {
                reporter.emit(Summary(passed: passed, electionHash: store.electionHash.hex, voters: codes.count, ballots: results.count,
                                      spoiled: results.filter(\.challenged).count, logSize: checkpoint.checkpoint.treeSize,
                                      rootHash: checkpoint.checkpoint.rootHash.hex, ballotsPerSecond: rate, results: signed?.results,
                                      steps: narrator.steps, dataDirectory: temporary ? nil : path)) { "" }
            } else {
                print(passed ? "\nDemo passed: every step above held." : "\nDemo FAILED: see the ✗ steps above.")
            }
            if !passed { throw ExitCode(1) }
            }
        }
    }
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
