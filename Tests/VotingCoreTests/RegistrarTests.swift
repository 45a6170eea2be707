import Foundation
import Testing
@testable import VotingCore

// The registrar (docs/protocol.md §4.3, §4.7, §8.2): enrollment codes, their PBKDF2
// commitments (eq. 13), the commission-signed roll lists (eq. 14), code reissues (eq. 15) and
// the enrollments that open the commitments (eq. 6).

private func u32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
private func u64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * UInt64($0))) } }
private func lp(_ b: [UInt8]) -> [UInt8] { u32(b.count) + b }
private func lp(_ s: String) -> [UInt8] { lp(Array(s.utf8)) }

/// The Crockford alphabet of §4.5, written out here rather than read from the code.
private let crockford = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

@Suite("Registrar: enrollment codes")
struct EnrollmentCodeTests {
    @Test("a fresh code is 16 Crockford characters in four groups of four (80 bits), and normalizes to a well-formed code")
    func generatedFormat() throws {
        var codes = Set<String>()
        var seen = Set<Character>()
        for _ in 0..<300 {
            let code = try EnrollmentCode.generate()
            let chars = Array(code)
            #expect(chars.count == 19, "\(code)")
            for (i, c) in chars.enumerated() {
                if i % 5 == 4 {
                    #expect(c == "-", "\(code): position \(i)")
                } else {
                    #expect(crockford.contains(c), "\(code): '\(c)' is not Crockford base32")
                    seen.insert(c)
                }
            }
            let normalized = EnrollmentCode.normalize(code)
            #expect(normalized == code.replacingOccurrences(of: "-", with: ""))
            #expect(normalized.count == EnrollmentCode.length)
            #expect(EnrollmentCode.isWellFormed(normalized))
            codes.insert(code)
        }
        // 16 symbols of 5 bits each carry exactly 80 bits.
        #expect(EnrollmentCode.length * 5 == 80)
        #expect(EnrollmentCode.alphabet.count == 32)
        #expect(String(decoding: EnrollmentCode.alphabet, as: UTF8.self) == String(crockford))
        // 300 draws of 80 random bits never repeat, and every symbol shows up (4,800 symbols:
        // a given one is missing with probability (31/32)^4800, about 1e-66).
        #expect(codes.count == 300)
        #expect(seen.count == 32, "symbols never drawn: \(Set(crockford).subtracting(seen).sorted())")
    }

    @Test("normalize: upper case, '-' and spaces dropped, O → 0, I and L → 1")
    func normalization() {
        let cases: [(String, String)] = [
            ("0K1M-Q9XD-4TBN-7RWE", "0K1MQ9XD4TBN7RWE"),
            ("0k1m-q9xd-4tbn-7rwe", "0K1MQ9XD4TBN7RWE"),
            (" 0K1M Q9XD 4TBN 7RWE ", "0K1MQ9XD4TBN7RWE"),
            ("0K1M--Q9XD4TBN-7RWE", "0K1MQ9XD4TBN7RWE"),
            ("OK1M-Q9XD-4TBN-7RWE", "0K1MQ9XD4TBN7RWE"),   // letter O for zero
            ("0KIM-Q9XD-4TBN-7RWE", "0K1MQ9XD4TBN7RWE"),   // letter I for one
            ("0KlM-Q9XD-4TBN-7RWE", "0K1MQ9XD4TBN7RWE"),   // lower-case l for one
            ("oilOIL", "011011"),
            ("", ""),
        ]
        for (typed, normalized) in cases {
            #expect(EnrollmentCode.normalize(typed) == normalized, "\(typed)")
        }
        // Normalizing is idempotent.
        #expect(EnrollmentCode.normalize(EnrollmentCode.normalize("0k1m-q9xd-4tbn-7rwe")) == "0K1MQ9XD4TBN7RWE")
        // Other characters are kept (and make the code ill formed); tabs are not spaces.
        #expect(EnrollmentCode.normalize("0K1M\tQ9XD") == "0K1M\tQ9XD")
        #expect(EnrollmentCode.normalize("0K1M_Q9XD") == "0K1M_Q9XD")
    }

