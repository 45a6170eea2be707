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
        let outcome = try Tools.run(Tools.ballotServer, ["bench-capacity", "--ballots", "24", "--proofs", "20", "--data", data, "--json"], timeout: 300)
        #expect(outcome.status == 0, "\(outcome.stdout)\(outcome.stderr)")
        let json = try outcome.json()
        #expect(json["ballots"] as? Int == 24)
        #expect(json["proofs"] as? Int == 20)
        // 24 enrollments and 24 ballots besides the set-up entries.
        #expect((json["log_entries"] as? Int ?? 0) > 48, "\(outcome.stdout)")
        for field in ["inclusion_p50_us", "inclusion_p99_us", "inclusion_in_process_p50_us", "close_s", "fill_s"] {
            #expect((json[field] as? Double ?? 0) > 0, "\(field): \(outcome.stdout)")
        }
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
    }
}
