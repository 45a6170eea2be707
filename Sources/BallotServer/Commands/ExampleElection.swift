import ArgumentParser
import Foundation
import VotingCore

/// The bundled example: a parliamentary election of 30 districts with 3 seats each and
/// 5 to 15 options per district, "against all" among them. `examples/` holds the same
/// manifest and a matching roll (a test keeps them identical).
enum ExampleElection {
    static let districtNames = [
        "Northern Coast", "Lake District", "Old Town", "River Valley", "Eastern Plains", "Harbour",
        "Upper Highlands", "Lower Highlands", "Pine Forest", "Capital Centre", "Capital North", "Capital South",
        "Western Hills", "Salt Marsh", "Iron Mountains", "Vineyards", "Twin Bridges", "Stone Gate",
        "Amber Shore", "Meadowland", "Copper Ridge", "Green Islands", "Border March", "Mill Creek",
        "Cathedral Quarter", "University Quarter", "Railway Junction", "Sunny Slopes", "Frost Valley", "Southern Cape",
    ]

    static let parties = [
        "Civic Union", "Green Alliance", "Labour Front", "Liberal Forum", "Farmers' League",
        "Social Democrats", "Reform Party", "Unity Movement", "Regional Voice", "Pensioners' Party",
        "Young Democrats", "Independent List", "Workers' Alliance", "Heritage Party",
    ]

    static let givenNames = ["Anna", "Boris", "Clara", "Daniel", "Elena", "Farid", "Greta", "Hugo", "Irina", "Jonas",
                             "Katya", "Leon", "Maria", "Nikolai", "Olga", "Pavel", "Rosa", "Stefan", "Tamara", "Viktor"]
    static let familyNames = ["Albers", "Brandt", "Costa", "Dimitrov", "Eriksen", "Fischer", "Horvat", "Ivanova",
                              "Jansen", "Kovacs", "Lindqvist", "Moreau", "Novak", "Ortega", "Petrov", "Quist",
                              "Rossi", "Schultz", "Tanaka", "Varga"]

    static func manifest() throws -> ElectionManifest {
        let districts = districtNames.enumerated().map { (i, name) -> District in
            // 4 to 14 party candidates plus "against all": 5 to 15 options.
            let candidates = 4 + (i * 7) % 11
            var options: [BallotOption] = (0..<candidates).map { c in
                let party = parties[(i + c) % parties.count]
                let person = "\(givenNames[(i * 3 + c * 7) % givenNames.count]) \(familyNames[(i * 5 + c * 3) % familyNames.count])"
                return BallotOption(id: String(format: "c%02d", c + 1), name: "\(person) (\(party))")
            }
            // Counted, shown with its share, never a seat.
            options.append(BallotOption(id: "against-all", name: "Against all",
                                        names: LocalizedNames(["ky": "Баарына каршы", "ru": "Против всех"]), electable: false))
            return District(id: String(format: "d%02d", i + 1), name: name, seats: 3, selectionLimit: 1, options: options)
        }
        let manifest = ElectionManifest(electionId: "parliament-2026-test", name: "Parliamentary Election 2026 (test election)",
                                        names: LocalizedNames(["ky": "2026-жылкы парламенттик шайлоо (сыноо шайлоосу)",
                                                               "ru": "Парламентские выборы 2026 (пробные выборы)"]),
                                        districts: districts, trustees: TrusteePolicy(count: 5, quorum: 3))
        let problems = manifest.problems()
        guard problems.isEmpty else { throw ManifestError.invalid(problems) }
        return manifest
    }

    /// A roll of `voters` voters dealt round-robin over the first `districts` districts, with
    /// made-up personal numbers of the form YYMMDD-NNNNN.
    static func roll(voters: Int, districts: Int) -> [ElectionStore.RollLine] {
        let count = max(1, min(districts, districtNames.count))
        return (0..<voters).map { serial in
            let number = String(format: "%02d%02d%02d-%05d", 50 + serial % 50, 1 + serial % 12, 1 + serial % 28, serial % 100_000)
            return ElectionStore.RollLine(personalNumber: number, district: String(format: "d%02d", serial % count + 1), line: serial + 2)
        }
    }

    static func rollCSV(_ rows: [ElectionStore.RollLine]) -> String {
        "personal_number,district\n" + rows.map { "\($0.personalNumber),\($0.district)\n" }.joined()
    }

    static func manifestJSON() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(try manifest())
        data.append(contentsOf: Array("\n".utf8))
        return data
    }
}

struct ExampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example", abstract: "Write the bundled example manifest and a matching roll CSV.")

    @Option(name: .customLong("manifest-out"), help: "Where to write the manifest JSON.")
    var manifestOut: String
    @Option(name: .customLong("roll-out"), help: "Where to write the roll CSV.")
    var rollOut: String?
    @Option(help: "Districts in the roll.")
    var districts = 30
    @Option(name: .customLong("voters-per-district"), help: "Voters per district in the roll.")
    var votersPerDistrict = 20
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (1...30).contains(districts) else { throw ValidationError("--districts must be 1 to 30") }
        guard (1...3000).contains(votersPerDistrict) else { throw ValidationError("--voters-per-district must be 1 to 3000") }
    }

    struct Result: Encodable {
        let manifest: String
        let roll: String?
        let voters: Int
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            try ExampleElection.manifestJSON().write(to: URL(fileURLWithPath: manifestOut))
            var voters = 0
            if let rollOut {
                let rows = ExampleElection.roll(voters: districts * votersPerDistrict, districts: districts)
                voters = rows.count
                try Data(ExampleElection.rollCSV(rows).utf8).write(to: URL(fileURLWithPath: rollOut))
            }
            reporter.emit(Result(manifest: manifestOut, roll: rollOut, voters: voters)) {
                "Wrote \(manifestOut)" + (rollOut.map { " and \($0) (\(voters) voters)" } ?? "")
            }
        }
    }
}
