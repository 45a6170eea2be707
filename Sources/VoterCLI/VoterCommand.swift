import ArgumentParser
import Foundation
import VoterKit
import VotingCore

@main
struct VoterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "voter",
        abstract: "Enroll, see your ballot, cast it, and check that it is recorded as cast.",
        subcommands: [EnrollCommand.self, BallotCommand.self, CastCommand.self, VerifyCommand.self, ResultsCommand.self, AuditCommand.self])
}

struct ServerOption: ParsableArguments {
    @Option(help: "The ballot server, e.g. http://127.0.0.1:8080.")
    var server: String
}

struct WalletOption: ParsableArguments {
    @Option(help: "The voter's wallet file (private key, mode 0600).")
    var wallet = "voter-wallet.json"
}

struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
}

/// Prints results as text or JSON, and failures as `error[code]: sentence` (or JSON
/// `{"error": {"code", "message"}}`) with exit code 2; a failed verification exits 1.
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
        } catch let error as VoterError {
            fail(ErrorBody(code: error.code, message: error.message, trackingCode: error.trackingCode))
        } catch let error as CryptoError {
            fail(ErrorBody(code: "crypto-error", message: "\(error)"))
        } catch let error as ExitCode {
            throw error
        } catch {
            fail(ErrorBody(code: "error", message: "\(error)"))
        }
    }

    func fail(_ body: ErrorBody) -> Never {
        if json {
            struct Failure: Encodable { let error: ErrorBody }
            emit(Failure(error: body)) { "" }
        } else {
            FileHandle.standardError.write(Data("error[\(body.code)]: \(body.message)\n".utf8))
        }
        Foundation.exit(2)
    }
}
