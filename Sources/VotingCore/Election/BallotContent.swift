/// What the voter marked, encrypted (content type `elgamal-p256-v2`, docs/protocol.md §11.4): one
/// exponential-ElGamal ciphertext per option of the district's contest in manifest order,
/// a proof that each encrypts 0 or 1, and a proof that they sum to the selection limit.
public struct BallotContent: Sendable, Hashable, Codable {
    public static let contentType = "elgamal-p256-v2"

    public let ciphertexts: [Ciphertext]
    public let proofs: [ZeroOrOneProof]
    public let limitProof: KnownValueProof

    enum CodingKeys: String, CodingKey, CaseIterable {
        case ciphertexts, proofs
        case limitProof = "limit_proof"
    }

    public init(ciphertexts: [Ciphertext], proofs: [ZeroOrOneProof], limitProof: KnownValueProof) {
        self.ciphertexts = ciphertexts
        self.proofs = proofs
        self.limitProof = limitProof
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        ciphertexts = try c.decode([Ciphertext].self, forKey: .ciphertexts)
        proofs = try c.decode([ZeroOrOneProof].self, forKey: .proofs)
        limitProof = try c.decode(KnownValueProof.self, forKey: .limitProof)
    }

    /// The proofs' binding: the ballot's random id and its district, so a proof cannot be
    /// copied into another ballot, and names no voter (eq. 22).
    public static func context(electionHash: Digest, electionKey: GroupElement, ballotID: BallotID, district: String) -> ProofContext {
        ProofContext(electionHash: electionHash, electionKey: electionKey, bound: ballotID.bytes + Array(district.utf8))
    }

    /// Encrypts a choice: 1 for each selected option, 0 for the others. `nonces` (one per
    /// option) are drawn from the DRBG unless given; they are the secret a challenge reveals.
    public static func encrypt(selections: [String], district: District, context: ProofContext,
                               nonces given: [Scalar]? = nil) throws -> (BallotContent, BallotOpening) {
        let selected = Set(selections)
        // The count is left to the proofs (an over-vote must be refusable); names must be real and distinct.
        guard selected.count == selections.count, selections.allSatisfy({ district.option($0) != nil }) else {
            throw RecordError.mismatch("selections must be distinct options of district \(district.id)")
        }
        let nonces = try given ?? district.options.map { _ in try Scalar.random() }
        precondition(nonces.count == district.options.count, "one nonce per option")
        // One multiplier for the ballot: the key's table once this process has encrypted before.
        let keyTable = ElectionKeyTable.forEncrypting(to: context.electionKey)
        var ciphertexts: [Ciphertext] = []
        var proofs: [ZeroOrOneProof] = []
        for (option, r) in zip(district.options, nonces) {
            let m: UInt64 = selected.contains(option.id) ? 1 : 0
            let ct = Ciphertext.encrypt(m, nonce: r, keyTable: keyTable)
            ciphertexts.append(ct)
            proofs.append(try ZeroOrOneProof.prove(ciphertext: ct, vote: m, nonce: r, context: context, keyTable: keyTable))
        }
        let nonceSum = nonces.dropFirst().reduce(nonces[0], +)
        let limitProof = try KnownValueProof.prove(ciphertexts: ciphertexts, value: UInt64(selected.count), nonce: nonceSum,
                                                   context: context, keyTable: keyTable)
        return (BallotContent(ciphertexts: ciphertexts, proofs: proofs, limitProof: limitProof),
                BallotOpening(selections: selections, nonces: nonces))
    }

    /// Builds now the once-per-process table that makes encrypting to `electionKey` faster
    /// (otherwise built at the second ballot); returns how long building it took.
    @discardableResult
    public static func prepareEncryption(electionKey: GroupElement) throws -> Duration {
        try ElectionKeyTable.prepared(for: electionKey).buildTime
    }

