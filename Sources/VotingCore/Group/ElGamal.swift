/// Exponential ElGamal on P-256 (docs/protocol.md §11): Enc(m; r) = (r*G, m*G + r*K).
public struct Ciphertext: Sendable, Hashable, Codable {
    /// alpha = r*G
    public let alpha: GroupElement
    /// beta = m*G + r*K
    public let beta: GroupElement

    public init(alpha: GroupElement, beta: GroupElement) {
        self.alpha = alpha
        self.beta = beta
    }

    /// Encrypts the small integer `m` with nonce `r` to the election key (eq. 20).
    public static func encrypt(_ m: UInt64, nonce r: Scalar, key: GroupElement) -> Ciphertext {
        encrypt(m, nonce: r, keyTable: ElectionKeyTable.forEncrypting(to: key))
    }

    /// Eq. 20 with s·K taken from the key's table. For a vote (m = 0 or 1) both r·K and r·K + G
    /// are computed and the vote picks one by masking (no branch, no OpenSSL call whose inputs
    /// depend on m; the old `EC_POINT_mul(m, K, r)` did a different amount of work for 0 and 1).
    /// Larger m (tests, tally fixtures) are not secret votes and take the direct sum.
    static func encrypt(_ m: UInt64, nonce r: Scalar, keyTable K: ElectionKeyTable) -> Ciphertext {
        let rK = K.times(r)
        let beta: GroupElement
        if m <= 1 {
            beta = .select(UInt8(truncatingIfNeeded: m), rK, rK + .generator)
        } else {
            beta = rK + .base(Scalar(m))
        }
        return Ciphertext(alpha: .base(r), beta: beta)
    }

    /// Homomorphic addition: Enc(m1; r1) + Enc(m2; r2) = Enc(m1 + m2; r1 + r2) (eq. 21).
    public static func + (x: Ciphertext, y: Ciphertext) -> Ciphertext {
        Ciphertext(alpha: x.alpha + y.alpha, beta: x.beta + y.beta)
    }

    /// The homomorphic sum of many ciphertexts (eq. 21), accumulated without intermediate encodings.
    public static func sum<C: Collection<Ciphertext>>(_ ciphertexts: C) -> Ciphertext {
        Ciphertext(alpha: .sum(ciphertexts.lazy.map(\.alpha)), beta: .sum(ciphertexts.lazy.map(\.beta)))
    }

    /// Whether this encrypts `m` under nonce `r` (how a challenged ballot is opened).
    public func opens(to m: UInt64, nonce r: Scalar, key: GroupElement) -> Bool {
        self == Ciphertext.encrypt(m, nonce: r, key: key)
    }

    func write(to w: inout CanonicalWriter) {
        w.point(alpha)
        w.point(beta)
    }

    static func read(from r: inout CanonicalReader) throws -> Ciphertext {
        Ciphertext(alpha: try r.point(), beta: try r.point())
    }
}

/// Fiat-Shamir challenge: SHA-256 over a canonical object, reduced mod n (eq. 22).
func fiatShamirChallenge(_ build: (inout CanonicalWriter) -> Void, tag: DomainTag) -> Scalar {
    // A 32-byte input always reduces; the conversion cannot fail.
    (try? Scalar(reducing: fiatShamirDigest(build, tag: tag))) ?? .zero
}

/// The same challenge as `fiatShamirChallenge`, reduced by the pure-Swift scalar type the batch
/// check computes with (no OpenSSL BIGNUM round trip per proof).
func fiatShamirChallengeN(_ build: (inout CanonicalWriter) -> Void, tag: DomainTag) -> ScalarN {
    ScalarN(reducing: fiatShamirDigest(build, tag: tag)) ?? .zero
}

/// SHA-256 over the tagged canonical object: the value both challenge forms reduce mod n.
private func fiatShamirDigest(_ build: (inout CanonicalWriter) -> Void, tag: DomainTag) -> [UInt8] {
    var w = CanonicalWriter(tag: tag)
    build(&w)
    return SHA256.hash(w.bytes).bytes
}

/// What a ballot's proofs are bound to besides their statement: the election, its key, and
/// `bound` (for a ballot: its random id and its district), so a proof cannot be replayed in
/// another election or copied into another ballot (eq. 22). It names no voter.
public struct ProofContext: Sendable, Hashable {
    public let electionHash: Digest
    public let electionKey: GroupElement
    public let bound: [UInt8]

