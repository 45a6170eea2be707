import Testing
@testable import VotingCore

/// Shares and turnout computed from signed counts, as every results output shows them.
@Suite("result shares and turnout")
struct ResultSharesTests {
    func district(_ counts: [UInt64], ballots: UInt32, roll: UInt32) -> ElectionResults.District {
        ElectionResults.District(district: "d", roll: roll, ballots: ballots, counts: counts, elected: [], tied: [])
    }

    @Test("largest remainder: three equal counts give 33.4, 33.3, 33.3 (sum exactly 100)")
    func thirds() {
        #expect(district([1, 1, 1], ballots: 3, roll: 10).shares() == ["33.4", "33.3", "33.3"])
        #expect(district([1, 1, 1], ballots: 3, roll: 10).shares(digits: 0) == ["34", "33", "33"])
        #expect(district([2, 0, 1], ballots: 3, roll: 3).shares(digits: 2) == ["66.67", "0.00", "33.33"])
        #expect(district([5], ballots: 5, roll: 5).shares() == ["100.0"])
    }

    @Test("no votes: no shares; empty roll: no turnout")
    func empty() {
        #expect(district([0, 0], ballots: 0, roll: 4).shares() == nil)
        #expect(district([0, 0], ballots: 0, roll: 4).turnout() == "0.0")
        #expect(district([], ballots: 0, roll: 0).turnout() == nil)
    }

    @Test("turnout rounds half up")
    func turnout() {
        #expect(district([1], ballots: 1, roll: 3).turnout() == "33.3")
        #expect(district([2], ballots: 2, roll: 3).turnout() == "66.7")
        #expect(district([1], ballots: 1, roll: 8).turnout(digits: 2) == "12.50")
        #expect(district([3], ballots: 3, roll: 3).turnout() == "100.0")
    }

    @Test("shares always add up to exactly 100 (random counts)", arguments: 0..<50)
    func sumsTo100(_ seed: Int) {
        var rng = SystemRandomNumberGenerator()
        let n = Int.random(in: 1...14, using: &rng)
        let counts = (0..<n).map { _ in UInt64.random(in: 0...1_000_000, using: &rng) } + [1]
        for digits in 0...3 {
            let shares = district(counts, ballots: 1, roll: 1).shares(digits: digits) ?? []
            #expect(shares.count == counts.count)
            var scale = 1
            for _ in 0..<digits { scale *= 10 }
            let units = shares.map { Int($0.replacingOccurrences(of: ".", with: "")) ?? -1 }
            #expect(units.reduce(0, +) == 100 * scale, "\(counts) → \(shares)")
            // Each share is within one unit of the exact value.
            let total = Double(counts.reduce(0, +))
            for (count, unit) in zip(counts, units) {
                #expect(abs(Double(count) / total * 100 * Double(scale) - Double(unit)) < 1.0)
            }
        }
    }
}
