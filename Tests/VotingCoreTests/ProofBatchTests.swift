import Foundation
import Testing
@testable import VotingCore

// Checking many ballot proofs at once (docs/protocol.md §11.13, eq. 49): every equation is
// weighted with a secret random 128-bit weight and all are folded into one multi-scalar
// multiplication. A batch must accept exactly the valid sets, and when it refuses, the
// ballot-by-ballot and proof-by-proof fallback must name exactly the bad ballot and proof.

/// Three ballots of the test election (two districts, selection limits 1 and 2) under one key.
private struct Batch {
    struct Entry {
        let district: District
        let context: ProofContext
        let content: BallotContent
    }

    let key: GroupElement
    let entries: [Entry]

    init() throws {
        key = .base(try TestElections.electionSecret())
        let hash = SHA256.hash(Array("proof-batch-election".utf8))
        var entries: [Entry] = []
        for (selections, districtID) in [(["b"], "north"), (["p", "s"], "south"), (["c"], "north")] {
            let (ballot, _) = try TestElections.ballot(selections, district: districtID, electionHash: hash, electionKey: key)
            let district = try #require(TestElections.manifest.district(districtID))
            let context = BallotContent.context(electionHash: hash, electionKey: key, ballotID: ballot.ballotID, district: districtID)
            entries.append(Entry(district: district, context: context, content: ballot.content))
        }
        self.entries = entries
    }

    /// Whether eq. 49 holds over every proof of `contents` (one per entry, in order). The
    /// pure-Swift multiplication must agree with OpenSSL's EC_POINTs_mul on the same weighted
    /// equation, valid or tampered.
    func holds(_ contents: [BallotContent]) -> Bool {
        var batch = ProofBatch(electionKey: key)
        for (entry, content) in zip(entries, contents) { content.addEquations(in: entry.district, context: entry.context, to: &batch) }
        let verdict = batch.holds()
        #expect(verdict == batch.holdsUsingOpenSSL(), "pure-Swift MSM and OpenSSL disagree on the same batch")
        return verdict
    }

    /// The ballot-by-ballot fallback: each ballot's own verdict (itself a batch that, when it
    /// fails, checks proof by proof and names the first that fails).
    func problems(_ contents: [BallotContent]) -> [BallotProblem?] {
        zip(entries, contents).map { entry, content in content.problem(in: entry.district, context: entry.context) }
    }
}

/// One field of one proof of a ballot.
enum ProofField: String, CaseIterable, Sendable {
    case a0, b0, a1, b1, c0, z0, z1
    case limitA = "limit a", limitB = "limit b", limitZ = "limit z"

    var isLimitProof: Bool { [.limitA, .limitB, .limitZ].contains(self) }
}

/// `content` with one field changed: a scalar + 1, a point + G (both stay valid encodings).
private func tamper(_ content: BallotContent, option i: Int, field: ProofField) -> BallotContent {
    let G = GroupElement.generator
    var proofs = content.proofs
    var limit = content.limitProof
    let p = proofs[i]
    switch field {
    case .a0: proofs[i] = ZeroOrOneProof(a0: p.a0 + G, b0: p.b0, a1: p.a1, b1: p.b1, c0: p.c0, z0: p.z0, z1: p.z1)
    case .b0: proofs[i] = ZeroOrOneProof(a0: p.a0, b0: p.b0 + G, a1: p.a1, b1: p.b1, c0: p.c0, z0: p.z0, z1: p.z1)
    case .a1: proofs[i] = ZeroOrOneProof(a0: p.a0, b0: p.b0, a1: p.a1 + G, b1: p.b1, c0: p.c0, z0: p.z0, z1: p.z1)
    case .b1: proofs[i] = ZeroOrOneProof(a0: p.a0, b0: p.b0, a1: p.a1, b1: p.b1 + G, c0: p.c0, z0: p.z0, z1: p.z1)
    case .c0: proofs[i] = ZeroOrOneProof(a0: p.a0, b0: p.b0, a1: p.a1, b1: p.b1, c0: p.c0 + .one, z0: p.z0, z1: p.z1)
    case .z0: proofs[i] = ZeroOrOneProof(a0: p.a0, b0: p.b0, a1: p.a1, b1: p.b1, c0: p.c0, z0: p.z0 + .one, z1: p.z1)
    case .z1: proofs[i] = ZeroOrOneProof(a0: p.a0, b0: p.b0, a1: p.a1, b1: p.b1, c0: p.c0, z0: p.z0, z1: p.z1 + .one)
    case .limitA: limit = KnownValueProof(a: limit.a + G, b: limit.b, z: limit.z)
    case .limitB: limit = KnownValueProof(a: limit.a, b: limit.b + G, z: limit.z)
    case .limitZ: limit = KnownValueProof(a: limit.a, b: limit.b, z: limit.z + .one)
    }
    return BallotContent(ciphertexts: content.ciphertexts, proofs: proofs, limitProof: limit)
}

