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
        let e = try TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let ballot = try e.ballot(key, voter: 0)
            let valid = try JSONEncoder().encode(ballot.wire)
            let hex = ballot.ballot.voterKey.hex
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
            try add("district is a number") { $0["district"] = 1 }
            try add("district is null") { $0["district"] = NSNull() }
            try add("selections is a string") { $0["content"] = ["selections": "c01"] }
            try add("selection is a number") { $0["content"] = ["selections": [1]] }
            try add("content is an array") { $0["content"] = ["c01"] }
            try add("unknown top-level field") { $0["comment"] = "hello" }
            try add("unknown field in content") {
                $0["content"] = ["selections": (ballot.wire.content.selections), "weight": 2]
            }
            try add("missing signature") { $0.removeValue(forKey: "signature") }
            try add("missing content") { $0.removeValue(forKey: "content") }
            try add("missing selections") { $0["content"] = [String: Any]() }
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
        let e = try TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try Ed25519PrivateKey()
            let voter = e.codes[0]
            let valid = try TestElection.enrollmentBody(number: voter.personalNumber, code: voter.code, key: key.publicKey,
                                                        signature: try e.proof(key))
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
            try add("signature odd length") { $0["signature"] = String(try! e.proof(key).hex.dropLast()) }

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
        let e = try TestElection()
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
        let e = try TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let before = try await e.snapshot()
            for uri in ["/", "/v1", "/v1/nothing", "/v2/ballots", "/v1/log", "/v1/log/checkpoint/extra", "/v1/ballots/\(String(repeating: "a", count: 64))/x"] {
                expectError(try await client.get(uri), .notFound, "not-found")
            }
            expectError(try await client.postJSON("/v1/unknown", text: "{}"), .notFound, "not-found")
            let wrongMethods: [(HTTPRequest.Method, String)] = [
                (.get, "/v1/enrollments"), (.get, "/v1/ballots"), (.delete, "/v1/ballots"), (.put, "/v1/enrollments"),
                (.post, "/v1/log/checkpoint"), (.post, "/v1/election"), (.patch, "/health"),
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
        let e = try TestElection()
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

    @Test func healthAndElectionInfo() async throws {
        let e = try TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let health = try await client.get("/health")
            #expect(health.status == .ok)
            #expect(health.text.contains("\"ok\""))
            let info = try await client.get("/v1/election")
            #expect(info.status == .ok)
            let body = try info.decode(ElectionInfo.self)
            #expect(body.electionHash == e.store.electionHash)
            #expect(body.manifest.electionHash == e.store.electionHash)
            #expect(body.serverKey == e.store.setup.serverKey)
            #expect(body.commissionKey == e.store.setup.commissionKey)
            #expect(body.state == .open)
            try e.close()
            #expect(try await client.get("/v1/election").decode(ElectionInfo.self).state == .closed)
        }
    }
}
