import Foundation
import Testing
import VoterKit
import VotingCore
@testable import BallotServer

/// Several `ballot-server serve` instances on one PostgreSQL database, driven by the real
/// binaries (issue 12): one log whatever instance appends, one ballot per voter across
/// instances, and a record that passes the audit. Needs EVOTE_TEST_POSTGRES_URL
/// (scripts/postgres-cluster.sh start); skipped without it (the PostgresStorageTests target
/// fails under CI=true when it is missing).
@Suite("several instances on PostgreSQL", .serialized)
struct PostgresInstancesTests {
    static let url = ProcessInfo.processInfo.environment["EVOTE_TEST_POSTGRES_URL"]

    /// A fresh database on the test cluster (psql), dropped by the caller.
    static func createDatabase() throws -> (url: String, drop: () -> Void) {
        guard let base = url, let parsed = URLComponents(string: base) else { throw Tools.ToolError("EVOTE_TEST_POSTGRES_URL is not set") }
        let name = "evote_e2e_\(UInt32.random(in: 0...UInt32.max))"
        let psql = URL(fileURLWithPath: "/usr/bin/env")
        let created = try Tools.run(psql, ["psql", base, "-v", "ON_ERROR_STOP=1", "-qc", "CREATE DATABASE \(name)"])
        guard created.status == 0 else { throw Tools.ToolError("CREATE DATABASE failed: \(created.stderr)") }
        var components = parsed
        components.path = "/" + name
        let dbURL = components.string ?? base
        return (dbURL, { _ = try? Tools.run(psql, ["psql", base, "-qc", "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"]) })
    }

    @discardableResult
    static func must(_ tool: URL, _ arguments: [String]) throws -> Tools.Outcome {
        let outcome = try Tools.run(tool, arguments + ["--json"], timeout: 300)
        guard outcome.status == 0 else {
            throw Tools.ToolError("\(tool.lastPathComponent) \(arguments.joined(separator: " ")) failed (\(outcome.status)): \(outcome.stdout)\(outcome.stderr)")
        }
        return outcome
    }

