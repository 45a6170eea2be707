import Foundation
import Testing
@testable import VotingCore

// MARK: - Wycheproof

/// The Wycheproof EdDSA verify schema (eddsa_verify_schema_v1.json), only the fields used.
private struct WycheproofFile: Decodable {
    let algorithm: String
    let numberOfTests: Int
    let testGroups: [Group]

    struct Group: Decodable {
        let type: String
        let publicKey: PublicKey
        let tests: [Case]
    }

    struct PublicKey: Decodable {
        let curve: String
        let keySize: Int
        let pk: String
    }

    struct Case: Decodable {
        let tcId: Int
        let comment: String
        let msg: String
        let sig: String
        let result: Result
        let flags: [String]
    }

    enum Result: String, Decodable {
        case valid, invalid, acceptable
    }
}

@Suite("Ed25519")
struct Ed25519Tests {
    @Test("Wycheproof ed25519_test.json: every case",
          .enabled(if: Vectors.availableOrRequired, "outside vectors folder ../shared/vectors not found; skipping"))
    func wycheproof() throws {
        let data = try Vectors.data("wycheproof/ed25519_test.json")
        let file = try JSONDecoder().decode(WycheproofFile.self, from: data)
        #expect(file.algorithm == "EDDSA")

        var ran = 0
        var validSeen = 0
        var invalidSeen = 0
        for group in file.testGroups {
            #expect(group.publicKey.curve == "edwards25519")
            let rawKey = try #require(Hex.decode(group.publicKey.pk), "group public key is not hex: \(group.publicKey.pk)")
            let key = try? Ed25519PublicKey(rawRepresentation: rawKey)
            for test in group.tests {
                ran += 1
                let label = "tcId \(test.tcId) (\(test.result.rawValue), \(test.comment), flags \(test.flags))"
                let msg = try #require(Hex.decode(test.msg), "\(label): msg is not hex")
                let sigBytes = try #require(Hex.decode(test.sig), "\(label): sig is not hex")

                // What this library concludes: nil when the key or the signature does not parse.
                var accepted = false
                if let key {
                    if let sig = Ed25519Signature(bytes: sigBytes) {
                        accepted = key.isValidSignature(sig, for: msg)
                    } else {
                        // The validating initialiser refused the length; the verifier itself must
                        // also refuse bytes smuggled in through the unchecked initialiser.
                        #expect(!key.isValidSignature(Ed25519Signature(trusted: sigBytes), for: msg),
                                "\(label): a \(sigBytes.count)-byte signature verified through init(trusted:)")
                    }
                }

                switch test.result {
                case .valid:
                    validSeen += 1
                    #expect(key != nil, "\(label): public key \(group.publicKey.pk) was rejected")
                    #expect(accepted, "\(label): valid signature was rejected")
                case .invalid:
                    invalidSeen += 1
                    #expect(!accepted, "\(label): invalid signature was accepted")
                case .acceptable:
                    break  // Either outcome is allowed.
                }
            }
        }
        #expect(ran == file.numberOfTests, "ran \(ran) Wycheproof cases, the file declares \(file.numberOfTests)")
        #expect(validSeen > 0 && invalidSeen > 0)
    }

    // MARK: RFC 8032 §7.1

    struct KnownAnswer: Sendable, CustomTestStringConvertible {
        let name: String
        let secretKey: String
        let publicKey: String
        let message: String
        let signature: String
        var testDescription: String { name }
    }

    /// RFC 8032 §7.1, Ed25519 TEST 1, TEST 2, TEST 3 and TEST SHA(abc).
    static let rfc8032: [KnownAnswer] = [
        KnownAnswer(
            name: "TEST 1",
            secretKey: "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            publicKey: "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            message: "",
            signature: "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
        KnownAnswer(
            name: "TEST 2",
            secretKey: "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            publicKey: "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            message: "72",
            signature: "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                + "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
        KnownAnswer(
            name: "TEST 3",
            secretKey: "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            publicKey: "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            message: "af82",
            signature: "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
                + "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
        KnownAnswer(
            name: "TEST SHA(abc)",
            secretKey: "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
            publicKey: "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
            // SHA-512("abc")
            message: "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                + "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            signature: "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
                + "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
    ]

    @Test("RFC 8032 §7.1 known answers", arguments: rfc8032)
    func rfc8032KnownAnswer(_ v: KnownAnswer) throws {
        let seed = hex(v.secretKey)
        let message = hex(v.message)
        let expectedSignature = hex(v.signature)

        let priv = try Ed25519PrivateKey(rawRepresentation: seed)
        #expect(priv.publicKey.rawRepresentation == hex(v.publicKey), "\(v.name): public key derived from the seed")
        #expect(priv.publicKey.hex == v.publicKey)
        #expect(try priv.rawRepresentation == seed, "\(v.name): seed export")

        let sig = try priv.signature(for: message)
        #expect(sig.bytes == expectedSignature, "\(v.name): signature bytes")
        #expect(sig.hex == v.signature)

        let pub = try Ed25519PublicKey(rawRepresentation: hex(v.publicKey))
        let published = try #require(Ed25519Signature(bytes: expectedSignature))
        #expect(pub.isValidSignature(published, for: message), "\(v.name): published signature verifies")
        #expect(!pub.isValidSignature(published, for: message + [0x00]), "\(v.name): extended message must fail")
    }

    // MARK: key encodings

    @Test func privateKeyPEMRoundTrip() throws {
        let key = try Ed25519PrivateKey()
        let pem = try key.pemRepresentation
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        #expect(pem.hasSuffix("-----END PRIVATE KEY-----\n"))
        let back = try Ed25519PrivateKey(pemRepresentation: pem)
        #expect(back.publicKey == key.publicKey)
        #expect(try back.rawRepresentation == key.rawRepresentation)
        let message = Array("round trip".utf8)
        // Ed25519 is deterministic: the same key signs the same message identically.
        #expect(try back.signature(for: message) == key.signature(for: message))
        #expect(try back.pemRepresentation == pem)
    }

    @Test func publicKeyPEMRoundTrip() throws {
        let key = try Ed25519PrivateKey().publicKey
        let pem = try key.pemRepresentation
        #expect(pem.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        #expect(pem.hasSuffix("-----END PUBLIC KEY-----\n"))
        let back = try Ed25519PublicKey(pemRepresentation: pem)
        #expect(back == key)
        #expect(back.rawRepresentation == key.rawRepresentation)
        #expect(try back.pemRepresentation == pem)
    }

    @Test func knownPublicKeyPEM() throws {
        // RFC 8410 §10.1 shape: SPKI prefix 302a300506032b6570032100 followed by the raw key.
        let raw = hex(Self.rfc8032[0].publicKey)
        let der: [UInt8] = hex("302a300506032b6570032100") + raw
        let pem = "-----BEGIN PUBLIC KEY-----\n" + Data(der).base64EncodedString() + "\n-----END PUBLIC KEY-----\n"
        let key = try Ed25519PublicKey(pemRepresentation: pem)
        #expect(key.rawRepresentation == raw)
        #expect(try key.pemRepresentation == pem)
    }

    @Test func rawRoundTrip() throws {
        let key = try Ed25519PrivateKey()
        let seed = try key.rawRepresentation
        #expect(seed.count == 32)
        let again = try Ed25519PrivateKey(rawRepresentation: seed)
        #expect(again.publicKey == key.publicKey)
        let pub = try Ed25519PublicKey(rawRepresentation: key.publicKey.rawRepresentation)
        #expect(pub == key.publicKey)
        #expect(Ed25519PublicKey(hex: key.publicKey.hex) == key.publicKey)
        #expect(Ed25519PublicKey(hex: Self.rfc8032[0].publicKey) != nil)
        #expect(Ed25519PublicKey(hex: Self.rfc8032[0].publicKey.uppercased()) == nil, "hex must be lowercase")
        #expect(Ed25519PublicKey(hex: "zz") == nil)

        // JSON: a lowercase hex string.
        let json = try JSONEncoder().encode([key.publicKey])
        #expect(String(decoding: json, as: UTF8.self) == "[\"\(key.publicKey.hex)\"]")
        #expect(try JSONDecoder().decode([Ed25519PublicKey].self, from: json) == [key.publicKey])
    }

    @Test func twoGeneratedKeysDiffer() throws {
        let a = try Ed25519PrivateKey()
        let b = try Ed25519PrivateKey()
        #expect(a.publicKey != b.publicKey)
        #expect(try a.rawRepresentation != b.rawRepresentation)
    }

    @Test(arguments: [0, 1, 31, 33, 64])
    func wrongLengthRawKeysRejected(_ length: Int) {
        let bytes = [UInt8](repeating: 7, count: length)
        #expect(throws: CryptoError.self) { try Ed25519PublicKey(rawRepresentation: bytes) }
        #expect(throws: CryptoError.self) { try Ed25519PrivateKey(rawRepresentation: bytes) }
        #expect(Ed25519PublicKey(hex: Hex.encode(bytes)) == nil)
    }

    @Test(arguments: [0, 63, 65])
    func wrongLengthSignatureRejected(_ length: Int) {
        #expect(Ed25519Signature(bytes: [UInt8](repeating: 1, count: length)) == nil)
        #expect(Ed25519Signature(hex: String(repeating: "01", count: length)) == nil)
    }

    /// A throwaway P-256 key made for this test with
    /// `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`; it protects nothing.
    static let p256PrivatePEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgpyQcq/aX+WUMF9f4
        GQRcY7tM6FxgCDcDvyhy/Ang26KhRANCAASd1ZHbWmKqHLpY7eowgiIy/v87X0nM
        4rv/nSRSGd+u4AlLqDxEiBNaShOPmb97wOGj42maOlzaM7HkWldor9YZ
        -----END PRIVATE KEY-----

        """
    static let p256PublicPEM = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEndWR21piqhy6WO3qMIIiMv7/O19J
        zOK7/50kUhnfruAJS6g8RIgTWkoTj5m/e8Dho+Npmjpc2jOx5FpXaK/WGQ==
        -----END PUBLIC KEY-----

        """

    @Test func nonEd25519PEMRejected() throws {
        let priv = #expect(throws: CryptoError.self) { try Ed25519PrivateKey(pemRepresentation: Self.p256PrivatePEM) }
        if case .invalidEncoding = priv {} else { Issue.record("P-256 private PEM: expected invalidEncoding, got \(String(describing: priv))") }
        let pub = #expect(throws: CryptoError.self) { try Ed25519PublicKey(pemRepresentation: Self.p256PublicPEM) }
        if case .invalidEncoding = pub {} else { Issue.record("P-256 public PEM: expected invalidEncoding, got \(String(describing: pub))") }
    }

    @Test func garbagePEMRejected() throws {
        let garbage = [
            "",
            "not a pem at all",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
            "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
        ]
        for text in garbage {
            #expect(throws: CryptoError.self, "public: \(text)") { try Ed25519PublicKey(pemRepresentation: text) }
            #expect(throws: CryptoError.self, "private: \(text)") { try Ed25519PrivateKey(pemRepresentation: text) }
        }
        // A public PEM is not a private key, and a private PEM is not read as a public key.
        let key = try Ed25519PrivateKey()
        let publicPEM = try key.publicKey.pemRepresentation
        let privatePEM = try key.pemRepresentation
        #expect(throws: CryptoError.self) { try Ed25519PrivateKey(pemRepresentation: publicPEM) }
        #expect(throws: CryptoError.self) { try Ed25519PublicKey(pemRepresentation: privatePEM) }
    }

    @Test func signatureOverAnotherMessageFails() throws {
        let key = try Ed25519PrivateKey()
        let message = Array("ballot A".utf8)
        let sig = try key.signature(for: message)
        #expect(sig.bytes.count == 64)
        #expect(key.publicKey.isValidSignature(sig, for: message))
        #expect(!key.publicKey.isValidSignature(sig, for: Array("ballot B".utf8)))
        #expect(!key.publicKey.isValidSignature(sig, for: []))
        // Another key does not verify it.
        #expect(!(try Ed25519PrivateKey()).publicKey.isValidSignature(sig, for: message))
        // Every single-bit change of the signature is refused.
        for i in sig.bytes.indices {
            var bytes = sig.bytes
            bytes[i] ^= 0x01
            #expect(!key.publicKey.isValidSignature(Ed25519Signature(trusted: bytes), for: message), "bit flip in byte \(i)")
        }
    }

    @Test func signatureIsDeterministic() throws {
        let key = try Ed25519PrivateKey()
        let message = Array("same message".utf8)
        #expect(try key.signature(for: message) == key.signature(for: message))
    }
}
