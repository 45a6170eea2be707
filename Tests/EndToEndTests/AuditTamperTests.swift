import Foundation
import Testing
@testable import BallotServer
import VoterKit
import VotingCore

/// One small real election (a real server process, real trustees, real voters), exported as
/// a public record once; then the record is audited untouched and after each kind of
/// tampering (docs/verification.md). Entry tampering models a malicious server that holds
/// the server key: it re-indexes every entry, recomputes every Merkle root and re-signs
/// every checkpoint (and, where it changes them, the results), so checks 2-5 pass and the
/// semantic check must catch it. Check numbers are protocol v2's 16 (verification.md §4).
@Suite("election record audit: tampering is caught by the right check")
struct AuditTamperTests {
    // MARK: the untouched record

    @Test("the untouched record passes all 16 checks, from memory, from the HTTP stream and from a file")
    func untouchedRecordPasses() async throws {
        let f = try await AuditFixture.shared()
        let report = await f.audit(f.lines)
        #expect(report.checks.map(\.number) == Array(1...16))
        #expect(report.checks.map(\.name) == AuditCheck.allCases.map(\.name))
        #expect(report.passed, "\(AuditFixture.describe(report))")
        #expect(report.ballots == f.voters)
        #expect(report.entries == UInt64(f.nodes.count))
        #expect(report.electionHash == f.electionHash)
        // Every check examined something on a complete election (a reissue, a station and a
        // supervised ballot included).
        for check in report.checks { #expect(check.examined > 0, "check \(check.number) examined nothing") }
        // The same record streamed by the live server (GET /v1/record) passed too.
        #expect(f.httpReport.passed, "\(AuditFixture.describe(f.httpReport))")
        #expect(f.httpReport.entries == report.entries)
        #expect(f.httpReport.ballots == report.ballots)
        // Through the file reader (VoterKit's line splitter).
        let path = try f.write(f.lines, "untouched")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fromFile = try await AuditRunner.audit(recordFile: path)
        #expect(fromFile.passed, "\(AuditFixture.describe(fromFile))")
        #expect(fromFile.entries == report.entries)
    }

    @Test("the tampering harness itself: rebuilding the untouched log reproduces the record byte for byte")
    func rebuildIsFaithful() async throws {
        let f = try await AuditFixture.shared()
        let rebuilt = try f.rebuild(f.nodes)
        #expect(rebuilt.count == f.lines.count)
        #expect(rebuilt == f.lines, "the rebuilder must re-create the exported entries and checkpoints exactly")
        #expect(f.nodes.map(\.kind).contains(.reissue) && f.nodes.map(\.kind).contains(.supervised) && f.nodes.map(\.kind).contains(.reveal))
    }

    // MARK: ballots

    @Test("dropping a ballot (log rebuilt and re-signed) fails 12 aggregate")
    func dropBallot() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        nodes.remove(at: f.indices(.ballot)[1])
        try await f.expect(try f.rebuild(nodes), fails: [12])
    }

