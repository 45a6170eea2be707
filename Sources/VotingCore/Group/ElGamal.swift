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
        Ciphertext(alpha: .base(r), beta: .linear(Scalar(m), r, key))
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
func challenge(_ build: (inout CanonicalWriter) -> Void, tag: DomainTag) -> Scalar {
    var w = CanonicalWriter(tag: tag)
    build(&w)
    // A 32-byte input always reduces; the conversion cannot fail.
    return (try? Scalar(reducing: SHA256.hash(w.bytes).bytes)) ?? .zero
}

/// What a proof is bound to besides its statement: the election and the voter's key, so a
/// proof cannot be replayed in another election or copied into another voter's ballot.
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

/// Disjunctive Chaum-Pedersen proof that a ciphertext encrypts 0 or 1 (eqs. 23-26).
public struct ZeroOrOneProof: Sendable, Hashable, Codable {
    public let c0: Scalar
    public let c1: Scalar
    public let z0: Scalar
    public let z1: Scalar

    public init(c0: Scalar, c1: Scalar, z0: Scalar, z1: Scalar) {
        self.c0 = c0
        self.c1 = c1
        self.z0 = z0
        self.z1 = z1
    }

    static func hash(_ ctx: ProofContext, _ ct: Ciphertext, _ a0: GroupElement, _ b0: GroupElement,
                     _ a1: GroupElement, _ b1: GroupElement) -> Scalar {
        challenge({ w in
            ctx.write(to: &w)
            ct.write(to: &w)
            w.point(a0); w.point(b0); w.point(a1); w.point(b1)
        }, tag: .rangeProof)
    }

    /// Proves `ct = Enc(m; r)` with m in {0, 1}; `u` and the simulated branch come from the DRBG
    /// unless given (known-answer tests).
    public static func prove(ciphertext ct: Ciphertext, vote m: UInt64, nonce r: Scalar, context ctx: ProofContext,
                             randomness: (u: Scalar, cFake: Scalar, zFake: Scalar)? = nil) throws -> ZeroOrOneProof {
        precondition(m <= 1, "ZeroOrOneProof proves 0 or 1 only")
        let K = ctx.electionKey
        let u = try randomness?.u ?? Scalar.random()
        let cFake = try randomness?.cFake ?? Scalar.random()
        let zFake = try randomness?.zFake ?? Scalar.random()
        if m == 0 {
            // Real branch 0, simulated branch 1 (eq. 24).
            let a0 = GroupElement.base(u), b0 = u * K
            let a1 = GroupElement.linear(zFake, -cFake, ct.alpha)
            // zFake*K - cFake*(beta - G) = cFake*G + zFake*K - cFake*beta
            let b1 = GroupElement.combination(generator: cFake, [(zFake, K), (-cFake, ct.beta)])
            let c = hash(ctx, ct, a0, b0, a1, b1)
            let c0 = c - cFake
            return ZeroOrOneProof(c0: c0, c1: cFake, z0: u + c0 * r, z1: zFake)
        } else {
            let a1 = GroupElement.base(u), b1 = u * K
            let a0 = GroupElement.linear(zFake, -cFake, ct.alpha)
            let b0 = GroupElement.combination(generator: nil, [(zFake, K), (-cFake, ct.beta)])
            let c = hash(ctx, ct, a0, b0, a1, b1)
            let c1 = c - cFake
            return ZeroOrOneProof(c0: cFake, c1: c1, z0: zFake, z1: u + c1 * r)
        }
    }

    /// Recomputes the commitments (eq. 25) and checks the challenge split (eq. 26).
    public func verify(ciphertext ct: Ciphertext, context ctx: ProofContext) -> Bool {
        let K = ctx.electionKey
        let a0 = GroupElement.linear(z0, -c0, ct.alpha)
        let b0 = GroupElement.combination(generator: nil, [(z0, K), (-c0, ct.beta)])
        let a1 = GroupElement.linear(z1, -c1, ct.alpha)
        // z1*K - c1*(beta - G) = c1*G + z1*K - c1*beta
        let b1 = GroupElement.combination(generator: c1, [(z1, K), (-c1, ct.beta)])
        return c0 + c1 == Self.hash(ctx, ct, a0, b0, a1, b1)
    }

    func write(to w: inout CanonicalWriter) {
        w.scalar(c0); w.scalar(c1); w.scalar(z0); w.scalar(z1)
    }

    static func read(from r: inout CanonicalReader) throws -> ZeroOrOneProof {
        ZeroOrOneProof(c0: try r.scalar(), c1: try r.scalar(), z0: try r.scalar(), z1: try r.scalar())
    }
}

/// Chaum-Pedersen proof that a ciphertext encrypts the public value L: that
/// log_G(alpha) = log_K(beta - L*G) (eqs. 27-29). Used for the selection limit of a contest.
public struct KnownValueProof: Sendable, Hashable, Codable {
    public let c: Scalar
    public let z: Scalar

    public init(c: Scalar, z: Scalar) {
        self.c = c
        self.z = z
    }

    static func hash(_ ctx: ProofContext, _ ct: Ciphertext, _ value: UInt64, _ a: GroupElement, _ b: GroupElement) -> Scalar {
        challenge({ w in
            ctx.write(to: &w)
            ct.write(to: &w)
            w.u64(value)
            w.point(a); w.point(b)
        }, tag: .sumProof)
    }

    public static func prove(ciphertext ct: Ciphertext, value: UInt64, nonce r: Scalar, context ctx: ProofContext,
                             u given: Scalar? = nil) throws -> KnownValueProof {
        let u = try given ?? Scalar.random()
        let a = GroupElement.base(u), b = u * ctx.electionKey
        let c = hash(ctx, ct, value, a, b)
        return KnownValueProof(c: c, z: u + c * r)
    }

    public func verify(ciphertext ct: Ciphertext, value: UInt64, context ctx: ProofContext) -> Bool {
        let a = GroupElement.linear(z, -c, ct.alpha)
        // z*K - c*(beta - value*G) = (c*value)*G + z*K - c*beta
        let b = GroupElement.combination(generator: c * Scalar(value), [(z, ctx.electionKey), (-c, ct.beta)])
        return c == Self.hash(ctx, ct, value, a, b)
    }

    func write(to w: inout CanonicalWriter) {
        w.scalar(c); w.scalar(z)
    }

    static func read(from r: inout CanonicalReader) throws -> KnownValueProof {
        KnownValueProof(c: try r.scalar(), z: try r.scalar())
    }
}
