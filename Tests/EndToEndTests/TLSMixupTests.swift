import Foundation
import Testing
@testable import BallotServer

/// HTTPS mistakes a person makes, answered at once with what to do (not after 30 s of
/// retries): a test certificate without --ca-file, https:// to a plain server, http:// to a
/// TLS server.
@Suite("TLS mix-ups", .serialized)
struct TLSMixupTests {
    @Test("untrusted certificate, https to http, http to https: named at once, exit 2")
    func mixups() throws {
        let work = try Tools.temporaryDirectory("e2e-tls-mixup")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let data = work + "/election"
        #expect(try Tools.run(Tools.ballotServer, ["init", "--data", data, "--json"]).status == 0)
        let cert = try Tools.run(Tools.ballotServer, ["tls-cert", "--name", "127.0.0.1", "--cert-out", work + "/tls.crt",
                                                      "--key-out", work + "/tls.key", "--json"])
        #expect(cert.status == 0, "\(cert.stderr)")
        let tls = try ServerProcess(executable: Tools.ballotServer, dataDirectory: data,
                                    extraArguments: ["--tls-cert", work + "/tls.crt", "--tls-key", work + "/tls.key"])
        defer { tls.stop(signal: SIGKILL) }
        let plain = try ServerProcess(executable: Tools.ballotServer, dataDirectory: data)
        defer { plain.stop(signal: SIGKILL) }
        #expect(tls.scheme == "https")

        let cases: [(server: String, extra: [String], code: String, hint: String)] = [
            ("https://127.0.0.1:\(tls.port)", [], "tls-untrusted", "--ca-file"),
            ("https://127.0.0.1:\(plain.port)", [], "not-https", "http://127.0.0.1:\(plain.port)"),
            ("http://127.0.0.1:\(tls.port)", [], "https-only", "https://127.0.0.1:\(tls.port)"),
        ]
        for c in cases {
            // The watchdog (15 s) kills a command that waits out retries; that fails the status check.
            let outcome = try Tools.run(Tools.voter, ["results", "--server", c.server, "--json"] + c.extra, timeout: 15)
            #expect(outcome.status == 2, "\(c.server): \(outcome.stdout)\(outcome.stderr)")
            let error = (try? outcome.json())?["error"] as? [String: Any]
            #expect(error?["code"] as? String == c.code, "\(c.server): \(outcome.stdout)")
            let message = error?["message"] as? String ?? ""
            #expect(message.contains(c.hint), "\(c.server): \(message)")
            #expect(!message.contains(".build/"), "no build paths in messages: \(message)")
        }
        // With the certificate it works.
        let trusted = try Tools.run(Tools.voter, ["results", "--server", "https://127.0.0.1:\(tls.port)", "--ca-file", work + "/tls.crt", "--json"])
        let code = (try? trusted.json())?["error"] as? [String: Any]
        #expect(code?["code"] as? String != "tls-untrusted", "\(trusted.stdout)")
    }
}
