import ArgumentParser
import Foundation
import VoterKit
import VotingCore

struct EnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract: "Generate your voting key on this device and enroll it with your one-time code.")

    @OptionGroup var serverOption: ServerOption
    @Option(name: .customLong("personal-number"), help: "Your personal number as on the voter roll.")
    var personalNumber: String
    @Option(help: "The one-time enrollment code from the registration office.")
    var code: String
    @OptionGroup var walletOption: WalletOption
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let district: String
        let voterKey: String
        let logIndex: UInt64
        let wallet: String
        enum CodingKeys: String, CodingKey { case district, voterKey = "voter_key", logIndex = "log_index", wallet }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            guard !FileManager.default.fileExists(atPath: walletOption.wallet) else {
                throw VoterError("wallet-exists", "\(walletOption.wallet) already exists; a wallet is never overwritten, so pass another --wallet")
            }
            let client = try serverOption.client()
            let wallet = try await VoterActions.enroll(client: client, personalNumber: personalNumber, code: code)
            try wallet.save(path: walletOption.wallet)
            reporter.emit(Result(district: wallet.district, voterKey: wallet.voterKey.hex,
                                 logIndex: wallet.enrollment.receipt.logIndex, wallet: walletOption.wallet)) {
                """
                ✓ Enrolled in district \(wallet.district); your key is logged as entry \(wallet.enrollment.receipt.logIndex) (receipt verified).
                  Wallet saved to \(walletOption.wallet) (mode 0600). Keep it: it is your only way to vote.
                """
            }
        }
    }
}

struct BallotCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ballot", abstract: "Show your district's ballot.")

    @OptionGroup var serverOption: ServerOption
    @OptionGroup var walletOption: WalletOption
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let electionId: String
        let state: ElectionState
        let district: District
        enum CodingKeys: String, CodingKey { case electionId = "election_id", state, district }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let wallet = try Wallet.load(path: walletOption.wallet)
            let client = try serverOption.client()
            let info = try await VoterActions.fetchElection(client)
            guard info.electionHash == wallet.electionHash else {
                throw VoterError("wrong-election", "this server runs another election than the one your wallet enrolled in")
            }
            guard let district = info.manifest.district(wallet.district) else {
                throw VoterError("wrong-district", "district \(wallet.district) is not in this election")
            }
            reporter.emit(Result(electionId: info.manifest.electionId, state: info.state, district: district)) {
                var lines = ["\(info.manifest.name) — district \(district.id): \(district.name)",
                             "Voting is \(info.state.rawValue). Mark exactly \(district.selectionLimit) option(s); \(district.seats) seat(s) to fill.", ""]
                for option in district.options { lines.append("  \(option.id.padding(toLength: 12, withPad: " ", startingAt: 0)) \(option.name)") }
                lines.append("")
                lines.append("Cast with: voter cast --server \(serverOption.server) --choice <option id>")
                return lines.joined(separator: "\n")
            }
        }
    }
}

struct CastCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cast",
        abstract: "Sign and cast your ballot; the receipt is verified before success is reported.")

    @OptionGroup var serverOption: ServerOption
    @Option(name: .customLong("choice"), help: "Option id to mark (repeat for contests with more than one selection).")
    var choices: [String]
    @OptionGroup var walletOption: WalletOption
    @Option(name: .customLong("receipt-out"), help: "Where to save the receipt (default: receipt-<short code>.json).")
    var receiptOut: String?
    @Flag(help: "First challenge an encryption: it is opened, published as spoiled (never counted) and checked to hold your choice; then a fresh encryption is cast.")
    var challenge = false
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard !choices.isEmpty else { throw ValidationError("give at least one --choice") }
    }

    struct Result: Encodable {
        let trackingCode: TrackingCode
        let shortCode: String
        let logIndex: UInt64
        let receipt: String
        let challenge: VoterActions.ChallengeResult?
        enum CodingKeys: String, CodingKey {
            case trackingCode = "tracking_code", shortCode = "short_code", logIndex = "log_index", receipt, challenge
        }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let wallet = try Wallet.load(path: walletOption.wallet)
            let client = try serverOption.client()
            let election = try await VoterActions.fetchElection(client)
            var challenged: VoterActions.ChallengeResult?
            if challenge {
                let result = try await VoterActions.challenge(client: client, wallet: wallet, selections: choices, election: election)
                challenged = result
                if !output.json {
                    print("✓ Challenge: encryption \(result.shortCode) was opened and published as spoiled (log entry \(result.logIndex)); it holds exactly your choice. It is not counted.")
                }
            }
            let receipt = try await VoterActions.cast(client: client, wallet: wallet, selections: choices, election: election)
            let path = receiptOut ?? "receipt-\(receipt.shortCode).json"
            do {
                try receipt.jsonData().write(to: URL(fileURLWithPath: path))
            } catch {
                throw VoterError("io-error", "the ballot was recorded, but saving the receipt to \(path) failed (\(error)); your tracking code is \(receipt.trackingCode.hex)")
            }
            reporter.emit(Result(trackingCode: receipt.trackingCode, shortCode: receipt.shortCode,
                                 logIndex: receipt.logged.receipt.logIndex, receipt: path, challenge: challenged)) {
                """
                ✓ Encrypted ballot recorded as log entry \(receipt.logged.receipt.logIndex); receipt signature and inclusion proof verified.
                  Tracking code: \(receipt.shortCode)   (full: \(receipt.trackingCode.hex))
                  Receipt saved to \(path). Check it any time: voter verify --server \(serverOption.server) --receipt \(path)
                """
            }
        }
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a saved receipt against the live log: signatures, inclusion now, and that history was not rewritten.")

    @OptionGroup var serverOption: ServerOption
    @Option(help: "The receipt file saved by `voter cast`.")
    var receipt: String
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let verdict: String
        let trackingCode: TrackingCode
        let checks: [CheckResult]
        enum CodingKeys: String, CodingKey { case verdict, trackingCode = "tracking_code", checks }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        var passed = false
        try await reporter.run {
            let file = try BallotReceiptFile.load(path: receipt)
            let client = try serverOption.client()
            let checks = await VoterActions.verify(client: client, receipt: file)
            passed = checks.allSatisfy(\.passed)
            let verdict = passed ? "recorded-as-cast" : "failed"
            reporter.emit(Result(verdict: verdict, trackingCode: file.trackingCode, checks: checks)) {
                var lines = checks.map { "\($0.passed ? "✓" : "✗") \($0.name): \($0.detail)" }
                lines.append(passed
                    ? "VERDICT: ballot \(file.shortCode) is in the log, unchanged, and the log was only appended to since your receipt."
                    : "VERDICT: FAILED — keep this output and the receipt file and report it to the election commission.")
                return lines.joined(separator: "\n")
            }
        }
        if !passed { throw ExitCode(1) }
    }
}

