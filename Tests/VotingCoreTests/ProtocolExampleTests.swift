import Testing
@testable import VotingCore

/// The worked example of docs/protocol.md §9: every value there is checked here, so the
/// document and the code cannot drift apart. The values were computed independently in
/// Python from the document's rules and agree with this implementation.
@Suite("docs/protocol.md worked example")
struct ProtocolExampleTests {
    let server: Ed25519PrivateKey
    let commission: Ed25519PrivateKey
    let voter: Ed25519PrivateKey
    let manifest = ElectionManifest(electionId: "demo-2026", name: "Demo election", districts: [
        District(id: "d1", name: "North", seats: 1, selectionLimit: 1, options: [
            BallotOption(id: "yes", name: "Yes"), BallotOption(id: "no", name: "No"),
        ]),
    ])
    static let t0: UInt64 = 1_767_225_600_000
    static let t3 = t0 + 3_600_000

    init() throws {
        server = try Ed25519PrivateKey(rawRepresentation: [UInt8](repeating: 1, count: 32))
        commission = try Ed25519PrivateKey(rawRepresentation: [UInt8](repeating: 2, count: 32))
        voter = try Ed25519PrivateKey(rawRepresentation: [UInt8](repeating: 3, count: 32))
    }

    func entries() throws -> ([LogEntry], SignedBallot) {
        let eh = manifest.electionHash
        let setup = ElectionSetup(manifest: manifest, serverKey: server.publicKey, commissionKey: commission.publicKey)
        let order = try WindowChange.sign(electionHash: eh, action: .open, issuedAt: Self.t3, commissionKey: commission)
        let ballot = try Ballot(electionHash: eh, voterKey: voter.publicKey, district: "d1",
                                content: BallotContent(selections: ["yes"])).signed(with: voter)
        return ([
            LogEntry(index: 0, electionHash: eh, timestamp: Self.t0, kind: .election, payload: setup.canonicalBytes),
            LogEntry(index: 1, electionHash: eh, timestamp: Self.t0 + 60_000, kind: .roll,
                     payload: RollImport(counts: [.init(district: "d1", voters: 1)]).canonicalBytes),
            LogEntry(index: 2, electionHash: eh, timestamp: Self.t0 + 120_000, kind: .enrollment,
                     payload: Enrollment(voterKey: voter.publicKey, district: "d1").canonicalBytes),
            LogEntry(index: 3, electionHash: eh, timestamp: Self.t3, kind: .window, payload: order.canonicalBytes),
            LogEntry(index: 4, electionHash: eh, timestamp: Self.t3 + 60_000, kind: .ballot, payload: ballot.canonicalBytes),
        ], ballot)
    }

    @Test("keys, manifest bytes and election hash (eq. 1)")
    func manifestAndKeys() {
        #expect(server.publicKey.hex == "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c")
        #expect(commission.publicKey.hex == "8139770ea87d175f56a35466c34c7ecccb8d8a91b4ee37a25df60f5b8fc9b394")
        #expect(voter.publicKey.hex == "ed4928c628d1c2c6eae90338905995612959273a5c63f93636c14614ac8737d1")
        #expect(Hex.encode(manifest.canonicalBytes) == "0000001165766f74652e76312e6d616e69666573740000000964656d6f2d323032360000000d44656d6f20656c656374696f6e00000001000000026431000000054e6f7274680000000100000001000000020000000379657300000003596573000000026e6f000000024e6f")
        #expect(manifest.electionHash.hex == "932931f88212b96105a74637c4309d688b6769c49972c23d9dd545ef7dde7b28")
    }

    @Test("ballot signature, tracking code and short code")
    func ballot() throws {
        let (_, ballot) = try entries()
        #expect(ballot.signature.hex == "9b57f3653f4de9aad71ca77156b5dd19b915164d305ae5e84a7d75709725c22f49935f534c6a7ddb29d30399665eac812ed0e2e7f9495fd43bb768a24ab5e406")
        #expect(ballot.trackingCode.hex == "607f54e740cffd6ac1572cad6140510ebf8d1a579140df0d796616beae4e9505")
        #expect(ballot.trackingCode.short == "C1ZN-9ST0-SZYP-NGAQ")
    }

