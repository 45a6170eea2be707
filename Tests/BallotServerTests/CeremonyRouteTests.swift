import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

/// The trustees' key ceremony through the router: POST /v1/trustees/dealings,
/// POST /v1/trustees/verifications, GET /v1/trustees, and the election key it publishes.
@Suite("Trustees' key ceremony")
struct CeremonyRouteTests {
    static let policy = TrusteePolicy(count: 3, quorum: 2)

    /// Two voters in d01, three trustees with a quorum of two.
    static func election(backend: StorageBackend = .sqlite, stage: TestElection.Stage = .registered) async throws -> TestElection {
        try await TestElection(backend: backend, voters: 2, districts: 1, stage: stage, manifest: TestElection.manifest(trustees: policy))
    }

    static func sum(_ points: [GroupElement]) -> GroupElement {
        points.dropFirst().reduce(points.first ?? .identity, +)
    }

    @Test(arguments: StorageBackend.all) func dealingBeforeEveryTrusteeIsRegisteredIsTrusteesIncomplete(_ backend: StorageBackend) async throws {
        let e = try await Self.election(backend: backend, stage: .created)
        defer { e.remove() }
        for trustee in e.trustees.prefix(2) { try await e.appoint(trustee.registration) }
        let hash = e.store.electionHash
        try await e.withRouter { client in
            let info = try await e.trusteesInfo(client)
            #expect(info.policy == Self.policy)
            #expect(info.trustees == e.trustees.prefix(2).map(\.registration))
            #expect(info.dealings.isEmpty && info.verifications.isEmpty && info.electionKey == nil)
            let early = try e.trustees[0].deal(electionHash: hash, quorum: 2, trustees: info.trustees)
            let before = try await e.snapshot()
            let body = expectError(try await e.postDealing(client, early), .conflict, "trustees-incomplete")
            #expect(body?.message.contains("2 of 3") == true, "\(body?.message ?? "")")
            #expect(try await e.snapshot() == before)

            // Once the commission has registered the third trustee, the same trustee deals.
            try await e.appoint(e.trustees[2].registration)
            let all = try await e.trusteesInfo(client).trustees
            #expect(all.map(\.index) == [1, 2, 3])
            let dealing = try e.trustees[0].deal(electionHash: hash, quorum: 2, trustees: all)
            let response = try await e.postDealing(client, dealing)
            #expect(response.status == .created, "\(response.text)")
            let published = try response.decode(PublicationResponse.self)
            #expect(published.logIndex == UInt64(before.logSize + 1))
            #expect(try await e.trusteesInfo(client).dealings == [dealing])
        }
    }

