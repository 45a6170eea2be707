import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import VotingCore

extension GroupCommitter: Service {
    /// Ends on graceful shutdown and on cancellation (ServiceGroup cancels every service when
    /// one fails, e.g. when the port cannot be bound): both stop the writer and refuse new work.
    func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await self.runLoop()
            } onGracefulShutdown: {
                self.stop()
            }
        } onCancel: {
            self.stop()
        }
    }
}

/// Builds the router for a store; tests call this directly.
func buildRouter(store: ElectionStore, committer: GroupCommitter, rollSecret: [UInt8],
                 limits: RateLimits = .default, requestLimits: RequestLimits = .default,
                 limiterClock: Clock? = nil) -> Router<BallotRequestContext> {
    let router = Router(context: BallotRequestContext.self)
    let metrics = ServerMetrics()
    let limiter = RateLimiter(limits, clock: limiterClock)
    // One line per request with its request id (hb.request.id) at debug level: `serve --log-level debug`.
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: ErrorMiddleware(metrics: metrics))
    router.add(middleware: VoterRateLimitMiddleware(limiter: limiter, limits: limits))
    BallotAPI(store: store, committer: committer, rollSecret: rollSecret, tracker: StatusTracker(store: store),
              metrics: metrics, authenticator: RequestAuthenticator(store: store), limiter: limiter,
              requestLimits: requestLimits, proofs: ProofBatcher(workers: ProcessInfo.processInfo.activeProcessorCount,
                                                  observe: { [histogram = metrics.proofBatchSizes] in histogram.record(Double($0)) })).register(on: router)
    return router
}

struct ServerSettings: Sendable {
    var host = "127.0.0.1"
    var port = 8080
    var logger = Logger(label: "ballot-server")
    /// A connection idle this long (no bytes of a request arriving) is closed: a slow client cannot hold the server.
    var idleTimeoutSeconds: Int64 = 30
    /// Limit on a request's header section, in bytes.
    var maxHeaderBytes = 16 * 1024
    /// Limits on the voters' routes.
    var limits = RateLimits.default
    /// Body sizes and the log page cap.
    var requestLimits = RequestLimits.default
    /// Serve HTTPS with this certificate chain and key (PEM files); nil serves plain HTTP.
    var tls: TLSFiles?
}

/// `serve --tls-cert FILE --tls-key FILE`.
struct TLSFiles: Sendable {
    let certificate: String
    let key: String

    /// The server's TLS configuration (TLS 1.2 or later), or a refusal that names the file.
    func configuration() throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
            throw CommandError("tls-certificate-invalid", "cannot read a PEM certificate chain from \(certificate) (\(error)); make one with `ballot-server tls-cert` or use your CA's")
        }
        guard !chain.isEmpty else {
            throw CommandError("tls-certificate-invalid", "\(certificate) holds no PEM certificate; make one with `ballot-server tls-cert` or use your CA's")
        }
        // The key is as secret as server.key: refuse it if others can read it.
        _ = try SecretFile.read(key)
        let privateKey: NIOSSLPrivateKey
        do { privateKey = try NIOSSLPrivateKey(file: key, format: .pem) } catch {
            throw CommandError("tls-key-invalid", "cannot read a PEM private key from \(key) (\(error)); pass the key that belongs to --tls-cert")
        }
        var config = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        config.minimumTLSVersion = .tlsv12
        return config
    }
}

/// Builds the whole application (router plus the group-commit writer as a service).
func buildApplication(
    dataDirectory: DataDirectory, database: DatabaseLocation = .sqlite, settings: ServerSettings, clock: Clock = .system,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let store = try await ElectionStore.open(dataDirectory, database: database, clock: clock)
    // The log tree's upper levels in memory before the first proof (≈3 MB at a million entries).
    try await store.warmNodeCache()
    let rollSecret = try dataDirectory.rollSecret()
    let committer = GroupCommitter(storage: store.storage, rules: store.rules, clock: clock, logger: settings.logger)
    let router = buildRouter(store: store, committer: committer, rollSecret: rollSecret, limits: settings.limits,
                             requestLimits: settings.requestLimits)
    let maxHeaderBytes = settings.maxHeaderBytes
    let http1 = HTTP1Channel.Configuration(
        // One per connection: HTTP-layer errors get the API's JSON body; unread bodies end the connection.
        additionalChannelHandlers: [HTTPErrorResponder(maxHeaderBytes: maxHeaderBytes)],
        idleTimeout: .seconds(settings.idleTimeoutSeconds),
        httpDecoderConfiguration: .init(maxHeaderFieldSize: settings.maxHeaderBytes, maxHeaderListSize: settings.maxHeaderBytes,
                                        maxHeaderFieldCount: 100))
    let server: HTTPServerBuilder = if let tls = settings.tls {
        try .tls(.http1(configuration: http1), tlsConfiguration: try tls.configuration())
    } else {
        .http1(configuration: http1)
    }
    var app = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "ballot-server"),
        onServerRunning: onServerRunning,
        logger: settings.logger)
    app.addServices(committer)
    return app
}
