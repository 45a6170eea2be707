import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import VoterKit
import VotingCore
@testable import BallotServer

/// An election on a fresh database of a PostgreSQL cluster, set up and run with the real
/// binaries only (`ballot-server`, `voter`): the PostgreSQL end-to-end tests share this
/// instead of each repeating the set-up, the ceremony and the closing.
struct PostgresElection {
    let work: String
    let data: String
    let database: String
    private let dropDatabase: @Sendable () -> Void

    var db: [String] { ["--database", database] }
    var codes: String { work + "/codes.csv" }
    var commissionKey: String { data + "/commission.key" }

    /// `example`, `init`, `roll import` and five trustees (keygen and add) on a new database of
    /// `cluster`; nothing serves yet. The caller calls `cleanUp()`.
    init(_ label: String, cluster: String, districts: Int, votersPerDistrict: Int) throws {
        let (database, drop) = try Self.createDatabase(on: cluster)
        let work: String
        do {
            work = try Tools.temporaryDirectory(label)
        } catch {
            drop()
            throw error
        }
        self.work = work
        self.data = work + "/election"
        self.database = database
        self.dropDatabase = drop
        do {
            try Self.must(Tools.ballotServer, ["example", "--manifest-out", work + "/m.json", "--roll-out", work + "/roll.csv",
                                               "--districts", "\(districts)", "--voters-per-district", "\(votersPerDistrict)"])
            try Self.must(Tools.ballotServer, ["init", "--data", data, "--manifest", work + "/m.json"] + db)
            try Self.must(Tools.ballotServer, ["roll", "import", "--data", data, "--roll", work + "/roll.csv", "--codes-out", codes] + db)
            for i in 1...5 {
                try Self.must(Tools.ballotServer, ["trustee", "keygen", "--index", "\(i)", "--name", "T\(i)", "--out", trusteeKey(i),
                                                   "--public-out", work + "/t\(i).pub.json"])
                try Self.must(Tools.ballotServer, ["trustee", "add", "--data", data, "--public", work + "/t\(i).pub.json"] + db)
            }
        } catch {
            cleanUp()
            throw error
        }
    }

    func trusteeKey(_ i: Int) -> String { work + "/t\(i).key.json" }

    func cleanUp() {
        dropDatabase()
        try? FileManager.default.removeItem(atPath: work)
    }

    /// `count` `serve` instances on the database, each on a free loopback port.
    func startInstances(_ count: Int, _ arguments: [String]) throws -> [ServerProcess] {
        try (0..<count).map { _ in try ServerProcess(executable: Tools.ballotServer, dataDirectory: data, extraArguments: db + arguments) }
    }

    /// The key ceremony and the opening, spread over the instances (any instance serves any step).
    func open(through servers: [ServerProcess]) throws {
        let n = servers.count
        for i in 1...5 { try Self.must(Tools.ballotServer, ["trustee", "share", "--server", servers[i % n].url, "--key", trusteeKey(i)]) }
        for i in 1...5 { try Self.must(Tools.ballotServer, ["trustee", "verify-shares", "--server", servers[(i + 1) % n].url, "--key", trusteeKey(i)]) }
        try Self.must(Tools.ballotServer, ["open", "--server", servers[n - 1].url, "--commission-key", commissionKey])
    }

    /// Closes voting through one instance and has a quorum (three of five) decrypt through another.
    func closeAndDecrypt(close: ServerProcess, decrypt: ServerProcess) throws {
        try Self.must(Tools.ballotServer, ["close", "--server", close.url, "--commission-key", commissionKey])
        for i in 1...3 { try Self.must(Tools.ballotServer, ["trustee", "decrypt", "--server", decrypt.url, "--key", trusteeKey(i)]) }
    }

    /// The ballots stored, summed over the districts of `ballot-server status`.
    func storedBallots() throws -> Int? {
        let status = try Self.must(Tools.ballotServer, ["status", "--data", data] + db)
        return (try status.json()["districts"] as? [[String: Any]])?.reduce(0) { $0 + (($1["ballots"] as? Int) ?? 0) }
    }

    /// `ballot-server export` to a new file in the work folder; returns its path.
    func exportRecord(_ name: String) throws -> String {
        let path = work + "/" + name
        try Self.must(Tools.ballotServer, ["export", "--data", data, "--out", path] + db)
        return path
    }