    @Test("dropping a ballot and publishing the aggregate recomputed without it fails 13 and 14 (the trustees decrypted the original)")
    func dropBallotAndRecomputeAggregate() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        nodes.remove(at: f.indices(.ballot)[1])
        // What is counted: remote ballots not superseded, and supervised ballots.
        let superseded = try nodes.filter { $0.kind == .reveal }.flatMap { try SupersessionReveal.decode(canonical: $0.payload).items }
            .compactMap(\.superseded)
        var counted = try nodes.filter { $0.kind == .ballot }.map { try SignedBallot.decode(canonical: $0.payload) }
            .filter { !superseded.contains($0.trackingCode) }.map { ($0.ballot.district, $0.ballot.content.ciphertexts) }
        counted += try nodes.filter { $0.kind == .supervised }.map { try SupervisedBallot.decode(canonical: $0.payload).ballot }
            .map { ($0.district, $0.content.ciphertexts) }
        let aggregate = TallyAggregate.sum(manifest: f.manifest, ballots: counted.map { (district: $0.0, ciphertexts: $0.1) })
        nodes[f.index(.aggregate, in: nodes)].payload = aggregate.canonicalBytes
        try await f.expect(try f.rebuild(nodes), fails: [13, 14])
    }

    @Test("duplicating a ballot entry fails 8 eligibility (a second ballot from the key, its ballot id reused)")
    func duplicateBallot() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let ballots = f.indices(.ballot)
        nodes.insert(nodes[ballots[2]], at: ballots.last! + 1)
        try await f.expect(try f.rebuild(nodes), fails: [8])
    }

    @Test("a ballot by a key that never enrolled (valid proofs, cast by that key) fails 8")
    func unenrolledBallot() async throws {
        let f = try await AuditFixture.shared()
        let stranger = try Ed25519PrivateKey()
        let district = f.manifest.districts[0]
        let (ballot, _) = try VoterActions.encrypt(selections: [district.options[0].id], district: district, electionHash: f.electionHash,
                                                  electionKey: f.electionKey)
        var nodes = f.nodes
        let last = f.indices(.ballot).last!
        nodes.insert(RecordNode(kind: .ballot, payload: try ballot.cast(with: stranger).canonicalBytes, timestamp: nodes[last].timestamp,
                                checkpoint: true), at: last + 1)
        try await f.expect(try f.rebuild(nodes), fails: [8])
    }

    @Test("a ballot moved before the open order (log rebuilt) fails 8, and the aggregate then no longer matches (12)")
    func ballotMovedBeforeOpen() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let ballot = nodes.remove(at: f.indices(.ballot)[0])
        let open = try nodes.firstIndex { try $0.kind == .window && WindowChange.decode(canonical: $0.payload).action == .open }!
        nodes.insert(ballot, at: open)
        try await f.expect(try f.rebuild(nodes), fails: [8, 12])
    }

    @Test("swapping two independent ballots (log rebuilt) is invisible to the record: only voters' receipts can show it")
    func swappedBallotsAreNotDetectable() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let ballots = f.indices(.ballot)
        nodes.swapContent(ballots[1], ballots[2])
        try await f.expect(try f.rebuild(nodes), fails: [])
    }

    // MARK: ciphertexts

    @Test("a ciphertext point replaced by another valid point fails 8: the voter's cast signature no longer verifies")
    func replacedCiphertextPoint() async throws {
        let f = try await AuditFixture.shared()
        let (i, signed) = try f.firstBallot()
        var cts = signed.ballot.content.ciphertexts
        cts[0] = Ciphertext(alpha: AuditFixture.otherValidPoint(cts[0].alpha), beta: cts[0].beta)
        var nodes = f.nodes
        nodes[i].payload = try f.replaceContent(signed, ciphertexts: cts, resign: false)
        try await f.expect(try f.rebuild(nodes), fails: [8, 12])
    }

    @Test("flipping a ciphertext byte so the point is invalid fails 2: the payload does not decode")
    func flippedCiphertextByteInvalidPoint() async throws {
        let f = try await AuditFixture.shared()
        let (i, signed) = try f.firstBallot()
        let alpha = signed.ballot.content.ciphertexts[0].alpha.encoding
        var nodes = f.nodes
        let at = try #require(AuditFixture.range(of: alpha, in: nodes[i].payload))
        nodes[i].payload.replaceSubrange(at, with: AuditFixture.flipToInvalidPoint(alpha))
        try await f.expect(try f.rebuild(nodes), fails: [2, 12])
    }

    @Test("a ciphertext replaced and the ballot re-cast with the voter's own key fails 9 ballot proofs")
    func replacedCiphertextResigned() async throws {
        let f = try await AuditFixture.shared()
        let (i, signed) = try f.firstBallot()
        var cts = signed.ballot.content.ciphertexts
        // Another encryption of 1 under the election key: a valid ciphertext, but not the one the 0/1 proof is about.
        cts[0] = Ciphertext.encrypt(1, nonce: try Scalar.random(), key: f.electionKey)
        var nodes = f.nodes
        nodes[i].payload = try f.replaceContent(signed, ciphertexts: cts, resign: true)
        try await f.expect(try f.rebuild(nodes), fails: [9, 12])
    }

    @Test("swapping two options' ciphertexts in a ballot fails 8; re-cast with the voter's key it fails 9")
    func swappedOptions() async throws {
        let f = try await AuditFixture.shared()
        let (i, signed) = try f.firstBallot()
        var cts = signed.ballot.content.ciphertexts
        cts.swapAt(0, 1)
        var nodes = f.nodes
        nodes[i].payload = try f.replaceContent(signed, ciphertexts: cts, resign: false)
        try await f.expect(try f.rebuild(nodes), fails: [8, 12])
        nodes[i].payload = try f.replaceContent(signed, ciphertexts: cts, resign: true)
        try await f.expect(try f.rebuild(nodes), fails: [9, 12])
    }

    /// v1 could not see this one (its limit proof hashed only the sum): v2's selection-limit
    /// proof hashes the list of ciphertexts in order, so moving ciphertexts with their 0/1
    /// proofs breaks it even when the voter's key casts the result.
    @Test("swapping two options' ciphertexts together with their 0/1 proofs, re-cast by the voter, fails 9 (the limit proof hashes the order) and 12")
    func swappedOptionsWithProofs() async throws {
        let f = try await AuditFixture.shared()
        let (i, signed) = try f.firstBallot()
        let c = signed.ballot.content
        var cts = c.ciphertexts
        var proofs = c.proofs
        cts.swapAt(0, 1)
        proofs.swapAt(0, 1)
        let content = BallotContent(ciphertexts: cts, proofs: proofs, limitProof: c.limitProof)
        let b = signed.ballot
        var nodes = f.nodes
        nodes[i].payload = try f.recast(signed, as: Ballot(electionHash: b.electionHash, ballotID: b.ballotID, district: b.district, content: content),
                                        resign: true)
        try await f.expect(try f.rebuild(nodes), fails: [9, 12])
    }

    // MARK: spoiled ballots

    @Test("casting the challenged (opened) encryption in place of the voter's ballot fails 8 (its ballot id is the challenge's) and 12")
    func spoiledBallotCast() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let spoiled = try SpoiledBallot.decode(canonical: nodes[f.indices(.spoiled)[0]].payload)
        let cast = try f.ballotIndex(of: f.challenger, in: nodes)
        let original = try SignedBallot.decode(canonical: nodes[cast].payload)
        // With the voter's signature kept, it does not verify for the other ballot.
        nodes[cast].payload = try f.recast(original, as: spoiled.ballot, resign: false)
        try await f.expect(try f.rebuild(nodes), fails: [8, 12])
        // Even cast with the voter's own key (a device that kept the challenged encryption).
        nodes[cast].payload = try f.recast(original, as: spoiled.ballot, resign: true)
        try await f.expect(try f.rebuild(nodes), fails: [8, 12])
    }

    @Test("a spoiled ballot whose published choice is changed fails 10")
    func spoiledOpeningAltered() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let i = f.indices(.spoiled)[0]
        let spoiled = try SpoiledBallot.decode(canonical: nodes[i].payload)
        let district = try #require(f.manifest.district(spoiled.ballot.district))
        let other = try #require(district.options.map(\.id).first { !spoiled.opening.selections.contains($0) })
        nodes[i].payload = SpoiledBallot(ballot: spoiled.ballot,
                                         opening: BallotOpening(selections: [other], nonces: spoiled.opening.nonces)).canonicalBytes
        try await f.expect(try f.rebuild(nodes), fails: [10])
    }

    // MARK: enrollments and ceremony

    /// v1's enrollment named only a key and a district; v2's must open an unused commitment
    /// of the registrar's signed list. The server knows no unused code, so it can only
    /// replay a code that an enrollment already published, for a key of its own.
    @Test("an enrollment replaying a published code for the server's own key fails 7")
    func enrollmentReplaysAUsedCode() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let last = f.indices(.enrollment).last!
        let used = try Enrollment.decode(canonical: nodes[f.indices(.enrollment)[0]].payload)
        let key = try Ed25519PrivateKey()
        let pop = try key.signature(for: EnrollmentRequest.signedBytes(electionHash: f.electionHash, voterKey: key.publicKey, normalizedCode: used.code))
        let extra = Enrollment(voterKey: key.publicKey, district: used.district, commitment: used.commitment, code: used.code, signature: pop)
        nodes.insert(RecordNode(kind: .enrollment, payload: extra.canonicalBytes, timestamp: nodes[last].timestamp, checkpoint: true), at: last + 1)
        try await f.expect(try f.rebuild(nodes), fails: [7])
    }

    @Test("an enrollment with a made-up code for a commitment of the list fails 7")
    func enrollmentWithAWrongCode() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let i = f.indices(.enrollment)[1]
        let e = try Enrollment.decode(canonical: nodes[i].payload)
        let key = try #require(f.wallets[e.voterKey.rawRepresentation]).signingKey()
        let code = "0000000000000000"
        let pop = try key.signature(for: EnrollmentRequest.signedBytes(electionHash: f.electionHash, voterKey: e.voterKey, normalizedCode: code))
        nodes[i].payload = Enrollment(voterKey: e.voterKey, district: e.district, commitment: e.commitment, code: code, signature: pop).canonicalBytes
        try await f.expect(try f.rebuild(nodes), fails: [7])
    }

    /// v1 failed only 6 here. The v2 auditor does not accept an election key that does not
    /// follow from a complete ceremony, so the open order "opens before the election key"
    /// (8) and everything after it was logged outside a valid window: ballots (8), the
    /// challenge (10), the supervised ballot and its reveal (11), the aggregate (12), the
    /// decryptions (13) and so the results (14). Only the winners (15) and the results
    /// signature (16) still follow from what is published.
    @Test("dropping a trustee's share verification fails 6, and with no valid election key nothing after the open order stands (8, 10-14)")
    func verificationDropped() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        nodes.remove(at: f.indices(.verification)[0])
        let report = try await f.expect(try f.rebuild(nodes), fails: [6, 8, 10, 11, 12, 13, 14])
        #expect(report.checks[5].failures.joined().contains("election key"), "check 6 names the root cause: \(report.checks[5].failures)")
    }

    // MARK: supervised ballots

    @Test("a supersession reveal whose blinding does not open the link fails 11, and the superseded ballot then stays in the sum (12)")
    func revealAltered() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let r = f.indices(.reveal)[0]
        let reveal = try SupersessionReveal.decode(canonical: nodes[r].payload)
        let item = try #require(reveal.items.first)
        nodes[r].payload = SupersessionReveal(items: [SupersessionReveal.Item(supervised: item.supervised, pseudonym: item.pseudonym,
                                                                              blinding: try Nonce32.random(), supersededBallot: item.supersededBallot)]
                                              + reveal.items.dropFirst()).canonicalBytes
        try await f.expect(try f.rebuild(nodes), fails: [11, 12])
    }

    @Test("a supersession reveal that names no remote ballot for a voter who cast one: the superseded ballot left in the sum fails 11 and 12")
    func supersededLeftInSum() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let r = f.indices(.reveal)[0]
        let reveal = try SupersessionReveal.decode(canonical: nodes[r].payload)
        let item = try #require(reveal.items.first { $0.superseded != nil })
        let emptied = reveal.items.map { $0 == item
            ? SupersessionReveal.Item(supervised: $0.supervised, pseudonym: $0.pseudonym, blinding: $0.blinding, supersededBallot: []) : $0 }
        nodes[r].payload = SupersessionReveal(items: emptied).canonicalBytes
        try await f.expect(try f.rebuild(nodes), fails: [11, 12])
    }

    @Test("a supervised ballot dropped with its reveal: the voter's remote ballot is counted again and the aggregate no longer matches (12)")
    func supervisedDropped() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let r = f.indices(.reveal)[0]
        let reveal = try SupersessionReveal.decode(canonical: nodes[r].payload)
        let supervised = f.indices(.supervised)[0]
        let code = TrackingCode(digest: SHA256.hash(try SupervisedBallot.decode(canonical: nodes[supervised].payload).ballotBytes))
        let kept = reveal.items.filter { $0.supervised != code }
        #expect(kept.count == reveal.items.count - 1)
        if kept.isEmpty {
            nodes.remove(at: r)
        } else {
            nodes[r].payload = SupersessionReveal(items: kept).canonicalBytes
        }
        nodes.remove(at: supervised)
        try await f.expect(try f.rebuild(nodes), fails: [12])
    }

    @Test("a fake supersession (the reveal names another voter's remote ballot) fails 11, and the sums no longer match (12)")
    func fakeSupersession() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let r = f.indices(.reveal)[0]
        let reveal = try SupersessionReveal.decode(canonical: nodes[r].payload)
        let item = try #require(reveal.items.first { $0.superseded != nil })
        // Another counted remote ballot of the same district, not this voter's.
        let other = try f.indices(.ballot).lazy.map { try SignedBallot.decode(canonical: nodes[$0].payload) }
            .first { $0.ballot.district == "d2" && $0.trackingCode != item.superseded }
        let victim = try #require(other)
        let faked = reveal.items.map { $0 == item
            ? SupersessionReveal.Item(supervised: $0.supervised, pseudonym: $0.pseudonym, blinding: $0.blinding, supersededBallot: victim.ballotBytes) : $0 }
        nodes[r].payload = SupersessionReveal(items: faked).canonicalBytes
        try await f.expect(try f.rebuild(nodes), fails: [11, 12])
    }

    // MARK: trustees

    @Test("a trustee's registration changed (encryption key) and re-appointed with the commission key fails 6: the trustee's own signature")
    func trusteeRegistrationAltered() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let t = f.indices(.trustee)[0]
        let (registration, hash, _) = try TrusteeRegistration.decode(payload: nodes[t].payload)
        #expect(registration.isSelfSigned)
        // Someone holding the commission key (an insider) swaps in another encryption key and
        // signs the appointment again; only the trustee's own signature is left to catch it.
        let altered = TrusteeRegistration(index: registration.index, name: registration.name, signingKey: registration.signingKey,
                                          encryptionKey: registration.encryptionKey + GroupElement.generator, signature: registration.signature)
        #expect(!altered.isSelfSigned)
        nodes[t].payload = altered.payload(electionHash: hash, commissionSignature: try altered.appointmentSignature(electionHash: hash, commissionKey: f.commissionKey))
        let report = await f.audit(try f.rebuild(nodes))
        let failing = Set(report.checks.filter { !$0.passed }.map(\.number))
        #expect(failing.contains(6), "check 6 must fail: \(failing.sorted())")
        #expect(report.checks[5].failures.joined().contains("trustee"), "\(report.checks[5].failures)")
    }

    // MARK: tally

    @Test("the aggregate logged before the close order fails 12, and the supersession reveal then comes too late (11)")
    func aggregateBeforeClose() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let aggregate = nodes.remove(at: f.index(.aggregate, in: nodes))
        let close = try nodes.lastIndex { try $0.kind == .window && WindowChange.decode(canonical: $0.payload).action == .close }!
        nodes.insert(aggregate, at: close)
        try await f.expect(try f.rebuild(nodes), fails: [11, 12])
    }

    @Test("a partial decryption D changed to D + G fails 13 (signature), and the counts no longer follow (14)")
    func partialDecryptionAltered() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let i = f.indices(.decryption)[0]
        let (p, _) = try PartialDecryption.decode(payload: nodes[i].payload)
        var districts = p.districts
        districts[0][0] = PartialDecryption.Share(partial: districts[0][0].partial + GroupElement.generator, proof: districts[0][0].proof)
        nodes[i].payload = PartialDecryption(index: p.index, districts: districts, signature: p.signature).payload(electionHash: f.electionHash)
        try await f.expect(try f.rebuild(nodes), fails: [13, 14])

        // Re-signed with the trustee's own key (a dishonest trustee): the decryption proof catches it.
        let trustee = try #require(f.trustees.first { $0.index == p.index })
        let bytes = PartialDecryption.signedBytes(electionHash: f.electionHash, index: p.index, districts: districts)
        let resigned = PartialDecryption(index: p.index, districts: districts, signature: try trustee.signingKey().signature(for: bytes))
        #expect(resigned.problem(electionHash: f.electionHash, aggregate: f.aggregate, publicShare: f.publicShares[Int(p.index) - 1],
                                 signingKey: try trustee.signingKey().publicKey)?.contains("proof") == true)
        nodes[i].payload = resigned.payload(electionHash: f.electionHash)
        let report = try await f.expect(try f.rebuild(nodes), fails: [13, 14])
        let thirteen = report.checks[12].failures.joined()
        #expect(thirteen.contains("proof"), "check 13 should name the failing proof: \(thirteen)")
    }

    @Test("a count altered in the results, re-signed with the server key, fails 14")
    func countAltered() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let i = f.indices(.results)[0]
        let signed = try SignedResults.decode(payload: nodes[i].payload)
        var districts = signed.results.districts
        let d = districts[0]
        // Add a vote to the leader: the winners stay the same, so only the counts are wrong.
        let leader = try #require(d.counts.indices.max { d.counts[$0] < d.counts[$1] })
        var counts = d.counts
        counts[leader] += 1
        let district = try #require(f.manifest.district(d.district))
        #expect(ElectionResults.winners(district: district, counts: counts, ballots: d.ballots) == (d.elected, d.tied))
        districts[0] = ElectionResults.District(district: d.district, roll: d.roll, ballots: d.ballots, counts: counts,
                                                elected: d.elected, tied: d.tied)
        let altered = ElectionResults(quorum: signed.results.quorum, districts: districts)
        nodes[i].payload = SignedResults(results: altered, signature: try f.serverKey.signature(for: altered.canonicalBytes)).payload
        try await f.expect(try f.rebuild(nodes), fails: [14])

        // The same change without the server's signature also fails 16.
        nodes[i].payload = SignedResults(results: altered, signature: signed.signature).payload
        try await f.expect(try f.rebuild(nodes), fails: [14, 16])
    }

    @Test("winners altered in the results (counts kept), re-signed, fail 15")
    func winnersAltered() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let i = f.indices(.results)[0]
        let signed = try SignedResults.decode(payload: nodes[i].payload)
        var districts = signed.results.districts
        let d = districts[0]
        let loser = try #require(f.manifest.district(d.district)?.options.filter(\.electable).map(\.id)
            .first { !d.elected.contains($0) && !d.tied.contains($0) })
        districts[0] = ElectionResults.District(district: d.district, roll: d.roll, ballots: d.ballots, counts: d.counts,
                                                elected: [loser], tied: [])
        let altered = ElectionResults(quorum: signed.results.quorum, districts: districts)
        nodes[i].payload = SignedResults(results: altered, signature: try f.serverKey.signature(for: altered.canonicalBytes)).payload
        try await f.expect(try f.rebuild(nodes), fails: [15])
    }

    @Test("an option that is not electable (against all) named elected, re-signed, fails 15")
    func notElectableElected() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let i = f.indices(.results)[0]
        let signed = try SignedResults.decode(payload: nodes[i].payload)
        var districts = signed.results.districts
        let at = try #require(districts.firstIndex { $0.district == "d2" })
        let d = districts[at]
        districts[at] = ElectionResults.District(district: d.district, roll: d.roll, ballots: d.ballots, counts: d.counts,
                                                 elected: Array(d.elected.prefix(1)) + ["b4"], tied: [])
        let altered = ElectionResults(quorum: signed.results.quorum, districts: districts)
        nodes[i].payload = SignedResults(results: altered, signature: try f.serverKey.signature(for: altered.canonicalBytes)).payload
        try await f.expect(try f.rebuild(nodes), fails: [15])
    }

    @Test("results whose signature is not the server's fail 16")
    func resultsSignatureBroken() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let i = f.indices(.results)[0]
        let signed = try SignedResults.decode(payload: nodes[i].payload)
        let other = try Ed25519PrivateKey()
        nodes[i].payload = SignedResults(results: signed.results, signature: try other.signature(for: signed.results.canonicalBytes)).payload
        try await f.expect(try f.rebuild(nodes), fails: [16])
    }

    @Test("results logged while voting is still open (no close, no aggregate, no decryptions) fail 14: nothing decrypted them")
    func resultsWithoutTally() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let close = try nodes.lastIndex { try $0.kind == .window && WindowChange.decode(canonical: $0.payload).action == .close }!
        // Keep everything up to the close, then only the (server-signed) results entry.
        nodes = Array(nodes[..<close]) + [nodes[f.indices(.results)[0]]]
        // Results that no aggregate and no decryption support are refused under check 14.
        let report = await f.audit(try f.rebuild(nodes))
        let failing = Set(report.checks.filter { !$0.passed }.map(\.number))
        #expect(failing.contains(14), "results that no decryption supports must fail check 14; failing: \(failing.sorted())")
        let passed = report.passed
        #expect(!passed, "the audit must not pass")
    }

    @Test("a second, different results entry (server-signed) logged before the real one fails 14")
    func secondResultsEntry() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let r = f.indices(.results)[0]
        let signed = try SignedResults.decode(payload: nodes[r].payload)
        var districts = signed.results.districts
        let d = districts[0]
        districts[0] = ElectionResults.District(district: d.district, roll: d.roll, ballots: d.ballots, counts: d.counts.map { $0 + 1 },
                                                elected: d.elected, tied: d.tied)
        let bogus = ElectionResults(quorum: signed.results.quorum, districts: districts)
        var fake = nodes[r]
        fake.payload = SignedResults(results: bogus, signature: try f.serverKey.signature(for: bogus.canonicalBytes)).payload
        nodes.insert(fake, at: r)
        // Exactly one results entry, and it must follow from the decryptions.
        let report = await f.audit(try f.rebuild(nodes))
        let failing = Set(report.checks.filter { !$0.passed }.map(\.number))
        #expect(failing.contains(14), "every results entry must follow from the decryptions; failing: \(failing.sorted())")
        let passed = report.passed
        #expect(!passed, "the audit must not pass")
    }

    /// Modelled with the commission's own key signing the late list (a server alone cannot
    /// sign a roll list at all): the rule, not the signature, must catch it.
    @Test("a registrar-signed roll list logged after the open order, used for an extra enrollment, fails 7 (the roll is fixed at opening)")
    func rollRaisedAfterOpen() async throws {
        let f = try await AuditFixture.shared()
        var nodes = f.nodes
        let open = try nodes.firstIndex { try $0.kind == .window && WindowChange.decode(canonical: $0.payload).action == .open }!
        let district = f.manifest.districts[0].id
        let code = try EnrollmentCode.generate()
        let normalized = EnrollmentCode.normalize(code)
        let commitment = try CodeCommitment.make(normalizedCode: normalized, electionHash: f.electionHash)
        let raise = try RollImport(districts: [.init(district: district, commitments: [commitment])])
            .payload(electionHash: f.electionHash, commissionKey: f.commissionKey)
        nodes.insert(RecordNode(kind: .roll, payload: raise, timestamp: nodes[open].timestamp, checkpoint: true), at: open + 1)
        let last = nodes.lastIndex { $0.kind == .enrollment }!
        let key = try Ed25519PrivateKey()
        let pop = try key.signature(for: EnrollmentRequest.signedBytes(electionHash: f.electionHash, voterKey: key.publicKey, normalizedCode: normalized))
        let extra = Enrollment(voterKey: key.publicKey, district: district, commitment: commitment.value, code: normalized, signature: pop)
        nodes.insert(RecordNode(kind: .enrollment, payload: extra.canonicalBytes, timestamp: nodes[last].timestamp, checkpoint: true), at: last + 1)
        // The server signs results that report the raised roll, as it would have done live.
        let r = nodes.lastIndex { $0.kind == .results }!
        let signed = try SignedResults.decode(payload: nodes[r].payload)
        let districts = signed.results.districts.map { d in
            d.district != district ? d : ElectionResults.District(district: d.district, roll: d.roll + 1, ballots: d.ballots, counts: d.counts,
                                                                 elected: d.elected, tied: d.tied)
        }
        let raised = ElectionResults(quorum: signed.results.quorum, districts: districts)
        nodes[r].payload = SignedResults(results: raised, signature: try f.serverKey.signature(for: raised.canonicalBytes)).payload
        let report = await f.audit(try f.rebuild(nodes))
        let failing = Set(report.checks.filter { !$0.passed }.map(\.number))
        #expect(failing.contains(7), "an enrollment beyond the roll as it stood at opening must fail check 7; failing: \(failing.sorted())")
        let passed = report.passed
        #expect(!passed, "the audit must not pass")
    }

    // MARK: the log itself (no rebuilding)

    @Test("a forked checkpoint (same size, another root, validly signed with the server key) fails 4")
    func forkedCheckpoint() async throws {
        let f = try await AuditFixture.shared()
        var lines = f.lines
        let (at, cp) = try f.checkpointLine(coveringEntry: f.indices(.ballot)[0])
        let fork = try Checkpoint(electionHash: cp.electionHash, treeSize: cp.treeSize, rootHash: SHA256.hash(Array("fork".utf8)),
                                  timestamp: cp.timestamp).signed(with: f.serverKey)
        #expect(fork.isValid(serverKey: f.serverKey.publicKey))
        lines[at] = try AuditFixture.line(.checkpoint(fork))
        try await f.expect(lines, fails: [4])
    }

    @Test("a checkpoint signed by another key fails 3")
    func checkpointOtherKey() async throws {
        let f = try await AuditFixture.shared()
        var lines = f.lines
        let (at, cp) = try f.checkpointLine(coveringEntry: f.indices(.ballot)[0])
        lines[at] = try AuditFixture.line(.checkpoint(try cp.signed(with: try Ed25519PrivateKey())))
        try await f.expect(lines, fails: [3])
    }

    @Test("an entry's bytes changed without re-signing (its timestamp byte) fail 4 log root only")
    func entryByteFlippedTimestamp() async throws {
        let f = try await AuditFixture.shared()
        var lines = f.lines
        let (at, body) = try f.entryLine(f.indices(.ballot)[0])
        var bytes = body.data.bytes
        let timestampLastByte = 4 + "evote.v2.log-entry".utf8.count + 8 + 32 + 7
        bytes[timestampLastByte] ^= 0x01
        let before = try LogEntry.decode(canonical: body.data.bytes)
        let after = try LogEntry.decode(canonical: bytes)
        #expect(after.timestamp != before.timestamp && after.payload == before.payload && after.index == before.index)
        lines[at] = try AuditFixture.line(.entry(LogEntryBody(index: body.index, kind: body.kind, data: HexBytes(bytes))))
        try await f.expect(lines, fails: [4])
    }

    @Test("a ballot entry's last byte (its signature) flipped without re-signing fails 4, and 8 and 12")
    func entryByteFlippedSignature() async throws {
        let f = try await AuditFixture.shared()
        var lines = f.lines
        let (at, body) = try f.entryLine(f.indices(.ballot)[0])
        var bytes = body.data.bytes
        bytes[bytes.count - 1] ^= 0x01
        lines[at] = try AuditFixture.line(.entry(LogEntryBody(index: body.index, kind: body.kind, data: HexBytes(bytes))))
        try await f.expect(lines, fails: [4, 8, 12])
    }

    @Test("two entry lines swapped without re-indexing fail 2 (index) and 4 (roots), and the skipped ballots fail 12")
    func entryLinesSwapped() async throws {
        let f = try await AuditFixture.shared()
        var lines = f.lines
        let ballots = f.indices(.ballot)
        let (a, _) = try f.entryLine(ballots[1])
        let (b, _) = try f.entryLine(ballots[2])
        lines.swapAt(a, b)
        try await f.expect(lines, fails: [2, 4, 12])
    }

    @Test("a truncated record (no final checkpoint, no end line) fails 5")
    func truncated() async throws {
        let f = try await AuditFixture.shared()
        try await f.expect(Array(f.lines.dropLast(2)), fails: [5])
    }

    @Test("an unknown line fails 2; a header naming another election fails 1")
    func headerAndMalformedLines() async throws {
        let f = try await AuditFixture.shared()
        var lines = f.lines
        lines.insert(Data(#"{"type":"note","text":"hello"}"#.utf8), at: 3)
        try await f.expect(lines, fails: [2])
        lines = f.lines
        lines[0] = try AuditFixture.line(.header(RecordHeader(electionHash: SHA256.hash(Array("other".utf8)), exportedAt: 0)))
        try await f.expect(lines, fails: [1])
    }

    // MARK: the voter binary

    @Test("voter audit --record: exit 0 and the report as JSON; exit 1 on a tampered record; exit 2 when it cannot run")
    func voterBinary() async throws {
        let f = try await AuditFixture.shared()
        let good = try f.write(f.lines, "good")
        var dropped = f.nodes
        dropped.remove(at: f.indices(.ballot)[1])
        let bad = try f.write(try f.rebuild(dropped), "bad")
        defer {
            try? FileManager.default.removeItem(atPath: good)
            try? FileManager.default.removeItem(atPath: bad)
        }

        let passed = try Tools.run(Tools.voter, ["audit", "--record", good, "--json"])
        #expect(passed.status == 0, "\(passed.stdout)\(passed.stderr)")
        let json = try passed.json()
        #expect(json["passed"] as? Bool == true)
        #expect(json["election_hash"] as? String == f.electionHash.hex)
        #expect(json["entries"] as? Int == f.nodes.count)
        #expect(json["ballots"] as? Int == f.voters)
        let checks = try #require(json["checks"] as? [[String: Any]])
        #expect(checks.count == 16)
        #expect(checks.map { $0["number"] as? Int } == Array(1...16))
        #expect(Set(checks[0].keys) == ["number", "name", "passed", "examined", "failures", "failure_codes", "more_failures"])

        let failed = try Tools.run(Tools.voter, ["audit", "--record", bad, "--json"])
        #expect(failed.status == 1, "\(failed.stdout)\(failed.stderr)")
        let failedChecks = try #require(try failed.json()["checks"] as? [[String: Any]])
        #expect(failedChecks.filter { $0["passed"] as? Bool == false }.map { $0["number"] as? Int } == [12])

        let text = try Tools.run(Tools.voter, ["audit", "--record", bad])
        #expect(text.status == 1)
        #expect(text.stdout.contains("AUDIT FAILED"))
        #expect(text.stdout.contains("the published aggregate differs from the sum of the counted ballots"), "\(text.stdout)")

        // In Kyrgyz: the failure's details from the catalog; with --json the codes stay English and
        // `failures` keeps VotingCore's English sentences.
        let kyrgyz = try Tools.run(Tools.voter, ["audit", "--record", bad, "--lang", "ky"])
        #expect(kyrgyz.status == 1)
        #expect(kyrgyz.stdout.contains("АУДИТТЕН ӨТКӨН ЖОК"), "\(kyrgyz.stdout)")
        #expect(kyrgyz.stdout.contains("жарыяланган сумма d1 округ(дар)унда") || kyrgyz.stdout.contains("жарыяланган сумма d2 округ(дар)унда")
                || kyrgyz.stdout.contains("жарыяланган сумма ["), "\(kyrgyz.stdout)")
        #expect(!kyrgyz.stdout.contains("the published aggregate differs"), "\(kyrgyz.stdout)")
        let kyrgyzJSON = try Tools.run(Tools.voter, ["audit", "--record", bad, "--lang", "ky", "--json"])
        #expect(kyrgyzJSON.status == 1)
        let aggregate = try #require((try kyrgyzJSON.json()["checks"] as? [[String: Any]])?.first { $0["number"] as? Int == 12 })
        let codes = try #require(aggregate["failure_codes"] as? [String])
        #expect(codes.contains("aggregate-mismatch"), "\(aggregate)")
        #expect((aggregate["failures"] as? [String])?.count == codes.count)
        #expect((aggregate["failures"] as? [String] ?? []).contains { $0.hasPrefix("the published aggregate differs") }, "\(aggregate)")

        let missing = try Tools.run(Tools.voter, ["audit", "--record", good + ".absent", "--json"])
        #expect(missing.status == 2)
        #expect((try missing.json()["error"] as? [String: Any])?["code"] as? String == "no-record")

        // A usage error is an error like any other since cf9cb4a: exit 2, bad-arguments in the JSON.
        let neither = try Tools.run(Tools.voter, ["audit", "--json"])
        #expect(neither.status == 2, "a usage error: \(neither.stdout)\(neither.stderr)")
        #expect((try neither.json()["error"] as? [String: Any])?["code"] as? String == "bad-arguments")
    }
}