    @Test("well formed: exactly 16 characters of the alphabet")
    func wellFormed() {
        #expect(EnrollmentCode.isWellFormed("0K1MQ9XD4TBN7RWE"))
        #expect(EnrollmentCode.isWellFormed("ZZZZZZZZZZZZZZZZ"))
        #expect(EnrollmentCode.isWellFormed("0000000000000000"))
        let bad = [
            "0K1MQ9XD4TBN7RW",     // 15
            "0K1MQ9XD4TBN7RWE0",   // 17
            "0K1M-Q9XD-4TBN-7RWE", // not normalized
            "0k1mq9xd4tbn7rwe",    // lower case
            "0K1MQ9XD4TBN7RWU",    // U is not in the alphabet
            "0K1MQ9XD4TBN7RWI",    // I, O, L only after normalizing
            "0K1MQ9XD4TBN7RWO",
            "0K1MQ9XD4TBN7RWL",
            "0K1MQ9XD4TBN7RWÉ",
            "",
        ]
        for code in bad {
            #expect(!EnrollmentCode.isWellFormed(code), "\(code)")
        }
    }
}

@Suite("Registrar: code commitments (eq. 13)")
struct CodeCommitmentTests {
    static let electionHash = SHA256.hash(Array("registrar-test-election".utf8))
    static let salt = Salt(trusted: Array(0..<16))

    @Test("commitment = PBKDF2-HMAC-SHA-256(normalize(code), string(tag) || election_hash || salt, 512, 32), checked against Python")
    func pbkdf2AgainstPython() throws {
        // The independent value, computed with Python's hashlib:
        //   python3 -c "import hashlib,struct; t=b'evote.v2.code-commitment'; \
        //     eh=hashlib.sha256(b'registrar-test-election').digest(); \
        //     print(hashlib.pbkdf2_hmac('sha256', b'0K1MQ9XD4TBN7RWE', struct.pack('>I',len(t))+t+eh+bytes(range(16)), 512, 32).hex())"
        let expected = "6ff748f0868875ac4246a9f3c12de80e44f1944f16304c58696cfbb565da9e0c"
        #expect(Self.electionHash.hex == "8797323397a8f2b1b4bf32ef4fd4f0e31b458bf8f082d156210c028d3c12fa25")
        let value = EnrollmentCode.commitment(normalizedCode: "0K1MQ9XD4TBN7RWE", salt: Self.salt, electionHash: Self.electionHash)
        #expect(value.hex == expected)
        // The same through the primitive with the salt of eq. 13 written out by hand.
        let pbkdf2Salt = lp("evote.v2.code-commitment") + Self.electionHash.bytes + Self.salt.bytes
        #expect(Hex.encode(pbkdf2Salt) == "0000001865766f74652e76322e636f64652d636f6d6d69746d656e74"
            + "8797323397a8f2b1b4bf32ef4fd4f0e31b458bf8f082d156210c028d3c12fa25" + "000102030405060708090a0b0c0d0e0f")
        #expect(Hex.encode(PBKDF2SHA256.derive(password: Array("0K1MQ9XD4TBN7RWE".utf8), salt: pbkdf2Salt, iterations: 512)) == expected)
        #expect(EnrollmentCode.iterations == 512)
    }

    @Test("PBKDF2SHA256 matches RFC 7914 §11 (PBKDF2-HMAC-SHA256, P = passwd, S = salt, c = 1, dkLen = 64)")
    func pbkdf2RFCVector() {
        let out = PBKDF2SHA256.derive(password: Array("passwd".utf8), salt: Array("salt".utf8), iterations: 1, length: 64)
        #expect(Hex.encode(out) == "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
            + "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783")
    }

    @Test("the commitment changes with the code, the salt, the election hash; isOpened only by the normalized code")
    func bindings() throws {
        let code = "0K1MQ9XD4TBN7RWE"
        let c = CodeCommitment(salt: Self.salt, value: EnrollmentCode.commitment(normalizedCode: code, salt: Self.salt,
                                                                               electionHash: Self.electionHash))
        #expect(c.isOpened(by: code, electionHash: Self.electionHash))
        #expect(c.isOpened(by: EnrollmentCode.normalize("0k1m-q9xd-4tbn-7rwe"), electionHash: Self.electionHash))
        // As typed (not normalized) it does not open; nor does another code, election or salt.
        #expect(!c.isOpened(by: "0K1M-Q9XD-4TBN-7RWE", electionHash: Self.electionHash))
        #expect(!c.isOpened(by: "0K1MQ9XD4TBN7RWF", electionHash: Self.electionHash))
        #expect(!c.isOpened(by: code, electionHash: SHA256.hash(Array("another election".utf8))))
        let otherSalt = CodeCommitment(salt: Salt(trusted: Array(1...16)), value: c.value)
        #expect(!otherSalt.isOpened(by: code, electionHash: Self.electionHash))
        // A string that is not a well-formed code never opens anything, even its own hash.
        let junk = "not a code"
        let junkCommitment = CodeCommitment(salt: Self.salt, value: EnrollmentCode.commitment(normalizedCode: junk, salt: Self.salt,
                                                                                            electionHash: Self.electionHash))
        #expect(!junkCommitment.isOpened(by: junk, electionHash: Self.electionHash))

        // A fresh commitment draws a fresh salt: the same code gives unrelated values.
        let a = try CodeCommitment.make(normalizedCode: code, electionHash: Self.electionHash)
        let b = try CodeCommitment.make(normalizedCode: code, electionHash: Self.electionHash)
        #expect(a.salt != b.salt && a.value != b.value)
        #expect(a.isOpened(by: code, electionHash: Self.electionHash) && b.isOpened(by: code, electionHash: Self.electionHash))

        let json = try JSONEncoder().encode(c)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(Set(object.keys) == ["salt", "value"])
        #expect(object["salt"] as? String == "000102030405060708090a0b0c0d0e0f")
        #expect(try JSONDecoder().decode(CodeCommitment.self, from: json) == c)
    }
}

