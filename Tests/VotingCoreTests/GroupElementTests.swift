import Foundation
import Testing
@testable import VotingCore

// MARK: - Wycheproof ECDH ecpoint schema (ecdh_ecpoint_test_schema_v1.json), only the fields used

private struct EcpointFile: Decodable {
    let algorithm: String
    let numberOfTests: Int
    let testGroups: [Group]

    struct Group: Decodable {
        let type: String
        let curve: String
        let encoding: String
        let tests: [Case]
    }

    struct Case: Decodable {
        let tcId: Int
        let comment: String
        let `public`: String
        let `private`: String
        let shared: String
        let result: Result
        let flags: [String]
    }

    enum Result: String, Decodable {
        case valid, invalid, acceptable
    }
}

/// SEC1 compression of a 65-byte uncompressed point 04 || x || y: (02 | 03 by parity of y) || x.
private func compress(uncompressed p: [UInt8]) -> [UInt8]? {
    guard p.count == 65, p[0] == 0x04 else { return nil }
    return [p[64] & 1 == 0 ? 0x02 : 0x03] + p[1...32]
}

/// A Wycheproof private key (big-endian, possibly with a leading 00 or shorter than 32 bytes) as 32 bytes.
private func privateKey32(_ raw: [UInt8]) -> [UInt8]? {
    let trimmed = Array(raw.drop(while: { $0 == 0 }))
    guard trimmed.count <= 32 else { return nil }
    return [UInt8](repeating: 0, count: 32 - trimmed.count) + trimmed
}

@Suite("GroupElement (P-256)")
struct GroupElementTests {
    typealias C = P256Constants

    // MARK: Generator and order

    @Test("the generator encodes as the SEC1 compressed P-256 base point")
    func generatorEncoding() throws {
        #expect(GroupElement.generator.hex == C.generatorHex)
        #expect(GroupElement.generator.encoding.count == GroupElement.byteCount)
        #expect(GroupElement.base(.one) == GroupElement.generator)
        let decoded = try GroupElement(encoding: Hex.decode(C.generatorHex) ?? [])
        #expect(decoded == .generator)
        #expect(!GroupElement.generator.isIdentity)
    }

    @Test("n*G is the identity: (n-1)*G + G, and (n-1)*G == -G")
    func orderTimesGeneratorIsIdentity() {
        let nMinusOneG = GroupElement.base(C.orderMinusOne)
        #expect(nMinusOneG == -GroupElement.generator)
        let sum = nMinusOneG + .generator
        #expect(sum.isIdentity)
        #expect(sum == .identity)
        #expect(sum.encoding == [UInt8](repeating: 0, count: 33))
        // The same through scalar multiplication of an arbitrary point: (n-1)*P + P == identity.
        let P = GroupElement.base(C.scalar(label: "order-check"))
        #expect((C.orderMinusOne * P + P).isIdentity)
        // And through linear(): (n-1)*G + 1*G.
        #expect(GroupElement.linear(C.orderMinusOne, .one, .generator).isIdentity)
    }

    @Test("the identity: 0*G, neutral for +, fixed by negation and scalar multiplication")
    func identityBehaviour() throws {
        let O = GroupElement.identity
        #expect(O.isIdentity)
        #expect(GroupElement.base(.zero).isIdentity)
        #expect((Scalar.zero * GroupElement.generator).isIdentity)
        let P = try C.randomPoint()
        #expect(P + O == P)
        #expect(O + P == P)
        #expect(P - O == P)
        #expect((-O).isIdentity)
        #expect((C.scalar(label: "k") * O).isIdentity)
        #expect(O.hex == String(repeating: "0", count: 66))
    }

    // MARK: Decoding

    @Test("decoding rejects a wrong length")
    func rejectsWrongLength() {
        let g = Hex.decode(C.generatorHex) ?? []
        for bytes in [[], [0x02], Array(g.dropLast()), g + [0x00], [UInt8](repeating: 0x02, count: 32),
                      [UInt8](repeating: 0x02, count: 34), [UInt8](repeating: 0x02, count: 64)] {
            #expect(throws: (any Error).self, "\(bytes.count) bytes accepted") { try GroupElement(encoding: bytes) }
        }
    }