    @Test("three instances, one database: simulate over all three, 200 concurrent casts by one voter store one ballot, close, decrypt, audit",
          .enabled(if: url != nil, "EVOTE_TEST_POSTGRES_URL is not set: start a cluster with scripts/postgres-cluster.sh start and export its URL"))
    func threeInstances() async throws {
        let (database, drop) = try Self.createDatabase()
        defer { drop() }
        let work = try Tools.temporaryDirectory("e2e-pg-instances")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let data = work + "/election"
        let db = ["--database", database]
        try Self.must(Tools.ballotServer, ["example", "--manifest-out", work + "/m.json", "--roll-out", work + "/roll.csv",
                                           "--districts", "2", "--voters-per-district", "20"])
        try Self.must(Tools.ballotServer, ["init", "--data", data, "--manifest", work + "/m.json"] + db)
        try Self.must(Tools.ballotServer, ["roll", "import", "--data", data, "--roll", work + "/roll.csv", "--codes-out", work + "/codes.csv"] + db)
        for i in 1...5 {
            try Self.must(Tools.ballotServer, ["trustee", "keygen", "--index", "\(i)", "--name", "T\(i)", "--out", work + "/t\(i).key.json",
                                               "--public-out", work + "/t\(i).pub.json"])
            try Self.must(Tools.ballotServer, ["trustee", "add", "--data", data, "--public", work + "/t\(i).pub.json"] + db)
        }
        let servers = try (0..<3).map { _ in try ServerProcess(executable: Tools.ballotServer, dataDirectory: data, extraArguments: db + [
            "--rate-per-ip", "0", "--refusals-per-ip", "0", "--attempts-per-voter", "0"]) }
        defer { for s in servers { s.stop(signal: SIGKILL) } }
        // The ceremony and the opening through different instances.
        for i in 1...5 { try Self.must(Tools.ballotServer, ["trustee", "share", "--server", servers[i % 3].url, "--key", work + "/t\(i).key.json"]) }
        for i in 1...5 { try Self.must(Tools.ballotServer, ["trustee", "verify-shares", "--server", servers[(i + 1) % 3].url, "--key", work + "/t\(i).key.json"]) }
        try Self.must(Tools.ballotServer, ["open", "--server", servers[2].url, "--commission-key", data + "/commission.key"])

        // Simulated voters spread over the three instances.
        let simulate = try Self.must(Tools.voter, ["simulate", "--server", servers.map(\.url).joined(separator: ","), "--codes", work + "/codes.csv",
                                                   "--voters", "30", "--concurrency", "6"])
        #expect((try simulate.json()["succeeded"] as? Int) == 30, "\(simulate.stdout)")

        // One voter, 200 different ballots sent at once over the three instances: one is stored.
        let lines = try String(contentsOfFile: work + "/codes.csv", encoding: .utf8).split(separator: "\n").map(String.init)
        let last = try #require(lines.last).split(separator: ",").map(String.init)
        let outcomes: [String] = try await BallotServerClient.withPooledHTTPClient(connections: 32) { http in
            let clients = try servers.map { try BallotServerClient(baseURL: $0.url, http: http, timeoutSeconds: 60, attempts: 1) }
            let election = try await VoterActions.fetchElection(clients[0])
            let wallet = try await VoterActions.enroll(client: clients[1], personalNumber: last[0], code: last[2], election: election)
            let district = try #require(election.manifest.district(try wallet.enrolledDistrict()))
            let ballots = try (0..<200).map { i in
                try VoterActions.prepareBallot(wallet: wallet, selections: [district.options[i % district.options.count].id], election: election).0
                    .cast(with: try wallet.signingKey())
            }
            return await withTaskGroup(of: String.self) { group in
                for (i, ballot) in ballots.enumerated() {
                    group.addTask {
                        do {
                            _ = try await clients[i % 3].cast(ballot)
                            return "stored"
                        } catch let error as VoterError {
                            return error.code
                        } catch {
                            return "error"
                        }
                    }
                }
                var all: [String] = []
                for await o in group { all.append(o) }
                return all
            }
        }
        #expect(outcomes.filter { $0 == "stored" }.count == 1, "\(Dictionary(grouping: outcomes, by: { $0 }).mapValues(\.count))")
        #expect(outcomes.filter { $0 == "already-voted" }.count == 199, "\(Dictionary(grouping: outcomes, by: { $0 }).mapValues(\.count))")

        // Close through one instance, decrypt through another, audit the record from the third.
        try Self.must(Tools.ballotServer, ["close", "--server", servers[0].url, "--commission-key", data + "/commission.key"])
        for i in 1...3 { try Self.must(Tools.ballotServer, ["trustee", "decrypt", "--server", servers[1].url, "--key", work + "/t\(i).key.json"]) }
        let status = try Self.must(Tools.ballotServer, ["status", "--data", data] + db)
        let ballots = (try status.json()["districts"] as? [[String: Any]])?.reduce(0) { $0 + (($1["ballots"] as? Int) ?? 0) }
        #expect(ballots == 31, "30 simulated voters and the one voter of the 200 casts: \(status.stdout)")
        let audit = try Tools.run(Tools.voter, ["audit", "--server", servers[2].url, "--json"], timeout: 300)
        #expect(audit.status == 0, "\(audit.stdout.suffix(2000))")
        try Self.must(Tools.ballotServer, ["export", "--data", data, "--out", work + "/record.jsonl"] + db)
        let offline = try Tools.run(Tools.voter, ["audit", "--record", work + "/record.jsonl", "--json"], timeout: 300)
        #expect(offline.status == 0, "\(offline.stdout.suffix(2000))")
    }
}

