import Foundation
import Testing
@testable import VotingCore

// Known-answer vectors for the P-256 group layer, from fixed (derived) randomness, so another
// implementation of docs/protocol.md §11-12 can check itself against this one.
//
// The fixture is Tests/VotingCoreTests/Fixtures/group-kat.json. It is produced by
// `GroupKAT.generate()` below. To regenerate it after an intentional change:
//
//   KAT_REGENERATE=1 swift test --filter KnownAnswerTests/regenerate 2>/dev/null \
//     | awk '/^BEGIN group-kat.json$/{on=1;next} /^END group-kat.json$/{on=0} on' > Tests/VotingCoreTests/Fixtures/group-kat.json

// MARK: - Fixture schema

/// A vector: what an implementation is given, and what it must produce.
struct KATVector<Inputs: Codable & Equatable & Sendable, Outputs: Codable & Equatable & Sendable>: Codable, Equatable, Sendable {
    var name: String
    var inputs: Inputs
    var outputs: Outputs
}

struct KATDerivedScalar: Codable, Equatable, Sendable {
    var label: String
    var scalar: Scalar
}

struct KATDerivedDigest: Codable, Equatable, Sendable {
    var label: String
    var digest: Digest
}

/// ProofContext in JSON form.
struct KATContext: Codable, Equatable, Sendable {
    var electionHash: Digest
    var electionKey: GroupElement
    var bound: HexBytes

    var context: ProofContext { ProofContext(electionHash: electionHash, electionKey: electionKey, bound: bound.bytes) }
}

enum KATElGamal {
    struct Inputs: Codable, Equatable, Sendable {
        var secretKey: Scalar
        var m: UInt64
        var r: Scalar
    }
    struct Outputs: Codable, Equatable, Sendable {
        var publicKey: GroupElement
        var alpha: GroupElement
        var beta: GroupElement
    }
    static func compute(_ i: Inputs) -> Outputs {
        let K = GroupElement.base(i.secretKey)
        let ct = Ciphertext.encrypt(i.m, nonce: i.r, key: K)
        return Outputs(publicKey: K, alpha: ct.alpha, beta: ct.beta)
    }
}

enum KATZeroOrOne {
    struct Inputs: Codable, Equatable, Sendable {
        var context: KATContext
        var m: UInt64
        var r: Scalar
        var u: Scalar
        var cFake: Scalar
        var zFake: Scalar
    }
    struct Commitments: Codable, Equatable, Sendable {
        var a0: GroupElement
        var b0: GroupElement
        var a1: GroupElement
        var b1: GroupElement
    }
    struct Outputs: Codable, Equatable, Sendable {
        var ciphertext: Ciphertext
        var commitments: Commitments
        var challengePreimage: HexBytes
        var challenge: Scalar
        /// c1 = challenge − c0 (not sent in the proof).
        var c1: Scalar
        var proof: ZeroOrOneProof
    }
    static func compute(_ i: Inputs) throws -> Outputs {
        let ctx = i.context.context
        let ct = Ciphertext.encrypt(i.m, nonce: i.r, key: ctx.electionKey)
        let proof = try ZeroOrOneProof.prove(ciphertext: ct, vote: i.m, nonce: i.r, context: ctx,
                                             randomness: (u: i.u, cFake: i.cFake, zFake: i.zFake))
        // In commitment form the commitments are sent (eq. 24); the challenge is recomputed from them.
        let K = ctx.electionKey
        let c = Commitments(a0: proof.a0, b0: proof.b0, a1: proof.a1, b1: proof.b1)
        var w = CanonicalWriter(tag: .rangeProof)
        w.fixed(ctx.electionHash); w.point(K); w.bytes(ctx.bound)
        w.point(ct.alpha); w.point(ct.beta)
        w.point(c.a0); w.point(c.b0); w.point(c.a1); w.point(c.b1)
        let challenge = try Scalar(reducing: SHA256.hash(w.bytes).bytes)
        return Outputs(ciphertext: ct, commitments: c, challengePreimage: HexBytes(w.bytes),
                       challenge: challenge, c1: challenge - proof.c0, proof: proof)
    }
}

