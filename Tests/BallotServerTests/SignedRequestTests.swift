import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

/// Commission and trustee actions over HTTP need a signature by the right key over the
/// election, method, path, body, a fresh nonce and an expiry (docs/protocol.md §15).
/// Each refusal leaves the database unchanged.
@Suite("Signed commission and trustee requests")
struct SignedRequestTests {
    func windowBody(_ e: TestElection, _ action: WindowChange.Action, issuedAt: Timestamp? = nil,
                    key: Ed25519PrivateKey? = nil) throws -> Data {
        let order = try WindowChange.sign(electionHash: e.store.electionHash, action: action, issuedAt: issuedAt ?? e.clock.now(),
                                          commissionKey: try key ?? e.dir.commissionKey())
        return try JSONEncoder().encode(WindowOrderBody(order))
    }

    @Test("opening over HTTP: unsigned, wrongly signed, wrong signer, expired, too long, altered and replayed requests are refused")
    func commissionWindowRefusals() async throws {
        let e = try await TestElection(stage: .keyed)
        defer { e.remove() }
        let hash = e.store.electionHash
        let commission = try e.dir.commissionKey()
        let now = e.clock.now()
        let body = try windowBody(e, .open)
        try await e.withRouter { client in
            let before = try await e.snapshot()
            let noncesBefore = try await e.nonceCount()
            let route = "/v1/commission/window"
            expectError(try await client.postJSON(route, body), .unauthorized, "signature-required")
            // Signed by a key that is not the commission's.
            expectError(try await client.postSigned(route, body, as: .commission, key: try Ed25519PrivateKey(), electionHash: hash, now: now),
                        .forbidden, "bad-request-signature")
            // A trustee's valid signature does not make it the commission.
            let trustee = e.trustees[0]
            expectError(try await client.postSigned(route, body, as: .trustee(trustee.index), key: trustee.signingKey, electionHash: hash, now: now),
                        .forbidden, "wrong-signer")
            // Signed for another election.
            expectError(try await client.postSigned(route, body, as: .commission, key: commission,
                                                    electionHash: try TestElection.otherElectionHash(), now: now),
                        .forbidden, "bad-request-signature")
            // Signed for another route.
            let misrouted = try await client.postSigned("/v1/commission/trustees", body, as: .commission, key: commission, electionHash: hash, now: now) { _ in }
            #expect(misrouted.status != .created)
            let moved = try RequestAuthorization.sign(electionHash: hash, method: "POST", path: "/v1/commission/trustees", body: [UInt8](body),
                                                      signer: .commission, key: commission, now: now)
            expectError(try await client.postSigned(route, body, as: .commission, key: commission, electionHash: hash, now: now) { values in
                values = moved.headerValues
            }, .forbidden, "bad-request-signature")
            // The body changed after signing.
            let closeBody = try windowBody(e, .close)
            let signedOpen = try RequestAuthorization.sign(electionHash: hash, method: "POST", path: route, body: [UInt8](body),
                                                           signer: .commission, key: commission, now: now)
            expectError(try await client.postSigned(route, closeBody, as: .commission, key: commission, electionHash: hash, now: now) { values in
                values = signedOpen.headerValues
            }, .forbidden, "bad-request-signature")
            // Expired: signed ten minutes ago for two minutes.
            expectError(try await client.postSigned(route, body, as: .commission, key: commission, electionHash: hash, now: now - 600_000),
                        .unauthorized, "request-expired")
            // Valid for an hour: more than the server's five-minute limit.
            expectError(try await client.postSigned(route, body, as: .commission, key: commission, electionHash: hash, now: now, lifetime: 3_600_000),
                        .badRequest, "expiry-too-far")
            // Malformed headers: a short nonce, a missing signature, a repeated signer.
            expectError(try await client.postSigned(route, body, as: .commission, key: commission, electionHash: hash, now: now) { values in
                values[1].value = "00ff"
            }, .badRequest, "malformed")
            expectError(try await client.postSigned(route, body, as: .commission, key: commission, electionHash: hash, now: now) { values in
                values.removeLast()
            }, .badRequest, "malformed")
            expectError(try await client.postSigned(route, body, as: .commission, key: commission, electionHash: hash, now: now) { values in
                values.append((name: RequestAuthorization.Header.signer, value: "commission"))
            }, .badRequest, "malformed")
            // An order signed by another key inside a valid commission request.
            let forgedOrder = try windowBody(e, .open, key: try Ed25519PrivateKey())
            expectError(try await client.postSigned(route, forgedOrder, as: .commission, key: commission, electionHash: hash, now: now),
                        .forbidden, "bad-order-signature")
            // An order issued an hour ago.
            let stale = try windowBody(e, .open, issuedAt: now - 3_600_000)
            expectError(try await client.postSigned(route, stale, as: .commission, key: commission, electionHash: hash, now: now),
                        .badRequest, "invalid-order-time")
            #expect(try await e.snapshot() == before)
            #expect(try await e.nonceCount() == noncesBefore, "no refused request used up a nonce")

            // The real request, then the same bytes again.
            let auth = try RequestAuthorization.sign(electionHash: hash, method: "POST", path: route, body: [UInt8](body),
                                                     signer: .commission, key: commission, now: now)
            let opened = try await client.postSigned(route, body, as: .commission, key: commission, electionHash: hash, now: now) { values in
                values = auth.headerValues
            }
            #expect(opened.status == .created, "\(opened.text)")
            let answer = try opened.decode(WindowResponse.self)
            #expect(answer.state == .open)
            #expect(try await e.store.currentState() == .open)
            let afterOpen = try await e.snapshot()
            let replay = try await client.postSigned(route, body, as: .commission, key: commission, electionHash: hash, now: now) { values in
                values = auth.headerValues
            }
            expectError(replay, .conflict, "replayed-request")
            #expect(try await e.snapshot() == afterOpen)
            // A fresh signature on the same order reaches the rules: the election is already open.
            expectError(try await client.postSigned(route, body, as: .commission, key: commission, electionHash: hash, now: now),
                        .conflict, "invalid-state")

            // Closing over HTTP publishes the aggregate in the same transaction.
            let closed = try await client.postSigned(route, try windowBody(e, .close), as: .commission, key: commission, electionHash: hash, now: now)
            #expect(closed.status == .created, "\(closed.text)")
            #expect(try await e.tallyInfo(client).aggregate != nil)
        }
    }

