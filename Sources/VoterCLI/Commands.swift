import ArgumentParser
import Foundation
import VoterKit
import VotingCore

struct EnrollCommand: AsyncParsableCommand {
    // Computed, not stored: the help is in the language chosen before parsing (VoterCommandMain).
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "enroll",
            abstract: L("help.enroll.abstract"),
            discussion: L("help.enroll.discussion"))
    }

    @OptionGroup var serverOption: ServerOption
    @Option(name: .customLong("personal-number"), help: ArgumentHelp(L("help.option.personal-number")))
    var personalNumber: String
    @Option(help: ArgumentHelp(L("help.option.code")))
    var code: String
    @OptionGroup var walletOption: WalletOption
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let district: String
        let voterKey: String
        let logIndex: UInt64
        let wallet: String
        let resumed: Bool
        enum CodingKeys: String, CodingKey { case district, voterKey = "voter_key", logIndex = "log_index", wallet, resumed }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let path = walletOption.wallet
            let client = try serverOption.client()
            var wallet: Wallet
            var resumed = false
            if FileManager.default.fileExists(atPath: path) {
                wallet = try Wallet.load(path: path)
                if wallet.isEnrolled {
                    throw VoterError("already-enrolled", L("enroll.already-enrolled", ["wallet": path, "district": wallet.district ?? "?"]))
                }
                guard let pending = wallet.pendingEnrollment, pending.personalNumber == personalNumber,
                      EnrollmentCode.normalize(pending.code) == EnrollmentCode.normalize(code) else {
                    throw VoterError("wallet-exists", L("enroll.wallet-exists", ["wallet": path]))
                }
                resumed = true
            } else {
                wallet = try await VoterActions.prepareEnrollment(client: client, personalNumber: personalNumber, code: code)
                // Written before sending: a lost answer never loses the key.
                try wallet.create(path: path)
            }
            wallet = try await VoterActions.completeEnrollment(client: client, wallet: wallet, store: VoterActions.WalletFile(path: path))
            let index = wallet.enrollment?.receipt.logIndex ?? 0
            let district = try wallet.enrolledDistrict()
            reporter.emit(Result(district: district, voterKey: wallet.voterKey.hex, logIndex: index, wallet: path, resumed: resumed)) {
                L(resumed ? "enroll.done-resumed" : "enroll.done", ["district": district, "index": "\(index)", "wallet": path])
            }
        }
    }
}

struct BallotCommand: AsyncParsableCommand {
    // Computed, not stored: the help is in the language chosen before parsing (VoterCommandMain).
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "ballot", abstract: L("help.ballot.abstract"))
    }

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
            try VoterActions.requireWalletElection(wallet, info)
            let districtID = try wallet.enrolledDistrict()
            guard let district = info.manifest.district(districtID) else {
                throw VoterError("wrong-district", L("error.district-not-in-election", ["district": districtID]))
            }
            reporter.emit(Result(electionId: info.manifest.electionId, state: info.state, district: district)) {
                BallotCommand.text(info: info, district: district, wallet: wallet, server: serverOption.server)
            }
        }
    }
}

extension BallotCommand {
    static func text(info: ElectionInfo, district: District, wallet: Wallet, server: String) -> String {
        text(election: info.manifest.displayName(Lang.current.rawValue), district: district, state: info.state,
             castShortCode: wallet.cast?.shortCode, server: server, lang: .current)
    }

    /// The ballot as a person reads it, with what can be done in this state: before the
    /// opening, when casting becomes possible; while open, how to cast; after the close, that
    /// it never reopens, how to check a cast ballot and where the results are.
    static func text(election: String, district: District, state: ElectionState, castShortCode: String?, server: String, lang: Lang) -> String {
        func t(_ key: String, _ values: [String: String] = [:]) -> String { Catalog.text(key, values, lang: lang) }
        let marks = ["limit": "\(district.selectionLimit)", "seats": "\(district.seats)"]
        var lines = [t("ballot.header", ["election": election, "district": district.id, "name": district.displayName(lang.rawValue)])]
        switch state {
        case .setup: lines.append(t("ballot.setup", marks))
        case .open: lines.append(t("ballot.open", marks))
        case .closed: lines.append(t("ballot.closed"))
        }
        lines.append("")
        for option in district.options {
            let note = option.electable ? "" : "   " + t("ballot.not-electable")
            lines.append("  \(option.id.padding(toLength: 12, withPad: " ", startingAt: 0)) \(option.displayName(lang.rawValue))\(note)")
        }
        lines.append("")
        switch (state, castShortCode) {
        case (.setup, _): lines.append(t("ballot.setup-next", ["server": server]))
        case (.open, let code?): lines.append(t("ballot.already-voted", ["code": code]))
        case (.open, nil): lines.append(t("ballot.cast-with", ["server": server]))
        case (.closed, let code?): lines.append(t("ballot.closed-voted", ["code": code, "server": server]))
        case (.closed, nil): lines.append(t("ballot.closed-not-voted", ["server": server]))
        }
        return lines.joined(separator: "\n")
    }
}