@Suite("Registrar: roll lists and reissues")
struct RollAndReissueTests {
    static let electionHash = SHA256.hash(Array("registrar-test-election".utf8))

    static func commitment(_ n: UInt8) -> CodeCommitment {
        CodeCommitment(salt: Salt(trusted: [UInt8](repeating: n, count: 16)), value: SHA256.hash([n]))
    }

    @Test("roll import: signed-message(roll list, commission signature) with the layout of §4.3; round trip; signature checks")
    func rollImport() throws {
        let commission = try TestElections.key("commission")
        let other = try TestElections.key("other")
        let roll = RollImport(districts: [
            .init(district: "north", commitments: [Self.commitment(1), Self.commitment(2)]),
            .init(district: "south", commitments: [Self.commitment(3)]),
        ])
        let body = RollImport.signedBytes(electionHash: Self.electionHash, districts: roll.districts)
        let expectedBody = lp("evote.v2.roll-import") + Self.electionHash.bytes + u32(2)
            + lp("north") + u32(2) + Self.commitment(1).salt.bytes + Self.commitment(1).value.bytes
            + Self.commitment(2).salt.bytes + Self.commitment(2).value.bytes
            + lp("south") + u32(1) + Self.commitment(3).salt.bytes + Self.commitment(3).value.bytes
        #expect(body == expectedBody)
        let payload = try roll.payload(electionHash: Self.electionHash, commissionKey: commission)
        let signature = try commission.signature(for: body)
        #expect(payload == lp("evote.v2.signed-message") + lp(body) + signature.bytes)   // eq. 14, §12.3

        let (decoded, hash, signed) = try RollImport.decode(payload: payload, commissionKey: commission.publicKey)
        #expect(decoded == roll && hash == Self.electionHash && signed)
        #expect(decoded.counts.map(\.district) == ["north", "south"] && decoded.counts.map(\.voters) == [2, 1])

        // Another key did not sign it; a commitment changed after signing breaks the signature.
        #expect(try RollImport.decode(payload: payload, commissionKey: other.publicKey).signed == false)
        var tampered = payload
        let firstValue = payload.count - 64 - (16 + 32) * 2 - 4 - 5 - 4 - 32  // the first commitment's value
        tampered[firstValue] ^= 0x01
        let (tamperedRoll, _, tamperedSigned) = try RollImport.decode(payload: tampered, commissionKey: commission.publicKey)
        #expect(!tamperedSigned)
        #expect(tamperedRoll.districts[0].commitments[0].value != Self.commitment(1).value)
        // Signed for another election: the decoded hash says so (and a verifier compares it with its own).
        let foreign = try roll.payload(electionHash: SHA256.hash([0]), commissionKey: commission)
        let (_, foreignHash, foreignSigned) = try RollImport.decode(payload: foreign, commissionKey: commission.publicKey)
        #expect(foreignSigned && foreignHash != Self.electionHash)

        // Strict decoding: truncation, trailing bytes, a bare body without the wrapper.
        for n in stride(from: 0, to: payload.count, by: 9) {
            #expect(throws: (any Error).self, "prefix \(n)") { _ = try RollImport.decode(payload: Array(payload[..<n]), commissionKey: commission.publicKey) }
        }
        #expect(throws: CanonicalReader.Failure.trailingBytes(1)) { _ = try RollImport.decode(payload: payload + [0], commissionKey: commission.publicKey) }
        #expect(throws: CanonicalReader.Failure.self) { _ = try RollImport.decode(payload: body, commissionKey: commission.publicKey) }
        #expect(RollImport.maxCommitmentsPerEntry == 10_000)
    }