// MARK: - the fixture

/// One log entry as the tampering harness sees it: what it records and whether the server
/// sealed a checkpoint right after it.
struct RecordNode: Sendable, Hashable {
    var kind: LogEntryKind
    var payload: [UInt8]
    var timestamp: Timestamp
    var checkpoint: Bool
}

extension Array where Element == RecordNode {
    /// Swaps two entries' contents; the checkpoints stay where they were.
    mutating func swapContent(_ i: Int, _ j: Int) {
        let a = self[i], b = self[j]
        self[i] = RecordNode(kind: b.kind, payload: b.payload, timestamp: a.timestamp, checkpoint: a.checkpoint)
        self[j] = RecordNode(kind: a.kind, payload: a.payload, timestamp: b.timestamp, checkpoint: b.checkpoint)
    }
}

struct AuditFixture: Sendable {
    let lines: [Data]
    let nodes: [RecordNode]
    let serverKey: Ed25519PrivateKey
    /// Held by the commission, never by the server: used only to model a commission that signs along.
    let commissionKey: Ed25519PrivateKey
    let manifest: ElectionManifest
    let electionHash: Digest
    let electionKey: GroupElement
    let publicShares: [GroupElement]
    let aggregate: TallyAggregate
    let wallets: [[UInt8]: Wallet]
    let trustees: [TrusteeKeyFile]
    /// The key of the voter who challenged an encryption before casting (the first of d1).
    let challenger: Ed25519PublicKey
    /// The key of the voter who also voted at the station (the last of d2): its remote ballot is superseded.
    let supersededVoter: Ed25519PublicKey
    /// Remote ballots cast.
    let voters: Int
    let httpReport: AuditReport