struct CastCommand: AsyncParsableCommand {
    // Computed, not stored: the help is in the language chosen before parsing (VoterCommandMain).
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "cast",
            abstract: L("help.cast.abstract"),
            discussion: L("help.cast.discussion"))
    }

    @OptionGroup var serverOption: ServerOption
    @Option(name: .customLong("choice"), help: ArgumentHelp(L("help.option.choice")))
    var choices: [String]
    @OptionGroup var walletOption: WalletOption
    @Option(name: .customLong("receipt-out"), help: ArgumentHelp(L("help.option.receipt-out")))
    var receiptOut: String?
    @Flag(help: ArgumentHelp(L("help.option.challenge")))
    var challenge = false
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard !choices.isEmpty else { throw ValidationError(L("args.need-choice")) }
    }

    struct Result: Encodable {
        let trackingCode: TrackingCode
        let shortCode: String
        let logIndex: UInt64
        let receipt: String
        let resumed: Bool
        let challenge: VoterActions.ChallengeResult?
        enum CodingKeys: String, CodingKey {
            case trackingCode = "tracking_code", shortCode = "short_code", logIndex = "log_index", receipt, resumed, challenge
        }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let path = walletOption.wallet
            var wallet = try Wallet.load(path: path)
            let store = VoterActions.WalletFile(path: path)
            let client = try serverOption.client()
            if challenge, wallet.cast != nil || wallet.pendingBallot != nil {
                throw VoterError("already-voted", L("cast.challenge-after-cast"))
            }
            let election = try await VoterActions.fetchElection(client)
            var challenged: VoterActions.ChallengeResult?
            if challenge || wallet.pendingChallenge != nil, wallet.cast == nil, wallet.pendingBallot == nil {
                let result = try await VoterActions.challenge(client: client, wallet: &wallet, selections: choices, election: election, store: store)
                challenged = result
                if !output.json {
                    print(L("cast.challenge-done", ["code": result.shortCode, "index": "\(result.logIndex)"]))
                }
            }
            do {
                let outcome = try await VoterActions.castOrResend(client: client, wallet: &wallet, selections: choices, election: election, store: store)
                let receipt = outcome.receipt
                let receiptPath = receiptOut ?? "receipt-\(receipt.shortCode).json"
                do {
                    try receipt.jsonData().write(to: URL(fileURLWithPath: receiptPath))
                } catch {
                    throw VoterError("io-error", L("cast.receipt-not-saved", ["receipt": receiptPath, "reason": "\(error)", "code": receipt.trackingCode.hex]))
                }
                reporter.emit(Result(trackingCode: receipt.trackingCode, shortCode: receipt.shortCode, logIndex: receipt.logged.receipt.logIndex,
                                     receipt: receiptPath, resumed: outcome.resumed, challenge: challenged)) {
                    L(outcome.resumed ? "cast.done-resumed" : "cast.done",
                      ["index": "\(receipt.logged.receipt.logIndex)", "code": receipt.shortCode, "full": receipt.trackingCode.hex, "receipt": receiptPath])
                }
            } catch let error as VoterError where ["unreachable", "unavailable"].contains(error.code) && wallet.pendingBallot != nil {
                throw VoterError(error.code, L("cast.resend-later", ["reason": error.message, "wallet": path]))
            }
        }
    }
}