    /// The shape problem, if any: one ciphertext per option, one 0/1 proof per ciphertext.
    public func shapeProblem(in district: District) -> BallotProblem? {
        guard ciphertexts.count == district.options.count else {
            return .wrongOptionCount(expected: district.options.count, got: ciphertexts.count)
        }
        guard proofs.count == ciphertexts.count else { return .wrongProofCount(expected: ciphertexts.count, got: proofs.count) }
        return nil
    }

    /// Adds every proof's equations to `batch` (one ballot's share of a batch check); marks the
    /// batch broken when the shape is wrong.
    public func addEquations(in district: District, context: ProofContext, to batch: inout ProofBatch) {
        guard shapeProblem(in: district) == nil else {
            batch.broken = true
            return
        }
        // Each 0/1 proof appends its terms ending with its ciphertext's alpha and beta; the
        // limit proof adds its coefficients to those two terms rather than repeating them.
        var existing: [(alpha: Int, beta: Int)] = []
        existing.reserveCapacity(ciphertexts.count)
        for (ct, proof) in zip(ciphertexts, proofs) {
            proof.addEquations(ciphertext: ct, context: context, to: &batch)
            existing.append((alpha: batch.termCount - 2, beta: batch.termCount - 1))
        }
        limitProof.addEquations(ciphertexts: ciphertexts, value: UInt64(district.selectionLimit), context: context, to: &batch,
                                existing: existing)
    }

    /// Checks shape and every proof; nil when the ballot is well formed for the contest. All
    /// the proofs are checked in one batch; only when it fails are they checked one by one to
    /// name the first that fails.
    public func problem(in district: District, context: ProofContext) -> BallotProblem? {
        if let shape = shapeProblem(in: district) { return shape }
        var batch = ProofBatch(electionKey: context.electionKey)
        addEquations(in: district, context: context, to: &batch)
        if batch.holds() { return nil }
        for (i, (ct, proof)) in zip(ciphertexts, proofs).enumerated() where !proof.verify(ciphertext: ct, context: context) {
            return .badRangeProof(option: district.options[i].id)
        }
        return .badLimitProof(limit: district.selectionLimit)
    }

    func write(to w: inout CanonicalWriter) {
        w.string(Self.contentType)
        w.list(ciphertexts) { w, c in c.write(to: &w) }
        w.list(proofs) { w, p in p.write(to: &w) }
        limitProof.write(to: &w)
    }

    static func read(from r: inout CanonicalReader) throws -> BallotContent {
        let type = try r.string()
        guard type == contentType else { throw RecordError.unknownValue("ballot content type \"\(type)\"") }
        return BallotContent(ciphertexts: try r.list { try Ciphertext.read(from: &$0) },
                                      proofs: try r.list { try ZeroOrOneProof.read(from: &$0) },
                                      limitProof: try KnownValueProof.read(from: &r))
    }
}

/// What opens an encrypted ballot: the choice and the nonce of every ciphertext. Revealed
/// only for a challenged (spoiled) ballot, never for a cast one.
public struct BallotOpening: Sendable, Hashable, Codable {
    public let selections: [String]
    public let nonces: [Scalar]

    enum CodingKeys: String, CodingKey, CaseIterable { case selections, nonces }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        selections = try c.decode([String].self, forKey: .selections)
        nonces = try c.decode([Scalar].self, forKey: .nonces)
    }

    public init(selections: [String], nonces: [Scalar]) {
        self.selections = selections
        self.nonces = nonces
    }

    /// Whether `content` encrypts exactly these selections with these nonces (eq. 45).
    public func opens(_ content: BallotContent, district: District, electionKey: GroupElement) -> Bool {
        let selected = Set(selections)
        guard selected.count == selections.count, selections.allSatisfy({ district.option($0) != nil }),
              nonces.count == district.options.count, content.ciphertexts.count == nonces.count else { return false }
        return zip(zip(district.options, nonces), content.ciphertexts).allSatisfy { pair, ct in
            ct.opens(to: selected.contains(pair.0.id) ? 1 : 0, nonce: pair.1, key: electionKey)
        }
    }
}
