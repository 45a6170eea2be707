public import Foundation
import Synchronization
public import VotingCore

/// `voter simulate`: many voters from a codes file (written by `ballot-server roll import`)
/// enroll and cast encrypted ballots concurrently. The plan (which voter marks what) is
/// fixed before anything is sent, so the result the run should produce is known in advance
/// and can be compared with the signed results once they are published.
public struct Simulation: Sendable {
    /// One line of the codes file: `personal_number,district,code`.
    public struct Voter: Sendable, Hashable {
        public let personalNumber: String
        public let district: String
        public let code: String

        public init(personalNumber: String, district: String, code: String) {
            self.personalNumber = personalNumber
            self.district = district
            self.code = code
        }
    }

    /// A voter and the options their ballot will mark.
    public struct Assignment: Sendable, Hashable {
        public let voter: Voter
        public let selections: [String]
    }

    /// What the run casts in one district: shares (fractions summing to 1, rounded by largest
    /// remainder over the district's voters) or exact counts.
    public enum DistrictDistribution: Sendable, Hashable {
        case shares([String: Double])
        case counts([String: Int])
    }

    /// The `--distribution` file: district id -> option id -> share or count. A district
    /// whose numbers are all integers (no decimal point or exponent) gives counts; otherwise
    /// its numbers are shares. Voters of districts the file does not name are not used.
    public struct Distribution: Sendable, Hashable {
        public let districts: [String: DistrictDistribution]

        public init(districts: [String: DistrictDistribution]) { self.districts = districts }

        public static func load(path: String) throws -> Distribution {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw VoterError("no-distribution", "cannot read the distribution file \(path); pass an existing JSON file to --distribution")
            }
            return try parse(data, source: path)
        }

