import Foundation
import Logging
import Synchronization
import VotingCore

/// Batches concurrent log-changing operations into one write transaction with one durable
/// commit (group commit). Each operation runs in its own savepoint, so one failure does not
/// undo the others; callers are resumed only after the transaction has committed.
final class GroupCommitter: Sendable {
    typealias Operation = @Sendable (Batch) throws -> any Sendable

    private struct Job: Sendable {
        let operation: Operation
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private struct State {
        var pending: [Job] = []
        var wakeWriter: CheckedContinuation<Void, Never>?
        var stopped = false
    }

    private let storage: any ElectionStorage
    private let rules: ElectionRules
    private let clock: Clock
    private let maxBatch: Int
    private let logger: Logger
    private let state = Mutex(State())
    private let health = Mutex(StorageHealth())

    /// Whether the last batch could be stored: a disk that is full or read-only, or a database
    /// that is down, makes every commit fail (answered 503 `unavailable`); the next batch that
    /// commits clears it.
    struct StorageHealth: Sendable, Equatable {
        var failing = false
        /// Batches that could not be committed since the server started.
        var failedBatches = 0
    }

    var storageHealth: StorageHealth { health.withLock { $0 } }

    init(storage: any ElectionStorage, rules: ElectionRules, clock: Clock, maxBatch: Int = 512, logger: Logger) {
        self.storage = storage
        self.rules = rules
        self.clock = clock
        self.maxBatch = maxBatch
        self.logger = logger
    }

    /// Runs `operation` in the next batch; returns its value once the batch is durable.
    func submit<T: Sendable>(_ operation: @escaping @Sendable (Batch) throws -> T) async throws -> T {
        let value = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            let job = Job(operation: { batch in try operation(batch) }, continuation: continuation)
            let (wake, stopped) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Bool) in
                if s.stopped { return (nil, true) }
                s.pending.append(job)
                let w = s.wakeWriter
                s.wakeWriter = nil
                return (w, false)
            }
            if stopped {
                continuation.resume(throwing: RuleError.unavailable)
                return
            }
            wake?.resume()
        }
        guard let typed = value as? T else { throw RuleError.internalError }
        return typed
    }

    /// The writer loop; run it as a task for the server's lifetime.
    func runLoop() async {
        while let jobs = await nextBatch() {
            await commit(jobs)
        }
    }

    func stop() {
        let (wake, leftover) = state.withLock { s -> (CheckedContinuation<Void, Never>?, [Job]) in
            s.stopped = true
            let w = s.wakeWriter
            s.wakeWriter = nil
            let left = s.pending
            s.pending = []
            return (w, left)
        }
        wake?.resume()
        for job in leftover { job.continuation.resume(throwing: RuleError.unavailable) }
    }

    private func nextBatch() async -> [Job]? {
        while true {
            let taken = state.withLock { s -> [Job]? in
                if s.pending.isEmpty { return s.stopped ? nil : [] }
                let n = min(s.pending.count, maxBatch)
                let batch = Array(s.pending.prefix(n))
                s.pending.removeFirst(n)
                return batch
            }
            guard let taken else { return nil }
            if !taken.isEmpty { return taken }
            await withCheckedContinuation { (wake: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if !s.pending.isEmpty || s.stopped { return true }
                    s.wakeWriter = wake
                    return false
                }
                if resumeNow { wake.resume() }
            }
        }
    }

    private func commit(_ jobs: [Job]) async {
        let rules = self.rules
        let now = clock.now()
        do {
            let results = try await storage.write { tx -> [Result<any Sendable, any Error>] in
                let batch = try Batch(tx, electionHash: rules.electionHash, now: now)
                var results: [Result<any Sendable, any Error>] = []
                results.reserveCapacity(jobs.count)
                for job in jobs {
                    let mark = batch.mark
                    do {
                        let value = try tx.withSavepoint { try job.operation(batch) }
                        results.append(.success(value))
                    } catch {
                        batch.rewind(to: mark)
                        results.append(.failure(error))
                    }
                }
                try batch.flush()
                _ = try batch.log.seal(serverKey: rules.serverKey)
                return results
            }
            // The transaction has committed durably: only now may callers sign receipts.
            let recovered = health.withLock { h -> Bool in
                defer { h.failing = false }
                return h.failing
            }
            if recovered { logger.notice("storage is writable again; commits resumed") }
            for (job, result) in zip(jobs, results) { job.continuation.resume(with: result) }
        } catch {
            health.withLock {
                $0.failing = true
                $0.failedBatches += 1
            }
            logger.error("group commit of \(jobs.count) operation(s) failed, nothing of it was stored: \(error)")
            for job in jobs { job.continuation.resume(throwing: RuleError.unavailable) }
        }
    }
}
