import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

/// Edits a JSON object (the encoded form of a valid request).
private func edited(_ data: Data, _ edit: (inout [String: Any]) -> Void) throws -> Data {
    var object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    edit(&object)
    return try JSONSerialization.data(withJSONObject: object)
}

@Suite("Malformed input")
struct MalformedInputTests {
    /// Every malformed ballot body is a 400 `malformed` and changes nothing; the genuine
    /// ballot is accepted afterwards, so none of the refusals was for another reason.
    @Test func malformedBallotBodiesAreRefused() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let ballot = try e.ballot(key, voter: 0)
            let valid = try JSONEncoder().encode(ballot.wire)
            let hex = ballot.voterKey.hex
            let sig = ballot.signature.hex
            let hash = ballot.ballot.electionHash.hex
            var cases: [(String, Data)] = [
                ("invalid JSON", Data("{\"election_hash\": ".utf8)),
                ("not JSON at all", Data("ballot please".utf8)),
                ("empty body", Data()),
                ("JSON array", Data("[]".utf8)),
                ("JSON string", Data("\"ballot\"".utf8)),
            ]
            func add(_ name: String, _ edit: (inout [String: Any]) -> Void) throws {
                cases.append((name, try edited(valid, edit)))
            }
            func editContent(_ name: String, _ edit: (inout [String: Any]) -> Void) throws {
                try add(name) { body in
                    var content = body["content"] as? [String: Any] ?? [:]
                    edit(&content)
                    body["content"] = content
                }
            }
            func editCiphertext(_ name: String, _ edit: (inout [String: Any]) -> Void) throws {
                try editContent(name) { content in
                    var ciphertexts = content["ciphertexts"] as? [[String: Any]] ?? []
                    edit(&ciphertexts[0])
                    content["ciphertexts"] = ciphertexts
                }
            }
            try add("district is a number") { $0["district"] = 1 }
            try add("district is null") { $0["district"] = NSNull() }
            try add("content is an array") { $0["content"] = ["c01"] }
            try add("content is a string") { $0["content"] = "c01" }
            try add("content holds clear selections") { $0["content"] = ["selections": ["c01"]] }
            try add("unknown top-level field") { $0["comment"] = "hello" }
            try editContent("unknown field in content") { $0["weight"] = 2 }
            try editContent("missing ciphertexts") { $0.removeValue(forKey: "ciphertexts") }
            try editContent("missing proofs") { $0.removeValue(forKey: "proofs") }
            try editContent("missing limit_proof") { $0.removeValue(forKey: "limit_proof") }
            try editContent("ciphertexts is a string") { $0["ciphertexts"] = "c01" }
            try editContent("ciphertexts is null") { $0["ciphertexts"] = NSNull() }
            try editContent("a ciphertext is a number") { $0["ciphertexts"] = [1] }
            try editContent("a ciphertext is one point") { c in
                c["ciphertexts"] = (c["ciphertexts"] as? [[String: Any]] ?? []).map { $0["alpha"] ?? "" }
            }
            try editCiphertext("unknown field in a ciphertext") { $0["gamma"] = $0["alpha"] }
            try editCiphertext("missing beta") { $0.removeValue(forKey: "beta") }
            try editContent("unknown field in a 0/1 proof") { c in
                var proofs = c["proofs"] as? [[String: Any]] ?? []
                proofs[0]["c2"] = proofs[0]["c0"]
                c["proofs"] = proofs
            }
            try editContent("unknown field in the limit proof") { c in
                var proof = c["limit_proof"] as? [String: Any] ?? [:]
                proof["value"] = 1
                c["limit_proof"] = proof
            }
            // Points (v2): 65-byte uncompressed SEC1 0x04 || x || y with x, y < p, on the curve,
            // never the identity.
            let alpha = ballot.ballot.content.ciphertexts[0].alpha.hex
            let x = String(alpha.dropFirst(2).prefix(64))
            let y = String(alpha.suffix(64))
            let yIsOdd = (Int(String(y.suffix(1)), radix: 16) ?? 0) % 2 == 1
            let p = "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"
            let points: [(String, String)] = [
                ("upper case", alpha.uppercased()),
                ("odd length", String(alpha.dropLast())),
                ("non-hex", "zz" + alpha.dropFirst(2)),
                ("64 bytes", String(alpha.dropLast(2))),
                ("66 bytes", alpha + "00"),
                ("the same point compressed (33 bytes)", (yIsOdd ? "03" : "02") + x),
                ("prefix 02 (compressed marker) on 65 bytes", "02" + alpha.dropFirst(2)),
                ("prefix 05", "05" + alpha.dropFirst(2)),
                ("x equal to p", "04" + p + y),
                ("y equal to p", "04" + x + p),
                ("the identity (65 zero bytes)", String(repeating: "00", count: 65)),
                ("the identity (one zero byte)", "00"),
                ("not on the curve", try notOnCurve()),
                ("empty", ""),
            ]
            for (name, value) in points {
                try editCiphertext("alpha \(name)") { $0["alpha"] = value }
                try editCiphertext("beta \(name)") { $0["beta"] = value }
            }
            // Scalars: 32 bytes below the group order n.
            let order = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
            let orderPlusOne = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632552"
            let c0 = ballot.ballot.content.proofs[0].c0.hex
            let scalars: [(String, String)] = [
                ("equal to n", order), ("n + 1", orderPlusOne), ("all ff", String(repeating: "ff", count: 32)),
                ("upper case", c0.uppercased()), ("31 bytes", String(c0.dropLast(2))), ("33 bytes", c0 + "00"),
                ("odd length", String(c0.dropLast())), ("a number", "7"),
            ]
            for (name, value) in scalars {
                try editContent("0/1 proof c0 \(name)") { c in
                    var proofs = c["proofs"] as? [[String: Any]] ?? []
                    proofs[0]["c0"] = value
                    c["proofs"] = proofs
                }
                try editContent("limit proof z \(name)") { c in
                    var proof = c["limit_proof"] as? [String: Any] ?? [:]
                    proof["z"] = value
                    c["limit_proof"] = proof
                }
            }
            try add("missing signature") { $0.removeValue(forKey: "signature") }
            try add("missing content") { $0.removeValue(forKey: "content") }
            try add("empty content") { $0["content"] = [String: Any]() }
            try add("missing election_hash") { $0.removeValue(forKey: "election_hash") }
            for (field, value) in [("voter_key", hex), ("signature", sig), ("election_hash", hash)] {
                try add("\(field) upper case") { $0[field] = value.uppercased() }
                try add("\(field) odd length") { $0[field] = String(value.dropLast()) }
                try add("\(field) non-hex") { $0[field] = "zz" + value.dropFirst(2) }
                try add("\(field) too short") { $0[field] = String(value.dropLast(2)) }
                try add("\(field) too long") { $0[field] = value + "00" }
                try add("\(field) empty") { $0[field] = "" }
                try add("\(field) is a number") { $0[field] = 7 }
            }
            try add("30-byte voter key") { $0["voter_key"] = String(hex.prefix(60)) }