struct ReceiptCommand: AsyncParsableCommand {
    // Computed, not stored: the help is in the language chosen before parsing (VoterCommandMain).
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "receipt",
            abstract: L("help.receipt.abstract"))
    }

    @OptionGroup var serverOption: ServerOption
    @OptionGroup var walletOption: WalletOption
    @Option(name: .customLong("receipt-out"), help: ArgumentHelp(L("help.option.receipt-out")))
    var receiptOut: String?
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let trackingCode: TrackingCode
        let shortCode: String
        let logIndex: UInt64
        let receipt: String
        enum CodingKeys: String, CodingKey { case trackingCode = "tracking_code", shortCode = "short_code", logIndex = "log_index", receipt }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let path = walletOption.wallet
            var wallet = try Wallet.load(path: path)
            let client = try serverOption.client()
            let receipt: BallotReceiptFile
            do {
                receipt = try await VoterActions.fetchReceipt(client: client, wallet: wallet)
            } catch let error as VoterError where error.code == "not-found" {
                throw VoterError("not-cast", L(wallet.pendingBallot == nil ? "receipt.not-cast" : "receipt.not-arrived"))
            }
            wallet.cast = receipt
            wallet.pendingBallot = nil
            try wallet.save(path: path)
            let receiptPath = receiptOut ?? "receipt-\(receipt.shortCode).json"
            try receipt.jsonData().write(to: URL(fileURLWithPath: receiptPath))
            reporter.emit(Result(trackingCode: receipt.trackingCode, shortCode: receipt.shortCode, logIndex: receipt.logged.receipt.logIndex, receipt: receiptPath)) {
                L("receipt.done", ["code": receipt.shortCode, "index": "\(receipt.logged.receipt.logIndex)", "receipt": receiptPath])
            }
        }
    }
}

struct VerifyCommand: AsyncParsableCommand {
    // Computed, not stored: the help is in the language chosen before parsing (VoterCommandMain).
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "verify",
            abstract: L("help.verify.abstract"),
            discussion: L("help.verify.discussion"))
    }

    @Option(help: ArgumentHelp(L("help.verify.server")))
    var server: String?
    @Option(name: .customLong("ca-file"), help: ArgumentHelp(L("help.verify.ca-file")))
    var caFile: String?
    @Option(help: ArgumentHelp(L("help.verify.receipt")))
    var receipt: String
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let verdict: ReceiptCheck.Verdict
        let trackingCode: TrackingCode
        let server: String
        let checks: [CheckResult]
        let advice: String
        enum CodingKeys: String, CodingKey { case verdict, trackingCode = "tracking_code", server, checks, advice }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        var code: Int32 = 0
        try await reporter.run {
            let file = try BallotReceiptFile.load(path: receipt)
            let target = server ?? file.server
            if let server, server != file.server, !output.json {
                FileHandle.standardError.write(Data((L("verify.other-server", ["receipt_server": file.server, "server": server]) + "\n").utf8))
            }
            let client = try BallotServerClient(baseURL: target, caFile: caFile)
            let outcome = await ReceiptCheck.run(client: client, receipt: file)
            code = outcome.verdict.exitCode
            reporter.emit(Result(verdict: outcome.verdict, trackingCode: file.trackingCode, server: target, checks: outcome.checks, advice: outcome.advice)) {
                var lines = outcome.checks.map { "\($0.passed ? "✓" : "✗") \($0.name): \($0.detail)" }
                let values = ["code": file.shortCode, "advice": outcome.advice]
                switch outcome.verdict {
                case .verified: lines.append(L("verify.verdict-verified", values))
                case .superseded: lines.append(L("verify.verdict-superseded", values))
                case .tampering: lines.append(L("verify.verdict-tampering", values))
                case .couldNotCheck: lines.append(L("verify.verdict-could-not-check", values))
                }
                return lines.joined(separator: "\n")
            }
        }
        if code != 0 { throw ExitCode(code) }
    }
}

