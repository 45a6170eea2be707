import ArgumentParser
import Foundation
import GRDB
import Synchronization
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
        let code: String
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
            // Ctrl-C and SIGTERM both stop the server and remove the temporary directory.
            let cleanup = DemoCleanup(path: temporary ? path : nil)
            defer { cleanup.run() }
            let dir = DataDirectory(path: path)

            // 1. The commission sets up the election, its registrar imports the roll, trustees and a station are appointed.
            let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: try ExampleElection.manifest())
            let policy = store.manifest.trustees
            narrator.step("Election created", true, "\(store.manifest.districts.count) districts; election hash \(store.electionHash.hex.prefix(16))… commits to the manifest, the server and commission keys and a random nonce (log entry 0), so no other election ever shares it")
            let commissionKey = try dir.commissionKey()
            let (_, codes) = try await store.importRoll(ExampleElection.roll(voters: voters, districts: districts), rollSecret: try dir.rollSecret(),
                                                        commissionKey: commissionKey)
            narrator.step("Voter roll imported", true, "\(codes.count) voters in \(districts) districts: only keyed hashes of personal numbers are stored; each voter's 80-bit one-time code is published only as a salted slow-hash commitment, in lists signed by the commission's registrar key, so the server alone cannot enroll anyone")
            let trustees = try await LocalTrustees.register(in: store, commissionKey: commissionKey)
            narrator.step("Trustees appointed", true, "\(policy.count) trustees, each registration signed by the trustee and by the commission; any \(policy.quorum) can decrypt the tally and no fewer")
            let stationSeed = try Ed25519PrivateKey()
            let station = StationRegistration(index: 1, name: "Consulate polling station", signingKey: stationSeed.publicKey)
            _ = try await store.appointStation(station, commissionKey: commissionKey)
            narrator.step("Polling station registered", true, "station 1 (\(station.name)): its key is in the log, signed by the commission")

            // 2. The server runs as its own process on a free loopback port.
            var server = try ServerProcess(executable: currentExecutable(), dataDirectory: path)
            cleanup.server = server
            narrator.step("Server listening", true, server.url)

            try await BallotServerClient.withPooledHTTPClient(connections: 16) { http in
            var client = try BallotServerClient(baseURL: server.url, http: http)

            // 3. The key ceremony: nobody, the server included, ever holds the election key.
            try await trustees.runCeremony(client: client)
            let ceremony = try await client.trustees()
            narrator.step("Key ceremony", ceremony.electionKey != nil,
                          "each trustee dealt Feldman-committed shares and verified the ones it received; joint key \(ceremony.electionKey?.key.hex.prefix(16) ?? "missing")… published in the log")
            // The commission opens voting over HTTP: its order, in a request signed with its key, a nonce and an expiry.
            let commission = RequestSigner(signer: .commission, key: commissionKey, electionHash: store.electionHash)
            let openOrder = try WindowChange.sign(electionHash: store.electionHash, action: .open,
                                                  issuedAt: Timestamp(Date().timeIntervalSince1970 * 1000), commissionKey: commissionKey)
            let openBody = Array(try JSONEncoder().encode(WindowOrderBody(openOrder)))
            let openAuthorization = try commission.authorize(method: "POST", path: "/v1/commission/window", body: openBody)
            let opened: WindowResponse = try await client.post("/v1/commission/window", body: openBody, authorization: openAuthorization)
            narrator.step("Voting opened", opened.state == .open,
                          "by the commission's request signed with its key, a nonce and an expiry; the signed order is log entry \(opened.logIndex)")
            let election = try await VoterActions.fetchElection(client)
            guard let key = election.electionKey else { throw CommandError("demo", "the ceremony published no election key") }

            // 4. Voters enroll and cast encrypted ballots, concurrently; some challenge first.
            // Four voters are kept back for the drills.
            let reserved = Array(codes.suffix(4))
            let voting = Array(codes.dropLast(4))
            let half = voting.count / 2
            let progress = ProgressBar("enroll and cast", total: voting.count, enabled: !output.json)
            let started = Date()
            let firstHalf = try await Self.castAll(Array(voting.prefix(half)), client: client, election: election,
                                                   challenges: challenges, progress: progress)

            // Drill: the server is killed with SIGKILL mid-election and restarted.
            let beforeKill = try await client.latestCheckpoint()
            server.stop(signal: SIGKILL)
            server = try ServerProcess(executable: currentExecutable(), dataDirectory: path)
            cleanup.server = server
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
            narrator.step("Voters enrolled and cast", results.count == voting.count,
                          "\(results.count) encrypted ballots in \(String(format: "%.2f", elapsed)) s; the server checked every proof without learning a vote, each voter checked their receipt")

            // Drill: what a challenge publishes. Nothing in the spoiled entry names or points to a voter.
            let anonymity = try await Self.challengeAnonymity(client: client, election: election, key: key)
            narrator.step("Challenged encryptions reveal nothing about the voter", anonymity.passed,
                          "\(results.filter(\.challenged).count) voters had an encryption opened and published as spoiled (each held exactly their choice, none counted); the \(anonymity.spoiled) spoiled entries contain none of the \(anonymity.enrolled) enrolled keys, and their proofs are bound to their own random ballot ids: bound to any enrolled key instead, none verifies")

            // 5. Drills: refusals, each with its stable code, none of which stores anything.
            let reserve = try await VoterActions.enroll(client: client, personalNumber: reserved[0].personalNumber, code: reserved[0].code, election: election)
            guard let home = election.manifest.district(try reserve.enrolledDistrict()),
                  let elsewhere = election.manifest.districts.first(where: { $0.id != home.id }) else {
                throw CommandError("demo", "the election has a single district")
            }
            if let first = results.first {
                let other = election.manifest.district(try first.wallet.enrolledDistrict())?.options.first { $0.id != first.choice }?.id ?? "against-all"
                narrator.step("Second vote refused", await Self.refused(code: "already-voted") {
                    var fresh = first.wallet
                    fresh.cast = nil
                    _ = try await VoterActions.castOrResend(client: client, wallet: &fresh, selections: [other], election: election, store: VoterActions.NoWalletFile())
                }, "already-voted: the server keeps the first ballot (\(first.receipt.shortCode)) and names it")
            }
            let signer = try reserve.signingKey()
            let (genuineBallot, _) = try VoterActions.prepareBallot(wallet: reserve, selections: [home.options[0].id], election: election)
            let genuine = try genuineBallot.cast(with: signer)
            var forgedSignature = genuine.signature.bytes
            forgedSignature[0] ^= 0x01
            let forged = SignedBallot(ballot: genuine.ballot, voterKey: reserve.voterKey, signature: Ed25519Signature(trusted: forgedSignature))
            narrator.step("Forged signature refused", await Self.refused(code: "bad-signature") { _ = try await client.cast(forged) },
                          "bad-signature: a ballot whose signature does not verify under the enrolled key is refused")
            let (foreign, _) = try VoterActions.encrypt(selections: [elsewhere.options[0].id], district: elsewhere, electionHash: election.electionHash, electionKey: key)
            narrator.step("Ballot for another district refused", await Self.refused(code: "wrong-district") { _ = try await client.cast(try foreign.cast(with: signer)) },
                          "wrong-district: a voter enrolled in \(home.id) cannot vote in \(elsewhere.id)")
            let id = try BallotID.random()
            let context = BallotContent.context(electionHash: election.electionHash, electionKey: key, ballotID: id, district: home.id)
            let (overContent, _) = try BallotContent.encrypt(selections: [home.options[0].id, home.options[1].id], district: home, context: context)
            let overVote = Ballot(electionHash: election.electionHash, ballotID: id, district: home.id, content: overContent)
            narrator.step("Over-vote refused by its proof", await Self.refused(code: "invalid-choice") { _ = try await client.cast(try overVote.cast(with: signer)) },
                          "invalid-choice: two marks in a vote-for-1 contest fail the encrypted ballot's selection-limit proof; the server never sees the marks")

            // Drill: a voter's answer is lost after the server stored the ballot; the wallet kept it, the rerun gets the same receipt.
            var lossy = try await VoterActions.prepareEnrollment(client: client, personalNumber: reserved[1].personalNumber, code: reserved[1].code, election: election)
            lossy = try await VoterActions.completeEnrollment(client: client, wallet: lossy, store: VoterActions.NoWalletFile())
            let (lossyBallot, _) = try VoterActions.prepareBallot(wallet: lossy, selections: [home.options[0].id], election: election)
            let sent = try lossyBallot.cast(with: try lossy.signingKey())
            lossy.pendingBallot = sent.wire
            let lost = try await client.cast(sent)
            let retried = try await VoterActions.castOrResend(client: client, wallet: &lossy, selections: [home.options[1].id], election: election, store: VoterActions.NoWalletFile())
            narrator.step("Lost answer, same receipt", retried.resumed && retried.receipt.logged.receipt == lost.logged.receipt,
                          "the answer to ballot \(retried.receipt.shortCode) was lost; the wallet had saved the signed ballot before sending, and running cast again resent it and got the original receipt (log entry \(retried.receipt.logged.receipt.logIndex)), nothing counted twice")
            let reserveReceipt = try await VoterActions.submit(client: client, wallet: reserve, ballot: genuine)

            // Drill: a voter loses the wallet before casting; the commission reissues the code.
            let lostWallet = try await VoterActions.enroll(client: client, personalNumber: reserved[2].personalNumber, code: reserved[2].code, election: election)
            let reissued = try await store.reissue(personalNumber: reserved[2].personalNumber, rollSecret: try dir.rollSecret(), commissionKey: commissionKey)
            let renewed = try await VoterActions.enroll(client: client, personalNumber: reserved[2].personalNumber, code: reissued.code, election: election)
            let renewedDistrict = try renewed.enrolledDistrict()
            let renewedChoice = election.manifest.district(renewedDistrict)?.options[0].id ?? "against-all"
            let oldKeyRefused = await Self.refused(code: "key-revoked") {
                _ = try await VoterActions.cast(client: client, wallet: lostWallet, selections: [renewedChoice], election: election)
            }
            let renewedReceipt = try await VoterActions.cast(client: client, wallet: renewed, selections: [renewedChoice], election: election)
            narrator.step("Lost wallet: code reissued", reissued.revoked == lostWallet.voterKey && oldKeyRefused,
                          "the commission reissued the voter's code (log entry \(reissued.logIndex), signed by the registrar, naming the retired commitment and no person); the old key \(lostWallet.voterKey.hex.prefix(12))… is revoked and refused (key-revoked); the voter enrolled a new key with the new code and cast \(renewedReceipt.shortCode)")

            // Drill: a voter under pressure at home votes again at the polling station.
            let pressured = results[results.count / 2]
            let pressuredDistrict = try pressured.wallet.enrolledDistrict()
            guard let pressuredContest = election.manifest.district(pressuredDistrict) else { throw CommandError("demo", "unknown district") }
            let freeChoice = pressuredContest.options.first { $0.id != pressured.choice }?.id ?? pressured.choice
            let stationClient = client.signing(as: .station(1), key: stationSeed, electionHash: election.electionHash)
            let pressuredNumber = voting.first { $0.code == pressured.code }?.personalNumber ?? ""
            let (supervised, _) = try VoterActions.encrypt(selections: [freeChoice], district: pressuredContest, electionHash: election.electionHash, electionKey: key)
            let atStation = try await stationClient.castSupervised(SupervisedBallotBody(
                personalNumber: pressuredNumber, ballot: supervised.wire,
                signature: try SupervisedBallot.sign(ballot: supervised, station: 1, key: stationSeed)))
            let (second, _) = try VoterActions.encrypt(selections: [freeChoice], district: pressuredContest, electionHash: election.electionHash, electionKey: key)
            let secondRefused = await Self.refused(code: "already-voted-in-person") {
                _ = try await stationClient.castSupervised(SupervisedBallotBody(
                    personalNumber: pressuredNumber, ballot: second.wire,
                    signature: try SupervisedBallot.sign(ballot: second, station: 1, key: stationSeed)))
            }
            let duringVoting = await ReceiptCheck.run(client: client, receipt: pressured.receipt)
            narrator.step("Vote buying drill: in-person ballot supersedes the remote one", atStation.superseded == pressured.receipt.trackingCode && secondRefused && duringVoting.verdict == .verified,
                          "a voter who voted from home under a buyer's eyes (\(pressured.receipt.shortCode)) voted again at the station (\(atStation.shortCode)); the remote ballot is superseded, but while voting is open the record and the voter's receipt show nothing of it (voter verify: \(duringVoting.verdict.rawValue)); a second station ballot for that voter was refused (already-voted-in-person)")

            var allVoted = results + [Voted(wallet: lossy, code: reserved[1].code, choice: home.options[0].id, receipt: retried.receipt, challenged: false),
                                      Voted(wallet: reserve, code: reserved[0].code, choice: home.options[0].id, receipt: reserveReceipt, challenged: false),
                                      Voted(wallet: renewed, code: reissued.code, choice: renewedChoice, receipt: renewedReceipt, challenged: false)]

            // 6. Every voter checks their receipt against the live log.
            let live = client
            let verifyProgress = ProgressBar("verify receipts", total: allVoted.count, enabled: !output.json)
            let failures = await withTaskGroup(of: Int.self) { group in
                for voted in allVoted {
                    group.addTask {
                        let outcome = await ReceiptCheck.run(client: live, receipt: voted.receipt)
                        verifyProgress.advance()
                        return outcome.verdict == .verified ? 0 : 1
                    }
                }
                return await group.reduce(0, +)
            }
            verifyProgress.finish()
            narrator.step("Every receipt verified", failures == 0,
                          "\(allVoted.count - failures) of \(allVoted.count) receipts: signed, included in the latest checkpoint, log consistent since")

            // Drill: someone with access to the database alters a stored ballot; the audit catches it.
            let tampered = try await Self.tamperDrill(databasePath: dir.databasePath, entry: allVoted[allVoted.count / 3].receipt.logged.receipt.logIndex, client: client)
            narrator.step("Altered database row caught by the audit", tampered.caught,
                          "one byte of log entry \(tampered.entry) was changed directly in SQLite; voter audit failed \(tampered.failed); the row was then restored")

            // 7. Close, reveals, aggregate, decryption by a quorum of trustees, results.
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
                          "by a signed commission request; the close order, the reveal of what each supervised ballot superseded, and the homomorphic aggregate of the counted ballots are in the log")
            let afterClose = await ReceiptCheck.run(client: client, receipt: pressured.receipt)
            narrator.step("The pressured voter learns of the override after the close", afterClose.verdict == .superseded,
                          "voter verify on the remote receipt \(pressured.receipt.shortCode) now says: \(afterClose.verdict.rawValue)")
            let quorum = Array(1...UInt32(policy.quorum)).map { UInt32(policy.count) + 1 - $0 }.sorted()
            try await trustees.decrypt(client: client, indices: quorum)
            let tally = try await client.tally()
            let signed = tally.results
            allVoted.removeAll { $0.receipt.trackingCode == pressured.receipt.trackingCode }
            var expected: [String: [String: UInt64]] = [:]
            for voted in allVoted { expected[try voted.wallet.enrolledDistrict(), default: [:]][voted.choice, default: 0] += 1 }
            expected[pressuredDistrict, default: [:]][freeChoice, default: 0] += 1
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
                          "every partial decryption's proof checked; the signed results equal exactly what the simulated voters cast, counting the station ballot and not the superseded remote one\n" + lines.joined(separator: "\n"))

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
                reporter.emit(Summary(passed: passed, electionHash: store.electionHash.hex, voters: codes.count, ballots: allVoted.count + 1,
                                      spoiled: results.filter(\.challenged).count, logSize: checkpoint.checkpoint.treeSize,
                                      rootHash: checkpoint.checkpoint.rootHash.hex, ballotsPerSecond: rate, results: signed?.results,
                                      steps: narrator.steps, dataDirectory: temporary ? nil : path)) { "" }
            } else {
                print(passed ? "\nDemo passed: every step above held." : "\nDemo FAILED: see the ✗ steps above.")
            }
            if keepServing && passed {
                if !output.json {
                    print("\nThe server keeps serving at \(server.url) (data in \(path)); Ctrl-C or SIGTERM stops it\(temporary ? " and removes the data" : "").")
                    print("  voter audit --server \(server.url)")
                }
                fflush(nil)
                await Self.waitForInterrupt()
            }
            if !passed { throw ExitCode(1) }
            }
        }
    }

    struct Anonymity {
        let spoiled: Int
        let enrolled: Int
        let passed: Bool
    }

    /// The challenge's secrecy drill, as an observer with the public record would try it:
    /// look for any enrolled key inside the spoiled entries, and try each enrolled key as the
    /// proofs' binding (version 1 bound them to the voter key).
    static func challengeAnonymity(client: BallotServerClient, election: ElectionInfo, key: GroupElement) async throws -> Anonymity {
        var enrolled: [Ed25519PublicKey] = []
        var spoiled: [SpoiledBallot] = []
        var start: UInt64 = 0
        while true {
            let page = try await client.entries(start: start, limit: 1000)
            for body in page.entries {
                let entry = try LogEntry.decode(canonical: body.data.bytes)
                switch entry.kind {
                case .enrollment: enrolled.append(try Enrollment.decode(canonical: entry.payload).voterKey)
                case .spoiled: spoiled.append(try SpoiledBallot.decode(canonical: entry.payload))
                default: break
                }
            }
            guard let next = page.next else { break }
            start = next
        }
        var passed = !spoiled.isEmpty
        for s in spoiled {
            guard let district = election.manifest.district(s.ballot.district) else { return Anonymity(spoiled: spoiled.count, enrolled: enrolled.count, passed: false) }
            let bytes = s.canonicalBytes
            let own = BallotContent.context(electionHash: election.electionHash, electionKey: key, ballotID: s.ballot.ballotID, district: district.id)
            if s.ballot.content.problem(in: district, context: own) != nil { passed = false }
            for voter in enrolled {
                if bytes.firstRange(of: voter.rawRepresentation) != nil { passed = false }
                let bound = ProofContext(electionHash: election.electionHash, electionKey: key, bound: voter.rawRepresentation + Array(district.id.utf8))
                if s.ballot.content.problem(in: district, context: bound) == nil { passed = false }
            }
        }
        return Anonymity(spoiled: spoiled.count, enrolled: enrolled.count, passed: passed)
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
                    let choice = election.manifest.district(try wallet.enrolledDistrict())?.options.randomElement()?.id ?? "against-all"
                    let challenged = position < challenges
                    let receipt = try await VoterActions.cast(client: client, wallet: wallet, selections: [choice],
                                                              election: election, challenge: challenged)
                    progress.advance()
                    return Voted(wallet: wallet, code: issued.code, choice: choice, receipt: receipt, challenged: challenged)
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

    /// Waits for Ctrl-C (SIGINT) or SIGTERM; either ends the demo the same way.
    static func waitForInterrupt() async {
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            let once = Mutex(false)
            var sources: [any DispatchSourceSignal] = []
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                source.setEventHandler {
                    guard once.withLock({ fired in defer { fired = true }; return !fired }) else { return }
                    done.resume()
                }
                source.resume()
                sources.append(source)
            }
            withExtendedLifetime(sources) {}
            SignalSources.keep(sources)
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

/// Keeps the demo's signal sources alive for the life of the process.
enum SignalSources {
    nonisolated(unsafe) private static var kept: [any DispatchSourceSignal] = []
    static func keep(_ sources: [any DispatchSourceSignal]) { kept += sources }
}

/// What the demo must undo however it ends: the server process and the temporary directory.
final class DemoCleanup: @unchecked Sendable {
    // Set and read on the demo's own task only.
    var server: ServerProcess?
    let path: String?

    init(path: String?) { self.path = path }

    func run() {
        server?.stop()
        if let path { try? FileManager.default.removeItem(atPath: path) }
    }
}
