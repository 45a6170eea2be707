import Foundation
import Testing

/// `ballot-server bench --database --instances` (issue 12): the benchmark on PostgreSQL over
/// several `serve` processes. Needs EVOTE_TEST_POSTGRES_URL; skipped without it.
@Suite("bench on PostgreSQL")
struct BenchPostgresTests {
    static let url = ProcessInfo.processInfo.environment["EVOTE_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    @Test("bench --database --instances 2 casts every ballot through two serve instances, reports CPU per ballot for each, and drops its scratch database",
          .enabled(if: url != nil, "EVOTE_TEST_POSTGRES_URL is not set: start a cluster with scripts/postgres-cluster.sh start and export its URL"))
    func benchOverTwoInstances() throws {
        guard let url = Self.url else { return }
        let outcome = try Tools.run(Tools.ballotServer, ["bench", "--voters", "10", "--clients", "2", "--tally-ballots", "0",
                                                         "--database", url, "--instances", "2", "--json"], timeout: 300)
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        let json = try outcome.json()
        #expect(json["database"] as? String == "postgresql")
        #expect(json["instances"] as? Int == 2)
        #expect((json["casting"] as? [String: Any])?["count"] as? Int == 10)
        let cpu = json["cast_cpu"] as? [String: Any]
        #expect((cpu?["server_ms_per_ballot"] as? [Any])?.count == 2, "\(outcome.stdout)")
        let left = try Tools.run(URL(fileURLWithPath: "/usr/bin/env"),
                                 ["psql", url, "-Atc", "SELECT count(*) FROM pg_database WHERE datname LIKE 'evote_bench_%'"])
        #expect(left.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "scratch databases left: \(left.stdout)\(left.stderr)")
    }

    @Test func severalInstancesNeedPostgreSQL() throws {
        let outcome = try Tools.run(Tools.ballotServer, ["bench", "--instances", "2", "--voters", "10"])
        #expect(outcome.status != 0)
        #expect((outcome.stdout + outcome.stderr).contains("--instances above 1 needs --database"), "\(outcome.stdout)\(outcome.stderr)")
    }
}
