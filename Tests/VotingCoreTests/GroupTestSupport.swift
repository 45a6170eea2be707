import Foundation
import Testing
@testable import VotingCore

/// Constants and small helpers shared by the P-256 group, ElGamal, threshold and known-answer tests.
enum P256Constants {
    /// The group order n.
    static let orderHex = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
    static let orderMinusOneHex = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550"
    static let orderPlusOneHex = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632552"
    /// The field prime p = 2^256 - 2^224 + 2^192 + 2^96 - 1.
    static let fieldHex = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"
    /// SEC1 uncompressed encoding of the standard generator G (SEC 2, §2.4.2).
    static let generatorHex = "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
        + "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
    /// SEC1 compressed encoding of G: a valid SEC1 point that the protocol refuses.
    static let generatorHexCompressed = "036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"

    /// n - 1 as a scalar (the largest one).
    static var orderMinusOne: Scalar { scalar(orderMinusOneHex) }

    /// A scalar from a hex constant written in a test; traps on a typo in the test itself.
    static func scalar(_ text: String) -> Scalar {
        guard let s = Scalar(hex: text) else { preconditionFailure("bad scalar constant in test: \(text)") }
        return s
    }

    /// SHA-256(label) reduced mod n: how every fixed test scalar is derived.
    static func scalar(label: String) -> Scalar {
        do {
            return try Scalar(reducing: SHA256.hash(Array(label.utf8)).bytes)
        } catch {
            preconditionFailure("Scalar(reducing:) failed on a 32-byte input: \(error)")
        }
    }

    /// SHA-256(label) as a digest (fixed election hashes in tests).
    static func digest(label: String) -> Digest { SHA256.hash(Array(label.utf8)) }

    /// A fresh uniformly random nonzero scalar.
    static func random() throws -> Scalar { try Scalar.random() }

    /// A random point (a random multiple of G).
    static func randomPoint() throws -> GroupElement { .base(try Scalar.random()) }
}