    @Test("reissue: the order's layout (eq. 15), the entry's layout, round trip, revoked keys, signature checks")
    func reissue() throws {
        let commission = try TestElections.key("commission")
        let revokedVoter = try TestElections.key("voter")
        let order = CodeReissue(district: "north", replaces: Self.commitment(1).value, commitment: Self.commitment(9),
                                issuedAt: 1_767_225_600_000)
        let orderBytes = order.signedBytes(electionHash: Self.electionHash)
        #expect(orderBytes == lp("evote.v2.code-reissue") + Self.electionHash.bytes + lp("north") + Self.commitment(1).value.bytes
            + Self.commitment(9).salt.bytes + Self.commitment(9).value.bytes + u64(1_767_225_600_000))

        let signature = try ReissueEntry.sign(order, electionHash: Self.electionHash, commissionKey: commission)
        #expect(commission.publicKey.isValidSignature(signature, for: orderBytes))
        for revoked in [[], [revokedVoter.publicKey]] {
            let entry = ReissueEntry(order: order, electionHash: Self.electionHash, signature: signature, revoked: revoked)
            #expect(entry.orderBytes == orderBytes)
            #expect(entry.canonicalBytes == lp("evote.v2.reissue-entry") + lp(orderBytes) + signature.bytes
                + u32(revoked.count) + revoked.flatMap(\.rawRepresentation))
            #expect(entry.isSigned(by: commission.publicKey))
            #expect(!entry.isSigned(by: revokedVoter.publicKey))

            let (back, hash) = try ReissueEntry.decode(canonical: entry.canonicalBytes)
            #expect(back == entry && hash == Self.electionHash)
            #expect(back.order == order && back.revoked == revoked && back.isSigned(by: commission.publicKey))
            let bytes = entry.canonicalBytes
            for n in stride(from: 0, to: bytes.count, by: 7) {
                #expect(throws: (any Error).self, "prefix \(n)") { _ = try ReissueEntry.decode(canonical: Array(bytes[..<n])) }
            }
            #expect(throws: CanonicalReader.Failure.trailingBytes(1)) { _ = try ReissueEntry.decode(canonical: bytes + [0]) }
        }

        // The signature covers every field and the election: change one and it no longer verifies.
        let changed: [(String, CodeReissue)] = [
            ("district", CodeReissue(district: "south", replaces: order.replaces, commitment: order.commitment, issuedAt: order.issuedAt)),
            ("replaces", CodeReissue(district: "north", replaces: Self.commitment(2).value, commitment: order.commitment, issuedAt: order.issuedAt)),
            ("new commitment", CodeReissue(district: "north", replaces: order.replaces, commitment: Self.commitment(8), issuedAt: order.issuedAt)),
            ("issued_at", CodeReissue(district: "north", replaces: order.replaces, commitment: order.commitment, issuedAt: order.issuedAt + 1)),
        ]
        for (what, other) in changed {
            #expect(!ReissueEntry(order: other, electionHash: Self.electionHash, signature: signature, revoked: []).isSigned(by: commission.publicKey),
                    "\(what) changed")
        }
        #expect(!ReissueEntry(order: order, electionHash: SHA256.hash([1]), signature: signature, revoked: []).isSigned(by: commission.publicKey),
                "another election")
        let byOther = try ReissueEntry.sign(order, electionHash: Self.electionHash, commissionKey: revokedVoter)
        #expect(!ReissueEntry(order: order, electionHash: Self.electionHash, signature: byOther, revoked: []).isSigned(by: commission.publicKey))

        // The embedded order is strict too: a reissue entry whose order has trailing bytes is refused.
        var w = CanonicalWriter(tag: .reissueEntry)
        w.bytes(orderBytes + [0])
        w.fixed(signature)
        w.list([Ed25519PublicKey]()) { w, k in w.key(k) }
        #expect(throws: CanonicalReader.Failure.trailingBytes(1)) { _ = try ReissueEntry.decode(canonical: w.bytes) }
    }
}

