/// The trustees' key ceremony and the tally as public records (docs/protocol.md §12-13).

/// A trustee's public keys with the trustee's own signature over them (made by `trustee
/// keygen`). The commission appoints the trustee by signing this registration for an
/// election (log kind `trustee`), so neither the server nor anyone else can change a
/// trustee's name or keys, or add a trustee, without a check failing.
public struct TrusteeRegistration: Sendable, Hashable, Codable {
    /// 1...count; also the x at which the trustee's share is evaluated.
    public let index: UInt32
    public let name: String
    /// Signs the trustee's publications and its own registration.
    public let signingKey: Ed25519PublicKey
    /// Receives the other trustees' encrypted shares.
    public let encryptionKey: GroupElement
    /// The trustee's signature over the registration body.
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable {
        case index, name
        case signingKey = "signing_key"
        case encryptionKey = "encryption_key"
        case signature
    }

    public init(index: UInt32, name: String, signingKey: Ed25519PublicKey, encryptionKey: GroupElement, signature: Ed25519Signature) {
        self.index = index
        self.name = name
        self.signingKey = signingKey
        self.encryptionKey = encryptionKey
        self.signature = signature
    }

    /// A registration signed by the trustee's own key.
    public static func signed(index: UInt32, name: String, signingKey: Ed25519PrivateKey, encryptionKey: GroupElement) throws -> TrusteeRegistration {
        let body = bodyBytes(index: index, name: name, signingKey: signingKey.publicKey, encryptionKey: encryptionKey)
        return TrusteeRegistration(index: index, name: name, signingKey: signingKey.publicKey, encryptionKey: encryptionKey,
                                   signature: try signingKey.signature(for: body))
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        index = try c.decode(UInt32.self, forKey: .index)
        name = try c.decode(String.self, forKey: .name)
        signingKey = try c.decode(Ed25519PublicKey.self, forKey: .signingKey)
        encryptionKey = try c.decode(GroupElement.self, forKey: .encryptionKey)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }

    /// What the trustee signs: `evote.v2.trustee` {index, name, signing key, encryption key}.
    public static func bodyBytes(index: UInt32, name: String, signingKey: Ed25519PublicKey, encryptionKey: GroupElement) -> [UInt8] {
        var w = CanonicalWriter(tag: .trusteeRegistration)
        w.u32(index)
        w.string(name)
        w.key(signingKey)
        w.point(encryptionKey)
        return w.bytes
    }

    public var bodyBytes: [UInt8] { Self.bodyBytes(index: index, name: name, signingKey: signingKey, encryptionKey: encryptionKey) }

    /// The trustee's own signature verifies.
    public var isSelfSigned: Bool { signingKey.isValidSignature(signature, for: bodyBytes) }

    /// What the commission signs to appoint this trustee in an election.
    public func appointmentBytes(electionHash: Digest) -> [UInt8] {
        var w = CanonicalWriter(tag: .trusteeAppointment)
        w.fixed(electionHash)
        w.bytes(bodyBytes)
        w.fixed(signature)
        return w.bytes
    }

    /// The log payload: the appointment signed by the commission key.
    public func payload(electionHash: Digest, commissionSignature: Ed25519Signature) -> [UInt8] {
        signedPayload(appointmentBytes(electionHash: electionHash), commissionSignature)
    }

    public func appointmentSignature(electionHash: Digest, commissionKey: Ed25519PrivateKey) throws -> Ed25519Signature {
        try commissionKey.signature(for: appointmentBytes(electionHash: electionHash))
    }

    /// Decodes a `trustee` payload: the registration, the election hash of the appointment and
    /// the commission's signature over it.
    public static func decode(payload: [UInt8]) throws -> (TrusteeRegistration, Digest, Ed25519Signature) {
        let (appointment, commissionSignature) = try openSignedPayload(payload)
        var r = try CanonicalReader(appointment, tag: .trusteeAppointment)
        let hash = try r.fixed(Digest.self)
        let body = try r.bytes()
        let signature = try r.fixed(Ed25519Signature.self)
        try r.finish()
        var b = try CanonicalReader(body, tag: .trusteeRegistration)
        let value = TrusteeRegistration(index: try b.u32(), name: try b.string(), signingKey: try b.key(),
                                        encryptionKey: try b.point(), signature: signature)
        try b.finish()
        return (value, hash, commissionSignature)
    }
}

/// A polling station registered by the commission (log kind `station`): its supervised
/// ballots are signed by its key (docs/protocol.md §16).
public struct StationRegistration: Sendable, Hashable, Codable {
    public let index: UInt32
    public let name: String
    public let signingKey: Ed25519PublicKey

    enum CodingKeys: String, CodingKey, CaseIterable {
        case index, name
        case signingKey = "signing_key"
    }

    public init(index: UInt32, name: String, signingKey: Ed25519PublicKey) {
        self.index = index
        self.name = name
        self.signingKey = signingKey
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        index = try c.decode(UInt32.self, forKey: .index)
        name = try c.decode(String.self, forKey: .name)
        signingKey = try c.decode(Ed25519PublicKey.self, forKey: .signingKey)
    }

