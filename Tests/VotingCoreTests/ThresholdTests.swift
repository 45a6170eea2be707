import Foundation
import Testing
@testable import VotingCore

/// All k-element subsets of `items`, in lexicographic order.
private func subsets<T>(_ items: [T], size k: Int) -> [[T]] {
    guard k > 0 else { return [[]] }
    guard items.count >= k else { return [] }
    var out: [[T]] = []
    for (i, first) in items.enumerated() {
        for rest in subsets(Array(items[(i + 1)...]), size: k - 1) {
            out.append([first] + rest)
        }
    }
    return out
}

@Suite("Threshold key generation and decryption (P-256)")
struct ThresholdTests {
    typealias C = P256Constants

    static let n: UInt32 = 5
    static let k = 3
    static let electionHash = P256Constants.digest(label: "threshold-election")

    /// One full key ceremony: 5 dealers with degree-2 polynomials, shares sealed to each
    /// trustee's encryption key, opened, checked with Feldman, and summed.
    struct Ceremony {
        let polynomials: [SecretPolynomial]          // index i-1 for dealer i
        let commitments: [[GroupElement]]           // dealer i's Feldman commitments
        let encryptionSecrets: [Scalar]             // trustee j's share-encryption key (index j-1)
        let secrets: [Scalar]                       // s_j = Σ_i f_i(j)
        let publicShares: [GroupElement]            // S_j = Σ_i shareImage(C_i, j)
        let jointKey: GroupElement                  // K = Σ_i C_i0
        let jointSecret: Scalar                     // Σ_i f_i(0), for cross-checks only

