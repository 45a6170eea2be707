import Foundation
import Testing
@testable import VoterKit
import VotingCore

/// Three single-selection districts (d1: 4 options, d2: 3 options, d3: 2 options) and one
/// that takes two selections.
private let manifest = ElectionManifest(
    electionId: "sim-test", name: "Simulation test",
    districts: [
        District(id: "d1", name: "One", seats: 1, selectionLimit: 1,
                 options: ["a", "b", "c", "against-all"].map { BallotOption(id: $0, name: $0) }),
        District(id: "d2", name: "Two", seats: 1, selectionLimit: 1,
                 options: ["a", "b", "c"].map { BallotOption(id: $0, name: $0) }),
        District(id: "d3", name: "Three", seats: 1, selectionLimit: 1,
                 options: ["x", "y"].map { BallotOption(id: $0, name: $0) }),
        District(id: "d4", name: "Four", seats: 2, selectionLimit: 2,
                 options: ["p", "q", "r"].map { BallotOption(id: $0, name: $0) }),
    ],
    trustees: TrusteePolicy(count: 1, quorum: 1))

/// `perDistrict` voters in each district, interleaved like a real roll.
private func voters(_ perDistrict: [String: Int]) -> [Simulation.Voter] {
    var out: [Simulation.Voter] = []
    let most = perDistrict.values.max() ?? 0
    for i in 0..<most {
        for district in perDistrict.keys.sorted() where i < perDistrict[district]! {
            out.append(Simulation.Voter(personalNumber: "\(district)-\(i)", district: district, code: "CODE-\(district)-\(i)"))
        }
    }
    return out
}

private func distribution(_ json: String) throws -> Simulation.Distribution {
    try Simulation.Distribution.parse(Data(json.utf8))
}

/// The code of the VoterError `body` throws.
private func errorCode(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as VoterError {
        return error.code
    } catch {
        return "not a VoterError: \(error)"
    }
}

/// How many voters of each district the plan has marking each option.
private func tallied(_ plan: Simulation) -> [String: [String: Int]] {
    var out: [String: [String: Int]] = [:]
    for a in plan.assignments {
        for s in a.selections { out[a.voter.district, default: [:]][s, default: 0] += 1 }
    }
    return out
}