    public func appointmentBytes(electionHash: Digest) -> [UInt8] {
        var w = CanonicalWriter(tag: .stationAppointment)
        w.fixed(electionHash)
        w.u32(index)
        w.string(name)
        w.key(signingKey)
        return w.bytes
    }

    public func payload(electionHash: Digest, commissionSignature: Ed25519Signature) -> [UInt8] {
        signedPayload(appointmentBytes(electionHash: electionHash), commissionSignature)
    }

    public static func decode(payload: [UInt8]) throws -> (StationRegistration, Digest, Ed25519Signature) {
        let (body, signature) = try openSignedPayload(payload)
        var r = try CanonicalReader(body, tag: .stationAppointment)
        let hash = try r.fixed(Digest.self)
        let value = StationRegistration(index: try r.u32(), name: try r.string(), signingKey: try r.key())
        try r.finish()
        return (value, hash, signature)
    }
}

/// A trustee's dealing: Feldman commitments to its polynomial, a proof it knows the
/// constant term, and one encrypted share for every other trustee (log kind `dealing`).
public struct DealerPublication: Sendable, Hashable, Codable {
    public let index: UInt32
    public let commitments: [GroupElement]
    public let proof: SchnorrProof
    public let shares: [EncryptedShare]
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable { case index, commitments, proof, shares, signature }

    public init(index: UInt32, commitments: [GroupElement], proof: SchnorrProof, shares: [EncryptedShare], signature: Ed25519Signature) {
        self.index = index
        self.commitments = commitments
        self.proof = proof
        self.shares = shares
        self.signature = signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        index = try c.decode(UInt32.self, forKey: .index)
        commitments = try c.decode([GroupElement].self, forKey: .commitments)
        proof = try c.decode(SchnorrProof.self, forKey: .proof)
        shares = try c.decode([EncryptedShare].self, forKey: .shares)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }

    /// What the Schnorr proof of the constant term is bound to.
    public static func proofBinding(index: UInt32) -> [UInt8] {
        var w = CanonicalWriter(tag: .dealerPublication)
        w.u32(index)
        return w.bytes
    }

    public static func signedBytes(electionHash: Digest, index: UInt32, commitments: [GroupElement], proof: SchnorrProof,
                                   shares: [EncryptedShare]) -> [UInt8] {
        var w = CanonicalWriter(tag: .dealerPublication)
        w.fixed(electionHash)
        w.u32(index)
        w.list(commitments) { w, c in w.point(c) }
        w.point(proof.a)
        w.scalar(proof.z)
        w.list(shares) { w, s in
            w.u32(s.recipient)
            w.point(s.ephemeral)
            w.bytes(s.ciphertext.bytes)
            w.fixed(s.mac)
        }
        return w.bytes
    }

    public func signedBytes(electionHash: Digest) -> [UInt8] {
        Self.signedBytes(electionHash: electionHash, index: index, commitments: commitments, proof: proof, shares: shares)
    }

    /// Deals: a polynomial of degree quorum-1, its commitments and proof, and the other
    /// trustees' shares encrypted to their keys. `derive(label, t)` supplies every secret
    /// scalar (coefficient t, the proof nonce, each share's ephemeral secret), so a trustee
    /// that derives them from its key file deals identically every time. Returns the
    /// polynomial too (the dealer's own share is f(own index)).
    public static func deal(electionHash: Digest, index: UInt32, quorum: Int, trustees: [TrusteeRegistration],
                            signingKey: Ed25519PrivateKey,
                            derive: (_ label: String, _ t: UInt32) throws -> Scalar) throws -> (DealerPublication, SecretPolynomial) {
        let polynomial = SecretPolynomial(coefficients: try (0..<UInt32(quorum)).map { try derive("coefficient", $0) })
        let commitments = polynomial.commitments
        let proof = try SchnorrProof.prove(secret: polynomial.coefficients[0], electionHash: electionHash,
                                           bound: proofBinding(index: index), u: try derive("proof-nonce", 0))
        let shares = try trustees.filter { $0.index != index }.sorted { $0.index < $1.index }.map { t in
            try EncryptedShare.seal(share: polynomial.evaluate(at: UInt64(t.index)), electionHash: electionHash, dealer: index,
                                    recipient: t.index, recipientKey: t.encryptionKey, ephemeralSecret: try derive("share-ephemeral", t.index))
        }
        let bytes = signedBytes(electionHash: electionHash, index: index, commitments: commitments, proof: proof, shares: shares)
        let publication = DealerPublication(index: index, commitments: commitments, proof: proof, shares: shares,
                                            signature: try signingKey.signature(for: bytes))
        return (publication, polynomial)
    }

