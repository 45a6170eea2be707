import Foundation
import Testing
@testable import BallotServer
#if canImport(Glibc)
import Glibc
#endif

/// Polling stations from outside (issue 14, docs/protocol.md §16): only the real binaries, a
/// real server on loopback, the commission's, the station's and the voters' commands.
@Suite("polling stations, from outside", .serialized)
struct StationTests {
    /// One district, one trustee: a whole ceremony takes two commands.
    static let manifest = """
    {"election_id": "stations", "name": "Stations", "trustees": {"count": 1, "quorum": 1},
     "districts": [{"id": "d1", "name": "Only district", "seats": 1, "selection_limit": 1,
                    "options": [{"id": "yes", "name": "Yes"}, {"id": "no", "name": "No"}]}]}
    """

    /// An election made with the real commands, with station 1 registered before the server
    /// starts, serving on loopback, open.
    struct Election {
        let dir: String
        let data: String
        let server: ServerProcess
        /// personal number → code, from codes.csv, in file order.
        let codes: [(number: String, code: String)]
        var stationKey: String { dir + "/station-1.key.json" }
        var trusteeKey: String { dir + "/t1.key.json" }

        init(in work: String, name: String, voters: Int) throws {
            dir = work + "/" + name
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            data = dir + "/election"
            try StationTests.manifest.write(toFile: dir + "/m.json", atomically: true, encoding: .utf8)
            let roll = "personal_number,district\n" + (1...voters).map { "\(name)-\($0),d1\n" }.joined()
            try roll.write(toFile: dir + "/roll.csv", atomically: true, encoding: .utf8)
            try StationTests.must(Tools.ballotServer, ["init", "--data", data, "--manifest", dir + "/m.json"])
            try StationTests.must(Tools.ballotServer, ["roll", "import", "--data", data, "--roll", dir + "/roll.csv", "--codes-out", dir + "/codes.csv"])
            try StationTests.must(Tools.ballotServer, ["trustee", "keygen", "--index", "1", "--name", "T1", "--out", dir + "/t1.key.json",
                                                       "--public-out", dir + "/t1.pub.json"])
            try StationTests.must(Tools.ballotServer, ["trustee", "add", "--data", data, "--public", dir + "/t1.pub.json"])
            try StationTests.must(Tools.ballotServer, ["station", "keygen", "--index", "1", "--name", "Consulate \(name)",
                                                       "--out", dir + "/station-1.key.json", "--public-out", dir + "/station-1.pub.json"])
            try StationTests.must(Tools.ballotServer, ["station", "add", "--data", data, "--public", dir + "/station-1.pub.json"])
            server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: data)
            try StationTests.must(Tools.ballotServer, ["trustee", "share", "--server", server.url, "--key", dir + "/t1.key.json"])
            try StationTests.must(Tools.ballotServer, ["trustee", "verify-shares", "--server", server.url, "--key", dir + "/t1.key.json"])
            try StationTests.must(Tools.ballotServer, ["open", "--server", server.url, "--commission-key", data + "/commission.key"])
            codes = try String(contentsOfFile: dir + "/codes.csv", encoding: .utf8).split(separator: "\n").dropFirst().map {
                let f = $0.split(separator: ",").map(String.init)
                return (f[0], f[2])
            }
        }

        func status() throws -> [String: Any] {
            try StationTests.must(Tools.ballotServer, ["status", "--data", data]).json()
        }

        func logSize() throws -> Int? { try status()["log_size"] as? Int }

        /// Remote plus supervised ballots recorded so far (superseded ones included).
        func ballotsRecorded() throws -> Int {
            let districts = try status()["districts"] as? [[String: Any]] ?? []
            return districts.reduce(0) { $0 + ($1["ballots"] as? Int ?? 0) + ($1["supervised"] as? Int ?? 0) }
        }

        /// Close, decrypt with the one trustee, and return the published votes per option of d1.
        func closeAndCount() throws -> [String: Int] {
            try StationTests.must(Tools.ballotServer, ["close", "--server", server.url, "--commission-key", data + "/commission.key"])
            try StationTests.must(Tools.ballotServer, ["trustee", "decrypt", "--server", server.url, "--key", trusteeKey])
            let csv = try Tools.run(Tools.ballotServer, ["results", "--data", data, "--format", "csv"])
            guard csv.status == 0 else { throw Tools.ToolError("results failed: \(csv.stdout)\(csv.stderr)") }
            var votes: [String: Int] = [:]
            // The CSV ends its lines with CRLF (RFC 4180); "\r\n" is one Character, so split on isNewline.
            for line in csv.stdout.split(whereSeparator: \.isNewline).dropFirst() {
                let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                if f.count > 4, f[0] == "d1" { votes[f[2]] = Int(f[4]) }
            }
            return votes
        }