/// A fixed generator so that random plans are reproducible in tests.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("simulation plan")
struct SimulationPlanTests {
    @Test("shares are rounded by largest remainder over the district's voters, deterministically")
    func sharesLargestRemainder() throws {
        // d1 has 10 voters, a quarter each: quotas 2.5 → 2 each, the two spare units to a and b (a tie goes to the option listed first).
        // d2 has 7 voters: 0.5/0.25/0.25 → quotas 3.5, 1.75, 1.75 → 3,1,1 + two spares to b and c (remainder .75 > .5).
        let file = try distribution(#"{"d1": {"a": 0.25, "b": 0.25, "c": 0.25, "against-all": 0.25}, "d2": {"a": 0.5, "b": 0.25, "c": 0.25}}"#)
        let people = voters(["d1": 10, "d2": 7])
        let plan = try Simulation(voters: people, manifest: manifest, distribution: file)
        #expect(plan.expected["d1"] == ["a": 3, "b": 3, "c": 2, "against-all": 2])
        #expect(plan.expected["d2"] == ["a": 3, "b": 2, "c": 2])
        #expect(tallied(plan)["d1"] == ["a": 3, "b": 3, "c": 2, "against-all": 2])
        #expect(plan.assignments.count == 17)
        #expect(plan.skipped == 0)
        // Deterministic: the same file and voters give the same plan.
        let again = try Simulation(voters: people, manifest: manifest, distribution: file)
        #expect(again.assignments == plan.assignments)
        // Every voter is used once, in file order.
        #expect(plan.assignments.map(\.voter) == people)
    }

    @Test("largest remainder: floating-point quotas and ties")
    func largestRemainderArithmetic() {
        #expect(Simulation.largestRemainder(shares: [0.1, 0.2, 0.7], total: 30) == [3, 6, 21])
        #expect(Simulation.largestRemainder(shares: [0.5, 0.5], total: 3) == [2, 1], "a tie goes to the option listed first")
        #expect(Simulation.largestRemainder(shares: [0.45, 0.45, 0.1], total: 10) == [5, 4, 1])
        #expect(Simulation.largestRemainder(shares: [1, 0], total: 0) == [0, 0])
        #expect(Simulation.largestRemainder(shares: [0.2, 0.3, 0.5], total: 1) == [0, 0, 1])
        for total in [1, 2, 7, 99, 1000] {
            #expect(Simulation.largestRemainder(shares: [0.17, 0.33, 0.29, 0.21], total: total).reduce(0, +) == total)
        }
    }

    @Test("counts are cast exactly; a district's other voters and unnamed districts are not used")
    func counts() throws {
        let file = try distribution(#"{"d1": {"b": 2, "against-all": 1}, "d3": {"x": 0, "y": 4}}"#)
        let plan = try Simulation(voters: voters(["d1": 5, "d2": 3, "d3": 4]), manifest: manifest, distribution: file)
        #expect(plan.expected == ["d1": ["a": 0, "b": 2, "c": 0, "against-all": 1], "d3": ["x": 0, "y": 4]])
        #expect(tallied(plan) == ["d1": ["b": 2, "against-all": 1], "d3": ["y": 4]])
        #expect(plan.assignments.count == 7)
        #expect(plan.skipped == 5, "2 spare voters of d1 and the 3 of d2")
    }

    @Test("a district whose numbers are integers gives counts, one with a fraction gives shares")
    func countsOrShares() throws {
        let file = try distribution(#"{"d1": {"a": 1}, "d2": {"a": 1.0}, "d3": {"x": 0.5, "y": 0.5e0}}"#)
        #expect(file.districts["d1"] == .counts(["a": 1]))
        #expect(file.districts["d2"] == .shares(["a": 1.0]))
        #expect(file.districts["d3"] == .shares(["x": 0.5, "y": 0.5]))
        let plan = try Simulation(voters: voters(["d1": 3, "d2": 3]), manifest: manifest, distribution: file)
        #expect(plan.expected["d1"] == ["a": 1, "b": 0, "c": 0, "against-all": 0])
        #expect(plan.expected["d2"] == ["a": 3, "b": 0, "c": 0])
        #expect(plan.expected["d3"] == nil, "no voters of d3 among these, so nothing is cast there")
    }

    @Test("without a distribution every voter marks valid options at random, and expected counts add up")
    func random() throws {
        var generator = SplitMix(state: 42)
        let people = voters(["d1": 20, "d2": 20, "d4": 10])
        let plan = try Simulation(voters: people, manifest: manifest, distribution: nil, using: &generator)
        #expect(plan.assignments.count == 50)
        #expect(plan.skipped == 0)
        for a in plan.assignments {
            let district = try #require(manifest.district(a.voter.district))
            #expect(Selections.problem(a.selections, in: district) == nil, "\(a)")
        }
        #expect(plan.expected["d1"]?.values.reduce(0, +) == 20)
        #expect(plan.expected["d4"]?.values.reduce(0, +) == 20, "two marks per ballot in d4")
        #expect(tallied(plan).mapValues { $0.filter { $0.value > 0 } } == plan.expected.mapValues { $0.filter { $0.value > 0 } })
        #expect(Set(plan.assignments.filter { $0.voter.district == "d1" }.map(\.selections)).count > 1, "not all the same choice")
    }

    @Test("errors: unknown district or option, shares not summing to 1, counts exceeding the voters, bad files")
    func errors() throws {
        let people = voters(["d1": 3, "d2": 3])
        func plan(_ json: String, _ who: [Simulation.Voter] = people) throws {
            _ = try Simulation(voters: who, manifest: manifest, distribution: try distribution(json))
        }
        #expect(errorCode { try plan(#"{"d9": {"a": 1}}"#) } == "unknown-district")
        #expect(errorCode { try plan(#"{"d1": {"zz": 0.5, "a": 0.5}}"#) } == "unknown-option")
        #expect(errorCode { try plan(#"{"d1": {"a": 0.5, "b": 0.4}}"#) } == "invalid-distribution")
        #expect(errorCode { try plan(#"{"d1": {"a": 0.7, "b": 0.7}}"#) } == "invalid-distribution")
        #expect(errorCode { try plan(#"{"d1": {"a": 2, "b": 2}}"#) } == "not-enough-voters", "4 ballots, 3 voters of d1")
        #expect(errorCode { try plan(#"{"d1": {"a": 3}}"#) } == nil, "exactly as many as the voters is fine")
        #expect(errorCode { try plan(#"{"d1": {"a": -1}}"#) } == "invalid-distribution")
        #expect(errorCode { try plan(#"{"d1": {"a": 1.5, "b": -0.5}}"#) } == "invalid-distribution")
        #expect(errorCode { try plan(#"{"d4": {"p": 1}}"#) } == "unsupported-distribution")
        #expect(errorCode { try plan(#"{"d1": {"a": 1, "a": 2}}"#) } == "invalid-distribution")
        #expect(errorCode { try plan(#"{"d1": {"a": 1}, "d1": {"b": 1}}"#) } == "invalid-distribution")
        #expect(errorCode { try plan(#"{"d1": {}}"#) } == "invalid-distribution")
        #expect(errorCode { try plan(#"{}"#) } == "invalid-distribution")
        #expect(errorCode { try plan(#"{"d1": {"a": "1"}}"#) } == "invalid-distribution")
        #expect(errorCode { try plan(#"{"d1": {"a": 01}}"#) } == "invalid-distribution")
        #expect(errorCode { try plan(#"{"d1": {"a": 1}} x"#) } == "invalid-distribution")
        #expect(errorCode { try plan(#"["d1"]"#) } == "invalid-distribution")
        #expect(errorCode { try plan(#"{"d1": {"a": 1}}"#, people + [Simulation.Voter(personalNumber: "x", district: "nowhere", code: "c")]) } == "unknown-district")
        #expect(errorCode { _ = try Simulation.Distribution.load(path: "/nonexistent/d.json") } == "no-distribution")
    }

    @Test("the codes file: header, three fields, trailing blank lines")
    func codesFile() throws {
        let parsed = try Simulation.parseCodes("personal_number,district,code\n500101-00000,d01,ABCD-EFGH-JKLM\n 510202-00001 , d02 ,NPQR-STUV-WXYZ\n\n")
        #expect(parsed == [Simulation.Voter(personalNumber: "500101-00000", district: "d01", code: "ABCD-EFGH-JKLM"),
                           Simulation.Voter(personalNumber: "510202-00001", district: "d02", code: "NPQR-STUV-WXYZ")])
        #expect(errorCode { _ = try Simulation.parseCodes("personal_number,district\n1,d01\n") } == "invalid-codes")
        #expect(errorCode { _ = try Simulation.parseCodes("personal_number,district,code\n1,d01\n") } == "invalid-codes")
        #expect(errorCode { _ = try Simulation.loadCodes(path: "/nonexistent/codes.csv") } == "no-codes-file")
    }

    @Test("comparison with the published results: equal, a differing count, a missing district")
    func comparison() throws {
        let cast = ["d1": ["a": 2, "b": 0, "c": 1, "against-all": 0], "d3": ["x": 0, "y": 3]]
        func results(_ d1: [UInt64], _ d3: [UInt64]?) -> ElectionResults {
            var districts = [ElectionResults.District(district: "d1", roll: 5, ballots: UInt32(d1.reduce(0, +)), counts: d1, elected: [], tied: []),
                             ElectionResults.District(district: "d2", roll: 5, ballots: 4, counts: [4, 0, 0], elected: [], tied: [])]
            if let d3 { districts.append(ElectionResults.District(district: "d3", roll: 5, ballots: UInt32(d3.reduce(0, +)), counts: d3, elected: [], tied: [])) }
            return ElectionResults(quorum: [1], districts: districts)
        }
        let equal = Simulation.compare(cast: cast, results: results([2, 0, 1, 0], [0, 3]), manifest: manifest)
        #expect(equal.compared == 6, "every option of d1 and d3; d2 (others' votes) is not compared")
        #expect(equal.mismatches.isEmpty)

        let lied = Simulation.compare(cast: cast, results: results([2, 1, 1, 0], [0, 3]), manifest: manifest)
        #expect(lied.mismatches == [Simulation.Mismatch(district: "d1", option: "b", cast: 0, published: 1)])

        let missing = Simulation.compare(cast: cast, results: results([2, 0, 1, 0], nil), manifest: manifest)
        #expect(missing.mismatches == [Simulation.Mismatch(district: "d3", option: "x", cast: 0, published: nil),
                                       Simulation.Mismatch(district: "d3", option: "y", cast: 3, published: nil)])
        let json = String(decoding: try JSONEncoder().encode(missing.mismatches[0]), as: UTF8.self)
        #expect(json.contains("\"published\":null"))
    }

    @Test("percentiles are nearest-rank")
    func percentiles() {
        let values = (1...100).map(Double.init)
        #expect(Simulation.percentile(values, 0.50) == 50)
        #expect(Simulation.percentile(values, 0.95) == 95)
        #expect(Simulation.percentile(values, 0.99) == 99)
        #expect(Simulation.percentile([7], 0.99) == 7)
        #expect(Simulation.percentile([], 0.5) == 0)
    }
}
