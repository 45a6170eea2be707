import Foundation
import Testing
@testable import BallotServer
import VotingCore

/// examples/ holds a copy of the bundled example election; it must stay identical to what
/// `ballot-server init` uses when no --manifest is given.
@Suite("examples/")
struct ExampleFilesTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test("examples/parliament-2026.json is the bundled example manifest, and it looks like a parliamentary election")
    func manifestMatchesBundledExample() throws {
        let file = try Data(contentsOf: Self.root.appendingPathComponent("examples/parliament-2026.json"))
        #expect(file == (try ExampleElection.manifestJSON()), "regenerate with: swift run ballot-server example --manifest-out examples/parliament-2026.json --roll-out examples/roll.csv")
        let manifest = try ElectionManifest.load(jsonData: file)
        #expect(manifest.districts.count == 30)
        #expect(manifest.districts.allSatisfy { $0.seats == 3 && (5...15).contains($0.options.count) && $0.option("against-all") != nil })
        #expect(manifest.trustees == TrusteePolicy(count: 5, quorum: 3))
    }

    @Test("examples/roll.csv parses and names only districts of the manifest")
    func rollMatchesManifest() throws {
        let text = try String(contentsOf: Self.root.appendingPathComponent("examples/roll.csv"), encoding: .utf8)
        let rows = try RollCSV.parse(text)
        #expect(rows.count == 600)
        let manifest = try ExampleElection.manifest()
        #expect(rows.allSatisfy { manifest.district($0.district) != nil && PersonalNumber.isValid($0.personalNumber) })
        #expect(Set(rows.map(\.personalNumber)).count == rows.count)
    }
}
