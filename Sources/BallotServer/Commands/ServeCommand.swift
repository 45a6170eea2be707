import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import VotingCore

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the election's HTTP API.")

    @OptionGroup var dataOption: DataOption
    @Option(help: "Address to bind (loopback by default).")
    var host = "127.0.0.1"
    @Option(help: "Port to bind; 0 binds any free port and prints the one it got.")
    var port = 8080
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"
    @Option(name: .customLong("idle-timeout"), help: "Seconds after which an idle or stalled connection is closed.")
    var idleTimeout: Int64 = 30
    @Option(name: .customLong("max-header-bytes"), help: "Largest accepted request header section, in bytes.")
    var maxHeaderBytes = 16 * 1024
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body, in bytes (partial decryptions: --max-decryption-bytes).")
    var maxBodyBytes = RequestLimits.default.maxBodyBytes
    @Option(name: .customLong("max-decryption-bytes"), help: "Largest partial decryption body, in bytes (grows with districts and options).")
    var maxDecryptionBytes = RequestLimits.default.maxDecryptionBodyBytes
    @Option(name: .customLong("max-page"), help: "Most log entries one page of GET /v1/log/entries returns.")
    var maxPage = RequestLimits.default.maxPage
    @Option(name: .customLong("trusted-proxy"), help: "A reverse proxy's address (repeatable): from it, the per-address limits count the client named by X-Forwarded-For instead of the proxy.")
    var trustedProxies: [String] = []
    @Option(name: .customLong("rate-per-ip"), help: "Voter requests (enroll, cast, spoil) per second from one client address; 0: no limit.")
    var ratePerIP = RateLimits.default.perAddress
    @Option(name: .customLong("refusals-per-ip"), help: "Refused voter requests (wrong codes, invalid ballots) per minute from one address before it is slowed down; 0: no limit.")
    var refusalsPerIP = RateLimits.default.refusalsPerAddress
    @Option(name: .customLong("attempts-per-voter"), help: "Attempts per minute for one voter key or personal number; 0: no limit.")
    var attemptsPerVoter = RateLimits.default.perVoter
    @Option(name: .customLong("tls-cert"), help: "Serve HTTPS with this PEM certificate chain (with --tls-key); without it, plain HTTP (for loopback demos).")
    var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "The PEM private key of --tls-cert (mode 0600).")
    var tlsKey: String?
    @OptionGroup var output: OutputOptions

    struct Listening: Encodable {
        let host: String
        let port: Int
        let url: String
    }

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0 to 65535") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        guard (1...3600).contains(idleTimeout) else { throw ValidationError("--idle-timeout must be 1 to 3600 seconds") }
        guard (1024...1_048_576).contains(maxHeaderBytes) else { throw ValidationError("--max-header-bytes must be 1024 to 1048576") }
        guard (4096...16_777_216).contains(maxBodyBytes) else { throw ValidationError("--max-body-bytes must be 4096 to 16777216") }
        guard (4096...268_435_456).contains(maxDecryptionBytes) else { throw ValidationError("--max-decryption-bytes must be 4096 to 268435456") }
        guard (1...100_000).contains(maxPage) else { throw ValidationError("--max-page must be 1 to 100000") }
        for (name, value) in [("--rate-per-ip", ratePerIP), ("--refusals-per-ip", refusalsPerIP), ("--attempts-per-voter", attemptsPerVoter)] {
            guard value.isFinite, value >= 0, value <= 1_000_000 else { throw ValidationError("\(name) must be 0 (no limit) to 1000000") }
        }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            var logger = Logger(label: "ballot-server")
            logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
            var limits = RateLimits(perAddress: ratePerIP, refusalsPerAddress: refusalsPerIP, perVoter: attemptsPerVoter)
            limits.trustedProxies = Set(trustedProxies)
            let tls = tlsCert.flatMap { cert in tlsKey.map { TLSFiles(certificate: cert, key: $0) } }
            let settings = ServerSettings(host: host, port: port, logger: logger, idleTimeoutSeconds: idleTimeout,
                                          maxHeaderBytes: maxHeaderBytes, limits: limits,
                                          requestLimits: RequestLimits(maxBodyBytes: maxBodyBytes, maxDecryptionBodyBytes: maxDecryptionBytes,
                                                                       maxPage: maxPage),
                                          tls: tls)
            let host = self.host
            let app = try await buildApplication(dataDirectory: dataOption.directory, database: try dataOption.location(), settings: settings) { channel in
                let bound = channel.localAddress?.port ?? 0
                let url = "\(tls == nil ? "http" : "https")://\(host):\(bound)"
                reporter.emit(Listening(host: host, port: bound, url: url)) { "ballot-server listening on \(url)" }
            }
            do {
                try await app.runService()
            } catch where "\(error)".contains("Address already in use") {
                throw CommandError("address-in-use", "\(host):\(port) is already in use; stop the other server or choose another --port (0 picks a free one)")
            }
        }
    }
}
