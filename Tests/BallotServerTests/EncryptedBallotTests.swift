import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

/// What the server checks in an encrypted ballot without learning the vote: one ciphertext
/// and one 0-or-1 proof per option, and the proof that they sum to the selection limit, all
/// bound to the election key, the ballot's random id and the district. Every refusal stores nothing.
@Suite("Encrypted ballot content")
struct EncryptedBallotTests {
    /// A ballot that encrypts 2 for one option fails that option's 0-or-1 proof, even when
    /// a -1 elsewhere makes the sum (and so the limit proof) right.
    @Test func aCiphertextOfTwoIsInvalidChoice() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let d01 = e.district("d01")
            #expect(d01.options.count == 4 && d01.selectionLimit == 1)
            let id = try BallotID.random()
            let context = try e.proofContext(ballotID: id, district: "d01")
            let before = try await e.snapshot()

            let two = try e.handMadeBallot(key, district: "d01", values: [2, 0, 0, 0], limitValue: 1)
            let body = expectError(try await e.cast(client, two), .badRequest, "invalid-choice")
            #expect(body?.message.contains("option \"c01\" encrypts 0 or 1") == true, "\(body?.message ?? "")")

            // +2 for c02 and -1 for c03: the sum is 1, so the limit proof holds; only the
            // 0-or-1 proofs catch it.
            let balanced = try e.handMadeContent(ballotID: id, district: "d01", values: [0, 2, -1, 0])
            #expect(balanced.limitProof.verify(ciphertexts: balanced.ciphertexts, value: 1, context: context))
            #expect(balanced.problem(in: d01, context: context) == .badRangeProof(option: "c02"))
            let balancedBody = expectError(try await e.cast(client, try e.signed(key, district: "d01", ballotID: id, content: balanced)),
                                           .badRequest, "invalid-choice")
            #expect(balancedBody?.message.contains("option \"c02\"") == true, "\(balancedBody?.message ?? "")")

            // A ciphertext of 1 - 2 = -1 alone (proof made as if it were 1).
            let minusOne = try e.handMadeBallot(key, district: "d01", values: [0, 0, 0, -1], limitValue: 1)
            expectError(try await e.cast(client, minusOne), .badRequest, "invalid-choice")

