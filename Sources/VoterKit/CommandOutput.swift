public import Foundation
public import VotingCore

/// How both command-line tools print: a result as text or one line of JSON (`--json`), and
/// a failure as `error[code]: sentence` on standard error, or `{"error": {"code", "message"}}`
/// with `--json`, then exit code 2.
public struct CommandOutput: Sendable {
    public let json: Bool

    public init(json: Bool) { self.json = json }

    public func emit<T: Encodable>(_ value: T, text: () -> String) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let data = try? encoder.encode(value) { print(String(decoding: data, as: UTF8.self)) }
        } else {
            print(text())
        }
        fflush(nil)
    }

    public func fail(_ body: ErrorBody) -> Never {
        if json {
            struct Failure: Encodable { let error: ErrorBody }
            emit(Failure(error: body)) { "" }
        } else {
            FileHandle.standardError.write(Data("error[\(body.code)]: \(body.message)\n".utf8))
        }
        exit(2)
    }

    /// The stable code and sentence for the errors both tools share; nil for others.
    public static func describe(_ error: any Error) -> ErrorBody? {
        switch error {
        case let error as VoterError: return ErrorBody(code: error.code, message: error.message, trackingCode: error.trackingCode)
        case let error as ManifestError: return ErrorBody(code: "invalid-manifest", message: error.description)
        case let error as CryptoError: return ErrorBody(code: "crypto-error", message: "\(error); check that the key files are intact")
        default: return nil
        }
    }
}