enum KATKnownValue {
    struct Inputs: Codable, Equatable, Sendable {
        var context: KATContext
        /// The ciphertext is the homomorphic sum of Enc(votes[i]; nonces[i]); its nonce is Σ nonces.
        var votes: [UInt64]
        var nonces: [Scalar]
        var value: UInt64
        var u: Scalar
    }
    struct Commitments: Codable, Equatable, Sendable {
        var a: GroupElement
        var b: GroupElement
    }
    struct Outputs: Codable, Equatable, Sendable {
        /// Enc(votes[i]; nonces[i]), hashed into the challenge as a list (eq. 27).
        var ciphertexts: [Ciphertext]
        /// Their sum (A, B), whose nonce is `nonce`.
        var sum: Ciphertext
        var nonce: Scalar
        var commitments: Commitments
        var challengePreimage: HexBytes
        var challenge: Scalar
        var proof: KnownValueProof
    }
    static func compute(_ i: Inputs) throws -> Outputs {
        let ctx = i.context.context
        let parts = zip(i.votes, i.nonces).map { Ciphertext.encrypt($0, nonce: $1, key: ctx.electionKey) }
        let sum = try #require(parts.dropFirst().reduce(parts.first) { acc, x in acc.map { $0 + x } }, "no votes")
        let r = i.nonces.reduce(Scalar.zero, +)
        let proof = try KnownValueProof.prove(ciphertexts: parts, value: i.value, nonce: r, context: ctx, u: i.u)
        let c = Commitments(a: proof.a, b: proof.b)
        var w = CanonicalWriter(tag: .sumProof)
        w.fixed(ctx.electionHash); w.point(ctx.electionKey); w.bytes(ctx.bound)
        w.list(parts) { w, ct in w.point(ct.alpha); w.point(ct.beta) }
        w.u64(i.value)
        w.point(c.a); w.point(c.b)
        return Outputs(ciphertexts: parts, sum: sum, nonce: r, commitments: c, challengePreimage: HexBytes(w.bytes),
                       challenge: try Scalar(reducing: SHA256.hash(w.bytes).bytes), proof: proof)
    }
}

enum KATSchnorr {
    struct Inputs: Codable, Equatable, Sendable {
        var secret: Scalar
        var electionHash: Digest
        var bound: HexBytes
        var u: Scalar
    }
    struct Outputs: Codable, Equatable, Sendable {
        var publicValue: GroupElement
        var commitment: GroupElement
        var challengePreimage: HexBytes
        var challenge: Scalar
        var proof: SchnorrProof
    }
    static func compute(_ i: Inputs) throws -> Outputs {
        let proof = try SchnorrProof.prove(secret: i.secret, electionHash: i.electionHash, bound: i.bound.bytes, u: i.u)
        let X = GroupElement.base(i.secret)
        let a = proof.a
        var w = CanonicalWriter(tag: .schnorrProof)
        w.fixed(i.electionHash); w.bytes(i.bound.bytes); w.point(X); w.point(a)
        return Outputs(publicValue: X, commitment: a, challengePreimage: HexBytes(w.bytes),
                       challenge: try Scalar(reducing: SHA256.hash(w.bytes).bytes), proof: proof)
    }
}

enum KATDecryption {
    struct Inputs: Codable, Equatable, Sendable {
        var secret: Scalar
        var alpha: GroupElement
        var electionHash: Digest
        var u: Scalar
    }
    struct Commitments: Codable, Equatable, Sendable {
        var a: GroupElement
        var b: GroupElement
    }
    struct Outputs: Codable, Equatable, Sendable {
        var publicShare: GroupElement
        var partial: GroupElement
        var commitments: Commitments
        var challengePreimage: HexBytes
        var challenge: Scalar
        var proof: DecryptionProof
    }
    static func compute(_ i: Inputs) throws -> Outputs {
        let (D, proof) = try DecryptionProof.prove(secret: i.secret, alpha: i.alpha, electionHash: i.electionHash, u: i.u)
        let S = GroupElement.base(i.secret)
        let c = Commitments(a: proof.a, b: proof.b)
        var w = CanonicalWriter(tag: .decryptionProof)
        w.fixed(i.electionHash); w.point(S); w.point(i.alpha); w.point(D); w.point(c.a); w.point(c.b)
        return Outputs(publicShare: S, partial: D, commitments: c, challengePreimage: HexBytes(w.bytes),
                       challenge: try Scalar(reducing: SHA256.hash(w.bytes).bytes), proof: proof)
    }
}

