import Foundation
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
        var revoked = 0
        var ballots = 0
        var spoiled = 0
        var supervised = 0
    }

    private let store: ElectionStore
    private var next: UInt64 = 0
    private var counts: [String: DistrictCounts] = [:]
    private var enrolledKeys: [Ed25519PublicKey: String] = [:]
    private var openedAt: Timestamp?
    private var closedAt: Timestamp?
    private var superseded: [String: Int] = [:]
    private var results: SignedResults?

    static let kinds: Set<LogEntryKind> = [.roll, .reissue, .enrollment, .ballot, .spoiled, .supervised, .reveal, .window, .results]

    init(store: ElectionStore) { self.store = store }

    func status(rejections: [String: Int]) async throws -> StatusBody {
        let start = next
        let (rows, state, checkpoint) = try await store.storage.read { r in
            guard let checkpoint = try r.latestCheckpoint() else { throw RuleError.internalError }
            return (try r.entries(kinds: Self.kinds, from: start, limit: 50_000), try r.state(), checkpoint)
        }
        // Another request may have advanced meanwhile; apply only entries not yet counted.
        for (idx, _, data) in rows where idx >= next {
            let entry = try LogEntry.decode(canonical: data)
            switch entry.kind {
            case .roll:
                let (list, _, _) = try RollImport.decode(payload: entry.payload, commissionKey: store.setup.commissionKey)
                for d in list.districts { counts[d.district, default: .init()].roll += d.commitments.count }
            case .reissue:
                let (reissue, _) = try ReissueEntry.decode(canonical: entry.payload)
                for key in reissue.revoked {
                    if let district = enrolledKeys[key] {
                        counts[district, default: .init()].enrolled -= 1
                        counts[district, default: .init()].revoked += 1
                    }
                }
            case .enrollment:
                let e = try Enrollment.decode(canonical: entry.payload)
                counts[e.district, default: .init()].enrolled += 1
                enrolledKeys[e.voterKey] = e.district
            case .ballot:
                counts[try SignedBallot.header(canonical: entry.payload).district, default: .init()].ballots += 1
            case .spoiled:
                var r = try CanonicalReader(entry.payload, tag: .spoiledBallot)
                counts[try Ballot.header(canonical: try r.bytes()).district, default: .init()].spoiled += 1
            case .supervised:
                counts[try SupervisedBallot.header(canonical: entry.payload).district, default: .init()].supervised += 1
            case .reveal:
                for item in try SupersessionReveal.decode(canonical: entry.payload).items where !item.supersededBallot.isEmpty {
                    superseded[try Ballot.header(canonical: item.supersededBallot).district, default: 0] += 1
                }
            case .window:
                let w = try WindowChange.decode(canonical: entry.payload)
                if w.action == .open { openedAt = entry.timestamp } else { closedAt = entry.timestamp }
            case .results:
                results = try SignedResults.decode(payload: entry.payload)
            default:
                break
            }
            next = idx + 1
        }
        let manifest = store.manifest
        return StatusBody(
            electionId: manifest.electionId, name: manifest.name, names: manifest.names, electionHash: store.electionHash, state: state,
            openedAt: openedAt, closedAt: closedAt, checkpoint: checkpoint,
            districts: manifest.districts.map { d in
                let c = counts[d.id] ?? .init()
                return StatusBody.District(district: d.id, name: d.name, names: d.names, seats: d.seats, roll: c.roll,
                                           enrolled: c.enrolled, revoked: c.revoked, ballots: c.ballots, spoiled: c.spoiled,
                                           supervised: c.supervised, superseded: closedAt == nil ? nil : superseded[d.id] ?? 0,
                                           options: d.options)
            },
            rejections: rejections, results: results,
            resultShares: results?.results.districts.map { d in
                StatusBody.ResultShares(district: d.district, turnoutPercent: d.turnout(digits: 1), sharesPercent: d.shares(digits: 1))
            })
    }
}

/// `GET /v1/status`: the dashboard's numbers.
struct StatusBody: Encodable, Sendable {
    struct District: Encodable, Sendable {
        let district: String
        let name: String
        let names: LocalizedNames
        let seats: Int
        let roll: Int
        /// Active enrollments (revoked keys not included).
        let enrolled: Int
        let revoked: Int
        /// Remote ballots logged.
        let ballots: Int
        let spoiled: Int
        /// Supervised (in-person) ballots logged.
        let supervised: Int
        /// Remote ballots left out of the sum because their voter voted in person: known only after the close.
        let superseded: Int?
        let options: [BallotOption]
    }

    let electionId: String
    let name: String
    let names: LocalizedNames
    let electionHash: Digest
    let state: ElectionState
    let openedAt: Timestamp?
    let closedAt: Timestamp?
    let checkpoint: SignedCheckpoint
    let districts: [District]
    /// Refusals by code since this server process started (server counters: refusals are not logged).
    let rejections: [String: Int]
    let results: SignedResults?
    /// With the results: each district's turnout and each option's share, computed by the
    /// server from the signed counts (`ElectionResults.District.turnout` and `shares`), so the
    /// dashboard shows the same figures as `voter results` and the exports.
    let resultShares: [ResultShares]?

    struct ResultShares: Encodable, Sendable {
        let district: String
        /// Ballots over the roll in percent, one decimal; absent for an empty roll.
        let turnoutPercent: String?
        /// Each option's share of the votes in percent, one decimal, manifest order, summing to
        /// 100; absent when no vote was cast.
        let sharesPercent: [String]?
        enum CodingKeys: String, CodingKey {
            case district, turnoutPercent = "turnout_percent", sharesPercent = "shares_percent"
        }
    }

    enum CodingKeys: String, CodingKey {
        case electionId = "election_id", name, names, electionHash = "election_hash", state
        case openedAt = "opened_at", closedAt = "closed_at", checkpoint, districts, rejections, results
        case resultShares = "result_shares"
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
    /// Ballots per proof batch (ProofBatcher): how much the batching saves shows here.
    let proofBatchSizes: ValueHistogram

    init() {
        ballots = registry.makeCounter(descriptor: Self.name("ballots_accepted", "total", "Ballots newly logged (identical re-sends not counted)"))
        enrollments = registry.makeCounter(descriptor: Self.name("enrollments_accepted", "total", "Voter keys newly enrolled"))
        latency = registry.makeDurationHistogram(
            descriptor: Self.name("request_duration", "seconds", "Time to answer an API request, refusals included"),
            buckets: [.microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                      .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5)])
        logEntries = registry.makeGauge(descriptor: Self.name("log", "entries", "Entries in the transparency log"))
        storageWritable = registry.makeGauge(descriptor: Self.name("storage", "writable", "1 when the last batch committed, 0 while storage fails (disk full, read-only, database down)"))
        failedBatches = registry.makeGauge(descriptor: Self.name("storage_failed", "batches", "Write batches that could not be committed since start"))
        proofBatchSizes = registry.makeValueHistogram(descriptor: Self.name("proof_batch", "ballots", "Ballots whose proofs were checked together in one batch"),
                                                      buckets: [1, 2, 4, 8, 16, 32, 64, 128])
    }

    /// `evote_<metric>_<unit>`, the names the metrics had before the descriptor API.
    private static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "evote", metricName: metric, unitName: unit, helpText: help)
    }

    func recordRejection(_ code: String) {
        counts.withLock { $0[code, default: 0] += 1 }
        registry.makeCounter(descriptor: Self.name("rejections", "total", "Refused requests by error code"), labels: [("code", code)]).increment()
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
