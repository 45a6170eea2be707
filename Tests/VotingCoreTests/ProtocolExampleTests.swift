import Foundation
import Testing
@testable import VotingCore

/// The worked example of docs/protocol.md §9: a whole election (one trustee, one voter, one
/// challenged and one cast ballot, the close, the decryption and the results) from fixed
/// inputs. Every value the document prints is checked here, so the document and the code
/// cannot drift apart; the values were also recomputed independently in Python from the
/// document's rules.
///
/// To print the computed values in the document's `name = value` form:
///
///   PRINT_EXAMPLE=1 swift test --skip-build --scratch-path .build-core --filter ProtocolExampleTests
@Suite("docs/protocol.md worked example")
struct ProtocolExampleTests {
    // MARK: inputs (§9.1)

    static let t0: UInt64 = 1_767_225_600_000          // 2026-01-01T00:00:00Z
    static let tOpen = t0 + 3_600_000                  // 01:00, the open order's issued_at
    static let tClose = t0 + 36_000_000                // 10:00, the close order's issued_at

    /// (index, kind, timestamp); entries with the same timestamp are one batch (one checkpoint).
    static let schedule: [(UInt64, LogEntryKind, UInt64)] = [
        (0, .election, t0),
        (1, .roll, t0 + 60_000),
        (2, .trustee, t0 + 120_000),
        (3, .dealing, t0 + 180_000),
        (4, .verification, t0 + 240_000),
        (5, .electionKey, t0 + 240_000),
        (6, .enrollment, t0 + 300_000),
        (7, .window, tOpen),
        (8, .spoiled, tOpen + 60_000),
        (9, .ballot, tOpen + 120_000),
        (10, .window, tClose),
        (11, .aggregate, tClose),
        (12, .decryption, tClose + 60_000),
        (13, .results, tClose + 60_000),
    ]
    /// Tree sizes that have a checkpoint: the size at the end of each batch.
    static let checkpointSizes: [UInt64] = [1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 14]

    static let manifest = ElectionManifest(electionId: "demo-2026", name: "Demo election", districts: [
        District(id: "d1", name: "North", seats: 1, selectionLimit: 1, options: [
            BallotOption(id: "yes", name: "Yes"), BallotOption(id: "no", name: "No"),
        ]),
    ], trustees: TrusteePolicy(count: 1, quorum: 1))

    /// Every fixed scalar of the example: SHA-256 of the UTF-8 label, as a big-endian integer, mod n.
    static func fixed(_ label: String) -> Scalar {
        do {
            return try Scalar(reducing: SHA256.hash(Array(label.utf8)).bytes)
        } catch {
            preconditionFailure("Scalar(reducing:) failed on 32 bytes: \(error)")
        }
    }

    static func seed(_ byte: UInt8) throws -> Ed25519PrivateKey {
        try Ed25519PrivateKey(rawRepresentation: [UInt8](repeating: byte, count: 32))
    }

