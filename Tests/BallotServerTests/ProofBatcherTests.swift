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
}