    public init(electionHash: Digest, electionKey: GroupElement, bound: [UInt8]) {
        self.electionHash = electionHash
        self.electionKey = electionKey
        self.bound = bound
    }

    func write(to w: inout CanonicalWriter) {
        w.fixed(electionHash)
        w.point(electionKey)
        w.bytes(bound)
    }
}

/// Linear equations over P-256, Σ s_i·P_i + g·G + k·K = O, gathered from many proofs (of one
/// ballot or of many) and checked together: each equation is multiplied by a fresh random
/// 128-bit weight and all of them are summed into one multi-scalar multiplication (the
/// small-exponent batch test, eq. 49). A false equation survives with probability at most 2^-128.
///
/// The arithmetic is the pure-Swift P-256 code (Group/Fast): every value here is public
/// (points and scalars of published proofs, fresh weights), so variable time is fine, and one
/// Pippenger multiplication over a whole batch costs a fraction of OpenSSL's per-term price.
public struct ProofBatch: Sendable {
    let electionKey: AffinePoint?
    var g = ScalarN.zero
    var k = ScalarN.zero
    var scalars: [ScalarN] = []
    var points: [AffinePoint] = []
    /// Set when a proof could not even be turned into equations (a wrong shape), or when the
    /// DRBG could not give weights.
    var broken = false
    /// Random bytes drawn from OpenSSL's DRBG in blocks, 16 per weight.
    private var pool: [UInt8] = []
    private var poolOffset = 0

    public init(electionKey: GroupElement?) {
        if let key = electionKey {
            let point = AffinePoint(key)
            self.electionKey = point
            if point == nil { broken = true }
        } else {
            self.electionKey = nil
        }
    }

    /// Room for `equations` more weighted equations and `terms` more point terms.
    public mutating func reserve(terms: Int) {
        scalars.reserveCapacity(scalars.count + terms)
        points.reserveCapacity(points.count + terms)
    }

    /// The number of point terms gathered so far (the size of the multiplication).
    public var termCount: Int { points.count }

    /// A random weight below 2^128 (from OpenSSL's DRBG). RAND_bytes fails only when the DRBG
    /// cannot be seeded; predictable weights would make the batch test unsound, so the batch
    /// then fails closed (`holds()` is false for it and for every single-proof check built on it).
    mutating func weight() -> ScalarN {
        if poolOffset + 16 > pool.count {
            guard let bytes = try? SecureRandom.bytes(1024) else {
                broken = true
                return .one
            }
            pool = bytes
            poolOffset = 0
        }
        defer { poolOffset += 16 }
        return pool.withUnsafeBufferPointer { b in
            var lo: UInt64 = 0, hi: UInt64 = 0
            for i in 0..<8 { lo |= UInt64(b[poolOffset + i]) &<< UInt64(8 * i) }
            for i in 0..<8 { hi |= UInt64(b[poolOffset + 8 + i]) &<< UInt64(8 * i) }
            return ScalarN(limbs: lo, hi, 0, 0)
        }
    }

    /// Adds `s` to the scalar of term `index` when that term's point is `point`; false (and
    /// nothing changed) otherwise, so the caller appends a term instead.
    mutating func addToTerm(_ index: Int, _ s: ScalarN, point: GroupElement) -> Bool {
        guard index >= 0, index < points.count, let p = AffinePoint(point), points[index] == p else { return false }
        scalars[index] = scalars[index] + s
        return true
    }

    mutating func add(_ s: ScalarN, _ p: GroupElement) {
        guard let point = AffinePoint(p) else {
            broken = true
            return
        }
        scalars.append(s)
        points.append(point)
    }

    /// Appends another batch's equations (for example one ballot's, gathered on another
    /// thread) to this one.
    public mutating func append(_ other: ProofBatch) {
        broken = broken || other.broken
        g = g + other.g
        if !other.k.isZero {
            guard let key = electionKey, let theirs = other.electionKey, key == theirs else {
                broken = true
                return
            }
            k = k + other.k
        }
        scalars.append(contentsOf: other.scalars)
        points.append(contentsOf: other.points)
    }

