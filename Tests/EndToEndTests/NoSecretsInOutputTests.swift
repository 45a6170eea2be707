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
        // Enrollment codes. v2 codes (XXXX-XXXX-XXXX-XXXX) have the shape of short tracking
        // codes, so no pattern tells them apart; instead take the codes the demo's voters
        // used from the record's enrollment entries (published there by design, single use,
        // hex inside the entry bytes) and look for them, dashed or not, in what was printed.
        var used: [String] = []
        for line in record.split(separator: "\n") {
            guard case .entry(let body) = try RecordItem.parse(line: Data(line.utf8)), body.kind == .enrollment else { continue }
            used.append(try Enrollment.decode(canonical: try LogEntry.decode(canonical: body.data.bytes).payload).code)
        }
        #expect(used.count == 24, "every demo voter enrolled")
        let printed = [demo.stdout, demo.stderr, export.stdout, export.stderr, status.stdout, status.stderr].joined(separator: "\n")
        for code in used {
            let dashed = stride(from: 0, to: code.count, by: 4).map { String(code.dropFirst($0).prefix(4)) }.joined(separator: "-")
            #expect(!printed.contains(code) && !printed.contains(dashed), "enrollment code \(dashed) appears in an output")
            // In the record it is only inside the enrollment entry's bytes, never as text.
            #expect(!record.contains(code) && !record.contains(dashed), "enrollment code \(dashed) appears as text in the record")
        }
        // Private keys and the roll secret of this election.
        #expect(!all.contains("PRIVATE KEY"))
        let dir = DataDirectory(path: data)
        for key in [try dir.serverKey(), try dir.commissionKey()] {
            #expect(!all.contains(Hex.encode(try key.rawRepresentation)), "a private key appears in an output")
        }
        #expect(!all.contains(Hex.encode(try dir.rollSecret())), "the roll secret appears in an output")
    }
}