struct ResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Show the signed results per district (after the trustees' decryption), checking the server's signature.")

    @OptionGroup var serverOption: ServerOption
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let signatureValid: Bool
        let results: ElectionResults
        enum CodingKeys: String, CodingKey { case signatureValid = "signature_valid", results }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let client = try serverOption.client()
            let election = try await VoterActions.fetchElection(client)
            let tally = try await client.tally()
            guard let signed = tally.results else {
                throw VoterError("no-results", tally.aggregate == nil
                    ? "voting has not closed yet; results appear after the close and the trustees' decryption"
                    : "\(tally.decryptions.count) of \(election.manifest.trustees.quorum) trustees have decrypted so far; try again later")
            }
            guard signed.isValid(serverKey: election.serverKey) else {
                throw VoterError("bad-signature", "the results are not signed by the election's server key; do not trust them")
            }
            reporter.emit(Result(signatureValid: true, results: signed.results)) {
                var lines = ["\(election.manifest.name): results decrypted by trustees \(signed.results.quorum.map(String.init).joined(separator: ", ")) (server signature verified)"]
                for d in signed.results.districts {
                    guard let district = election.manifest.district(d.district) else { continue }
                    let turnout = d.roll > 0 ? String(format: "%.1f%%", Double(d.ballots) * 100 / Double(d.roll)) : "-"
                    lines.append("\(district.id) \(district.name): \(d.ballots) of \(d.roll) voted (\(turnout)); elected: \(d.elected.joined(separator: ", "))" +
                                 (d.tied.isEmpty ? "" : "; tied for the remaining seat(s): \(d.tied.joined(separator: ", "))"))
                    for (option, count) in zip(district.options, d.counts) {
                        lines.append("    \(option.id.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(count).padding(toLength: 7, withPad: " ", startingAt: 0)) \(option.name)")
                    }
                }
                return lines.joined(separator: "\n")
            }
        }
    }
}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify a whole election from its public record: every signature, proof, count and winner (docs/verification.md).")

    @Option(help: "Stream the record from this ballot server (GET /v1/record).")
    var server: String?
    @Option(help: "Read the record from a file written by `ballot-server export`.")
    var record: String?
    @Option(name: .customLong("ca-file"), help: "With --server over https: also trust the certificates in this PEM file.")
    var caFile: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (server == nil) != (record == nil) else { throw ValidationError("give exactly one of --server or --record") }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        var passed = false
        try await reporter.run {
            let showProgress = !output.json
            let progress: @Sendable (Int) -> Void = { count in
                if showProgress { FileHandle.standardError.write(Data("\r  checked \(count) ballots…".utf8)) }
            }
            let report: AuditReport
            if let record {
                report = try await AuditRunner.audit(recordFile: record, progress: progress)
            } else {
                report = try await AuditRunner.audit(client: try BallotServerClient(baseURL: server ?? "", caFile: caFile), progress: progress)
            }
            if showProgress { FileHandle.standardError.write(Data("\r".utf8)) }
            passed = report.passed
            reporter.emit(report) {
                var lines = ["Audit of election \(report.electionHash?.hex.prefix(16) ?? "?")…: \(report.entries) log entries, \(report.ballots) ballots"]
                for check in report.checks {
                    let number = check.number < 10 ? " \(check.number)" : "\(check.number)"
                    lines.append("\(check.passed ? "✓" : "✗") \(number). \(check.name) (\(check.examined) examined)")
                    for failure in check.failures { lines.append("      - \(failure)") }
                    if check.moreFailures > 0 { lines.append("      … and \(check.moreFailures) more") }
                }
                lines.append(report.passed ? "AUDIT PASSED: every check above held." : "AUDIT FAILED: see the ✗ checks above.")
                return lines.joined(separator: "\n")
            }
        }
        if !passed { throw ExitCode(1) }
    }
}