        public static func parse(_ data: Data, source: String = "the distribution") throws -> Distribution {
            var parser = DistributionParser(bytes: Array(data), source: source)
            return Distribution(districts: try parser.parseDocument())
        }
    }

    /// The plan, in codes-file order: every voter this run will enroll and what they mark.
    public let assignments: [Assignment]
    /// Voters among the first N that the plan does not use (their district is not in the
    /// distribution, or its counts need fewer voters than it has).
    public let skipped: Int
    /// The counts the plan should produce: district -> option -> count, with every option
    /// (zeros included) of every district the plan casts in. With supersessions: the remote
    /// ballots not superseded plus the supervised ballots.
    public let expected: [String: [String: Int]]

    /// A voter of the plan who, after casting remotely, votes again at a polling station
    /// (docs/protocol.md §16): `assignment` indexes `assignments`; `selections` is what the
    /// supervised ballot marks.
    public struct Supersession: Sendable, Hashable {
        public let assignment: Int
        public let selections: [String]
    }

    /// The voters (a `supersedeShare` of the plan) who also vote at a polling station.
    public let supersessions: [Supersession]

    // MARK: the codes file

    public static func loadCodes(path: String) throws -> [Voter] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VoterError("no-codes-file", "cannot read the codes file \(path); pass the file written by `ballot-server roll import --codes-out`")
        }
        return try parseCodes(String(decoding: data, as: UTF8.self), source: path)
    }

    public static func parseCodes(_ text: String, source: String = "the codes file") throws -> [Voter] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        while lines.last?.trimmingCharacters(in: .whitespaces).isEmpty == true { lines.removeLast() }
        // The first three columns are personal_number,district,code; `roll import` adds the
        // code's commitment as a fourth (any further columns are ignored).
        let columns = lines.first?.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? []
        guard columns.count >= 3, Array(columns.prefix(3)) == ["personal_number", "district", "code"] else {
            throw VoterError("invalid-codes", "\(source) must start with the header personal_number,district,code (the file `ballot-server roll import --codes-out` writes)")
        }
        var voters: [Voter] = []
        for (offset, line) in lines.dropFirst().enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard fields.count == columns.count, !fields.prefix(3).contains(where: \.isEmpty) else {
                throw VoterError("invalid-codes", "\(source) line \(offset + 2): expected \(columns.count) fields \(columns.joined(separator: ","))")
            }
            voters.append(Voter(personalNumber: fields[0], district: fields[1], code: fields[2]))
        }
        return voters
    }

    // MARK: the plan

    /// Builds the plan with the system's random generator (used only without a distribution,
    /// or for districts whose contest takes more than one selection).
    public init(voters: [Voter], manifest: ElectionManifest, distribution: Distribution?, supersedeShare: Double = 0) throws {
        var generator = SystemRandomNumberGenerator()
        try self.init(voters: voters, manifest: manifest, distribution: distribution, supersedeShare: supersedeShare, using: &generator)
    }

    /// Builds the plan for `voters` (already cut to the first N). Without a distribution every
    /// voter marks options chosen uniformly at random; with one, each named district gets
    /// exactly its counts, or its shares rounded by largest remainder over its voters here
    /// (ties to the option listed first in the manifest), assigned in file order.
    /// `supersedeShare` of the planned voters (see `supersededPositions`) also vote at a
    /// polling station, for the option after their remote one (`stationSelections`).
    public init(voters: [Voter], manifest: ElectionManifest, distribution: Distribution?, supersedeShare: Double = 0,
                using generator: inout some RandomNumberGenerator) throws {
        for (i, voter) in voters.enumerated() where manifest.district(voter.district) == nil {
            throw VoterError("unknown-district", "voter \(i + 1) of the codes file is in district \(voter.district), which this election does not have; is the codes file for this server's election?")
        }
        var byDistrict: [String: [Int]] = [:]
        for (i, voter) in voters.enumerated() { byDistrict[voter.district, default: []].append(i) }

        var selections = [[String]?](repeating: nil, count: voters.count)
        if let distribution {
            for districtId in distribution.districts.keys.sorted() {
                guard let district = manifest.district(districtId) else {
                    throw VoterError("unknown-district", "the distribution names district \(districtId), which this election does not have")
                }
                let spec = distribution.districts[districtId]!
                let named: [String] = {
                    switch spec {
                    case .shares(let s): return Array(s.keys)
                    case .counts(let c): return Array(c.keys)
                    }
                }()
                for option in named.sorted() where district.option(option) == nil {
                    throw VoterError("unknown-option", "the distribution names option \(option) in district \(districtId), which is not on that district's ballot")
                }
                guard district.selectionLimit == 1 else {
                    throw VoterError("unsupported-distribution", "district \(districtId) takes \(district.selectionLimit) selections per ballot; --distribution only supports districts with one selection, so leave it out (or drop --distribution for random ballots)")
                }
                let indices = byDistrict[districtId] ?? []
                let perOption: [Int]
                switch spec {
                case .counts(let counts):
                    perOption = district.options.map { counts[$0.id] ?? 0 }
                    let total = perOption.reduce(0, +)
                    guard total <= indices.count else {
                        throw VoterError("not-enough-voters", "the distribution casts \(total) ballots in district \(districtId), but the first \(voters.count) voters of the codes file include only \(indices.count) from it; lower the counts or raise --voters")
                    }
                case .shares(let shares):
                    perOption = Self.largestRemainder(shares: district.options.map { shares[$0.id] ?? 0 }, total: indices.count)
                }
                var next = 0
                for (o, count) in perOption.enumerated() {
                    for _ in 0..<count {
                        selections[indices[next]] = [district.options[o].id]
                        next += 1
                    }
                }
            }
        } else {
            for (i, voter) in voters.enumerated() {
                let district = manifest.district(voter.district)!
                var ids = district.options.map(\.id)
                ids.shuffle(using: &generator)
                selections[i] = Array(ids.prefix(district.selectionLimit))
            }
        }

        var assignments: [Assignment] = []
        for (i, voter) in voters.enumerated() {
            guard let marks = selections[i] else { continue }
            assignments.append(Assignment(voter: voter, selections: marks))
        }
        let supersessions = Self.supersededPositions(count: assignments.count, share: supersedeShare).compactMap { a -> Supersession? in
            guard let district = manifest.district(assignments[a].voter.district) else { return nil }
            return Supersession(assignment: a, selections: Self.stationSelections(remote: assignments[a].selections, district: district))
        }
        var expected: [String: [String: Int]] = [:]
        for assignment in assignments where expected[assignment.voter.district] == nil {
            if let district = manifest.district(assignment.voter.district) {
                expected[assignment.voter.district] = Dictionary(uniqueKeysWithValues: district.options.map { ($0.id, 0) })
            }
        }
        self.assignments = assignments
        self.skipped = voters.count - assignments.count
        self.supersessions = supersessions
        self.expected = Self.counted(assignments: assignments, remoteCast: Set(assignments.indices),
                                     supersessions: supersessions, supervisedCast: Set(supersessions.map(\.assignment)), zeros: expected)
    }

    // MARK: supersessions

    /// Which of `count` planned voters also vote at a polling station: `share` × `count`
    /// rounded to the nearest whole number (halves up), spread evenly over the plan (positions
    /// ⌊k·count/m⌋ for k < m), so the choice is deterministic and reaches every district of a
    /// plan in file order. `share` is validated to be in [0, 1].
    public static func supersededPositions(count: Int, share: Double) -> [Int] {
        guard count > 0, share.isFinite, share > 0 else { return [] }
        let m = min(count, Int((share * Double(count)).rounded(.toNearestOrAwayFromZero)))
        guard m > 0 else { return [] }
        return (0..<m).map { $0 * count / m }
    }

    /// What a voter marks at the station: each remote mark moved to the next option in the
    /// manifest's order (wrapping), so a remote ballot counted by mistake shows in the counts
    /// instead of cancelling out. A one-option contest keeps its mark.
    public static func stationSelections(remote: [String], district: District) -> [String] {
        let ids = district.options.map(\.id)
        guard ids.count > 1 else { return remote }
        return remote.map { mark in ids.firstIndex(of: mark).map { ids[($0 + 1) % ids.count] } ?? mark }
    }

    /// What should be counted: every remote ballot in `remoteCast` that no supervised ballot in
    /// `supervisedCast` supersedes, plus those supervised ballots (indices into `assignments`),
    /// added to `zeros` (district -> option -> 0).
    public static func counted(assignments: [Assignment], remoteCast: Set<Int>, supersessions: [Supersession],
                               supervisedCast: Set<Int>, zeros: [String: [String: Int]]) -> [String: [String: Int]] {
        var counts = zeros
        let station = Dictionary(supersessions.map { ($0.assignment, $0.selections) }, uniquingKeysWith: { first, _ in first })
        for (i, assignment) in assignments.enumerated() {
            let marks: [String]
            if supervisedCast.contains(i), let inPerson = station[i] {
                marks = inPerson
            } else if remoteCast.contains(i) {
                marks = assignment.selections
            } else {
                continue
            }
            for mark in marks { counts[assignment.voter.district, default: [:]][mark, default: 0] += 1 }
        }
        return counts
    }

    /// Hamilton's method: floor of each quota, then the remaining units to the largest
    /// fractional remainders (ties to the lower index). `shares` are validated to sum to 1.
    public static func largestRemainder(shares: [Double], total: Int) -> [Int] {
        let sum = shares.reduce(0, +)
        guard total > 0, sum > 0 else { return shares.map { _ in 0 } }
        let quotas = shares.map { $0 / sum * Double(total) }
        // The epsilon keeps 0.1 × 30 = 3.0000000000000004 (or 2.9999999999999996) at 3.
        var counts = quotas.map { Int(($0 + 1e-9).rounded(.down)) }
        let remainders = zip(quotas, counts).map { max(0, $0 - Double($1)) }
        let order = remainders.indices.sorted { remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1 }
        var missing = total - counts.reduce(0, +)
        var k = 0
        while missing > 0 {
            counts[order[k % order.count]] += 1
            missing -= 1
            k += 1
        }
        var excess = -missing
        for index in order.reversed() where excess > 0 && counts[index] > 0 {
            counts[index] -= 1
            excess -= 1
        }
        return counts
    }

    // MARK: running

    /// Latency percentiles in milliseconds.
    public struct Latency: Sendable, Codable, Hashable {
        public let p50: Double
        public let p95: Double
        public let p99: Double
    }

    /// What a run did.
    public struct Outcome: Sendable {
        public let voters: Int
        public let succeeded: Int
        public let failed: Int
        public let failuresByCode: [String: Int]
        /// One message per failure code (the first seen), to say what went wrong.
        public let failureExamples: [String: String]
        public let seconds: Double
        /// Successful ballots per second of wall time (enrollment included).
        public let ballotsPerSecond: Double
        /// Enrollment plus casting per successful voter.
        public let latency: Latency
        /// What was actually recorded: like `expected`, but counting only successful ballots
        /// (and no supervised ballot: those are in `StationOutcome.counted`).
        public let cast: [String: [String: Int]]
        /// The indices into `assignments` of the voters whose remote ballot was recorded.
        public let castAssignments: Set<Int>
    }

    /// Runs `body` on `clients[start % n]`, and on the next instances in turn while the answer
    /// is that the instance cannot be reached or its storage is unavailable (at most two
    /// rounds); any other answer, or the last failure, is returned as it is.
    static func withFailover<T: Sendable>(_ clients: [BallotServerClient], start: Int,
                                          _ body: @Sendable (BallotServerClient) async throws -> T) async throws -> T {
        let n = max(1, clients.count)
        var last: (any Error)?
        for attempt in 0..<(clients.count > 1 ? 2 * n : 1) {
            do {
                return try await body(clients[(start + attempt) % n])
            } catch let error as VoterError where ["unreachable", "unavailable"].contains(error.code) {
                last = error
            }
        }
        throw last ?? VoterError("unreachable", "no ballot server could be reached")
    }

    /// Enrolls every planned voter (the wallet stays in memory) and casts their encrypted
    /// ballot, with `concurrency` workers. A voter's failure is counted by its error code;
    /// the run goes on. `progress` is called after each voter.
    public func run(client: BallotServerClient, election: ElectionInfo, concurrency: Int,
                    onReceipt: @escaping @Sendable (BallotReceiptFile) -> Void = { _ in },
                    progress: @escaping @Sendable () -> Void = {}) async -> Outcome {
        await run(clients: [client], election: election, concurrency: concurrency, onReceipt: onReceipt, progress: progress)
    }

    /// The same over several instances of one election: voter i enrolls and casts through
    /// `clients[i % clients.count]`.
    public func run(clients: [BallotServerClient], election: ElectionInfo, concurrency: Int,
                    onReceipt: @escaping @Sendable (BallotReceiptFile) -> Void = { _ in },
                    progress: @escaping @Sendable () -> Void = {}) async -> Outcome {
        let items = assignments
        let next = SimulationCounter()
        let started = ContinuousClock.now
        enum VoterResult: Sendable {
            case success(Double)
            case failure(code: String, message: String)
        }
        let results: [(Int, VoterResult)] = await withTaskGroup(of: [(Int, VoterResult)].self) { group in
            for _ in 0..<max(1, min(concurrency, items.count)) {
                group.addTask {
                    var mine: [(Int, VoterResult)] = []
                    while true {
                        let i = next.take()
                        guard i < items.count else { break }
                        let item = items[i]
                        let t0 = ContinuousClock.now
                        do {
                            // The enrollment request and the signed ballot are made once and
                            // resent as they are: with several instances, a voter whose
                            // instance is down or dies mid-request carries on through the
                            // next one and gets the original answer (idempotent by design).
                            var wallet = try await VoterActions.prepareEnrollment(client: clients[i % clients.count],
                                                                                  personalNumber: item.voter.personalNumber,
                                                                                  code: item.voter.code, election: election)
                            let prepared = wallet
                            wallet = try await Self.withFailover(clients, start: i) { client in
                                try await VoterActions.completeEnrollment(client: client, wallet: prepared, store: VoterActions.NoWalletFile())
                            }
                            let ballot = try VoterActions.prepareBallot(wallet: wallet, selections: item.selections, election: election).0
                                .cast(with: try wallet.signingKey())
                            let enrolled = wallet
                            let receipt = try await Self.withFailover(clients, start: i) { client in
                                try await VoterActions.submit(client: client, wallet: enrolled, ballot: ballot)
                            }
                            onReceipt(receipt)
                            let elapsed = ContinuousClock.now - t0
                            mine.append((i, .success(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)))
                        } catch {
                            let body = CommandOutput.describe(error) ?? ErrorBody(code: "error", message: "\(error)")
                            mine.append((i, .failure(code: body.code, message: body.message)))
                        }
                        progress()
                    }
                    return mine
                }
            }
            var all: [(Int, VoterResult)] = []
            for await part in group { all.append(contentsOf: part) }
            return all
        }
        let elapsed = ContinuousClock.now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18

        var latencies: [Double] = []
        var failuresByCode: [String: Int] = [:]
        var examples: [String: String] = [:]
        var cast: [String: [String: Int]] = expected.mapValues { $0.mapValues { _ in 0 } }
        var castAssignments = Set<Int>()
        for (i, result) in results {
            switch result {
            case .success(let ms):
                latencies.append(ms)
                castAssignments.insert(i)
                let item = items[i]
                for mark in item.selections { cast[item.voter.district, default: [:]][mark, default: 0] += 1 }
            case .failure(let code, let message):
                failuresByCode[code, default: 0] += 1
                if examples[code] == nil { examples[code] = message }
            }
        }
        latencies.sort()
        return Outcome(voters: items.count, succeeded: latencies.count, failed: items.count - latencies.count,
                       failuresByCode: failuresByCode, failureExamples: examples, seconds: seconds,
                       ballotsPerSecond: seconds > 0 ? Double(latencies.count) / seconds : 0,
                       latency: Latency(p50: Self.percentile(latencies, 0.50), p95: Self.percentile(latencies, 0.95),
                                        p99: Self.percentile(latencies, 0.99)),
                       cast: cast, castAssignments: castAssignments)
    }

    /// What the polling-station round did.
    public struct StationOutcome: Sendable {
        /// Supervised ballots sent: the planned supersessions whose voter's remote ballot was recorded.
        public let attempted: Int
        /// Supervised ballots recorded.
        public let cast: Int
        /// Of those, how many superseded a remote ballot (the server's answer names it).
        public let superseded: Int
        public let failed: Int
        public let failuresByCode: [String: Int]
        public let failureExamples: [String: String]
        /// What should be counted after this round: remote ballots not superseded + supervised ballots.
        public let counted: [String: [String: Int]]
    }

    /// After the remote round (`remote`): every planned supersession whose voter's remote
    /// ballot was recorded votes again at the station `key`, through the same calls as
    /// `ballot-server station cast` (StationActions.cast), with `concurrency` workers.
    public func runStation(client: BallotServerClient, election: ElectionInfo, key: StationKeyFile, remote: Outcome,
                           concurrency: Int, progress: @escaping @Sendable () -> Void = {}) async -> StationOutcome {
        let items = supersessions.filter { remote.castAssignments.contains($0.assignment) }
        let voters = assignments
        let next = SimulationCounter()
        enum StationResult: Sendable {
            case success(assignment: Int, superseded: Bool)
            case failure(code: String, message: String)
        }
        let results: [StationResult] = await withTaskGroup(of: [StationResult].self) { group in
            for _ in 0..<max(1, min(concurrency, items.count)) {
                group.addTask {
                    var mine: [StationResult] = []
                    while true {
                        let i = next.take()
                        guard i < items.count else { break }
                        let item = items[i]
                        do {
                            let answer = try await StationActions.cast(client: client, election: election, key: key,
                                                                       personalNumber: voters[item.assignment].voter.personalNumber,
                                                                       selections: item.selections)
                            mine.append(.success(assignment: item.assignment, superseded: answer.superseded != nil))
                        } catch {
                            let body = CommandOutput.describe(error) ?? ErrorBody(code: "error", message: "\(error)")
                            mine.append(.failure(code: body.code, message: body.message))
                        }
                        progress()
                    }
                    return mine
                }
            }
            var all: [StationResult] = []
            for await part in group { all.append(contentsOf: part) }
            return all
        }
        var supervised = Set<Int>()
        var superseded = 0
        var failuresByCode: [String: Int] = [:]
        var examples: [String: String] = [:]
        for result in results {
            switch result {
            case .success(let assignment, let didSupersede):
                supervised.insert(assignment)
                if didSupersede { superseded += 1 }
            case .failure(let code, let message):
                failuresByCode[code, default: 0] += 1
                if examples[code] == nil { examples[code] = message }
            }
        }
        let zeros = expected.mapValues { $0.mapValues { _ in 0 } }
        return StationOutcome(attempted: items.count, cast: supervised.count, superseded: superseded,
                              failed: items.count - supervised.count, failuresByCode: failuresByCode, failureExamples: examples,
                              counted: Self.counted(assignments: voters, remoteCast: remote.castAssignments, supersessions: supersessions,
                                                    supervisedCast: supervised, zeros: zeros))
    }

    /// Nearest-rank percentile of sorted values (0 for none).
    public static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }

    // MARK: checking the published results

    /// A count the published results disagree on. `published` is nil when the results have
    /// no such district.
    public struct Mismatch: Sendable, Codable, Hashable, CustomStringConvertible {
        public let district: String
        public let option: String
        public let cast: Int
        public let published: Int?

        public init(district: String, option: String, cast: Int, published: Int?) {
            self.district = district
            self.option = option
            self.cast = cast
            self.published = published
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(district, forKey: .district)
            try c.encode(option, forKey: .option)
            try c.encode(cast, forKey: .cast)
            try c.encode(published, forKey: .published)
        }

        public var description: String {
            "district \(district) option \(option): this run cast \(cast), the results say \(published.map(String.init) ?? "nothing (no such district in the results)")"
        }
    }

    /// Compares every option of every district in `cast` with the published counts; returns
    /// the number of counts compared and the ones that differ.
    public static func compare(cast: [String: [String: Int]], results: ElectionResults,
                               manifest: ElectionManifest) -> (compared: Int, mismatches: [Mismatch]) {
        var compared = 0
        var mismatches: [Mismatch] = []
        for districtId in cast.keys.sorted() {
            let mine = cast[districtId] ?? [:]
            let optionIds = manifest.district(districtId)?.options.map(\.id) ?? mine.keys.sorted()
            let published = results.districts.first { $0.district == districtId }
            for (o, optionId) in optionIds.enumerated() {
                compared += 1
                let want = mine[optionId] ?? 0
                let got: Int? = published.map { o < $0.counts.count ? Int(clamping: $0.counts[o]) : 0 }
                if got != want { mismatches.append(Mismatch(district: districtId, option: optionId, cast: want, published: got)) }
            }
            // Options this run marked that the manifest does not list (cannot happen with a valid plan).
            for optionId in mine.keys.sorted() where !optionIds.contains(optionId) && (mine[optionId] ?? 0) != 0 {
                compared += 1
                mismatches.append(Mismatch(district: districtId, option: optionId, cast: mine[optionId] ?? 0, published: nil))
            }
        }
        return (compared, mismatches)
    }

    /// Polls `GET /v1/tally` every `interval` until signed results are published (at most
    /// `waitSeconds`), then checks their signature with the election's server key.
    public static func awaitResults(client: BallotServerClient, election: ElectionInfo, waitSeconds: Int,
                                    interval: Duration = .seconds(1)) async throws -> SignedResults {
        let deadline = ContinuousClock.now + .seconds(waitSeconds)
        var lastProblem = "the results were not published"
        while true {
            do {
                let tally = try await client.tally()
                if let signed = tally.results {
                    guard signed.isValid(serverKey: election.serverKey) else {
                        throw VoterError("bad-signature", "the published results are not signed by the election's server key; do not trust them")
                    }
                    return signed
                }
                lastProblem = tally.aggregate == nil
                    ? "voting was still open (the commission must close it: `ballot-server close`)"
                    : "\(tally.decryptions.count) of \(election.manifest.trustees.quorum) trustees had decrypted (the others must run `ballot-server trustee decrypt`)"
            } catch let error as VoterError where error.code == "unreachable" {
                lastProblem = error.message
            }
            guard ContinuousClock.now + interval <= deadline else {
                throw VoterError("results-timeout", "no signed results after \(waitSeconds) s: \(lastProblem); raise --wait-seconds or check the server")
            }
            try await Task.sleep(for: interval)
        }
    }
}

