import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VotingCore
@testable import BallotServer

/// The group committer runs as a ServiceLifecycle service next to the HTTP server.
@Suite("Group committer as a service")
struct GroupCommitterServiceTests {
    static func committer(_ e: TestElection) -> GroupCommitter {
        TestElection.committer(store: e.store, clock: testClock)
    }

    /// Graceful shutdown (what SIGTERM triggers) stops the writer: once the application has
    /// shut down, new work is refused with `unavailable` instead of waiting forever.
    @Test func gracefulShutdownStopsTheWriter() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        let committer = Self.committer(e)
        var app = Application(router: buildRouter(store: e.store, committer: committer, rollSecret: e.rollSecret))
        app.addServices(committer)
        try await app.test(.router) { client in
            let response = try await e.enroll(client, voter: 0, key: try Ed25519PrivateKey())
            #expect(response.status == .created)
        }
        let before = try await e.snapshot()
        let attempt = try await e.enrollmentAttempt(voter: 1, key: try Ed25519PrivateKey())
        let rules = e.store.rules
        let error = await #expect(throws: RuleError.self) {
            try await committer.submit { batch in try rules.enroll(batch, attempt) }
        }
        #expect(error?.code == "unavailable")
        #expect(try await e.snapshot() == before)
    }

    /// ServiceGroup tears the other services down by cancelling their tasks when one of them
    /// fails (for example when the HTTP server cannot bind its port), and ServiceLifecycle
    /// requires every service's `run()` to end on cancellation. After the task running
    /// `GroupCommitter.run()` is cancelled the writer loop must stop: it must not take
    /// another batch (the committer reads the injected clock once per batch, so a clock
    /// reading after the cancellation shows the loop is still running), and `run()` returns.
    @Test func cancellingTheServiceTaskStopsTheWriter() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        let readings = ReadingCounter()
        var logger = Logger(label: "ballot-server-tests")
        logger.logLevel = .critical
        let committer = GroupCommitter(storage: e.store.storage, rules: e.store.rules,
                                       clock: Clock { 1_767_225_600_000 + readings.next() }, logger: logger)
        let runner = Task { try await committer.run() }
        // The loop is running: work submitted now is committed.
        #expect(try await committer.submit { _ in 1 } == 1)
        let readingsBeforeCancel = readings.count

        runner.cancel()
        var committedAfterCancel = false
        do {
            _ = try await committer.submit { _ in 2 }
            committedAfterCancel = true
        } catch let error as RuleError {
            #expect(error.code == "unavailable")
        }
        let loopRanAfterCancel = committedAfterCancel || readings.count > readingsBeforeCancel
        #expect(!loopRanAfterCancel, """
            GroupCommitter.run() ignores task cancellation: after its task was cancelled the writer loop \
            took another batch (committed: \(committedAfterCancel)) and keeps running, so run() never returns
            """)
        if loopRanAfterCancel {
            // Unblock the loop so this test can end; in the server nothing does this.
            committer.stop()
        }
        try await runner.value
    }
}
