import Foundation
import Testing
@testable import VotingCore

@Suite("Scalar (mod n)")
struct ScalarTests {
    typealias C = P256Constants

    // MARK: Validation

    @Test("Scalar(bytes:) rejects values >= n: n, n+1, 2^256-1")
    func rejectsAtOrAboveOrder() {
        for h in [C.orderHex, C.orderPlusOneHex, String(repeating: "f", count: 64),
                  "ffffffff00000001000000000000000000000000000000000000000000000000"] {
            #expect(Scalar(bytes: Hex.decode(h) ?? []) == nil, "\(h) accepted")
            #expect(Scalar(hex: h) == nil, "\(h) accepted as hex")
        }
    }

    @Test("Scalar(bytes:) accepts 0, 1 and n-1")
    func acceptsBelowOrder() throws {
        let nMinus1 = try #require(Scalar(bytes: Hex.decode(C.orderMinusOneHex) ?? []))
        #expect(nMinus1.hex == C.orderMinusOneHex)
        #expect(Scalar(bytes: [UInt8](repeating: 0, count: 32)) == .zero)
        #expect(Scalar(bytes: [UInt8](repeating: 0, count: 31) + [1]) == .one)
        // Just below n in a middle byte: ffffffff00000000fffffffffffffffebce6... < n.
        #expect(Scalar(hex: "ffffffff00000000fffffffffffffffeffffffffffffffffffffffffffffffff") != nil)
    }

    @Test("Scalar(bytes:) rejects a wrong length")
    func rejectsWrongLength() {
        for count in [0, 1, 16, 31, 33, 64] {
            #expect(Scalar(bytes: [UInt8](repeating: 0, count: count)) == nil, "\(count) zero bytes accepted")
        }
        #expect(Scalar(hex: "01") == nil)
        #expect(Scalar(hex: String(repeating: "0", count: 66)) == nil)
    }

    @Test("Scalar(UInt64) is big-endian in the low 8 bytes")
    func fromUInt64() {
        #expect(Scalar(0) == .zero)
        #expect(Scalar(1).hex == String(repeating: "0", count: 63) + "1")
        #expect(Scalar(0x0102030405060708).hex == String(repeating: "0", count: 48) + "0102030405060708")
        #expect(Scalar(UInt64.max).hex == String(repeating: "0", count: 48) + "ffffffffffffffff")
        #expect(Scalar.zero.isZero && !Scalar.one.isZero)
    }

    // MARK: Arithmetic mod n

    @Test("additive inverse: a + (-a) == 0, -0 == 0, (n-1) + 1 == 0, a - b == a + (-b)", arguments: 0..<4)
    func additiveInverse(_ round: Int) throws {
        let a = try C.random(), b = try C.random()
        #expect((a + (-a)).isZero)
        #expect(a - a == .zero)
        #expect(a - b == a + (-b))
        #expect(a + b == b + a)
        #expect((a + b) - b == a)
        #expect(-Scalar.zero == .zero)
        #expect(C.orderMinusOne + .one == .zero)
        #expect(-Scalar.one == C.orderMinusOne)
        #expect(Scalar.zero - .one == C.orderMinusOne)
        #expect(C.orderMinusOne + C.orderMinusOne == C.scalar("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc63254f"))
    }

    @Test("multiplicative inverse: a * a.inverse == 1; zero has none", arguments: 0..<4)
    func multiplicativeInverse(_ round: Int) throws {
        let a = try C.random(), b = try C.random(), c = try C.random()
        let inv = try #require(a.inverse)
        #expect(a * inv == .one)
        #expect(inv.inverse == a)
        #expect(a * b == b * a)
        #expect(a * (b + c) == a * b + a * c)
        #expect((a * b) * c == a * (b * c))
        #expect(a * .one == a)
        #expect(a * .zero == .zero)
        #expect(Scalar.zero.inverse == nil)
        #expect(Scalar.one.inverse == .one)
        // 2^-1 mod n = (n+1)/2 (Python: pow(2, -1, n)).
        #expect(Scalar(2).inverse?.hex == "7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a9")
        // (n-1)^2 = 1, so n-1 is its own inverse.
        #expect(C.orderMinusOne * C.orderMinusOne == .one)
        #expect(C.orderMinusOne.inverse == C.orderMinusOne)
    }

