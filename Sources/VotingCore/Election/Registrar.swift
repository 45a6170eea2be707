/// The commission's registrar: one-time enrollment codes, the signed lists of their
/// commitments published at roll import, code reissues, and the enrollments that open them
/// (docs/protocol.md §4.3, §4.7, §8.2). The registrar signs with the commission key, which is
/// kept off the server: the server alone cannot create an enrollment, because every
/// enrollment must open a commitment of a registrar-signed list with its code.

/// Single-use enrollment codes: 80 random bits as 16 Crockford base32 characters, shown as
/// XXXX-XXXX-XXXX-XXXX.
public enum EnrollmentCode {
    public static let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
    /// Characters of a normalized code (5 bits each: 80 bits).
    public static let length = 16
    /// PBKDF2 iterations of a code commitment (eq. 13).
    public static let iterations = 512

    /// A fresh code: 10 bytes from the CSPRNG read 5 bits at a time (no modulo bias).
    public static func generate() throws -> String {
        let random = try SecureRandom.bytes(10)
        var bits: UInt64 = 0
        var nbits = 0
        var chars: [UInt8] = []
        for byte in random {
            bits = bits << 8 | UInt64(byte)
            nbits += 8
            while nbits >= 5 {
                nbits -= 5
                chars.append(alphabet[Int((bits >> UInt64(nbits)) & 31)])
            }
        }
        let text = String(decoding: chars, as: UTF8.self)
        return stride(from: 0, to: length, by: 4).map { i in
            String(text.dropFirst(i).prefix(4))
        }.joined(separator: "-")
    }

    /// Upper-cases, drops '-' and spaces, and maps the Crockford look-alikes (O→0, I/L→1).
    public static func normalize(_ s: String) -> String {
        var out = ""
        for ch in s.uppercased() {
            switch ch {
            case "-", " ": continue
            case "O": out.append("0")
            case "I", "L": out.append("1")
            default: out.append(ch)
            }
        }
        return out
    }

    /// Whether `normalized` has the form of a normalized code: 16 characters of the alphabet.
    public static func isWellFormed(_ normalized: String) -> Bool {
        let u = Array(normalized.utf8)
        return u.count == length && u.allSatisfy { alphabet.contains($0) }
    }

    /// X = PBKDF2-HMAC-SHA256(normalize(code), "evote.v2.code-commitment" || election_hash || salt, 512, 32) (eq. 13).
    public static func commitment(normalizedCode: String, salt: Salt, electionHash: Digest) -> Digest {
        var w = CanonicalWriter(tag: .codeCommitment)
        w.fixed(electionHash)
        w.fixed(salt)
        return Digest(trusted: PBKDF2SHA256.derive(password: Array(normalizedCode.utf8), salt: w.bytes, iterations: iterations))
    }
}

/// One voter's entry in a registrar's list: a salt and the commitment to the voter's code.
public struct CodeCommitment: Sendable, Hashable, Codable {
    public let salt: Salt
    public let value: Digest

    public init(salt: Salt, value: Digest) {
        self.salt = salt
        self.value = value
    }

    /// A fresh commitment to `normalizedCode` with a random salt.
    public static func make(normalizedCode: String, electionHash: Digest) throws -> CodeCommitment {
        let salt = try Salt.random()
        return CodeCommitment(salt: salt, value: EnrollmentCode.commitment(normalizedCode: normalizedCode, salt: salt, electionHash: electionHash))
    }

    /// Whether `normalizedCode` opens this commitment (the hash itself is public, no secret is compared).
    public func isOpened(by normalizedCode: String, electionHash: Digest) -> Bool {
        EnrollmentCode.isWellFormed(normalizedCode)
            && EnrollmentCode.commitment(normalizedCode: normalizedCode, salt: salt, electionHash: electionHash) == value
    }

    func write(to w: inout CanonicalWriter) {
        w.fixed(salt)
        w.fixed(value)
    }