    static func u32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
    static func u64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (56 - 8 * UInt64($0))) } }
    static func lp(_ b: [UInt8]) -> [UInt8] { u32(b.count) + b }
    static func lp(_ s: String) -> [UInt8] { lp(Array(s.utf8)) }
    static func hashToScalar(_ preimage: [UInt8]) throws -> Scalar { try Scalar(reducing: SHA256.hash(preimage).bytes) }

    /// One encrypted ballot built by hand from fixed nonces and fixed proof randomness, with the
    /// challenge preimages a verifier hashes (rebuilt here byte by byte from §11, not with the
    /// code's writer).
    struct BuiltBallot {
        let nonces: [Scalar]
        let content: BallotContent
        let signed: SignedBallot
        let rangePreimages: [[UInt8]]
        let limitPreimage: [UInt8]
    }

    static func buildBallot(prefix: String, votes: [UInt64], context ctx: ProofContext, voter: Ed25519PrivateKey,
                            electionHash eh: Digest) throws -> BuiltBallot {
        let options = manifest.districts[0].options
        let nonces = options.map { fixed("\(prefix) nonce \($0.id)") }
        var cts: [Ciphertext] = []
        var proofs: [ZeroOrOneProof] = []
        var pre: [[UInt8]] = []
        let K = ctx.electionKey
        for (i, o) in options.enumerated() {
            let ct = Ciphertext.encrypt(votes[i], nonce: nonces[i], key: K)
            let p = try ZeroOrOneProof.prove(ciphertext: ct, vote: votes[i], nonce: nonces[i], context: ctx,
                                             randomness: (u: fixed("\(prefix) \(o.id) u"), cFake: fixed("\(prefix) \(o.id) c-fake"),
                                                          zFake: fixed("\(prefix) \(o.id) z-fake")))
            cts.append(ct)
            proofs.append(p)
            // eq. 25: the commitments as a verifier recomputes them.
            let a0 = GroupElement.base(p.z0) - p.c0 * ct.alpha
            let b0 = p.z0 * K - p.c0 * ct.beta
            let a1 = GroupElement.base(p.z1) - p.c1 * ct.alpha
            let b1 = p.z1 * K - p.c1 * (ct.beta - .generator)
            pre.append(lp("evote.v1.proof.zero-or-one") + eh.bytes + K.encoding + lp(ctx.bound)
                + ct.alpha.encoding + ct.beta.encoding + a0.encoding + b0.encoding + a1.encoding + b1.encoding)
        }
        let total = Ciphertext.sum(cts)
        let limit = UInt64(manifest.districts[0].selectionLimit)
        let limitProof = try KnownValueProof.prove(ciphertext: total, value: limit, nonce: nonces[0] + nonces[1], context: ctx,
                                                   u: fixed("\(prefix) limit u"))
        let a = GroupElement.base(limitProof.z) - limitProof.c * total.alpha
        let b = limitProof.z * K - limitProof.c * (total.beta - .base(Scalar(limit)))
        let limitPre = lp("evote.v1.proof.selection-sum") + eh.bytes + K.encoding + lp(ctx.bound)
            + total.alpha.encoding + total.beta.encoding + u64(limit) + a.encoding + b.encoding
        let content = BallotContent(ciphertexts: cts, proofs: proofs, limitProof: limitProof)
        let signed = try Ballot(electionHash: eh, voterKey: voter.publicKey, district: "d1", content: content).signed(with: voter)
        return BuiltBallot(nonces: nonces, content: content, signed: signed, rangePreimages: pre, limitPreimage: limitPre)
    }

    /// Everything the example computes.
    struct Example {
        let server, commission, voter, trusteeSigner: Ed25519PrivateKey
        let electionHash: Digest
        let registration: TrusteeRegistration
        let trusteeSecret: Scalar
        let dealing: DealerPublication
        let polynomial: SecretPolynomial
        let schnorrPreimage: [UInt8]
        let verification: ShareVerification
        let keyRecord: ElectionKeyRecord
        let context: ProofContext
        let spoiledBuilt: BuiltBallot
        let spoiled: SpoiledBallot
        let cast: BuiltBallot
        let aggregate: TallyAggregate
        let partial: PartialDecryption
        let decryptionPreimages: [[UInt8]]
        let results: SignedResults
        let openOrder: WindowChange
        let closeOrder: WindowChange
        let entries: [LogEntry]
        let tree: InMemoryMerkleTree
        let checkpoints: [UInt64: SignedCheckpoint]
    }

    static func build() throws -> Example {
        let server = try seed(1), commission = try seed(2), voter = try seed(3), trusteeSigner = try seed(4)
        let eh = manifest.electionHash

        // Key ceremony (§12): one trustee, quorum 1.
        let d = fixed("example trustee encryption key")
        let registration = TrusteeRegistration(index: 1, name: "Trustee One", signingKey: trusteeSigner.publicKey, encryptionKey: .base(d))
        let (dealing, polynomial) = try DealerPublication.deal(
            electionHash: eh, index: 1, quorum: 1, trustees: [registration], signingKey: trusteeSigner) { label, t in
            fixed("example trustee \(label) \(t)")
        }
        let X = dealing.commitments[0]
        let schnorrA = GroupElement.base(dealing.proof.z) - dealing.proof.c * X
        let binding = lp("evote.v1.dealer-publication") + u32(1)
        let schnorrPreimage = lp("evote.v1.proof.schnorr") + eh.bytes + lp(binding) + X.encoding + schnorrA.encoding
        let verification = ShareVerification(
            index: 1, complaints: [],
            signature: try trusteeSigner.signature(for: ShareVerification.signedBytes(electionHash: eh, index: 1, complaints: [])))
        guard let keyRecord = ElectionKeyRecord.derive(from: [dealing], trustees: [1]) else { throw RecordError.mismatch("no key") }

        // Ballots (§11.4, §14): a challenged encryption, then the cast one; both select "yes".
        let context = BallotContent.context(electionHash: eh, electionKey: keyRecord.key, voterKey: voter.publicKey, district: "d1")
        let spoiledBuilt = try buildBallot(prefix: "example spoiled", votes: [1, 0], context: context, voter: voter, electionHash: eh)
        let spoiled = SpoiledBallot(ballot: spoiledBuilt.signed, opening: BallotOpening(selections: ["yes"], nonces: spoiledBuilt.nonces))
        let cast = try buildBallot(prefix: "example ballot", votes: [1, 0], context: context, voter: voter, electionHash: eh)

        // Tally (§13).
        let aggregate = TallyAggregate.sum(manifest: manifest, ballots: [("d1", cast.content.ciphertexts)])
        let share = polynomial.evaluate(at: 1)
        var shares: [PartialDecryption.Share] = []
        var decryptionPreimages: [[UInt8]] = []
        for (o, ct) in aggregate.districts[0].ciphertexts.enumerated() {
            let (D, proof) = try DecryptionProof.prove(secret: share, alpha: ct.alpha, electionHash: eh,
                                                       u: fixed("example decryption u \(o)"))
            shares.append(.init(partial: D, proof: proof))
            let S = keyRecord.publicShares[0]
            let a = GroupElement.base(proof.z) - proof.c * S
            let b = proof.z * ct.alpha - proof.c * D
            decryptionPreimages.append(lp("evote.v1.proof.decryption") + eh.bytes + S.encoding + ct.alpha.encoding + D.encoding
                + a.encoding + b.encoding)
        }
        let partialSignature = try trusteeSigner.signature(for: PartialDecryption.signedBytes(electionHash: eh, index: 1, districts: [shares]))
        let partial = PartialDecryption(index: 1, districts: [shares], signature: partialSignature)
        guard let results = ElectionResults.combine(manifest: manifest, aggregate: aggregate, partials: [partial], roll: ["d1": 1]) else {
            throw RecordError.mismatch("combination failed")
        }
        let signedResults = SignedResults(results: results, signature: try server.signature(for: results.canonicalBytes))

        // The log (§5, §9.1).
        let openOrder = try WindowChange.sign(electionHash: eh, action: .open, issuedAt: tOpen, commissionKey: commission)
        let closeOrder = try WindowChange.sign(electionHash: eh, action: .close, issuedAt: tClose, commissionKey: commission)
        let payloads: [[UInt8]] = [
            ElectionSetup(manifest: manifest, serverKey: server.publicKey, commissionKey: commission.publicKey).canonicalBytes,
            RollImport(counts: [.init(district: "d1", voters: 1)]).canonicalBytes,
            registration.canonicalBytes,
            dealing.payload(electionHash: eh),
            verification.payload(electionHash: eh),
            keyRecord.canonicalBytes,
            Enrollment(voterKey: voter.publicKey, district: "d1").canonicalBytes,
            openOrder.canonicalBytes,
            spoiled.canonicalBytes,
            cast.signed.canonicalBytes,
            closeOrder.canonicalBytes,
            aggregate.canonicalBytes,
            partial.payload(electionHash: eh),
            signedResults.payload,
        ]
        let entries = zip(schedule, payloads).map { s, p in
            LogEntry(index: s.0, electionHash: eh, timestamp: s.2, kind: s.1, payload: p)
        }
        var tree = InMemoryMerkleTree()
        var checkpoints: [UInt64: SignedCheckpoint] = [:]
        for e in entries {
            tree.append(leafHash: e.leafHash)
            let size = e.index + 1
            if checkpointSizes.contains(size) {
                checkpoints[size] = try Checkpoint(electionHash: eh, treeSize: size, rootHash: tree.root, timestamp: e.timestamp)
                    .signed(with: server)
            }
        }
        return Example(server: server, commission: commission, voter: voter, trusteeSigner: trusteeSigner, electionHash: eh,
                       registration: registration, trusteeSecret: d, dealing: dealing, polynomial: polynomial,
                       schnorrPreimage: schnorrPreimage, verification: verification, keyRecord: keyRecord, context: context,
                       spoiledBuilt: spoiledBuilt, spoiled: spoiled, cast: cast, aggregate: aggregate, partial: partial,
                       decryptionPreimages: decryptionPreimages, results: signedResults, openOrder: openOrder,
                       closeOrder: closeOrder, entries: entries, tree: tree, checkpoints: checkpoints)
    }

    static func receipts(_ x: Example) throws -> (enrollment: Receipt, spoiled: Receipt, ballot: Receipt) {
        let eh = x.electionHash
        func cp(_ size: UInt64) throws -> SignedCheckpoint { try #require(x.checkpoints[size]) }
        let enrollment = try Receipt.issue(kind: .enrollment, electionHash: eh, subject: try #require(Digest(bytes: x.voter.publicKey.rawRepresentation)),
                                           logIndex: 6, leafHash: x.entries[6].leafHash, checkpoint: try cp(7), serverKey: x.server)
        let spoiled = try Receipt.issue(kind: .spoiled, electionHash: eh, subject: x.spoiled.ballot.trackingCode.digest,
                                        logIndex: 8, leafHash: x.entries[8].leafHash, checkpoint: try cp(9), serverKey: x.server)
        let ballot = try Receipt.issue(kind: .ballot, electionHash: eh, subject: x.cast.signed.trackingCode.digest,
                                       logIndex: 9, leafHash: x.entries[9].leafHash, checkpoint: try cp(10), serverKey: x.server)
        return (enrollment, spoiled, ballot)
    }

    /// Every value the document prints, by name, in document order.
    static func values(_ x: Example) throws -> [(String, String)] {
        var v: [(String, String)] = []
        func add(_ name: String, _ value: String) { v.append((name, value)) }
        func add(_ name: String, _ bytes: [UInt8]) { v.append((name, Hex.encode(bytes))) }
        let eh = x.electionHash
        let K = x.keyRecord.key

        add("server_key", x.server.publicKey.hex)
        add("commission_key", x.commission.publicKey.hex)
        add("voter_key", x.voter.publicKey.hex)
        add("trustee_signing_key", x.trusteeSigner.publicKey.hex)
        add("manifest_bytes", manifest.canonicalBytes)
        add("election_hash", eh.hex)
        add("setup_sha256", SHA256.hash(x.entries[0].payload).hex)

        // §9.3 ceremony
        add("trustee_encryption_secret", x.trusteeSecret.hex)
        add("trustee_encryption_key", x.registration.encryptionKey.hex)
        add("trustee_registration_bytes", x.registration.canonicalBytes)
        add("a_1_0", x.polynomial.coefficients[0].hex)
        add("C_1_0", x.dealing.commitments[0].hex)
        add("schnorr_u", fixed("example trustee proof-nonce 0").hex)
        add("schnorr_binding", DealerPublication.proofBinding(index: 1))
        add("schnorr_preimage", x.schnorrPreimage)
        add("schnorr_c", x.dealing.proof.c.hex)
        add("schnorr_z", x.dealing.proof.z.hex)
        add("dealing_signed_bytes", x.dealing.signedBytes(electionHash: eh))
        add("dealing_signature", x.dealing.signature.hex)
        add("dealing_payload_sha256", SHA256.hash(x.entries[3].payload).hex)
        add("verification_signed_bytes", x.verification.signedBytes(electionHash: eh))
        add("verification_signature", x.verification.signature.hex)
        add("verification_payload", x.entries[4].payload)
        add("election_key", K.hex)
        add("public_share_1", x.keyRecord.publicShares[0].hex)
        add("election_key_bytes", x.keyRecord.canonicalBytes)

        // §9.4 cast ballot
        let c = x.cast
        add("proof_bound", x.context.bound)
        for (i, o) in ["yes", "no"].enumerated() {
            let ct = c.content.ciphertexts[i], p = c.content.proofs[i]
            add("ballot_r_\(o)", c.nonces[i].hex)
            add("ballot_alpha_\(o)", ct.alpha.hex)
            add("ballot_beta_\(o)", ct.beta.hex)
            add("ballot_u_\(o)", fixed("example ballot \(o) u").hex)
            add("ballot_cfake_\(o)", fixed("example ballot \(o) c-fake").hex)
            add("ballot_zfake_\(o)", fixed("example ballot \(o) z-fake").hex)
            if i == 0 { add("ballot_preimage_\(o)", c.rangePreimages[i]) } else { add("ballot_preimage_sha256_\(o)", SHA256.hash(c.rangePreimages[i]).hex) }
            add("ballot_c_\(o)", try hashToScalar(c.rangePreimages[i]).hex)
            add("ballot_c0_\(o)", p.c0.hex)
            add("ballot_c1_\(o)", p.c1.hex)
            add("ballot_z0_\(o)", p.z0.hex)
            add("ballot_z1_\(o)", p.z1.hex)
        }
        let total = Ciphertext.sum(c.content.ciphertexts)
        add("ballot_total_alpha", total.alpha.hex)
        add("ballot_total_beta", total.beta.hex)
        add("ballot_nonce_sum", (c.nonces[0] + c.nonces[1]).hex)
        add("ballot_limit_u", fixed("example ballot limit u").hex)
        add("ballot_limit_preimage_sha256", SHA256.hash(c.limitPreimage).hex)
        add("ballot_limit_c", c.content.limitProof.c.hex)
        add("ballot_limit_z", c.content.limitProof.z.hex)
        add("ballot_bytes", c.signed.ballotBytes)
        add("ballot_signature", c.signed.signature.hex)
        add("tracking_code", c.signed.trackingCode.hex)
        add("short_code", c.signed.trackingCode.short)

        // §9.5 challenged ballot
        let s = x.spoiledBuilt
        add("spoiled_r_yes", s.nonces[0].hex)
        add("spoiled_r_no", s.nonces[1].hex)
        add("spoiled_alpha_yes", s.content.ciphertexts[0].alpha.hex)
        add("spoiled_beta_yes", s.content.ciphertexts[0].beta.hex)
        add("spoiled_alpha_no", s.content.ciphertexts[1].alpha.hex)
        add("spoiled_beta_no", s.content.ciphertexts[1].beta.hex)
        add("spoiled_ballot_sha256", SHA256.hash(s.signed.ballotBytes).hex)
        add("spoiled_tracking_code", s.signed.trackingCode.hex)
        add("spoiled_short_code", s.signed.trackingCode.short)
        add("spoiled_payload_sha256", SHA256.hash(x.spoiled.canonicalBytes).hex)
        add("spoiled_payload_length", "\(x.spoiled.canonicalBytes.count)")

        // §9.6 tally
        add("aggregate_bytes", x.aggregate.canonicalBytes)
        for (o, sh) in x.partial.districts[0].enumerated() {
            let name = ["yes", "no"][o]
            add("D_\(name)", sh.partial.hex)
            add("decryption_u_\(name)", fixed("example decryption u \(o)").hex)
            add("decryption_preimage_sha256_\(name)", SHA256.hash(x.decryptionPreimages[o]).hex)
            add("decryption_c_\(name)", sh.proof.c.hex)
            add("decryption_z_\(name)", sh.proof.z.hex)
            if o == 0 { add("M_yes", (x.aggregate.districts[0].ciphertexts[o].beta - sh.partial).hex) }
        }
        add("decryption_signed_bytes_sha256", SHA256.hash(x.partial.signedBytes(electionHash: eh)).hex)
        add("decryption_signature", x.partial.signature.hex)
        add("results_bytes", x.results.results.canonicalBytes)
        add("results_signature", x.results.signature.hex)

        // §9.7 log
        for e in x.entries { add("entry_\(e.index)", "\(e.canonicalBytes.count) \(e.leafHash.hex)") }
        var roots = InMemoryMerkleTree()
        for e in x.entries {
            roots.append(leafHash: e.leafHash)
            add("root_\(e.index + 1)", roots.root.hex)
        }
        add("inclusion_9_10", try Merkle.inclusionProof(index: 9, size: 10, in: x.tree).map(\.hex).joined(separator: ","))
        add("inclusion_9_14", try Merkle.inclusionProof(index: 9, size: 14, in: x.tree).map(\.hex).joined(separator: ","))
        add("consistency_10_14", try Merkle.consistencyProof(size1: 10, size2: 14, in: x.tree).map(\.hex).joined(separator: ","))

        // §9.8 checkpoints and receipts
        for size in checkpointSizes {
            add("checkpoint_\(size)_signature", try #require(x.checkpoints[size]).signature.hex)
        }
        add("checkpoint_10_bytes", try #require(x.checkpoints[10]).checkpoint.canonicalBytes)
        let r = try receipts(x)
        add("ballot_receipt_sha256", SHA256.hash(r.ballot.signedBytes).hex)
        add("ballot_receipt_signature", r.ballot.signature.hex)
        add("spoiled_receipt_sha256", SHA256.hash(r.spoiled.signedBytes).hex)
        add("spoiled_receipt_signature", r.spoiled.signature.hex)
        add("enrollment_receipt_sha256", SHA256.hash(r.enrollment.signedBytes).hex)
        add("enrollment_receipt_signature", r.enrollment.signature.hex)
        return v
    }

    // MARK: the values printed in docs/protocol.md §9

    static let expected: [String: String] = [
        "server_key": "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c",
        "commission_key": "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394",
        "voter_key": "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1",
        "trustee_signing_key": "ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c",
        "manifest_bytes": "0000001165766f74652e76312e6d616e69666573740000000964656d6f2d323032360000000d44656d6f20656c656374696f6e00000001000000026431000000054e6f7274680000000100000001000000020000000379657300000003596573000000026e6f000000024e6f0000000100000001",
        "election_hash": "6ceabe372cc406402553b693316ab22930a99fc57190e4c09f462011e714b585",
        "setup_sha256": "8deb4b6eab7a70b01fdebb8fb2678d834dd72d617254007dfc0f8d90f9f5a59f",
        "trustee_encryption_secret": "d5b4a8b74d7cd2eb46df545f8cbd189f7d3bb4ee407e83c3d7ab456679506915",
        "trustee_encryption_key": "02967fb51ea611e9431c76885ddcae2f6540eb285a05caf1fe0cc979c437fac4f0",
        "trustee_registration_bytes": "0000001065766f74652e76312e74727573746565000000010000000b54727573746565204f6e65ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c02967fb51ea611e9431c76885ddcae2f6540eb285a05caf1fe0cc979c437fac4f0",
        "a_1_0": "20302be697b4a27cb2b8f5f9ab5f594db5e5422b776c48c1bd4a78f4bd212825",
        "C_1_0": "03696ac268209674ebf6f1de1580fb48564db6804c90021e02ba3e98b91f2150f2",
        "schnorr_u": "e3d86f57f6219ca7fce4a595450355d1259e75c9299f7e26288c7b5177aacd96",
        "schnorr_binding": "0000001b65766f74652e76312e6465616c65722d7075626c69636174696f6e00000001",
        "schnorr_preimage": "0000001665766f74652e76312e70726f6f662e7363686e6f72726ceabe372cc406402553b693316ab22930a99fc57190e4c09f462011e714b585000000230000001b65766f74652e76312e6465616c65722d7075626c69636174696f6e0000000103696ac268209674ebf6f1de1580fb48564db6804c90021e02ba3e98b91f2150f20354d910496b9e1aa8510d25bbfc70ecd828794c82e7a3791e74f637efeeca46f4",
        "schnorr_c": "8e29a4025779f87c418be767eba658f70a5bcab6b188d40ca019919d1c02d51a",
        "schnorr_z": "13a25036a57ddb63b4d0b45e314b42d805e7ca9a3cceeaffaa37892fd18dad85",
        "dealing_signed_bytes": "0000001b65766f74652e76312e6465616c65722d7075626c69636174696f6e6ceabe372cc406402553b693316ab22930a99fc57190e4c09f462011e714b585000000010000000103696ac268209674ebf6f1de1580fb48564db6804c90021e02ba3e98b91f2150f28e29a4025779f87c418be767eba658f70a5bcab6b188d40ca019919d1c02d51a13a25036a57ddb63b4d0b45e314b42d805e7ca9a3cceeaffaa37892fd18dad8500000000",
        "dealing_signature": "171d6856171ce97b4a27ef291747bd8ee2b69563daa112253386ca17f9b409bca9434bf769af1d034dec67a8f518b0be378ec364cca4d63df84f775f6beb3700",
        "dealing_payload_sha256": "8f64acb0ec9c6000ac12535320f23bcb9c8dff6540e764e3c9417f4a8070ad35",
        "verification_signed_bytes": "0000001b65766f74652e76312e73686172652d766572696669636174696f6e6ceabe372cc406402553b693316ab22930a99fc57190e4c09f462011e714b5850000000100000000",
        "verification_signature": "84a196fef8d1762e77cf323eca6cb657a7557c87a91917053ff9ff740fdca45d7bd742eadaf4262849b9427218b0a348ad89b12b532edf240595eba05f841b09",
        "verification_payload": "0000001765766f74652e76312e7369676e65642d6d657373616765000000470000001b65766f74652e76312e73686172652d766572696669636174696f6e6ceabe372cc406402553b693316ab22930a99fc57190e4c09f462011e714b585000000010000000084a196fef8d1762e77cf323eca6cb657a7557c87a91917053ff9ff740fdca45d7bd742eadaf4262849b9427218b0a348ad89b12b532edf240595eba05f841b09",
        "election_key": "03696ac268209674ebf6f1de1580fb48564db6804c90021e02ba3e98b91f2150f2",
        "public_share_1": "03696ac268209674ebf6f1de1580fb48564db6804c90021e02ba3e98b91f2150f2",
        "election_key_bytes": "0000001565766f74652e76312e656c656374696f6e2d6b657903696ac268209674ebf6f1de1580fb48564db6804c90021e02ba3e98b91f2150f20000000103696ac268209674ebf6f1de1580fb48564db6804c90021e02ba3e98b91f2150f2",
        "proof_bound": "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d16431",
        "ballot_r_yes": "08485cf3a45e2e42b29add3b0f8b55baa1fcc4fe6dd23ca51320e4023a65030d",
        "ballot_alpha_yes": "029f3380bf1adc894e1b2b8b6d04294eaff8a6cb7cf1049a4ae6c82a87b3d50b7f",
        "ballot_beta_yes": "03de0c6b950e60677c0691e36f38c967ed9905c8616ad48dd39dba5bc43f48e97b",
        "ballot_u_yes": "32ed65c7ea8d36ce6301ce3843dc9011d7f3343e79ff0399e429d93333973fdc",
        "ballot_cfake_yes": "e89217146f06d529c6f2eca0915eec89950ea5e6c78c933e2a420c68a7618626",
        "ballot_zfake_yes": "5e57e771e6defe38d2f8413d839fb040033b18736dcfb66ef28535a9c7fda94b",
        "ballot_preimage_yes": "0000001a65766f74652e76312e70726f6f662e7a65726f2d6f722d6f6e656ceabe372cc406402553b693316ab22930a99fc57190e4c09f462011e714b58503696ac268209674ebf6f1de1580fb48564db6804c90021e02ba3e98b91f2150f200000022ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d16431029f3380bf1adc894e1b2b8b6d04294eaff8a6cb7cf1049a4ae6c82a87b3d50b7f03de0c6b950e60677c0691e36f38c967ed9905c8616ad48dd39dba5bc43f48e97b03a03b5cc46b741a20e81537df218a530f29867f95c7bddee5c2841becec531b5b03c8570681055f09ca13bf7d42fcc8c2857070bec080ee113f5bcab6961e80bd7203dd4545dc7fec8500eb5d3d4e89d7b4a1c1c6b99f1a245df0f39302ca3c75205a03c4230db329e3c5d68c5ec98c257e8a69775214865052b591d34811ec5e11e75c",
        "ballot_c_yes": "e30daef42e94bf61236f1eb591289a1c3de8000b5a14bf8d21b98ef20188c32b",
        "ballot_c0_yes": "e89217146f06d529c6f2eca0915eec89950ea5e6c78c933e2a420c68a7618626",
        "ballot_c1_yes": "fa7b97debf8dea385c7c3214ffc9ad9265c054d2399fcad3eb314d4c568a6256",
        "ballot_z0_yes": "5e57e771e6defe38d2f8413d839fb040033b18736dcfb66ef28535a9c7fda94b",
        "ballot_z1_yes": "f446894dacc797d76f7736d0bb3ff95511ede9c911f17412df2f0dcea2cd341d",
        "ballot_r_no": "204a55f88087ffc0b9e16c6948c50a28dd175576ce362a74c973a846e34ddc9e",
        "ballot_alpha_no": "03055bf14f726435ece97cc742b6a1a4c5eaae2c5ca4108ce957fdf547446c95f7",
        "ballot_beta_no": "037048e5ffc15b643e71fbcf1115a28b4e5ba8355a061994f45b6bfed1c6a72ed1",
        "ballot_u_no": "ec1f2b68c474bf99837b37a075a922a653fdb1fdbd0cdecaea8f262688e5b354",
        "ballot_cfake_no": "46f708bcdca3731f466571a51c69c8a9f3e5fb162f46c993a2da6b613ddb1691",
        "ballot_zfake_no": "117130c5e3e2c745dbc607e6a6f7e457ae02e0e33272f25d285145b11680aa74",
        "ballot_preimage_sha256_no": "c43af2054907ff6803db2202e13bfca0afd674aaee4ea8d42da92edf4ea9ce6a",
        "ballot_c_no": "c43af2054907ff6803db2202e13bfca0afd674aaee4ea8d42da92edf4ea9ce6a",
        "ballot_c0_no": "7d43e9486c648c48bd75b05dc4d233f6bbf07994bf07df408acec37e10ceb7d9",
        "ballot_c1_no": "46f708bcdca3731f466571a51c69c8a9f3e5fb162f46c993a2da6b613ddb1691",
        "ballot_z0_no": "6c6f9dfdb9595b60f5b930bb72c0ab64cb7861bd7eb560ee85e315ff4e64aac1",
        "ballot_z1_no": "117130c5e3e2c745dbc607e6a6f7e457ae02e0e33272f25d285145b11680aa74",
        "ballot_total_alpha": "02c93c9416cdb90dd9fbf935285c3dcbd2f9b96f200fcdcf4a2e1ba6522e62c7b0",
        "ballot_total_beta": "0273fc286e76909a8616807519b0c92a3f50a26c164a204e56ea457c711032fe93",
        "ballot_nonce_sum": "2892b2ec24e62e036c7c49a458505fe37f141a753c086719dc948c491db2dfab",
        "ballot_limit_u": "911d33a895580cbae5978d26e6aac4b43541f73cfd70aa5856ed9227573f32d3",
        "ballot_limit_preimage_sha256": "80f3ca32da0e95ed32f49d590fdf00e00ce9e4a19a225a2d0ed2a614bc2aec3e",
        "ballot_limit_c": "80f3ca32da0e95ed32f49d590fdf00e00ce9e4a19a225a2d0ed2a614bc2aec3e",
        "ballot_limit_z": "9ac97d9674da171da98b55ad220b6588a431196ed58df7e90e445b043927805e",
        "ballot_bytes": "0000000f65766f74652e76312e62616c6c6f746ceabe372cc406402553b693316ab22930a99fc57190e4c09f462011e714b585ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d10000000264310000000f656c67616d616c2d703235362d763100000002029f3380bf1adc894e1b2b8b6d04294eaff8a6cb7cf1049a4ae6c82a87b3d50b7f03de0c6b950e60677c0691e36f38c967ed9905c8616ad48dd39dba5bc43f48e97b03055bf14f726435ece97cc742b6a1a4c5eaae2c5ca4108ce957fdf547446c95f7037048e5ffc15b643e71fbcf1115a28b4e5ba8355a061994f45b6bfed1c6a72ed100000002e89217146f06d529c6f2eca0915eec89950ea5e6c78c933e2a420c68a7618626fa7b97debf8dea385c7c3214ffc9ad9265c054d2399fcad3eb314d4c568a62565e57e771e6defe38d2f8413d839fb040033b18736dcfb66ef28535a9c7fda94bf446894dacc797d76f7736d0bb3ff95511ede9c911f17412df2f0dcea2cd341d7d43e9486c648c48bd75b05dc4d233f6bbf07994bf07df408acec37e10ceb7d946f708bcdca3731f466571a51c69c8a9f3e5fb162f46c993a2da6b613ddb16916c6f9dfdb9595b60f5b930bb72c0ab64cb7861bd7eb560ee85e315ff4e64aac1117130c5e3e2c745dbc607e6a6f7e457ae02e0e33272f25d285145b11680aa7480f3ca32da0e95ed32f49d590fdf00e00ce9e4a19a225a2d0ed2a614bc2aec3e9ac97d9674da171da98b55ad220b6588a431196ed58df7e90e445b043927805e",
        "ballot_signature": "180f4560752ca7eaedf16d4774538bd19dd5c12c5000a52b12ce3080b96f38a0d62d5e1cd4d4e14e2023ecbc410d806bb945e648c4336f31f0829973e110ad02",
        "tracking_code": "85143057105c9f5b1d8422c013c3c4de3cefec64b904977b8ccec4a8171d5162",
        "short_code": "GMA3-0NRG-BJFN-P7C4",
        "spoiled_r_yes": "61e3eb3e297b441beac566415cf26a93b616d9eadf415f1d72ad758f70e78187",
        "spoiled_r_no": "d32a97b9bfd4a7a5280c7879f1f2875846349137f40ba2e01249b400153c388a",
        "spoiled_alpha_yes": "02a8f03c47ae5bf1e64d2ab6ff3eec952567bfa0fe0a9f1cd0bbe4f403cc6b87aa",
        "spoiled_beta_yes": "0210b04c916f3e5dffcfe7d67bc7eb00747ab967ae3713447b29dfa633d1cddb09",
        "spoiled_alpha_no": "02072e55d512d8f7814db97dc22ce77a1b14eea33d394ef64f720d969424a47f82",
        "spoiled_beta_no": "02d005459f0e7fdd2a6ebc03d1b48fb3969d33e77315308a012caac890484b5da5",
        "spoiled_ballot_sha256": "2eac9f9ea37a40342b505556dcd948371c2248ba010b75c4af51db999f97a9a0",
        "spoiled_tracking_code": "72bed2a8fd7cac2b2c39530871bb61e6f375919b67945e847b309a63df0726cc",
        "spoiled_short_code": "EAZD-5A7X-FJP2-PB1S",
        "spoiled_payload_sha256": "011e96fc11987455606dd309ab01ca75a19ba8a803beafc00570d82608de3f47",
        "spoiled_payload_length": "772",
        "aggregate_bytes": "0000001265766f74652e76312e616767726567617465000000010000000264310000000100000002029f3380bf1adc894e1b2b8b6d04294eaff8a6cb7cf1049a4ae6c82a87b3d50b7f03de0c6b950e60677c0691e36f38c967ed9905c8616ad48dd39dba5bc43f48e97b03055bf14f726435ece97cc742b6a1a4c5eaae2c5ca4108ce957fdf547446c95f7037048e5ffc15b643e71fbcf1115a28b4e5ba8355a061994f45b6bfed1c6a72ed1",
        "D_yes": "025533019979228cb52f74512fd97485127f69358453a03251546f8d62ad4959d6",
        "decryption_u_yes": "6a290c69c9527de0067ff5461585e2ab3dc300cea52006f34f041eb31e0b2374",
        "decryption_preimage_sha256_yes": "6ce864a0d478320edf04655d5eeba1801aa405af68b0a5c56307c48e880db715",
        "decryption_c_yes": "6ce864a0d478320edf04655d5eeba1801aa405af68b0a5c56307c48e880db715",
        "decryption_z_yes": "1fff733e28b2c4faae24daa2bfb5a4c9232d29bdcd3e06eb281467f4702c7769",
        "M_yes": "036b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
        "D_no": "037048e5ffc15b643e71fbcf1115a28b4e5ba8355a061994f45b6bfed1c6a72ed1",
        "decryption_u_no": "036e796a6dc1401e9b104781c7024ec6df1d39b215afd34fef743e6ce31fe3c2",
        "decryption_preimage_sha256_no": "189f81f8f6173f8bfca520bcaf775b1ba0ce2265f6f6f9288ef26430e91afffc",
        "decryption_c_no": "189f81f8f6173f8bfca520bcaf775b1ba0ce2265f6f6f9288ef26430e91afffc",
        "decryption_z_no": "1a50d9a607162677b6f48ab3528d7c26b4801957616011cdfd6c585eaff4998b",
        "decryption_signed_bytes_sha256": "f88faa046194212d24b09ab24fa415efbe90e5be31a5c26e1e809fd937b71aa3",
        "decryption_signature": "6e6c5b5195a8d2fc79bce5585f29d6ff921fca895fd730794c48f288f865d641de6a29a7d38feabf76d21b573d4d0c84615f3b08d0eaf405b15d5e1b3e677b0f",
        "results_bytes": "0000001065766f74652e76312e726573756c747300000001000000010000000100000002643100000001000000010000000200000000000000010000000000000000000000010000000379657300000000",
        "results_signature": "c45323fbe08510bbfb7688aafd462c1c4eded4185399e21b315b500bc4ed4c9cca0b3e263d3c7c7d75dd64bb26c14402db2753ffeefef407ce493d9cb56a8704",
        "entry_0": "297 29860510545449d0aea6f37e4a0a1d03c29b51a83d82faaa97dc361f0c87c5ed",
        "entry_1": "120 0563b0477bcea089ddce52e8475970e76c36f7ac429a8eacfb020543b0da7dca",
        "entry_2": "189 d3df6e8d3fb40c2a39151552ba03289651cfcc3c383be1ca637ca17213c0f2fb",
        "entry_3": "352 dee385e72cc80720ec5deede0f30f1a7ee7c6519ab29612e9622333954013cbb",
        "entry_4": "256 82573a4f6c855faf19f69db4872fa40ce46c6112531a867a2e495ccb8f330997",
        "entry_5": "185 cd1299dfff8a2b77bc58185961dfc0e24aebcd282ca315e65f34d4364401885f",
        "entry_6": "149 31697c41c6f649862d85a52d8819c5848b25a6d609ce8323dba7275ead4e0a48",
        "entry_7": "190 416a4f32938e7ca4b231487a4b7be0bed4a737f0fde5fa3d32eed3c82037e83f",
        "entry_8": "857 4d67778a8ec7df19adbefc20df289a3211476e8a620f354b7e74b992d382fdd4",
        "entry_9": "746 84dfd665dcb23bf63d5e32b6c107d5fc7645280c07cc2eec03810e2d34e3094f",
        "entry_10": "191 7367538b47c4987adaf339d8c17510eb2795355ec0fe67ce2c13d762ef5b2d37",
        "entry_11": "259 d10472f86e53e8329188b117d3b186b3db4d2412ba658950dda7aba68e63f5fc",
        "entry_12": "452 6fc3655e5a3856d06582966eae29561d7e3355fa5b4079d7876487a8debc4340",
        "entry_13": "261 37f8ffdfa9366d3d6ba7c41e8d6b7686a90338211059e7e8a3b98e7f4940eb5f",
        "root_1": "29860510545449d0aea6f37e4a0a1d03c29b51a83d82faaa97dc361f0c87c5ed",
        "root_2": "3c7c2e89e3f34f513771412b7720e2f016bae9c1a9ea41bd9a143ab2db72e394",
        "root_3": "f3334c5d6276062b79808b1de34beedd4dc2a26424c89f648352c92e5229fda9",
        "root_4": "12e08a716ae11721e4ce0e6b066b9cb617a37265694ba0b5e1b4442929f01839",
        "root_5": "2fdac86eff7ef4daed66cd2ecc6e982622f008c6564ab425ad2fdf3ae51451ed",
        "root_6": "86c62d1513046f9143f902c97e69bf3ee4912b74a87c43e154f0b14082e305e9",
        "root_7": "34ff56d7e9012183bc08a192b09dacc10485b7469ea083973ba722169050b110",
        "root_8": "83f4c72522361a11ef923473c452b178762de5342e1041deaa7c09f91094cccc",
        "root_9": "143112f9beab2f28cf83a9b404f4ff28f409c3b6256e27afdfd1360b8ccbd609",
        "root_10": "da3ae31997123ed2a1be6238a8d51d6d621a00f5fcf40d60be23a812a6889cbb",
        "root_11": "3600f16b324cc80f4a0b46ec66c6a76a91a0dafb091fdecd0d24592205db35d1",
        "root_12": "542b896901d07bb61304026d5f989335e5bb1e4c487c40eded813369b83ce026",
        "root_13": "c459d983a2fbd98fa9d67d35b16ea55d5837297830850cedcdbd6ee3aeb0145c",
        "root_14": "9a3dfe4649e7a2b55000df82566b3d954dcc475ba3cabb510ae1e7167a07b4e4",
        "inclusion_9_10": "4d67778a8ec7df19adbefc20df289a3211476e8a620f354b7e74b992d382fdd4,83f4c72522361a11ef923473c452b178762de5342e1041deaa7c09f91094cccc",
        "inclusion_9_14": "4d67778a8ec7df19adbefc20df289a3211476e8a620f354b7e74b992d382fdd4,cda7f67db7bb97fb2ad75ed5b372c5900690d1e294b546ced5cf60679a10c504,c21216f71548529d3bec6e96941b161343c3bc93cdd722094d7e8c4410162665,83f4c72522361a11ef923473c452b178762de5342e1041deaa7c09f91094cccc",
        "consistency_10_14": "dcf3273a5ed30588bc21c7ba75bf7c3699d0d416e254bbedaa21e743c173114d,cda7f67db7bb97fb2ad75ed5b372c5900690d1e294b546ced5cf60679a10c504,c21216f71548529d3bec6e96941b161343c3bc93cdd722094d7e8c4410162665,83f4c72522361a11ef923473c452b178762de5342e1041deaa7c09f91094cccc",
        "checkpoint_1_signature": "08d0fd13220f6cbcd4521413104fef273a79a87ad82195ecb26249e13f4afc81f5a3463ab3dbab460d609c94b2ca6bfd99dd3101c48614ac1cdf927f1c930706",
        "checkpoint_2_signature": "5382684c5695d233123ab5df6aa5e8eda7c2b8a56bdd066fe8ac85b01bf0695bd906289f4abfa0d08e0db2cb3c33b8b15a959cfc91751c459067577f8fb0e803",
        "checkpoint_3_signature": "c84ee5daa7a5a46a6db96e9b46e5ca37f6a11b4c2569a26e692ef01e626796d8a682b4ced2635a578e6c5ccaa23b20f146c96ef38dfb736d7e5cc544bfe4e205",
        "checkpoint_4_signature": "3045b5d8d2347d07976c724a532b3b715ab9301693dc33310b4c56d7964c2d9fa4ad25d5b63d0d2d607dc03e66f57d3663300d97884c3a7540eb8de24e083e00",
        "checkpoint_6_signature": "76caceaf29424fd08954c95d73afb42a463268705f12f3835321923272931b05a80d87d27f076845114885a68b0ff94b086b3bb6b96b5ee807cbce1ab78a410f",
        "checkpoint_7_signature": "038ae4d39b00f4b60f5433562423710b542ebc60d79be87b3896a695730b17c0e70fb6e928c1fc03dd9caec5a6fa311ad9008d9f3298fc1d664740dad7ee3709",
        "checkpoint_8_signature": "569b581d1449e283a9fa894eae03821c2b661db4d4dae66fc33dff70729930655fba66e64142031a2ec1573a895d6e21050372b0c55846fe3947d241a3dbf604",
        "checkpoint_9_signature": "68a52637ee3bcc7029dcce1695ee4c935aefea8cf411b48642d925f262341353a2dcfbc57cec2a66cd10971e79514be9ae4342761243b7f5733aa8ba8282cd03",
        "checkpoint_10_signature": "f18625f2cf196b2cd8cce8dbfe8fffc4f9038c6444cb19d495e613c08a998d9ffcd5e39e0d992d1d061ccb40321d3417c2d42b35d0a248dedaf67ead78e68f0d",
        "checkpoint_12_signature": "ff66ba298566fa6a42d7c60b2d54e82e9a2b961f62f89c4d9a403700d7ced6b6681bcbfd09a17e10a0c8345aa4dae954fdfd77131299069fb1fcbc89c6e0b309",
        "checkpoint_14_signature": "0e3593010fbc087d9e1d41ff0f68ccbd62844d268ca2e482b6a8f5ffdcb70cac80daa7bb15e7907146e9db27ad87778f8836e2db7b8fda058e4fddc592f91f08",
        "checkpoint_10_bytes": "0000001365766f74652e76312e636865636b706f696e746ceabe372cc406402553b693316ab22930a99fc57190e4c09f462011e714b585000000000000000ada3ae31997123ed2a1be6238a8d51d6d621a00f5fcf40d60be23a812a6889cbb0000019b77136b40",
        "ballot_receipt_sha256": "c7666a572e8f2372397a9ab6c66ab4eef6753d7b8d1a7ba9376798c2c8620609",
        "ballot_receipt_signature": "d4ffe8d9f06b1ba4cc1f1b5793271daa0064343134392154c675fc63502e97228b3b7c94fee9bd73e9ccefa7845d51318a9bf8db3e782731b619b287ed251b0f",
        "spoiled_receipt_sha256": "26a58757a9ff00c0b9244e6e6f5954bb65fcd08ec7ac5183b3e12d1d231bd6a0",
        "spoiled_receipt_signature": "bcd001605751fa019a3b680017cea9a6727eb6d22c37b49fe98ca90292920e4ef01fd8dfd488fcb24760c8a823b77a28d46fc69c2c95a8b5b3458617b06f9007",
        "enrollment_receipt_sha256": "67f7833fca17afe5cb33c69a0eb510b5f611d494e926fd8a2a7a35615d8d161d",
        "enrollment_receipt_signature": "a7021228901cafdc714ad3a8990297e0ce61784b0ec06bafad02e4a6a1f93ae88aac070f077b3f56b035eab714d527bd745397d54b0b82ae44d6a65521966f09",
    ]

    @Test("every value printed in §9 (PRINT_EXAMPLE=1 prints them)")
    func printedValues() throws {
        let x = try Self.build()
        let computed = try Self.values(x)
        if ProcessInfo.processInfo.environment["PRINT_EXAMPLE"] == "1" {
            print("BEGIN protocol example")
            for (name, value) in computed { print("\(name) = \(value)") }
            print("END protocol example")
        }
        #expect(computed.count == Self.expected.count, "the document prints \(Self.expected.count) values, the example computes \(computed.count)")
        for (name, value) in computed {
            #expect(Self.expected[name] == value, "\(name)")
        }
    }

    @Test("§9.3: the dealing passes the public checks, the key record is eqs. 39-40, the payloads decode")
    func ceremony() throws {
        let x = try Self.build()
        let eh = x.electionHash
        #expect(x.dealing.problem(electionHash: eh, quorum: 1, trustees: [x.registration]) == nil)
        #expect(x.dealing.shares.isEmpty)
        #expect(try Self.hashToScalar(x.schnorrPreimage) == x.dealing.proof.c)
        #expect(x.keyRecord.key == GroupElement.base(x.polynomial.coefficients[0]))
        #expect(x.keyRecord.publicShares == [GroupElement.base(x.polynomial.evaluate(at: 1))])
        #expect(x.trusteeSigner.publicKey.isValidSignature(x.verification.signature, for: x.verification.signedBytes(electionHash: eh)))
        #expect(try TrusteeRegistration.decode(canonical: x.entries[2].payload) == x.registration)
        let (dealing, dealingHash) = try DealerPublication.decode(payload: x.entries[3].payload)
        #expect(dealing == x.dealing && dealingHash == eh)
        let (verification, verificationHash) = try ShareVerification.decode(payload: x.entries[4].payload)
        #expect(verification == x.verification && verificationHash == eh)
        #expect(try ElectionKeyRecord.decode(canonical: x.entries[5].payload) == x.keyRecord)
        // The signed-message wrapper (§12.3): tag, bytes(body), signature.
        let body = x.verification.signedBytes(electionHash: eh)
        #expect(x.entries[4].payload == Self.lp("evote.v1.signed-message") + Self.lp(body) + x.verification.signature.bytes)
    }

    @Test("§9.4-9.5: both ballots are valid, their challenges are eqs. 23 and 27 over the documented preimages, the opening opens")
    func ballots() throws {
        let x = try Self.build()
        let district = Self.manifest.districts[0]
        for built in [x.cast, x.spoiledBuilt] {
            #expect(built.content.problem(in: district, context: x.context) == nil)
            #expect(built.signed.hasValidSignature)
            for (pre, proof) in zip(built.rangePreimages, built.content.proofs) {
                #expect(try Self.hashToScalar(pre) == proof.c0 + proof.c1)
            }
            #expect(try Self.hashToScalar(built.limitPreimage) == built.content.limitProof.c)
            // The ciphertexts are eq. 20 with the fixed nonces, as BallotContent.encrypt makes them.
            let (encrypted, opening) = try BallotContent.encrypt(selections: ["yes"], district: district, context: x.context, nonces: built.nonces)
            #expect(encrypted.ciphertexts == built.content.ciphertexts)
            #expect(opening.opens(built.content, district: district, electionKey: x.keyRecord.key))
            #expect(try SignedBallot.decode(canonical: built.signed.canonicalBytes).canonicalBytes == built.signed.canonicalBytes)
            // A proof is bound to the voter and the district (eq. 22): another bound fails.
            let other = BallotContent.context(electionHash: x.electionHash, electionKey: x.keyRecord.key,
                                              voterKey: x.server.publicKey, district: "d1")
            #expect(built.content.problem(in: district, context: other) != nil)
        }
        #expect(x.cast.content.ciphertexts[0].opens(to: 1, nonce: x.cast.nonces[0], key: x.keyRecord.key))
        #expect(x.cast.content.ciphertexts[1].opens(to: 0, nonce: x.cast.nonces[1], key: x.keyRecord.key))
        #expect(x.cast.signed.ballotBytes.count == 568)
        let spoiled = try SpoiledBallot.decode(canonical: x.entries[8].payload)
        #expect(spoiled.opening.opens(spoiled.ballot.ballot.content, district: district, electionKey: x.keyRecord.key))
        #expect(!BallotOpening(selections: ["no"], nonces: x.spoiledBuilt.nonces)
            .opens(spoiled.ballot.ballot.content, district: district, electionKey: x.keyRecord.key))
    }

    @Test("§9.6: the partial decryption verifies, the combination gives [1, 0] and elects yes, the results are signed")
    func tally() throws {
        let x = try Self.build()
        let eh = x.electionHash
        #expect(x.partial.problem(electionHash: eh, aggregate: x.aggregate, publicShare: x.keyRecord.publicShares[0],
                                  signingKey: x.trusteeSigner.publicKey) == nil)
        for (pre, share) in zip(x.decryptionPreimages, x.partial.districts[0]) {
            #expect(try Self.hashToScalar(pre) == share.proof.c)
        }
        let agg = x.aggregate.districts[0].ciphertexts
        #expect(agg[1].beta - x.partial.districts[0][1].partial == GroupElement.identity)   // M_no = O
        #expect(DiscreteLog.solve(agg[0].beta - x.partial.districts[0][0].partial, bound: 1) == 1)
        let r = x.results.results
        #expect(r.quorum == [1])
        #expect(r.districts.map(\.counts) == [[1, 0]])
        #expect(r.districts.map(\.elected) == [["yes"]] && r.districts.map(\.tied) == [[]])
        #expect(r.districts.map(\.roll) == [1] && r.districts.map(\.ballots) == [1])
        #expect(x.results.isValid(serverKey: x.server.publicKey))
        #expect(try SignedResults.decode(payload: x.entries[13].payload) == x.results)
        let (partial, hash) = try PartialDecryption.decode(payload: x.entries[12].payload)
        #expect(partial == x.partial && hash == eh)
        #expect(try TallyAggregate.decode(canonical: x.entries[11].payload) == x.aggregate)
    }

    @Test("eq. 44: ties across the last seat are reported, not broken")
    func winners() {
        let w = ElectionResults.winners
        #expect(w(["a", "b", "c", "d"], [5, 3, 3, 1], 2) == (["a"], ["b", "c"]))
        #expect(w(["c", "b", "a"], [2, 2, 2], 1) == ([], ["a", "b", "c"]))
        #expect(w(["b", "a", "c"], [4, 4, 1], 2) == (["a", "b"], []))
        #expect(w(["a", "b"], [0, 7], 2) == (["b", "a"], []))
    }

    @Test("§9.7-9.8: every entry decodes, the receipts of all three kinds pass ReceiptVerifier with the expected payload")
    func log() throws {
        let x = try Self.build()
        let eh = x.electionHash
        for e in x.entries {
            let decoded = try LogEntry.decode(canonical: e.canonicalBytes)
            #expect(decoded == e)
        }
        #expect(try WindowChange.decode(canonical: x.entries[7].payload).isValid(electionHash: eh, commissionKey: x.commission.publicKey))
        #expect(try WindowChange.decode(canonical: x.entries[10].payload).isValid(electionHash: eh, commissionKey: x.commission.publicKey))
        let r = try Self.receipts(x)
        let verifier = ReceiptVerifier(serverKey: x.server.publicKey, electionHash: eh)
        for (receipt, index, size, payload) in [(r.enrollment, UInt64(6), UInt64(7), x.entries[6].payload),
                                                (r.spoiled, 8, 9, x.spoiled.canonicalBytes),
                                                (r.ballot, 9, 10, x.cast.signed.canonicalBytes)] {
            let proof = try Merkle.inclusionProof(index: index, size: size, in: x.tree)
            let checks = verifier.verify(receipt: receipt, entryBytes: x.entries[Int(index)].canonicalBytes,
                                         inclusionProof: proof, expectedPayload: payload)
            #expect(checks.allSatisfy { $0.passed }, "\(checks.filter { !$0.passed })")
        }
        try Merkle.verifyConsistency(size1: 10, size2: 14, root1: try #require(x.checkpoints[10]).checkpoint.rootHash.bytes,
                                     root2: x.tree.root.bytes,
                                     proof: try Merkle.consistencyProof(size1: 10, size2: 14, in: x.tree).map(\.bytes))
    }
}