enum KATEncryptedShare {
    struct Inputs: Codable, Equatable, Sendable {
        var electionHash: Digest
        var dealer: UInt32
        var recipient: UInt32
        var recipientSecret: Scalar
        var share: Scalar
        var ephemeralSecret: Scalar
    }
    struct Outputs: Codable, Equatable, Sendable {
        var recipientKey: GroupElement
        /// e * P (= d * R)
        var sharedPoint: GroupElement
        var padPreimage: HexBytes
        var pad: Digest
        var macKeyPreimage: HexBytes
        var macKey: Digest
        var macInput: HexBytes
        var sealed: EncryptedShare
    }
    static func compute(_ i: Inputs) throws -> Outputs {
        let P = GroupElement.base(i.recipientSecret)
        let sealed = try EncryptedShare.seal(share: i.share, electionHash: i.electionHash, dealer: i.dealer, recipient: i.recipient,
                                             recipientKey: P, ephemeralSecret: i.ephemeralSecret)
        let shared = i.ephemeralSecret * P
        func keyPreimage(_ label: String) -> [UInt8] {
            var w = CanonicalWriter(tag: .shareEncryption)
            w.string(label); w.fixed(i.electionHash); w.u32(i.dealer); w.u32(i.recipient)
            w.point(sealed.ephemeral); w.point(P); w.point(shared)
            return w.bytes
        }
        var m = CanonicalWriter(tag: .shareEncryption)
        m.string("mac-input"); m.u32(i.dealer); m.u32(i.recipient); m.point(sealed.ephemeral); m.bytes(sealed.ciphertext.bytes)
        let padPreimage = keyPreimage("pad"), macKeyPreimage = keyPreimage("mac")
        return Outputs(recipientKey: P, sharedPoint: shared,
                       padPreimage: HexBytes(padPreimage), pad: SHA256.hash(padPreimage),
                       macKeyPreimage: HexBytes(macKeyPreimage), macKey: SHA256.hash(macKeyPreimage),
                       macInput: HexBytes(m.bytes), sealed: sealed)
    }
}

enum KATFeldman {
    struct Inputs: Codable, Equatable, Sendable {
        var coefficients: [Scalar]
        var indices: [UInt64]
        var quorum: [UInt64]
    }
    struct Share: Codable, Equatable, Sendable {
        var index: UInt64
        var share: Scalar
        var image: GroupElement
    }
    struct Outputs: Codable, Equatable, Sendable {
        var commitments: [GroupElement]
        var shares: [Share]
        var lagrange: [Scalar]
        var recoveredSecret: Scalar
    }
    static func compute(_ i: Inputs) throws -> Outputs {
        let f = SecretPolynomial(coefficients: i.coefficients)
        let C = f.commitments
        let shares = i.indices.map { j in Share(index: j, share: f.evaluate(at: j), image: Feldman.shareImage(commitments: C, at: j)) }
        let lagrange = try i.quorum.map { j in try #require(Feldman.lagrange(j, in: i.quorum)) }
        let recovered = zip(i.quorum, lagrange).map { j, l in l * f.evaluate(at: j) }.reduce(Scalar.zero, +)
        return Outputs(commitments: C, shares: shares, lagrange: lagrange, recoveredSecret: recovered)
    }
}

/// The whole fixture file.
struct GroupKAT: Codable, Equatable, Sendable {
    var description: [String]
    var curve: String
    var generator: GroupElement
    var order: String
    var derivedDigests: [KATDerivedDigest]
    var derivedScalars: [KATDerivedScalar]
    var elgamal: [KATVector<KATElGamal.Inputs, KATElGamal.Outputs>]
    var zeroOrOne: [KATVector<KATZeroOrOne.Inputs, KATZeroOrOne.Outputs>]
    var knownValue: [KATVector<KATKnownValue.Inputs, KATKnownValue.Outputs>]
    var schnorr: [KATVector<KATSchnorr.Inputs, KATSchnorr.Outputs>]
    var decryption: [KATVector<KATDecryption.Inputs, KATDecryption.Outputs>]
    var encryptedShare: [KATVector<KATEncryptedShare.Inputs, KATEncryptedShare.Outputs>]
    var feldman: [KATVector<KATFeldman.Inputs, KATFeldman.Outputs>]