/// Hands out plan indices to the concurrent workers.
private final class SimulationCounter: Sendable {
    private let value = Atomic<Int>(0)
    func take() -> Int { value.add(1, ordering: .relaxed).oldValue }
}

/// A strict reader for the distribution file: an object of objects of numbers, keeping each
/// number's spelling so that integers (counts) and fractions (shares) can be told apart.
struct DistributionParser {
    let bytes: [UInt8]
    let source: String
    var position = 0

    init(bytes: [UInt8], source: String) {
        self.bytes = bytes
        self.source = source
    }

    private func fail(_ reason: String) -> VoterError {
        VoterError("invalid-distribution", "\(source): \(reason); write {\"district\": {\"option\": share or count}}, shares as fractions summing to 1 (0.25) or counts as integers (12)")
    }

    mutating func parseDocument() throws -> [String: Simulation.DistrictDistribution] {
        var out: [String: Simulation.DistrictDistribution] = [:]
        let districts = try parseObject { parser in
            try parser.parseObject { parser in try parser.parseNumber() }
        }
        skipWhitespace()
        guard position == bytes.count else { throw fail("unexpected text after the JSON object") }
        guard !districts.isEmpty else { throw fail("it names no district") }
        for (district, options) in districts {
            guard out[district] == nil else { throw fail("district \(district) appears twice") }
            var seen = Set<String>()
            for (option, _) in options where !seen.insert(option).inserted {
                throw fail("option \(option) appears twice in district \(district)")
            }
            guard !options.isEmpty else { throw fail("district \(district) names no option") }
            if options.allSatisfy({ $0.1.isInteger }) {
                var counts: [String: Int] = [:]
                for (option, number) in options {
                    guard let n = Int(number.text), n >= 0 else {
                        throw fail("the count \(number.text) for option \(option) in district \(district) is not a whole number from 0 up")
                    }
                    counts[option] = n
                }
                out[district] = .counts(counts)
            } else {
                var shares: [String: Double] = [:]
                for (option, number) in options {
                    guard number.value.isFinite, number.value >= 0, number.value <= 1 else {
                        throw fail("the share \(number.text) for option \(option) in district \(district) is not a fraction from 0 to 1")
                    }
                    shares[option] = number.value
                }
                let sum = shares.values.reduce(0, +)
                guard abs(sum - 1) <= 1e-6 else {
                    throw fail("the shares in district \(district) sum to \(sum), not 1 (a district whose numbers are all integers gives counts instead)")
                }
                out[district] = .shares(shares)
            }
        }
        return out
    }

