import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
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
                 limits: RateLimits = .default) -> Router<BallotRequestContext> {
    let router = Router(context: BallotRequestContext.self)
    let metrics = ServerMetrics()
    let limiter = RateLimiter(limits)
    // One line per request with its request id (hb.request.id) at debug level: `serve --log-level debug`.
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: ErrorMiddleware(metrics: metrics))
    router.add(middleware: VoterRateLimitMiddleware(limiter: limiter))
    BallotAPI(store: store, committer: committer, rollSecret: rollSecret, tracker: StatusTracker(store: store),
              metrics: metrics, authenticator: RequestAuthenticator(store: store), limiter: limiter).register(on: router)
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
}

/// Builds the whole application (router plus the group-commit writer as a service).
func buildApplication(
    dataDirectory: DataDirectory, settings: ServerSettings, clock: Clock = .system,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let store = try ElectionStore.open(dataDirectory, clock: clock)
    let rollSecret = try dataDirectory.rollSecret()
    let committer = GroupCommitter(pool: store.pool, electionHash: store.electionHash, serverKey: store.serverKey,
                                   clock: clock, logger: settings.logger)
    let router = buildRouter(store: store, committer: committer, rollSecret: rollSecret, limits: settings.limits)
    let http1 = HTTP1Channel.Configuration(
        idleTimeout: .seconds(settings.idleTimeoutSeconds),
        httpDecoderConfiguration: .init(maxHeaderFieldSize: settings.maxHeaderBytes, maxHeaderListSize: settings.maxHeaderBytes,
                                        maxHeaderFieldCount: 100))
    var app = Application(
        router: router,
        server: .http1(configuration: http1),
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: "ballot-server"),
        onServerRunning: onServerRunning,
        logger: settings.logger)
    app.addServices(committer)
    return app
}