@Suite("Batch verification of ballot proofs (eq. 49)")
struct ProofBatchTests {
    @Test("a batch of valid ballots verifies (every time: the weights are fresh), and so does each ballot and proof alone")
    func validBatch() throws {
        let b = try Batch()
        let contents = b.entries.map(\.content)
        for _ in 0..<3 {
            #expect(b.holds(contents))
        }
        #expect(b.problems(contents).allSatisfy { $0 == nil })
        for entry in b.entries {
            for (ct, proof) in zip(entry.content.ciphertexts, entry.content.proofs) {
                #expect(proof.verify(ciphertext: ct, context: entry.context))
            }
            #expect(entry.content.limitProof.verify(ciphertexts: entry.content.ciphertexts,
                                                    value: UInt64(entry.district.selectionLimit), context: entry.context))
        }
    }

    @Test("one changed field in one proof of one ballot: the batch fails and the fallback names exactly that ballot and proof",
          arguments: ProofField.allCases)
    func singleChange(_ field: ProofField) throws {
        let b = try Batch()
        let contents = b.entries.map(\.content)
        for (victim, entry) in b.entries.enumerated() {
            let options = field.isLimitProof ? [0] : Array(entry.district.options.indices)
            for option in options {
                var changed = contents
                changed[victim] = tamper(entry.content, option: option, field: field)
                let what = "\(field.rawValue) of ballot \(victim)" + (field.isLimitProof ? "" : ", option \(option)")
                #expect(!b.holds(changed), "batch accepted a changed \(what)")

                // Ballot by ballot: only the victim fails, and it names the changed proof.
                let expected: BallotProblem = field.isLimitProof
                    ? .badLimitProof(limit: entry.district.selectionLimit)
                    : .badRangeProof(option: entry.district.options[option].id)
                let problems = b.problems(changed)
                for (i, problem) in problems.enumerated() {
                    #expect(problem == (i == victim ? expected : nil), "\(what): ballot \(i) reported \(String(describing: problem))")
                }
                // Proof by proof inside the victim: exactly the changed proof fails.
                let c = changed[victim]
                for (j, (ct, proof)) in zip(c.ciphertexts, c.proofs).enumerated() {
                    let shouldFail = !field.isLimitProof && j == option
                    #expect(proof.verify(ciphertext: ct, context: entry.context) != shouldFail, "\(what): 0/1 proof \(j)")
                }
                #expect(c.limitProof.verify(ciphertexts: c.ciphertexts, value: UInt64(entry.district.selectionLimit),
                                            context: entry.context) != field.isLimitProof, "\(what): limit proof")
            }
        }
    }

    @Test("a ballot's limit proof adds to its ciphertexts' terms instead of repeating them: 6 terms per option + 2")
    func limitProofSharesTerms() throws {
        let b = try Batch()
        for entry in b.entries {
            var batch = ProofBatch(electionKey: b.key)
            entry.content.addEquations(in: entry.district, context: entry.context, to: &batch)
            #expect(batch.termCount == 6 * entry.district.options.count + 2)
            #expect(batch.holds() && batch.holdsUsingOpenSSL())
        }
    }

    @Test("two errors that cancel without weights (z0 + 1 in one proof, z0 − 1 in another) are still caught")
    func compensatingErrors() throws {
        let b = try Batch()
        // Changing z0 leaves the challenge alone, so the two broken equations differ by +G/+K and
        // −G/−K: their plain sum is O, only the random weights of eq. 49 tell them apart.
        let first = b.entries[0].content, second = b.entries[1].content
        let p = first.proofs[0], q = second.proofs[0]
        let up = BallotContent(ciphertexts: first.ciphertexts,
                               proofs: [ZeroOrOneProof(a0: p.a0, b0: p.b0, a1: p.a1, b1: p.b1, c0: p.c0, z0: p.z0 + .one, z1: p.z1)]
                                   + first.proofs.dropFirst(),
                               limitProof: first.limitProof)
        let down = BallotContent(ciphertexts: second.ciphertexts,
                                 proofs: [ZeroOrOneProof(a0: q.a0, b0: q.b0, a1: q.a1, b1: q.b1, c0: q.c0, z0: q.z0 - .one, z1: q.z1)]
                                     + second.proofs.dropFirst(),
                                 limitProof: second.limitProof)
        let changed = [up, down, b.entries[2].content]
        #expect(!b.holds(changed))
        #expect(b.problems(changed) == [.badRangeProof(option: "a"), .badRangeProof(option: "p"), nil])
        // The same pair inside one proof: z0 + 1 and z1 − 1 (equations 1–2 against 3–4).
        let both = BallotContent(ciphertexts: first.ciphertexts,
                                 proofs: [ZeroOrOneProof(a0: p.a0, b0: p.b0, a1: p.a1, b1: p.b1, c0: p.c0, z0: p.z0 + .one, z1: p.z1 - .one)]
                                     + first.proofs.dropFirst(),
                                 limitProof: first.limitProof)
        #expect(!b.holds([both, second, b.entries[2].content]))
    }

    @Test("a changed ciphertext breaks its 0/1 proof and the limit proof; the fallback names the 0/1 proof first")
    func changedCiphertext() throws {
        let b = try Batch()
        var contents = b.entries.map(\.content)
        let c = contents[1]
        var cts = c.ciphertexts
        cts[2] = Ciphertext(alpha: cts[2].alpha, beta: cts[2].beta + .generator)
        contents[1] = BallotContent(ciphertexts: cts, proofs: c.proofs, limitProof: c.limitProof)
        #expect(!b.holds(contents))
        #expect(b.problems(contents) == [nil, .badRangeProof(option: "r"), nil])
        #expect(!contents[1].limitProof.verify(ciphertexts: cts, value: 2, context: b.entries[1].context))
    }

    @Test("the empty batch holds; equations on K need the key; a ballot of the wrong shape breaks the whole batch")
    func edges() throws {
        #expect(ProofBatch(electionKey: nil).holds())
        #expect(ProofBatch(electionKey: .generator).holds())

        let b = try Batch()
        // A 0/1 proof's equations involve K: a batch that does not know K cannot accept them.
        var keyless = ProofBatch(electionKey: nil)
        b.entries[0].content.addEquations(in: b.entries[0].district, context: b.entries[0].context, to: &keyless)
        #expect(!keyless.holds())

        // One ciphertext (and its proof) missing from one ballot: not even equations, the batch fails.
        var contents = b.entries.map(\.content)
        let c = contents[2]
        contents[2] = BallotContent(ciphertexts: Array(c.ciphertexts.dropLast()), proofs: Array(c.proofs.dropLast()), limitProof: c.limitProof)
        #expect(!b.holds(contents))
        #expect(b.problems(contents) == [nil, nil, .wrongOptionCount(expected: 3, got: 2)])
        // A proof missing with all ciphertexts present.
        contents[2] = BallotContent(ciphertexts: c.ciphertexts, proofs: Array(c.proofs.dropLast()), limitProof: c.limitProof)
        #expect(!b.holds(contents))
        #expect(b.problems(contents) == [nil, nil, .wrongProofCount(expected: 3, got: 2)])
    }

    @Test("proofs made for another ballot id or another election fail in the batch like any other")
    func wrongContext() throws {
        let b = try Batch()
        let entry = b.entries[0]
        let elsewhere = BallotContent.context(electionHash: entry.context.electionHash, electionKey: b.key,
                                              ballotID: TestElections.ballotID("elsewhere"), district: entry.district.id)
        var batch = ProofBatch(electionKey: b.key)
        entry.content.addEquations(in: entry.district, context: elsewhere, to: &batch)
        #expect(!batch.holds())
        #expect(entry.content.problem(in: entry.district, context: elsewhere) == .badRangeProof(option: "a"))
    }
}
