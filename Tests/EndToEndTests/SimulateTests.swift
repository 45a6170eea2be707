import Foundation
import Testing
@testable import BallotServer
import VoterKit
import VotingCore

/// `voter simulate` as a child process against a real server: two runs at once in one
/// election; the test closes voting and has the trustees decrypt once all ballots are in.
@Suite("voter simulate against a real server", .serialized)
struct SimulateTests {
    @Test("simulate --expect: exit 0 when the results match what it cast, exit 1 when another ballot changed them")
    func simulateAndExpect() async throws {
        let work = try Tools.temporaryDirectory("e2e-simulate")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let dir = DataDirectory(path: work + "/election")
        // The example's first four districts; 3 trustees, quorum 2, to keep the ceremony short.
        let example = try ExampleElection.manifest()
        let manifest = ElectionManifest(electionId: "simulate-e2e", name: "Simulation test", districts: Array(example.districts.prefix(4)),
                                        trustees: TrusteePolicy(count: 3, quorum: 2))
        let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: manifest)
        // 24 voters over d01-d03 (8 each) for run A; 5 in d04: 4 for run B and 1 who votes on their own.
        let extra = (0..<5).map { ElectionStore.RollLine(personalNumber: "990101-9000\($0)", district: "d04", line: 100 + $0) }
        let codes = try await store.importRoll(ExampleElection.roll(voters: 24, districts: 3) + extra, rollSecret: try dir.rollSecret(), commissionKey: try dir.commissionKey()).codes
        let trustees = try await LocalTrustees.register(in: store, commissionKey: try dir.commissionKey())

        func writeCodes(_ issued: some Sequence<ElectionStore.IssuedCode>, to path: String) throws {
            let csv = "personal_number,district,code\n" + issued.map { "\($0.personalNumber),\($0.district),\($0.code)\n" }.joined()
            try csv.write(toFile: path, atomically: true, encoding: .utf8)
        }
        let mainCodes = codes.filter { $0.district != "d04" }
        let d04 = codes.filter { $0.district == "d04" }
        #expect(mainCodes.count == 24)
        try writeCodes(mainCodes, to: work + "/codes.csv")
        try writeCodes(d04.prefix(4), to: work + "/codes-b.csv")
        let loner = try #require(d04.last)

        // d01: shares of 8 voters → 4/2/2; d02: counts; d03: 0.6/0.4 of 8 → 4.8/3.2 → 5/3 (largest remainder).
        try #"{"d01": {"c01": 0.5, "c02": 0.25, "against-all": 0.25}, "d02": {"c01": 5, "c03": 3}, "d03": {"c02": 0.6, "c03": 0.4}}"#
            .write(toFile: work + "/d.json", atomically: true, encoding: .utf8)
        // Run B says d04 will hold exactly 4 votes for c01 — but the loner votes c02 there too.
        try #"{"d04": {"c01": 4}}"#.write(toFile: work + "/lie.json", atomically: true, encoding: .utf8)
        try #"{"d01": {"c99": 1}}"#.write(toFile: work + "/bad.json", atomically: true, encoding: .utf8)

