/// Strict JSON decoding for the nested values of request bodies: unknown fields are refused
/// at every level, as at the top (docs/openapi.yaml: additionalProperties false).

extension Ciphertext {
    enum CodingKeys: String, CodingKey, CaseIterable { case alpha, beta }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        self.init(alpha: try c.decode(GroupElement.self, forKey: .alpha), beta: try c.decode(GroupElement.self, forKey: .beta))
    }
}

extension EncryptedShare {
    enum CodingKeys: String, CodingKey, CaseIterable { case recipient, ephemeral, ciphertext, mac }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        self.init(recipient: try c.decode(UInt32.self, forKey: .recipient), ephemeral: try c.decode(GroupElement.self, forKey: .ephemeral),
                  ciphertext: try c.decode(HexBytes.self, forKey: .ciphertext), mac: try c.decode(Digest.self, forKey: .mac))
    }
}

extension PartialDecryption.Share {
    enum CodingKeys: String, CodingKey, CaseIterable { case partial, proof }
    /// The partial may be the identity when the aggregate's alpha is (a vanished sum).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        self.init(partial: try IdentityOrPoint(from: c.superDecoder(forKey: .partial)).value,
                  proof: try c.decode(DecryptionProof.self, forKey: .proof))
    }
}
