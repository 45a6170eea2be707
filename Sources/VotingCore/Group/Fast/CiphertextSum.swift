// Running homomorphic sums of ciphertext vectors (eq. 21) in pure Swift, for the auditor and the
// server's running aggregate. Public data only.

/// Σ of ciphertext vectors of one length, kept in Jacobian coordinates: one mixed addition
/// (8M + 3S) per point added, no inversion and no OpenSSL call until the sum is read.
public struct CiphertextSum: Sendable {
    private var alphas: [JacobianPoint]
    private var betas: [JacobianPoint]

    /// An empty sum (every component the identity) of vectors of `count` ciphertexts.
    public init(count: Int) {
        alphas = Array(repeating: .identity, count: count)
        betas = Array(repeating: .identity, count: count)
    }

    /// The number of ciphertexts per vector.
    public var count: Int { alphas.count }

    /// Adds a vector of the same length; false (and nothing added) when the length differs.
    @discardableResult
    public mutating func add(_ ciphertexts: [Ciphertext]) -> Bool {
        combine(ciphertexts, negate: false)
    }

    /// Subtracts a vector of the same length (a superseded ballot); false when the length differs.
    @discardableResult
    public mutating func subtract(_ ciphertexts: [Ciphertext]) -> Bool {
        combine(ciphertexts, negate: true)
    }

    private mutating func combine(_ ciphertexts: [Ciphertext], negate: Bool) -> Bool {
        guard ciphertexts.count == alphas.count else { return false }
        var a: [AffinePoint] = []
        var b: [AffinePoint] = []
        a.reserveCapacity(ciphertexts.count)
        b.reserveCapacity(ciphertexts.count)
        for ct in ciphertexts {
            // Every GroupElement has an affine form (the identity maps to .identity).
            guard let alpha = AffinePoint(ct.alpha), let beta = AffinePoint(ct.beta) else { return false }
            a.append(negate ? alpha.negated : alpha)
            b.append(negate ? beta.negated : beta)
        }
        for i in a.indices {
            alphas[i] = alphas[i].adding(a[i])
            betas[i] = betas[i].adding(b[i])
        }
        return true
    }

    /// The sum as ciphertexts (one batched inversion for all components); a component may be
    /// the identity when ballots cancel out.
    public func ciphertexts() -> [Ciphertext] {
        let affine = JacobianPoint.batchNormalize(alphas + betas)
        let n = alphas.count
        return (0..<n).map { i in
            Ciphertext(alpha: Self.element(affine[i]), beta: Self.element(affine[n + i]))
        }
    }

    private static func element(_ p: AffinePoint) -> GroupElement {
        // A point computed from valid points is on the curve, so decoding cannot fail; the
        // identity fallback keeps this total.
        (try? p.groupElement()) ?? GroupElement.identity
    }
}
