import ArgumentParser
import Foundation
import GRDB
#if canImport(Glibc)
import Glibc
#endif
import VoterKit
import VotingCore

/// `ballot-server demo`: a whole small election on loopback, narrated, nothing to configure.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a narrated test election end to end on loopback in a temporary directory.")

    @Option(help: "Number of voters, spread over the districts.")
    var voters = 300
    @Option(help: "Number of districts that have voters (1-30).")
    var districts = 5
    @Option(help: "How many voters challenge an encryption before casting.")
    var challenges = 3
    @Option(help: "Keep the election's data in this directory instead of a temporary one.")
    var data: String?
    @Flag(name: .customLong("keep-serving"), help: "Leave the server running after the narration (Ctrl-C stops it).")
    var keepServing = false
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...30).contains(districts) else { throw ValidationError("--districts must be 1 to 30") }
        guard voters >= max(districts, 2) + 2, voters <= 100_000 else { throw ValidationError("--voters must be at least --districts + 2 (two voters are kept for the drills) and at most 100000") }
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
            var server = try ServerProcess(executable: currentExecutable(), dataDirectory: path)
            defer { server.stop() }
            narrator.step("Server listening", true, server.url)

            try await BallotServerClient.withPooledHTTPClient(connections: 16) { http in
            var client = try BallotServerClient(baseURL: server.url, http: http)

            // 3. The key ceremony: nobody, the server included, ever holds the election key.
            try await trustees.runCeremony(client: client)
            let ceremony = try await client.trustees()
            narrator.step("Key ceremony", ceremony.electionKey != nil,
                          "each trustee dealt Feldman-committed shares and verified the ones it received; joint key \(ceremony.electionKey?.key.hex.prefix(16) ?? "missing")… published in the log")
            // The commission opens voting over HTTP: its order, in a request signed with its key, a nonce and an expiry.
            let commissionKey = try dir.commissionKey()
            let commission = RequestSigner(signer: .commission, key: commissionKey, electionHash: store.electionHash)
            let openOrder = try WindowChange.sign(electionHash: store.electionHash, action: .open,
                                                  issuedAt: Timestamp(Date().timeIntervalSince1970 * 1000), commissionKey: commissionKey)
            let openBody = Array(try JSONEncoder().encode(WindowOrderBody(openOrder)))
            let openAuthorization = try commission.authorize(method: "POST", path: "/v1/commission/window", body: openBody)
            let opened: WindowResponse = try await client.post("/v1/commission/window", body: openBody, authorization: openAuthorization)
            narrator.step("Voting opened", opened.state == .open,
                          "by the commission's request signed with its key, a nonce and an expiry; the signed order is log entry \(opened.logIndex)")
            let election = try await VoterActions.fetchElection(client)

            // 4. Voters enroll and cast encrypted ballots, concurrently; some challenge first.
            // Two voters are kept back for the drills.
            let reserved = Array(codes.suffix(2))
            let voting = Array(codes.dropLast(2))
            let half = voting.count / 2
            let progress = ProgressBar("enroll and cast", total: voting.count, enabled: !output.json)
            let started = Date()
            let firstHalf = try await Self.castAll(Array(voting.prefix(half)), client: client, election: election,
                                                   challenges: challenges, progress: progress)

            // Drill: the server is killed with SIGKILL mid-election and restarted.
            let beforeKill = try await client.latestCheckpoint()
            server.stop(signal: SIGKILL)
            server = try ServerProcess(executable: currentExecutable(), dataDirectory: path)
            client = try BallotServerClient(baseURL: server.url, http: http)
            var survived = 0
            for voted in firstHalf {
                if let found = try? await client.lookup(trackingCode: voted.receipt.trackingCode),
                   found.logIndex == voted.receipt.logged.receipt.logIndex { survived += 1 }
            }
            let afterKill = try await client.latestCheckpoint()
            let consistent: Bool
            if afterKill.checkpoint.treeSize == beforeKill.checkpoint.treeSize {
                consistent = afterKill.checkpoint.rootHash == beforeKill.checkpoint.rootHash
            } else {
                let proof = try await client.consistencyProof(first: beforeKill.checkpoint.treeSize, second: afterKill.checkpoint.treeSize)
                consistent = (try? Merkle.verifyConsistency(size1: beforeKill.checkpoint.treeSize, size2: afterKill.checkpoint.treeSize,
                                                            root1: beforeKill.checkpoint.rootHash.bytes, root2: afterKill.checkpoint.rootHash.bytes,
                                                            proof: proof.proof.map(\.bytes))) != nil
            }
            narrator.step("Server killed (SIGKILL) and restarted", survived == firstHalf.count && consistent,
                          "after kill -9 at \(firstHalf.count) ballots, the restarted server (\(server.url)) still has all \(survived) acknowledged ballots at their receipts' log indices, and its log is consistent with the last checkpoint before the kill")

            let secondHalf = try await Self.castAll(Array(voting.dropFirst(half)), client: client, election: election,
                                                    challenges: 0, progress: progress)
            progress.finish()
            let results = firstHalf + secondHalf
            let elapsed = Date().timeIntervalSince(started)
            let rate = Double(results.count) / max(elapsed, 0.001)
            narrator.step("Challenged encryptions", true,
                          "\(results.filter(\.challenged).count) voters had an encryption opened and published as spoiled; each held exactly their choice, none is counted")
            narrator.step("Voters enrolled and cast", results.count == voting.count,
                          "\(results.count) encrypted ballots in \(String(format: "%.2f", elapsed)) s; the server checked every proof without learning a vote, each voter checked their receipt")

            // 5. Drills: refusals, each with its stable code, none of which stores anything.
            let reserve = try await VoterActions.enroll(client: client, personalNumber: reserved[0].personalNumber, code: reserved[0].code, election: election)
            let lossy = try await VoterActions.enroll(client: client, personalNumber: reserved[1].personalNumber, code: reserved[1].code, election: election)
            guard let key = election.electionKey, let home = election.manifest.district(reserve.district),
                  let elsewhere = election.manifest.districts.first(where: { $0.id != reserve.district }) else {
                throw CommandError("demo", "the election has no key or a single district")
            }
            if let first = results.first {
                let other = election.manifest.district(first.wallet.district)?.options.first { $0.id != first.choice }?.id ?? "against-all"
                narrator.step("Second vote refused", await Self.refused(code: "already-voted") {
                    _ = try await VoterActions.cast(client: client, wallet: first.wallet, selections: [other], election: election)
                }, "already-voted: the server keeps the first ballot (\(first.receipt.shortCode)) and names it")
            }
            let (genuine, _) = try VoterActions.prepareBallot(wallet: reserve, selections: [home.options[0].id], election: election)
            var forgedSignature = genuine.signature.bytes
            forgedSignature[0] ^= 0x01
            let forged = SignedBallot(ballot: genuine.ballot, signature: Ed25519Signature(trusted: forgedSignature))
            narrator.step("Forged signature refused", await Self.refused(code: "bad-signature") { _ = try await client.cast(forged) },
                          "bad-signature: a ballot whose signature does not verify under the enrolled key is refused")
            let signer = try reserve.signingKey()
            let foreignContext = BallotContent.context(electionHash: election.electionHash, electionKey: key, voterKey: reserve.voterKey, district: elsewhere.id)
            let (foreignContent, _) = try BallotContent.encrypt(selections: [elsewhere.options[0].id], district: elsewhere, context: foreignContext)
            let foreign = try Ballot(electionHash: election.electionHash, voterKey: reserve.voterKey, district: elsewhere.id, content: foreignContent).signed(with: signer)
            narrator.step("Ballot for another district refused", await Self.refused(code: "wrong-district") { _ = try await client.cast(foreign) },
                          "wrong-district: a voter enrolled in \(home.id) cannot vote in \(elsewhere.id)")
            let homeContext = BallotContent.context(electionHash: election.electionHash, electionKey: key, voterKey: reserve.voterKey, district: home.id)
            let (overContent, _) = try BallotContent.encrypt(selections: [home.options[0].id, home.options[1].id], district: home, context: homeContext)
            let overVote = try Ballot(electionHash: election.electionHash, voterKey: reserve.voterKey, district: home.id, content: overContent).signed(with: signer)
            narrator.step("Over-vote refused by its proof", await Self.refused(code: "invalid-choice") { _ = try await client.cast(overVote) },
                          "invalid-choice: two marks in a vote-for-1 contest fail the encrypted ballot's selection-limit proof; the server never sees the marks")
            // Drill: a voter's connection drops after sending; the retry gets the same receipt.
            let (sent, _) = try VoterActions.prepareBallot(wallet: lossy, selections: [home.options[0].id], election: election)
            let lost = try await client.cast(sent)
            let retried = try await VoterActions.submit(client: client, wallet: lossy, ballot: sent)
            narrator.step("Dropped connection retried", retried.logged.receipt == lost.logged.receipt,
                          "the answer to ballot \(retried.shortCode) was lost; sending the same signed ballot again returned the original receipt (log entry \(retried.logged.receipt.logIndex)), nothing counted twice")
            let reserveReceipt = try await VoterActions.submit(client: client, wallet: reserve, ballot: genuine)
            let allVoted = results + [Voted(wallet: lossy, choice: home.options[0].id, receipt: retried, challenged: false),
                                      Voted(wallet: reserve, choice: home.options[0].id, receipt: reserveReceipt, challenged: false)]

            // 6. Every voter checks their receipt against the live log.
            let live = client
            let verifyProgress = ProgressBar("verify receipts", total: allVoted.count, enabled: !output.json)
            let failures = await withTaskGroup(of: Int.self) { group in
                for voted in allVoted {
                    group.addTask {
                        let checks = await VoterActions.verify(client: live, receipt: voted.receipt)
                        verifyProgress.advance()
                        return checks.allSatisfy(\.passed) ? 0 : 1
                    }
                }
                return await group.reduce(0, +)
            }
            verifyProgress.finish()
            narrator.step("Every receipt verified", failures == 0,
                          "\(allVoted.count - failures) of \(allVoted.count) receipts: signed, included in the latest checkpoint, log consistent since")

            // Drill: someone with access to the database alters a stored ballot; the audit catches it.
            let tampered = try await Self.tamperDrill(databasePath: dir.databasePath, entry: allVoted[allVoted.count / 2].receipt.logged.receipt.logIndex, client: client)
            narrator.step("Altered database row caught by the audit", tampered.caught,
                          "one byte of log entry \(tampered.entry) was changed directly in SQLite; voter audit failed \(tampered.failed); the row was then restored")

            // 7. Close, aggregate, decryption by a quorum of trustees, results.
            // Drill: the captured request that opened voting is sent again.
            var replayCode = "accepted"
            do {
                let _: WindowResponse = try await client.post("/v1/commission/window", body: openBody, authorization: openAuthorization)
            } catch let error as VoterError {
                replayCode = error.code
            }
            narrator.step("Replayed commission request refused", replayCode == "replayed-request",
                          "the exact signed request that opened voting, sent again, was answered \(replayCode); nothing changed")
            let closeOrder = try WindowChange.sign(electionHash: store.electionHash, action: .close,
                                                   issuedAt: Timestamp(Date().timeIntervalSince1970 * 1000), commissionKey: commissionKey)
            let closed = try await client.signing(as: .commission, key: commissionKey, electionHash: store.electionHash).changeWindow(closeOrder)
            narrator.step("Voting closed", closed.state == .closed,
                          "by a signed commission request; the close order and the homomorphic aggregate of the counted ballots are in the log")
            let quorum = Array(1...UInt32(policy.quorum)).map { UInt32(policy.count) + 1 - $0 }.sorted()
            try await trustees.decrypt(client: client, indices: quorum)
            let tally = try await client.tally()
            let signed = tally.results
            var expected: [String: [String: UInt64]] = [:]
            for voted in allVoted { expected[voted.wallet.district, default: [:]][voted.choice, default: 0] += 1 }
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
            narrator.step("Where to look", true, keepServing
                ? "dashboard \(client.baseURL)/ · public record \(client.baseURL)/v1/record · data in \(path)"
                : "run with --keep-serving to keep the dashboard (\(client.baseURL)/) and the public record (\(client.baseURL)/v1/record) up; `ballot-server export` writes the record to a file")

            let passed = narrator.allPassed
            if output.json {
                reporter.emit(Summary(passed: passed, electionHash: store.electionHash.hex, voters: codes.count, ballots: allVoted.count,
                                      spoiled: results.filter(\.challenged).count, logSize: checkpoint.checkpoint.treeSize,
                                      rootHash: checkpoint.checkpoint.rootHash.hex, ballotsPerSecond: rate, results: signed?.results,
                                      steps: narrator.steps, dataDirectory: temporary ? nil : path)) { "" }
            } else {
                print(passed ? "\nDemo passed: every step above held." : "\nDemo FAILED: see the ✗ steps above.")
            }
            if keepServing && passed {
                if !output.json {
                    print("\nThe server keeps serving at \(server.url) (data in \(path)); press Ctrl-C to stop.")
                    print("  voter audit --server \(server.url)")
                }
                fflush(nil)
                await Self.waitForInterrupt()
            }
            if !passed { throw ExitCode(1) }
            }
        }
    }

    /// Enrolls and casts for `codes` with 16 concurrent voters; the first `challenges` challenge first.
    static func castAll(_ codes: [ElectionStore.IssuedCode], client: BallotServerClient, election: ElectionInfo,
                        challenges: Int, progress: ProgressBar) async throws -> [Voted] {
        try await withThrowingTaskGroup(of: Voted.self) { group in
            var out: [Voted] = []
            var next = 0
            func add(_ position: Int) {
                let issued = codes[position]
                group.addTask {
                    let wallet = try await VoterActions.enroll(client: client, personalNumber: issued.personalNumber,
                                                               code: issued.code, election: election)
                    let choice = election.manifest.district(wallet.district)?.options.randomElement()?.id ?? "against-all"
                    let challenged = position < challenges
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
    }

    /// Whether `body` is refused with the stable error `code`.
    static func refused(code: String, _ body: () async throws -> Void) async -> Bool {
        do {
            try await body()
            return false
        } catch let error as VoterError {
            return error.code == code
        } catch {
            return false
        }
    }

    /// Flips one byte of a logged ballot directly in the database, audits, restores the row.
    static func tamperDrill(databasePath: String, entry: UInt64, client: BallotServerClient) async throws -> (entry: UInt64, caught: Bool, failed: String) {
        let pool = try ElectionDatabase.open(path: databasePath)
        let original = try await pool.read { db in try Data.fetchOne(db, sql: "SELECT data FROM log_entries WHERE idx = ?", arguments: [Int64(entry)]) }
        guard var altered = original, !altered.isEmpty else { throw CommandError("demo", "log entry \(entry) is missing") }
        altered[altered.index(before: altered.endIndex)] ^= 0x01
        let changed = altered
        try await pool.write { db in try db.execute(sql: "UPDATE log_entries SET data = ? WHERE idx = ?", arguments: [changed, Int64(entry)]) }
        let report = try await AuditRunner.audit(client: client)
        try await pool.write { db in try db.execute(sql: "UPDATE log_entries SET data = ? WHERE idx = ?", arguments: [original, Int64(entry)]) }
        let failed = report.checks.filter { !$0.passed }.map { "check \($0.number) (\($0.name))" }
        return (entry, !report.passed && report.checks.contains { $0.number == AuditCheck.logRoot.rawValue && !$0.passed },
                failed.joined(separator: ", "))
    }

    static func waitForInterrupt() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            signal(SIGINT, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
            source.setEventHandler {
                source.cancel()
                done.resume()
            }
            source.resume()
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