    /// Nothing lost, nothing stored twice, from outside: `status` counts exactly `voters`
    /// ballots, a fresh export holds every receipt's ballot exactly once and no voter key
    /// twice, and `voter verify` passes for every receipt against `server`. Returns what is
    /// wrong, empty when all is well.
    func lossCheck(receipts path: String, voters: Int, verifyAgainst server: String, caFile: String? = nil) throws -> [String] {
        var problems: [String] = []
        let receipts = try ReceiptsFile(path)
        if receipts.lines.count != voters { problems.append("\(receipts.lines.count) receipts for \(voters) voters") }
        let stored = try storedBallots()
        if stored != voters { problems.append("status counts \(stored.map(String.init) ?? "no") ballots for \(voters) voters") }
        let record = try RecordBallots(record: try exportRecord("loss-check-\(UUID().uuidString).jsonl"))
        if record.count != voters { problems.append("the record holds \(record.count) ballots for \(voters) voters") }
        problems += record.problems(receipts: receipts.trackingCodes)
        let folder = work + "/verify-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        problems += try receipts.verifyAll(server: server, caFile: caFile, folder: folder)
        return problems
    }

    // MARK: tools

    /// Waits (polling) until `voter simulate` has written `count` receipts to `path`, then runs
    /// `action`; false when the run ended first.
    /// The file is watched from a thread of its own, every 10 ms: a watcher on Swift's
    /// cooperative pool missed a whole 7 s run once, when other tests' synchronous work held
    /// both of the pool's threads (2 cores) and its sleeps overslept.
    static func when(_ path: String, reach count: Int, before load: BackgroundRun, _ action: @escaping @Sendable () throws -> Void) async throws -> Bool {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Bool, any Error>) in
            let watcher = Thread {
                for _ in 0..<30_000 where !load.isFinished {
                    if lineCount(path) >= count {
                        do {
                            try action()
                            continuation.resume(returning: true)
                        } catch {
                            continuation.resume(throwing: error)
                        }
                        return
                    }
                    usleep(10_000)
                }
                continuation.resume(returning: false)
            }
            watcher.start()
        }
    }

    /// A fresh database on the cluster at `base` (psql), and how to drop it.
    static func createDatabase(on base: String) throws -> (url: String, drop: @Sendable () -> Void) {
        guard var components = URLComponents(string: base) else { throw Tools.ToolError("not a PostgreSQL URL: \(base)") }
        let name = "evote_e2e_\(UInt32.random(in: 0...UInt32.max))"
        let psql = URL(fileURLWithPath: "/usr/bin/env")
        let created = try Tools.run(psql, ["psql", base, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE \(name)"])
        guard created.status == 0 else { throw Tools.ToolError("CREATE DATABASE failed: \(created.stderr)") }
        components.path = "/" + name
        return (components.string ?? base, { _ = try? Tools.run(psql, ["psql", base, "-qc", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"]) })
    }

    /// Runs a tool with `--json`; a non-zero exit is an error that quotes its output.
    @discardableResult
    static func must(_ tool: URL, _ arguments: [String]) throws -> Tools.Outcome {
        let outcome = try Tools.run(tool, arguments + ["--json"], timeout: 300)
        guard outcome.status == 0 else {
            throw Tools.ToolError("\(tool.lastPathComponent) \(arguments.joined(separator: " ")) failed (\(outcome.status)): \(outcome.stdout)\(outcome.stderr)")
        }
        return outcome
    }

    /// Lines of a file that `voter simulate --receipts-out` is still appending to (0 before it exists).
    static func lineCount(_ path: String) -> Int {
        (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").count ?? 0
    }
}

/// The cast ballots of an exported record, read from its `entry` lines alone.
struct RecordBallots {
    /// Tracking code (hex) → how many ballot entries carry it.
    var trackingCodes: [String: Int] = [:]
    /// Voter key (hex) → how many ballot entries it signed.
    var voterKeys: [String: Int] = [:]
    var count: Int { trackingCodes.values.reduce(0, +) }

    init(record path: String) throws {
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  object["type"] as? String == "entry", object["kind"] as? String == "ballot" else { continue }
            guard let hex = object["data"] as? String, let bytes = Hex.decode(hex) else { throw Tools.ToolError("a ballot entry without hex data: \(line.prefix(200))") }
            let ballot = try SignedBallot.decode(canonical: try LogEntry.decode(canonical: bytes).payload)
            trackingCodes[ballot.trackingCode.hex, default: 0] += 1
            voterKeys[ballot.voterKey.hex, default: 0] += 1
        }
    }

    /// What is wrong with these ballots against the receipts voters obtained: a receipt whose
    /// ballot is missing, and any tracking code or voter key stored twice. Empty when all is well.
    func problems(receipts: [String]) -> [String] {
        var problems: [String] = []
        for code in receipts where trackingCodes[code] == nil { problems.append("receipt \(code.prefix(16))… has no ballot in the record") }
        for (code, n) in trackingCodes where n > 1 { problems.append("tracking code \(code.prefix(16))… stored \(n) times") }
        for (key, n) in voterKeys where n > 1 { problems.append("voter key \(key.prefix(16))… cast \(n) ballots") }
        return problems
    }
}

/// The receipts a `voter simulate --receipts-out` file holds.
struct ReceiptsFile {
    let lines: [String]
    let trackingCodes: [String]

    init(_ path: String) throws {
        lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        trackingCodes = try lines.map { line in
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let code = object["tracking_code"] as? String else { throw Tools.ToolError("not a receipt: \(line.prefix(200))") }
            return code
        }
    }

    /// Runs `voter verify` on every receipt against `server`; returns the failures (receipt
    /// number, exit status, output), empty when every receipt verifies.
    func verifyAll(server: String, caFile: String? = nil, folder: String) throws -> [String] {
        var failures: [String] = []
        for (i, line) in lines.enumerated() {
            let file = folder + "/receipt-\(i).json"
            try line.write(toFile: file, atomically: true, encoding: .utf8)
            let verified = try Tools.run(Tools.voter, ["verify", "--server", server, "--receipt", file, "--json"] + (caFile.map { ["--ca-file", $0] } ?? []))
            if verified.status != 0 { failures.append("receipt \(i) (\(verified.status)): \(verified.stdout.suffix(400))\(verified.stderr.suffix(400))") }
        }
        return failures
    }
}

/// The signed results against what `voter simulate` cast (its JSON summary's `expected`):
/// the mismatches, empty when the results equal what was cast.
func resultsMismatches(server: String, expected: [String: [String: Int]]) async throws -> [String] {
    let client = try BallotServerClient(baseURL: server)
    let election = try await VoterActions.fetchElection(client)
    guard let signed = try await client.tally().results else { return ["no signed results are published"] }
    guard signed.isValid(serverKey: election.serverKey) else { return ["the results are not signed by the server key"] }
    let compared = Simulation.compare(cast: expected, results: signed.results, manifest: election.manifest)
    return compared.mismatches.map { "\($0)" } + (compared.compared == 0 ? ["nothing compared"] : [])
}

/// The `expected` counts of a `voter simulate --json` summary.
func simulatedCounts(_ summary: [String: Any]) -> [String: [String: Int]] {
    (summary["expected"] as? [String: [String: Int]]) ?? [:]
}

/// One HTTP answer, read from outside: status, the API's error code, Retry-After, and how long it took.
struct HTTPAnswer: CustomStringConvertible {
    let status: Int
    let code: String?
    let retryAfter: String?
    let seconds: Double
    let failure: String?

    var description: String { "\(status) \(code ?? "-") retry-after \(retryAfter ?? "-") in \(String(format: "%.2f", seconds)) s\(failure.map { " (\($0))" } ?? "")" }

    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 60
        return URLSession(configuration: configuration)
    }()

    /// Sends one request (no retry); a transport failure is status 0.
    static func ask(_ url: String, method: String = "GET", body: Data? = nil) async -> HTTPAnswer {
        let started = Date()
        guard let target = URL(string: url) else { return HTTPAnswer(status: 0, code: nil, retryAfter: nil, seconds: 0, failure: "bad URL \(url)") }
        var request = URLRequest(url: target)
        request.httpMethod = method
        if let body {
            request.httpBody = body
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        do {
            let (data, response) = try await session.data(for: request)
            let http = response as? HTTPURLResponse
            let code = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["code"] as? String
            return HTTPAnswer(status: http?.statusCode ?? 0, code: code, retryAfter: http?.value(forHTTPHeaderField: "Retry-After"),
                              seconds: Date().timeIntervalSince(started), failure: nil)
        } catch {
            return HTTPAnswer(status: 0, code: nil, retryAfter: nil, seconds: Date().timeIntervalSince(started), failure: "\(error)")
        }
    }
}