    @Test("a refused action does not use up its nonce; an accepted one is kept until it expires")
    func nonceLifecycle() async throws {
        let e = try await TestElection(stage: .registered)
        defer { e.remove() }
        let hash = e.store.electionHash
        let commission = try e.dir.commissionKey()
        let now = e.clock.now()
        let route = "/v1/commission/window"
        let body = try windowBody(e, .open)
        let auth = try RequestAuthorization.sign(electionHash: hash, method: "POST", path: route, body: [UInt8](body),
                                                 signer: .commission, key: commission, now: now)
        try await e.withRouter { client in
            for _ in 0..<2 {
                // Before the ceremony the rules refuse opening; the same request is judged again, not called a replay.
                expectError(try await client.postSigned(route, body, as: .commission, key: commission, electionHash: hash, now: now) { values in
                    values = auth.headerValues
                }, .conflict, "ceremony-incomplete")
            }
            #expect(try await e.nonceCount() == 0)
        }
        // Accepted nonces are stored, and forgotten once expired (a later request prunes them).
        let registration = try TestTrustee(index: 1).registration
        try await e.pool.write { db in
            try db.execute(sql: "INSERT INTO request_nonces (nonce, expires_at) VALUES (?, ?)", arguments: [Data(repeating: 7, count: 16), Int64(now - 1)])
        }
        try await e.withRouter { client in
            let response = try await e.postCommission(client, "/v1/commission/trustees", try e.appointmentBody(registration))
            // Trustee 1 is already registered with other keys.
            expectError(response, .conflict, "trustee-exists")
            let same = try await e.postCommission(client, "/v1/commission/trustees", try e.appointmentBody(e.trustees[0].registration))
            #expect(same.status == .ok, "an identical registration is accepted again: \(same.text)")
        }
        #expect(try await e.nonceCount() == 1, "the expired nonce was pruned, the accepted one kept")
    }

    @Test("trustees are appointed over HTTP: a commission-signed request carrying the trustee's self-signed registration and the appointment signature")
    func trusteeAppointmentOverHTTP() async throws {
        let e = try await TestElection(stage: .created)
        defer { e.remove() }
        try await e.withRouter { client in
            let route = "/v1/commission/trustees"
            let first = try e.appointmentBody(e.trustees[0].registration)
            expectError(try await client.postJSON(route, first), .unauthorized, "signature-required")
            let t = e.trustees[1]
            expectError(try await client.postSigned(route, first, as: .trustee(t.index), key: t.signingKey,
                                                    electionHash: e.store.electionHash, now: e.clock.now()), .forbidden, "wrong-signer")
            let before = try await e.snapshot()
            // A valid commission request whose appointment is signed by another key.
            expectError(try await e.postCommission(client, route, try e.appointmentBody(e.trustees[0].registration, appointedBy: try Ed25519PrivateKey())),
                        .forbidden, "bad-order-signature")
            // The trustee's own signature no longer matches: the server cannot rename a trustee.
            var renamed = try #require(try JSONSerialization.jsonObject(with: first) as? [String: Any])
            var inner = try #require(renamed["registration"] as? [String: Any])
            inner["name"] = "Mallory"
            renamed["registration"] = inner
            expectError(try await e.postCommission(client, route, try JSONSerialization.data(withJSONObject: renamed)), .badRequest, "invalid-trustee")
            // A bare v1 registration (no appointment wrapper) is malformed.
            expectError(try await e.postCommission(client, route, try JSONEncoder().encode(e.trustees[0].registration)), .badRequest, "malformed")
            #expect(try await e.snapshot() == before)
            for trustee in e.trustees {
                let response = try await e.postCommission(client, route, try e.appointmentBody(trustee.registration))
                #expect(response.status == .created, "\(response.text)")
            }
            #expect(try await e.trusteesInfo(client).trustees == e.trustees.map(\.registration))
            var invalid = try #require(try JSONSerialization.jsonObject(with: first) as? [String: Any])
            var registration = try #require(invalid["registration"] as? [String: Any])
            registration["index"] = 9
            invalid["registration"] = registration
            expectError(try await e.postCommission(client, route, try JSONSerialization.data(withJSONObject: invalid)),
                        .badRequest, "invalid-trustee")
        }
    }

