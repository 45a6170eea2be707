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
        // Only before a known subcommand: `voter --lang ky bogus` then says that `bogus` is unexpected, not `--lang`.
        guard !language.isEmpty, let command = rest.first,
              VoterCommand.configuration.subcommands.contains(where: { $0._commandName == command }) else { return Array(rest) }
        return [command] + language + rest.dropFirst()
    }
}

struct VoterCommand: AsyncParsableCommand {
    // Computed, not stored: the help is in the language chosen before parsing (VoterCommandMain).
    static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "voter",
            abstract: L("help.voter.abstract"),
            discussion: L("help.voter.discussion"),
            version: EvoteVersion.line,
            subcommands: [EnrollCommand.self, BallotCommand.self, CastCommand.self, ReceiptCommand.self, VerifyCommand.self, ResultsCommand.self, AuditCommand.self, SimulateCommand.self])
    }
}

struct ServerOption: ParsableArguments {
    @Option(help: ArgumentHelp(L("help.option.server")))
    var server: String
    @Option(name: .customLong("ca-file"), help: ArgumentHelp(L("help.option.ca-file")))
    var caFile: String?

    func client() throws -> BallotServerClient { try BallotServerClient(baseURL: server, caFile: caFile) }
}

struct WalletOption: ParsableArguments {
    @Option(help: ArgumentHelp(L("help.option.wallet")))
    var wallet = "voter-wallet.json"
}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: ArgumentHelp(L("help.option.json")))
    var json = false
    // Read before parsing (VoterCommandMain); declared here so every subcommand accepts and documents it.
    @Option(help: ArgumentHelp(L("help.option.lang")))
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