    /// The commission's appointment rules (`ballot-server trustee add`): v2 registrations are
    /// signed by the trustee's own key and the commission countersigns them into the log, so
    /// neither a name nor a key can be changed or a trustee added without a check failing.
    @Test(arguments: StorageBackend.all) func trusteeAppointmentRules(_ backend: StorageBackend) async throws {
        let e = try await Self.election(backend: backend, stage: .created)
        defer { e.remove() }
        func code(_ registration: TrusteeRegistration) async -> String? {
            await refusal { try await e.appoint(registration) }?.code
        }
        let t = e.trustees[0]
        let t1 = t.registration
        func signed(index: UInt32, name: String) throws -> TrusteeRegistration {
            try TrusteeRegistration.signed(index: index, name: name, signingKey: t.signingKey, encryptionKey: t1.encryptionKey)
        }
        let before = try await e.snapshot()
        #expect(await code(try signed(index: 0, name: "Zero")) == "invalid-trustee")
        #expect(await code(try signed(index: 4, name: "Four")) == "invalid-trustee")
        #expect(await code(try signed(index: 1, name: "")) == "invalid-trustee")
        // Not self-signed: signed by another key, or changed after the trustee signed it.
        let byStranger = try TrusteeRegistration.signed(index: 1, name: t1.name, signingKey: try Ed25519PrivateKey(), encryptionKey: t1.encryptionKey)
        #expect(await code(TrusteeRegistration(index: 1, name: t1.name, signingKey: t1.signingKey, encryptionKey: t1.encryptionKey,
                                               signature: byStranger.signature)) == "invalid-trustee")
        #expect(await code(TrusteeRegistration(index: 1, name: "Mallory", signingKey: t1.signingKey, encryptionKey: t1.encryptionKey,
                                               signature: t1.signature)) == "invalid-trustee")
        #expect(await code(TrusteeRegistration(index: 1, name: t1.name, signingKey: t1.signingKey,
                                               encryptionKey: e.trustees[1].registration.encryptionKey, signature: t1.signature)) == "invalid-trustee")
        // Only the commission key of entry 0 appoints.
        #expect(await refusal { _ = try await e.store.appointTrustee(t1, commissionKey: try Ed25519PrivateKey()) }?.code == "key-mismatch")
        #expect(try await e.snapshot() == before)
        #expect(try await e.appoint(t1) == .new(UInt64(before.logSize)))
        let registered = try await e.snapshot()
        #expect(registered.logSize == before.logSize + 1)
        // The identical registration again changes nothing; other keys for index 1 are refused.
        #expect(try await e.appoint(t1) == .existing(UInt64(before.logSize)))
        #expect(try await e.snapshot() == registered)
        #expect(await code(try TestTrustee(index: 1).registration) == "trustee-exists")
        #expect(try await e.snapshot() == registered)
        let entry = try await e.store.entries(start: UInt64(before.logSize), limit: 1).entries[0]
        #expect(entry.kind == .trustee)
        let (logged, hash, commissionSignature) = try TrusteeRegistration.decode(payload: try LogEntry.decode(canonical: entry.data.bytes).payload)
        #expect(logged == t1)
        #expect(logged.isSelfSigned)
        #expect(hash == e.store.electionHash)
        #expect(e.store.setup.commissionKey.isValidSignature(commissionSignature, for: t1.appointmentBytes(electionHash: hash)))
    }

    /// Every public check of a dealing: the signature under the trustee's registered key, the
    /// number of commitments, the Schnorr proof of the constant term (bound to the trustee),
    /// one share for each other trustee in index order, and a registered index.
    @Test(arguments: StorageBackend.all) func dealingsWithBadSignaturesProofsOrShapesAreBadProof(_ backend: StorageBackend) async throws {
        let e = try await Self.election(backend: backend)
        defer { e.remove() }
        let hash = e.store.electionHash
        try await e.withRouter { client in
            let info = try await e.trusteesInfo(client)
            let t = e.trustees[0]
            let good = try t.deal(electionHash: hash, quorum: 2, trustees: info.trustees)
            let polynomial = try t.polynomial(quorum: 2)
            #expect(good.commitments == polynomial.commitments)
            let binding = DealerPublication.proofBinding(index: 1)
            func resigned(commitments: [GroupElement]? = nil, proof: SchnorrProof? = nil, shares: [EncryptedShare]? = nil,
                          index: UInt32? = nil) throws -> DealerPublication {
                try t.sign(electionHash: hash, commitments: commitments ?? good.commitments, proof: proof ?? good.proof,
                           shares: shares ?? good.shares, index: index)
            }
            func signature(_ key: Ed25519PrivateKey, _ bytes: [UInt8]) throws -> DealerPublication {
                DealerPublication(index: 1, commitments: good.commitments, proof: good.proof, shares: good.shares,
                                  signature: try key.signature(for: bytes))
            }
            let ownShare = try EncryptedShare.seal(share: polynomial.evaluate(at: 1), electionHash: hash, dealer: 1, recipient: 1,
                                                   recipientKey: t.registration.encryptionKey)
            let cases: [(String, DealerPublication, String)] = [
                ("signed by a stranger", try signature(try Ed25519PrivateKey(), good.signedBytes(electionHash: hash)), "not signed"),
                ("signed by another trustee", try signature(e.trustees[1].signingKey, good.signedBytes(electionHash: hash)), "not signed"),
                ("signed for another election", try signature(t.signingKey, good.signedBytes(electionHash: try TestElection.otherElectionHash())),
                 "not signed"),
                ("one flipped signature bit", DealerPublication(index: 1, commitments: good.commitments, proof: good.proof, shares: good.shares,
                                                                signature: Ed25519Signature(trusted: good.signature.bytes.enumerated().map { $0 == 5 ? $1 ^ 1 : $1 })),
                 "not signed"),
                ("a Schnorr response off by one", try resigned(proof: SchnorrProof(a: good.proof.a, z: good.proof.z + .one)), "proof of knowledge"),
                ("a Schnorr proof bound to trustee 2",
                 try resigned(proof: try SchnorrProof.prove(secret: polynomial.coefficients[0], electionHash: hash,
                                                            bound: DealerPublication.proofBinding(index: 2))), "proof of knowledge"),
                ("a Schnorr proof for another election",
                 try resigned(proof: try SchnorrProof.prove(secret: polynomial.coefficients[0], electionHash: try TestElection.otherElectionHash(),
                                                            bound: binding)), "proof of knowledge"),
                ("a Schnorr proof of another secret",
                 try resigned(proof: try SchnorrProof.prove(secret: try Scalar.random(), electionHash: hash, bound: binding)), "proof of knowledge"),
                ("one commitment too few", try resigned(commitments: Array(good.commitments.prefix(1))), "1 commitments"),
                ("one commitment too many", try resigned(commitments: good.commitments + [.base(try Scalar.random())]), "3 commitments"),
                ("no commitments", try resigned(commitments: []), "0 commitments"),
                ("a share missing", try resigned(shares: Array(good.shares.dropLast())), "one share for each other trustee"),
                ("shares out of order", try resigned(shares: good.shares.reversed()), "one share for each other trustee"),
                ("a share for itself", try resigned(shares: [ownShare] + good.shares), "one share for each other trustee"),
                ("a share twice", try resigned(shares: good.shares + [good.shares[1]]), "one share for each other trustee"),
            ]
            let before = try await e.snapshot()
            for (name, publication, fragment) in cases {
                let body = expectError(try await e.postDealing(client, publication), .badRequest, "bad-proof")
                #expect(body?.message.contains(fragment) == true, "\(name): \(body?.message ?? "")")
            }
            // An index that is not registered has no key to sign the request with.
            expectError(try await e.postDealing(client, try resigned(index: 9)), .forbidden, "not-a-trustee")
            #expect(try await e.snapshot() == before)
            #expect(try await e.trusteesInfo(client).dealings.isEmpty)
            // The genuine dealing is accepted afterwards.
            #expect(try await e.postDealing(client, good).status == .created)
        }
    }

    @Test(arguments: StorageBackend.all) func identicalDealingIsAcceptedAgainAndADifferentOneIsAlreadyPublished(_ backend: StorageBackend) async throws {
        let e = try await Self.election(backend: backend)
        defer { e.remove() }
        let hash = e.store.electionHash
        try await e.withRouter { client in
            let info = try await e.trusteesInfo(client)
            let t = e.trustees[1]
            let dealing = try t.deal(electionHash: hash, quorum: 2, trustees: info.trustees)
            // Secrets derived from the trustee's seed: dealing again gives the same bytes.
            #expect(try t.deal(electionHash: hash, quorum: 2, trustees: info.trustees) == dealing)
            let first = try await e.postDealing(client, dealing)
            #expect(first.status == .created, "\(first.text)")
            let after = try await e.snapshot()
            let again = try await e.postDealing(client, dealing)
            #expect(again.status == .ok, "\(again.text)")
            #expect(try again.decode(PublicationResponse.self).logIndex == (try first.decode(PublicationResponse.self)).logIndex)
            #expect(try await e.snapshot() == after)
            // A valid dealing with other secrets, from the same trustee.
            let other = try DealerPublication.deal(electionHash: hash, index: t.index, quorum: 2, trustees: info.trustees,
                                                   signingKey: t.signingKey) { _, _ in try Scalar.random() }.0
            #expect(other.problem(electionHash: hash, quorum: 2, trustees: info.trustees) == nil)
            let body = expectError(try await e.postDealing(client, other), .conflict, "already-published")
            #expect(body?.message.lowercased().contains("trustee 2") == true, "\(body?.message ?? "")")
            #expect(try await e.snapshot() == after)
            #expect(try await e.trusteesInfo(client).dealings == [dealing])
        }
    }

    @Test(arguments: StorageBackend.all) func verificationRulesAndResends(_ backend: StorageBackend) async throws {
        let e = try await Self.election(backend: backend)
        defer { e.remove() }
        let hash = e.store.electionHash
        try await e.withRouter { client in
            let info = try await e.trusteesInfo(client)
            for t in e.trustees.prefix(2) {
                #expect(try await e.postDealing(client, try t.deal(electionHash: hash, quorum: 2, trustees: info.trustees)).status == .created)
            }
            let before = try await e.snapshot()
            let verdict = try e.trustees[0].verification(complaints: [], electionHash: hash)
            let early = expectError(try await e.postVerification(client, verdict), .conflict, "dealings-incomplete")
            #expect(early?.message.contains("2 of 3") == true, "\(early?.message ?? "")")
            // A trustee that is not registered, and a verdict signed by another key.
            let stranger = try TestTrustee(index: 7)
            expectError(try await e.postVerification(client, try stranger.verification(complaints: [], electionHash: hash)),
                        .forbidden, "not-a-trustee")
            let forged = ShareVerification(index: 1, complaints: [],
                                           signature: try e.trustees[1].signingKey.signature(for: verdict.signedBytes(electionHash: hash)))
            expectError(try await e.postVerification(client, forged), .badRequest, "bad-proof")
            let otherElection = ShareVerification(index: 1, complaints: [], signature: try e.trustees[0].signingKey.signature(
                for: ShareVerification.signedBytes(electionHash: try TestElection.otherElectionHash(), index: 1, complaints: [])))
            expectError(try await e.postVerification(client, otherElection), .badRequest, "bad-proof")
            #expect(try await e.snapshot() == before)

            #expect(try await e.postDealing(client, try e.trustees[2].deal(electionHash: hash, quorum: 2, trustees: info.trustees)).status == .created)
            let dealt = try await e.trusteesInfo(client)
            #expect(dealt.dealings.map(\.index) == [1, 2, 3])
            let first = try await e.postVerification(client, verdict)
            #expect(first.status == .created, "\(first.text)")
            let afterFirst = try await e.snapshot()
            let again = try await e.postVerification(client, verdict)
            #expect(again.status == .ok, "\(again.text)")
            #expect(try again.decode(PublicationResponse.self).logIndex == (try first.decode(PublicationResponse.self)).logIndex)
            // Changing one's verdict afterwards is refused.
            let changed = try e.trustees[0].verification(complaints: [2], electionHash: hash)
            expectError(try await e.postVerification(client, changed), .conflict, "already-published")
            #expect(try await e.snapshot() == afterFirst)
            #expect(try await e.trusteesInfo(client).verifications == [verdict])
            #expect(try await e.electionInfo(client).electionKey == nil)
        }
    }

    /// A dealer that sends one trustee a share that does not match its commitments and
    /// another a share it cannot decrypt: both recipients name it, the server publishes no
    /// election key, and voting cannot open.
    @Test(arguments: StorageBackend.all) func badSharesAreNamedInComplaintsAndNoKeyIsPublished(_ backend: StorageBackend) async throws {
        let e = try await Self.election(backend: backend)
        defer { e.remove() }
        let hash = e.store.electionHash
        try await e.withRouter { client in
            let info = try await e.trusteesInfo(client)
            let dealer = e.trustees[0]
            let polynomial = try dealer.polynomial(quorum: 2)
            let registrations = info.trustees
            // To trustee 2: f(2) + 1, encrypted correctly. To trustee 3: f(3), encrypted to trustee 2's key.
            let shares = [
                try EncryptedShare.seal(share: polynomial.evaluate(at: 2) + .one, electionHash: hash, dealer: 1, recipient: 2,
                                        recipientKey: registrations[1].encryptionKey),
                try EncryptedShare.seal(share: polynomial.evaluate(at: 3), electionHash: hash, dealer: 1, recipient: 3,
                                        recipientKey: registrations[1].encryptionKey),
            ]
            let proof = try SchnorrProof.prove(secret: polynomial.coefficients[0], electionHash: hash,
                                               bound: DealerPublication.proofBinding(index: 1))
            let cheat = try dealer.sign(electionHash: hash, commitments: polynomial.commitments, proof: proof, shares: shares)
            // Publicly the dealing is flawless: only the recipients can tell.
            #expect(cheat.problem(electionHash: hash, quorum: 2, trustees: registrations) == nil)
            #expect(try await e.postDealing(client, cheat).status == .created)
            for t in e.trustees.dropFirst() {
                #expect(try await e.postDealing(client, try t.deal(electionHash: hash, quorum: 2, trustees: registrations)).status == .created)
            }
            let dealt = try await e.trusteesInfo(client)
            #expect(dealt.dealings.first == cheat)
            let complaints = e.trustees.map { $0.complaints(info: dealt, electionHash: hash) }
            #expect(complaints == [[], [1], [1]])
            for (t, c) in zip(e.trustees, complaints) {
                let response = try await e.postVerification(client, try t.verification(complaints: c, electionHash: hash))
                #expect(response.status == .created, "\(response.text)")
            }
            let after = try await e.trusteesInfo(client)
            #expect(after.verifications.map(\.complaints) == [[], [1], [1]])
            #expect(after.electionKey == nil)
            #expect(try await e.electionInfo(client).electionKey == nil)
            #expect(!(try await e.logKinds()).contains(.electionKey))
            #expect(await refusal { try await e.open() }?.code == "ceremony-incomplete")
            #expect(try await e.electionInfo(client).state == .setup)
            // Nobody can vote: there is no key to check a ballot against.
            let key = try await e.enrolledKey(client, voter: 0)
            expectError(try await e.cast(client, try e.ballot(key, voter: 0, electionKey: .base(try Scalar.random()))),
                        .forbidden, "election-not-open")
        }
    }

    /// With every share accepted, the last verification publishes the joint key K = Σ C_i0
    /// and every trustee's public share S_j = s_j G; any quorum of the secret shares
    /// interpolates to the joint secret; voting can open and the ceremony is closed.
    @Test(arguments: StorageBackend.all) func completedCeremonyPublishesTheJointKey(_ backend: StorageBackend) async throws {
        let e = try await Self.election(backend: backend)
        defer { e.remove() }
        let hash = e.store.electionHash
        try await e.withRouter { client in
            #expect(try await e.electionInfo(client).electionKey == nil)
            let before = try await e.snapshot()
            try await e.runCeremony(client)
            let info = try await e.trusteesInfo(client)
            let record = try #require(info.electionKey)
            #expect(info.dealings.map(\.index) == [1, 2, 3])
            #expect(info.verifications.map(\.index) == [1, 2, 3])
            #expect(info.verifications.allSatisfy { $0.complaints.isEmpty })
            #expect(record.key == Self.sum(info.dealings.map { $0.commitments[0] }))
            let jointSecret = try e.trustees.map { try $0.polynomial(quorum: 2).coefficients[0] }.reduce(Scalar.zero, +)
            #expect(record.key == .base(jointSecret))
            #expect(record == ElectionKeyRecord.derive(from: info.dealings, trustees: [1, 2, 3]))
            let shares = try e.trustees.map { try $0.secretShare(info: info, electionHash: hash) }
            #expect(record.publicShares == shares.map { GroupElement.base($0) })
            for quorum in [[0, 1], [0, 2], [1, 2], [0, 1, 2]] {
                let indices = quorum.map { UInt64($0 + 1) }
                let combined = try quorum.map { j in
                    try #require(Feldman.lagrange(UInt64(j + 1), in: indices)) * shares[j]
                }.reduce(Scalar.zero, +)
                #expect(combined == jointSecret, "trustees \(indices)")
            }
            #expect(try await e.electionInfo(client).electionKey == record.key)
            // Three dealings, three verifications, the key (in the batch of a verification).
            let after = try await e.snapshot()
            #expect(after.logSize == before.logSize + 7)
            #expect(after.checkpoints == before.checkpoints + 6)
            #expect(try await e.logKinds().filter { $0 == .electionKey }.count == 1)

            try await e.open()
            #expect(try await e.electionInfo(client).state == .open)
            let dealing = try e.trustees[0].deal(electionHash: hash, quorum: 2, trustees: info.trustees)
            expectError(try await e.postDealing(client, dealing), .conflict, "ceremony-closed")
            expectError(try await e.postVerification(client, try e.trustees[0].verification(complaints: [], electionHash: hash)),
                        .conflict, "ceremony-closed")
            // Ballots are now encrypted to the joint key and accepted.
            let key = try await e.enrolledKey(client, voter: 0)
            #expect(try await e.cast(client, try e.ballot(key, voter: 0)).status == .created)
        }
    }

    // MARK: the key waits for every verdict

    /// The key is derived only once every trustee has accepted every share: not before the
    /// last verification, and then in the same batch as it. (An earlier version counted the
    /// verification being recorded twice and published the key one verification early.)
    @Test(arguments: StorageBackend.all) func electionKeyWaitsForTheLastVerification(_ backend: StorageBackend) async throws {
        let e = try await Self.election(backend: backend)
        defer { e.remove() }
        let hash = e.store.electionHash
        try await e.withRouter { client in
            let info = try await e.trusteesInfo(client)
            for t in e.trustees {
                #expect(try await e.postDealing(client, try t.deal(electionHash: hash, quorum: 2, trustees: info.trustees)).status == .created)
            }
            for t in e.trustees.prefix(2) {
                #expect(try await e.postVerification(client, try t.verification(complaints: [], electionHash: hash)).status == .created)
                #expect(try await e.trusteesInfo(client).electionKey == nil, "the key was published before trustee 3 verified its shares")
            }
            #expect(await refusal { try await e.open() }?.code == "ceremony-incomplete")
            let before = try await e.snapshot()
            #expect(try await e.postVerification(client, try e.trustees[2].verification(complaints: [], electionHash: hash)).status == .created)
            #expect(try await e.trusteesInfo(client).electionKey != nil)
            #expect(try await e.logKinds().suffix(4) == [.verification, .verification, .verification, .electionKey])
            let after = try await e.snapshot()
            #expect(after.logSize == before.logSize + 2)
            #expect(after.checkpoints == before.checkpoints + 1)
        }
    }

    /// A dealer that cheats only the last trustee to verify: that trustee's complaint alone
    /// keeps the key unpublished and voting closed.
    @Test(arguments: StorageBackend.all) func complaintOfTheLastTrusteeBlocksTheKey(_ backend: StorageBackend) async throws {
        let e = try await Self.election(backend: backend)
        defer { e.remove() }
        let hash = e.store.electionHash
        try await e.withRouter { client in
            let info = try await e.trusteesInfo(client)
            let dealer = e.trustees[0]
            let polynomial = try dealer.polynomial(quorum: 2)
            let shares = try info.trustees.dropFirst().map { r in
                try EncryptedShare.seal(share: polynomial.evaluate(at: UInt64(r.index)) + (r.index == 3 ? .one : .zero),
                                        electionHash: hash, dealer: 1, recipient: r.index, recipientKey: r.encryptionKey)
            }
            let proof = try SchnorrProof.prove(secret: polynomial.coefficients[0], electionHash: hash,
                                               bound: DealerPublication.proofBinding(index: 1))
            #expect(try await e.postDealing(client, try dealer.sign(electionHash: hash, commitments: polynomial.commitments,
                                                                    proof: proof, shares: shares)).status == .created)
            for t in e.trustees.dropFirst() {
                #expect(try await e.postDealing(client, try t.deal(electionHash: hash, quorum: 2, trustees: info.trustees)).status == .created)
            }
            let dealt = try await e.trusteesInfo(client)
            let complaints = e.trustees.map { $0.complaints(info: dealt, electionHash: hash) }
            #expect(complaints == [[], [], [1]])
            for (t, c) in zip(e.trustees, complaints) {
                #expect(try await e.postVerification(client, try t.verification(complaints: c, electionHash: hash)).status == .created)
            }
            #expect(try await e.trusteesInfo(client).electionKey == nil, "the key was published although trustee 3 complained")
            #expect(!(try await e.logKinds()).contains(.electionKey))
            #expect(await refusal { try await e.open() }?.code == "ceremony-incomplete")
        }
    }

    /// A one-trustee election (the manifest allows trustees.count 1) finishes its ceremony
    /// with that trustee's dealing and verification.
    @Test(arguments: StorageBackend.all) func oneTrusteeCeremonyPublishesTheKey(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 2, districts: 1, stage: .registered,
                                       manifest: TestElection.manifest(trustees: TrusteePolicy(count: 1, quorum: 1)))
        defer { e.remove() }
        try await e.withRouter { client in
            try await e.runCeremony(client)
            let info = try await e.trusteesInfo(client)
            #expect(info.dealings.first?.shares.isEmpty == true)
            #expect(info.verifications.count == 1)
            #expect(info.electionKey?.key == info.dealings.first?.commitments.first)
            #expect(info.electionKey?.publicShares == [try e.trustees[0].polynomial(quorum: 1).commitments[0]])
            try await e.open()
            let key = try await e.enrolledKey(client, voter: 0)
            #expect(try await e.cast(client, try e.ballot(key, voter: 0)).status == .created)
        }
    }

    /// All verifications at once (one write batch or several): the key is logged exactly once.
    @Test(arguments: StorageBackend.all) func concurrentVerificationsPublishTheKeyOnce(_ backend: StorageBackend) async throws {
        let e = try await Self.election(backend: backend)
        defer { e.remove() }
        let hash = e.store.electionHash
        try await e.withRouter { client in
            let info = try await e.trusteesInfo(client)
            for t in e.trustees {
                #expect(try await e.postDealing(client, try t.deal(electionHash: hash, quorum: 2, trustees: info.trustees)).status == .created)
            }
            let bodies = try e.trustees.flatMap { t in
                Array(repeating: try JSONEncoder().encode(try t.verification(complaints: [], electionHash: hash)), count: 4)
            }
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for body in bodies { group.addTask { try await e.postTrustee(client, "/v1/trustees/verifications", body).status } }
                var all: [HTTPResponse.Status] = []
                for try await s in group { all.append(s) }
                return all
            }
            #expect(statuses.filter { $0 == .created }.count == 3)
            #expect(statuses.filter { $0 == .ok }.count == bodies.count - 3)
            let kinds = try await e.logKinds()
            #expect(kinds.filter { $0 == .verification }.count == 3)
            #expect(kinds.filter { $0 == .electionKey }.count == 1)
            #expect(kinds.last == .electionKey)
            let after = try await e.trusteesInfo(client)
            let record = try #require(after.electionKey)
            #expect(record.key == Self.sum(after.dealings.map { $0.commitments[0] }))
        }
    }
}

