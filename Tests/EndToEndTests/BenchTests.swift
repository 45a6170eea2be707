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

    @Test func aRateOutOfRangeIsRefused() throws {
        let outcome = try Tools.run(Tools.ballotServer, ["bench", "--rate", "0.5", "--voters", "10"])
        #expect(outcome.status != 0)
        #expect((outcome.stdout + outcome.stderr).contains("--rate must be"), "\(outcome.stdout)\(outcome.stderr)")
    }
}