        /// Exports the public record and runs `voter audit` on it.
        func audit() throws -> Tools.Outcome {
            try StationTests.must(Tools.ballotServer, ["export", "--data", data, "--out", dir + "/record.jsonl"])
            return try Tools.run(Tools.voter, ["audit", "--record", dir + "/record.jsonl", "--json"])
        }
    }

    @discardableResult
    static func must(_ tool: URL, _ arguments: [String]) throws -> Tools.Outcome {
        let outcome = try Tools.run(tool, arguments + ["--json"])
        guard outcome.status == 0 else {
            throw Tools.ToolError("\(tool.lastPathComponent) \(arguments.joined(separator: " ")) failed (\(outcome.status)): \(outcome.stdout)\(outcome.stderr)")
        }
        return outcome
    }

    static func errorCode(_ outcome: Tools.Outcome) -> String? {
        ((try? outcome.json())?["error"] as? [String: Any])?["code"] as? String
    }

    static func stationCast(_ e: Election, key: String, number: String, choice: String, receipt: String) -> [String] {
        ["station", "cast", "--server", e.server.url, "--key", key, "--personal-number", number, "--choice", choice,
         "--receipt-out", receipt, "--json"]
    }

    @Test("a remote cast and a station cast for the same voter at the same moment: exactly one counted per voter, the station's")
    func supersessionUnderConcurrency() async throws {
        let work = try Tools.temporaryDirectory("e2e-station-race")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let voters = 5
        let e = try Election(in: work, name: "race", voters: voters)
        defer { e.server.stop(signal: SIGKILL) }
        for (i, voter) in e.codes.enumerated() {
            try Self.must(Tools.voter, ["enroll", "--server", e.server.url, "--personal-number", voter.number, "--code", voter.code,
                                        "--wallet", work + "/w\(i).json"])
        }
        // Every voter at once, both ways: "yes" from home, "no" at the station.
        var runs: [(remote: BackgroundRun, station: BackgroundRun)] = []
        for (i, voter) in e.codes.enumerated() {
            let remote = BackgroundRun(Tools.voter, ["cast", "--server", e.server.url, "--wallet", work + "/w\(i).json", "--choice", "yes",
                                                     "--receipt-out", work + "/remote-\(i).json", "--json"], timeout: 120)
            let station = BackgroundRun(Tools.ballotServer, Self.stationCast(e, key: e.stationKey, number: voter.number, choice: "no",
                                                                             receipt: work + "/station-\(i).json"), timeout: 120)
            runs.append((remote, station))
        }
        var supersededAtOnce = 0
        for (i, run) in runs.enumerated() {
            let remote = try await run.remote.outcome()
            let station = try await run.station.outcome()
            // A remote ballot after an in-person one still gets an ordinary receipt (docs/observers.md):
            // either order ends with both commands succeeding, and only one ballot counted.
            #expect(remote.status == 0, "voter \(i) remote: \(remote.stdout)\(remote.stderr)")
            #expect(station.status == 0, "voter \(i) station: \(station.stdout)\(station.stderr)")
            if (try? station.json())?["superseded_remote"] as? Bool == true { supersededAtOnce += 1 }
        }
        #expect(try e.ballotsRecorded() == 2 * voters)
        let votes = try e.closeAndCount()
        #expect(votes == ["yes": 0, "no": voters], "one counted ballot per voter, the supervised one: \(votes) (\(supersededAtOnce) superseded at once)")
        let audit = try e.audit()
        #expect(audit.status == 0, "\(audit.stdout.suffix(2000))\(audit.stderr)")
    }

    @Test("refused and nothing stored: an unregistered station, another election's station key, a second station ballot")
    func refusalsStoreNothing() async throws {
        let work = try Tools.temporaryDirectory("e2e-station-refusals")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let a = try Election(in: work, name: "a", voters: 4)
        defer { a.server.stop(signal: SIGKILL) }
        let b = try Election(in: work, name: "b", voters: 2)
        defer { b.server.stop(signal: SIGKILL) }
        let voter = a.codes[0]

        // A station that made its key but was never added by the commission.
        try Self.must(Tools.ballotServer, ["station", "keygen", "--index", "2", "--name", "Unregistered", "--out", work + "/s2.key.json",
                                           "--public-out", work + "/s2.pub.json"])
        var before = try a.logSize()
        let unregistered = try Tools.run(Tools.ballotServer, Self.stationCast(a, key: work + "/s2.key.json", number: voter.number, choice: "yes",
                                                                             receipt: work + "/unregistered.json"))
        #expect(unregistered.status == 2)
        #expect(Self.errorCode(unregistered) == "not-a-station", "\(unregistered.stdout)\(unregistered.stderr)")
        #expect(try a.logSize() == before)
        #expect(!FileManager.default.fileExists(atPath: work + "/unregistered.json"))

        // Election B's station 1 against election A (whose station 1 has another key).
        let foreign = try Tools.run(Tools.ballotServer, Self.stationCast(a, key: b.stationKey, number: voter.number, choice: "yes",
                                                                        receipt: work + "/foreign.json"))
        #expect(foreign.status == 2)
        #expect(Self.errorCode(foreign) == "bad-request-signature", "\(foreign.stdout)\(foreign.stderr)")
        #expect(try a.logSize() == before)
        #expect(!FileManager.default.fileExists(atPath: work + "/foreign.json"))

        // The simulator checks the station before sending anything.
        let simulated = try Tools.run(Tools.voter, ["simulate", "--server", a.server.url, "--codes", a.dir + "/codes.csv", "--voters", "2",
                                                    "--concurrency", "1", "--supersede-share", "0.5", "--station-key", b.stationKey, "--json"])
        #expect(simulated.status == 2)
        #expect(Self.errorCode(simulated) == "station-not-registered", "\(simulated.stdout)\(simulated.stderr)")
        #expect(try a.logSize() == before)

        // The voter's first station ballot is taken; a second, from the same station, is refused.
        try Self.must(Tools.ballotServer, Self.stationCast(a, key: a.stationKey, number: voter.number, choice: "no",
                                                           receipt: work + "/first.json").filter { $0 != "--json" })
        before = try a.logSize()
        let second = try Tools.run(Tools.ballotServer, Self.stationCast(a, key: a.stationKey, number: voter.number, choice: "yes",
                                                                       receipt: work + "/second.json"))
        #expect(second.status == 2)
        #expect(Self.errorCode(second) == "already-voted-in-person", "\(second.stdout)\(second.stderr)")
        #expect(try a.logSize() == before)
        #expect(!FileManager.default.fileExists(atPath: work + "/second.json"))
        // Nothing of the refusals reached election B either.
        #expect(try b.ballotsRecorded() == 0)
    }

    @Test("voter simulate's flags are checked before anything is sent, with codes and --json")
    func simulateFlags() throws {
        let work = try Tools.temporaryDirectory("e2e-station-flags")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let base = ["simulate", "--server", "http://127.0.0.1:9", "--codes", work + "/none.csv", "--voters", "1", "--concurrency", "1", "--json"]
        for (extra, code) in [(["--supersede-share", "1.5"], "invalid-supersede-share"),
                              (["--supersede-share=-0.1"], "invalid-supersede-share"),
                              (["--supersede-share", "nan"], "invalid-supersede-share"),
                              (["--supersede-share", "a lot"], "invalid-supersede-share"),
                              (["--supersede-share", "0.05"], "station-key-required"),
                              (["--supersede-share", "0.05", "--station-key", work + "/missing.json"], "no-key-file")] {
            let refused = try Tools.run(Tools.voter, base + extra)
            #expect(refused.status == 2, "\(extra): \(refused.stdout)\(refused.stderr)")
            #expect(Self.errorCode(refused) == code, "\(extra): \(refused.stdout)\(refused.stderr)")
        }
        // Without --json: the same code as a sentence on standard error.
        let plain = try Tools.run(Tools.voter, Array(base.dropLast()) + ["--supersede-share", "2"])
        #expect(plain.status == 2)
        #expect(plain.stderr.hasPrefix("error[invalid-supersede-share]: "), "\(plain.stderr)")
    }

    @Test("voter simulate --supersede-share 0.2 --station-key … --expect: the published counts are the remote ballots not superseded plus the supervised ones")
    func simulateWithSupersessions() async throws {
        let work = try Tools.temporaryDirectory("e2e-station-simulate")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let voters = 10
        let e = try Election(in: work, name: "sim", voters: voters)
        defer { e.server.stop(signal: SIGKILL) }
        let run = BackgroundRun(Tools.voter, ["simulate", "--server", e.server.url, "--codes", e.dir + "/codes.csv", "--voters", "\(voters)",
                                              "--concurrency", "3", "--supersede-share", "0.2", "--station-key", e.stationKey,
                                              "--expect", "--wait-seconds", "90", "--json"], timeout: 150)
        // Once all remote and supervised ballots are in (0.2 × 10 = 2 supervised): close, and the trustee decrypts.
        let deadline = ContinuousClock.now + .seconds(90)
        while try e.ballotsRecorded() < voters + 2, ContinuousClock.now < deadline, !run.isFinished {
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(try e.ballotsRecorded() == voters + 2)
        let votes = try e.closeAndCount()
        let outcome = try await run.outcome()
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        let result = try outcome.json()
        #expect(result["succeeded"] as? Int == voters)
        #expect(result["supersede_share"] as? Double == 0.2)
        #expect(result["supervised"] as? Int == 2)
        #expect(result["superseded"] as? Int == 2)
        #expect(result["supervised_failed"] as? Int == 0)
        let expected = try #require(result["expected"] as? [String: [String: Int]])
        #expect(expected["d1"] == votes, "simulate expected \(String(describing: expected["d1"])), the results say \(votes)")
        #expect(votes.values.reduce(0, +) == voters, "one counted ballot per voter: \(votes)")
        let expect = try #require(result["expect"] as? [String: Any])
        #expect(expect["checked"] as? Bool == true)
        #expect(expect["matched"] as? Bool == true, "\(outcome.stdout)")
        let audit = try e.audit()
        #expect(audit.status == 0, "\(audit.stdout.suffix(2000))\(audit.stderr)")
    }
}
