import Foundation
import Testing
@testable import BallotServer
import VotingCore

/// No raw personal number, enrollment code or private key may appear in what a run prints
/// or publishes: the demo's output and the exported public record are searched for them.
@Suite("no secrets in outputs", .serialized)
struct NoSecretsInOutputTests {
    @Test("a demo run's output and its public record contain no personal number, code or private key")
    func demoOutputsAreClean() throws {
        let work = try Tools.temporaryDirectory("e2e-secrets")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let data = work + "/election"
        let demo = try Tools.run(Tools.ballotServer, ["demo", "--voters", "24", "--districts", "3", "--data", data], timeout: 300)
        #expect(demo.status == 0, "\(demo.stdout.suffix(2000))\(demo.stderr.suffix(2000))")
        let demoJSON = try Tools.run(Tools.ballotServer, ["demo", "--voters", "12", "--districts", "3", "--json"], timeout: 300)
        #expect(demoJSON.status == 0)
        let export = try Tools.run(Tools.ballotServer, ["export", "--data", data, "--out", work + "/record.jsonl", "--json"])
        #expect(export.status == 0, "\(export.stderr)")
        let status = try Tools.run(Tools.ballotServer, ["status", "--data", data, "--json"])
        let record = try String(contentsOfFile: work + "/record.jsonl", encoding: .utf8)
        let outputs = [demo.stdout, demo.stderr, demoJSON.stdout, demoJSON.stderr, export.stdout, export.stderr, status.stdout, status.stderr, record]
        let all = outputs.joined(separator: "\n")
        #expect(record.count > 10_000, "the record should hold the election")

        // Personal numbers of the demo's roll (the same generator the demo uses).
        for row in ExampleElection.roll(voters: 24, districts: 3) {
            #expect(!all.contains(row.personalNumber), "personal number \(row.personalNumber) appears in an output")
        }
        // Enrollment codes: XXXX-XXXX-XXXX in the Crockford alphabet.
        let codePattern = try NSRegularExpression(pattern: "\\b[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}\\b")
        let codes = codePattern.matches(in: all, range: NSRange(all.startIndex..., in: all))
            .compactMap { Range($0.range, in: all).map { String(all[$0]) } }
            .filter { $0.count == 14 }
        // Short tracking codes are four groups; an enrollment code is exactly three.
        let threeGroupCodes = codes.filter { code in
            let range = all.range(of: code)
            guard let range else { return false }
            let after = all[range.upperBound...].prefix(1)
            return after != "-"
        }
        #expect(threeGroupCodes.isEmpty, "enrollment-code-like strings appear: \(threeGroupCodes.prefix(3))")
        // Private keys and the roll secret of this election.
        #expect(!all.contains("PRIVATE KEY"))
        let dir = DataDirectory(path: data)
        for key in [try dir.serverKey(), try dir.commissionKey()] {
            #expect(!all.contains(Hex.encode(try key.rawRepresentation)), "a private key appears in an output")
        }
        #expect(!all.contains(Hex.encode(try dir.rollSecret())), "the roll secret appears in an output")
    }
}