    // MARK: building the election once

    private actor Cache {
        var task: Task<AuditFixture, any Error>?
        func fixture() async throws -> AuditFixture {
            if let task { return try await task.value }
            let t = Task { try await AuditFixture.build() }
            task = t
            return try await t.value
        }
    }

    private static let cache = Cache()

    static func shared() async throws -> AuditFixture { try await cache.fixture() }

    static let manifestForTest = ElectionManifest(
        electionId: "audit-tamper", name: "Audit tamper test",
        districts: [
            District(id: "d1", name: "North", seats: 1, selectionLimit: 1, options: [
                BallotOption(id: "a1", name: "Alder"), BallotOption(id: "a2", name: "Birch"), BallotOption(id: "a3", name: "Cedar"),
            ]),
            District(id: "d2", name: "South", seats: 2, selectionLimit: 1, options: [
                BallotOption(id: "b1", name: "Dogwood"), BallotOption(id: "b2", name: "Elm"),
                BallotOption(id: "b3", name: "Fir"), BallotOption(id: "b4", name: "Against all", electable: false),
            ]),
        ],
        trustees: TrusteePolicy(count: 3, quorum: 2))

    /// The choices, per district, in the order the voters cast; the first voter of d1 challenges first.
    static let choices: [String: [String]] = ["d1": ["a1", "a1", "a2", "a3"], "d2": ["b1", "b1", "b2", "b3"]]
    /// What the last voter of d2 marks at the polling station (superseding the remote b3).
    static let supervisedChoice = "b2"