    static let fileDescription: [String] = [
        "Known-answer vectors for the evote P-256 group layer (docs/protocol.md sections 11-12), generated by",
        "Tests/VotingCoreTests/KnownAnswerTests.swift (GroupKAT.generate) from fixed inputs, so that another implementation can check itself.",
        "Encodings: every scalar is 32-byte big-endian hex (64 lowercase digits, below the group order n); every point is a",
        "65-byte SEC1 uncompressed P-256 point (04 || x || y) as hex (130 lowercase digits); digests are 32-byte SHA-256 hex; byte strings are lowercase hex.",
        "Fixed randomness: each entry of derivedScalars is SHA-256(UTF-8 label) read as a big-endian integer and reduced mod n;",
        "each entry of derivedDigests is SHA-256(UTF-8 label). Every secret key, nonce and proof randomness below is one of these.",
        "Each vector has inputs and outputs; recompute the outputs from the inputs and compare, and verify every proof.",
        "challengePreimage is the canonical encoding (section 2: u32 big-endian length-prefixed domain tag, fixed-size values raw,",
        "byte strings u32-length-prefixed, u32/u64 big-endian) that is hashed with SHA-256 and reduced mod n to get the Fiat-Shamir challenge.",
        "elgamal: exponential ElGamal Enc(m; r) = (alpha, beta) = (r*G, m*G + r*K) with K = secretKey*G, for m = 0 and m = 1.",
        "All proofs are in commitment form (protocol version 2): the commitments are part of the proof, the challenge is recomputed from them.",
        "context: a ballot's proof context; bound = ballot_id || UTF-8(district) (section 11.5), here SHA-256(\"kat-ballot-id\") || \"kat-district\".",
        "zeroOrOne: disjunctive Chaum-Pedersen proof (a0, b0, a1, b1, c0, z0, z1) that Enc(m; r) under context.electionKey encrypts 0 or 1",
        "(eqs. 23-26); u is the real branch's commitment nonce, cFake and zFake the simulated branch's challenge and response; c1 = challenge - c0.",
        "knownValue: Chaum-Pedersen proof (a, b, z) that the sum of Enc(votes[i]; nonces[i]) encrypts value (eqs. 27-29); the challenge hashes",
        "the list of ciphertexts, not the sum; nonce = sum of nonces; u is the proof's nonce.",
        "schnorr: Schnorr proof (a, z) of knowledge of secret for publicValue = secret*G, bound to electionHash and bound (eqs. 30-31);",
        "bound is proof_binding(1) = string(\"evote.v2.dealer-publication\") || u32(1), as for dealer 1's constant term (section 12.2).",
        "decryption: partial decryption partial = secret*alpha with a Chaum-Pedersen proof (a, b, z) that log_G(publicShare) = log_alpha(partial) (eqs. 37-38).",
        "encryptedShare: hashed-ElGamal share encryption (eqs. 34-35) with a fixed ephemeral secret e: ephemeral R = e*G, sharedPoint = e*P,",
        "pad = SHA-256(padPreimage), macKey = SHA-256(macKeyPreimage), ciphertext = share XOR pad, mac = HMAC-SHA-256(key macKey, macInput).",
        "feldman: polynomial f with the given coefficients (a_0 first), commitments a_t*G, shares f(j) with images f(j)*G = sum_t C_t j^t,",
        "Lagrange coefficients at 0 for the quorum (in quorum order) and the recovered secret sum lambda_j f(j) = a_0.",
    ]

