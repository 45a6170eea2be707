import Foundation
import Testing

/// `ballot-server bench` on the embedded default: the figures performance.md quotes come from
/// this command, so its fields and its open-loop mode are checked here (never its speed).
@Suite("bench on SQLite")
struct BenchTests {
    @Test("bench --rate sends on a schedule: every ballot cast, the rate and the raw costs reported")
    func openLoopRate() throws {
        let outcome = try Tools.run(Tools.ballotServer, ["bench", "--voters", "10", "--clients", "2", "--tally-ballots", "0",
                                                         "--rate", "20", "--json"], timeout: 300)
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        let json = try outcome.json()
        #expect(json["database"] as? String == "sqlite")
        #expect(json["cast_rate"] as? Double == 20)
        let casting = json["casting"] as? [String: Any]
        #expect(casting?["count"] as? Int == 10)
        // Ten ballots due at 0, 0.05, …, 0.45 s: the phase cannot end before the last is due.
        #expect((casting?["seconds"] as? Double ?? 0) >= 0.45, "\(outcome.stdout)")
        for field in ["encrypt_us", "raw_ballot_check_us", "raw_ed25519_verify_plus_sign_us"] {
            #expect((json[field] as? Double ?? 0) > 0, "\(field): \(outcome.stdout)")
        }
        // The server's own proof batches during the casting phase: ten ballots in at least one batch.
        let batches = json["proof_batches"] as? [String: Any]
        #expect((batches?["batches"] as? Int ?? 0) >= 1, "\(outcome.stdout)")
        let mean = batches?["mean_ballots"] as? Double ?? 0
        #expect(mean >= 1 && mean <= 10, "\(outcome.stdout)")
        // The batch check's cost by batch size, over the run's own ten ballots: 1, 2, 4, 8.
        let costs = json["proof_check_by_batch_size"] as? [[String: Any]] ?? []
        #expect(costs.compactMap { $0["ballots"] as? Int } == [1, 2, 4, 8], "\(outcome.stdout)")
        #expect(costs.allSatisfy { ($0["us_per_ballot"] as? Double ?? 0) > 0 }, "\(outcome.stdout)")
    }

    /// bench-group itself is the opt-in FastP256Bench (about 20 s of CPU in a debug build); its
    /// arithmetic is FastP256Tests'. Here only that the command exists and checks its bound.
    @Test func benchGroupChecksItsBound() throws {
        let outcome = try Tools.run(Tools.ballotServer, ["bench-group", "--terms", "10", "--json"])
        #expect(outcome.status != 0)
        #expect((outcome.stdout + outcome.stderr).contains("--terms must be 64 to 1048576"), "\(outcome.stdout)\(outcome.stderr)")
    }

    @Test func aRateOutOfRangeIsRefused() throws {
        let outcome = try Tools.run(Tools.ballotServer, ["bench", "--rate", "0.5", "--voters", "10"])
        #expect(outcome.status != 0)
        #expect((outcome.stdout + outcome.stderr).contains("--rate must be"), "\(outcome.stdout)\(outcome.stderr)")
    }

    /// The capacity benchmark's election is a real one: filled through the rules, served,
    /// closed by the real command, exported, and `voter audit` passes on it.
    @Test("bench-capacity fills a real election, measures the served server and closes it; the record it leaves passes the audit")
    func capacityElectionIsReal() throws {
        let work = try Tools.temporaryDirectory("bench-capacity")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let data = work + "/election"
        // Filled and left open (--fill-only), then measured by a second run (--measure), as a
        // million-ballot election is: the fill beside other work, the measurement on an idle machine.
        let filled = try Tools.run(Tools.ballotServer, ["bench-capacity", "--ballots", "24", "--data", data, "--fill-only", "--json"], timeout: 300)
        #expect(filled.status == 0, "\(filled.stdout)\(filled.stderr)")
        let fill = try filled.json()
        #expect(fill["ballots"] as? Int == 24)
        #expect((fill["fill_s"] as? Double ?? 0) > 0, "\(filled.stdout)")
        let open = try Tools.run(Tools.ballotServer, ["status", "--data", data, "--json"])
        #expect(open.stdout.contains("\"open\""), "\(open.stdout)")

        let outcome = try Tools.run(Tools.ballotServer, ["bench-capacity", "--measure", data, "--proofs", "20", "--json"], timeout: 300)
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        let json = try outcome.json()
        #expect(json["ballots"] as? Int == 24)
        #expect(json["proofs"] as? Int == 20)
        // 24 enrollments and 24 ballots besides the set-up entries.
        #expect((json["log_entries"] as? Int ?? 0) > 48, "\(outcome.stdout)")
        for field in ["inclusion_p50_us", "inclusion_p99_us", "inclusion_in_process_p50_us", "close_s"] {
            #expect((json[field] as? Double ?? 0) > 0, "\(field): \(outcome.stdout)")
        }
        // The server's own answer times for the 20 proofs, from its request-duration histogram.
        let within = json["inclusion_server_within_1ms_share"] as? Double
        #expect((0...1).contains(within ?? -1), "\(outcome.stdout)")
        #expect((json["inclusion_server_p99_bound_us"] as? Double ?? 0) >= 250, "\(outcome.stdout)")
        for phase in ["memory_after_start", "memory_after_proofs", "memory_after_close"] {
            #expect(((json[phase] as? [String: Any])?["rss_mib"] as? Double ?? 0) > 0, "\(phase): \(outcome.stdout)")
        }
        let status = try Tools.run(Tools.ballotServer, ["status", "--data", data, "--json"])
        #expect(status.stdout.contains("\"closed\""), "\(status.stdout)")
        let export = try Tools.run(Tools.ballotServer, ["export", "--data", data, "--out", work + "/record.jsonl"])
        #expect(export.status == 0, "\(export.stdout)\(export.stderr)")
        let audit = try Tools.run(Tools.voter, ["audit", "--record", work + "/record.jsonl", "--json"])
        #expect(audit.status == 0, "\(audit.stdout.suffix(2000))")
        #expect((try? audit.json())?["passed"] as? Bool == true)

        // --measure takes only an election a stopped fill left open; this one was closed.
        let measured = try Tools.run(Tools.ballotServer, ["bench-capacity", "--measure", data, "--json"])
        #expect(measured.status != 0 && measured.stdout.contains("is not open"), "\(measured.stdout)\(measured.stderr)")

        let again = try Tools.run(Tools.ballotServer, ["bench-capacity", "--ballots", "10", "--data", data])
        #expect(again.status != 0 && (again.stdout + again.stderr).contains("exists already"), "\(again.stdout)\(again.stderr)")
        let fillOnlyAlone = try Tools.run(Tools.ballotServer, ["bench-capacity", "--ballots", "10", "--fill-only"])
        #expect(fillOnlyAlone.status != 0 && (fillOnlyAlone.stdout + fillOnlyAlone.stderr).contains("--fill-only needs --data"),
                "\(fillOnlyAlone.stdout)\(fillOnlyAlone.stderr)")
    }
}
