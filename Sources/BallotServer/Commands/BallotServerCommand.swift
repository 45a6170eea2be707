import ArgumentParser
import Foundation
import VoterKit
import VotingCore

@main
struct BallotServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ballot-server",
        abstract: "The election commission's server: election setup, voter roll, HTTP API, transparency log.",
        subcommands: [InitCommand.self, RollCommand.self, TrusteeCommand.self, ServeCommand.self, OpenCommand.self, CloseCommand.self,
                      StatusCommand.self, ExportCommand.self, ExampleCommand.self, DemoCommand.self, BenchCommand.self, BenchAuditCommand.self])
}

struct DataOption: ParsableArguments {
    @Option(name: .long, help: "The election's data directory (database and key files).")
    var data: String
}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
}

/// Prints a command's result as text or JSON, and its failure as a stable code plus a
/// sentence (JSON `{"error": {"code", "message"}}` with --json) with exit code 2.
struct Reporter: Sendable {
    let json: Bool

    func emit<T: Encodable>(_ value: T, text: () -> String) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
        } else {
            print(text())
        }
        fflush(nil)
    }

    func run(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as CommandError {
            fail(code: error.code, message: error.message)
        } catch let error as ManifestError {
            fail(code: "invalid-manifest", message: error.description)
        } catch let error as VoterError {
            fail(code: error.code, message: error.message)
        } catch let error as CryptoError {
            fail(code: "crypto-error", message: "\(error); check that the key files are intact")
        } catch let error as CleanExit {
            throw error
        } catch let error as ExitCode {
            throw error
        } catch {
            fail(code: "error", message: "\(error)")
        }
    }

    func fail(code: String, message: String) -> Never {
        if json {
            struct Failure: Encodable { let error: ErrorBody }
            emit(Failure(error: ErrorBody(code: code, message: message))) { "" }
        } else {
            FileHandle.standardError.write(Data("error[\(code)]: \(message)\n".utf8))
        }
        Foundation.exit(2)
    }
}
