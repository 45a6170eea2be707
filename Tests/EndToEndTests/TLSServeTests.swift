import AsyncHTTPClient
import Foundation
import Testing
@testable import BallotServer
import VoterKit
import VotingCore

/// `serve --tls-cert --tls-key` with a certificate from `ballot-server tls-cert`: the real
/// binaries speak HTTPS when told to trust it (`--ca-file`), and refuse otherwise.
@Suite("HTTPS", .serialized)
struct TLSServeTests {
    @Test("a whole voter journey over HTTPS; untrusted or plain-HTTP clients get nothing; a readable key file is refused")
    func httpsJourney() async throws {
        let work = try Tools.temporaryDirectory("e2e-tls")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let cert = work + "/server.crt"
        let key = work + "/server.key"
        let made = try Tools.run(Tools.ballotServer, ["tls-cert", "--name", "127.0.0.1", "--name", "localhost",
                                                      "--cert-out", cert, "--key-out", key, "--json"])
        #expect(made.status == 0, "\(made.stdout)\(made.stderr)")
        #expect(try made.json()["sha256_fingerprint"] as? String != nil)
        let keyMode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let again = try Tools.run(Tools.ballotServer, ["tls-cert", "--name", "127.0.0.1", "--cert-out", cert, "--key-out", work + "/other.key", "--json"])
        #expect(again.status == 2)
        #expect((try again.json()["error"] as? [String: Any])?["code"] as? String == "file-exists")
        #expect(!FileManager.default.fileExists(atPath: work + "/other.key"), "nothing is written when a file exists")
        let badName = try Tools.run(Tools.ballotServer, ["tls-cert", "--name", "bad name!", "--cert-out", work + "/x.crt", "--key-out", work + "/x.key"])
        #expect(badName.status != 0)

        let dir = DataDirectory(path: work + "/election")
        let example = try ExampleElection.manifest()
        let manifest = ElectionManifest(electionId: "tls-e2e", name: "HTTPS test", districts: Array(example.districts.prefix(1)),
                                        trustees: TrusteePolicy(count: 3, quorum: 2))
        let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: manifest)
        let codes = try await store.importRoll(ExampleElection.roll(voters: 2, districts: 1), rollSecret: try dir.rollSecret(), commissionKey: try dir.commissionKey()).codes
        let trustees = try await LocalTrustees.register(in: store, commissionKey: try dir.commissionKey())

        // A key file others can read is refused before the server listens.
        let loose = work + "/loose.key"
        try FileManager.default.copyItem(atPath: key, toPath: loose)
        chmod(loose, 0o644)
        let refused = try Tools.run(Tools.ballotServer, ["serve", "--data", dir.url.path, "--port", "0", "--json",
                                                         "--tls-cert", cert, "--tls-key", loose], timeout: 30)
        #expect(refused.status == 2)
        #expect((try refused.json()["error"] as? [String: Any])?["code"] as? String == "key-file-permissions", "\(refused.stdout)")

        let server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path,
                                       extraArguments: ["--tls-cert", cert, "--tls-key", key])
        defer { server.stop(signal: SIGKILL) }
        #expect(server.url.hasPrefix("https://"))

        try await trustees.runCeremony(client: try BallotServerClient(baseURL: server.url, caFile: cert))
        let opened = try Tools.run(Tools.ballotServer, ["open", "--server", server.url, "--commission-key", dir.commissionKeyPath,
                                                        "--ca-file", cert, "--json"])
        #expect(try opened.json()["state"] as? String == "open", "\(opened.stdout)\(opened.stderr)")

        // Without trusting the certificate the voter's client refuses the connection (a client that
        // does not retry connection establishment, so the refusal shows at once).
        var strictConfig = HTTPClient.Configuration()
        strictConfig.connectionPool.retryConnectionEstablishment = false
        let strict = HTTPClient(eventLoopGroupProvider: .singleton, configuration: strictConfig)
        let untrusted: VoterError? = await {
            do { _ = try await BallotServerClient(baseURL: server.url, http: strict, attempts: 1).election(); return nil } catch {
                return error as? VoterError
            }
        }()
        try await strict.shutdown()
        // The refusal is named as a trust problem, with what to pass (c20e12f), not as "unreachable".
        #expect(untrusted?.code == "tls-untrusted" && untrusted?.message.contains("--ca-file") == true, "\(String(describing: untrusted))")
        // Plain HTTP to the HTTPS port gets no answer; the client says to use https.
        let plain = try Tools.run(Tools.voter, ["results", "--server", "http://127.0.0.1:\(server.port)", "--json"])
        #expect(plain.status == 2)
        #expect((try plain.json()["error"] as? [String: Any])?["code"] as? String == "https-only", "\(plain.stdout)")

        let enrolled = try Tools.run(Tools.voter, ["enroll", "--server", server.url, "--ca-file", cert, "--personal-number", codes[0].personalNumber,
                                                   "--code", codes[0].code, "--wallet", work + "/w0.json", "--json"])
        #expect(enrolled.status == 0, "\(enrolled.stdout)\(enrolled.stderr)")
        let cast = try Tools.run(Tools.voter, ["cast", "--server", server.url, "--ca-file", cert, "--wallet", work + "/w0.json",
                                               "--choice", "against-all", "--receipt-out", work + "/r0.json", "--json"])
        #expect(cast.status == 0, "\(cast.stdout)\(cast.stderr)")
        let verified = try Tools.run(Tools.voter, ["verify", "--server", server.url, "--ca-file", cert, "--receipt", work + "/r0.json", "--json"])
        #expect(try verified.json()["verdict"] as? String == "recorded-as-cast", "\(verified.stdout)\(verified.stderr)")
        let audit = try Tools.run(Tools.voter, ["audit", "--server", server.url, "--ca-file", cert, "--json"])
        #expect(audit.status == 0, "\(audit.stdout.suffix(1500))\(audit.stderr)")
    }
}