    static func read(from r: inout CanonicalReader) throws -> CodeCommitment {
        CodeCommitment(salt: try r.fixed(Salt.self), value: try r.fixed(Digest.self))
    }
}

/// A roll import (log kind `roll`, signed by the commission key): per district, one code
/// commitment for every voter the import added. No personal data; the order within a
/// district is shuffled so it says nothing about the roll's order.
public struct RollImport: Sendable, Hashable {
    public struct DistrictCommitments: Sendable, Hashable {
        public let district: String
        public let commitments: [CodeCommitment]
        public init(district: String, commitments: [CodeCommitment]) {
            self.district = district
            self.commitments = commitments
        }
    }

    /// Most commitments in one `roll` entry; a larger import is split into several entries.
    public static let maxCommitmentsPerEntry = 10_000

    public let districts: [DistrictCommitments]

    public init(districts: [DistrictCommitments]) { self.districts = districts }

    /// Voters this import added per district.
    public var counts: [(district: String, voters: Int)] { districts.map { ($0.district, $0.commitments.count) } }

    public static func signedBytes(electionHash: Digest, districts: [DistrictCommitments]) -> [UInt8] {
        var w = CanonicalWriter(tag: .rollImport)
        w.fixed(electionHash)
        w.list(districts) { w, d in
            w.string(d.district)
            w.list(d.commitments) { w, c in c.write(to: &w) }
        }
        return w.bytes
    }

    /// The log payload: the registrar's signed list.
    public func payload(electionHash: Digest, commissionKey: Ed25519PrivateKey) throws -> [UInt8] {
        let body = Self.signedBytes(electionHash: electionHash, districts: districts)
        return signedPayload(body, try commissionKey.signature(for: body))
    }

    /// Decodes a `roll` payload; returns the import, the election hash it names and whether the
    /// registrar's signature verifies under `commissionKey`.
    public static func decode(payload: [UInt8], commissionKey: Ed25519PublicKey) throws -> (RollImport, Digest, signed: Bool) {
        let (body, signature) = try openSignedPayload(payload)
        var r = try CanonicalReader(body, tag: .rollImport)
        let hash = try r.fixed(Digest.self)
        let districts = try r.list { r in
            DistrictCommitments(district: try r.string(), commitments: try r.list { try CodeCommitment.read(from: &$0) })
        }
        try r.finish()
        return (RollImport(districts: districts), hash, commissionKey.isValidSignature(signature, for: body))
    }
}

/// The registrar's order that replaces one voter's code (a lost letter or a lost wallet):
/// the old commitment is dead from then on, the new one joins the district's list.
public struct CodeReissue: Sendable, Hashable {
    public let district: String
    /// The commitment (value) this order retires.
    public let replaces: Digest
    public let commitment: CodeCommitment
    public let issuedAt: Timestamp

    public init(district: String, replaces: Digest, commitment: CodeCommitment, issuedAt: Timestamp) {
        self.district = district
        self.replaces = replaces
        self.commitment = commitment
        self.issuedAt = issuedAt
    }

    public func signedBytes(electionHash: Digest) -> [UInt8] {
        var w = CanonicalWriter(tag: .codeReissue)
        w.fixed(electionHash)
        w.string(district)
        w.fixed(replaces)
        commitment.write(to: &w)
        w.u64(issuedAt)
        return w.bytes
    }

    static func decode(signed bytes: [UInt8]) throws -> (CodeReissue, Digest) {
        var r = try CanonicalReader(bytes, tag: .codeReissue)
        let hash = try r.fixed(Digest.self)
        let value = CodeReissue(district: try r.string(), replaces: try r.fixed(Digest.self),
                                commitment: try CodeCommitment.read(from: &r), issuedAt: try r.u64())
        try r.finish()
        return (value, hash)
    }
}