    @Test("decoding rejects the uncompressed (04) form of a valid point, and prefixes 00/01/05/06/07/ff")
    func rejectsOtherPrefixes() throws {
        // The 65-byte uncompressed generator is a valid point but not our encoding.
        let uncompressedG = Hex.decode("04" +
            "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296" +
            "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5") ?? []
        #expect(compress(uncompressed: uncompressedG) == Hex.decode(C.generatorHex))
        #expect(throws: (any Error).self) { try GroupElement(encoding: uncompressedG) }
        // 0x04 with the 33-byte length.
        let x = Array((Hex.decode(C.generatorHex) ?? []).dropFirst())
        for prefix: UInt8 in [0x00, 0x01, 0x04, 0x05, 0x06, 0x07, 0xff] {
            #expect(throws: (any Error).self, "prefix \(prefix) accepted") { try GroupElement(encoding: [prefix] + x) }
        }
        // Both parities of a valid x decode, to a point and its negation.
        let even = try GroupElement(encoding: [0x02] + x)
        let odd = try GroupElement(encoding: [0x03] + x)
        #expect(odd == .generator)
        #expect(even == -GroupElement.generator)
    }

    @Test("decoding rejects the identity encoding (33 zero bytes)")
    func rejectsIdentity() {
        #expect(throws: (any Error).self) { try GroupElement(encoding: [UInt8](repeating: 0, count: 33)) }
        #expect(GroupElement(hex: GroupElement.identity.hex) == nil)
        // The identity as a 1-byte SEC1 "00" is also refused.
        #expect(throws: (any Error).self) { try GroupElement(encoding: [0x00]) }
    }

    @Test("decoding rejects an x with no point on the curve (x = 1, 2, 3)")
    func rejectsXNotOnCurve() {
        // x^3 - 3x + b is a non-residue mod p for x = 1, 2, 3 (checked with Python).
        for xv: UInt8 in [1, 2, 3] {
            let x = [UInt8](repeating: 0, count: 31) + [xv]
            #expect(throws: (any Error).self, "02 || \(xv)") { try GroupElement(encoding: [0x02] + x) }
            #expect(throws: (any Error).self, "03 || \(xv)") { try GroupElement(encoding: [0x03] + x) }
        }
    }

