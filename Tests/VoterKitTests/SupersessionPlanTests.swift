import Foundation
import Testing
import VoterKit
import VotingCore

/// `voter simulate --supersede-share`: which planned voters also vote at a polling station,
/// what their supervised ballot marks, and what should then be counted (issue 14).
@Suite("simulation: supersessions at a polling station")
struct SupersessionPlanTests {
    static let manifest = ElectionManifest(
        electionId: "supersession-test", name: "Supersession test",
        districts: [
            District(id: "d1", name: "One", seats: 1, selectionLimit: 1,
                     options: ["a", "b", "c"].map { BallotOption(id: $0, name: $0) }),
            District(id: "d2", name: "Two", seats: 2, selectionLimit: 2,
                     options: ["p", "q", "r"].map { BallotOption(id: $0, name: $0) }),
            District(id: "d3", name: "Three", seats: 1, selectionLimit: 1,
                     options: [BallotOption(id: "only", name: "only")]),
        ],
        trustees: TrusteePolicy(count: 1, quorum: 1))

    static func voters(_ district: String, _ n: Int) -> [Simulation.Voter] {
        (0..<n).map { Simulation.Voter(personalNumber: "\(district)-\($0)", district: district, code: "CODE-\(district)-\($0)") }
    }

    @Test("the share is rounded to the nearest whole number (halves up) and spread evenly over the plan",
          arguments: [
            (20, 0.05, [0]), (10, 0.2, [0, 5]), (10, 0.25, [0, 3, 6]), (10, 0.04, []), (10, 0.05, [0]),
            (10, 0, []), (0, 0.5, []), (4, 1, [0, 1, 2, 3]), (7, 0.5, [0, 1, 3, 5]), (3, .nan, []),
          ] as [(Int, Double, [Int])])
    func positions(_ example: (count: Int, share: Double, expected: [Int])) {
        #expect(Simulation.supersededPositions(count: example.count, share: example.share) == example.expected)
    }

    @Test("positions are distinct, increasing and inside the plan for every count and share")
    func positionsAreValid() {
        for count in 0...60 {
            for step in 0...20 {
                let share = Double(step) / 20
                let positions = Simulation.supersededPositions(count: count, share: share)
                #expect(positions.count == min(count, Int((share * Double(count)).rounded(.toNearestOrAwayFromZero))), "\(count) × \(share)")
                #expect(positions == positions.sorted() && Set(positions).count == positions.count, "\(count) × \(share): \(positions)")
                #expect(positions.allSatisfy { (0..<count).contains($0) }, "\(count) × \(share): \(positions)")
            }
        }
    }

    @Test("the supervised ballot marks the next option in the ballot's order, wrapping; a valid ballot for multi-seat contests too")
    func stationSelections() throws {
        let d1 = try #require(Self.manifest.district("d1"))
        #expect(Simulation.stationSelections(remote: ["a"], district: d1) == ["b"])
        #expect(Simulation.stationSelections(remote: ["c"], district: d1) == ["a"])
        let d2 = try #require(Self.manifest.district("d2"))
        for remote in [["p", "q"], ["q", "r"], ["r", "p"]] {
            let inPerson = Simulation.stationSelections(remote: remote, district: d2)
            #expect(Selections.problem(inPerson, in: d2) == nil, "\(remote) → \(inPerson)")
            #expect(Set(inPerson) != Set(remote), "\(remote) → \(inPerson)")
        }
        let d3 = try #require(Self.manifest.district("d3"))
        #expect(Simulation.stationSelections(remote: ["only"], district: d3) == ["only"])
    }

    @Test("the plan: deterministic, and its expected counts are the remote ballots not superseded plus the supervised ones")
    func planExpectsSupersessions() throws {
        // d1: 6 voters, all "a" by count; a third of the plan (2 of 6) goes to the station and marks "b".
        let distribution = try Simulation.Distribution.parse(Data(#"{"d1": {"a": 6}}"#.utf8))
        let plan = try Simulation(voters: Self.voters("d1", 6), manifest: Self.manifest, distribution: distribution, supersedeShare: 1.0 / 3)
        #expect(plan.supersessions.map(\.assignment) == [0, 3])
        #expect(plan.supersessions.allSatisfy { $0.selections == ["b"] })
        #expect(plan.expected == ["d1": ["a": 4, "b": 2, "c": 0]])
        let again = try Simulation(voters: Self.voters("d1", 6), manifest: Self.manifest, distribution: distribution, supersedeShare: 1.0 / 3)
        #expect(again.supersessions == plan.supersessions)

        // Without a share, nothing changes.
        let none = try Simulation(voters: Self.voters("d1", 6), manifest: Self.manifest, distribution: distribution)
        #expect(none.supersessions.isEmpty)
        #expect(none.expected == ["d1": ["a": 6, "b": 0, "c": 0]])

        // Random ballots: still exactly one counted ballot per voter.
        var generator = SystemRandomNumberGenerator()
        let random = try Simulation(voters: Self.voters("d1", 9) + Self.voters("d2", 9), manifest: Self.manifest, distribution: nil,
                                    supersedeShare: 0.5, using: &generator)
        #expect(random.supersessions.count == 9)
        #expect(random.expected["d1"]?.values.reduce(0, +) == 9)
        #expect(random.expected["d2"]?.values.reduce(0, +) == 18)
    }

    @Test("what should be counted when some casts fail: a failed supervised ballot leaves the remote one counted")
    func countedWithFailures() throws {
        let distribution = try Simulation.Distribution.parse(Data(#"{"d1": {"a": 4}}"#.utf8))
        let plan = try Simulation(voters: Self.voters("d1", 4), manifest: Self.manifest, distribution: distribution, supersedeShare: 0.5)
        #expect(plan.supersessions.map(\.assignment) == [0, 2])
        let zeros = ["d1": ["a": 0, "b": 0, "c": 0]]
        // Voter 1's remote cast failed; voter 2's supervised ballot failed; voter 0 superseded.
        let counted = Simulation.counted(assignments: plan.assignments, remoteCast: [0, 2, 3], supersessions: plan.supersessions,
                                         supervisedCast: [0], zeros: zeros)
        #expect(counted == ["d1": ["a": 2, "b": 1, "c": 0]])
        // Nothing recorded: all zeros, every option present.
        #expect(Simulation.counted(assignments: plan.assignments, remoteCast: [], supersessions: plan.supersessions,
                                   supervisedCast: [], zeros: zeros) == zeros)
    }
}