    @Test("trustee publications: unsigned, signed by another trustee, expired and replayed are refused")
    func trusteePublicationRefusals() async throws {
        let e = try await TestElection(stage: .registered)
        defer { e.remove() }
        let hash = e.store.electionHash
        let now = e.clock.now()
        try await e.withRouter { client in
            let info = try await e.trusteesInfo(client)
            let dealer = e.trustees[0]
            let other = e.trustees[1]
            let body = try JSONEncoder().encode(try dealer.deal(electionHash: hash, quorum: info.policy.quorum, trustees: info.trustees))
            let route = "/v1/trustees/dealings"
            let before = try await e.snapshot()
            expectError(try await client.postJSON(route, body), .unauthorized, "signature-required")
            expectError(try await client.postSigned(route, body, as: .trustee(other.index), key: other.signingKey, electionHash: hash, now: now),
                        .forbidden, "wrong-signer")
            expectError(try await client.postSigned(route, body, as: .trustee(dealer.index), key: other.signingKey, electionHash: hash, now: now),
                        .forbidden, "bad-request-signature")
            expectError(try await client.postSigned(route, body, as: .commission, key: try e.dir.commissionKey(), electionHash: hash, now: now),
                        .forbidden, "wrong-signer")
            expectError(try await client.postSigned(route, body, as: .trustee(9), key: dealer.signingKey, electionHash: hash, now: now),
                        .forbidden, "not-a-trustee")
            expectError(try await client.postSigned(route, body, as: .trustee(dealer.index), key: dealer.signingKey, electionHash: hash,
                                                    now: now - 200_000), .unauthorized, "request-expired")
            #expect(try await e.snapshot() == before)
            #expect(try await e.nonceCount() == 0)

            let auth = try RequestAuthorization.sign(electionHash: hash, method: "POST", path: route, body: [UInt8](body),
                                                     signer: .trustee(dealer.index), key: dealer.signingKey, now: now)
            let send = { try await client.postSigned(route, body, as: .trustee(dealer.index), key: dealer.signingKey, electionHash: hash, now: now) { $0 = auth.headerValues } }
            #expect(try await send().status == .created)
            expectError(try await send(), .conflict, "replayed-request")
            // Re-running the command (a fresh signature) republishes the identical bytes: accepted, not duplicated.
            #expect(try await e.postDealing(client, try dealer.deal(electionHash: hash, quorum: info.policy.quorum, trustees: info.trustees)).status == .ok)
        }
    }
}

extension TestElection {
    func nonceCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM request_nonces") ?? 0 }
    }
}

@Suite("Commission command target")
struct CommissionTargetTests {
    @Test("--data without its commission.key names the remote way; --server needs --commission-key")
    func options() async throws {
        let e = try await TemporaryElectionDirectory()
        defer { e.remove() }
        try FileManager.default.removeItem(atPath: e.dir.commissionKeyPath)
        let local = try CommissionTarget.parse(["--data", e.dir.url.path])
        let error = try #require(throws: CommandError.self) { try local.key() }
        #expect(error.code == "missing-commission-key")
        #expect(throws: (any Error).self) { try CommissionTarget.parse(["--server", "http://127.0.0.1:1"]) }
        #expect(throws: (any Error).self) { try CommissionTarget.parse(["--data", "x", "--server", "http://127.0.0.1:1", "--commission-key", "k"]) }
        #expect(throws: (any Error).self) { try CommissionTarget.parse([]) }
    }
}

/// A data directory with an election in it (no server, no roll).
struct TemporaryElectionDirectory {
    let dir: DataDirectory
    init() async throws {
        dir = DataDirectory(path: FileManager.default.temporaryDirectory.appendingPathComponent("commission-target-\(UUID().uuidString)").path)
        _ = try await ElectionStore.create(in: dir, database: .sqlite, manifest: TestElection.manifest())
    }
    func remove() { try? FileManager.default.removeItem(at: dir.url) }
}
