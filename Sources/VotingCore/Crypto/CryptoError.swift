internal import COpenSSL

/// A failure inside libcrypto or a rejected cryptographic input.
public enum CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An OpenSSL call failed; `call` names it and `detail` carries the error-queue entry.
    case openssl(call: String, detail: String)
    /// A key, signature or hash had the wrong size or could not be parsed.
    case invalidEncoding(String)

    public var description: String {
        switch self {
        case .openssl(let call, let detail): return "\(call) failed: \(detail)"
        case .invalidEncoding(let what): return "invalid encoding: \(what)"
        }
    }

    /// Drains the thread's OpenSSL error queue into a typed error for `call`.
    static func fromQueue(_ call: String) -> CryptoError {
        var lines: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            lines.append(String(decoding: bytes, as: UTF8.self))
        }
        return .openssl(call: call, detail: lines.isEmpty ? "no OpenSSL error queued" : lines.joined(separator: "; "))
    }
}

/// Checks an OpenSSL return code where 1 means success.
@inline(__always)
func check(_ result: Int32, _ call: String) throws {
    guard result == 1 else { throw CryptoError.fromQueue(call) }
}