    /// Public checks (anyone): signature, number of commitments, proof of the constant term,
    /// exactly one share for every other trustee.
    public func problem(electionHash: Digest, quorum: Int, trustees: [TrusteeRegistration]) -> String? {
        guard let dealer = trustees.first(where: { $0.index == index }) else { return "trustee \(index) is not registered" }
        guard dealer.signingKey.isValidSignature(signature, for: signedBytes(electionHash: electionHash)) else {
            return "the publication of trustee \(index) is not signed by its registered key"
        }
        guard commitments.count == quorum else { return "trustee \(index) published \(commitments.count) commitments, the quorum needs \(quorum)" }
        guard proof.verify(publicValue: commitments[0], electionHash: electionHash, bound: Self.proofBinding(index: index)) else {
            return "trustee \(index)'s proof of knowledge of its secret does not verify"
        }
        let recipients = shares.map(\.recipient)
        let expected = trustees.map(\.index).filter { $0 != index }.sorted()
        guard recipients == expected else { return "trustee \(index) must publish one share for each other trustee, in index order" }
        return nil
    }

    /// Log payload: the signed bytes and the signature (docs/protocol.md §12.3).
    public func payload(electionHash: Digest) -> [UInt8] {
        signedPayload(signedBytes(electionHash: electionHash), signature)
    }

    public static func decode(payload: [UInt8]) throws -> (DealerPublication, Digest) {
        let (body, signature) = try openSignedPayload(payload)
        var r = try CanonicalReader(body, tag: .dealerPublication)
        let hash = try r.fixed(Digest.self)
        let index = try r.u32()
        let commitments = try r.list { try $0.point() }
        let proof = SchnorrProof(a: try r.point(), z: try r.scalar())
        let shares = try r.list { r in
            EncryptedShare(recipient: try r.u32(), ephemeral: try r.point(), ciphertext: HexBytes(try r.bytes()), mac: try r.fixed(Digest.self))
        }
        try r.finish()
        return (DealerPublication(index: index, commitments: commitments, proof: proof, shares: shares, signature: signature), hash)
    }
}

/// A trustee's verdict on the shares it received (log kind `verification`).
public struct ShareVerification: Sendable, Hashable, Codable {
    public let index: UInt32
    /// Dealers whose share to this trustee failed Feldman verification or did not decrypt; empty when all passed.
    public let complaints: [UInt32]
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable { case index, complaints, signature }

    public init(index: UInt32, complaints: [UInt32], signature: Ed25519Signature) {
        self.index = index
        self.complaints = complaints
        self.signature = signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        index = try c.decode(UInt32.self, forKey: .index)
        complaints = try c.decode([UInt32].self, forKey: .complaints)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }

    public static func signedBytes(electionHash: Digest, index: UInt32, complaints: [UInt32]) -> [UInt8] {
        var w = CanonicalWriter(tag: .shareVerification)
        w.fixed(electionHash)
        w.u32(index)
        w.list(complaints) { w, c in w.u32(c) }
        return w.bytes
    }

    public func signedBytes(electionHash: Digest) -> [UInt8] {
        Self.signedBytes(electionHash: electionHash, index: index, complaints: complaints)
    }

    public func payload(electionHash: Digest) -> [UInt8] {
        signedPayload(signedBytes(electionHash: electionHash), signature)
    }

    public static func decode(payload: [UInt8]) throws -> (ShareVerification, Digest) {
        let (body, signature) = try openSignedPayload(payload)
        var r = try CanonicalReader(body, tag: .shareVerification)
        let hash = try r.fixed(Digest.self)
        let index = try r.u32()
        let complaints = try r.list { try $0.u32() }
        try r.finish()
        return (ShareVerification(index: index, complaints: complaints, signature: signature), hash)
    }
}

/// The joint election key and every trustee's public share, derived from the commitments
/// (log kind `election-key`; eqs. 39-40).
public struct ElectionKeyRecord: Sendable, Hashable, Codable {
    public let key: GroupElement
    /// S_j for trustees 1...n, in index order.
    public let publicShares: [GroupElement]

    enum CodingKeys: String, CodingKey {
        case key
        case publicShares = "public_shares"
    }

    public init(key: GroupElement, publicShares: [GroupElement]) {
        self.key = key
        self.publicShares = publicShares
    }

    /// K = Σ_i C_i0 and S_j = Σ_i Σ_t C_it j^t, from the dealers' publications.
    public static func derive(from publications: [DealerPublication], trustees: [UInt32]) -> ElectionKeyRecord? {
        guard let first = publications.first?.commitments.first else { return nil }
        let key = publications.dropFirst().reduce(first) { $0 + ($1.commitments.first ?? .identity) }
        let shares = trustees.sorted().map { j in
            publications.map { Feldman.shareImage(commitments: $0.commitments, at: UInt64(j)) }.reduce(GroupElement.identity, +)
        }
        return ElectionKeyRecord(key: key, publicShares: shares)
    }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .electionKey)
        w.point(key)
        w.list(publicShares) { w, s in w.point(s) }
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> ElectionKeyRecord {
        var r = try CanonicalReader(bytes, tag: .electionKey)
        let value = ElectionKeyRecord(key: try r.point(), publicShares: try r.list { try $0.point() })
        try r.finish()
        return value
    }
}
