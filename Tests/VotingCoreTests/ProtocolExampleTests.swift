import Foundation
import Testing
@testable import VotingCore

/// The worked example of docs/protocol.md §9 (protocol version 2): a whole election — the
/// roll with its registrar commitments, one trustee, one station, three enrollments and a
/// reissue, a challenged ballot, two cast ballots, a supervised ballot that supersedes one of
/// them, the close with its reveal, the decryption and the results — from fixed inputs.
///
/// The expected values are `Fixtures/worked-example.json`, computed from the document alone
/// by an independent Python implementation (`scripts/protocol-reference.py`). This test takes
/// only the example's inputs (key seeds, fixed labels, timestamps), rebuilds every value of
/// the file with VotingCore and compares it byte for byte; a last test checks that no value
/// of the file was left unchecked.
@Suite("docs/protocol.md worked example (v2, against the Python reference)")
struct ProtocolExampleTests {
    // MARK: the example's inputs (§9)

    static let t0: UInt64 = 1_767_225_600_000   // 2026-01-01T00:00:00Z
    static let minute: UInt64 = 60_000
    static let hour: UInt64 = 3_600_000

    /// The log: kind and timestamp of every entry, in index order (equal timestamps are one batch).
    static let schedule: [(LogEntryKind, UInt64)] = [
        (.election, t0), (.roll, t0 + minute), (.trustee, t0 + 2 * minute), (.dealing, t0 + 3 * minute),
        (.verification, t0 + 4 * minute), (.electionKey, t0 + 4 * minute), (.station, t0 + 5 * minute),
        (.enrollment, t0 + 6 * minute), (.enrollment, t0 + 7 * minute), (.reissue, t0 + 8 * minute),
        (.enrollment, t0 + 9 * minute), (.window, t0 + hour), (.spoiled, t0 + hour + minute),
        (.ballot, t0 + hour + 2 * minute), (.ballot, t0 + hour + 3 * minute), (.supervised, t0 + hour + 4 * minute),
        (.window, t0 + 10 * hour), (.reveal, t0 + 10 * hour), (.aggregate, t0 + 10 * hour),
        (.decryption, t0 + 10 * hour + minute), (.results, t0 + 10 * hour + minute),
    ]

    static let options = ["yes", "no"]
    /// The four encryptions and their selections: A's challenged one, A's cast one, B's
    /// remote one (superseded) and B's supervised one.
    static let ballotNames = ["spoiled", "ballot", "remote", "supervised"]
    static let selections = ["spoiled": ["yes"], "ballot": ["yes"], "remote": ["no"], "supervised": ["yes"]]

    /// `fixed(label)`: int(SHA-256(UTF-8 label)) mod n.
    static func fixed(_ label: String) throws -> Scalar { try Scalar(reducing: SHA256.hash(Array(label.utf8)).bytes) }

    /// `bytes(label, k)`: the first k bytes of SHA-256(UTF-8 label).
    static func fixedBytes(_ label: String, _ k: Int) -> [UInt8] { Array(SHA256.hash(Array(label.utf8)).bytes.prefix(k)) }

    static func seed(_ byte: UInt8) throws -> Ed25519PrivateKey { try Ed25519PrivateKey(rawRepresentation: [UInt8](repeating: byte, count: 32)) }

    // MARK: reading the fixture

    static let fixtureURL: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/worked-example.json")

    /// The parsed fixture and the set of value paths a test has compared.
    final class Fixture {
        let root: Any
        private(set) var checked: Set<String> = []

        init() throws {
            let data = try #require(FileManager.default.contents(atPath: ProtocolExampleTests.fixtureURL.path),
                                    "cannot read \(ProtocolExampleTests.fixtureURL.path)")
            root = try JSONSerialization.jsonObject(with: data)
        }

        func value(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Any {
            var node: Any = root
            for key in path.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
                if let object = node as? [String: Any], let next = object[key] {
                    node = next
                } else if let list = node as? [Any], let i = Int(key), list.indices.contains(i) {
                    node = list[i]
                } else {
                    try #require(Bool(false), "no value at \(path) in worked-example.json", sourceLocation: sourceLocation)
                }
            }
            return node
        }

        func string(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
            try #require(try value(path, sourceLocation: sourceLocation) as? String, "\(path) is not a string", sourceLocation: sourceLocation)
        }

        func bytes(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [UInt8] {
            try #require(Hex.decode(try string(path, sourceLocation: sourceLocation)), "\(path) is not lowercase hex",
                         sourceLocation: sourceLocation)
        }

        func count(_ path: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Int {
            if let list = try value(path, sourceLocation: sourceLocation) as? [Any] { return list.count }
            if let object = try value(path, sourceLocation: sourceLocation) as? [String: Any] { return object.count }
            try #require(Bool(false), "\(path) is not a list", sourceLocation: sourceLocation)
            return 0
        }

        /// Compares bytes computed by VotingCore with the fixture's hex at `path`.
        func hex(_ path: String, _ computed: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) throws {
            let expected = try string(path, sourceLocation: sourceLocation)
            #expect(Hex.encode(computed) == expected, "\(path): VotingCore computes \(Hex.encode(computed)), the reference \(expected)",
                    sourceLocation: sourceLocation)
            checked.insert(path)
        }

        func text(_ path: String, _ computed: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(try string(path, sourceLocation: sourceLocation) == computed, "\(path)", sourceLocation: sourceLocation)
            checked.insert(path)
        }