    /// A complete v2 election: the registrar's roll and one reissued code (a lost letter),
    /// three appointed trustees and their ceremony, a polling station, eight voters enrolling
    /// and casting (one challenges first), one of them also voting in person, the close with
    /// its supersession reveal and aggregate, and two trustees decrypting.
    private static func build() async throws -> AuditFixture {
        let path = try Tools.temporaryDirectory("e2e-audit")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dir = DataDirectory(path: path + "/election")
        let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: manifestForTest)
        let commission = try dir.commissionKey()
        let rollSecret = try dir.rollSecret()
        var rows: [ElectionStore.RollLine] = []
        for (d, district) in manifestForTest.districts.enumerated() {
            for v in 0..<4 { rows.append(.init(personalNumber: "5001\(d)\(v)-0000\(v)", district: district.id, line: rows.count + 1)) }
        }
        var codes = try await store.importRoll(rows, rollSecret: rollSecret, commissionKey: commission).codes
        // A lost letter: the second voter of d2 gets a new code before enrolling.
        let lost = codes[5]
        let reissued = try await store.reissue(personalNumber: lost.personalNumber, rollSecret: rollSecret, commissionKey: commission)
        codes[5] = ElectionStore.IssuedCode(personalNumber: lost.personalNumber, district: lost.district, code: reissued.code,
                                            commitment: reissued.commitment)
        let issuedCodes = codes
        let trustees = try await LocalTrustees.register(in: store, commissionKey: commission)
        let stationKey = try Ed25519PrivateKey()
        _ = try await store.appointStation(StationRegistration(index: 1, name: "Town hall", signingKey: stationKey.publicKey),
                                           commissionKey: commission)