    @Test("log leaves, roots, proofs, checkpoints and receipts")
    func log() throws {
        let (entries, ballot) = try entries()
        #expect(entries.map(\.leafHash.hex) == [
            "2fb4f74aaa4e53d892eef2c95edd6bf98d2aa0108030af83ee536f66088a1ad0",
            "c66e26536d7f683a717a44c1cb7fffaf3a98e26cd111ce255fd5510abf900d1d",
            "7c0d8208ea63180bb54855aa3b2c5946e15ed810656848be42e6c0fe7c788589",
            "2d3593c84ea241e0070a4396b0f9da4a8bf55ff2a9d2c0b125d5a6b94b9f637f",
            "406ee4ed99ea6a209780787651d8535bab83ee209e220ad31a471abe356a009e",
        ])
        #expect(entries.map(\.canonicalBytes.count) == [289, 120, 149, 190, 290])
        var tree = InMemoryMerkleTree()
        var roots: [String] = []
        for e in entries {
            tree.append(leafHash: e.leafHash)
            roots.append(tree.root.hex)
        }
        #expect(Array(roots.dropFirst()) == [
            "6cd16cc12682f21b43c57667cd425c2146a218f5ca13fd17b6590cf92396cf23",
            "5b7d65c0c4d52726f23ace3958e086802bed82806ade023c3322bb99573d0844",
            "63bb11e76044927f43d366d8de3a8ec843f58f1c2096c027387181a86cc273ac",
            "a9a8c1c76b9df01dc8d67ba7c83cc0f6632a5076ceb26ab82a597d8b56b43201",
        ])
        #expect(try Merkle.inclusionProof(index: 4, size: 5, in: tree).map(\.hex) == [roots[3]])
        #expect(try Merkle.consistencyProof(size1: 3, size2: 5, in: tree).map(\.hex) ==
            [entries[2].leafHash.hex, entries[3].leafHash.hex, roots[1], entries[4].leafHash.hex])

        let eh = manifest.electionHash
        let cp3 = try Checkpoint(electionHash: eh, treeSize: 3, rootHash: try Merkle.root(size: 3, in: tree),
                                 timestamp: Self.t0 + 120_000).signed(with: server)
        let cp5 = try Checkpoint(electionHash: eh, treeSize: 5, rootHash: tree.root, timestamp: Self.t3 + 60_000).signed(with: server)
        #expect(cp3.signature.hex == "6a0712e0fed961fc32313cea240f016a4144bd071f4f783261b91ab645120e7250de386aa71c04e7f99f457d17b534c9df14df683cd9bf287471f37a9c4e880a")
        #expect(cp5.signature.hex == "0405184195f0046171a8ad2c6f70e6538f4d8bb995ecd00cee4d4d841adeed7c16b0633064b086d3c20586f8b240cc32d50e38aac09701158f1c2af173dd170b")
        let receipt = try Receipt.issue(kind: .ballot, electionHash: eh, subject: ballot.trackingCode.digest, logIndex: 4,
                                        leafHash: entries[4].leafHash, checkpoint: cp5, serverKey: server)
        #expect(SHA256.hash(receipt.signedBytes).hex == "704653874cb35e82440f5b8f1204d2df525af952342ee00b46fe85b7ce7e7fb1")
        #expect(receipt.signature.hex == "12defa316cf721d9bf9c6dfb11493d341d0ef2ae850405017b25b455bafb56c8d1ba9d8c7201ea4cb2e1e9137fcdb2bc1c482e26de4fdfe2b60afe499e64b403")
        let checks = ReceiptVerifier(serverKey: server.publicKey, electionHash: eh)
            .verify(receipt: receipt, entryBytes: entries[4].canonicalBytes,
                    inclusionProof: try Merkle.inclusionProof(index: 4, size: 5, in: tree), expectedPayload: ballot.canonicalBytes)
        #expect(checks.allSatisfy { $0.passed }, "\(checks.filter { !$0.passed })")
        let enrollment = try Receipt.issue(kind: .enrollment, electionHash: eh, subject: try #require(Digest(bytes: voter.publicKey.rawRepresentation)),
                                           logIndex: 2, leafHash: entries[2].leafHash, checkpoint: cp3, serverKey: server)
        #expect(SHA256.hash(enrollment.signedBytes).hex == "5e7f42a63f41a9f74f7d1587dd074c783b54a02bd862ee6a1a8e355c7a6e5868")
    }
}