    /// Builds every vector from fixed labels. Only the code under test computes outputs.
    static func generate() throws -> GroupKAT {
        var scalars: [KATDerivedScalar] = []
        func s(_ label: String) -> Scalar {
            let value = P256Constants.scalar(label: label)
            if !scalars.contains(where: { $0.label == label }) { scalars.append(KATDerivedScalar(label: label, scalar: value)) }
            return value
        }
        var digests: [KATDerivedDigest] = []
        func d(_ label: String) -> Digest {
            let value = P256Constants.digest(label: label)
            if !digests.contains(where: { $0.label == label }) { digests.append(KATDerivedDigest(label: label, digest: value)) }
            return value
        }

        let x = s("kat-secret")
        let K = GroupElement.base(x)
        let eh = d("kat-election")
        // A ballot's proofs are bound to ballot_id || UTF-8(district) (§11.5).
        let ctx = KATContext(electionHash: eh, electionKey: K, bound: HexBytes(d("kat-ballot-id").bytes + Array("kat-district".utf8)))

        let elgamal = [UInt64(0), 1].map { m in
            let i = KATElGamal.Inputs(secretKey: x, m: m, r: s("kat-nonce-\(m)"))
            return KATVector(name: "Enc(\(m))", inputs: i, outputs: KATElGamal.compute(i))
        }

        let zeroOrOne = try [UInt64(0), 1].map { m in
            let i = KATZeroOrOne.Inputs(context: ctx, m: m, r: s("kat-nonce-\(m)"), u: s("kat-zero-or-one-\(m)-u"),
                                        cFake: s("kat-zero-or-one-\(m)-cfake"), zFake: s("kat-zero-or-one-\(m)-zfake"))
            return KATVector(name: "ZeroOrOneProof for Enc(\(m))", inputs: i, outputs: try KATZeroOrOne.compute(i))
        }

        let known1 = KATKnownValue.Inputs(context: ctx, votes: [1], nonces: [s("kat-nonce-1")], value: 1, u: s("kat-known-value-1-u"))
        let known2 = KATKnownValue.Inputs(context: ctx, votes: [1, 0, 1], nonces: [s("kat-nonce-2"), s("kat-nonce-3"), s("kat-nonce-4")],
                                          value: 2, u: s("kat-known-value-2-u"))
        let knownValue = [
            KATVector(name: "KnownValueProof that Enc(1) encrypts 1", inputs: known1, outputs: try KATKnownValue.compute(known1)),
            KATVector(name: "KnownValueProof that Enc(1) + Enc(0) + Enc(1) encrypts 2", inputs: known2,
                      outputs: try KATKnownValue.compute(known2)),
        ]

        let schnorrInputs = KATSchnorr.Inputs(secret: s("kat-trustee-secret"), electionHash: eh,
                                              bound: HexBytes(DealerPublication.proofBinding(index: 1)), u: s("kat-schnorr-u"))
        let schnorr = [KATVector(name: "SchnorrProof for a trustee's coefficient", inputs: schnorrInputs,
                                 outputs: try KATSchnorr.compute(schnorrInputs))]

        let alpha = KATElGamal.compute(KATElGamal.Inputs(secretKey: x, m: 1, r: s("kat-nonce-1"))).alpha
        let decryptionInputs = KATDecryption.Inputs(secret: s("kat-trustee-secret"), alpha: alpha, electionHash: eh, u: s("kat-decryption-u"))
        let decryption = [KATVector(name: "DecryptionProof for the alpha of elgamal[1]", inputs: decryptionInputs,
                                    outputs: try KATDecryption.compute(decryptionInputs))]

        let shareInputs = KATEncryptedShare.Inputs(electionHash: eh, dealer: 1, recipient: 2, recipientSecret: s("kat-recipient-secret"),
                                                   share: s("kat-share"), ephemeralSecret: s("kat-ephemeral"))
        let encryptedShare = [KATVector(name: "EncryptedShare from dealer 1 to trustee 2", inputs: shareInputs,
                                        outputs: try KATEncryptedShare.compute(shareInputs))]

        let feldmanInputs = KATFeldman.Inputs(coefficients: [s("kat-poly-0"), s("kat-poly-1"), s("kat-poly-2")],
                                              indices: [1, 2, 3, 4, 5], quorum: [1, 3, 5])
        let feldman = [KATVector(name: "Feldman shares of a degree-2 polynomial, n = 5, quorum {1, 3, 5}", inputs: feldmanInputs,
                                 outputs: try KATFeldman.compute(feldmanInputs))]

        return GroupKAT(description: fileDescription, curve: "P-256 (secp256r1)", generator: .generator,
                        order: Hex.encode(Scalar.orderBytes), derivedDigests: digests, derivedScalars: scalars,
                        elgamal: elgamal, zeroOrOne: zeroOrOne, knownValue: knownValue, schnorr: schnorr,
                        decryption: decryption, encryptedShare: encryptedShare, feldman: feldman)
    }