        let server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path)
        defer { server.stop(signal: SIGKILL) }
        try await BallotServerClient.withPooledHTTPClient(connections: 4) { http in
            let client = try BallotServerClient(baseURL: server.url, http: http)
            try await trustees.runCeremony(client: client)

            // Before voting opens the simulator refuses with a code; a distribution naming an unknown option too.
            let early = try Tools.run(Tools.voter, ["simulate", "--server", server.url, "--codes", work + "/codes.csv",
                                                    "--voters", "24", "--concurrency", "4", "--json"])
            #expect(early.status == 2)
            #expect((try early.json()["error"] as? [String: Any])?["code"] as? String == "election-not-open", "\(early.stdout)")
            _ = try await store.changeWindow(.open, commissionKey: try dir.commissionKey())
            let bad = try Tools.run(Tools.voter, ["simulate", "--server", server.url, "--codes", work + "/codes.csv",
                                                  "--voters", "24", "--concurrency", "4", "--distribution", work + "/bad.json", "--json"])
            #expect(bad.status == 2)
            #expect((try bad.json()["error"] as? [String: Any])?["code"] as? String == "unknown-option", "\(bad.stdout)")

            let runA = BackgroundRun(Tools.voter, ["simulate", "--server", server.url, "--codes", work + "/codes.csv", "--voters", "24",
                                                   "--concurrency", "4", "--distribution", work + "/d.json", "--expect", "--wait-seconds", "90", "--json"],
                                     timeout: 150)
            let runB = BackgroundRun(Tools.voter, ["simulate", "--server", server.url, "--codes", work + "/codes-b.csv", "--voters", "4",
                                                   "--concurrency", "2", "--distribution", work + "/lie.json", "--expect", "--wait-seconds", "90", "--json"],
                                     timeout: 150)
            let election = try await VoterActions.fetchElection(client)
            let wallet = try await VoterActions.enroll(client: client, personalNumber: loner.personalNumber, code: loner.code, election: election)
            _ = try await VoterActions.cast(client: client, wallet: wallet, selections: ["c02"], election: election)

            // Once all 29 ballots are in: close, and a quorum of trustees decrypts.
            let deadline = ContinuousClock.now + .seconds(90)
            while try await store.counts().ballotsByDistrict.values.reduce(0, +) < 29 {
                guard ContinuousClock.now < deadline, !runA.isFinished, !runB.isFinished else { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await store.counts().ballotsByDistrict == ["d01": 8, "d02": 8, "d03": 8, "d04": 5])
            _ = try await store.changeWindow(.close, commissionKey: try dir.commissionKey())
            try await trustees.decrypt(client: client, indices: [1, 3])

            let a = try await runA.outcome()
            #expect(a.status == 0, "\(a.stdout)\(a.stderr)")
            let result = try a.json()
            #expect(result["voters"] as? Int == 24)
            #expect(result["succeeded"] as? Int == 24)
            #expect(result["failed"] as? Int == 0)
            #expect((result["failures_by_code"] as? [String: Any])?.isEmpty == true)
            #expect((result["seconds"] as? Double ?? 0) > 0)
            #expect((result["ballots_per_second"] as? Double ?? 0) > 0)
            let latency = try #require(result["latency_ms"] as? [String: Double])
            let (p50, p95, p99) = (latency["p50"] ?? 0, latency["p95"] ?? 0, latency["p99"] ?? 0)
            #expect(p50 > 0 && p50 <= p95 && p95 <= p99, "\(latency)")
            let expected = try #require(result["expected"] as? [String: [String: Int]])
            #expect(expected["d01"] == ["c01": 4, "c02": 2, "c03": 0, "c04": 0, "against-all": 2])
            #expect(expected["d02"]?.filter { $0.value > 0 } == ["c01": 5, "c03": 3])
            #expect(expected["d03"]?.filter { $0.value > 0 } == ["c02": 5, "c03": 3])
            #expect(expected["d04"] == nil)
            let expect = try #require(result["expect"] as? [String: Any])
            #expect(expect["checked"] as? Bool == true)
            #expect(expect["matched"] as? Bool == true)
            #expect((expect["mismatches"] as? [Any])?.isEmpty == true)

            let b = try await runB.outcome()
            #expect(b.status == 1, "\(b.stdout)\(b.stderr)")
            let lied = try b.json()
            #expect(lied["succeeded"] as? Int == 4)
            let bExpect = try #require(lied["expect"] as? [String: Any])
            #expect(bExpect["checked"] as? Bool == true)
            #expect(bExpect["matched"] as? Bool == false)
            let mismatches = try #require(bExpect["mismatches"] as? [[String: Any]])
            #expect(mismatches.count == 1)
            #expect(mismatches.first?["district"] as? String == "d04")
            #expect(mismatches.first?["option"] as? String == "c02")
            #expect(mismatches.first?["cast"] as? Int == 0)
            #expect(mismatches.first?["published"] as? Int == 1)

            // The published results agree independently.
            let tally = try await client.tally()
            let d01 = try #require(tally.results?.results.districts.first { $0.district == "d01" })
            #expect(d01.counts == [4, 2, 0, 0, 2])
        }
    }
}