    @Test("decoding rejects x >= p even when x - p is on the curve (non-canonical encodings)")
    func rejectsNonCanonicalX() throws {
        // x = 5 is on the curve; x = p + 5 is the same field element but not a canonical encoding.
        let five = [UInt8](repeating: 0, count: 31) + [5]
        let valid = try GroupElement(encoding: [0x02] + five)
        #expect(valid.encoding == [0x02] + five)
        let p = Hex.decode(C.fieldHex) ?? []
        let pPlus5 = addSmall(p, 5)
        #expect(throws: (any Error).self, "02 || p+5 accepted") { try GroupElement(encoding: [0x02] + pPlus5) }
        #expect(throws: (any Error).self, "02 || p accepted") { try GroupElement(encoding: [0x02] + p) }
        #expect(throws: (any Error).self, "02 || ff..ff accepted") {
            try GroupElement(encoding: [0x02] + [UInt8](repeating: 0xff, count: 32))
        }
    }

    /// Big-endian a + k for a small k.
    private func addSmall(_ a: [UInt8], _ k: UInt8) -> [UInt8] {
        var out = a
        var carry = UInt16(k)
        for i in stride(from: out.count - 1, through: 0, by: -1) where carry > 0 {
            let s = UInt16(out[i]) + carry
            out[i] = UInt8(truncatingIfNeeded: s)
            carry = s >> 8
        }
        return out
    }

    @Test("x = 0 is a real curve point (not the identity) and decodes")
    func xZeroIsAPoint() throws {
        let zeroX = [UInt8](repeating: 0, count: 32)
        let a = try GroupElement(encoding: [0x02] + zeroX)
        let b = try GroupElement(encoding: [0x03] + zeroX)
        #expect(!a.isIdentity && !b.isIdentity)
        #expect(a == -b)
        #expect((a + b).isIdentity)
    }

    @Test("hex and JSON forms: lowercase only, round trip, invalid points refused")
    func hexAndJSON() throws {
        let P = try C.randomPoint()
        #expect(GroupElement(hex: P.hex) == P)
        #expect(GroupElement(hex: P.hex.uppercased()) == nil)
        #expect(GroupElement(hex: "0" + P.hex) == nil)
        let json = try JSONEncoder().encode([P])
        #expect(String(decoding: json, as: UTF8.self) == "[\"\(P.hex)\"]")
        #expect(try JSONDecoder().decode([GroupElement].self, from: json) == [P])
        for bad in [P.hex.uppercased(), String(repeating: "0", count: 66), "02" + String(repeating: "0", count: 62) + "01",
                    String(P.hex.dropLast(2))] {
            #expect(throws: (any Error).self, "\(bad)") {
                try JSONDecoder().decode([GroupElement].self, from: Data("[\"\(bad)\"]".utf8))
            }
        }
    }

    @Test("CanonicalReader.point(): reads 33 bytes, refuses invalid points and truncation")
    func canonicalReaderPoint() throws {
        let P = try C.randomPoint()
        var w = CanonicalWriter(tag: .rangeProof)
        w.point(P)
        w.point(.generator)
        var r = try CanonicalReader(w.bytes, tag: .rangeProof)
        #expect(try r.point() == P)
        #expect(try r.point() == .generator)
        try r.finish()

        for bad in [[UInt8](repeating: 0, count: 33), [0x02] + [UInt8](repeating: 0, count: 31) + [1], [0x04] + Array(P.encoding.dropFirst())] {
            var reader = CanonicalReader(bad)
            #expect(throws: (any Error).self, "\(Hex.encode(bad))") { try reader.point() }
        }
        var short = CanonicalReader(Array(P.encoding.dropLast()))
        #expect(throws: CanonicalReader.Failure.truncated(at: 0)) { try short.point() }
    }

    // MARK: Wycheproof

    @Test("Wycheproof ecdh_secp256r1_ecpoint_test.json: every public point",
          .enabled(if: Vectors.availableOrRequired, "outside vectors folder ../shared/vectors not found; skipping"))
    func wycheproofEcpoint() throws {
        let data = try Vectors.data("wycheproof/ecdh_secp256r1_ecpoint_test.json")
        let file = try JSONDecoder().decode(EcpointFile.self, from: data)
        #expect(file.algorithm == "ECDH")

        var ran = 0
        var compressedAccepted = 0
        var uncompressedRefusedThenCompressedAccepted = 0
        var invalidRejected = 0
        var sharedSecretsChecked = 0
        for group in file.testGroups {
            #expect(group.curve == "secp256r1")
            #expect(group.encoding == "ecpoint")
            for test in group.tests {
                ran += 1
                let label = "tcId \(test.tcId) (\(test.result.rawValue), \(test.comment), flags \(test.flags))"
                let pub = try #require(Hex.decode(test.public), "\(label): public is not hex")
                let decoded = try? GroupElement(encoding: pub)

                switch test.result {
                case .invalid:
                    #expect(decoded == nil, "\(label): invalid \(pub.count)-byte public point \(test.public) was accepted")
                    if decoded == nil { invalidRejected += 1 }
                case .valid, .acceptable:
                    let point: GroupElement?
                    if pub.count == 33 {
                        #expect(decoded != nil, "\(label): compressed point \(test.public) was rejected")
                        if decoded != nil { compressedAccepted += 1 }
                        point = decoded
                    } else {
                        // Documented behaviour: only 33-byte compressed SEC1 is accepted.
                        #expect(decoded == nil, "\(label): \(pub.count)-byte (non-compressed) encoding was accepted")
                        let compressed = try #require(compress(uncompressed: pub), "\(label): not a 65-byte 04 point")
                        let c = try? GroupElement(encoding: compressed)
                        #expect(c != nil, "\(label): compressed form \(Hex.encode(compressed)) was rejected")
                        #expect(c?.encoding == compressed, "\(label): decoded point re-encodes differently")
                        if decoded == nil, c != nil { uncompressedRefusedThenCompressedAccepted += 1 }
                        point = c
                    }
                    // The ECDH shared secret is the x-coordinate of priv * pub: an outside check of
                    // scalar multiplication on Wycheproof's edge-case points and scalars.
                    if let point {
                        let raw = try #require(Hex.decode(test.private), "\(label): private is not hex")
                        let key = try #require(privateKey32(raw).flatMap { Scalar(bytes: $0) }, "\(label): private key is not a scalar")
                        let shared = key * point
                        #expect(Hex.encode(shared.encoding.dropFirst()) == test.shared, "\(label): shared secret differs")
                        sharedSecretsChecked += 1
                    }
                }
            }
        }
        #expect(ran == file.numberOfTests, "ran \(ran) of \(file.numberOfTests) cases")
        // 355 cases in the stored file: 330 valid uncompressed, 1 acceptable compressed, 24 invalid.
        #expect(ran > 0)
        #expect(invalidRejected > 0)
        #expect(compressedAccepted + uncompressedRefusedThenCompressedAccepted > 0)
        print("Wycheproof ecpoint: \(ran) cases; \(invalidRejected) invalid rejected; \(compressedAccepted) compressed accepted; "
            + "\(uncompressedRefusedThenCompressedAccepted) uncompressed refused and accepted after compression; "
            + "\(sharedSecretsChecked) ECDH shared secrets matched")
    }

    // MARK: Group laws

    @Test("group laws on random scalars", arguments: 0..<4)
    func groupLaws(_ round: Int) throws {
        let a = try C.random(), b = try C.random(), g = try C.random(), s = try C.random()
        let P = try C.randomPoint(), Q = try C.randomPoint()
        // (a + b)G == aG + bG
        #expect(GroupElement.base(a + b) == GroupElement.base(a) + GroupElement.base(b))
        // (a * b)G == a(bG)
        #expect(GroupElement.base(a * b) == a * GroupElement.base(b))
        #expect(a * (b * P) == (a * b) * P)
        // linear(g, s, P) == gG + sP
        #expect(GroupElement.linear(g, s, P) == GroupElement.base(g) + s * P)
        // P - P == identity, negation
        #expect((P - P).isIdentity)
        #expect((P + (-P)).isIdentity)
        #expect(-(-P) == P)
        #expect(-P == C.orderMinusOne * P)
        #expect(GroupElement.base(-a) == -GroupElement.base(a))
        #expect(P - Q == P + (-Q))
        // Commutativity, associativity, doubling, distributivity over points.
        #expect(P + Q == Q + P)
        #expect((P + Q) + .generator == P + (Q + .generator))
        #expect(P + P == Scalar(2) * P)
        #expect(a * (P + Q) == a * P + a * Q)
        #expect(Scalar.one * P == P)
        // Negation flips only the parity prefix.
        #expect((-P).encoding.dropFirst() == P.encoding.dropFirst())
        #expect((-P).encoding[0] ^ P.encoding[0] == 1)
        // Every result re-decodes to itself.
        for X in [P + Q, a * P, GroupElement.linear(g, s, Q)] {
            #expect(try GroupElement(encoding: X.encoding) == X)
        }
    }

    @Test("small multiples: 2G and 3G against independently computed values")
    func smallMultiples() throws {
        // 2G, 3G computed with textbook affine arithmetic in Python, compressed SEC1.
        let twoG = "037cf27b188d034f7e8a52380304b51ac3c08969e277f21b35a60b48fc47669978"
        let threeG = "025ecbe4d1a6330a44c8f7ef951d4bf165e6c6b721efada985fb41661bc6e7fd6c"
        #expect(GroupElement.base(Scalar(2)).hex == twoG)
        #expect(GroupElement.base(Scalar(3)).hex == threeG)
        #expect((GroupElement.generator + .generator).hex == twoG)
    }
}