    /// Pretty JSON with sorted keys (deterministic), except that "description" is moved to the top.
    static func encode(_ kat: GroupKAT) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var lines = String(decoding: try encoder.encode(kat), as: UTF8.self).components(separatedBy: "\n")
        if let start = lines.firstIndex(where: { $0.hasPrefix("  \"description\" : [") }),
           let end = lines[start...].firstIndex(where: { $0 == "  ]," }) {
            let block = Array(lines[start...end])
            lines.removeSubrange(start...end)
            lines.insert(contentsOf: block, at: 1)
        }
        return Data((lines.joined(separator: "\n") + "\n").utf8)
    }

    /// `<package root>/Tests/VotingCoreTests/Fixtures/group-kat.json`; the package root is three levels above this file.
    static let fixtureURL: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/VotingCoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("Tests/VotingCoreTests/Fixtures/group-kat.json")
        .standardizedFileURL

    static func load(sourceLocation: SourceLocation = #_sourceLocation) throws -> GroupKAT {
        let data = try #require(FileManager.default.contents(atPath: fixtureURL.path), "cannot read fixture \(fixtureURL.path)",
                                sourceLocation: sourceLocation)
        return try JSONDecoder().decode(GroupKAT.self, from: data)
    }
}

/// Names the top-level fields of two encodable values that differ, with both JSON values.
private func differences<T: Encodable>(_ expected: T, _ actual: T) -> [String] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    func object(_ value: T) -> [String: Any] {
        guard let data = try? encoder.encode(value) else { return ["(unencodable)": true] }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
    }
    let a = object(expected), b = object(actual)
    func text(_ v: Any?) -> String {
        guard let v else { return "(missing)" }
        let data = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys, .fragmentsAllowed])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "\(v)"
    }
    return Set(a.keys).union(b.keys).sorted().compactMap { key in
        let (x, y) = (text(a[key]), text(b[key]))
        return x == y ? nil : "\(key): fixture \(x), computed \(y)"
    }
}

// MARK: - Tests

@Suite("Known-answer vectors (P-256 group layer)")
struct KnownAnswerTests {
    typealias C = P256Constants

    @Test("regenerate: print the fixture JSON (KAT_REGENERATE=1 only)",
          .enabled(if: ProcessInfo.processInfo.environment["KAT_REGENERATE"] == "1", "set KAT_REGENERATE=1 to print the fixture"))
    func regenerate() throws {
        let json = try GroupKAT.encode(try GroupKAT.generate())
        print("BEGIN group-kat.json")
        print(String(decoding: json, as: UTF8.self), terminator: "")
        print("END group-kat.json")
    }

    @Test("the fixture loads and matches its description")
    func fixtureShape() throws {
        let kat = try GroupKAT.load()
        #expect(kat.description == GroupKAT.fileDescription)
        #expect(kat.generator.hex == C.generatorHex)
        #expect(kat.order == C.orderHex)
        #expect(kat.elgamal.map(\.inputs.m) == [0, 1])
        #expect(kat.zeroOrOne.map(\.inputs.m) == [0, 1])
        #expect(kat.knownValue.count == 2 && kat.schnorr.count == 1 && kat.decryption.count == 1)
        #expect(kat.encryptedShare.count == 1 && kat.feldman.count == 1)
    }

    @Test("derived scalars and digests are SHA-256 of their labels (scalars reduced mod n)")
    func derivations() throws {
        let kat = try GroupKAT.load()
        #expect(!kat.derivedScalars.isEmpty)
        for d in kat.derivedScalars {
            #expect(try Scalar(reducing: SHA256.hash(Array(d.label.utf8)).bytes) == d.scalar, "label \(d.label)")
        }
        for d in kat.derivedDigests {
            #expect(SHA256.hash(Array(d.label.utf8)) == d.digest, "label \(d.label)")
        }
    }