/// A reissue as logged (kind `reissue`): the registrar's signed order and the voter key the
/// retired code had enrolled, revoked with it (none when the voter had not enrolled).
public struct ReissueEntry: Sendable, Hashable {
    public let order: CodeReissue
    public let orderBytes: [UInt8]
    public let signature: Ed25519Signature
    public let revoked: [Ed25519PublicKey]

    public init(order: CodeReissue, electionHash: Digest, signature: Ed25519Signature, revoked: [Ed25519PublicKey]) {
        self.order = order
        self.orderBytes = order.signedBytes(electionHash: electionHash)
        self.signature = signature
        self.revoked = revoked
    }

    private init(order: CodeReissue, orderBytes: [UInt8], signature: Ed25519Signature, revoked: [Ed25519PublicKey]) {
        self.order = order
        self.orderBytes = orderBytes
        self.signature = signature
        self.revoked = revoked
    }

    public static func sign(_ order: CodeReissue, electionHash: Digest, commissionKey: Ed25519PrivateKey) throws -> Ed25519Signature {
        try commissionKey.signature(for: order.signedBytes(electionHash: electionHash))
    }

    public func isSigned(by commissionKey: Ed25519PublicKey) -> Bool {
        commissionKey.isValidSignature(signature, for: orderBytes)
    }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .reissueEntry)
        w.bytes(orderBytes)
        w.fixed(signature)
        w.list(revoked) { w, k in w.key(k) }
        return w.bytes
    }

    /// Decodes a `reissue` payload; returns it with the election hash its order names.
    public static func decode(canonical bytes: [UInt8]) throws -> (ReissueEntry, Digest) {
        var r = try CanonicalReader(bytes, tag: .reissueEntry)
        let orderBytes = try r.bytes()
        let signature = try r.fixed(Ed25519Signature.self)
        let revoked = try r.list { try $0.key() }
        try r.finish()
        let (order, hash) = try CodeReissue.decode(signed: orderBytes)
        return (ReissueEntry(order: order, orderBytes: orderBytes, signature: signature, revoked: revoked), hash)
    }
}

/// The voter's proof of possession of its new key, bound to the code it enrolls with.
public enum EnrollmentRequest {
    public static func signedBytes(electionHash: Digest, voterKey: Ed25519PublicKey, normalizedCode: String) -> [UInt8] {
        var w = CanonicalWriter(tag: .enrollmentRequest)
        w.fixed(electionHash)
        w.key(voterKey)
        w.string(normalizedCode)
        return w.bytes
    }
}

/// A public enrollment (log kind `enrollment`): this key may cast one ballot in this district,
/// because it opened this registrar commitment with its code (single use, so publishing it
/// costs nothing) and proved it holds the key.
public struct Enrollment: Sendable, Hashable {
    public let voterKey: Ed25519PublicKey
    public let district: String
    /// The registrar commitment this enrollment opens.
    public let commitment: Digest
    /// The normalized code that opens it.
    public let code: String
    /// The voter's signature over the enrollment request (eq. 6).
    public let signature: Ed25519Signature

    public init(voterKey: Ed25519PublicKey, district: String, commitment: Digest, code: String, signature: Ed25519Signature) {
        self.voterKey = voterKey
        self.district = district
        self.commitment = commitment
        self.code = code
        self.signature = signature
    }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .enrollment)
        w.key(voterKey)
        w.string(district)
        w.fixed(commitment)
        w.string(code)
        w.fixed(signature)
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> Enrollment {
        var r = try CanonicalReader(bytes, tag: .enrollment)
        let value = Enrollment(voterKey: try r.key(), district: try r.string(), commitment: try r.fixed(Digest.self),
                               code: try r.string(), signature: try r.fixed(Ed25519Signature.self))
        try r.finish()
        return value
    }

    /// The voter's proof of possession verifies (eq. 6).
    public func hasValidSignature(electionHash: Digest) -> Bool {
        voterKey.isValidSignature(signature, for: EnrollmentRequest.signedBytes(electionHash: electionHash, voterKey: voterKey,
                                                                               normalizedCode: code))
    }
}
