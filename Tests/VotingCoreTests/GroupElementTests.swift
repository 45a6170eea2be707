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

    @Test("the generator encodes as the SEC1 uncompressed P-256 base point")
    func generatorEncoding() throws {
        #expect(GroupElement.generator.hex == C.generatorHex)
        #expect(GroupElement.generator.encoding.count == GroupElement.byteCount)
        #expect(GroupElement.byteCount == 65)
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
        #expect(sum.encoding == [UInt8](repeating: 0, count: 65))
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
        #expect(O.hex == String(repeating: "0", count: 130))
    }

    // MARK: Decoding

    /// The uncompressed encoding 04 || x || y of the point with x = 5 (y computed with Python).
    private static let x5 = [UInt8](repeating: 0, count: 31) + [5]
    private static let y5 = Hex.decode("459243b9aa581806fe913bce99817ade11ca503c64d9a3c533415c083248fbcc") ?? []

    @Test("decoding rejects a wrong length")
    func rejectsWrongLength() {
        let g = Hex.decode(C.generatorHex) ?? []
        for bytes in [[], [0x04], Array(g.dropLast()), g + [0x00], Array(g.prefix(33)), [UInt8](repeating: 0x04, count: 64),
                      [UInt8](repeating: 0x04, count: 66)] {
            #expect(throws: (any Error).self, "\(bytes.count) bytes accepted") { try GroupElement(encoding: bytes) }
        }
    }

    @Test("decoding rejects the compressed (02/03) form of a valid point, and prefixes other than 04")
    func rejectsOtherPrefixes() throws {
        let g = Hex.decode(C.generatorHex) ?? []
        let x = Array(g[1...32])
        // The 33-byte compressed generator is a valid SEC1 point but not our encoding.
        #expect(throws: (any Error).self) { try GroupElement(encoding: [0x03] + x) }
        #expect(throws: (any Error).self) { try GroupElement(encoding: [0x02] + x) }
        // The hybrid forms (06/07) and every other prefix with the 65-byte length.
        for prefix: UInt8 in [0x00, 0x01, 0x02, 0x03, 0x05, 0x06, 0x07, 0xff] {
            #expect(throws: (any Error).self, "prefix \(prefix) accepted") { try GroupElement(encoding: [prefix] + g.dropFirst()) }
        }
        #expect(try GroupElement(encoding: g) == .generator)
    }

    @Test("decoding rejects the identity encoding (65 zero bytes) except where the identity is allowed")
    func rejectsIdentity() throws {
        let zeros = [UInt8](repeating: 0, count: 65)
        #expect(throws: (any Error).self) { try GroupElement(encoding: zeros) }
        #expect(GroupElement(hex: GroupElement.identity.hex) == nil)
        #expect(throws: (any Error).self) { try GroupElement(encoding: [0x00]) }
        #expect(try GroupElement(encodingAllowingIdentity: zeros).isIdentity)
        #expect(try GroupElement(encodingAllowingIdentity: GroupElement.generator.encoding) == .generator)
        #expect(throws: (any Error).self) { try GroupElement(encodingAllowingIdentity: [0x04] + [UInt8](repeating: 0, count: 64)) }
    }

    @Test("decoding rejects (x, y) off the curve: a changed y, a changed x, x with no point")
    func rejectsOffCurve() throws {
        let g = Hex.decode(C.generatorHex) ?? []
        var badY = g
        badY[64] ^= 1
        #expect(throws: (any Error).self) { try GroupElement(encoding: badY) }
        var badX = g
        badX[1] ^= 0x80
        #expect(throws: (any Error).self) { try GroupElement(encoding: badX) }
        // x^3 - 3x + b is a non-residue mod p for x = 1, 2, 3: no y works.
        for xv: UInt8 in [1, 2, 3] {
            let x = [UInt8](repeating: 0, count: 31) + [xv]
            #expect(throws: (any Error).self, "x = \(xv)") { try GroupElement(encoding: [0x04] + x + Self.y5) }
        }
        // (x5, y5) itself and (x5, p - y5) are points.
        let p5 = try GroupElement(encoding: [0x04] + Self.x5 + Self.y5)
        #expect(p5.encoding == [0x04] + Self.x5 + Self.y5)
        #expect((p5 + (-p5)).isIdentity)
    }

    @Test("decoding rejects x >= p or y >= p even when the reduced point is on the curve")
    func rejectsNonCanonicalCoordinates() throws {
        let p = Hex.decode(C.fieldHex) ?? []
        let pPlus5 = addSmall(p, 5)
        #expect(throws: (any Error).self, "x = p + 5 accepted") { try GroupElement(encoding: [0x04] + pPlus5 + Self.y5) }
        #expect(throws: (any Error).self, "x = p accepted") { try GroupElement(encoding: [0x04] + p + Self.y5) }
        #expect(throws: (any Error).self, "y = p accepted") { try GroupElement(encoding: [0x04] + Self.x5 + p) }
        #expect(throws: (any Error).self, "ff..ff accepted") {
            try GroupElement(encoding: [0x04] + [UInt8](repeating: 0xff, count: 64))
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

    @Test("hex and JSON forms: lowercase only, round trip, invalid points refused")
    func hexAndJSON() throws {
        let P = try C.randomPoint()
        #expect(GroupElement(hex: P.hex) == P)
        #expect(GroupElement(hex: P.hex.uppercased()) == nil)
        #expect(GroupElement(hex: "0" + P.hex) == nil)
        let json = try JSONEncoder().encode([P])
        #expect(String(decoding: json, as: UTF8.self) == "[\"\(P.hex)\"]")
        #expect(try JSONDecoder().decode([GroupElement].self, from: json) == [P])
        for bad in [P.hex.uppercased(), String(repeating: "0", count: 130), "04" + String(repeating: "0", count: 126) + "01",
                    String(P.hex.dropLast(2)), C.generatorHexCompressed] {
            #expect(throws: (any Error).self, "\(bad)") {
                try JSONDecoder().decode([GroupElement].self, from: Data("[\"\(bad)\"]".utf8))
            }
        }
    }

    @Test("CanonicalReader.point(): reads 65 bytes, refuses invalid points and truncation")
    func canonicalReaderPoint() throws {
        let P = try C.randomPoint()
        var w = CanonicalWriter(tag: .rangeProof)
        w.point(P)
        w.point(.generator)
        var r = try CanonicalReader(w.bytes, tag: .rangeProof)
        #expect(try r.point() == P)
        #expect(try r.point() == .generator)
        try r.finish()

        var offCurve = P.encoding
        offCurve[64] ^= 1
        for bad in [[UInt8](repeating: 0, count: 65), offCurve, [0x03] + Array(P.encoding[1...32]) + [UInt8](repeating: 0, count: 32)] {
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
        var uncompressedAccepted = 0
        var compressedRefused = 0
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
                    if pub.count == 65 {
                        #expect(decoded != nil, "\(label): uncompressed point \(test.public) was rejected")
                        #expect(decoded?.encoding == pub, "\(label): decoded point re-encodes differently")
                        if decoded != nil { uncompressedAccepted += 1 }
                    } else {
                        // Documented behaviour: only the 65-byte uncompressed SEC1 form is accepted.
                        #expect(decoded == nil, "\(label): \(pub.count)-byte (not uncompressed) encoding was accepted")
                        if decoded == nil { compressedRefused += 1 }
                    }
                    // The ECDH shared secret is the x-coordinate of priv * pub: an outside check of
                    // scalar multiplication on Wycheproof's edge-case points and scalars.
                    if let point = decoded {
                        let raw = try #require(Hex.decode(test.private), "\(label): private is not hex")
                        let key = try #require(privateKey32(raw).flatMap { Scalar(bytes: $0) }, "\(label): private key is not a scalar")
                        let shared = key * point
                        #expect(Hex.encode(shared.encoding[1...32]) == test.shared, "\(label): shared secret differs")
                        sharedSecretsChecked += 1
                    }
                }
            }
        }
        #expect(ran == file.numberOfTests, "ran \(ran) of \(file.numberOfTests) cases")
        // 355 cases in the stored file: 330 valid uncompressed, 1 acceptable compressed, 24 invalid.
        #expect(ran > 0)
        #expect(invalidRejected > 0)
        #expect(uncompressedAccepted > 0)
        print("Wycheproof ecpoint: \(ran) cases; \(invalidRejected) invalid rejected; \(uncompressedAccepted) uncompressed accepted; "
            + "\(compressedRefused) compressed refused; \(sharedSecretsChecked) ECDH shared secrets matched")
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
        // Negation keeps x and replaces y by p − y (uncompressed encodings).
        #expect(Array((-P).encoding.prefix(33)) == Array(P.encoding.prefix(33)))
        #expect(addBigEndian(Array((-P).encoding.suffix(32)), Array(P.encoding.suffix(32))) == hex(C.fieldHex))
        // Every result re-decodes to itself.
        for X in [P + Q, a * P, GroupElement.linear(g, s, Q)] {
            #expect(try GroupElement(encoding: X.encoding) == X)
        }
    }

    @Test("small multiples: 2G and 3G against independently computed values")
    func smallMultiples() throws {
        // 2G, 3G computed with textbook Jacobian arithmetic in Python (scripts/protocol-reference.py,
        // `enc_point(mul_g(k))`), uncompressed SEC1.
        let twoG = "047cf27b188d034f7e8a52380304b51ac3c08969e277f21b35a60b48fc4766997807775510db8ed040293d9ac69f7430dbba7dade63ce982299e04b79d227873d1"
        let threeG = "045ecbe4d1a6330a44c8f7ef951d4bf165e6c6b721efada985fb41661bc6e7fd6c8734640c4998ff7e374b06ce1a64a2ecd82ab036384fb83d9a79b127a27d5032"
        #expect(GroupElement.base(Scalar(2)).hex == twoG)
        #expect(GroupElement.base(Scalar(3)).hex == threeG)
        #expect((GroupElement.generator + .generator).hex == twoG)
    }
}

/// The 256-bit sum of two 32-byte big-endian integers (the carry out of the top byte dropped).
private func addBigEndian(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: a.count)
    var carry = 0
    for i in stride(from: a.count - 1, through: 0, by: -1) {
        let sum = Int(a[i]) + Int(b[i]) + carry
        out[i] = UInt8(sum & 0xff)
        carry = sum >> 8
    }
    return out
}
