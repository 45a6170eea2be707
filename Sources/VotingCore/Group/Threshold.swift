/// k-of-n threshold key generation with Feldman-verifiable shares, partial decryption with
/// Chaum-Pedersen proofs, and Lagrange combination (docs/protocol.md §12).

/// Schnorr proof of knowledge of x with X = x*G, in commitment form (eqs. 30-31).
public struct SchnorrProof: Sendable, Hashable, Codable {
    public let a: GroupElement
    public let z: Scalar

    enum CodingKeys: String, CodingKey, CaseIterable { case a, z }

    public init(a: GroupElement, z: Scalar) {
        self.a = a
        self.z = z
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        a = try c.decode(GroupElement.self, forKey: .a)
        z = try c.decode(Scalar.self, forKey: .z)
    }

    static func challenge(_ electionHash: Digest, _ bound: [UInt8], _ X: GroupElement, _ a: GroupElement) -> Scalar {
        fiatShamirChallenge({ w in
            w.fixed(electionHash)
            w.bytes(bound)
            w.point(X)
            w.point(a)
        }, tag: .schnorrProof)
    }

    public static func prove(secret x: Scalar, electionHash: Digest, bound: [UInt8], u given: Scalar? = nil) throws -> SchnorrProof {
        let u = try given ?? Scalar.random()
        let X = GroupElement.base(x)
        let a = GroupElement.base(u)
        let c = challenge(electionHash, bound, X, a)
        return SchnorrProof(a: a, z: u + c * x)
    }

    /// z·G = a + c·X (eq. 31).
    public func verify(publicValue X: GroupElement, electionHash: Digest, bound: [UInt8]) -> Bool {
        let c = Self.challenge(electionHash, bound, X, a)
        return GroupElement.linear(z, -c, X) == a
    }
}

/// A dealer's secret polynomial f(x) = a_0 + a_1 x + ... + a_{k-1} x^{k-1}.
public struct SecretPolynomial: Sendable {
    public let coefficients: [Scalar]

    public init(coefficients: [Scalar]) { self.coefficients = coefficients }

    public static func random(degree: Int) throws -> SecretPolynomial {
        SecretPolynomial(coefficients: try (0...degree).map { _ in try Scalar.random() })
    }

    /// f(x) by Horner's rule.
    public func evaluate(at x: UInt64) -> Scalar {
        let xs = Scalar(x)
        var acc = Scalar.zero
        for a in coefficients.reversed() { acc = acc * xs + a }
        return acc
    }

    /// Feldman commitments C_t = a_t * G (eq. 32).
    public var commitments: [GroupElement] { coefficients.map { .base($0) } }
}

public enum Feldman {
    /// Σ_t C_t * x^t: the public image f(x)*G of a share (eq. 33).
    public static func shareImage(commitments: [GroupElement], at x: UInt64) -> GroupElement {
        let xs = Scalar(x)
        var power = Scalar.one
        var terms: [(Scalar, GroupElement)] = []
        for c in commitments {
            terms.append((power, c))
            power = power * xs
        }
        return terms.isEmpty ? .identity : .combination(generator: nil, terms)
    }

    /// Whether share s from a dealer with these commitments is f(x) (eq. 33).
    public static func verify(share s: Scalar, commitments: [GroupElement], at x: UInt64) -> Bool {
        GroupElement.base(s) == shareImage(commitments: commitments, at: x)
    }

    /// Lagrange coefficient for trustee `i` in the quorum `indices`, at 0 (eq. 36). Nil unless
    /// the indices are distinct, non-zero and include `i`.
    public static func lagrange(_ i: UInt64, in indices: [UInt64]) -> Scalar? {
        guard Set(indices).count == indices.count, !indices.contains(0), indices.contains(i) else { return nil }
        var num = Scalar.one
        var den = Scalar.one
        for m in indices where m != i {
            num = num * Scalar(m)
            den = den * (Scalar(m) - Scalar(i))
        }
        guard let inv = den.inverse else { return nil }
        return num * inv
    }
}

/// A share encrypted to a trustee's P-256 encryption key (hashed ElGamal, eqs. 34-35):
/// R = e*G, pad = SHA-256(tag-share-pad || ctx || e*P), ciphertext = share XOR pad, and a
/// MAC keyed by SHA-256(tag-share-mac || ctx || e*P) so a trustee can tell a damaged share.
public struct EncryptedShare: Sendable, Hashable, Codable {
    public let recipient: UInt32
    public let ephemeral: GroupElement
    public let ciphertext: HexBytes
    public let mac: Digest

    public init(recipient: UInt32, ephemeral: GroupElement, ciphertext: HexBytes, mac: Digest) {
        self.recipient = recipient
        self.ephemeral = ephemeral
        self.ciphertext = ciphertext
        self.mac = mac
    }

    static func keys(electionHash: Digest, dealer: UInt32, recipient: UInt32, ephemeral: GroupElement,
                     recipientKey: GroupElement, shared: GroupElement) -> (pad: [UInt8], macKey: [UInt8]) {
        func derive(_ label: String) -> [UInt8] {
            var w = CanonicalWriter(tag: .shareEncryption)
            w.string(label)
            w.fixed(electionHash)
            w.u32(dealer)
            w.u32(recipient)
            w.point(ephemeral)
            w.point(recipientKey)
            w.point(shared)
            return SHA256.hash(w.bytes).bytes
        }
        return (derive("pad"), derive("mac"))
    }

