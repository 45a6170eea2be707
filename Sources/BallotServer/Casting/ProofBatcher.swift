import Synchronization
import VotingCore

/// Checks the proofs of ballots that arrive together as one batch (docs/protocol.md eq. 49):
/// every equation of every waiting ballot is weighted and folded into one multi-scalar
/// multiplication, which costs a fraction per ballot of checking each alone. A ballot waits at
/// most `window` for others to join; a full batch is checked at once. When a batch fails, its
/// ballots are checked one by one, so only the bad ones are refused, each with its reason.
final class ProofBatcher: Sendable {
    struct Item: Sendable {
        let content: BallotContent
        let district: District
        let context: ProofContext
        let continuation: CheckedContinuation<BallotProblem?, Never>
    }

    private struct State {
        var pending: [Item] = []
        var scheduled = false
    }

    private let state = Mutex(State())
    private let window: Duration
    private let maxBatch: Int
    private let workers: Int

    /// - Parameters:
    ///   - window: how long the first ballot of a batch waits for others (the added latency bound).
    ///   - maxBatch: ballots checked in one batch at most; a full batch does not wait.
    ///   - workers: batches checked in parallel when more than one is ready (the machine's cores).
    init(window: Duration = .milliseconds(2), maxBatch: Int = 128, workers: Int = 2) {
        self.window = window
        self.maxBatch = max(1, maxBatch)
        self.workers = max(1, workers)
    }

    /// The ballot's problem (wrong shape or a proof that fails), or nil when every proof holds.
    func problem(of content: BallotContent, in district: District, context: ProofContext) async -> BallotProblem? {
        if let shape = content.shapeProblem(in: district) { return shape }
        return await withCheckedContinuation { continuation in
            let item = Item(content: content, district: district, context: context, continuation: continuation)
            let action = state.withLock { s -> Action in
                s.pending.append(item)
                if s.pending.count >= maxBatch * workers {
                    let taken = s.pending
                    s.pending = []
                    return .checkNow(taken)
                }
                if s.scheduled { return .nothing }
                s.scheduled = true
                return .schedule
            }
            switch action {
            case .nothing: break
            case .checkNow(let items): Task { await self.check(items) }
            case .schedule:
                Task {
                    try? await Task.sleep(for: self.window)
                    let items = self.state.withLock { s -> [Item] in
                        s.scheduled = false
                        let taken = s.pending
                        s.pending = []
                        return taken
                    }
                    await self.check(items)
                }
            }
        }
    }

    private enum Action {
        case nothing
        case schedule
        case checkNow([Item])
    }

    /// Splits `items` into up to `workers` batches checked in parallel.
    private func check(_ items: [Item]) async {
        guard !items.isEmpty else { return }
        let parts = min(workers, (items.count + maxBatch - 1) / maxBatch)
        if parts <= 1 {
            Self.checkBatch(items)
            return
        }
        await withTaskGroup(of: Void.self) { group in
            for w in 0..<parts {
                let part = stride(from: w, to: items.count, by: parts).map { items[$0] }
                group.addTask { Self.checkBatch(part) }
            }
        }
    }

    static func checkBatch(_ items: [Item]) {
        guard let first = items.first else { return }
        var batch = ProofBatch(electionKey: first.context.electionKey)
        batch.reserve(terms: items.count * 70)
        for item in items { item.content.addEquations(in: item.district, context: item.context, to: &batch) }
        if items.count == 1 || !batch.holds() {
            // One ballot, or a batch with a bad ballot in it: each is judged alone.
            for item in items { item.continuation.resume(returning: item.content.problem(in: item.district, context: item.context)) }
        } else {
            for item in items { item.continuation.resume(returning: nil) }
        }
    }
}