    /// Whether every equation gathered holds (one multi-scalar multiplication).
    public func holds() -> Bool {
        guard !broken else { return false }
        var ks = scalars, ps = points
        if !k.isZero {
            guard let K = electionKey else { return false }
            ks.append(k)
            ps.append(K)
        }
        ks.append(g)
        ps.append(.generator)
        return MultiScalar.linearCombination(scalars: ks, points: ps).isIdentity
    }

    /// The same check through OpenSSL's EC_POINTs_mul: the reference that benchmarks time in
    /// the same run (docs/performance.md) and that tests hold the pure-Swift result to.
    public func holdsUsingOpenSSL() -> Bool {
        guard !broken else { return false }
        var terms: [(Scalar, GroupElement)] = []
        terms.reserveCapacity(points.count + 1)
        for (s, p) in zip(scalars, points) {
            guard let element = try? p.groupElement() else { return false }
            terms.append((s.scalar, element))
        }
        if !k.isZero {
            guard let K = electionKey, let element = try? K.groupElement() else { return false }
            terms.append((k.scalar, element))
        }
        return GroupElement.combination(generator: g.scalar, terms).isIdentity
    }
}

/// Disjunctive Chaum-Pedersen proof that a ciphertext encrypts 0 or 1, in commitment form
/// (eqs. 23-26): the commitments (a0, b0, a1, b1) are sent, the challenge c is recomputed
/// from them, c1 = c − c0, and the four verification equations are linear, so many proofs
/// fold into one multi-scalar multiplication.
public struct ZeroOrOneProof: Sendable, Hashable, Codable {
    public let a0: GroupElement
    public let b0: GroupElement
    public let a1: GroupElement
    public let b1: GroupElement
    public let c0: Scalar
    public let z0: Scalar
    public let z1: Scalar

    enum CodingKeys: String, CodingKey, CaseIterable { case a0, b0, a1, b1, c0, z0, z1 }

    public init(a0: GroupElement, b0: GroupElement, a1: GroupElement, b1: GroupElement, c0: Scalar, z0: Scalar, z1: Scalar) {
        self.a0 = a0
        self.b0 = b0
        self.a1 = a1
        self.b1 = b1
        self.c0 = c0
        self.z0 = z0
        self.z1 = z1
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        a0 = try c.decode(GroupElement.self, forKey: .a0)
        b0 = try c.decode(GroupElement.self, forKey: .b0)
        a1 = try c.decode(GroupElement.self, forKey: .a1)
        b1 = try c.decode(GroupElement.self, forKey: .b1)
        c0 = try c.decode(Scalar.self, forKey: .c0)
        z0 = try c.decode(Scalar.self, forKey: .z0)
        z1 = try c.decode(Scalar.self, forKey: .z1)
    }

    /// c = H("evote.v2.proof.zero-or-one"; ctx || alpha || beta || a0 || b0 || a1 || b1) (eq. 23).
    static func challenge(_ ctx: ProofContext, _ ct: Ciphertext, _ a0: GroupElement, _ b0: GroupElement,
                          _ a1: GroupElement, _ b1: GroupElement) -> Scalar {
        challengeN(ctx, ct, a0, b0, a1, b1).scalar
    }

    static func challengeN(_ ctx: ProofContext, _ ct: Ciphertext, _ a0: GroupElement, _ b0: GroupElement,
                           _ a1: GroupElement, _ b1: GroupElement) -> ScalarN {
        fiatShamirChallengeN({ w in
            ctx.write(to: &w)
            ct.write(to: &w)
            w.point(a0); w.point(b0); w.point(a1); w.point(b1)
        }, tag: .rangeProof)
    }

    /// The challenge of this proof for `ct` (eq. 23).
    public func challenge(ciphertext ct: Ciphertext, context ctx: ProofContext) -> Scalar {
        Self.challenge(ctx, ct, a0, b0, a1, b1)
    }

    /// Proves `ct = Enc(m; r)` with m in {0, 1} (eq. 24); `u` and the simulated branch come
    /// from the DRBG unless given (known-answer tests).
    public static func prove(ciphertext ct: Ciphertext, vote m: UInt64, nonce r: Scalar, context ctx: ProofContext,
                             randomness: (u: Scalar, cFake: Scalar, zFake: Scalar)? = nil) throws -> ZeroOrOneProof {
        try prove(ciphertext: ct, vote: m, nonce: r, context: ctx, keyTable: ElectionKeyTable.forEncrypting(to: ctx.electionKey),
                  randomness: randomness)
    }