    struct Number {
        let text: String
        let value: Double
        var isInteger: Bool { !text.contains { $0 == "." || $0 == "e" || $0 == "E" } }
    }

    mutating func skipWhitespace() {
        while position < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[position]) { position += 1 }
    }

    mutating func parseObject<T>(_ value: (inout DistributionParser) throws -> T) throws -> [(String, T)] {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "{") else { throw fail("expected an object at byte \(position)") }
        position += 1
        var members: [(String, T)] = []
        skipWhitespace()
        if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
            position += 1
            return members
        }
        while true {
            skipWhitespace()
            let key = try parseString()
            skipWhitespace()
            guard position < bytes.count, bytes[position] == UInt8(ascii: ":") else { throw fail("expected ':' after \"\(key)\"") }
            position += 1
            members.append((key, try value(&self)))
            skipWhitespace()
            guard position < bytes.count else { throw fail("the file ends inside an object") }
            if bytes[position] == UInt8(ascii: ",") { position += 1; continue }
            if bytes[position] == UInt8(ascii: "}") { position += 1; return members }
            throw fail("expected ',' or '}' at byte \(position)")
        }
    }

    mutating func parseString() throws -> String {
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw fail("expected a quoted id at byte \(position)") }
        let start = position
        position += 1
        while position < bytes.count, bytes[position] != UInt8(ascii: "\"") {
            position += bytes[position] == UInt8(ascii: "\\") ? 2 : 1
        }
        guard position < bytes.count else { throw fail("a string is not closed") }
        position += 1
        guard let string = try? JSONDecoder().decode(String.self, from: Data(bytes[start..<position])) else {
            throw fail("the string at byte \(start) is not valid JSON")
        }
        return string
    }

    mutating func parseNumber() throws -> Number {
        skipWhitespace()
        let start = position
        while position < bytes.count, "-+.eE0123456789".utf8.contains(bytes[position]) { position += 1 }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        // JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
        let grammar = #/-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/#
        guard !text.isEmpty, (try? grammar.wholeMatch(in: text)) != nil, let value = Double(text) else {
            throw fail(text.isEmpty ? "expected a number at byte \(start)" : "\(text) is not a JSON number")
        }
        return Number(text: text, value: value)
    }
}
