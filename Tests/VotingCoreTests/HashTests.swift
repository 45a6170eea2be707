import Foundation
import Testing
@testable import VotingCore

@Suite("SHA-256, HMAC, random, hex")
struct HashTests {
    // MARK: SHA-256 (FIPS 180-4 / NIST CAVP examples)

    static let emptyDigest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let abcDigest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    static let nist448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
    static let nist448Digest = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"

    @Test func sha256KnownAnswers() {
        #expect(SHA256.hash([UInt8]()).hex == Self.emptyDigest)
        #expect(SHA256.hash(Data()).hex == Self.emptyDigest)
        #expect(SHA256.hash(Array("abc".utf8)).hex == Self.abcDigest)
        #expect(SHA256.hash(Data("abc".utf8)).hex == Self.abcDigest)
        #expect(Array(Self.nist448.utf8).count * 8 == 448)
        #expect(SHA256.hash(Array(Self.nist448.utf8)).hex == Self.nist448Digest)
        #expect(SHA256.hash([UInt8]()).bytes.count == SHA256.byteCount)
    }

    @Test func sha256MillionA() {
        // FIPS 180-2 appendix B.3: one million 'a', fed in uneven chunks.
        let hasher = SHA256.Hasher()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 999)
        var fed = 0
        while fed + chunk.count <= 1_000_000 {
            hasher.update(chunk)
            fed += chunk.count
        }
        hasher.update([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000 - fed))
        #expect(hasher.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func streamingEqualsOneShotAtEverySplit() {
        // 200 bytes crosses the 64-byte block boundary several times.
        let message = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let expected = SHA256.hash(message)
        for split in 0...message.count {
            let hasher = SHA256.Hasher()
            hasher.update(Array(message[..<split]))
            hasher.update(Array(message[split...]))
            #expect(hasher.finalize() == expected, "split at \(split)")
        }
        for a in stride(from: 0, through: message.count, by: 13) {
            for b in stride(from: a, through: message.count, by: 17) {
                let hasher = SHA256.Hasher()
                hasher.update(Data(message[..<a]))
                hasher.update(Array(message[a..<b]))
                hasher.update(Array(message[b...]))
                #expect(hasher.finalize() == expected, "splits at \(a), \(b)")
                #expect(SHA256.hash(parts: [Array(message[..<a]), Array(message[a..<b]), Array(message[b...])]) == expected)
            }
        }
        // Known answer through the streaming path as well.
        let hasher = SHA256.Hasher()
        for byte in Self.nist448.utf8 { hasher.update([byte]) }
        #expect(hasher.finalize().hex == Self.nist448Digest)
        #expect(SHA256.hash(parts: []).hex == Self.emptyDigest)
        #expect(SHA256.hash(parts: [[], Array("ab".utf8), [], Array("c".utf8)]).hex == Self.abcDigest)
    }

    // MARK: HMAC-SHA-256 (RFC 4231)

    @Test func hmacRFC4231TestCase1() {
        let key = [UInt8](repeating: 0x0b, count: 20)
        let mac = HMACSHA256.authenticate(Array("Hi There".utf8), key: key)
        #expect(mac.hex == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }

    @Test func hmacRFC4231TestCase2() {
        let mac = HMACSHA256.authenticate(Array("what do ya want for nothing?".utf8), key: Array("Jefe".utf8))
        #expect(mac.hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // Same through Data.
        let viaData = HMACSHA256.authenticate(Data("what do ya want for nothing?".utf8), key: Data("Jefe".utf8))
        #expect(viaData == mac)
    }

    @Test func hmacKeyAndMessageMatter() {
        let a = HMACSHA256.authenticate(Array("m".utf8), key: Array("k1".utf8))
        let b = HMACSHA256.authenticate(Array("m".utf8), key: Array("k2".utf8))
        let c = HMACSHA256.authenticate(Array("n".utf8), key: Array("k1".utf8))
        #expect(a != b)
        #expect(a != c)
        #expect(a != SHA256.hash(Array("m".utf8)))
    }

    /// Expected values from Python's hmac module (hmac.new(b"", msg, sha256)).
    @Test func hmacEmptyKey() {
        let zero = [UInt8](repeating: 0, count: 32)
        let emptyEmpty = "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"
        let emptyAbc = "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351"
        let a = HMACSHA256.authenticate([UInt8](), key: [UInt8]())
        #expect(a.bytes != zero, "HMAC with empty [UInt8] key and message returned all zeros")
        #expect(a.hex == emptyEmpty)
        let b = HMACSHA256.authenticate(Array("abc".utf8), key: [UInt8]())
        #expect(b.hex == emptyAbc)
        let c = HMACSHA256.authenticate(Data("abc".utf8), key: Data())
        #expect(c.bytes != zero, "HMAC with an empty Data key returned all zeros")
        #expect(c.hex == emptyAbc)
        let d = HMACSHA256.authenticate(Data(), key: Data())
        #expect(d.hex == emptyEmpty)
    }

    // MARK: constant-time comparison

    @Test func constantTimeEqualsCases() {
        #expect(constantTimeEquals([], []))
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]), "last byte differs")
        #expect(!constantTimeEquals([0, 2, 3], [1, 2, 3]), "first byte differs")
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]), "prefix")
        #expect(!constantTimeEquals([1, 2], [1, 2, 3]), "longer")
        #expect(!constantTimeEquals([], [0]))
        #expect(!constantTimeEquals([0], []))
        let big = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        #expect(constantTimeEquals(big, big))
        var other = big
        other[500] ^= 0x80
        #expect(!constantTimeEquals(big, other))
    }

    // MARK: random

    @Test func secureRandom() throws {
        #expect(try SecureRandom.bytes(0).isEmpty)
        for count in [1, 16, 32, 1000] {
            #expect(try SecureRandom.bytes(count).count == count)
        }
        let a = try SecureRandom.bytes(32)
        let b = try SecureRandom.bytes(32)
        #expect(a != b)
        #expect(a != [UInt8](repeating: 0, count: 32))
    }

    // MARK: hex

    @Test func hexEncode() {
        #expect(Hex.encode([UInt8]()) == "")
        #expect(Hex.encode([0x00, 0xff, 0x10, 0xab, 0x09]) == "00ff10ab09")
        let all = (0...255).map { UInt8($0) }
        let text = Hex.encode(all)
        #expect(text.count == 512)
        #expect(text.hasPrefix("000102030405060708090a0b0c0d0e0f10"))
        #expect(text.hasSuffix("f9fafbfcfdfeff"))
        #expect(Hex.decode(text) == all)
    }

    @Test func hexDecode() {
        #expect(Hex.decode("") == [])
        #expect(Hex.decode("00ff10ab") == [0x00, 0xff, 0x10, 0xab])
        #expect(Hex.decode("0123456789abcdef") == [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef])
    }

    @Test(arguments: ["0", "abc", "00f"])
    func hexRejectsOddLength(_ text: String) {
        #expect(Hex.decode(text) == nil)
    }

    @Test(arguments: ["AB", "aB", "Ab", "00FF", "DEADBEEF"])
    func hexRejectsUppercase(_ text: String) {
        #expect(Hex.decode(text) == nil)
    }

    @Test(arguments: ["zz", "0g", "g0", "0x00", " 0", "0 ", "-1", "é", "éé", "\u{0}0", "0\n", "+f"])
    func hexRejectsNonHex(_ text: String) {
        #expect(Hex.decode(text) == nil)
    }

    @Test func fixedBytesValidation() throws {
        #expect(Digest(bytes: [UInt8](repeating: 0, count: 31)) == nil)
        #expect(Digest(bytes: [UInt8](repeating: 0, count: 33)) == nil)
        #expect(Digest(hex: String(repeating: "ab", count: 31)) == nil)
        #expect(Digest(hex: String(repeating: "AB", count: 32)) == nil)
        let d = try #require(Digest(hex: Self.abcDigest))
        #expect(d == SHA256.hash(Array("abc".utf8)))
        #expect(d.description == Self.abcDigest)

        let json = try JSONEncoder().encode([d])
        #expect(String(decoding: json, as: UTF8.self) == "[\"\(Self.abcDigest)\"]")
        #expect(try JSONDecoder().decode([Digest].self, from: json) == [d])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([Digest].self, from: Data("[\"\(Self.abcDigest.uppercased())\"]".utf8))
        }
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([Digest].self, from: Data("[\"abcd\"]".utf8))
        }

        let hb = HexBytes([1, 2, 0xfe])
        let hbJSON = try JSONEncoder().encode([hb])
        #expect(String(decoding: hbJSON, as: UTF8.self) == "[\"0102fe\"]")
        #expect(try JSONDecoder().decode([HexBytes].self, from: hbJSON) == [hb])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([HexBytes].self, from: Data("[\"012\"]".utf8)) }
    }
}
