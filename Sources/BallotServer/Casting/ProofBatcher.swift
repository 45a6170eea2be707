import Synchronization
import VotingCore

/// Checks the proofs of ballots that arrive together as one batch (docs/protocol.md eq. 49):
/// every equation of every waiting ballot is weighted and folded into one multi-scalar
/// multiplication, which costs a fraction per ballot of checking each alone. At most `workers`
/// batches are checked at a time (the machine's cores). While they are all busy, arriving
/// ballots wait together and the next free worker takes them all (up to `maxBatch`) at once,
/// so batches grow with the load, as a group commit does, and the cost per ballot falls when
/// it matters most. With a worker free, the first ballot waits at most `window` for others to
/// join; a full batch is checked at once. When a batch fails, it is
/// halved until the bad ballots are found, and those are checked alone, so only they are
/// refused, each with its own reason. One bad ballot among n costs about 2n more terms and
/// 2·log2(n) more batch checks, not n single checks (≈2.5–3× the batch's own cost): a sender of
/// bad ballots cannot make the server pay much more for a batch than for its own ballot.
final class ProofBatcher: Sendable {
    struct Item: Sendable {
        let content: BallotContent
        let district: District
        let context: ProofContext
        let continuation: CheckedContinuation<BallotProblem?, Never>
    }

    private struct State {
        var pending: [Item] = []
        /// A window is running: its end hands the waiting ballots to a free worker.
        var scheduled = false
        /// Workers checking a batch now.
        var busy = 0

        /// Up to `maxBatch` waiting ballots, oldest first.
        mutating func take(_ maxBatch: Int) -> [Item] {
            let n = min(pending.count, maxBatch)
            let taken = Array(pending.prefix(n))
            pending.removeFirst(n)
            return taken
        }
    }

    private let state = Mutex(State())
    private let window: Duration
    private let maxBatch: Int
    private let workers: Int
    /// Told the size of every batch checked (the server's metrics).
    private let observe: @Sendable (Int) -> Void

    /// - Parameters:
    ///   - window: how long the first ballot of a batch waits for others while a worker is free (the added latency bound).
    ///   - maxBatch: ballots checked in one batch at most; a full batch does not wait.
    ///   - workers: batches checked at the same time (the machine's cores).
    ///   - observe: told the number of ballots of each batch checked.
    init(window: Duration = .milliseconds(2), maxBatch: Int = 128, workers: Int = 2, observe: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.observe = observe
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
                // Every worker busy: the first to finish takes this ballot with the others waiting.
                guard s.busy < workers else { return .nothing }
                if s.pending.count >= maxBatch {
                    s.busy += 1
                    return .check(s.take(maxBatch))
                }
                if s.scheduled { return .nothing }
                s.scheduled = true
                return .schedule
            }
            switch action {
            case .nothing: break
            case .check(let items): Task { self.work(items) }
            case .schedule:
                Task {
                    try? await Task.sleep(for: self.window)
                    let items = self.state.withLock { s -> [Item] in
                        s.scheduled = false
                        guard s.busy < self.workers, !s.pending.isEmpty else { return [] }
                        s.busy += 1
                        return s.take(self.maxBatch)
                    }
                    if !items.isEmpty { self.work(items) }
                }
            }
        }
    }

    private enum Action {
        case nothing
        case schedule
        case check([Item])
    }

    /// One worker: checks `items`, then whatever waited meanwhile (no further window: those
    /// ballots have waited already), until nothing waits.
    private func work(_ first: [Item]) {
        var items = first
        while !items.isEmpty {
            observe(items.count)
            Self.checkBatch(items)
            let (next, extra) = state.withLock { s -> ([Item], [Item]) in
                let next = s.take(maxBatch)
                if next.isEmpty { s.busy -= 1 }
                // More than a full batch still waiting and a worker idle: start it too.
                guard s.pending.count >= maxBatch, s.busy < workers else { return (next, []) }
                s.busy += 1
                return (next, s.take(maxBatch))
            }
            if !extra.isEmpty { Task { self.work(extra) } }
            items = next
        }
    }

    static func checkBatch(_ items: [Item]) {
        var cost = Cost()
        for (item, problem) in zip(items, judge(items, cost: &cost)) { item.continuation.resume(returning: problem) }
    }

    /// What finding the bad ballots of a batch cost: batch checks (and their terms) and
    /// ballots checked alone. Tests bound it; nothing else reads it.
    struct Cost: Sendable, Equatable {
        var batches = 0
        var terms = 0
        var singles = 0
    }

    /// Each item's problem, nil for a ballot whose proofs hold.
    static func judge(_ items: [Item], cost: inout Cost) -> [BallotProblem?] {
        judge(items.map { ($0.content, $0.district, $0.context) }, cost: &cost)
    }

    /// The same over bare ballots: the whole batch first; when it fails, halves, recursively.
    static func judge(_ items: [(content: BallotContent, district: District, context: ProofContext)], cost: inout Cost) -> [BallotProblem?] {
        var problems = [BallotProblem?](repeating: nil, count: items.count)
        bisect(items, 0..<items.count, knownBad: false, into: &problems, cost: &cost)
        return problems
    }

    /// Judges `range`. `knownBad`: its batch is already known to fail (its sibling held while
    /// their union failed), so it is split at once.
    private static func bisect(_ items: [(content: BallotContent, district: District, context: ProofContext)], _ range: Range<Int>,
                               knownBad: Bool, into problems: inout [BallotProblem?], cost: inout Cost) {
        if !knownBad, holds(items, range, into: &problems, cost: &cost) { return }
        if range.count == 1 {
            if knownBad { _ = holds(items, range, into: &problems, cost: &cost) }
            return
        }
        let middle = range.lowerBound + range.count / 2
        let left = range.lowerBound..<middle, right = middle..<range.upperBound
        if holds(items, left, into: &problems, cost: &cost) {
            bisect(items, right, knownBad: true, into: &problems, cost: &cost)
        } else {
            if left.count > 1 { bisect(items, left, knownBad: true, into: &problems, cost: &cost) }
            bisect(items, right, knownBad: false, into: &problems, cost: &cost)
        }
    }

    /// Whether every equation of the ballots in `range` holds: one ballot alone by its own
    /// check (its problem, with the reason, is stored), more as one weighted batch.
    private static func holds(_ items: [(content: BallotContent, district: District, context: ProofContext)], _ range: Range<Int>,
                              into problems: inout [BallotProblem?], cost: inout Cost) -> Bool {
        if range.count == 1 {
            let i = range.lowerBound
            cost.singles += 1
            problems[i] = items[i].content.problem(in: items[i].district, context: items[i].context)
            return problems[i] == nil
        }
        guard let first = items[range].first else { return true }
        var batch = ProofBatch(electionKey: first.context.electionKey)
        batch.reserve(terms: range.count * 70)
        for i in range { items[i].content.addEquations(in: items[i].district, context: items[i].context, to: &batch) }
        cost.batches += 1
        cost.terms += batch.termCount
        return batch.holds()
    }
}