    @Test("the fixture is exactly what the generator produces now")
    func fixtureIsCurrent() throws {
        let kat = try GroupKAT.load()
        let fresh = try GroupKAT.generate()
        #expect(kat == fresh, "fixture differs from GroupKAT.generate(); if the change is intended, regenerate with KAT_REGENERATE=1")
    }

    @Test("ElGamal vectors: recompute alpha, beta; beta - x*alpha = m*G")
    func elgamal() throws {
        for v in try GroupKAT.load().elgamal {
            let out = KATElGamal.compute(v.inputs)
            #expect(out == v.outputs, "\(v.name): \(differences(v.outputs, out))")
            let ct = Ciphertext(alpha: v.outputs.alpha, beta: v.outputs.beta)
            #expect(ct.beta - v.inputs.secretKey * ct.alpha == .base(Scalar(v.inputs.m)), "\(v.name): beta - x*alpha != m*G")
            #expect(ct.opens(to: v.inputs.m, nonce: v.inputs.r, key: v.outputs.publicKey), "\(v.name)")
        }
    }

    @Test("ZeroOrOneProof vectors: recompute every output; the proof verifies; challenge = c0 + c1")
    func zeroOrOne() throws {
        for v in try GroupKAT.load().zeroOrOne {
            let out = try KATZeroOrOne.compute(v.inputs)
            #expect(out == v.outputs, "\(v.name): \(differences(v.outputs, out))")
            let p = v.outputs.proof
            #expect(p.verify(ciphertext: v.outputs.ciphertext, context: v.inputs.context.context), "\(v.name) does not verify")
            #expect(v.outputs.challenge == p.c0 + v.outputs.c1, "\(v.name): challenge != c0 + c1")
            #expect(p.challenge(ciphertext: v.outputs.ciphertext, context: v.inputs.context.context) == v.outputs.challenge, "\(v.name)")
            #expect(try Scalar(reducing: SHA256.hash(v.outputs.challengePreimage.bytes).bytes) == v.outputs.challenge, "\(v.name)")
            // The real branch's commitment is u*G, the simulated branch's challenge is cFake.
            let real = v.inputs.m == 0 ? v.outputs.commitments.a0 : v.outputs.commitments.a1
            #expect(real == .base(v.inputs.u), "\(v.name): real-branch commitment is not u*G")
            #expect((v.inputs.m == 0 ? v.outputs.c1 : p.c0) == v.inputs.cFake, "\(v.name)")
            #expect((v.inputs.m == 0 ? p.z1 : p.z0) == v.inputs.zFake, "\(v.name)")
        }
    }

    @Test("KnownValueProof vectors: recompute; verify; fail for value ± 1")
    func knownValue() throws {
        for v in try GroupKAT.load().knownValue {
            let out = try KATKnownValue.compute(v.inputs)
            #expect(out == v.outputs, "\(v.name): \(differences(v.outputs, out))")
            let ctx = v.inputs.context.context
            let cts = v.outputs.ciphertexts
            #expect(v.outputs.proof.verify(ciphertexts: cts, value: v.inputs.value, context: ctx), "\(v.name) does not verify")
            #expect(!v.outputs.proof.verify(ciphertexts: cts, value: v.inputs.value + 1, context: ctx), "\(v.name)")
            #expect(!v.outputs.proof.verify(ciphertexts: cts, value: v.inputs.value - 1, context: ctx), "\(v.name)")
            #expect(Ciphertext.sum(cts) == v.outputs.sum, "\(v.name)")
            #expect(try Scalar(reducing: SHA256.hash(v.outputs.challengePreimage.bytes).bytes) == v.outputs.challenge, "\(v.name)")
            // eq. 29: z*G = a + c*A
            #expect(GroupElement.base(v.outputs.proof.z) == v.outputs.proof.a + v.outputs.challenge * v.outputs.sum.alpha, "\(v.name)")
            #expect(v.outputs.commitments.a == .base(v.inputs.u), "\(v.name)")
        }
    }