            let before = try await e.snapshot()
            for (name, body) in cases {
                let response = try await client.postJSON("/v1/ballots", body)
                let error = expectError(response, .badRequest, "malformed")
                #expect(error != nil, "\(name)")
                if response.status != .badRequest { Issue.record("case \(name): \(response.status) \(response.text)") }
            }
            #expect(try await e.snapshot() == before)
            #expect(try await e.cast(client, ballot).status == .created)
        }
    }

    @Test func malformedEnrollmentBodiesAreRefused() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try Ed25519PrivateKey()
            let voter = e.codes[0]
            let valid = try TestElection.enrollmentBody(number: voter.personalNumber, code: voter.code, key: key.publicKey,
                                                        signature: try e.proof(key, code: voter.code))
            var cases: [(String, Data)] = [
                ("invalid JSON", Data("{".utf8)),
                ("empty body", Data()),
            ]
            func add(_ name: String, _ edit: (inout [String: Any]) -> Void) throws {
                cases.append((name, try edited(valid, edit)))
            }
            try add("unknown field") { $0["district"] = "d01" }
            try add("missing code") { $0.removeValue(forKey: "code") }
            try add("personal number is a number") { $0["personal_number"] = 123 }
            try add("personal number with a space inside") { $0["personal_number"] = "500101 00000" }
            try add("personal number empty") { $0["personal_number"] = "" }
            try add("personal number too long") { $0["personal_number"] = String(repeating: "1", count: 65) }
            try add("personal number with SQL") { $0["personal_number"] = "x' OR '1'='1" }
            try add("code too long") { $0["code"] = String(repeating: "A", count: 65) }
            try add("voter_key upper case") { $0["voter_key"] = key.publicKey.hex.uppercased() }
            try add("31-byte voter key") { $0["voter_key"] = String(key.publicKey.hex.dropLast(2)) }
            try add("signature odd length") { $0["signature"] = String(try! e.proof(key, code: voter.code).hex.dropLast()) }

            let before = try await e.snapshot()
            for (name, body) in cases {
                let response = try await client.postJSON("/v1/enrollments", body)
                let error = expectError(response, .badRequest, "malformed")
                #expect(error != nil, "\(name)")
                if response.status != .badRequest { Issue.record("case \(name): \(response.status) \(response.text)") }
            }
            #expect(try await e.snapshot() == before)
            #expect(try await client.postJSON("/v1/enrollments", valid).status == .created)
        }
    }

    @Test func bodiesOver64KiBAreTooLarge() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let ballot = try e.ballot(key, voter: 0)
            let padded = try edited(try JSONEncoder().encode(ballot.wire)) { $0["padding"] = String(repeating: "x", count: 70_000) }
            #expect(padded.count > 64 * 1024)
            let before = try await e.snapshot()
            expectError(try await client.postJSON("/v1/ballots", padded), .contentTooLarge, "too-large")
            let big = Data(repeating: UInt8(ascii: " "), count: 64 * 1024 + 1)
            expectError(try await client.postJSON("/v1/ballots", big), .contentTooLarge, "too-large")
            expectError(try await client.postJSON("/v1/enrollments", Data(repeating: UInt8(ascii: "{"), count: 200_000)),
                        .contentTooLarge, "too-large")
            #expect(try await e.snapshot() == before)
            // Just under the limit is read and judged on its content.
            let justUnder = Data(repeating: UInt8(ascii: " "), count: 64 * 1024 - 2) + Data("{}".utf8)
            expectError(try await client.postJSON("/v1/ballots", justUnder), .badRequest, "malformed")
        }
    }

    @Test func unknownRoutesAndWrongMethodsGiveJSONErrors() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let before = try await e.snapshot()
            // "/" is the observer dashboard (DashboardTests).
            for uri in ["/v1", "/v1/nothing", "/v2/ballots", "/v1/log", "/v1/log/checkpoint/extra", "/v1/ballots/\(String(repeating: "a", count: 64))/x"] {
                expectError(try await client.get(uri), .notFound, "not-found")
            }
            expectError(try await client.postJSON("/v1/unknown", text: "{}"), .notFound, "not-found")
            let wrongMethods: [(HTTPRequest.Method, String)] = [
                (.get, "/v1/enrollments"), (.get, "/v1/ballots"), (.delete, "/v1/ballots"), (.put, "/v1/enrollments"),
                (.post, "/v1/log/checkpoint"), (.post, "/v1/election"), (.patch, "/health"),
                (.get, "/v1/trustees/dealings"), (.get, "/v1/trustees/verifications"), (.post, "/v1/trustees"),
                (.get, "/v1/tally/decryptions"), (.post, "/v1/tally"), (.put, "/v1/ballots/spoiled"),
            ]
            for (method, uri) in wrongMethods {
                let response = try await client.execute(uri: uri, method: method, body: ByteBuffer(string: "{}"))
                #expect(response.status == .notFound || response.status == .methodNotAllowed, "\(method) \(uri): \(response.status)")
                let body = try? response.decode(ErrorBody.self)
                #expect(body.map { ["not-found", "method-not-allowed"].contains($0.code) && !$0.message.isEmpty } == true,
                        "\(method) \(uri): \(response.text)")
            }
            #expect(try await e.snapshot() == before)
        }
    }

    @Test func malformedQueryParametersAreRefused() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let uris = [
                "/v1/log/inclusion?index=0", "/v1/log/inclusion?tree_size=3", "/v1/log/inclusion?index=abc&tree_size=3",
                "/v1/log/inclusion?index=-1&tree_size=3", "/v1/log/inclusion?index=0&tree_size=3.0",
                "/v1/log/inclusion?index=0&tree_size=18446744073709551616", "/v1/log/inclusion?index=0&tree_size=",
                "/v1/log/consistency?first=1", "/v1/log/consistency?first=x&second=2",
                "/v1/log/entries?start=x", "/v1/log/entries?limit=ten", "/v1/log/entries?start=-5",
                "/v1/log/checkpoints/abc", "/v1/log/checkpoints/-1", "/v1/log/checkpoints/1.5",
                "/v1/log/entries?start=9223372036854775808", "/v1/log/inclusion?index=9223372036854775808&tree_size=1",
                "/v1/log/consistency?first=1&second=9223372036854775808", "/v1/log/entries?limit=0x10",
            ]
            for uri in uris {
                let error = expectError(try await client.get(uri), .badRequest, "malformed")
                #expect(error != nil, "\(uri)")
            }
        }
    }

    /// The other request bodies are decoded just as strictly: every malformed spoil, dealing,
    /// verification or partial decryption is a 400 `malformed` and changes nothing.
    @Test func malformedPublicationBodiesAreRefused() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let (ballot, opening) = try e.encryptedBallot(key, voter: 0)
            let hash = e.store.electionHash
            let trustee = e.trustees[0]
            let info = try await e.trusteesInfo(client)
            let dealing = try trustee.deal(electionHash: hash, quorum: 1, trustees: info.trustees)
            let verification = try trustee.verification(complaints: [], electionHash: hash)
            let ct = Ciphertext.encrypt(1, nonce: try Scalar.random(), key: try e.electionKey())
            let aggregate = TallyAggregate(districts: [.init(district: "d01", ballots: 1, ciphertexts: [ct])])
            let partial = try PartialDecryption.make(electionHash: hash, index: 1, secretShare: try Scalar.random(),
                                                     aggregate: aggregate, signingKey: trustee.signingKey)
            let order = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"
            let offCurve = try notOnCurve()
            let identity = String(repeating: "00", count: 65)

            var cases: [(String, String, Data)] = []
            func add(_ route: String, _ name: String, _ valid: Data, _ edit: (inout [String: Any]) -> Void) throws {
                cases.append((route, name, try edited(valid, edit)))
            }
            let routes = ["/v1/ballots/spoiled", "/v1/trustees/dealings", "/v1/trustees/verifications", "/v1/tally/decryptions"]
            for route in routes {
                cases += [(route, "empty body", Data()), (route, "JSON array", Data("[]".utf8)), (route, "invalid JSON", Data("{".utf8))]
            }

            let spoil = try JSONEncoder().encode(try SpoilRequestBody.make(ballot: ballot.ballot, opening: opening, voterKey: key))
            let spoiled = routes[0]
            try add(spoiled, "unknown top-level field", spoil) { $0["reason"] = "curious" }
            try add(spoiled, "missing opening", spoil) { $0.removeValue(forKey: "opening") }
            try add(spoiled, "missing voter_key", spoil) { $0.removeValue(forKey: "voter_key") }
            try add(spoiled, "missing signature", spoil) { $0.removeValue(forKey: "signature") }
            try add(spoiled, "signature odd length", spoil) { $0["signature"] = String(($0["signature"] as? String ?? "").dropLast()) }
            // A cast ballot (with a voter key and signature inside) is not the ballot of a challenge.
            try add(spoiled, "a signed ballot in place of the ballot", spoil) { $0["ballot"] = try? JSONSerialization.jsonObject(with: JSONEncoder().encode(ballot.wire)) }
            try add(spoiled, "ballot is a string", spoil) { $0["ballot"] = "ballot" }
            try add(spoiled, "unknown field in the ballot", spoil) { b in
                var inner = b["ballot"] as? [String: Any] ?? [:]
                inner["comment"] = "x"
                b["ballot"] = inner
            }
            func editOpening(_ name: String, _ edit: @escaping (inout [String: Any]) -> Void) throws {
                try add(spoiled, name, spoil) { b in
                    var inner = b["opening"] as? [String: Any] ?? [:]
                    edit(&inner)
                    b["opening"] = inner
                }
            }
            try editOpening("unknown field in the opening") { $0["salt"] = "00" }
            try editOpening("selections is a string") { $0["selections"] = "c01" }
            try editOpening("a nonce equal to n") { o in
                var nonces = o["nonces"] as? [String] ?? []
                nonces[0] = order
                o["nonces"] = nonces
            }
            try editOpening("a nonce upper case") { o in
                var nonces = o["nonces"] as? [String] ?? []
                nonces[0] = nonces[0].uppercased()
                o["nonces"] = nonces
            }

            let dealt = try JSONEncoder().encode(dealing)
            let dealings = routes[1]
            try add(dealings, "unknown top-level field", dealt) { $0["round"] = 1 }
            try add(dealings, "missing proof", dealt) { $0.removeValue(forKey: "proof") }
            try add(dealings, "index is negative", dealt) { $0["index"] = -1 }
            try add(dealings, "index is a string", dealt) { $0["index"] = "1" }
            try add(dealings, "a commitment off the curve", dealt) { $0["commitments"] = [offCurve] }
            try add(dealings, "a commitment is the identity", dealt) { $0["commitments"] = [identity] }
            try add(dealings, "proof z equal to n", dealt) { d in
                var proof = d["proof"] as? [String: Any] ?? [:]
                proof["z"] = order
                d["proof"] = proof
            }
            try add(dealings, "unknown field in the proof", dealt) { d in
                var proof = d["proof"] as? [String: Any] ?? [:]
                proof["u"] = proof["z"]
                d["proof"] = proof
            }
            try add(dealings, "a share is a string", dealt) { $0["shares"] = ["share"] }

            let verified = try JSONEncoder().encode(verification)
            let verifications = routes[2]
            try add(verifications, "unknown top-level field", verified) { $0["note"] = "all good" }
            try add(verifications, "complaints is a string", verified) { $0["complaints"] = "none" }
            try add(verifications, "a complaint is negative", verified) { $0["complaints"] = [-2] }
            try add(verifications, "signature odd length", verified) { $0["signature"] = String(verification.signature.hex.dropLast()) }

            let decrypted = try JSONEncoder().encode(partial)
            let decryptions = routes[3]
            func editShare(_ name: String, _ edit: @escaping (inout [String: Any]) -> Void) throws {
                try add(decryptions, name, decrypted) { p in
                    var districts = p["districts"] as? [[[String: Any]]] ?? []
                    edit(&districts[0][0])
                    p["districts"] = districts
                }
            }
            try add(decryptions, "unknown top-level field", decrypted) { $0["quorum"] = [1, 2] }
            try add(decryptions, "districts is flat", decrypted) { $0["districts"] = ["d01"] }
            try editShare("a partial off the curve") { $0["partial"] = offCurve }
            // An identity partial is well formed (a vanished aggregate alpha makes it legitimate,
            // docs/protocol.md §13.1); against a real alpha its proof fails (TallyRouteTests).
            try editShare("unknown field in a share") { $0["option"] = "c01" }
            try editShare("proof z equal to n") { share in
                var proof = share["proof"] as? [String: Any] ?? [:]
                proof["z"] = order
                share["proof"] = proof
            }

            let before = try await e.snapshot()
            for (route, name, body) in cases {
                let response = route == "/v1/ballots/spoiled"
                    ? try await client.postJSON(route, body) : try await e.postTrustee(client, route, body)
                let error = expectError(response, .badRequest, "malformed")
                #expect(error != nil, "\(route): \(name)")
                if response.status != .badRequest { Issue.record("\(route) \(name): \(response.status) \(response.text)") }
            }
            #expect(try await e.snapshot() == before)
            // The genuine bodies are judged on their content: the spoil is accepted, the
            // ceremony is over, and there is nothing to decrypt yet.
            #expect(try await client.postJSON(spoiled, spoil).status == .created)
            expectError(try await e.postTrustee(client, dealings, dealt), .conflict, "ceremony-closed")
            expectError(try await e.postTrustee(client, verifications, verified), .conflict, "ceremony-closed")
            expectError(try await e.postTrustee(client, decryptions, decrypted), .conflict, "tally-not-ready")
        }
    }

    /// A partial decryption covers every option of every district, so its body may be up to
    /// 4 MiB (the other bodies: 64 KiB).
    @Test func partialDecryptionBodiesMayExceed64KiB() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let trustee = e.trustees[0]
            let ct = Ciphertext.encrypt(1, nonce: try Scalar.random(), key: try e.electionKey())
            func body(options: Int) throws -> Data {
                let aggregate = TallyAggregate(districts: [.init(district: "d01", ballots: 1, ciphertexts: [ct])])
                let one = try PartialDecryption.make(electionHash: e.store.electionHash, index: 1, secretShare: try Scalar.random(),
                                                     aggregate: aggregate, signingKey: trustee.signingKey)
                let wide = PartialDecryption(index: 1, districts: [Array(repeating: one.districts[0][0], count: options)], signature: one.signature)
                return try JSONEncoder().encode(wide)
            }
            let large = try body(options: 600)
            #expect(large.count > 64 * 1024 && large.count < 4 * 1024 * 1024)
            let before = try await e.snapshot()
            // Read and judged: voting has not closed.
            expectError(try await e.postDecryptionBody(client, large), .conflict, "tally-not-ready")
            let huge = try body(options: 20_000)
            #expect(huge.count > 4 * 1024 * 1024)
            expectError(try await e.postDecryptionBody(client, huge), .contentTooLarge, "too-large")
            #expect(try await e.snapshot() == before)
        }
    }

    @Test func healthAndElectionInfo() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let health = try await client.get("/health")
            #expect(health.status == .ok)
            #expect(health.text.contains("\"ok\""))
            let info = try await client.get("/v1/election")
            #expect(info.status == .ok)
            let body = try info.decode(ElectionInfo.self)
            #expect(body.electionHash == e.store.electionHash)
            // The answer describes entry 0 exactly: its hash is the election hash (eq. 1).
            #expect(body.setup.electionHash == e.store.electionHash)
            #expect(body.nonce == e.store.setup.nonce)
            #expect(body.serverKey == e.store.setup.serverKey)
            #expect(body.commissionKey == e.store.setup.commissionKey)
            #expect(body.state == .open)
            #expect(body.electionKey == (try e.electionKey()))
            try await e.close()
            #expect(try await client.get("/v1/election").decode(ElectionInfo.self).state == .closed)
        }
    }
}
