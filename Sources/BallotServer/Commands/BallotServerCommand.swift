import ArgumentParser
import Foundation
import VoterKit
import VotingCore

@main
enum BallotServerCommandMain {
    static func main() async { await ToolMain.run(BallotServerCommand.self) }
}

struct BallotServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ballot-server",
        abstract: "The election commission's server: election setup, voter roll, HTTP API, transparency log.",
        version: EvoteVersion.line,
        subcommands: [InitCommand.self, RollCommand.self, TrusteeCommand.self, StationCommand.self, ServeCommand.self, OpenCommand.self, CloseCommand.self,
                      StatusCommand.self, ExportCommand.self, BackupCommand.self, ResultsCommand.self, ExampleCommand.self, DemoCommand.self, BenchCommand.self, BenchAuditCommand.self, BenchCapacityCommand.self, BenchGroupCommand.self,
                      TLSCertCommand.self])
}

struct DataOption: ParsableArguments {
    @Option(name: .long, help: "The election's data directory (key files; the SQLite database unless --database is given).")
    var data: String
    @Option(name: .long, help: "A PostgreSQL database shared by several servers, postgres://user@host:port/db (password from PGPASSWORD); default: SQLite in --data.")
    var database: String?

    var directory: DataDirectory { DataDirectory(path: data) }
    func location() throws -> DatabaseLocation { try DatabaseLocation(database) }

    /// Opens the election these options name.
    func open(clock: Clock = .system) async throws -> ElectionStore {
        try await ElectionStore.open(directory, database: try location(), clock: clock)
    }
}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
}

/// Runs a command body and turns its failure into a stable code and sentence (CommandOutput).
struct Reporter: Sendable {
    let output: CommandOutput
    init(json: Bool) { output = CommandOutput(json: json) }

    func emit<T: Encodable>(_ value: T, text: () -> String) { output.emit(value, text: text) }

    func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as CleanExit {
            throw error
        } catch let error as ExitCode {
            throw error
        } catch let error as CommandError {
            output.fail(ErrorBody(code: error.code, message: error.message))
        } catch let error as RuleError {
            // The rules refuse local commission actions (open, close, roll import, trustee add) with their own codes.
            output.fail(ErrorBody(code: error.code, message: error.message, trackingCode: error.trackingCode))
        } catch {
            output.fail(CommandOutput.describe(error) ?? ErrorBody(code: "error", message: "\(error)"))
        }
    }
}