    static func macInput(dealer: UInt32, recipient: UInt32, ephemeral: GroupElement, ciphertext: [UInt8]) -> [UInt8] {
        var w = CanonicalWriter(tag: .shareEncryption)
        w.string("mac-input")
        w.u32(dealer)
        w.u32(recipient)
        w.point(ephemeral)
        w.bytes(ciphertext)
        return w.bytes
    }

    public static func seal(share: Scalar, electionHash: Digest, dealer: UInt32, recipient: UInt32,
                            recipientKey: GroupElement, ephemeralSecret given: Scalar? = nil) throws -> EncryptedShare {
        let e = try given ?? Scalar.random()
        let R = GroupElement.base(e)
        let keys = Self.keys(electionHash: electionHash, dealer: dealer, recipient: recipient, ephemeral: R,
                             recipientKey: recipientKey, shared: e * recipientKey)
        let ct = zip(share.bytes, keys.pad).map { $0 ^ $1 }
        let mac = HMACSHA256.authenticate(macInput(dealer: dealer, recipient: recipient, ephemeral: R, ciphertext: ct), key: keys.macKey)
        return EncryptedShare(recipient: recipient, ephemeral: R, ciphertext: HexBytes(ct), mac: mac)
    }

    /// Decrypts with the recipient's secret; nil when the MAC fails or the share is not a scalar.
    public func open(electionHash: Digest, dealer: UInt32, recipientSecret d: Scalar) -> Scalar? {
        guard ciphertext.bytes.count == 32 else { return nil }
        let P = GroupElement.base(d)
        let keys = Self.keys(electionHash: electionHash, dealer: dealer, recipient: recipient, ephemeral: ephemeral,
                             recipientKey: P, shared: d * ephemeral)
        let expected = HMACSHA256.authenticate(
            Self.macInput(dealer: dealer, recipient: recipient, ephemeral: ephemeral, ciphertext: ciphertext.bytes), key: keys.macKey)
        guard constantTimeEquals(expected.bytes, mac.bytes) else { return nil }
        return Scalar(bytes: zip(ciphertext.bytes, keys.pad).map { $0 ^ $1 })
    }
}

/// Chaum-Pedersen proof, in commitment form, that log_G(S) = log_alpha(D): a partial
/// decryption D = s*alpha was made with the secret s behind the trustee's public share
/// S = s*G (eqs. 37-38). When alpha is the identity (a vanished sum), D and b are too.
public struct DecryptionProof: Sendable, Hashable, Codable {
    public let a: GroupElement
    public let b: GroupElement
    public let z: Scalar

    enum CodingKeys: String, CodingKey, CaseIterable { case a, b, z }

    public init(a: GroupElement, b: GroupElement, z: Scalar) {
        self.a = a
        self.b = b
        self.z = z
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        a = try c.decode(GroupElement.self, forKey: .a)
        b = try IdentityOrPoint(from: c.superDecoder(forKey: .b)).value
        z = try c.decode(Scalar.self, forKey: .z)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(a, forKey: .a)
        try c.encode(Hex.encode(b.encoding), forKey: .b)
        try c.encode(z, forKey: .z)
    }

    static func challenge(_ electionHash: Digest, _ S: GroupElement, _ alpha: GroupElement, _ D: GroupElement,
                          _ a: GroupElement, _ b: GroupElement) -> Scalar {
        fiatShamirChallenge({ w in
            w.fixed(electionHash)
            w.point(S); w.point(alpha); w.point(D)
            w.point(a); w.point(b)
        }, tag: .decryptionProof)
    }

    public static func prove(secret s: Scalar, alpha: GroupElement, electionHash: Digest, u given: Scalar? = nil) throws -> (GroupElement, DecryptionProof) {
        let u = try given ?? Scalar.random()
        let S = GroupElement.base(s)
        let D = s * alpha
        let a = GroupElement.base(u), b = u * alpha
        let c = challenge(electionHash, S, alpha, D, a, b)
        return (D, DecryptionProof(a: a, b: b, z: u + c * s))
    }

    /// z·G = a + c·S and z·alpha = b + c·D (eq. 38).
    public func verify(publicShare S: GroupElement, alpha: GroupElement, partial D: GroupElement, electionHash: Digest) -> Bool {
        let c = Self.challenge(electionHash, S, alpha, D, a, b)
        return GroupElement.linear(z, -c, S) == a
            && GroupElement.combination(generator: nil, [(z, alpha), (-c, D)]) == b
    }

    func write(to w: inout CanonicalWriter) {
        w.point(a); w.point(b); w.scalar(z)
    }

    static func read(from r: inout CanonicalReader) throws -> DecryptionProof {
        DecryptionProof(a: try r.point(), b: try r.pointOrIdentity(), z: try r.scalar())
    }
}

public enum DiscreteLog {
    /// Finds t in 0...bound with t*G == M by baby-step giant-step; nil if none.
    public static func solve(_ M: GroupElement, bound: UInt64) -> UInt64? {
        if M.isIdentity { return 0 }
        // Counts are bounded by ballots; 2^40 keeps the table and the loop finite and small.
        guard bound < 1 << 40 else { return nil }
        var m: UInt64 = 1
        while m * m < bound + 1 { m += 1 }
        var table: [[UInt8]: UInt64] = [:]
        table.reserveCapacity(Int(m))
        var point = GroupElement.identity
        for j in 0..<m {
            table[point.encoding] = j
            point = point + .generator
        }
        let giant = -GroupElement.base(Scalar(m))
        var gamma = M
        for i in 0...m {
            if let j = table[gamma.encoding] {
                let t = i * m + j
                return t <= bound ? t : nil
            }
            gamma = gamma + giant
        }
        return nil
    }
}
