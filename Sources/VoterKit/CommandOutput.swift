import Foundation
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

    /// An error as a sentence for people: a decoding failure names the field and what is
    /// wrong with it, never Swift's own description.
    public static func plain(_ error: any Error) -> String {
        switch error {
        case let error as DecodingError:
            func path(_ c: DecodingError.Context) -> String {
                let p = c.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
                return p.isEmpty ? "the file" : "field \(p)"
            }
            switch error {
            case .typeMismatch(_, let c): return "\(path(c)) has the wrong type"
            case .valueNotFound(_, let c): return "\(path(c)) is empty"
            case .keyNotFound(let key, let c): return "field \(c.codingPath.isEmpty ? "" : path(c).replacingOccurrences(of: "field ", with: "") + ".")\(key.stringValue) is missing"
            case .dataCorrupted(let c):
                return c.codingPath.isEmpty && c.underlyingError != nil ? "it is not valid JSON" : "\(path(c)): \(c.debugDescription)"
            @unknown default: return "it does not have the expected fields"
            }
        case let error as VoterError: return error.message
        default: return "\(error)"
        }
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