        func number(_ path: String, _ computed: UInt64, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let n = try #require(try value(path, sourceLocation: sourceLocation) as? NSNumber, "\(path) is not a number",
                                 sourceLocation: sourceLocation)
            #expect(n.uint64Value == computed, "\(path): VotingCore computes \(computed), the reference \(n)", sourceLocation: sourceLocation)
            checked.insert(path)
        }

        func flag(_ path: String, _ computed: Bool, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let raw = try value(path, sourceLocation: sourceLocation)
            let b = try #require(raw as? Bool, "\(path) is not a boolean", sourceLocation: sourceLocation)
            #expect(b == computed, "\(path)", sourceLocation: sourceLocation)
            checked.insert(path)
        }

        /// A list of hex strings (proof paths) or of strings, element by element; the empty list is a value too.
        func hexList(_ path: String, _ computed: [[UInt8]], sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(try count(path, sourceLocation: sourceLocation) == computed.count, "\(path): length", sourceLocation: sourceLocation)
            for (i, item) in computed.enumerated() { try hex("\(path).\(i)", item, sourceLocation: sourceLocation) }
            checked.insert(path)
        }

        func numberList(_ path: String, _ computed: [UInt64], sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(try count(path, sourceLocation: sourceLocation) == computed.count, "\(path): length", sourceLocation: sourceLocation)
            for (i, item) in computed.enumerated() { try number("\(path).\(i)", item, sourceLocation: sourceLocation) }
            checked.insert(path)
        }

        func textList(_ path: String, _ computed: [String], sourceLocation: SourceLocation = #_sourceLocation) throws {
            #expect(try count(path, sourceLocation: sourceLocation) == computed.count, "\(path): length", sourceLocation: sourceLocation)
            for (i, item) in computed.enumerated() { try text("\(path).\(i)", item, sourceLocation: sourceLocation) }
            checked.insert(path)
        }

        /// Every leaf of the file (empty containers count as leaves), as dotted paths.
        var leaves: [String] {
            var out: [String] = []
            func walk(_ node: Any, _ path: String) {
                let prefix = path.isEmpty ? "" : path + "."
                if let object = node as? [String: Any] {
                    if object.isEmpty { out.append(path) }
                    for (k, v) in object { walk(v, prefix + k) }
                } else if let list = node as? [Any] {
                    if list.isEmpty { out.append(path) }
                    for (i, v) in list.enumerated() { walk(v, prefix + "\(i)") }
                } else {
                    out.append(path)
                }
            }
            walk(root, "")
            return out
        }
    }

    // MARK: rebuilding the example with VotingCore

    struct BuiltBallot {
        let name: String
        let ballotID: BallotID
        let nonces: [Scalar]
        let proofRandomness: [(u: Scalar, cFake: Scalar, zFake: Scalar)]
        let limitU: Scalar
        let context: ProofContext
        let ballot: Ballot
    }

    /// Everything the example computes, from its inputs only.
    struct Election {
        let server, commission, voterA, trusteeSigner, station, voterB1, voterB2: Ed25519PrivateKey
        let manifest: ElectionManifest
        let setup: ElectionSetup
        let hash: Digest
        let codes: [String: String]
        let salts: [String: Salt]
        let commitments: [String: CodeCommitment]
        let roll: RollImport
        let registration: TrusteeRegistration
        let encryptionSecret: Scalar
        let dealing: DealerPublication
        let polynomial: SecretPolynomial
        let verification: ShareVerification
        let keyRecord: ElectionKeyRecord
        let stationRegistration: StationRegistration
        let enrollments: [String: Enrollment]
        let reissueOrder: CodeReissue
        let reissue: ReissueEntry
        let windowOpen: WindowChange
        let windowClose: WindowChange
        let ballots: [String: BuiltBallot]
        let spoiled: SpoiledBallot
        let castA: SignedBallot
        let castB: SignedBallot
        let supervised: SupervisedBallot
        let blinding: Nonce32
        let reveal: SupersessionReveal
        let aggregate: TallyAggregate
        let partial: PartialDecryption
        let results: SignedResults
        let payloads: [[UInt8]]
        let entries: [LogEntry]
        let tree: InMemoryMerkleTree
        let checkpoints: [UInt64: SignedCheckpoint]

        var district: District { manifest.districts[0] }
        var key: GroupElement { keyRecord.key }
    }

    static func build(manifest: ElectionManifest) throws -> Election {
        let server = try seed(1), commission = try seed(2), voterA = try seed(3), trusteeSigner = try seed(4)
        let station = try seed(5), voterB1 = try seed(6), voterB2 = try seed(7)
        let setup = ElectionSetup(manifest: manifest, serverKey: server.publicKey, commissionKey: commission.publicKey,
                                  nonce: Nonce32(trusted: fixedBytes("example election nonce", 32)))
        let eh = setup.electionHash

        // The roll (§4.3): A and B, then B's code reissued.
        let codes = ["a": "0K1M-Q9XD-4TBN-7RWE", "b": "3F8H-2KPS-6VYC-9ZA1", "b_reissued": "5G7J-1MNQ-8RST-4WXZ"]
        let saltLabels = ["a": "example salt A", "b": "example salt B", "b_reissued": "example salt B reissued"]
        var salts: [String: Salt] = [:], commitments: [String: CodeCommitment] = [:]
        for (who, code) in codes {
            let salt = Salt(trusted: fixedBytes(try #require(saltLabels[who]), 16))
            salts[who] = salt
            commitments[who] = CodeCommitment(salt: salt, value: EnrollmentCode.commitment(
                normalizedCode: EnrollmentCode.normalize(code), salt: salt, electionHash: eh))
        }
        let roll = RollImport(districts: [.init(district: "d1", commitments: [try #require(commitments["a"]), try #require(commitments["b"])])])

        // The key ceremony (§12): one trustee, quorum 1.
        let d1 = try fixed("example trustee encryption key")
        let registration = try TrusteeRegistration.signed(index: 1, name: "Trustee One", signingKey: trusteeSigner, encryptionKey: .base(d1))
        let (dealing, polynomial) = try DealerPublication.deal(electionHash: eh, index: 1, quorum: 1, trustees: [registration],
                                                               signingKey: trusteeSigner) { label, t in
            try fixed("example trustee \(label) \(t)")
        }
        let verification = ShareVerification(index: 1, complaints: [], signature: try trusteeSigner.signature(
            for: ShareVerification.signedBytes(electionHash: eh, index: 1, complaints: [])))
        let keyRecord = try #require(ElectionKeyRecord.derive(from: [dealing], trustees: [1]))
        let stationRegistration = StationRegistration(index: 1, name: "Consulate", signingKey: station.publicKey)

        // Enrollments (§4.7) and the reissue that revokes B's first key (§4.3).
        func enroll(_ key: Ed25519PrivateKey, _ who: String) throws -> Enrollment {
            let code = EnrollmentCode.normalize(try #require(codes[who]))
            let request = EnrollmentRequest.signedBytes(electionHash: eh, voterKey: key.publicKey, normalizedCode: code)
            return Enrollment(voterKey: key.publicKey, district: "d1", commitment: try #require(commitments[who]).value, code: code,
                              signature: try key.signature(for: request))
        }
        let enrollments = ["a": try enroll(voterA, "a"), "b_first": try enroll(voterB1, "b"), "b_second": try enroll(voterB2, "b_reissued")]
        let reissueOrder = CodeReissue(district: "d1", replaces: try #require(commitments["b"]).value,
                                       commitment: try #require(commitments["b_reissued"]), issuedAt: t0 + 8 * minute)
        let reissue = ReissueEntry(order: reissueOrder, electionHash: eh,
                                   signature: try ReissueEntry.sign(reissueOrder, electionHash: eh, commissionKey: commission),
                                   revoked: [voterB1.publicKey])
        let windowOpen = try WindowChange.sign(electionHash: eh, action: .open, issuedAt: t0 + hour, commissionKey: commission)
        let windowClose = try WindowChange.sign(electionHash: eh, action: .close, issuedAt: t0 + 10 * hour, commissionKey: commission)

        // The four encryptions (§11.4), with the fixed randomness of §9.
        let district = manifest.districts[0]
        var ballots: [String: BuiltBallot] = [:]
        for w in ballotNames {
            let id = BallotID(trusted: fixedBytes("example \(w) ballot id", 32))
            let context = BallotContent.context(electionHash: eh, electionKey: keyRecord.key, ballotID: id, district: "d1")
            let nonces = try options.map { try fixed("example \(w) nonce \($0)") }
            let randomness = try options.map { o in
                (u: try fixed("example \(w) \(o) u"), cFake: try fixed("example \(w) \(o) c-fake"), zFake: try fixed("example \(w) \(o) z-fake"))
            }
            let chosen = Set(try #require(selections[w]))
            var cts: [Ciphertext] = []
            var proofs: [ZeroOrOneProof] = []
            for (i, o) in district.options.enumerated() {
                let m: UInt64 = chosen.contains(o.id) ? 1 : 0
                let ct = Ciphertext.encrypt(m, nonce: nonces[i], key: keyRecord.key)
                cts.append(ct)
                proofs.append(try ZeroOrOneProof.prove(ciphertext: ct, vote: m, nonce: nonces[i], context: context, randomness: randomness[i]))
            }
            let limitU = try fixed("example \(w) limit u")
            let limit = try KnownValueProof.prove(ciphertexts: cts, value: UInt64(district.selectionLimit),
                                                  nonce: nonces.dropFirst().reduce(nonces[0], +), context: context, u: limitU)
            let ballot = Ballot(electionHash: eh, ballotID: id, district: "d1",
                                content: BallotContent(ciphertexts: cts, proofs: proofs, limitProof: limit))
            ballots[w] = BuiltBallot(name: w, ballotID: id, nonces: nonces, proofRandomness: randomness, limitU: limitU,
                                     context: context, ballot: ballot)
        }
        let spoiledBuilt = try #require(ballots["spoiled"]), remote = try #require(ballots["remote"])
        let supervisedBuilt = try #require(ballots["supervised"]), castBuilt = try #require(ballots["ballot"])
        let spoiled = SpoiledBallot(ballot: spoiledBuilt.ballot, opening: BallotOpening(selections: ["yes"], nonces: spoiledBuilt.nonces))
        let castA = try castBuilt.ballot.cast(with: voterA)
        let castB = try remote.ballot.cast(with: voterB2)

        // B votes in person at station 1 (§16): the pseudonym is B's commitment at import.
        let blinding = Nonce32(trusted: fixedBytes("example blinding", 32))
        let pseudonym = try #require(commitments["b"]).value
        let supervised = SupervisedBallot(ballot: supervisedBuilt.ballot, station: 1,
                                          signature: try SupervisedBallot.sign(ballot: supervisedBuilt.ballot, station: 1, key: station),
                                          link: SupervisedBallot.link(pseudonym: pseudonym, blinding: blinding))
        let reveal = SupersessionReveal(items: [.init(supervised: supervised.trackingCode, pseudonym: pseudonym, blinding: blinding,
                                                      supersededBallot: castB.ballotBytes)])

        // The tally (§13): A's cast ballot and B's supervised ballot are counted.
        let aggregate = TallyAggregate.sum(manifest: manifest, ballots: [("d1", castA.ballot.content.ciphertexts),
                                                                         ("d1", supervised.ballot.content.ciphertexts)])
        let s1 = polynomial.evaluate(at: 1)
        var shares: [PartialDecryption.Share] = []
        for (pos, ct) in try #require(aggregate.districts.first).ciphertexts.enumerated() {
            let (D, proof) = try DecryptionProof.prove(secret: s1, alpha: ct.alpha, electionHash: eh, u: try fixed("example decryption u \(pos)"))
            shares.append(.init(partial: D, proof: proof))
        }
        let partial = PartialDecryption(index: 1, districts: [shares], signature: try trusteeSigner.signature(
            for: PartialDecryption.signedBytes(electionHash: eh, index: 1, districts: [shares])))
        let combined = try #require(ElectionResults.combine(manifest: manifest, aggregate: aggregate, partials: [partial], roll: ["d1": 2]))
        let results = SignedResults(results: combined, signature: try server.signature(for: combined.canonicalBytes))

        // The log (§5) and one checkpoint per batch.
        let payloads: [[UInt8]] = [
            setup.canonicalBytes,
            try roll.payload(electionHash: eh, commissionKey: commission),
            registration.payload(electionHash: eh, commissionSignature: try registration.appointmentSignature(electionHash: eh, commissionKey: commission)),
            dealing.payload(electionHash: eh),
            verification.payload(electionHash: eh),
            keyRecord.canonicalBytes,
            stationRegistration.payload(electionHash: eh, commissionSignature: try commission.signature(
                for: stationRegistration.appointmentBytes(electionHash: eh))),
            try #require(enrollments["a"]).canonicalBytes,
            try #require(enrollments["b_first"]).canonicalBytes,
            reissue.canonicalBytes,
            try #require(enrollments["b_second"]).canonicalBytes,
            windowOpen.canonicalBytes,
            spoiled.canonicalBytes,
            castA.canonicalBytes,
            castB.canonicalBytes,
            supervised.canonicalBytes,
            windowClose.canonicalBytes,
            reveal.canonicalBytes,
            aggregate.canonicalBytes,
            partial.payload(electionHash: eh),
            results.payload,
        ]
        let entries = zip(schedule, payloads).enumerated().map { i, pair in
            LogEntry(index: UInt64(i), electionHash: eh, timestamp: pair.0.1, kind: pair.0.0, payload: pair.1)
        }
        var tree = InMemoryMerkleTree()
        var checkpoints: [UInt64: SignedCheckpoint] = [:]
        for (i, e) in entries.enumerated() {
            tree.append(leafHash: e.leafHash)
            if i == entries.count - 1 || entries[i + 1].timestamp != e.timestamp {
                checkpoints[tree.size] = try Checkpoint(electionHash: eh, treeSize: tree.size, rootHash: tree.root, timestamp: e.timestamp)
                    .signed(with: server)
            }
        }
        return Election(server: server, commission: commission, voterA: voterA, trusteeSigner: trusteeSigner, station: station,
                        voterB1: voterB1, voterB2: voterB2, manifest: manifest, setup: setup, hash: eh, codes: codes, salts: salts,
                        commitments: commitments, roll: roll, registration: registration, encryptionSecret: d1, dealing: dealing,
                        polynomial: polynomial, verification: verification, keyRecord: keyRecord,
                        stationRegistration: stationRegistration, enrollments: enrollments, reissueOrder: reissueOrder,
                        reissue: reissue, windowOpen: windowOpen, windowClose: windowClose, ballots: ballots, spoiled: spoiled,
                        castA: castA, castB: castB, supervised: supervised, blinding: blinding, reveal: reveal, aggregate: aggregate,
                        partial: partial, results: results, payloads: payloads, entries: entries, tree: tree, checkpoints: checkpoints)
    }

    /// The manifest, read from the fixture's JSON form as a client reads `GET /v1/election`.
    static func manifest(_ f: Fixture) throws -> ElectionManifest {
        let json = try JSONSerialization.data(withJSONObject: try f.value("manifest_json"))
        return try ElectionManifest.load(jsonData: json)
    }

    static func load() throws -> (Fixture, Election) {
        let f = try Fixture()
        return (f, try build(manifest: try manifest(f)))
    }

    /// `string(tag) || fields`: a challenge preimage of eq. 22, written with the canonical writer.
    static func preimage(_ tag: DomainTag, _ fields: (inout CanonicalWriter) -> Void) -> [UInt8] {
        var w = CanonicalWriter(tag: tag)
        fields(&w)
        return w.bytes
    }

    static func hashToScalar(_ preimage: [UInt8]) throws -> Scalar { try Scalar(reducing: SHA256.hash(preimage).bytes) }

    // MARK: the values, section by section

    @Test("keys, manifest (from its JSON form), election setup and election hash (eq. 1)")
    func setup() throws {
        let (f, x) = try Self.load()
        try Self.checkSetup(f, x)
    }

    static func checkSetup(_ f: Fixture, _ x: Election) throws {
        for (name, key, seed) in [("server", x.server, 1), ("commission", x.commission, 2), ("voter_a", x.voterA, 3),
                                  ("trustee_1_signing", x.trusteeSigner, 4), ("station_1", x.station, 5),
                                  ("voter_b_first", x.voterB1, 6), ("voter_b_second", x.voterB2, 7)] {
            try f.hex("keys.\(name).seed", [UInt8](repeating: UInt8(seed), count: 32))
            try f.hex("keys.\(name).public", key.publicKey.rawRepresentation)
        }
        let m = x.manifest
        try f.text("manifest_json.election_id", m.electionId)
        try f.text("manifest_json.name", m.name)
        try f.text("manifest_json.names.ru", try #require(m.names.byLanguage["ru"]))
        for (i, d) in m.districts.enumerated() {
            try f.text("manifest_json.districts.\(i).id", d.id)
            try f.text("manifest_json.districts.\(i).name", d.name)
            try f.number("manifest_json.districts.\(i).seats", UInt64(d.seats))
            try f.number("manifest_json.districts.\(i).selection_limit", UInt64(d.selectionLimit))
            for (j, o) in d.options.enumerated() {
                try f.text("manifest_json.districts.\(i).options.\(j).id", o.id)
                try f.text("manifest_json.districts.\(i).options.\(j).name", o.name)
                #expect(o.electable && o.names == LocalizedNames.none, "omitted electable and names default to true and none")
            }
        }
        try f.number("manifest_json.trustees.count", UInt64(m.trustees.count))
        try f.number("manifest_json.trustees.quorum", UInt64(m.trustees.quorum))
        #expect(m.problems() == [])
        try f.hex("manifest", m.canonicalBytes)
        #expect(try ElectionManifest.decode(canonical: try f.bytes("manifest")) == m)
        try f.hex("election_nonce", x.setup.nonce.bytes)
        try f.hex("election_setup", x.setup.canonicalBytes)
        try f.hex("election_hash", x.hash.bytes)
        #expect(try ElectionSetup.decode(canonical: try f.bytes("election_setup")) == x.setup)
    }

    @Test("the roll: voter MACs (eq. 12), code commitments (eq. 13), the signed roll list (eq. 14)")
    func roll() throws {
        let (f, x) = try Self.load()
        try Self.checkRoll(f, x)
    }

    static func checkRoll(_ f: Fixture, _ x: Election) throws {
        let secret = Array(UInt8(0)..<32)
        try f.hex("roll.roll_secret", secret)
        for (who, number) in [("a", "19800101-1234"), ("b", "19851231-5678")] {
            try f.text("roll.voter_mac_\(who).personal_number", number)
            let message = Array("evote.v2.personal-number".utf8) + [0] + Array(number.utf8)
            try f.hex("roll.voter_mac_\(who).message", message)
            try f.hex("roll.voter_mac_\(who).mac", HMACSHA256.authenticate(message, key: secret).bytes)
        }
        for who in ["a", "b", "b_reissued"] {
            let code = try #require(x.codes[who]), salt = try #require(x.salts[who]), commitment = try #require(x.commitments[who])
            let normalized = EnrollmentCode.normalize(code)
            #expect(EnrollmentCode.isWellFormed(normalized))
            try f.text("roll.commitments.\(who).code", code)
            try f.text("roll.commitments.\(who).normalized_code", normalized)
            try f.hex("roll.commitments.\(who).salt", salt.bytes)
            try f.hex("roll.commitments.\(who).pbkdf2_salt", Self.preimage(.codeCommitment) { $0.fixed(x.hash); $0.fixed(salt) })
            try f.number("roll.commitments.\(who).iterations", UInt64(EnrollmentCode.iterations))
            try f.hex("roll.commitments.\(who).value", commitment.value.bytes)
            #expect(commitment.isOpened(by: normalized, electionHash: x.hash))
        }
        let body = RollImport.signedBytes(electionHash: x.hash, districts: x.roll.districts)
        try f.hex("roll.roll_import", body)
        try f.hex("roll.roll_signature", try x.commission.signature(for: body).bytes)
        try f.hex("roll.payload", x.payloads[1])
        let (decoded, hash, signed) = try RollImport.decode(payload: try f.bytes("roll.payload"), commissionKey: x.commission.publicKey)
        #expect(decoded == x.roll && hash == x.hash && signed)
    }

    @Test("the trustee: registration (eq. 16), appointment (eq. 17), dealing with its Schnorr proof (eq. 30), verification, election key (eqs. 39-40)")
    func trustee() throws {
        let (f, x) = try Self.load()
        try Self.checkTrustee(f, x)
    }

    static func checkTrustee(_ f: Fixture, _ x: Election) throws {
        let eh = x.hash
        try f.hex("trustee.encryption_secret_d1", x.encryptionSecret.bytes)
        try f.hex("trustee.encryption_key_P1", x.registration.encryptionKey.encoding)
        try f.hex("trustee.registration", x.registration.bodyBytes)
        try f.hex("trustee.registration_signature", x.registration.signature.bytes)
        #expect(x.registration.isSelfSigned)
        try f.hex("trustee.appointment", x.registration.appointmentBytes(electionHash: eh))
        try f.hex("trustee.appointment_signature", try x.registration.appointmentSignature(electionHash: eh, commissionKey: x.commission).bytes)
        try f.hex("trustee.trustee_payload", x.payloads[2])
        let (registration, hash, commissionSignature) = try TrusteeRegistration.decode(payload: try f.bytes("trustee.trustee_payload"))
        #expect(registration == x.registration && hash == eh)
        #expect(x.commission.publicKey.isValidSignature(commissionSignature, for: registration.appointmentBytes(electionHash: eh)))

        let a10 = x.polynomial.coefficients[0]
        #expect(x.polynomial.coefficients.count == 1)
        try f.hex("trustee.coefficient_a10", a10.bytes)
        try f.hex("trustee.commitment_C10", x.dealing.commitments[0].encoding)
        try f.hex("trustee.proof_binding", DealerPublication.proofBinding(index: 1))
        let u = try Self.fixed("example trustee proof-nonce 0")
        try f.hex("trustee.schnorr.u", u.bytes)
        try f.hex("trustee.schnorr.a", x.dealing.proof.a.encoding)
        #expect(x.dealing.proof.a == .base(u))
        let X = x.dealing.commitments[0]
        let schnorrPreimage = Self.preimage(.schnorrProof) {
            $0.fixed(eh); $0.bytes(DealerPublication.proofBinding(index: 1)); $0.point(X); $0.point(x.dealing.proof.a)
        }
        try f.hex("trustee.schnorr.challenge_preimage", schnorrPreimage)
        let c = SchnorrProof.challenge(eh, DealerPublication.proofBinding(index: 1), X, x.dealing.proof.a)
        #expect(c == (try Self.hashToScalar(schnorrPreimage)))
        try f.hex("trustee.schnorr.challenge", c.bytes)
        try f.hex("trustee.schnorr.z", x.dealing.proof.z.bytes)
        #expect(x.dealing.proof.verify(publicValue: X, electionHash: eh, bound: DealerPublication.proofBinding(index: 1)))
        try f.hex("trustee.dealing", x.dealing.signedBytes(electionHash: eh))
        try f.hex("trustee.dealing_signature", x.dealing.signature.bytes)
        try f.hex("trustee.dealing_payload", x.payloads[3])
        #expect(x.dealing.problem(electionHash: eh, quorum: 1, trustees: [x.registration]) == nil)
        #expect(x.dealing.shares.isEmpty, "a single trustee encrypts no share to anyone")
        let (dealing, dealingHash) = try DealerPublication.decode(payload: try f.bytes("trustee.dealing_payload"))
        #expect(dealing == x.dealing && dealingHash == eh)
        try f.hex("trustee.verification", x.verification.signedBytes(electionHash: eh))
        try f.hex("trustee.verification_signature", x.verification.signature.bytes)
        try f.hex("trustee.verification_payload", x.payloads[4])
        let (verification, verificationHash) = try ShareVerification.decode(payload: try f.bytes("trustee.verification_payload"))
        #expect(verification == x.verification && verificationHash == eh)
        #expect(x.trusteeSigner.publicKey.isValidSignature(verification.signature, for: verification.signedBytes(electionHash: eh)))
        // The signed-message wrapper (§12.3): string(tag) || bytes(body) || signature.
        let body = x.verification.signedBytes(electionHash: eh)
        var wrapper = CanonicalWriter(tag: .signedMessage)
        wrapper.bytes(body)
        #expect(x.payloads[4] == wrapper.bytes + x.verification.signature.bytes)
        let s1 = x.polynomial.evaluate(at: 1)
        try f.hex("trustee.secret_share_s1", s1.bytes)
        try f.hex("trustee.lagrange_lambda1", try #require(Feldman.lagrange(1, in: [1])).bytes)
        try f.hex("trustee.election_key_K", x.keyRecord.key.encoding)
        try f.hex("trustee.public_share_S1", x.keyRecord.publicShares[0].encoding)
        #expect(x.keyRecord.publicShares == [GroupElement.base(s1)])
        #expect(x.keyRecord.key == GroupElement.base(a10), "K = a_{1,0}·G with one dealer (eq. 39)")
        try f.hex("trustee.election_key_record", x.keyRecord.canonicalBytes)
        #expect(try ElectionKeyRecord.decode(canonical: try f.bytes("trustee.election_key_record")) == x.keyRecord)
    }

    @Test("the station appointment (eq. 19), the enrollments (eq. 6), the reissue (eq. 15), the window orders (eq. 5)")
    func registrations() throws {
        let (f, x) = try Self.load()
        try Self.checkRegistrations(f, x)
    }

    static func checkRegistrations(_ f: Fixture, _ x: Election) throws {
        let eh = x.hash
        let stationBody = x.stationRegistration.appointmentBytes(electionHash: eh)
        try f.hex("station.appointment", stationBody)
        try f.hex("station.signature", try x.commission.signature(for: stationBody).bytes)
        try f.hex("station.payload", x.payloads[6])
        let (station, stationHash, _) = try StationRegistration.decode(payload: try f.bytes("station.payload"))
        #expect(station == x.stationRegistration && stationHash == eh)

        for (who, key) in [("a", x.voterA), ("b_first", x.voterB1), ("b_second", x.voterB2)] {
            let e = try #require(x.enrollments[who])
            try f.hex("enrollments.\(who).request", EnrollmentRequest.signedBytes(electionHash: eh, voterKey: key.publicKey, normalizedCode: e.code))
            try f.hex("enrollments.\(who).signature", e.signature.bytes)
            try f.hex("enrollments.\(who).payload", e.canonicalBytes)
            #expect(e.hasValidSignature(electionHash: eh))
            #expect(try Enrollment.decode(canonical: try f.bytes("enrollments.\(who).payload")) == e)
        }
        try f.hex("reissue.order", x.reissueOrder.signedBytes(electionHash: eh))
        try f.hex("reissue.signature", x.reissue.signature.bytes)
        try f.hex("reissue.payload", x.reissue.canonicalBytes)
        let (reissue, reissueHash) = try ReissueEntry.decode(canonical: try f.bytes("reissue.payload"))
        #expect(reissue == x.reissue && reissueHash == eh && reissue.isSigned(by: x.commission.publicKey))
        #expect(reissue.revoked == [x.voterB1.publicKey])

        for (name, order) in [("window_open", x.windowOpen), ("window_close", x.windowClose)] {
            try f.hex("\(name).order", WindowChange.orderBytes(electionHash: eh, action: order.action, issuedAt: order.issuedAt))
            try f.hex("\(name).signature", order.signature.bytes)
            try f.hex("\(name).payload", order.canonicalBytes)
            #expect(order.isValid(electionHash: eh, commissionKey: x.commission.publicKey))
        }
    }

    @Test("the four encryptions: ciphertexts (eq. 20), 0/1 proofs (eqs. 23-24), limit proofs (eqs. 27-28), ballot bytes, tracking and short codes (eqs. 3-4)",
          arguments: ballotNames)
    func ballot(_ w: String) throws {
        let (f, x) = try Self.load()
        try Self.checkBallot(f, x, w)
    }

    static func checkBallot(_ f: Fixture, _ x: Election, _ w: String) throws {
        let b = try #require(x.ballots[w])
        let p = "ballots.\(w)"
        let K = x.key
        try f.textList("\(p).selections", try #require(Self.selections[w]))
        try f.hex("\(p).ballot_id", b.ballotID.bytes)
        try f.text("\(p).district", b.ballot.district)
        // ctx_bytes = digest(election_hash) || point(K) || bytes(ballot_id || district) (§11.5), as the proofs write it.
        let tagLength = CanonicalWriter(tag: .rangeProof).bytes.count
        try f.hex("\(p).ctx_bytes", Array(Self.preimage(.rangeProof) { b.context.write(to: &$0) }.dropFirst(tagLength)))
        #expect(b.context.bound == b.ballotID.bytes + Array("d1".utf8))
        let content = b.ballot.content
        for (i, o) in x.district.options.enumerated() {
            let q = "\(p).options.\(i)"
            let ct = content.ciphertexts[i], proof = content.proofs[i]
            let m: UInt64 = (Self.selections[w] ?? []).contains(o.id) ? 1 : 0
            try f.text("\(q).option", o.id)
            try f.number("\(q).plaintext", m)
            try f.hex("\(q).nonce", b.nonces[i].bytes)
            try f.hex("\(q).alpha", ct.alpha.encoding)
            try f.hex("\(q).beta", ct.beta.encoding)
            try f.hex("\(q).proof.u", b.proofRandomness[i].u.bytes)
            try f.hex("\(q).proof.c_fake", b.proofRandomness[i].cFake.bytes)
            try f.hex("\(q).proof.z_fake", b.proofRandomness[i].zFake.bytes)
            for (name, point) in [("a0", proof.a0), ("b0", proof.b0), ("a1", proof.a1), ("b1", proof.b1)] {
                try f.hex("\(q).proof.\(name)", point.encoding)
            }
            let pre = Self.preimage(.rangeProof) {
                $0.fixed(x.hash); $0.point(K); $0.bytes(b.context.bound)
                $0.point(ct.alpha); $0.point(ct.beta); $0.point(proof.a0); $0.point(proof.b0); $0.point(proof.a1); $0.point(proof.b1)
            }
            try f.hex("\(q).proof.challenge_preimage", pre)
            let c = proof.challenge(ciphertext: ct, context: b.context)
            #expect(c == (try Self.hashToScalar(pre)))
            try f.hex("\(q).proof.challenge", c.bytes)
            try f.hex("\(q).proof.c0", proof.c0.bytes)
            try f.hex("\(q).proof.c1", (c - proof.c0).bytes)
            try f.hex("\(q).proof.z0", proof.z0.bytes)
            try f.hex("\(q).proof.z1", proof.z1.bytes)
            #expect(proof.verify(ciphertext: ct, context: b.context), "\(q)")
        }
        let limit = content.limitProof
        let R = b.nonces.dropFirst().reduce(b.nonces[0], +)
        try f.hex("\(p).limit_proof.u", b.limitU.bytes)
        try f.hex("\(p).limit_proof.R", R.bytes)
        try f.hex("\(p).limit_proof.a", limit.a.encoding)
        try f.hex("\(p).limit_proof.b", limit.b.encoding)
        let limitPre = Self.preimage(.sumProof) {
            $0.fixed(x.hash); $0.point(K); $0.bytes(b.context.bound)
            $0.list(content.ciphertexts) { w, ct in w.point(ct.alpha); w.point(ct.beta) }
            $0.u64(UInt64(x.district.selectionLimit)); $0.point(limit.a); $0.point(limit.b)
        }
        try f.hex("\(p).limit_proof.challenge_preimage", limitPre)
        let lc = KnownValueProof.challenge(b.context, content.ciphertexts, UInt64(x.district.selectionLimit), limit.a, limit.b)
        #expect(lc == (try Self.hashToScalar(limitPre)))
        try f.hex("\(p).limit_proof.challenge", lc.bytes)
        try f.hex("\(p).limit_proof.z", limit.z.bytes)
        try f.hex("\(p).ballot_bytes", b.ballot.canonicalBytes)
        try f.hex("\(p).tracking_code", b.ballot.trackingCode.digest.bytes)
        try f.text("\(p).short_code", b.ballot.trackingCode.short)

        // The ballot is valid (one batch) and reads back; BallotContent.encrypt with the same
        // nonces makes the same ciphertexts, and the opening opens them (eq. 45).
        #expect(content.problem(in: x.district, context: b.context) == nil)
        #expect(try Ballot.decode(canonical: try f.bytes("\(p).ballot_bytes")) == b.ballot)
        let (again, opening) = try BallotContent.encrypt(selections: try #require(Self.selections[w]), district: x.district,
                                                         context: b.context, nonces: b.nonces)
        #expect(again.ciphertexts == content.ciphertexts)
        #expect(opening.opens(content, district: x.district, electionKey: K))
        let other = Self.selections[w] == ["yes"] ? ["no"] : ["yes"]
        #expect(!BallotOpening(selections: other, nonces: b.nonces).opens(content, district: x.district, electionKey: K))
        // 1,250 bytes for two options (§4.4: 19 + 4 + 130k + 4 + 356k + 162 of content).
        #expect(b.ballot.canonicalBytes.count == 4 + 15 + 32 + 32 + 4 + 2 + (19 + 4 + 130 * 2 + 4 + 356 * 2 + 162))
        // The proofs are bound to this ballot's id and district (eq. 22): another binding fails.
        let elsewhere = BallotContent.context(electionHash: x.hash, electionKey: K, ballotID: BallotID(trusted: [UInt8](repeating: 0, count: 32)),
                                              district: "d1")
        #expect(content.problem(in: x.district, context: elsewhere) != nil)
    }

    @Test("the challenge (eq. 18), the casts (eq. 2), the supervised ballot (eqs. 47-48), the reveal")
    func castingAndSupersession() throws {
        let (f, x) = try Self.load()
        try Self.checkCasting(f, x)
    }

    static func checkCasting(_ f: Fixture, _ x: Election) throws {
        let eh = x.hash
        let spoiledBallot = try #require(x.ballots["spoiled"]).ballot
        try f.hex("challenge.request", SpoilRequestBody.signedBytes(electionHash: eh, voterKey: x.voterA.publicKey,
                                                                     trackingCode: spoiledBallot.trackingCode))
        let challenge = try SpoilRequestBody.make(ballot: spoiledBallot, opening: x.spoiled.opening, voterKey: x.voterA)
        try f.hex("challenge.signature", challenge.signature.bytes)
        #expect(challenge.hasValidSignature)
        try f.hex("challenge.spoiled_payload", x.spoiled.canonicalBytes)
        #expect(try SpoiledBallot.decode(canonical: try f.bytes("challenge.spoiled_payload")) == x.spoiled)

        for (name, cast, key) in [("a", x.castA, x.voterA), ("b_remote", x.castB, x.voterB2)] {
            try f.hex("cast.\(name).statement", SignedBallot.castStatement(electionHash: eh, voterKey: key.publicKey, trackingCode: cast.trackingCode))
            try f.hex("cast.\(name).signature", cast.signature.bytes)
            try f.hex("cast.\(name).payload", cast.canonicalBytes)
            #expect(cast.hasValidSignature)
            #expect(try SignedBallot.decode(canonical: try f.bytes("cast.\(name).payload")) == cast)
        }

        let s = x.supervised
        try f.hex("supervised.statement", SupervisedBallot.castStatement(electionHash: eh, station: 1, trackingCode: s.trackingCode))
        try f.hex("supervised.signature", s.signature.bytes)
        #expect(s.isSigned(by: x.station.publicKey))
        let pseudonym = try #require(x.commitments["b"]).value
        try f.hex("supervised.pseudonym", pseudonym.bytes)
        try f.hex("supervised.blinding", x.blinding.bytes)
        try f.hex("supervised.link_preimage", Self.preimage(.supersessionLink) { $0.fixed(pseudonym); $0.fixed(x.blinding) })
        try f.hex("supervised.link", s.link.bytes)
        try f.hex("supervised.payload", s.canonicalBytes)
        #expect(try SupervisedBallot.decode(canonical: try f.bytes("supervised.payload")) == s)
        try f.hex("reveal.payload", x.reveal.canonicalBytes)
        let reveal = try SupersessionReveal.decode(canonical: try f.bytes("reveal.payload"))
        #expect(reveal.items.map(\.superseded) == [x.castB.trackingCode])
        #expect(reveal.items.map(\.supervised) == [s.trackingCode])
        #expect(SupervisedBallot.link(pseudonym: reveal.items[0].pseudonym, blinding: reveal.items[0].blinding) == s.link)
    }

    @Test("the aggregate (eq. 41), the partial decryption with its proofs (eq. 37), the combination (eqs. 42-43), the results (eq. 44)")
    func tally() throws {
        let (f, x) = try Self.load()
        try Self.checkTally(f, x)
    }

    static func checkTally(_ f: Fixture, _ x: Election) throws {
        let eh = x.hash
        let district = try #require(x.aggregate.districts.first)
        try f.number("aggregate.ballots", UInt64(district.ballots))
        for (i, ct) in district.ciphertexts.enumerated() {
            try f.text("aggregate.ciphertexts.\(i).option", x.district.options[i].id)
            try f.hex("aggregate.ciphertexts.\(i).alpha", ct.alpha.encoding)
            try f.hex("aggregate.ciphertexts.\(i).beta", ct.beta.encoding)
        }
        try f.hex("aggregate.payload", x.aggregate.canonicalBytes)
        #expect(try TallyAggregate.decode(canonical: try f.bytes("aggregate.payload")) == x.aggregate)

        let S = x.keyRecord.publicShares[0]
        for (i, share) in x.partial.districts[0].enumerated() {
            let q = "decryption.shares.\(i)"
            let alpha = district.ciphertexts[i].alpha
            try f.text("\(q).option", x.district.options[i].id)
            try f.hex("\(q).u", (try Self.fixed("example decryption u \(i)")).bytes)
            try f.hex("\(q).partial_D", share.partial.encoding)
            try f.hex("\(q).a", share.proof.a.encoding)
            try f.hex("\(q).b", share.proof.b.encoding)
            let pre = Self.preimage(.decryptionProof) {
                $0.fixed(eh); $0.point(S); $0.point(alpha); $0.point(share.partial); $0.point(share.proof.a); $0.point(share.proof.b)
            }
            try f.hex("\(q).challenge_preimage", pre)
            let c = DecryptionProof.challenge(eh, S, alpha, share.partial, share.proof.a, share.proof.b)
            #expect(c == (try Self.hashToScalar(pre)))
            try f.hex("\(q).challenge", c.bytes)
            try f.hex("\(q).z", share.proof.z.bytes)
            #expect(share.proof.verify(publicShare: S, alpha: alpha, partial: share.partial, electionHash: eh))
        }
        try f.hex("decryption.partial_decryption", x.partial.signedBytes(electionHash: eh))
        try f.hex("decryption.signature", x.partial.signature.bytes)
        try f.hex("decryption.payload", x.payloads[19])
        #expect(x.partial.problem(electionHash: eh, aggregate: x.aggregate, publicShare: S, signingKey: x.trusteeSigner.publicKey) == nil)
        let (partial, partialHash) = try PartialDecryption.decode(payload: try f.bytes("decryption.payload"))
        #expect(partial == x.partial && partialHash == eh)

        let quorum: [UInt64] = [1]
        try f.numberList("combination.quorum", quorum)
        let lambda = try #require(Feldman.lagrange(1, in: quorum))
        try f.hex("combination.lagrange.1", lambda.bytes)
        let r = x.results.results.districts[0]
        for (i, ct) in district.ciphertexts.enumerated() {
            let M = ct.beta - lambda * x.partial.districts[0][i].partial
            try f.text("combination.options.\(i).option", x.district.options[i].id)
            try f.hex("combination.options.\(i).M", M.encoding)   // the identity is written as 65 zero bytes
            #expect(M.isIdentity == (r.counts[i] == 0))
            let count = try #require(DiscreteLog.solve(M, bound: UInt64(district.ballots) * UInt64(x.district.selectionLimit)))
            try f.number("combination.options.\(i).count", count)
            #expect(r.counts[i] == count)
            try f.number("results.counts.\(x.district.options[i].id)", r.counts[i])
        }
        try f.textList("results.elected", r.elected)
        try f.textList("results.tied", r.tied)
        try f.number("results.roll", UInt64(r.roll))
        try f.number("results.ballots", UInt64(r.ballots))
        try f.hex("results.results", x.results.results.canonicalBytes)
        try f.hex("results.signature", x.results.signature.bytes)
        try f.hex("results.payload", x.results.payload)
        #expect(x.results.isValid(serverKey: x.server.publicKey))
        #expect(x.results.results.quorum == [1])
        #expect(try SignedResults.decode(payload: try f.bytes("results.payload")) == x.results)
    }

    @Test("eq. 44: ties across the last seat are reported, not broken; options that are not electable never win")
    func winners() {
        func w(_ ids: [String], _ counts: [UInt64], _ seats: Int) -> ([String], [String]) {
            let r: (elected: [String], tied: [String]) = ElectionResults.winners(options: ids, counts: counts, seats: seats)
            return (r.elected, r.tied)
        }
        // The examples of §13.4.
        #expect(w(["a", "b", "c", "d"], [5, 3, 3, 1], 2) == (["a"], ["b", "c"]))
        #expect(w(["c", "b", "a"], [2, 2, 2], 1) == ([], ["a", "b", "c"]))
        #expect(w(["b", "a", "c"], [4, 4, 1], 2) == (["a", "b"], []))
        #expect(w(["a", "b"], [0, 7], 2) == (["b", "a"], []))
        let options = [BallotOption(id: "against-all", name: "Against all", electable: false),
                       BallotOption(id: "a", name: "A"), BallotOption(id: "b", name: "B")]
        let r = ElectionResults.winners(options: options, counts: [9, 5, 3], seats: 1)
        #expect(r.elected == ["a"] && r.tied == [])
        // A district without counted ballots elects nobody.
        let district = District(id: "d", name: "D", seats: 1, selectionLimit: 1, options: options)
        let none = ElectionResults.winners(district: district, counts: [0, 0, 0], ballots: 0)
        #expect(none.elected == [] && none.tied == [])
    }

    @Test("the log: every entry (eq. 7), every root (eq. 9), every checkpoint (eq. 10), the receipts (eq. 11), the proofs")
    func log() throws {
        let (f, x) = try Self.load()
        try Self.checkLog(f, x)
    }

    static func checkLog(_ f: Fixture, _ x: Election) throws {
        let eh = x.hash
        #expect(try f.count("entries") == x.entries.count)
        for (i, e) in x.entries.enumerated() {
            try f.number("entries.\(i).index", e.index)
            try f.text("entries.\(i).kind", e.kind.rawValue)
            try f.number("entries.\(i).timestamp", e.timestamp)
            try f.hex("entries.\(i).payload", e.payload)
            try f.hex("entries.\(i).entry", e.canonicalBytes)
            try f.hex("entries.\(i).leaf_hash", e.leafHash.bytes)
            #expect(try LogEntry.decode(canonical: try f.bytes("entries.\(i).entry")) == e)
        }
        var tree = InMemoryMerkleTree()
        for e in x.entries {
            tree.append(leafHash: e.leafHash)
            try f.hex("roots.\(tree.size)", tree.root.bytes)
        }
        #expect(try f.count("checkpoints") == x.checkpoints.count)
        #expect(x.checkpoints.keys.sorted() == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 19, 21])
        for (size, cp) in x.checkpoints {
            try f.number("checkpoints.\(size).timestamp", cp.checkpoint.timestamp)
            try f.hex("checkpoints.\(size).root_hash", cp.checkpoint.rootHash.bytes)
            try f.hex("checkpoints.\(size).checkpoint", cp.checkpoint.canonicalBytes)
            try f.hex("checkpoints.\(size).signature", cp.signature.bytes)
            #expect(cp.isValid(serverKey: x.server.publicKey))
        }

        let verifier = ReceiptVerifier(serverKey: x.server.publicKey, electionHash: eh)
        let receipts: [(String, Receipt.Kind, UInt64, Digest)] = [
            ("enrollment_a", .enrollment, 7, try #require(Digest(bytes: x.voterA.publicKey.rawRepresentation))),
            ("spoiled", .spoiled, 12, x.spoiled.trackingCode.digest),
            ("ballot", .ballot, 13, x.castA.trackingCode.digest),
            ("supervised", .supervised, 15, x.supervised.trackingCode.digest),
        ]
        for (name, kind, index, subject) in receipts {
            // The receipt checkpoint is the first whose size exceeds the index (§6.1).
            let size = try #require(x.checkpoints.keys.filter { $0 > index }.min())
            let checkpoint = try #require(x.checkpoints[size])
            let receipt = try Receipt.issue(kind: kind, electionHash: eh, subject: subject, logIndex: index,
                                            leafHash: x.entries[Int(index)].leafHash, checkpoint: checkpoint, serverKey: x.server)
            let proof = try Merkle.inclusionProof(index: index, size: size, in: x.tree)
            try f.text("receipts.\(name).kind", kind.rawValue)
            try f.number("receipts.\(name).log_index", index)
            try f.number("receipts.\(name).tree_size", size)
            try f.hex("receipts.\(name).subject", subject.bytes)
            try f.hex("receipts.\(name).receipt", receipt.signedBytes)
            try f.hex("receipts.\(name).signature", receipt.signature.bytes)
            try f.hexList("receipts.\(name).inclusion_proof", proof.map(\.bytes))
            let checks = verifier.verify(receipt: receipt, entryBytes: x.entries[Int(index)].canonicalBytes, inclusionProof: proof,
                                         expectedPayload: x.entries[Int(index)].payload)
            #expect(checks.count == 6 && checks.allSatisfy(\.passed), "\(name): \(checks.filter { !$0.passed })")
        }

        for (index, size) in [(UInt64(13), UInt64(14)), (13, 21)] {
            let p = "inclusion_proofs.\(index)@\(size)"
            let proof = try Merkle.inclusionProof(index: index, size: size, in: x.tree)
            let root = try Merkle.root(size: size, in: x.tree)
            try f.number("\(p).index", index)
            try f.number("\(p).tree_size", size)
            try f.hex("\(p).leaf_hash", x.entries[Int(index)].leafHash.bytes)
            try f.hex("\(p).root", root.bytes)
            try f.hexList("\(p).proof", proof.map(\.bytes))
            try Merkle.verifyInclusion(leafHash: x.entries[Int(index)].leafHash.bytes, index: index, treeSize: size,
                                       proof: proof.map(\.bytes), root: root.bytes)
        }
        let consistency = try Merkle.consistencyProof(size1: 14, size2: 21, in: x.tree)
        let root14 = try Merkle.root(size: 14, in: x.tree)
        try f.number("consistency_proofs.14->21.first", 14)
        try f.number("consistency_proofs.14->21.second", 21)
        try f.hex("consistency_proofs.14->21.first_root", root14.bytes)
        try f.hex("consistency_proofs.14->21.second_root", x.tree.root.bytes)
        try f.hexList("consistency_proofs.14->21.proof", consistency.map(\.bytes))
        try Merkle.verifyConsistency(size1: 14, size2: 21, root1: root14.bytes, root2: x.tree.root.bytes, proof: consistency.map(\.bytes))
    }

    @Test("the reference's verdicts: 45 equations, each alone and all in one batch (eq. 49)")
    func verdicts() throws {
        let (f, x) = try Self.load()
        try Self.checkVerdicts(f, x)
    }

    static func checkVerdicts(_ f: Fixture, _ x: Election) throws {
        // 4 ballots × (2 options × 4 + 2) + Schnorr 1 + 2 decryption proofs × 2.
        let equations = x.ballots.count * (x.district.options.count * 4 + 2) + 1 + x.district.options.count * 2
        try f.number("verified.equations_checked", UInt64(equations))
        var single = true
        var batch = ProofBatch(electionKey: x.key)
        for w in Self.ballotNames {
            let b = try #require(x.ballots[w])
            for (ct, proof) in zip(b.ballot.content.ciphertexts, b.ballot.content.proofs) {
                single = single && proof.verify(ciphertext: ct, context: b.context)
            }
            single = single && b.ballot.content.limitProof.verify(ciphertexts: b.ballot.content.ciphertexts,
                                                                  value: UInt64(x.district.selectionLimit), context: b.context)
            b.ballot.content.addEquations(in: x.district, context: b.context, to: &batch)
        }
        single = single && x.dealing.proof.verify(publicValue: x.dealing.commitments[0], electionHash: x.hash,
                                                  bound: DealerPublication.proofBinding(index: 1))
        for (ct, share) in zip(x.aggregate.districts[0].ciphertexts, x.partial.districts[0]) {
            single = single && share.proof.verify(publicShare: x.keyRecord.publicShares[0], alpha: ct.alpha, partial: share.partial,
                                                  electionHash: x.hash)
        }
        try f.flag("verified.single", single)
        // VotingCore batches the ballot proofs (Schnorr and decryption proofs are checked one by one).
        try f.flag("verified.batch_eq49", batch.holds())
    }

    @Test("the VotingCore auditor passes the whole worked example's record (16 checks)")
    func audit() async throws {
        let (_, x) = try Self.load()
        let audit = ElectionAudit()
        await audit.consume(.header(RecordHeader(electionHash: x.hash, exportedAt: Self.t0 + 11 * Self.hour)))
        var size: UInt64 = 0
        for e in x.entries {
            await audit.consume(.entry(LogEntryBody(index: e.index, kind: e.kind, data: HexBytes(e.canonicalBytes))))
            size += 1
            if let cp = x.checkpoints[size] { await audit.consume(.checkpoint(cp)) }
        }
        await audit.consume(.end(RecordEnd(entries: UInt64(x.entries.count), checkpoints: UInt64(x.checkpoints.count))))
        let report = await audit.finish()
        #expect(report.checks.count == 16)
        for check in report.checks where !check.passed {
            Issue.record("check \(check.number) \(check.name): \(check.failures)")
        }
        #expect(report.passed)
        #expect(report.entries == UInt64(x.entries.count))
    }

    @Test("every value of worked-example.json is compared by the tests above")
    func coverage() throws {
        let (f, x) = try Self.load()
        // Run every comparison again on one fixture object, collecting the paths.
        try Self.checkSetup(f, x)
        try Self.checkRoll(f, x)
        try Self.checkTrustee(f, x)
        try Self.checkRegistrations(f, x)
        for w in Self.ballotNames { try Self.checkBallot(f, x, w) }
        try Self.checkCasting(f, x)
        try Self.checkTally(f, x)
        try Self.checkLog(f, x)
        try Self.checkVerdicts(f, x)
        let unchecked = Set(f.leaves).subtracting(f.checked).subtracting(["description"])
        #expect(unchecked.isEmpty, "values of worked-example.json no test compares: \(unchecked.sorted())")
    }
}