@Suite("Registrar: enrollment requests and enrollments (eq. 6)")
struct EnrollmentTests {
    static let electionHash = SHA256.hash(Array("registrar-test-election".utf8))

    @Test("the enrollment request's layout; an enrollment opens its commitment and carries the voter's proof of possession")
    func enrollment() throws {
        let voter = try TestElections.key("voter")
        let (enrollment, commitment) = try TestElections.enrollment(voter, district: "north", electionHash: Self.electionHash,
                                                                   code: "0k1m-q9xd-4tbn-7rwe")
        let request = EnrollmentRequest.signedBytes(electionHash: Self.electionHash, voterKey: voter.publicKey, normalizedCode: "0K1MQ9XD4TBN7RWE")
        #expect(request == lp("evote.v2.enrollment-request") + Self.electionHash.bytes + voter.publicKey.rawRepresentation
            + lp("0K1MQ9XD4TBN7RWE"))
        #expect(voter.publicKey.isValidSignature(enrollment.signature, for: request))
        #expect(enrollment.code == "0K1MQ9XD4TBN7RWE")
        #expect(enrollment.commitment == commitment.value)
        #expect(commitment.isOpened(by: enrollment.code, electionHash: Self.electionHash))
        #expect(enrollment.hasValidSignature(electionHash: Self.electionHash))
        #expect(!enrollment.hasValidSignature(electionHash: SHA256.hash([0])), "a request made for another election")

        #expect(enrollment.canonicalBytes == lp("evote.v2.enrollment") + voter.publicKey.rawRepresentation + lp("north")
            + commitment.value.bytes + lp("0K1MQ9XD4TBN7RWE") + enrollment.signature.bytes)
        let back = try Enrollment.decode(canonical: enrollment.canonicalBytes)
        #expect(back == enrollment && back.hasValidSignature(electionHash: Self.electionHash))
        #expect(throws: CanonicalReader.Failure.trailingBytes(1)) { _ = try Enrollment.decode(canonical: enrollment.canonicalBytes + [0]) }

        // The signature is over the code and the key: another code, another key, another signer fail.
        let otherCode = Enrollment(voterKey: voter.publicKey, district: "north", commitment: enrollment.commitment,
                                   code: "0K1MQ9XD4TBN7RWF", signature: enrollment.signature)
        #expect(!otherCode.hasValidSignature(electionHash: Self.electionHash))
        let stranger = try TestElections.key("stranger")
        let otherKey = Enrollment(voterKey: stranger.publicKey, district: "north", commitment: enrollment.commitment,
                                  code: enrollment.code, signature: enrollment.signature)
        #expect(!otherKey.hasValidSignature(electionHash: Self.electionHash))
        let signedByStranger = Enrollment(voterKey: voter.publicKey, district: "north", commitment: enrollment.commitment,
                                          code: enrollment.code, signature: try stranger.signature(for: request))
        #expect(!signedByStranger.hasValidSignature(electionHash: Self.electionHash))
        // The district is not signed by the voter (the server assigns it from the roll); the
        // audit ties it to the commitment's district list instead.
        let otherDistrict = Enrollment(voterKey: voter.publicKey, district: "south", commitment: enrollment.commitment,
                                       code: enrollment.code, signature: enrollment.signature)
        #expect(otherDistrict.hasValidSignature(electionHash: Self.electionHash))
    }
}
