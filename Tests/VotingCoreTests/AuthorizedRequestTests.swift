import Foundation
import Testing
@testable import VotingCore

/// The signed headers of commission and trustee requests (docs/protocol.md §15, eq. 46).
@Suite("Authorized requests")
struct AuthorizedRequestTests {
    @Test("the signed bytes are exactly protocol.md §15's worked example")
    func workedExample() throws {
        let nonce = try #require(RequestAuthorization.Nonce(bytes: Array(0...15)))
        let bytes = RequestAuthorization.signedBytes(
            electionHash: Digest(trusted: [UInt8](repeating: 0, count: 32)), method: "POST", path: "/v1/commission/window",
            signer: .commission, nonce: nonce, expiresAt: 1_767_225_720_000, body: Array("{}".utf8))
        let expected = "0000001b" + Hex.encode(Array("evote.v2.authorized-request".utf8))
            + String(repeating: "00", count: 32)
            + "00000004504f5354"
            + "000000152f76312f636f6d6d697373696f6e2f77696e646f77"
            + "0000000a636f6d6d697373696f6e"
            + "000102030405060708090a0b0c0d0e0f"
            + "0000019b76dc7cc0"
            + "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        #expect(Hex.encode(bytes) == expected)
    }

    @Test("a signature covers election, method, path, signer, nonce, expiry and body")
    func signatureBindsEveryField() throws {
        let key = try Ed25519PrivateKey()
        let hash = SHA256.hash(Array("election".utf8))
        let body = Array(#"{"action":"open"}"#.utf8)
        let auth = try RequestAuthorization.sign(electionHash: hash, method: "POST", path: "/v1/commission/window", body: body,
                                                 signer: .commission, key: key, now: 1_000)
        #expect(auth.expiresAt == 1_000 + RequestAuthorization.defaultLifetime)
        #expect(auth.isValid(electionHash: hash, method: "POST", path: "/v1/commission/window", body: body, key: key.publicKey))
        #expect(!auth.isValid(electionHash: SHA256.hash([1]), method: "POST", path: "/v1/commission/window", body: body, key: key.publicKey))
        #expect(!auth.isValid(electionHash: hash, method: "PUT", path: "/v1/commission/window", body: body, key: key.publicKey))
        #expect(!auth.isValid(electionHash: hash, method: "POST", path: "/v1/commission/trustees", body: body, key: key.publicKey))
        #expect(!auth.isValid(electionHash: hash, method: "POST", path: "/v1/commission/window", body: body + [0x20], key: key.publicKey))
        #expect(!auth.isValid(electionHash: hash, method: "POST", path: "/v1/commission/window", body: body, key: try Ed25519PrivateKey().publicKey))
        let otherSigner = RequestAuthorization(signer: .trustee(1), nonce: auth.nonce, expiresAt: auth.expiresAt, signature: auth.signature)
        #expect(!otherSigner.isValid(electionHash: hash, method: "POST", path: "/v1/commission/window", body: body, key: key.publicKey))
        // v2: a station signs as `station-<i>`; the same index as a trustee is another signer.
        let asStation = try RequestAuthorization.sign(electionHash: hash, method: "POST", path: "/v1/stations/ballots", body: body,
                                                      signer: .station(1), key: key, now: 1_000)
        #expect(asStation.isValid(electionHash: hash, method: "POST", path: "/v1/stations/ballots", body: body, key: key.publicKey))
        let stationAsTrustee = RequestAuthorization(signer: .trustee(1), nonce: asStation.nonce, expiresAt: asStation.expiresAt,
                                                    signature: asStation.signature)
        #expect(!stationAsTrustee.isValid(electionHash: hash, method: "POST", path: "/v1/stations/ballots", body: body, key: key.publicKey))
        let later = RequestAuthorization(signer: .commission, nonce: auth.nonce, expiresAt: auth.expiresAt + 1, signature: auth.signature)
        #expect(!later.isValid(electionHash: hash, method: "POST", path: "/v1/commission/window", body: body, key: key.publicKey))
        // Two signatures of the same request never share a nonce.
        let again = try RequestAuthorization.sign(electionHash: hash, method: "POST", path: "/v1/commission/window", body: body,
                                                  signer: .commission, key: key, now: 1_000)
        #expect(again.nonce != auth.nonce)
    }

    @Test("headers round-trip; missing, repeated and malformed ones are named", arguments: [
        ("trustee-0", false), ("trustee-01", false), ("trustee-", false), ("Trustee-1", false), ("trustee-4294967296", false),
        ("trustee-+1", false), ("commission ", false), ("trustee-7", true), ("commission", true), ("trustee-4294967295", true),
        ("station-1", true), ("station-4294967295", true), ("station-0", false), ("station-01", false), ("Station-1", false),
        ("station-", false), ("station-4294967296", false),
    ])
    func signerText(_ text: String, _ valid: Bool) {
        #expect((RequestAuthorization.Signer(text) != nil) == valid, "\(text)")
        if let signer = RequestAuthorization.Signer(text) { #expect(signer.description == text) }
    }

    @Test func parsing() throws {
        let auth = try RequestAuthorization.sign(electionHash: SHA256.hash([]), method: "POST", path: "/x", body: [],
                                                 signer: .trustee(3), key: try Ed25519PrivateKey(), now: 5)
        func parse(_ values: [(name: String, value: String)]) -> Result<RequestAuthorization, RequestAuthorization.ParseProblem> {
            RequestAuthorization.parse { name in values.filter { $0.name == name }.map(\.value) }
        }
        #expect(try parse(auth.headerValues).get() == auth)
        #expect(parse([]) == .failure(.absent))
        var values = auth.headerValues
        values.removeLast()
        #expect(parse(values) == .failure(.malformed("header Evote-Signature is missing")))
        #expect(parse(auth.headerValues + [(name: "Evote-Nonce", value: auth.nonce.hex)]) == .failure(.malformed("header Evote-Nonce is repeated")))
        for (index, bad) in [(1, "ABCDEF00112233445566778899aabbcc"), (2, "-5"), (2, "5.0"), (2, "99999999999999999999"), (3, "00")] {
            var edited = auth.headerValues
            edited[index].value = bad
            guard case .failure(.malformed) = parse(edited) else {
                Issue.record("\(edited[index].name): \(bad) was accepted")
                continue
            }
        }
    }
}
