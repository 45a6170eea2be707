import ArgumentParser
import Foundation
import VoterKit
import VotingCore

@main
enum VoterCommandMain {
    static func main() async {
        // Chosen before parsing, so that argument errors are in the language too.
        let arguments = Array(CommandLine.arguments.dropFirst())
        Lang.select(Lang.choose(arguments: arguments, environment: ProcessInfo.processInfo.environment))
        await ToolMain.run(VoterCommand.self, arguments: placingLanguage(arguments))
    }

    /// `voter --lang ru ballot …` as `voter ballot --lang ru …`: the option belongs to every
    /// subcommand, so one given before the subcommand's name is moved after it (and dropped
    /// when no subcommand follows, e.g. `voter --lang ru --help`: it was applied already).
    static func placingLanguage(_ arguments: [String]) -> [String] {
        var rest = arguments[...]
        var language: [String] = []
        while let first = rest.first, (first == "--lang" && rest.count >= 2) || first.hasPrefix("--lang=") {
            language.append(contentsOf: rest.prefix(first == "--lang" ? 2 : 1))
            rest = rest.dropFirst(first == "--lang" ? 2 : 1)
        }
        guard !language.isEmpty, let command = rest.first, !command.hasPrefix("-") else { return Array(rest) }
        return [command] + language + rest.dropFirst()
    }
}

struct VoterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voter",
        abstract: "Enroll, see your ballot, cast it, and check that it is recorded as cast.",
        discussion: """
            Every subcommand takes --lang ky|ru|en (also before its name: voter --lang ky ballot …): the language of the \
            sentences it prints (Kyrgyz, Russian, English). \
            Without it the language comes from LC_ALL, LC_MESSAGES or LANG (ky_KG.UTF-8 gives Kyrgyz, ru_RU.UTF-8 Russian, \
            anything else English). Error codes, exit codes and --json keys stay the same in every language; district and \
            option names are shown in the language when the election's manifest gives them.
            """,
        version: EvoteVersion.line,
        subcommands: [EnrollCommand.self, BallotCommand.self, CastCommand.self, ReceiptCommand.self, VerifyCommand.self, ResultsCommand.self, AuditCommand.self, SimulateCommand.self])
}

struct ServerOption: ParsableArguments {
    @Option(help: "The ballot server, e.g. http://127.0.0.1:8080 or https://…")
    var server: String
    @Option(name: .customLong("ca-file"), help: "Also trust the certificates in this PEM file for https (a server certificate from `ballot-server tls-cert`).")
    var caFile: String?

    func client() throws -> BallotServerClient { try BallotServerClient(baseURL: server, caFile: caFile) }
}

struct WalletOption: ParsableArguments {
    @Option(help: "The voter's wallet file (private key, mode 0600).")
    var wallet = "voter-wallet.json"
}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
    // Read before parsing (VoterCommandMain); declared here so every subcommand accepts and documents it.
    @Option(help: "Language of the sentences: ky, ru or en (default: from LC_ALL, LC_MESSAGES or LANG; English otherwise).")
    var lang: Lang?
}

/// Runs a command body and turns its failure into a stable code and sentence (CommandOutput);
/// a failed verification exits 1 by throwing ExitCode itself.
struct Reporter: Sendable {
    let output: CommandOutput
    init(json: Bool) { output = CommandOutput(json: json) }

    func emit<T: Encodable>(_ value: T, text: () -> String) { output.emit(value, text: text) }

    func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as ExitCode {
            throw error
        } catch {
            output.fail(CommandOutput.describe(error) ?? ErrorBody(code: "error", message: "\(error)"))
        }
    }
}