    /// Eq. 24 without a branch on the vote. The real branch m commits a = u·G, b = u·K. The
    /// simulated branch j = 1 − m is computed from its discrete logs, which the prover knows
    /// through r: with s = zFake − cFake·r, a_j = zFake·G − cFake·alpha = s·G and
    /// b_j = zFake·K − cFake·(beta − j·G) = s·K + (1 − 2m)·cFake·G. Every multiplication has a
    /// single scalar on a fixed base (G's or K's table, constant time); both s·K + cFake·G and
    /// s·K − cFake·G are computed, and m picks commitments, challenge shares and responses by
    /// masking. The proof is the same as the textbook computation's (known-answer tests).
    static func prove(ciphertext ct: Ciphertext, vote m: UInt64, nonce r: Scalar, context ctx: ProofContext,
                      keyTable K: ElectionKeyTable,
                      randomness: (u: Scalar, cFake: Scalar, zFake: Scalar)? = nil) throws -> ZeroOrOneProof {
        precondition(m <= 1, "ZeroOrOneProof proves 0 or 1 only")
        let bit = UInt8(truncatingIfNeeded: m)
        let u = try randomness?.u ?? Scalar.random()
        let cFake = try randomness?.cFake ?? Scalar.random()
        let zFake = try randomness?.zFake ?? Scalar.random()
        let aReal = GroupElement.base(u), bReal = K.times(u)
        let s = zFake - cFake * r
        let aFake = GroupElement.base(s)
        let sK = K.times(s), cG = GroupElement.base(cFake)
        let bFake = GroupElement.select(bit, sK + cG, sK - cG)
        let a0 = GroupElement.select(bit, aReal, aFake), a1 = GroupElement.select(bit, aFake, aReal)
        let b0 = GroupElement.select(bit, bReal, bFake), b1 = GroupElement.select(bit, bFake, bReal)
        let c = challenge(ctx, ct, a0, b0, a1, b1)
        let cReal = c - cFake
        let zReal = u + cReal * r
        return ZeroOrOneProof(a0: a0, b0: b0, a1: a1, b1: b1, c0: .select(bit, cReal, cFake),
                              z0: .select(bit, zReal, zFake), z1: .select(bit, zFake, zReal))
    }

    /// Adds the four equations of eqs. 25a, 25b, 26a, 26b to `batch` (weighted): z0·G − a0 − c0·alpha = O,
    /// z0·K − b0 − c0·beta = O, z1·G − a1 − c1·alpha = O, z1·K − b1 − c1·beta + c1·G = O.
    func addEquations(ciphertext ct: Ciphertext, context ctx: ProofContext, to batch: inout ProofBatch) {
        let c = Self.challengeN(ctx, ct, a0, b0, a1, b1)
        let c0 = ScalarN(self.c0), z0 = ScalarN(self.z0), z1 = ScalarN(self.z1)
        let c1 = c - c0
        let w = (batch.weight(), batch.weight(), batch.weight(), batch.weight())
        batch.g = batch.g + w.0 * z0 + w.2 * z1 + w.3 * c1
        batch.k = batch.k + w.1 * z0 + w.3 * z1
        batch.add(-w.0, a0)
        batch.add(-w.1, b0)
        batch.add(-w.2, a1)
        batch.add(-w.3, b1)
        batch.add(-(w.0 * c0 + w.2 * c1), ct.alpha)
        batch.add(-(w.1 * c0 + w.3 * c1), ct.beta)
    }

    /// Checks this proof alone (eqs. 25-26).
    public func verify(ciphertext ct: Ciphertext, context ctx: ProofContext) -> Bool {
        var batch = ProofBatch(electionKey: ctx.electionKey)
        addEquations(ciphertext: ct, context: ctx, to: &batch)
        return batch.holds()
    }

    func write(to w: inout CanonicalWriter) {
        w.point(a0); w.point(b0); w.point(a1); w.point(b1)
        w.scalar(c0); w.scalar(z0); w.scalar(z1)
    }

    static func read(from r: inout CanonicalReader) throws -> ZeroOrOneProof {
        ZeroOrOneProof(a0: try r.point(), b0: try r.point(), a1: try r.point(), b1: try r.point(),
                       c0: try r.scalar(), z0: try r.scalar(), z1: try r.scalar())
    }
}