    @Test("Scalar(reducing:) reduces any length mod n")
    func reducing() throws {
        // (2^256 - 1) mod n, from Python: hex((2**256-1) % n).
        let ff32 = try Scalar(reducing: [UInt8](repeating: 0xff, count: 32))
        #expect(ff32.hex == "00000000ffffffff00000000000000004319055258e8617b0c46353d039cdaae")
        // (2^512 - 1) mod n.
        let ff64 = try Scalar(reducing: [UInt8](repeating: 0xff, count: 64))
        #expect(ff64.hex == "66e12d94f3d956202845b2392b6bec594699799c49bd6fa683244c95be79eea1")
        #expect(try Scalar(reducing: Hex.decode(C.orderHex) ?? []) == .zero)
        #expect(try Scalar(reducing: Hex.decode(C.orderPlusOneHex) ?? []) == .one)
        #expect(try Scalar(reducing: Hex.decode(C.orderMinusOneHex) ?? []) == C.orderMinusOne)
        #expect(try Scalar(reducing: []) == .zero)
        #expect(try Scalar(reducing: [7]) == Scalar(7))
        // A leading zero byte changes nothing.
        #expect(try Scalar(reducing: [0] + [UInt8](repeating: 0xff, count: 32)) == ff32)
    }

    @Test("Scalar.random is nonzero, below n and not repeating")
    func random() throws {
        var seen = Set<Scalar>()
        for _ in 0..<8 {
            let s = try Scalar.random()
            #expect(!s.isZero)
            #expect(Scalar(bytes: s.bytes) == s)
            seen.insert(s)
        }
        #expect(seen.count == 8)
    }

    // MARK: Text and JSON

    @Test("JSON: a lowercase 64-digit hex string, round trip")
    func jsonRoundTrip() throws {
        let values = [Scalar.zero, .one, C.orderMinusOne, try C.random()]
        let json = try JSONEncoder().encode(values)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text == "[" + values.map { "\"\($0.hex)\"" }.joined(separator: ",") + "]")
        #expect(try JSONDecoder().decode([Scalar].self, from: json) == values)
    }

    @Test("JSON: rejects upper case, >= n, wrong length, non-strings")
    func jsonRejects() throws {
        let a = try C.random()
        for bad in ["\"\(a.hex.uppercased())\"", "\"\(C.orderHex)\"", "\"\(C.orderPlusOneHex)\"",
                    "\"\(String(repeating: "f", count: 64))\"", "\"\(String(a.hex.dropLast(2)))\"", "\"00\(a.hex)\"",
                    "\"0x\(String(a.hex.dropFirst(2)))\"", "\"\(String(a.hex.dropLast()))\"", "1", "null"] {
            #expect(throws: (any Error).self, "\(bad) decoded") {
                try JSONDecoder().decode([Scalar].self, from: Data("[\(bad)]".utf8))
            }
        }
        // A mixed-case string is rejected even when its value is small.
        #expect(Scalar(hex: String(repeating: "0", count: 63) + "A") == nil)
        #expect(Scalar(hex: String(repeating: "0", count: 63) + "a") == Scalar(10))
    }

    @Test("CanonicalReader.scalar(): 32 raw bytes below n; refuses n and truncation")
    func canonicalReaderScalar() throws {
        let a = try C.random()
        var w = CanonicalWriter(tag: .sumProof)
        w.scalar(a)
        w.scalar(C.orderMinusOne)
        var r = try CanonicalReader(w.bytes, tag: .sumProof)
        #expect(try r.scalar() == a)
        #expect(try r.scalar() == C.orderMinusOne)
        try r.finish()

        for bad in [C.orderHex, C.orderPlusOneHex, String(repeating: "f", count: 64)] {
            var reader = CanonicalReader(Hex.decode(bad) ?? [])
            #expect(throws: (any Error).self, "\(bad)") { try reader.scalar() }
        }
        var short = CanonicalReader([UInt8](repeating: 0, count: 31))
        #expect(throws: CanonicalReader.Failure.truncated(at: 0)) { try short.scalar() }
    }
}
