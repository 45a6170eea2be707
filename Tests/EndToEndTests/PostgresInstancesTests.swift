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

    static let disabledReason: Comment = "EVOTE_TEST_POSTGRES_URL is not set: start a cluster with scripts/postgres-cluster.sh start and export its URL"

    /// An election on a fresh database of the test cluster (EVOTE_TEST_POSTGRES_URL).
    static func election(_ label: String, districts: Int, votersPerDistrict: Int) throws -> PostgresElection {
        guard let url else { throw Tools.ToolError("EVOTE_TEST_POSTGRES_URL is not set") }
        return try PostgresElection(label, cluster: url, districts: districts, votersPerDistrict: votersPerDistrict)
    }

    @Test("three instances, one database: simulate over all three, 200 concurrent casts by one voter store one ballot, close, decrypt, audit",
          .enabled(if: url != nil, disabledReason))
    func threeInstances() async throws {
        let election = try Self.election("e2e-pg-instances", districts: 2, votersPerDistrict: 20)
        defer { election.cleanUp() }
        let servers = try election.startInstances(3, ["--rate-per-ip", "0", "--refusals-per-ip", "0", "--attempts-per-voter", "0"])
        defer { for s in servers { s.stop(signal: SIGKILL) } }
        // The ceremony and the opening through different instances.
        try election.open(through: servers)

        // Simulated voters spread over the three instances.
        let simulate = try PostgresElection.must(Tools.voter, ["simulate", "--server", servers.map(\.url).joined(separator: ","),
                                                               "--codes", election.codes, "--voters", "30", "--concurrency", "6"])
        #expect((try simulate.json()["succeeded"] as? Int) == 30, "\(simulate.stdout)")

        // One voter, 200 different ballots sent at once over the three instances: one is stored.
        let lines = try String(contentsOfFile: election.codes, encoding: .utf8).split(separator: "\n").map(String.init)
        let last = try #require(lines.last).split(separator: ",").map(String.init)
        let outcomes: [String] = try await BallotServerClient.withPooledHTTPClient(connections: 32) { http in
            let clients = try servers.map { try BallotServerClient(baseURL: $0.url, http: http, timeoutSeconds: 60, attempts: 1) }
            let info = try await VoterActions.fetchElection(clients[0])
            let wallet = try await VoterActions.enroll(client: clients[1], personalNumber: last[0], code: last[2], election: info)
            let district = try #require(info.manifest.district(try wallet.enrolledDistrict()))
            let ballots = try (0..<200).map { i in
                try VoterActions.prepareBallot(wallet: wallet, selections: [district.options[i % district.options.count].id], election: info).0
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
        try election.closeAndDecrypt(close: servers[0], decrypt: servers[1])
        #expect(try election.storedBallots() == 31, "30 simulated voters and the one voter of the 200 casts")
        let audit = try Tools.run(Tools.voter, ["audit", "--server", servers[2].url, "--json"], timeout: 300)
        #expect(audit.status == 0, "\(audit.stdout.suffix(2000))")
        let offline = try Tools.run(Tools.voter, ["audit", "--record", try election.exportRecord("record.jsonl"), "--json"], timeout: 300)
        #expect(offline.status == 0, "\(offline.stdout.suffix(2000))")
    }
}

extension PostgresInstancesTests {
    @Test("SIGKILL one of three instances under simulate load: voters carry on through the others, every receipt is in the log once, the audit passes",
          .enabled(if: url != nil, disabledReason))
    func killOneOfThree() async throws {
        let election = try Self.election("e2e-pg-kill", districts: 3, votersPerDistrict: 40)
        defer { election.cleanUp() }
        let servers = try election.startInstances(3, ["--rate-per-ip", "0", "--refusals-per-ip", "0", "--attempts-per-voter", "0"])
        defer { for s in servers { s.stop(signal: SIGKILL) } }
        try election.open(through: servers)

        let voters = 120
        let receipts = election.work + "/receipts.jsonl"
        let load = BackgroundRun(Tools.voter, ["simulate", "--server", servers.map(\.url).joined(separator: ","), "--codes", election.codes,
                                               "--voters", "\(voters)", "--concurrency", "6", "--receipts-out", receipts, "--json"], timeout: 600)
        // Kill the second instance once a fifth of the voters have their receipt.
        let killed = try await PostgresElection.when(receipts, reach: voters / 5, before: load) { servers[1].stop(signal: SIGKILL) }
        let outcome = try await load.outcome()
        #expect(killed, "the load finished before the kill: \(outcome.stdout)")
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        #expect(try outcome.json()["succeeded"] as? Int == voters, "every voter carried on through the other instances: \(outcome.stdout)")

        // Nothing stored twice, nothing lost: one ballot per voter, each receipt's ballot in the record once, every receipt verifies.
        let problems = try election.lossCheck(receipts: receipts, voters: voters, verifyAgainst: servers[0].url)
        #expect(problems.isEmpty, "\(problems)")
        try election.closeAndDecrypt(close: servers[2], decrypt: servers[0])
        let audit = try Tools.run(Tools.voter, ["audit", "--server", servers[2].url, "--json"], timeout: 300)
        #expect(audit.status == 0, "\(audit.stdout.suffix(2000))")
    }
}