extension PostgresInstancesTests {
    @Test("SIGKILL one of three instances under simulate load: voters carry on through the others, every receipt is in the log once, the audit passes",
          .enabled(if: url != nil, "EVOTE_TEST_POSTGRES_URL is not set: start a cluster with scripts/postgres-cluster.sh start and export its URL"))
    func killOneOfThree() async throws {
        let (database, drop) = try Self.createDatabase()
        defer { drop() }
        let work = try Tools.temporaryDirectory("e2e-pg-kill")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let data = work + "/election"
        let db = ["--database", database]
        try Self.must(Tools.ballotServer, ["example", "--manifest-out", work + "/m.json", "--roll-out", work + "/roll.csv",
                                           "--districts", "3", "--voters-per-district", "40"])
        try Self.must(Tools.ballotServer, ["init", "--data", data, "--manifest", work + "/m.json"] + db)
        try Self.must(Tools.ballotServer, ["roll", "import", "--data", data, "--roll", work + "/roll.csv", "--codes-out", work + "/codes.csv"] + db)
        for i in 1...5 {
            try Self.must(Tools.ballotServer, ["trustee", "keygen", "--index", "\(i)", "--name", "T\(i)", "--out", work + "/t\(i).key.json",
                                               "--public-out", work + "/t\(i).pub.json"])
            try Self.must(Tools.ballotServer, ["trustee", "add", "--data", data, "--public", work + "/t\(i).pub.json"] + db)
        }
        let arguments = db + ["--rate-per-ip", "0", "--refusals-per-ip", "0", "--attempts-per-voter", "0"]
        let servers = try (0..<3).map { _ in try ServerProcess(executable: Tools.ballotServer, dataDirectory: data, extraArguments: arguments) }
        defer { for s in servers { s.stop(signal: SIGKILL) } }
        for i in 1...5 { try Self.must(Tools.ballotServer, ["trustee", "share", "--server", servers[0].url, "--key", work + "/t\(i).key.json"]) }
        for i in 1...5 { try Self.must(Tools.ballotServer, ["trustee", "verify-shares", "--server", servers[0].url, "--key", work + "/t\(i).key.json"]) }
        try Self.must(Tools.ballotServer, ["open", "--server", servers[0].url, "--commission-key", data + "/commission.key"])

        let voters = 120
        let receipts = work + "/receipts.jsonl"
        let load = BackgroundRun(Tools.voter, ["simulate", "--server", servers.map(\.url).joined(separator: ","), "--codes", work + "/codes.csv",
                                               "--voters", "\(voters)", "--concurrency", "6", "--receipts-out", receipts, "--json"], timeout: 600)
        // Kill the second instance once a fifth of the voters have their receipt.
        var killed = false
        for _ in 0..<1200 where !load.isFinished {
            let received = (try? String(contentsOfFile: receipts, encoding: .utf8))?.split(separator: "\n").count ?? 0
            if received >= voters / 5 {
                servers[1].stop(signal: SIGKILL)
                killed = true
                break
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        let outcome = try await load.outcome()
        #expect(killed, "the load finished before the kill: \(outcome.stdout)")
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        let summary = try outcome.json()
        #expect(summary["succeeded"] as? Int == voters, "every voter carried on through the other instances: \(outcome.stdout)")
        let lines = try String(contentsOfFile: receipts, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == voters)

        // Nothing stored twice, nothing lost: the log holds exactly one ballot per voter, and the record audits.
        let status = try Self.must(Tools.ballotServer, ["status", "--data", data] + db)
        let ballots = (try status.json()["districts"] as? [[String: Any]])?.reduce(0) { $0 + (($1["ballots"] as? Int) ?? 0) }
        #expect(ballots == voters, "\(status.stdout)")
        try Self.must(Tools.ballotServer, ["close", "--server", servers[2].url, "--commission-key", data + "/commission.key"])
        for i in 1...3 { try Self.must(Tools.ballotServer, ["trustee", "decrypt", "--server", servers[0].url, "--key", work + "/t\(i).key.json"]) }
        let audit = try Tools.run(Tools.voter, ["audit", "--server", servers[2].url, "--json"], timeout: 300)
        #expect(audit.status == 0, "\(audit.stdout.suffix(2000))")
        // Every receipt printed is verified against the live log by a surviving instance.
        let first = work + "/first-receipt.json"
        try String(lines[0]).write(toFile: first, atomically: true, encoding: .utf8)
        let verified = try Tools.run(Tools.voter, ["verify", "--server", servers[0].url, "--receipt", first, "--json"])
        #expect(verified.status == 0, "\(verified.stdout)")
    }
}
