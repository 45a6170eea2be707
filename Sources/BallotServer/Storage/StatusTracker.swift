import Foundation
import GRDB
import Prometheus
import Synchronization
import VotingCore

/// What the observer dashboard shows, counted from the log itself (never from a separate
/// counter that could disagree with it). Entries are read once: each request only decodes
/// the entries appended since the previous one.
actor StatusTracker {
    struct DistrictCounts: Sendable {
        var roll = 0
        var enrolled = 0
        var ballots = 0
        var spoiled = 0
    }

    private let store: ElectionStore
    private var next: UInt64 = 0
    private var counts: [String: DistrictCounts] = [:]
    private var openedAt: Timestamp?
    private var closedAt: Timestamp?
    private var results: SignedResults?

    init(store: ElectionStore) { self.store = store }

    func status(rejections: [String: Int]) async throws -> StatusBody {
        let start = next
        let (rows, state, checkpoint) = try await store.pool.read { db -> ([(Int64, Data)], ElectionState, SignedCheckpoint) in
            let rows = try Row.fetchAll(db, sql: """
                SELECT idx, data FROM log_entries WHERE idx >= ? AND kind IN ('roll', 'enrollment', 'ballot', 'spoiled', 'window', 'results')
                ORDER BY idx
                """, arguments: [Int64(start)]).map { row -> (Int64, Data) in (row["idx"], row["data"]) }
            return (rows, try ElectionStore.state(db), try self.store.latestCheckpoint(db))
        }
        // Another request may have advanced meanwhile; apply only entries not yet counted.
        for (idx, data) in rows where UInt64(idx) >= next {
            let entry = try LogEntry.decode(canonical: [UInt8](data))
            switch entry.kind {
            case .roll:
                for c in try RollImport.decode(canonical: entry.payload).counts { counts[c.district, default: .init()].roll += c.voters }
            case .enrollment:
                counts[try Enrollment.decode(canonical: entry.payload).district, default: .init()].enrolled += 1
            case .ballot:
                counts[try SignedBallot.district(canonical: entry.payload), default: .init()].ballots += 1
            case .spoiled:
                var r = try CanonicalReader(entry.payload, tag: .spoiledBallot)
                counts[try SignedBallot.district(canonical: try r.bytes()), default: .init()].spoiled += 1
            case .window:
                let w = try WindowChange.decode(canonical: entry.payload)
                if w.action == .open { openedAt = entry.timestamp } else { closedAt = entry.timestamp }
            case .results:
                results = try SignedResults.decode(payload: entry.payload)
            default:
                break
            }
            next = UInt64(idx) + 1
        }
        let manifest = store.manifest
        return StatusBody(
            electionId: manifest.electionId, name: manifest.name, electionHash: store.electionHash, state: state,
            openedAt: openedAt, closedAt: closedAt, checkpoint: checkpoint,
            districts: manifest.districts.map { d in
                let c = counts[d.id] ?? .init()
                return StatusBody.District(district: d.id, name: d.name, seats: d.seats, roll: c.roll, enrolled: c.enrolled,
                                           ballots: c.ballots, spoiled: c.spoiled, options: d.options)
            },
            rejections: rejections, results: results)
    }
}

/// `GET /v1/status`: the dashboard's numbers.
struct StatusBody: Encodable, Sendable {
    struct District: Encodable, Sendable {
        let district: String
        let name: String
        let seats: Int
        let roll: Int
        let enrolled: Int
        let ballots: Int
        let spoiled: Int
        let options: [BallotOption]
    }

    let electionId: String
    let name: String
    let electionHash: Digest
    let state: ElectionState
    let openedAt: Timestamp?
    let closedAt: Timestamp?
    let checkpoint: SignedCheckpoint
    let districts: [District]
    /// Refusals by code since this server process started (server counters: refusals are not logged).
    let rejections: [String: Int]
    let results: SignedResults?

    enum CodingKeys: String, CodingKey {
        case electionId = "election_id", name, electionHash = "election_hash", state
        case openedAt = "opened_at", closedAt = "closed_at", checkpoint, districts, rejections, results
    }
}

/// The server's counters: refusals by stable code (also shown on the dashboard), accepted
/// enrollments and ballots, request latency, and the log's size at scrape time, exposed
/// in Prometheus text format at `GET /metrics`.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let counts = Mutex<[String: Int]>([:])
    private let ballots: Counter
    private let enrollments: Counter
    private let latency: DurationHistogram
    private let logEntries: Gauge
    private let storageWritable: Gauge
    private let failedBatches: Gauge

    init() {
        ballots = registry.makeCounter(name: "evote_ballots_accepted_total", help: "Ballots newly logged (identical re-sends not counted)")
        enrollments = registry.makeCounter(name: "evote_enrollments_accepted_total", help: "Voter keys newly enrolled")
        latency = registry.makeDurationHistogram(
            name: "evote_request_duration_seconds",
            buckets: [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5)],
            help: "Time to answer an API request, refusals included")
        logEntries = registry.makeGauge(name: "evote_log_entries", help: "Entries in the transparency log")
        storageWritable = registry.makeGauge(name: "evote_storage_writable", help: "1 when the last batch committed, 0 while storage fails (disk full, read-only)")
        failedBatches = registry.makeGauge(name: "evote_storage_failed_batches", help: "Write batches that could not be committed since start")
    }

    func recordRejection(_ code: String) {
        counts.withLock { $0[code, default: 0] += 1 }
        registry.makeCounter(name: "evote_rejections_total", labels: [("code", code)], help: "Refused requests by error code").increment()
    }

    func ballotAccepted() { ballots.increment() }
    func enrollmentAccepted() { enrollments.increment() }
    func observe(_ duration: Duration) { latency.record(duration) }

    /// Refusals by code since this process started.
    var rejections: [String: Int] { counts.withLock { $0 } }

    func exposition(logSize: UInt64, storage: GroupCommitter.StorageHealth) -> String {
        logEntries.set(Int64(clamping: logSize))
        storageWritable.set(Int64(storage.failing ? 0 : 1))
        failedBatches.set(Int64(storage.failedBatches))
        return registry.emitToString()
    }
}
