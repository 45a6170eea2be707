import ArgumentParser
import Foundation
import VoterKit
import VotingCore

@main
enum VoterCommandMain {
    static func main() async { await ToolMain.run(VoterCommand.self) }
}

struct VoterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voter",
        abstract: "Enroll, see your ballot, cast it, and check that it is recorded as cast.",
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
