import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import VotingCore

/// `ballot-server tls-cert`: a self-signed certificate and key for `serve --tls-cert/--tls-key`.
struct TLSCertCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tls-cert",
        abstract: "Make a self-signed TLS certificate (P-256, SHA-256) and its key for `serve --tls-cert/--tls-key` in a test election; clients trust it with --ca-file.")

    @Option(name: .customLong("name"), help: "A host name or IP address clients use to reach the server (repeat for more; the first is the subject).")
    var names: [String] = []
    @Option(name: .customLong("cert-out"), help: "Certificate file to create (PEM, 0644; never overwritten).")
    var certOut: String
    @Option(name: .customLong("key-out"), help: "Private key file to create (PEM, 0600; never overwritten).")
    var keyOut: String
    @Option(help: "Days the certificate stays valid (1 to 3650).")
    var days = 30
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let certFile: String
        let keyFile: String
        let names: [String]
        let notAfter: String
        let sha256Fingerprint: Digest
        enum CodingKeys: String, CodingKey {
            case certFile = "cert_file", keyFile = "key_file", names, notAfter = "not_after", sha256Fingerprint = "sha256_fingerprint"
        }
    }

    func validate() throws {
        guard !names.isEmpty else { throw ValidationError("give at least one --name, e.g. --name 127.0.0.1 --name localhost") }
        for name in names where !SelfSignedCertificate.isValidName(name) {
            throw ValidationError("--name \(name) is neither an IP address nor a host name")
        }
        guard (1...3650).contains(days) else { throw ValidationError("--days must be 1 to 3650") }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            for path in [certOut, keyOut] where FileManager.default.fileExists(atPath: path) {
                throw CommandError("file-exists", "\(path) already exists; choose a new path (certificates and keys are never overwritten)")
            }
            let made: SelfSignedCertificate
            do { made = try SelfSignedCertificate.make(names: names, days: days) } catch {
                throw CommandError("tls-cert-failed", "libcrypto could not make the certificate (\(error)); check the --name values")
            }
            try SecretFile.write(keyOut, Array(made.privateKeyPEM.utf8))
            do {
                try SecretFile.write(certOut, Array(made.certificatePEM.utf8))
                guard chmod(certOut, 0o644) == 0 else { throw CommandError("io-error", "cannot make \(certOut) readable (chmod 644)") }
            } catch {
                try? FileManager.default.removeItem(atPath: keyOut)
                throw error
            }
            let notAfter = ISO8601DateFormatter().string(from: made.notAfter)
            reporter.emit(Result(certFile: certOut, keyFile: keyOut, names: names, notAfter: notAfter, sha256Fingerprint: made.fingerprint)) {
                """
                Certificate \(certOut) (names \(names.joined(separator: ", ")), valid until \(notAfter))
                  SHA-256 fingerprint \(made.fingerprint.hex)
                Key \(keyOut) (mode 0600).
                Serve with: ballot-server serve --data DIR --tls-cert \(certOut) --tls-key \(keyOut)
                Clients: --server https://\(names[0]):PORT --ca-file \(certOut)  (tell voters the fingerprint to compare)
                """
            }
        }
    }
}