/// Chaum-Pedersen proof, in commitment form, that the sum (A, B) of a ballot's ciphertexts
/// encrypts the public value L: log_G(A) = log_K(B − L·G) (eqs. 27-29). The challenge hashes
/// the ciphertexts themselves, so the sum never needs an encoding.
public struct KnownValueProof: Sendable, Hashable, Codable {
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
        b = try c.decode(GroupElement.self, forKey: .b)
        z = try c.decode(Scalar.self, forKey: .z)
    }

    /// c = H("evote.v2.proof.selection-sum"; ctx || list(ciphertexts) || u64(L) || a || b) (eq. 27).
    static func challenge(_ ctx: ProofContext, _ ciphertexts: [Ciphertext], _ value: UInt64, _ a: GroupElement, _ b: GroupElement) -> Scalar {
        challengeN(ctx, ciphertexts, value, a, b).scalar
    }

    static func challengeN(_ ctx: ProofContext, _ ciphertexts: [Ciphertext], _ value: UInt64, _ a: GroupElement, _ b: GroupElement) -> ScalarN {
        fiatShamirChallengeN({ w in
            ctx.write(to: &w)
            w.list(ciphertexts) { w, c in c.write(to: &w) }
            w.u64(value)
            w.point(a); w.point(b)
        }, tag: .sumProof)
    }

    /// Proves that the sum of `ciphertexts` encrypts `value` with nonce `r` (the sum of their nonces) (eq. 28).
    public static func prove(ciphertexts: [Ciphertext], value: UInt64, nonce r: Scalar, context ctx: ProofContext,
                             u given: Scalar? = nil) throws -> KnownValueProof {
        try prove(ciphertexts: ciphertexts, value: value, nonce: r, context: ctx,
                  keyTable: ElectionKeyTable.forEncrypting(to: ctx.electionKey), u: given)
    }

    static func prove(ciphertexts: [Ciphertext], value: UInt64, nonce r: Scalar, context ctx: ProofContext,
                      keyTable K: ElectionKeyTable, u given: Scalar? = nil) throws -> KnownValueProof {
        let u = try given ?? Scalar.random()
        let a = GroupElement.base(u), b = K.times(u)
        let c = challenge(ctx, ciphertexts, value, a, b)
        return KnownValueProof(a: a, b: b, z: u + c * r)
    }

    /// Adds eq. 29's two equations (weighted): z·G − a − c·Σalpha = O and
    /// z·K − b − c·Σbeta + c·L·G = O. The sums are spread over the ciphertexts' own terms.
    /// `existing[i]`, when given, is where the batch already holds the terms of
    /// `ciphertexts[i]`'s alpha and beta (a ballot's 0/1 proofs put them there): the limit
    /// proof's coefficients are added to those terms instead of repeating the points, so a
    /// ballot's equation has 22 fewer terms (the sum is the same).
    func addEquations(ciphertexts: [Ciphertext], value: UInt64, context ctx: ProofContext, to batch: inout ProofBatch,
                      existing: [(alpha: Int, beta: Int)]? = nil) {
        let c = Self.challengeN(ctx, ciphertexts, value, a, b)
        let z = ScalarN(self.z)
        let w = (batch.weight(), batch.weight())
        batch.g = batch.g + w.0 * z + w.1 * c * ScalarN(value)
        batch.k = batch.k + w.1 * z
        batch.add(-w.0, a)
        batch.add(-w.1, b)
        let ca = -(w.0 * c), cb = -(w.1 * c)
        for (i, ct) in ciphertexts.enumerated() {
            if let at = existing, i < at.count, batch.addToTerm(at[i].alpha, ca, point: ct.alpha),
               batch.addToTerm(at[i].beta, cb, point: ct.beta) {
                continue
            }
            batch.add(ca, ct.alpha)
            batch.add(cb, ct.beta)
        }
    }

    public func verify(ciphertexts: [Ciphertext], value: UInt64, context ctx: ProofContext) -> Bool {
        var batch = ProofBatch(electionKey: ctx.electionKey)
        addEquations(ciphertexts: ciphertexts, value: value, context: ctx, to: &batch)
        return batch.holds()
    }

    func write(to w: inout CanonicalWriter) {
        w.point(a); w.point(b); w.scalar(z)
    }

    static func read(from r: inout CanonicalReader) throws -> KnownValueProof {
        KnownValueProof(a: try r.point(), b: try r.point(), z: try r.scalar())
    }
}
