import ArgumentParser
import Foundation
import VoterKit
import VotingCore

/// `ballot-server trustee …`: the key ceremony and the decryption. `keygen`, `share`,
/// `verify-shares` and `decrypt` need only the trustee's key file and the server's public
/// API; `add` is the commission registering a trustee's public keys.
struct TrusteeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trustee",
        abstract: "Trustees' key ceremony (k of n) and decryption of the tally.",
        subcommands: [TrusteeKeygenCommand.self, TrusteeAddCommand.self, TrusteeShareCommand.self,
                      TrusteeVerifySharesCommand.self, TrusteeDecryptCommand.self])
}

struct TrusteeKeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Create a trustee key file (mode 0600) and its public registration file.")

    @Option(help: "Trustee number, 1 to the manifest's trustees.count.")
    var index: UInt32
    @Option(help: "Trustee's name as shown to observers.")
    var name: String
    @Option(help: "Private key file to create (never overwritten).")
    var out: String
    @Option(name: .customLong("public-out"), help: "Public registration file to give the commission.")
    var publicOut: String
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard index >= 1 else { throw ValidationError("--index starts at 1") }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let key = try TrusteeKeyFile.generate(index: index, name: name)
            try key.save(path: out)
            let registration = try key.registration
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(registration).write(to: URL(fileURLWithPath: publicOut))
            reporter.emit(registration) {
                "Trustee \(index) key written to \(out) (mode 0600); give \(publicOut) to the commission. Keep the key file offline."
            }
        }
    }
}

struct TrusteeAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Commission: appoint a trustee (before voting opens): its self-signed registration, countersigned with the commission key, into the log (locally or over HTTP).")

    @OptionGroup var target: CommissionTarget
    @Option(name: .customLong("public"), help: "The trustee's public registration file from `trustee keygen`.")
    var publicFile: String
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let index: UInt32
        let name: String
        let logIndex: UInt64
        let unchanged: Bool
        enum CodingKeys: String, CodingKey { case index, name, logIndex = "log_index", unchanged }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            guard let data = FileManager.default.contents(atPath: publicFile) else {
                throw CommandError("file-not-found", "cannot read \(publicFile); pass the --public-out file of `ballot-server trustee keygen`")
            }
            let registration: TrusteeRegistration
            do { registration = try JSONDecoder().decode(TrusteeRegistration.self, from: data) } catch {
                if (try? JSONDecoder().decode(TrusteeKeyFile.self, from: data)) != nil {
                    throw CommandError("key-file-as-public", "\(publicFile) is a trustee's private key file; pass its public registration (--public-out of keygen) and keep the key file with the trustee")
                }
                throw CommandError("invalid-trustee", "\(publicFile) is not a trustee registration (\(CommandOutput.plain(error))); pass the --public-out file of `ballot-server trustee keygen`")
            }
            guard registration.isSelfSigned else {
                throw CommandError("invalid-trustee", "\(publicFile) is not signed by the trustee's own key (edited, or made by an older version); ask the trustee for the file `trustee keygen` wrote")
            }
            let recorded: ElectionRules.Recorded
            if target.data != nil {
                let store = try await target.openLocal()
                recorded = try await store.appointTrustee(registration, commissionKey: try target.key())
            } else {
                let (client, election, key) = try await target.signingClient()
                // An identical registration already logged is answered with its index, not appended again.
                let known = try await client.trustees().trustees.contains(registration)
                let signature = try registration.appointmentSignature(electionHash: election.electionHash, commissionKey: key)
                let answer = try await client.appointTrustee(TrusteeAppointmentBody(registration: registration, signature: signature))
                recorded = known ? .existing(answer.logIndex) : .new(answer.logIndex)
            }
            let unchanged = if case .existing = recorded { true } else { false }
            reporter.emit(Result(index: registration.index, name: registration.name, logIndex: recorded.index, unchanged: unchanged)) {
                unchanged
                    ? "Trustee \(registration.index) (\(registration.name)) was already registered with exactly these keys (log entry \(recorded.index)); nothing changed."
                    : "Appointed trustee \(registration.index) (\(registration.name)): log entry \(recorded.index), signed by the trustee and by the commission."
            }
        }
    }
}

struct TrusteeServerOptions: ParsableArguments {
    @Option(help: "The ballot server, e.g. http://127.0.0.1:8080 or https://…")
    var server: String
    @Option(name: .customLong("ca-file"), help: "Also trust the certificates in this PEM file for https.")
    var caFile: String?
    @Option(help: "The trustee's key file.")
    var key: String
}

struct TrusteeShareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "share", abstract: "Deal: publish commitments, a proof and every other trustee's encrypted share.")
    @OptionGroup var options: TrusteeServerOptions
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let index: UInt32
        let commitments: Int
        let shares: Int
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let key = try TrusteeKeyFile.load(path: options.key)
            let client = try BallotServerClient(baseURL: options.server, caFile: options.caFile)
            let publication = try await TrusteeActions.share(client: client, key: key)
            reporter.emit(Result(index: key.index, commitments: publication.commitments.count, shares: publication.shares.count)) {
                "Trustee \(key.index) published \(publication.commitments.count) commitments and \(publication.shares.count) encrypted shares."
            }
        }
    }
}

struct TrusteeVerifySharesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-shares", abstract: "Check every share received against its dealer's commitments and publish the verdict.")
    @OptionGroup var options: TrusteeServerOptions
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let index: UInt32
        let complaints: [UInt32]
        let checks: [CheckResult]
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        var complaints: [UInt32] = []
        try await reporter.run {
            let key = try TrusteeKeyFile.load(path: options.key)
            let client = try BallotServerClient(baseURL: options.server, caFile: options.caFile)
            let (verification, checks) = try await TrusteeActions.verifyShares(client: client, key: key)
            complaints = verification.complaints
            let results = checks.map { CheckResult(name: "share-from-\($0.dealer)", passed: $0.passed, detail: $0.detail) }
            reporter.emit(Result(index: key.index, complaints: complaints, checks: results)) {
                var lines = results.map { "\($0.passed ? "✓" : "✗") \($0.detail)" }
                lines.append(complaints.isEmpty
                    ? "Trustee \(key.index) accepted every share (published)."
                    : "Trustee \(key.index) published complaints against trustee(s) \(complaints.map(String.init).joined(separator: ", ")); the ceremony must be repeated without them.")
                return lines.joined(separator: "\n")
            }
        }
        if !complaints.isEmpty { throw ExitCode(1) }
    }
}

struct TrusteeDecryptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decrypt", abstract: "After the close: publish this trustee's partial decryption of the aggregate, with proofs.")
    @OptionGroup var options: TrusteeServerOptions
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let index: UInt32
        let ciphertexts: Int
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let key = try TrusteeKeyFile.load(path: options.key)
            let client = try BallotServerClient(baseURL: options.server, caFile: options.caFile)
            let partial = try await TrusteeActions.decrypt(client: client, key: key)
            let count = partial.districts.reduce(0) { $0 + $1.count }
            reporter.emit(Result(index: key.index, ciphertexts: count)) {
                "Trustee \(key.index) published its partial decryption of \(count) aggregate ciphertexts, each with a proof."
            }
        }
    }
}