        let server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path)
        defer { server.stop() }
        let (wallets, order, httpReport) = try await BallotServerClient.withPooledHTTPClient(connections: 4) { http in
            let client = try BallotServerClient(baseURL: server.url, http: http)
            try await trustees.runCeremony(client: client)
            _ = try await store.changeWindow(.open, commissionKey: commission)
            let election = try await VoterActions.fetchElection(client)
            // Everyone enrolls first, then everyone casts, so the ballot entries are consecutive.
            var enrolled: [Wallet] = []
            for issued in issuedCodes {
                enrolled.append(try await VoterActions.enroll(client: client, personalNumber: issued.personalNumber, code: issued.code,
                                                              election: election))
            }
            var wallets: [[UInt8]: Wallet] = [:]
            var cast: [String: Int] = [:]
            for wallet in enrolled {
                let district = try wallet.enrolledDistrict()
                wallets[wallet.voterKey.rawRepresentation] = wallet
                let n = cast[district, default: 0]
                cast[district] = n + 1
                guard let choice = choices[district]?[n] else { throw Tools.ToolError("no choice for voter \(n) of \(district)") }
                _ = try await VoterActions.cast(client: client, wallet: wallet, selections: [choice], election: election,
                                                challenge: district == "d1" && n == 0)
            }
            // The last voter of d2 also votes at the station: the supervised ballot supersedes the remote one.
            guard let inPerson = issuedCodes.last else { throw Tools.ToolError("no voters") }
            let d2 = try #require(manifestForTest.district(inPerson.district))
            let electionKey = try #require(election.electionKey)
            let (ballot, _) = try VoterActions.encrypt(selections: [supervisedChoice], district: d2, electionHash: election.electionHash,
                                                      electionKey: electionKey)
            let signature = try SupervisedBallot.sign(ballot: ballot, station: 1, key: stationKey)
            let supervised = try await client.signing(as: .station(1), key: stationKey, electionHash: election.electionHash)
                .castSupervised(SupervisedBallotBody(personalNumber: inPerson.personalNumber, ballot: ballot.wire, signature: signature))
            guard supervised.superseded != nil else { throw Tools.ToolError("the supervised ballot superseded nothing") }
            _ = try await store.changeWindow(.close, commissionKey: commission)
            try await trustees.decrypt(client: client, indices: [1, 2])
            let report = try await AuditRunner.audit(client: client)
            return (wallets, enrolled.map(\.voterKey), report)
        }

        var buffer = Data()
        _ = try await store.exportRecord { data in buffer.append(data) }
        let lines = buffer.split(separator: 0x0a).map { Data($0) }

        var nodes: [RecordNode] = []
        for line in lines {
            switch try RecordItem.parse(line: line) {
            case .entry(let body):
                let entry = try LogEntry.decode(canonical: body.data.bytes)
                nodes.append(RecordNode(kind: entry.kind, payload: entry.payload, timestamp: entry.timestamp, checkpoint: false))
            case .checkpoint:
                nodes[nodes.count - 1].checkpoint = true
            case .header, .end:
                break
            }
        }
        guard let keyNode = nodes.first(where: { $0.kind == .electionKey }), let aggregateNode = nodes.first(where: { $0.kind == .aggregate }) else {
            throw Tools.ToolError("the record has no election key or no aggregate")
        }
        let keyRecord = try ElectionKeyRecord.decode(canonical: keyNode.payload)
        return AuditFixture(lines: lines, nodes: nodes, serverKey: try dir.serverKey(), commissionKey: commission, manifest: manifestForTest,
                            electionHash: store.electionHash, electionKey: keyRecord.key, publicShares: keyRecord.publicShares,
                            aggregate: try TallyAggregate.decode(canonical: aggregateNode.payload),
                            wallets: wallets, trustees: trustees.keys, challenger: order[0], supersededVoter: order[order.count - 1],
                            voters: codes.count, httpReport: httpReport)
    }

    // MARK: rebuilding a record as a malicious server would

    /// A whole record from these entries: each re-indexed to its position, every checkpoint
    /// recomputed and re-signed with the server key (after every entry that had one, and
    /// after the last), timestamps never decreasing, and a matching end line.
    func rebuild(_ nodes: [RecordNode]) throws -> [Data] {
        var out = [lines[0]]
        var frontier = MerkleFrontier()
        var checkpoints: UInt64 = 0
        var time: Timestamp = 0
        for (i, node) in nodes.enumerated() {
            let entry = LogEntry(index: UInt64(i), electionHash: electionHash, timestamp: node.timestamp, kind: node.kind, payload: node.payload)
            let bytes = entry.canonicalBytes
            frontier.append(leafHash: Merkle.leafHash(bytes))
            out.append(try Self.line(.entry(LogEntryBody(index: UInt64(i), kind: node.kind, data: HexBytes(bytes)))))
            time = max(time, node.timestamp)
            if node.checkpoint || i == nodes.count - 1 {
                let cp = try Checkpoint(electionHash: electionHash, treeSize: frontier.size, rootHash: frontier.root, timestamp: time)
                    .signed(with: serverKey)
                out.append(try Self.line(.checkpoint(cp)))
                checkpoints += 1
            }
        }
        out.append(try Self.line(.end(RecordEnd(entries: frontier.size, checkpoints: checkpoints))))
        return out
    }

    static func line(_ item: RecordItem) throws -> Data { Data(try item.line().dropLast()) }

    /// A ballot with new ciphertexts (proofs kept), with the voter's original signature or
    /// re-signed with the voter's own wallet key.
    func replaceContent(_ signed: SignedBallot, ciphertexts: [Ciphertext], resign: Bool) throws -> [UInt8] {
        let b = signed.ballot
        let content = BallotContent(ciphertexts: ciphertexts, proofs: b.content.proofs, limitProof: b.content.limitProof)
        return try recast(signed, as: Ballot(electionHash: b.electionHash, ballotID: b.ballotID, district: b.district, content: content),
                          resign: resign)
    }

    /// `ballot` in place of the ballot `signed` cast: under the voter's original signature,
    /// or cast anew with the voter's own wallet key.
    func recast(_ signed: SignedBallot, as ballot: Ballot, resign: Bool) throws -> [UInt8] {
        guard resign else { return SignedBallot(ballot: ballot, voterKey: signed.voterKey, signature: signed.signature).canonicalBytes }
        return try ballot.cast(with: try signingKey(signed.voterKey)).canonicalBytes
    }

    func signingKey(_ voterKey: Ed25519PublicKey) throws -> Ed25519PrivateKey {
        guard let wallet = wallets[voterKey.rawRepresentation] else { throw Tools.ToolError("no wallet for key \(voterKey.hex.prefix(16))") }
        return try wallet.signingKey()
    }

    /// The log position of the ballot cast by `voterKey`.
    func ballotIndex(of voterKey: Ed25519PublicKey, in nodes: [RecordNode]) throws -> Int {
        guard let i = try nodes.indices.first(where: { try nodes[$0].kind == .ballot && SignedBallot.decode(canonical: nodes[$0].payload).voterKey == voterKey }) else {
            throw Tools.ToolError("no ballot from key \(voterKey.hex.prefix(16))")
        }
        return i
    }

    func indices(_ kind: LogEntryKind) -> [Int] { nodes.indices.filter { nodes[$0].kind == kind } }

    func index(_ kind: LogEntryKind, in nodes: [RecordNode]) -> Int { nodes.firstIndex { $0.kind == kind }! }

    func firstBallot() throws -> (Int, SignedBallot) {
        let i = indices(.ballot)[0]
        return (i, try SignedBallot.decode(canonical: nodes[i].payload))
    }

    /// The record line of entry `index`.
    func entryLine(_ index: Int) throws -> (Int, LogEntryBody) {
        for (at, line) in lines.enumerated() {
            if case .entry(let body) = try RecordItem.parse(line: line), body.index == UInt64(index) { return (at, body) }
        }
        throw Tools.ToolError("no entry \(index)")
    }

    /// The record line of the first checkpoint that covers entry `index`.
    func checkpointLine(coveringEntry index: Int) throws -> (Int, Checkpoint) {
        for (at, line) in lines.enumerated() {
            if case .checkpoint(let cp) = try RecordItem.parse(line: line), cp.checkpoint.treeSize > UInt64(index) {
                return (at, cp.checkpoint)
            }
        }
        throw Tools.ToolError("no checkpoint covers entry \(index)")
    }

    func write(_ lines: [Data], _ label: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("audit-\(label)-\(UUID().uuidString).jsonl").path
        var data = Data()
        for line in lines { data.append(line); data.append(0x0a) }
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }

    // MARK: auditing

    func audit(_ lines: [Data]) async -> AuditReport {
        let audit = ElectionAudit(parallelism: 2)
        for (n, line) in lines.enumerated() {
            do { await audit.consume(try RecordItem.parse(line: line)) } catch { audit.malformedLine(n + 1, error) }
        }
        return await audit.finish()
    }

    /// Audits the lines and expects exactly these checks to fail.
    @discardableResult
    func expect(_ lines: [Data], fails expected: Set<Int>, sourceLocation: SourceLocation = #_sourceLocation) async throws -> AuditReport {
        let report = await audit(lines)
        let failing = Set(report.checks.filter { !$0.passed }.map(\.number))
        #expect(failing == expected, "failing checks \(failing.sorted()), expected \(expected.sorted()):\n\(Self.describe(report))",
                sourceLocation: sourceLocation)
        #expect(report.passed == expected.isEmpty, sourceLocation: sourceLocation)
        return report
    }

    static func describe(_ report: AuditReport) -> String {
        report.checks.filter { !$0.passed }.map { c in
            "\(c.number). \(c.name): " + c.failures.joined(separator: " | ") + (c.moreFailures > 0 ? " (+\(c.moreFailures))" : "")
        }.joined(separator: "\n")
    }

    // MARK: bytes

    /// Another valid point in place of `p`: its negation (the same x with y replaced by
    /// p - y, so only the y bytes of the 65-byte encoding change).
    static func otherValidPoint(_ p: GroupElement) -> GroupElement { -p }

    /// The encoding with one bit of x flipped so that it is no longer a curve point.
    static func flipToInvalidPoint(_ enc: [UInt8]) -> [UInt8] {
        for byte in stride(from: enc.count - 1, to: 0, by: -1) {
            for bit in 0..<8 {
                var e = enc
                e[byte] ^= UInt8(1) << UInt8(bit)
                if (try? GroupElement(encoding: e)) == nil { return e }
            }
        }
        fatalError("no invalid neighbour encoding")
    }

    static func range(of needle: [UInt8], in haystack: [UInt8]) -> Range<Int>? {
        guard needle.count <= haystack.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start..<start + needle.count].elementsEqual(needle) {
            return start..<start + needle.count
        }
        return nil
    }
}
