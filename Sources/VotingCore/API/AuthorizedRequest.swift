/// Commission and trustee requests over HTTP carry four headers that bind a signature by
/// the commission or trustee key to this election, the method, the path, the exact body, a
/// fresh nonce and an expiry (docs/protocol.md §15). The server refuses a request that is
/// unsigned, signed by another key, expired, valid for too long, or a replay of a nonce it
/// has already accepted.
public struct RequestAuthorization: Sendable, Hashable {
    /// Who signs: the commission, trustee `i` with the signing key it registered, or polling
    /// station `i` with the key the commission registered for it.
    public enum Signer: Sendable, Hashable, CustomStringConvertible {
        case commission
        case trustee(UInt32)
        case station(UInt32)

        /// The header text: `commission`, `trustee-<i>` or `station-<i>` (i in decimal, no leading zeros).
        public var description: String {
            switch self {
            case .commission: return "commission"
            case .trustee(let i): return "trustee-\(i)"
            case .station(let i): return "station-\(i)"
            }
        }

        public init?(_ text: String) {
            if text == "commission" { self = .commission; return }
            for (prefix, make) in [("trustee-", Signer.trustee), ("station-", Signer.station)] where text.hasPrefix(prefix) {
                let digits = text.dropFirst(prefix.count)
                guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                      !digits.hasPrefix("0"), let i = UInt32(digits), i > 0 else { return nil }
                self = make(i)
                return
            }
            return nil
        }
    }

    /// A 16-byte random value, used once.
    public struct Nonce: FixedBytes {
        public static let byteCount = 16
        public let bytes: [UInt8]
        public init(trusted bytes: [UInt8]) { self.bytes = bytes }
        public static func random() throws -> Nonce { Nonce(trusted: try SecureRandom.bytes(byteCount)) }
    }

    public enum Header {
        public static let signer = "Evote-Signer"
        public static let nonce = "Evote-Nonce"
        public static let expires = "Evote-Expires"
        public static let signature = "Evote-Signature"
        public static let all = [signer, nonce, expires, signature]
    }

    /// The longest validity a server accepts by default: 5 minutes.
    public static let defaultMaxLifetime: Timestamp = 5 * 60 * 1000
    /// What a client asks for: 2 minutes.
    public static let defaultLifetime: Timestamp = 2 * 60 * 1000

    public let signer: Signer
    public let nonce: Nonce
    /// Milliseconds since the epoch after which the request must be refused.
    public let expiresAt: Timestamp
    public let signature: Ed25519Signature

    public init(signer: Signer, nonce: Nonce, expiresAt: Timestamp, signature: Ed25519Signature) {
        self.signer = signer
        self.nonce = nonce
        self.expiresAt = expiresAt
        self.signature = signature
    }

    /// What is signed (docs/protocol.md §15, eq. 46).
    public static func signedBytes(electionHash: Digest, method: String, path: String, signer: Signer,
                                   nonce: Nonce, expiresAt: Timestamp, body: [UInt8]) -> [UInt8] {
        var w = CanonicalWriter(tag: .authorizedRequest)
        w.fixed(electionHash)
        w.string(method)
        w.string(path)
        w.string(signer.description)
        w.fixed(nonce)
        w.u64(expiresAt)
        w.fixed(SHA256.hash(body))
        return w.bytes
    }

    public static func sign(electionHash: Digest, method: String, path: String, body: [UInt8], signer: Signer,
                            key: Ed25519PrivateKey, now: Timestamp, lifetime: Timestamp = defaultLifetime) throws -> RequestAuthorization {
        let nonce = try Nonce.random()
        let expires = now + lifetime
        let signature = try key.signature(for: signedBytes(electionHash: electionHash, method: method, path: path, signer: signer,
                                                           nonce: nonce, expiresAt: expires, body: body))
        return RequestAuthorization(signer: signer, nonce: nonce, expiresAt: expires, signature: signature)
    }

    public func isValid(electionHash: Digest, method: String, path: String, body: [UInt8], key: Ed25519PublicKey) -> Bool {
        key.isValidSignature(signature, for: Self.signedBytes(electionHash: electionHash, method: method, path: path, signer: signer,
                                                              nonce: nonce, expiresAt: expiresAt, body: body))
    }

    /// The four header values, in `Header.all` order.
    public var headerValues: [(name: String, value: String)] {
        [(Header.signer, signer.description), (Header.nonce, nonce.hex),
         (Header.expires, String(expiresAt)), (Header.signature, signature.hex)]
    }

    /// Why a set of header values is not an authorization.
    public enum ParseProblem: Error, Sendable, Equatable {
        /// None of the four headers is present.
        case absent
        /// Some are present but one is missing, repeated or malformed (named).
        case malformed(String)
    }

    /// Parses the four headers; `values(name)` returns every value of a header.
    public static func parse(_ values: (String) -> [String]) -> Result<RequestAuthorization, ParseProblem> {
        let found = Header.all.map { values($0) }
        if found.allSatisfy(\.isEmpty) { return .failure(.absent) }
        for (name, v) in zip(Header.all, found) where v.count != 1 {
            return .failure(.malformed(v.isEmpty ? "header \(name) is missing" : "header \(name) is repeated"))
        }
        guard let signer = Signer(found[0][0]) else {
            return .failure(.malformed("\(Header.signer) must be `commission`, `trustee-<number>` or `station-<number>`"))
        }
        guard let nonce = Nonce(hex: found[1][0]) else {
            return .failure(.malformed("\(Header.nonce) must be 32 lowercase hex digits"))
        }
        let expiresText = found[2][0]
        guard !expiresText.isEmpty, expiresText.count <= 19, expiresText.allSatisfy({ $0.isASCII && $0.isNumber }),
              let expires = UInt64(expiresText) else {
            return .failure(.malformed("\(Header.expires) must be milliseconds since 1970 as a whole number"))
        }
        guard let signature = Ed25519Signature(hex: found[3][0]) else {
            return .failure(.malformed("\(Header.signature) must be 128 lowercase hex digits"))
        }
        return .success(RequestAuthorization(signer: signer, nonce: nonce, expiresAt: expires, signature: signature))
    }
}