    @Test("SchnorrProof vectors: recompute; verify")
    func schnorr() throws {
        for v in try GroupKAT.load().schnorr {
            let out = try KATSchnorr.compute(v.inputs)
            #expect(out == v.outputs, "\(v.name): \(differences(v.outputs, out))")
            #expect(v.outputs.proof.verify(publicValue: v.outputs.publicValue, electionHash: v.inputs.electionHash, bound: v.inputs.bound.bytes),
                    "\(v.name) does not verify")
            #expect(v.outputs.commitment == .base(v.inputs.u), "\(v.name)")
            #expect(try Scalar(reducing: SHA256.hash(v.outputs.challengePreimage.bytes).bytes) == v.outputs.challenge, "\(v.name)")
            // eq. 31: z*G = a + c*X
            #expect(GroupElement.base(v.outputs.proof.z) == v.outputs.proof.a + v.outputs.challenge * v.outputs.publicValue, "\(v.name)")
        }
    }

    @Test("DecryptionProof vectors: recompute; verify")
    func decryption() throws {
        for v in try GroupKAT.load().decryption {
            let out = try KATDecryption.compute(v.inputs)
            #expect(out == v.outputs, "\(v.name): \(differences(v.outputs, out))")
            #expect(v.outputs.proof.verify(publicShare: v.outputs.publicShare, alpha: v.inputs.alpha, partial: v.outputs.partial,
                                           electionHash: v.inputs.electionHash), "\(v.name) does not verify")
            #expect(!v.outputs.proof.verify(publicShare: v.outputs.publicShare, alpha: v.inputs.alpha, partial: v.outputs.partial + .generator,
                                            electionHash: v.inputs.electionHash), "\(v.name)")
            #expect(v.outputs.commitments.a == .base(v.inputs.u), "\(v.name)")
            #expect(v.outputs.commitments.b == v.inputs.u * v.inputs.alpha, "\(v.name)")
            #expect(try Scalar(reducing: SHA256.hash(v.outputs.challengePreimage.bytes).bytes) == v.outputs.challenge, "\(v.name)")
        }
    }

    @Test("EncryptedShare vectors: recompute; ciphertext = share XOR pad; mac checks; opens to the share")
    func encryptedShare() throws {
        for v in try GroupKAT.load().encryptedShare {
            let out = try KATEncryptedShare.compute(v.inputs)
            #expect(out == v.outputs, "\(v.name): \(differences(v.outputs, out))")
            let sealed = v.outputs.sealed
            #expect(sealed.recipient == v.inputs.recipient)
            #expect(sealed.ephemeral == .base(v.inputs.ephemeralSecret), "\(v.name)")
            #expect(v.outputs.sharedPoint == v.inputs.recipientSecret * sealed.ephemeral, "\(v.name)")
            #expect(sealed.ciphertext.bytes == zip(v.inputs.share.bytes, v.outputs.pad.bytes).map { $0 ^ $1 }, "\(v.name)")
            #expect(SHA256.hash(v.outputs.padPreimage.bytes) == v.outputs.pad)
            #expect(SHA256.hash(v.outputs.macKeyPreimage.bytes) == v.outputs.macKey)
            #expect(HMACSHA256.authenticate(v.outputs.macInput.bytes, key: v.outputs.macKey.bytes) == sealed.mac, "\(v.name)")
            #expect(sealed.open(electionHash: v.inputs.electionHash, dealer: v.inputs.dealer, recipientSecret: v.inputs.recipientSecret)
                    == v.inputs.share, "\(v.name) does not open")
        }
    }

    @Test("Feldman vectors: recompute; shares verify; the quorum recovers a0")
    func feldman() throws {
        for v in try GroupKAT.load().feldman {
            let out = try KATFeldman.compute(v.inputs)
            #expect(out == v.outputs, "\(v.name): \(differences(v.outputs, out))")
            for s in v.outputs.shares {
                #expect(Feldman.verify(share: s.share, commitments: v.outputs.commitments, at: s.index), "\(v.name): share \(s.index)")
                #expect(s.image == .base(s.share))
            }
            #expect(v.outputs.recoveredSecret == v.inputs.coefficients.first, "\(v.name)")
        }
    }
}