        init() throws {
            let count = Int(ThresholdTests.n)
            polynomials = try (0..<count).map { _ in try SecretPolynomial.random(degree: ThresholdTests.k - 1) }
            commitments = polynomials.map(\.commitments)
            encryptionSecrets = try (0..<count).map { _ in try Scalar.random() }
            let encryptionKeys = encryptionSecrets.map { GroupElement.base($0) }

            var secrets = [Scalar](repeating: .zero, count: count)
            for (di, f) in polynomials.enumerated() {
                let dealer = UInt32(di + 1)
                for j in 1...UInt32(count) {
                    let share = f.evaluate(at: UInt64(j))
                    let sealed = try EncryptedShare.seal(share: share, electionHash: ThresholdTests.electionHash, dealer: dealer,
                                                         recipient: j, recipientKey: encryptionKeys[Int(j) - 1])
                    let opened = try #require(sealed.open(electionHash: ThresholdTests.electionHash, dealer: dealer,
                                                          recipientSecret: encryptionSecrets[Int(j) - 1]),
                                              "trustee \(j) cannot open dealer \(dealer)'s share")
                    #expect(opened == share)
                    #expect(Feldman.verify(share: opened, commitments: commitments[di], at: UInt64(j)),
                            "dealer \(dealer)'s share for trustee \(j) fails Feldman")
                    secrets[Int(j) - 1] = secrets[Int(j) - 1] + opened
                }
            }
            self.secrets = secrets
            let commitments = self.commitments
            publicShares = (1...UInt64(count)).map { j in
                commitments.map { Feldman.shareImage(commitments: $0, at: j) }.reduce(GroupElement.identity, +)
            }
            jointKey = commitments.map { $0[0] }.reduce(GroupElement.identity, +)
            jointSecret = polynomials.map { $0.evaluate(at: 0) }.reduce(Scalar.zero, +)
        }
    }

    // MARK: Polynomials and Feldman

    @Test("SecretPolynomial: k coefficients, f(0) = a0, Horner matches the direct sum")
    func polynomial() throws {
        let f = try SecretPolynomial.random(degree: 2)
        #expect(f.coefficients.count == 3)
        #expect(f.evaluate(at: 0) == f.coefficients[0])
        for x: UInt64 in [1, 2, 5, 1000] {
            let xs = Scalar(x)
            let direct = f.coefficients[0] + f.coefficients[1] * xs + f.coefficients[2] * xs * xs
            #expect(f.evaluate(at: x) == direct)
        }
        let fixed = SecretPolynomial(coefficients: [Scalar(7), Scalar(3), Scalar(2)])
        #expect(fixed.evaluate(at: 4) == Scalar(7 + 12 + 32))
        #expect(fixed.commitments == [GroupElement.base(Scalar(7)), .base(Scalar(3)), .base(Scalar(2))])
        #expect(SecretPolynomial(coefficients: []).evaluate(at: 3) == .zero)
    }

    @Test("Feldman: shares verify against the dealer's commitments; tampered shares and wrong indices fail")
    func feldman() throws {
        let f = try SecretPolynomial.random(degree: 2)
        let g = try SecretPolynomial.random(degree: 2)
        let cf = f.commitments
        #expect(Feldman.shareImage(commitments: cf, at: 0) == cf[0])
        #expect(Feldman.shareImage(commitments: [], at: 3).isIdentity)
        for j: UInt64 in 1...5 {
            let share = f.evaluate(at: j)
            #expect(Feldman.shareImage(commitments: cf, at: j) == .base(share))
            #expect(Feldman.verify(share: share, commitments: cf, at: j))
            #expect(!Feldman.verify(share: share + .one, commitments: cf, at: j), "tampered share (+1) for \(j) verified")
            #expect(!Feldman.verify(share: -share, commitments: cf, at: j), "negated share for \(j) verified")
            #expect(!Feldman.verify(share: share, commitments: cf, at: j % 5 + 1), "share for \(j) verified at another index")
            #expect(!Feldman.verify(share: share, commitments: g.commitments, at: j), "share for \(j) verified for another dealer")
        }
        // A dealer who commits to one polynomial but hands out another is caught.
        var wrongCommitments = cf
        wrongCommitments[2] = wrongCommitments[2] + .generator
        #expect(!Feldman.verify(share: f.evaluate(at: 1), commitments: wrongCommitments, at: 1))
    }

    @Test("Lagrange coefficients at 0: Σλ = 1 and Σλ·j = 0; interpolation of a known polynomial")
    func lagrange() throws {
        let f = SecretPolynomial(coefficients: [Scalar(1234), Scalar(55), Scalar(6)])
        for quorum in subsets([UInt64](1...5), size: 3) + [[1, 2, 3, 4, 5], [2, 4, 7, 9]] {
            var sum = Scalar.zero, weighted = Scalar.zero, interpolated = Scalar.zero
            for j in quorum {
                let l = try #require(Feldman.lagrange(j, in: quorum), "no coefficient for \(j) in \(quorum)")
                sum = sum + l
                weighted = weighted + l * Scalar(j)
                interpolated = interpolated + l * f.evaluate(at: j)
            }
            #expect(sum == .one, "Σλ != 1 for \(quorum)")
            #expect(weighted == .zero, "Σλj != 0 for \(quorum)")
            #expect(interpolated == Scalar(1234), "f(0) not recovered from \(quorum)")
        }
        // Quorum {1, 2}: λ1 = 2, λ2 = -1.
        #expect(Feldman.lagrange(1, in: [1, 2]) == Scalar(2))
        #expect(Feldman.lagrange(2, in: [1, 2]) == -Scalar.one)
        #expect(Feldman.lagrange(3, in: [3]) == .one)
    }

    @Test("Feldman.lagrange refuses a quorum with a repeated index, index 0, or without i")
    func lagrangeRejectsInvalidQuorums() {
        // A repeated index would make the coefficients meaningless (they would sum to 5, not 1).
        #expect(Feldman.lagrange(1, in: [1, 1, 2]) == nil)
        #expect(Feldman.lagrange(2, in: [1, 1, 2]) == nil)
        #expect(Feldman.lagrange(0, in: [0, 1]) == nil)
        #expect(Feldman.lagrange(3, in: [1, 2]) == nil)
    }

    // MARK: Share encryption

    @Test("EncryptedShare: seal/open round trip; wrong secret, dealer, election or damaged bytes give nil")
    func encryptedShare() throws {
        let d = try C.random()
        let P = GroupElement.base(d)
        let share = try C.random()
        let eh = Self.electionHash
        let sealed = try EncryptedShare.seal(share: share, electionHash: eh, dealer: 2, recipient: 4, recipientKey: P)
        #expect(sealed.recipient == 4)
        #expect(sealed.ciphertext.bytes.count == 32)
        #expect(sealed.ciphertext.bytes != share.bytes)
        #expect(sealed.open(electionHash: eh, dealer: 2, recipientSecret: d) == share)
        // Fresh ephemeral key each time.
        let again = try EncryptedShare.seal(share: share, electionHash: eh, dealer: 2, recipient: 4, recipientKey: P)
        #expect(again.ephemeral != sealed.ephemeral && again.ciphertext != sealed.ciphertext)
        #expect(again.open(electionHash: eh, dealer: 2, recipientSecret: d) == share)

        #expect(sealed.open(electionHash: eh, dealer: 2, recipientSecret: try C.random()) == nil, "opened with another secret")
        #expect(sealed.open(electionHash: eh, dealer: 3, recipientSecret: d) == nil, "opened as another dealer's share")
        #expect(sealed.open(electionHash: C.digest(label: "other"), dealer: 2, recipientSecret: d) == nil, "opened in another election")

        for i in [0, 17, 31] {
            var ct = sealed.ciphertext.bytes
            ct[i] ^= 0x01
            let flipped = EncryptedShare(recipient: 4, ephemeral: sealed.ephemeral, ciphertext: HexBytes(ct), mac: sealed.mac)
            #expect(flipped.open(electionHash: eh, dealer: 2, recipientSecret: d) == nil, "ciphertext byte \(i) flipped but opened")
        }
        for i in [0, 31] {
            var mac = sealed.mac.bytes
            mac[i] ^= 0x80
            let flipped = EncryptedShare(recipient: 4, ephemeral: sealed.ephemeral, ciphertext: sealed.ciphertext,
                                         mac: try #require(Digest(bytes: mac)))
            #expect(flipped.open(electionHash: eh, dealer: 2, recipientSecret: d) == nil, "mac byte \(i) flipped but opened")
        }
        let truncated = EncryptedShare(recipient: 4, ephemeral: sealed.ephemeral, ciphertext: HexBytes(Array(sealed.ciphertext.bytes.dropLast())),
                                       mac: sealed.mac)
        #expect(truncated.open(electionHash: eh, dealer: 2, recipientSecret: d) == nil)
        let otherEphemeral = EncryptedShare(recipient: 4, ephemeral: sealed.ephemeral + .generator, ciphertext: sealed.ciphertext,
                                            mac: sealed.mac)
        #expect(otherEphemeral.open(electionHash: eh, dealer: 2, recipientSecret: d) == nil)
        let otherRecipient = EncryptedShare(recipient: 5, ephemeral: sealed.ephemeral, ciphertext: sealed.ciphertext, mac: sealed.mac)
        #expect(otherRecipient.open(electionHash: eh, dealer: 2, recipientSecret: d) == nil)

        let json = try JSONEncoder().encode(sealed)
        #expect(try JSONDecoder().decode(EncryptedShare.self, from: json) == sealed)
    }

    // MARK: The whole ceremony

    @Test("5 dealers, k = 3: joint key, trustee shares, every 3-subset decrypts the tally and no 2-subset does")
    func ceremonyAndDecryption() throws {
        let c = try Ceremony()
        let eh = Self.electionHash

        // Joint key and public shares.
        #expect(c.jointKey == .base(c.jointSecret))
        for j in 0..<Int(Self.n) {
            #expect(c.publicShares[j] == .base(c.secrets[j]), "S_\(j + 1) != s_\(j + 1) G")
        }

        // 37 ballots with a known total.
        let votes: [UInt64] = (0..<37).map { b in (b % 3 == 0 || b % 7 == 2) ? 1 : 0 }
        let total = votes.reduce(0, +)
        var sum: Ciphertext?
        for v in votes {
            let ct = Ciphertext.encrypt(v, nonce: try C.random(), key: c.jointKey)
            sum = sum.map { $0 + ct } ?? ct
        }
        let tally = try #require(sum)
        #expect(tally.beta - c.jointSecret * tally.alpha == .base(Scalar(total)))

        // Each trustee publishes D_j = s_j * alpha with a proof.
        var partials: [UInt64: GroupElement] = [:]
        for j in 1...UInt64(Self.n) {
            let s = c.secrets[Int(j) - 1], S = c.publicShares[Int(j) - 1]
            let (D, proof) = try DecryptionProof.prove(secret: s, alpha: tally.alpha, electionHash: eh)
            #expect(D == s * tally.alpha)
            #expect(proof.verify(publicShare: S, alpha: tally.alpha, partial: D, electionHash: eh), "trustee \(j)'s proof fails")
            // A wrong partial decryption (D + G) fails its proof, and so does the wrong share or election.
            #expect(!proof.verify(publicShare: S, alpha: tally.alpha, partial: D + .generator, electionHash: eh))
            #expect(!proof.verify(publicShare: S + .generator, alpha: tally.alpha, partial: D, electionHash: eh))
            #expect(!proof.verify(publicShare: S, alpha: tally.alpha + .generator, partial: D, electionHash: eh))
            #expect(!proof.verify(publicShare: S, alpha: tally.alpha, partial: D, electionHash: C.digest(label: "other")))
            // Commitment form (eq. 38): each of a, b, z is bound.
            #expect(!DecryptionProof(a: proof.a + .generator, b: proof.b, z: proof.z)
                .verify(publicShare: S, alpha: tally.alpha, partial: D, electionHash: eh))
            #expect(!DecryptionProof(a: proof.a, b: proof.b + .generator, z: proof.z)
                .verify(publicShare: S, alpha: tally.alpha, partial: D, electionHash: eh))
            #expect(!DecryptionProof(a: proof.a, b: proof.b, z: proof.z + .one)
                .verify(publicShare: S, alpha: tally.alpha, partial: D, electionHash: eh))
            partials[j] = D
        }

        func combine(_ quorum: [UInt64]) throws -> GroupElement {
            var M = tally.beta
            for j in quorum {
                let l = try #require(Feldman.lagrange(j, in: quorum))
                M = M - l * (partials[j] ?? .identity)
            }
            return M
        }

        let triples = subsets([UInt64](1...UInt64(Self.n)), size: Self.k)
        #expect(triples.count == 10)
        for quorum in triples {
            let M = try combine(quorum)
            #expect(DiscreteLog.solve(M, bound: 100) == total, "quorum \(quorum) does not recover \(total)")
        }
        // More than k trustees also works.
        #expect(DiscreteLog.solve(try combine([1, 2, 3, 4, 5]), bound: 100) == total)

        let pairs = subsets([UInt64](1...UInt64(Self.n)), size: Self.k - 1)
        #expect(pairs.count == 10)
        for quorum in pairs {
            let M = try combine(quorum)
            #expect(M != .base(Scalar(total)), "pair \(quorum) recovered the tally point")
            let solved = DiscreteLog.solve(M, bound: 100)
            #expect(solved == nil || solved != total, "pair \(quorum) recovered \(total)")
        }
    }

    // MARK: Schnorr

    @Test("SchnorrProof verifies, and fails for another bound, public value, election or tampered scalars")
    func schnorr() throws {
        let x = try C.random()
        let X = GroupElement.base(x)
        let eh = Self.electionHash
        let bound = Array("trustee-3".utf8)
        let proof = try SchnorrProof.prove(secret: x, electionHash: eh, bound: bound)
        #expect(proof.verify(publicValue: X, electionHash: eh, bound: bound))
        #expect(!proof.verify(publicValue: X, electionHash: eh, bound: Array("trustee-4".utf8)))
        #expect(!proof.verify(publicValue: X, electionHash: eh, bound: []))
        #expect(!proof.verify(publicValue: X + .generator, electionHash: eh, bound: bound))
        #expect(!proof.verify(publicValue: try C.randomPoint(), electionHash: eh, bound: bound))
        #expect(!proof.verify(publicValue: X, electionHash: C.digest(label: "other"), bound: bound))
        #expect(!SchnorrProof(a: proof.a + .generator, z: proof.z).verify(publicValue: X, electionHash: eh, bound: bound))
        #expect(!SchnorrProof(a: proof.a, z: proof.z + .one).verify(publicValue: X, electionHash: eh, bound: bound))
        #expect(!SchnorrProof(a: X, z: proof.z).verify(publicValue: X, electionHash: eh, bound: bound))
        // Proving for another secret does not verify for X.
        let wrong = try SchnorrProof.prove(secret: x + .one, electionHash: eh, bound: bound)
        #expect(!wrong.verify(publicValue: X, electionHash: eh, bound: bound))
        let json = try JSONEncoder().encode(proof)
        #expect(try JSONDecoder().decode(SchnorrProof.self, from: json) == proof)
    }

    // MARK: Discrete log

    @Test("DiscreteLog.solve: 0, 1, 99, 100 found; above the bound is nil")
    func discreteLog() throws {
        #expect(DiscreteLog.solve(.identity, bound: 100) == 0)
        #expect(DiscreteLog.solve(.generator, bound: 100) == 1)
        #expect(DiscreteLog.solve(.base(Scalar(99)), bound: 100) == 99)
        #expect(DiscreteLog.solve(.base(Scalar(100)), bound: 100) == 100)
        #expect(DiscreteLog.solve(.base(Scalar(101)), bound: 100) == nil)
        #expect(DiscreteLog.solve(.base(Scalar(121)), bound: 100) == nil)   // inside the BSGS table range, above bound
        #expect(DiscreteLog.solve(.base(Scalar(100_000)), bound: 100) == nil)
        #expect(DiscreteLog.solve(-GroupElement.generator, bound: 100) == nil)
        #expect(DiscreteLog.solve(try C.randomPoint(), bound: 100) == nil)
        // Edge bounds.
        #expect(DiscreteLog.solve(.identity, bound: 0) == 0)
        #expect(DiscreteLog.solve(.generator, bound: 0) == nil)
        #expect(DiscreteLog.solve(.generator, bound: 1) == 1)
        #expect(DiscreteLog.solve(.base(Scalar(2)), bound: 1) == nil)
        #expect(DiscreteLog.solve(.base(Scalar(12345)), bound: 20_000) == 12345)
    }

    @Test("DiscreteLog.solve: every t in 0...120 with bound 100")
    func discreteLogExhaustive() {
        var point = GroupElement.identity
        for t in UInt64(0)...120 {
            let expected: UInt64? = t <= 100 ? t : nil
            #expect(DiscreteLog.solve(point, bound: 100) == expected, "t = \(t)")
            point = point + .generator
        }
    }
}