            // A genuine ballot built the same way by hand is accepted, so the refusals above
            // were for the values alone.
            #expect(try await e.snapshot() == before)
            let fair = try e.handMadeBallot(key, district: "d01", values: [0, 0, 1, 0])
            #expect(fair.ballot.content.problem(in: d01, context: try e.proofContext(ballotID: fair.ballot.ballotID, district: "d01")) == nil)
            // Under any other ballot id its proofs do not verify.
            #expect(fair.ballot.content.problem(in: d01, context: context) != nil)
            #expect(try await e.cast(client, fair).status == .created)
        }
    }

    /// Two 1s in a vote-for-1 contest: every 0-or-1 proof holds, the limit proof (for 2)
    /// does not prove 1.
    @Test func twoMarksInAVoteForOneContestIsInvalidChoice() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let d01 = e.district("d01")
            let before = try await e.snapshot()
            let (double, _) = try e.encryptedBallot(key, district: "d01", selections: ["c01", "c02"])
            let context = try e.proofContext(ballotID: double.ballot.ballotID, district: "d01")
            let content = double.ballot.content
            #expect(zip(content.ciphertexts, content.proofs).allSatisfy { $0.1.verify(ciphertext: $0.0, context: context) })
            #expect(content.problem(in: d01, context: context) == .badLimitProof(limit: 1))
            let body = expectError(try await e.cast(client, double), .badRequest, "invalid-choice")
            #expect(body?.message.contains("exactly 1 option") == true, "\(body?.message ?? "")")
            // No mark at all, and every mark.
            expectError(try await e.cast(client, try e.ballot(key, district: "d01", selections: [])), .badRequest, "invalid-choice")
            expectError(try await e.cast(client, try e.ballot(key, district: "d01", selections: d01.options.map(\.id))),
                        .badRequest, "invalid-choice")
            // A limit proof that claims 1 for a sum of 2 does not verify either.
            let claimed = try e.handMadeBallot(key, district: "d01", values: [1, 1, 0, 0], limitValue: 1)
            expectError(try await e.cast(client, claimed), .badRequest, "invalid-choice")
            #expect(try await e.snapshot() == before)
            #expect(try await e.cast(client, try e.ballot(key, district: "d01", selections: ["c02"])).status == .created)
        }
    }

    @Test func wrongNumberOfCiphertextsOrProofsIsInvalidChoice() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let (valid, _) = try e.encryptedBallot(key, district: "d01", selections: ["c01"])
            let c = valid.ballot.content
            let id = valid.ballot.ballotID
            let context = try e.proofContext(ballotID: id, district: "d01")
            let zeroNonce = try Scalar.random()
            let extra = Ciphertext.encrypt(0, nonce: zeroNonce, key: context.electionKey)
            let extraProof = try ZeroOrOneProof.prove(ciphertext: extra, vote: 0, nonce: zeroNonce, context: context)
            let contents: [(String, BallotContent, String)] = [
                ("one ciphertext and proof missing", BallotContent(ciphertexts: Array(c.ciphertexts.dropLast()), proofs: Array(c.proofs.dropLast()),
                                                                   limitProof: c.limitProof), "encrypts 3"),
                ("one ciphertext and proof too many", BallotContent(ciphertexts: c.ciphertexts + [extra], proofs: c.proofs + [extraProof],
                                                                    limitProof: c.limitProof), "encrypts 5"),
                ("one proof missing", BallotContent(ciphertexts: c.ciphertexts, proofs: Array(c.proofs.dropLast()), limitProof: c.limitProof),
                 "3 range proofs"),
                ("one proof too many", BallotContent(ciphertexts: c.ciphertexts, proofs: c.proofs + [extraProof], limitProof: c.limitProof),
                 "5 range proofs"),
                ("no ciphertexts at all", BallotContent(ciphertexts: [], proofs: [], limitProof: c.limitProof), "encrypts 0"),
                // Three options with a valid limit proof: d02's shape on d01's ballot.
                ("a well-proven ballot with 3 options", try e.handMadeContent(ballotID: id, district: "d01", values: [1, 0, 0]), "encrypts 3"),
            ]
            let before = try await e.snapshot()
            for (name, content, fragment) in contents {
                let body = expectError(try await e.cast(client, try e.signed(key, district: "d01", ballotID: id, content: content)), .badRequest, "invalid-choice")
                #expect(body?.message.contains(fragment) == true, "\(name): \(body?.message ?? "")")
            }
            #expect(try await e.snapshot() == before)
            #expect(try await e.cast(client, valid).status == .created)
        }
    }

    /// eq. 22: the proofs are bound to the election, its key, the ballot's random id and the
    /// district (v2 names no voter in them), so content cannot be moved under another ballot
    /// id or district, a copied ballot is refused by its id, and a ballot encrypted to
    /// another key is refused.
    @Test func proofsAreBoundToTheElectionTheBallotIDAndTheDistrict() async throws {
        let e = try await TestElection(voters: 6, districts: 3)
        defer { e.remove() }
        try await e.withRouter { client in
            let alice = try await e.enrolledKey(client, voter: 0)
            let bob = try await e.enrolledKey(client, voter: 3)
            let carol = try await e.enrolledKey(client, voter: 2)
            #expect(e.codes[0].district == "d01" && e.codes[3].district == "d01" && e.codes[2].district == "d03")
            let (original, _) = try e.encryptedBallot(alice, district: "d01", selections: ["c03"])
            #expect(try await e.cast(client, original).status == .created)
            let before = try await e.snapshot()

            // Alice's (published) ballot, cast by Bob as his own: its ballot id is taken.
            expectError(try await e.cast(client, try original.ballot.cast(with: bob)), .conflict, "ballot-id-used")
            // Alice's content under a fresh ballot id: the proofs no longer verify.
            let copied = try e.signed(bob, district: "d01", ballotID: try BallotID.random(), content: original.ballot.content)
            expectError(try await e.cast(client, copied), .badRequest, "invalid-choice")
            // Proofs made for d01, sent as a ballot for d03 (same number of options) by a voter
            // of d03: refused on the proofs.
            #expect(e.district("d03").options.count == e.district("d01").options.count)
            let (forD01, _) = try e.encryptedBallot(carol, district: "d01", selections: ["c01"])
            let relabelled = try e.signed(carol, district: "d03", ballotID: forD01.ballot.ballotID, content: forD01.ballot.content)
            expectError(try await e.cast(client, relabelled), .badRequest, "invalid-choice")
            // The same sent by a voter of d01: refused on the enrollment's district, read before
            // the proofs are checked.
            let relabelledByBob = try e.signed(bob, district: "d03", ballotID: forD01.ballot.ballotID, content: forD01.ballot.content)
            expectError(try await e.cast(client, relabelledByBob), .badRequest, "wrong-district")
            // Encrypted to a key nobody holds the secret of (or that the voter made up).
            let stray = GroupElement.base(try Scalar.random())
            expectError(try await e.cast(client, try e.ballot(bob, district: "d01", selections: ["c01"], electionKey: stray)),
                        .badRequest, "invalid-choice")
            // Proofs bound to another election's hash inside a ballot for this one.
            let id = try BallotID.random()
            let otherContext = try e.proofContext(ballotID: id, district: "d01", electionHash: try TestElection.otherElectionHash())
            let (otherContent, _) = try BallotContent.encrypt(selections: ["c01"], district: e.district("d01"), context: otherContext)
            expectError(try await e.cast(client, try e.signed(bob, district: "d01", ballotID: id, content: otherContent)), .badRequest, "invalid-choice")
            #expect(try await e.snapshot() == before)
            #expect(try await e.cast(client, try e.ballot(bob, district: "d01", selections: ["c03"])).status == .created)
        }
    }

    /// A ballot id names one encryption in the whole log: once a ballot with it is cast or
    /// challenged, no other ballot (another encryption, another voter, cast or challenged)
    /// may use it, so a published encryption cannot be replayed under its id.
    @Test func ballotIDsAreUniqueAcrossTheLog() async throws {
        let e = try await TestElection(voters: 6, districts: 2)
        defer { e.remove() }
        try await e.withRouter { client in
            let alice = try await e.enrolledKey(client, voter: 0)
            let bob = try await e.enrolledKey(client, voter: 2)
            let carol = try await e.enrolledKey(client, voter: 4)
            let (challenged, opening) = try e.encryptedBallot(alice, district: "d01", selections: ["c01"])
            #expect(try await e.spoil(client, challenged, opening, by: alice).status == .created)
            let (cast, _) = try e.encryptedBallot(bob, district: "d01", selections: ["c02"])
            #expect(try await e.cast(client, cast).status == .created)
            let before = try await e.snapshot()
            for used in [challenged.ballot.ballotID, cast.ballot.ballotID] {
                // A fresh, valid encryption under a used id, cast by a voter who has not voted.
                let (reused, reusedOpening) = try e.encryptedBallot(carol, district: "d01", selections: ["c03"], ballotID: used)
                expectError(try await e.cast(client, reused), .conflict, "ballot-id-used")
                expectError(try await e.spoil(client, reused, reusedOpening, by: carol), .conflict, "ballot-id-used")
            }
            #expect(try await e.snapshot() == before)
            #expect(try await e.cast(client, try e.ballot(carol, district: "d01", selections: ["c03"])).status == .created)
        }
    }

    /// The server logs exactly the encryption the voter signed: it opens (with the voter's
    /// nonces, which only the voter has) to the choice and to nothing else.
    @Test func loggedBallotIsTheEncryptionTheVoterMade() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 1)
            let d02 = e.district("d02")
            let (ballot, opening) = try e.encryptedBallot(key, district: "d02", selections: ["c03"])
            let response = try await e.cast(client, ballot)
            #expect(response.status == .created, "\(response.text)")
            let cast = try response.decode(CastResponse.self)
            let logged = try SignedBallot.decode(canonical: try LogEntry.decode(canonical: cast.logged.entry.bytes).payload)
            #expect(logged == ballot)
            #expect(logged.hasValidSignature)
            #expect(logged.ballot.content.ciphertexts.count == d02.options.count)
            #expect(opening.opens(logged.ballot.content, district: d02, electionKey: try e.electionKey()))
            #expect(!BallotOpening(selections: ["c01"], nonces: opening.nonces).opens(logged.ballot.content, district: d02,
                                                                                       electionKey: try e.electionKey()))
        }
    }
}