struct ResultsCommand: AsyncParsableCommand {
    // Computed, not stored: the help is in the language chosen before parsing (VoterCommandMain).
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "results",
            abstract: L("help.results.abstract"))
    }

    @OptionGroup var serverOption: ServerOption
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let signatureValid: Bool
        /// Exactly the signed results.
        let results: ElectionResults
        /// Computed here from the signed counts, for people and scripts: turnout, each
        /// option's share (summing to 100), and the winners' names.
        let districts: [DistrictSummary]
        enum CodingKeys: String, CodingKey { case signatureValid = "signature_valid", results, districts }
    }

    struct DistrictSummary: Encodable {
        let district: String
        let name: String
        let turnoutPercent: String?
        let sharesPercent: [String]?
        let electedNames: [String]
        let tiedNames: [String]
        enum CodingKeys: String, CodingKey {
            case district, name, turnoutPercent = "turnout_percent", sharesPercent = "shares_percent"
            case electedNames = "elected_names", tiedNames = "tied_names"
        }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let client = try serverOption.client()
            let election = try await VoterActions.fetchElection(client)
            let tally = try await client.tally()
            guard let signed = tally.results else {
                throw VoterError("no-results", tally.aggregate == nil
                    ? L("results.not-closed")
                    : L("results.decrypting", ["done": "\(tally.decryptions.count)", "quorum": "\(election.manifest.trustees.quorum)"]))
            }
            guard signed.isValid(serverKey: election.serverKey) else {
                throw VoterError("bad-signature", L("results.bad-signature"))
            }
            let manifest = election.manifest
            func names(_ ids: [String], in district: District) -> [String] {
                ids.map { id in district.options.first { $0.id == id }?.name ?? id }
            }
            let summaries: [DistrictSummary] = signed.results.districts.compactMap { d in
                guard let district = manifest.district(d.district) else { return nil }
                return DistrictSummary(district: d.district, name: district.name, turnoutPercent: d.turnout(), sharesPercent: d.shares(),
                                       electedNames: names(d.elected, in: district), tiedNames: names(d.tied, in: district))
            }
            reporter.emit(Result(signatureValid: true, results: signed.results, districts: summaries)) {
                let lang = Lang.current.rawValue
                func shown(_ ids: [String], in district: District) -> String {
                    ids.map { id in district.options.first { $0.id == id }?.displayName(lang) ?? id }.joined(separator: ", ")
                }
                var lines = [L("results.header", ["election": manifest.displayName(lang),
                                                  "trustees": signed.results.quorum.map(String.init).joined(separator: ", ")])]
                for (d, summary) in zip(signed.results.districts, summaries) {
                    guard let district = manifest.district(d.district) else { continue }
                    let values = ["district": district.id, "name": district.displayName(lang), "ballots": "\(d.ballots)", "roll": "\(d.roll)",
                                  "turnout": summary.turnoutPercent.map { "\($0)%" } ?? "-"]
                    var head = L("results.district", values)
                    if d.ballots == 0 {
                        head += L("results.no-ballots")
                    } else {
                        head += d.elected.isEmpty ? L("results.elected-nobody") : L("results.elected", ["names": shown(d.elected, in: district)])
                        if !d.tied.isEmpty { head += L("results.tied", ["names": shown(d.tied, in: district)]) }
                    }
                    lines.append(head)
                    for (i, (option, count)) in zip(district.options, d.counts).enumerated() {
                        let share = summary.sharesPercent.map { "\($0[i])%" } ?? "-"
                        let mark = d.elected.contains(option.id) ? L("results.mark-elected") : d.tied.contains(option.id) ? L("results.mark-tied")
                            : option.electable ? "" : L("ballot.not-electable")
                        lines.append("    \(option.id.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(count).padding(toLength: 7, withPad: " ", startingAt: 0)) \(share.padding(toLength: 7, withPad: " ", startingAt: 0)) \(option.displayName(lang)) \(mark)")
                    }
                }
                return lines.joined(separator: "\n")
            }
        }
    }
}

struct AuditCommand: AsyncParsableCommand {
    // Computed, not stored: the help is in the language chosen before parsing (VoterCommandMain).
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "audit",
            abstract: L("help.audit.abstract"))
    }

    @Option(help: ArgumentHelp(L("help.audit.server")))
    var server: String?
    @Option(help: ArgumentHelp(L("help.audit.record")))
    var record: String?
    @Option(name: .customLong("ca-file"), help: ArgumentHelp(L("help.audit.ca-file")))
    var caFile: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (server == nil) != (record == nil) else { throw ValidationError(L("args.server-or-record")) }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        var passed = false
        try await reporter.run {
            let showProgress = !output.json
            let progress: @Sendable (Int) -> Void = { count in
                if showProgress { FileHandle.standardError.write(Data(("\r  " + L("audit.progress", ["count": "\(count)"])).utf8)) }
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
                var lines = [L("audit.header", ["election": "\(report.electionHash?.hex.prefix(16) ?? "?")…", "entries": "\(report.entries)", "ballots": "\(report.ballots)"])]
                for check in report.checks {
                    let number = check.number < 10 ? " \(check.number)" : "\(check.number)"
                    lines.append("\(check.passed ? "✓" : "✗") \(number). \(word("audit.check.", "\(check.number)")) " + L("audit.examined", ["count": "\(check.examined)"]))
                    for failure in check.details { lines.append("      - \(failure.localized)") }
                    if check.moreFailures > 0 { lines.append("      " + L("audit.more-failures", ["count": "\(check.moreFailures)"])) }
                }
                lines.append(L(report.passed ? "audit.passed" : "audit.failed"))
                return lines.joined(separator: "\n")
            }
        }
        if !passed { throw ExitCode(1) }
    }
}
