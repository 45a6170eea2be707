import Foundation
import Testing
import VotingCore
@testable import BallotServer

/// The server checks ballots that arrive together in one batch (eq. 49). What must hold from
/// outside: a bad ballot among good ones is refused with its own reason and the good ones are
/// accepted, whichever batch they land in; a ballot alone is still answered (bounded wait).
@Suite("Proof batches on the server")
struct ProofBatcherTests {
    let district = District(id: "d", name: "D", seats: 1, selectionLimit: 1,
                            options: (1...5).map { BallotOption(id: "o\($0)", name: "Option \($0)") })
    let electionHash = Digest(trusted: [UInt8](repeating: 7, count: 32))
    let key: GroupElement

    init() throws { key = .base(try Scalar.random()) }

    func ballot() throws -> (BallotContent, ProofContext) {
        let context = BallotContent.context(electionHash: electionHash, electionKey: key, ballotID: try BallotID.random(), district: "d")
        let choice = district.options[Int.random(in: 0..<district.options.count)].id
        return (try BallotContent.encrypt(selections: [choice], district: district, context: context).0, context)
    }

    /// The same ballot with option 3's 0-or-1 proof swapped for another ballot's.
    func tampered() throws -> (BallotContent, ProofContext) {
        let (good, context) = try ballot()
        let (other, _) = try ballot()
        var proofs = good.proofs
        proofs[2] = other.proofs[2]
        return (BallotContent(ciphertexts: good.ciphertexts, proofs: proofs, limitProof: good.limitProof), context)
    }

    @Test func badBallotAmongGoodOnesIsNamedAndTheOthersPass() async throws {
        let batcher = ProofBatcher(window: .milliseconds(20), maxBatch: 16, workers: 2)
        var items = try (0..<40).map { _ in try ballot() }
        let bad = try tampered()
        items.insert(bad, at: 17)
        let district = self.district
        let problems = await withTaskGroup(of: (Int, BallotProblem?).self) { group in
            for (i, (content, context)) in items.enumerated() {
                group.addTask { (i, await batcher.problem(of: content, in: district, context: context)) }
            }
            var all = [BallotProblem?](repeating: nil, count: items.count)
            for await (i, p) in group { all[i] = p }
            return all
        }
        #expect(problems[17] == .badRangeProof(option: "o3"))
        #expect(problems.enumerated().allSatisfy { $0.offset == 17 || $0.element == nil })
    }

    @Test func aBallotAloneIsAnsweredAndWrongShapesAreRefusedAtOnce() async throws {
        let batcher = ProofBatcher(window: .milliseconds(2), maxBatch: 128, workers: 2)
        let (good, context) = try ballot()
        #expect(await batcher.problem(of: good, in: district, context: context) == nil)
        let short = BallotContent(ciphertexts: Array(good.ciphertexts.dropLast()), proofs: Array(good.proofs.dropLast()), limitProof: good.limitProof)
        #expect(await batcher.problem(of: short, in: district, context: context) == .wrongOptionCount(expected: 5, got: 4))
        // The right ballot under another ballot's context (a copied proof) fails.
        let (_, otherContext) = try ballot()
        #expect(await batcher.problem(of: good, in: district, context: otherContext) != nil)
    }

    /// A sender of bad ballots: whatever the positions, every bad ballot is named with its own
    /// reason and every good one passes; and finding one bad ballot among 32 costs the server
    /// a bounded number of batch checks and single checks, not 32 single checks.
    @Test func bisectionNamesEveryBadBallotAndBoundsTheCost() throws {
        let goods = try (0..<32).map { _ in try ballot() }
        let bads = try (0..<3).map { _ in try tampered() }
        let district = self.district
        func items(_ list: [(BallotContent, ProofContext)]) -> [(content: BallotContent, district: District, context: ProofContext)] {
            list.map { (content: $0.0, district: district, context: $0.1) }
        }

        // All good: one batch check, nothing alone.
        var cost = ProofBatcher.Cost()
        #expect(ProofBatcher.judge(items(goods), cost: &cost).allSatisfy { $0 == nil })
        #expect(cost.batches == 1 && cost.singles == 0, "\(cost)")

        // One bad among 32, at the first, a middle and the last position.
        for position in [0, 19, 31] {
            var list = goods
            list[position] = bads[0]
            cost = ProofBatcher.Cost()
            let problems = ProofBatcher.judge(items(list), cost: &cost)
            #expect(problems[position] == .badRangeProof(option: "o3"))
            #expect(problems.enumerated().allSatisfy { $0.offset == position || $0.element == nil })
            // At most two batch checks per halving (5 halvings) after the first, and at most two ballots alone.
            #expect(cost.batches <= 1 + 2 * 5 && cost.singles <= 2, "\(cost)")
            // At most about twice the batch's own terms, where 32 single checks would cost far more.
            #expect(cost.terms <= 3 * 32 * 68, "\(cost)")
        }

        // Three bad ones at random positions among 32.
        var list = goods
        let positions = Set((0..<32).shuffled().prefix(3))
        for (n, p) in positions.sorted().enumerated() { list[p] = bads[n] }
        cost = ProofBatcher.Cost()
        let problems = ProofBatcher.judge(items(list), cost: &cost)
        for i in 0..<32 {
            if positions.contains(i) { #expect(problems[i] == .badRangeProof(option: "o3"), "ballot \(i)") } else { #expect(problems[i] == nil, "ballot \(i)") }
        }
        #expect(cost.singles <= 3 * 2 && cost.batches <= 1 + 3 * 2 * 5, "\(cost)")

        // Every ballot bad: each is still named (the cost is then that of checking each alone, and more).
        cost = ProofBatcher.Cost()
        let allBad = ProofBatcher.judge(items(bads), cost: &cost)
        #expect(allBad.allSatisfy { $0 == .badRangeProof(option: "o3") })
    }
}
