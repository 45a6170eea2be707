/// The audit's line reader (docs/verification.md §1.1): takes the lines of a
/// `RecordLineSplitter` in record order, parses them in parallel batches with the strict
/// grammar (`RecordItem.parse`: `RecordLine` plus the keys, hex lengths and kinds of
/// Record §1.2), and hands them to an `ElectionAudit` in order. A malformed line fails
/// check 2 with its line number and reason at its place in that order and is then ignored:
/// it is no entry, no checkpoint and no leaf. `voter audit` reads files and HTTP bodies
/// through it; `audit(record:)` runs it over bytes in memory.
public struct RecordAuditFeeder {
    public let audit: ElectionAudit
    /// Tasks that parse one batch.
    public let workers: Int
    private var pending: [RecordLineSplitter.Output] = []
    private var pendingBytes = 0
    /// Lines per batch.
    public static let batchLines = 1024
    /// Also flush once this many line bytes wait, so a run of long lines stays bounded.
    public static let batchBytes = 32 << 20

    public init(audit: ElectionAudit, workers: Int) {
        self.audit = audit
        self.workers = max(1, workers)
    }

    /// Queues one line; parses and consumes the batch when it is full.
    public mutating func add(_ output: RecordLineSplitter.Output) async {
        pending.append(output)
        if case .line(_, _, let bytes) = output { pendingBytes += bytes.count }
        if pending.count >= Self.batchLines || pendingBytes >= Self.batchBytes { await flush() }
    }

    /// Parses and consumes every queued line (call after the last one).
    public mutating func flush() async {
        guard !pending.isEmpty else { return }
        let lines = pending
        pending = []
        pendingBytes = 0
        let parsed = await Self.parse(lines, workers: workers)
        for (output, result) in zip(lines, parsed) {
            switch result {
            case .success(let item): await audit.consume(item)
            case .failure(let error): audit.malformedLine(output.number, error)
            }
        }
    }

    /// The lines parsed in `workers` tasks, in line order.
    static func parse(_ lines: [RecordLineSplitter.Output], workers: Int) async -> [Result<RecordItem, RecordLineError>] {
        let workers = min(workers, lines.count)
        guard workers > 1 else { return lines.map(parse) }
        return await withTaskGroup(of: (Int, [Result<RecordItem, RecordLineError>]).self) { group in
            for w in 0..<workers {
                group.addTask { (w, stride(from: w, to: lines.count, by: workers).map { parse(lines[$0]) }) }
            }
            var parts = [[Result<RecordItem, RecordLineError>]](repeating: [], count: workers)
            for await (w, part) in group { parts[w] = part }
            // Worker w parsed lines w, w + workers, …: interleave them back into line order.
            var all: [Result<RecordItem, RecordLineError>] = []
            all.reserveCapacity(lines.count)
            for i in 0..<lines.count { all.append(parts[i % workers][i / workers]) }
            return all
        }
    }

    static func parse(_ output: RecordLineSplitter.Output) -> Result<RecordItem, RecordLineError> {
        switch output {
        case .line(_, _, let bytes):
            Result { () throws(RecordLineError) in try RecordItem.parse(line: bytes) }
        case .malformed(_, _, let error):
            .failure(error)
        }
    }

    /// Audits a whole record held in memory, fed to the splitter in chunks of `chunkSize`
    /// bytes as a stream would deliver it.
    public static func audit(record: [UInt8], chunkSize: Int = 1 << 20, parallelism: Int = 2) async -> AuditReport {
        let audit = ElectionAudit(parallelism: parallelism)
        var feeder = RecordAuditFeeder(audit: audit, workers: parallelism)
        var splitter = RecordLineSplitter()
        var start = 0
        while start < record.count {
            let end = min(record.count, start + max(1, chunkSize))
            for output in splitter.feed(record[start..<end]) { await feeder.add(output) }
            start = end
        }
        if let last = splitter.finish() { await feeder.add(last) }
        await feeder.flush()
        return await audit.finish()
    }
}
