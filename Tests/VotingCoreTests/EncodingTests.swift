import Foundation
import Testing
@testable import VotingCore

// MARK: - Fixtures

/// Big-endian u32 followed by nothing: the length/count prefix of the canonical encoding,
/// written out by hand so the layout tests do not depend on CanonicalWriter.
private func be32(_ v: Int) -> [UInt8] {
    [UInt8(truncatingIfNeeded: v >> 24), UInt8(truncatingIfNeeded: v >> 16),
     UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)]
}

private func be64(_ v: UInt64) -> [UInt8] {
    (0..<8).reversed().map { UInt8(truncatingIfNeeded: v >> (UInt64($0) * 8)) }
}

/// Length-prefixed UTF-8.
private func lp(_ s: String) -> [UInt8] { be32(s.utf8.count) + Array(s.utf8) }

/// Deterministic keys from fixed seeds.
private func key(_ n: UInt8) throws -> Ed25519PrivateKey {
    try Ed25519PrivateKey(rawRepresentation: [UInt8](repeating: n, count: 32))
}

enum Fixture {
    static let trustees = TrusteePolicy(count: 3, quorum: 2)

    static let manifest = ElectionManifest(
        electionId: "test-2027",
        name: "Test election",
        districts: [
            District(id: "d1", name: "North", seats: 2, selectionLimit: 1, options: [
                BallotOption(id: "alice", name: "Alice A."),
                BallotOption(id: "bob", name: "Bob B."),
                BallotOption(id: "carol", name: "Carol C."),
            ]),
            District(id: "d2", name: "South", seats: 1, selectionLimit: 2, options: [
                BallotOption(id: "x", name: "X"),
                BallotOption(id: "y", name: "Y"),
                BallotOption(id: "z", name: "Z"),
            ]),
        ],
        trustees: trustees)

    /// The election secret x, fixed so tests can decrypt, and the election key x*G.
    static let electionSecret = P256Constants.scalar(label: "evote test election secret")
    static let electionKey = GroupElement.base(electionSecret)

    /// Entry 0 of the fixture election: server key seed 1, commission key seed 2, a fixed nonce.
    static func setup() throws -> ElectionSetup {
        ElectionSetup(manifest: manifest, serverKey: try key(1).publicKey, commissionKey: try key(2).publicKey,
                      nonce: Nonce32(trusted: [UInt8](repeating: 0x4e, count: 32)))
    }

    /// The election hash: SHA-256 of the setup (eq. 1).
    static func electionHash() throws -> Digest { try setup().electionHash }

    /// A ballot id from a label (SHA-256 of it), for ballots that must be reproducible.
    static func ballotID(_ label: String) -> BallotID { BallotID(trusted: SHA256.hash(Array(label.utf8)).bytes) }

    static func district(_ id: String) -> District {
        guard let d = manifest.district(id) else { preconditionFailure("no district \(id) in the fixture") }
        return d
    }

    /// The proof context of the ballot with id `ballotID` in `district` of the fixture election.
    static func context(ballotID: BallotID, district: String) throws -> ProofContext {
        BallotContent.context(electionHash: try electionHash(), electionKey: electionKey, ballotID: ballotID, district: district)
    }

    /// m*G for the plaintext m of `ct` (exponential ElGamal decrypts to a point).
    static func decrypt(_ ct: Ciphertext) -> GroupElement { ct.beta - electionSecret * ct.alpha }
}

private func failedChecks(_ results: [CheckResult]) -> Set<String> {
    Set(results.filter { !$0.passed }.map(\.name))
}

private func json(_ value: some Encodable) throws -> [String: Any] {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    let data = try encoder.encode(value)
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

private func data(_ object: [String: Any]) throws -> Data {
    try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
}

// MARK: - Canonical writer and reader

@Suite("Canonical encoding")
struct CanonicalEncodingTests {
    @Test func tagIsALengthPrefixedString() throws {
        let w = CanonicalWriter(tag: .ballot)
        #expect(w.bytes == [0, 0, 0, 0x0f] + Array("evote.v2.ballot".utf8))
        for tag in DomainTag.allCases {
            #expect(CanonicalWriter(tag: tag).bytes == lp(tag.rawValue))
            #expect(tag.rawValue.hasPrefix("evote.v2."))
        }
        #expect(Set(DomainTag.allCases.map(\.rawValue)).count == DomainTag.allCases.count)
    }

    @Test func integerLayoutIsBigEndian() throws {
        let prefix = CanonicalWriter(tag: .manifest).bytes.count
        var w = CanonicalWriter(tag: .manifest)
        w.u8(0xab)
        w.u32(0x0102_0304)
        w.u64(0x0102_0304_0506_0708)
        w.u32(0)
        w.u32(.max)
        w.u64(1)
        w.u64(.max)
        #expect(Array(w.bytes[prefix...]) == [0xab]
            + [1, 2, 3, 4]
            + [1, 2, 3, 4, 5, 6, 7, 8]
            + [0, 0, 0, 0]
            + [0xff, 0xff, 0xff, 0xff]
            + [0, 0, 0, 0, 0, 0, 0, 1]
            + [UInt8](repeating: 0xff, count: 8))

        var r = CanonicalReader(Array(w.bytes[prefix...]))
        #expect(try r.u8() == 0xab)
        #expect(try r.u32() == 0x0102_0304)
        #expect(try r.u64() == 0x0102_0304_0506_0708)
        #expect(try r.u32() == 0)
        #expect(try r.u32() == .max)
        #expect(try r.u64() == 1)
        #expect(try r.u64() == .max)
        #expect(throws: Never.self) { try r.finish() }
    }

    @Test func stringsBytesAndLists() throws {
        let prefix = CanonicalWriter(tag: .receipt).bytes.count
        var w = CanonicalWriter(tag: .receipt)
        w.string("hé")
        w.string("")
        w.bytes([9, 8])
        w.list(["a", "bc"]) { w, s in w.string(s) }
        w.list([UInt32]()) { w, v in w.u32(v) }
        let digest = SHA256.hash(Array("abc".utf8))
        w.fixed(digest)
        let pub = try key(1).publicKey
        w.key(pub)
        #expect(Array(w.bytes[prefix...]) == [0, 0, 0, 3, 0x68, 0xc3, 0xa9]
            + [0, 0, 0, 0]
            + [0, 0, 0, 2, 9, 8]
            + [0, 0, 0, 2] + [0, 0, 0, 1, 0x61] + [0, 0, 0, 2, 0x62, 0x63]
            + [0, 0, 0, 0]
            + digest.bytes
            + pub.rawRepresentation)

        var r = try CanonicalReader(w.bytes, tag: .receipt)
        #expect(try r.string() == "hé")
        #expect(try r.string() == "")
        #expect(try r.bytes() == [9, 8])
        #expect(try r.list { r in try r.string() } == ["a", "bc"])
        #expect(try r.list { r in try r.u32() } == [])
        #expect(try r.fixed(Digest.self) == digest)
        #expect(try r.key() == pub)
        try r.finish()
    }

    @Test func truncation() throws {
        var r = CanonicalReader([0, 0, 0])
        #expect(throws: CanonicalReader.Failure.truncated(at: 0)) { try r.u32() }
        r = CanonicalReader([1, 2, 3, 4, 5, 6, 7])
        #expect(throws: CanonicalReader.Failure.truncated(at: 0)) { try r.u64() }
        r = CanonicalReader([])
        #expect(throws: CanonicalReader.Failure.truncated(at: 0)) { try r.u8() }
        r = CanonicalReader([7, 0, 0])
        #expect(try r.u8() == 7)
        #expect(throws: CanonicalReader.Failure.truncated(at: 1)) { try r.u32() }
        r = CanonicalReader([UInt8](repeating: 1, count: 31))
        #expect(throws: CanonicalReader.Failure.truncated(at: 0)) { try r.fixed(Digest.self) }
        r = CanonicalReader([UInt8](repeating: 1, count: 63))
        #expect(throws: CanonicalReader.Failure.truncated(at: 0)) { try r.fixed(Ed25519Signature.self) }
        r = CanonicalReader([UInt8](repeating: 1, count: 31))
        #expect(throws: CanonicalReader.Failure.truncated(at: 0)) { try r.key() }
        // A length prefix larger than what remains.
        r = CanonicalReader([0, 0, 0, 5, 1, 2])
        #expect(throws: CanonicalReader.Failure.tooLarge(at: 0)) { try r.bytes() }
        r = CanonicalReader([0, 0, 0, 3, 0x61, 0x62])
        #expect(throws: CanonicalReader.Failure.tooLarge(at: 0)) { try r.string() }
        r = CanonicalReader([0xff, 0xff, 0xff, 0xff])
        #expect(throws: CanonicalReader.Failure.tooLarge(at: 0)) { try r.bytes() }
        // Empty input where a tag is expected.
        #expect(throws: CanonicalReader.Failure.truncated(at: 0)) { try CanonicalReader([], tag: .ballot) }
    }

    @Test func trailingBytes() throws {
        var w = CanonicalWriter(tag: .checkpoint)
        w.u32(5)
        var r = try CanonicalReader(w.bytes + [0, 0], tag: .checkpoint)
        #expect(try r.u32() == 5)
        #expect(throws: CanonicalReader.Failure.trailingBytes(2)) { try r.finish() }
        let untouched = try CanonicalReader(w.bytes, tag: .checkpoint)
        #expect(throws: CanonicalReader.Failure.trailingBytes(4)) { try untouched.finish() }
    }

    @Test func wrongTag() throws {
        let bytes = CanonicalWriter(tag: .ballot).bytes
        #expect(throws: CanonicalReader.Failure.wrongTag(expected: "evote.v2.receipt", found: "evote.v2.ballot")) {
            try CanonicalReader(bytes, tag: .receipt)
        }
        #expect(throws: Never.self) { try CanonicalReader(bytes, tag: .ballot) }
        // The signed-ballot tag must not open a ballot and vice versa (no prefix confusion).
        #expect(throws: CanonicalReader.Failure.self) { try CanonicalReader(CanonicalWriter(tag: .signedBallot).bytes, tag: .ballot) }
    }

    @Test func listCountLargerThanRemaining() throws {
        var r = CanonicalReader([0, 0, 0, 5, 1, 2])
        #expect(throws: CanonicalReader.Failure.tooLarge(at: 0)) { try r.list { r in try r.u8() } }
        r = CanonicalReader([0xff, 0xff, 0xff, 0xff])
        #expect(throws: CanonicalReader.Failure.tooLarge(at: 0)) { try r.list { r in try r.u8() } }
        // A count that fits the remaining bytes but whose items do not.
        r = CanonicalReader([0, 0, 0, 2, 0, 0, 0, 9])
        #expect(throws: CanonicalReader.Failure.self) { try r.list { r in try r.string() } }
        r = CanonicalReader([0, 0, 0, 2, 1, 2])
        #expect(try r.list { r in try r.u8() } == [1, 2])
    }

    @Test func invalidUTF8() throws {
        var r = CanonicalReader([0, 0, 0, 2, 0xff, 0xfe])
        #expect(throws: CanonicalReader.Failure.invalidUTF8(at: 0)) { try r.string() }
        r = CanonicalReader([0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0xc3])
        #expect(try r.string() == "a")
        #expect(throws: CanonicalReader.Failure.invalidUTF8(at: 5)) { try r.string() }
    }

    @Test func invalidKeyBytesRejected() throws {
        // 32 bytes that OpenSSL accepts as a raw key round-trip; the reader reads exactly 32.
        let pub = try key(9).publicKey
        var r = CanonicalReader(pub.rawRepresentation + [1])
        #expect(try r.key() == pub)
        #expect(throws: CanonicalReader.Failure.trailingBytes(1)) { try r.finish() }
    }
}

// MARK: - Manifest

@Suite("Election manifest")
struct ManifestTests {
    @Test func canonicalLayout() throws {
        let m = ElectionManifest(electionId: "e", name: "N", districts: [
            District(id: "d", name: "D", seats: 1, selectionLimit: 2, options: [
                BallotOption(id: "a", name: "A"), BallotOption(id: "b", name: "B"),
            ]),
        ], trustees: TrusteePolicy(count: 5, quorum: 3))
        // v2: a names list after every name (empty here) and an electable flag per option.
        let expected = lp("evote.v2.manifest") + lp("e") + lp("N") + be32(0)
            + be32(1) + lp("d") + lp("D") + be32(0) + be32(1) + be32(2)
            + be32(2) + lp("a") + lp("A") + be32(0) + [1] + lp("b") + lp("B") + be32(0) + [1]
            + be32(5) + be32(3)
        #expect(m.canonicalBytes == expected)
        #expect(m.manifestHash == SHA256.hash(expected))
    }

    @Test func electionSetupLayoutAndElectionHash() throws {
        // Entry 0 (§4.2): tag, bytes(manifest), server key, commission key, raw 32-byte nonce;
        // election_hash = SHA-256(setup bytes) (eq. 1), not a hash of the manifest alone.
        let setup = try Fixture.setup()
        let m = Fixture.manifest.canonicalBytes
        let expected = lp("evote.v2.election-setup") + be32(m.count) + m + (try key(1)).publicKey.rawRepresentation
            + (try key(2)).publicKey.rawRepresentation + [UInt8](repeating: 0x4e, count: 32)
        #expect(setup.canonicalBytes == expected)
        #expect(setup.electionHash == SHA256.hash(expected))
        #expect(setup.electionHash != Fixture.manifest.manifestHash)
        let back = try ElectionSetup.decode(canonical: expected)
        #expect(back == setup)
        #expect(back.canonicalBytes == expected)
        for n in stride(from: 0, to: expected.count, by: 5) {
            #expect(throws: (any Error).self, "prefix \(n)") { try ElectionSetup.decode(canonical: Array(expected[..<n])) }
        }
        #expect(throws: CanonicalReader.Failure.trailingBytes(1)) { try ElectionSetup.decode(canonical: expected + [0]) }
    }

    @Test func canonicalRoundTrip() throws {
        let m = Fixture.manifest
        #expect(m.problems() == [])
        let back = try ElectionManifest.decode(canonical: m.canonicalBytes)
        #expect(back == m)
        #expect(back.canonicalBytes == m.canonicalBytes)
        #expect(back.manifestHash == m.manifestHash)
        // Every strict prefix and any extension is refused.
        let bytes = m.canonicalBytes
        for n in 0..<bytes.count {
            #expect(throws: (any Error).self, "prefix of \(n) bytes") { try ElectionManifest.decode(canonical: Array(bytes[..<n])) }
        }
        #expect(throws: CanonicalReader.Failure.trailingBytes(1)) { try ElectionManifest.decode(canonical: bytes + [0]) }
    }

    @Test func jsonRoundTrip() throws {
        let m = Fixture.manifest
        let encoded = try JSONEncoder().encode(m)
        let object = try #require(try JSONSerialization.jsonObject(with: encoded) as? [String: Any])
        #expect(object["election_id"] as? String == "test-2027")
        let districts = try #require(object["districts"] as? [[String: Any]])
        #expect(districts.first?["selection_limit"] as? Int == 1)
        let trustees = try #require(object["trustees"] as? [String: Any])
        #expect(trustees["count"] as? Int == 3)
        #expect(trustees["quorum"] as? Int == 2)
        #expect(Set(trustees.keys) == ["count", "quorum"])
        #expect(try ElectionManifest.load(jsonData: encoded) == m)

        let bad = ElectionManifest(electionId: "Bad Id", name: m.name, districts: m.districts, trustees: m.trustees)
        #expect(throws: ManifestError.self) { try ElectionManifest.load(jsonData: try JSONEncoder().encode(bad)) }
    }

    @Test func electionHashChangesWithEveryField() throws {
        let m = Fixture.manifest
        let d1 = m.districts[0], d2 = m.districts[1]
        func with(_ d: District) -> ElectionManifest {
            ElectionManifest(electionId: m.electionId, name: m.name, districts: [d, d2], trustees: m.trustees)
        }
        func with(_ t: TrusteePolicy) -> ElectionManifest {
            ElectionManifest(electionId: m.electionId, name: m.name, districts: m.districts, trustees: t)
        }
        func district(id: String? = nil, name: String? = nil, seats: Int? = nil, limit: Int? = nil,
                      options: [BallotOption]? = nil) -> District {
            District(id: id ?? d1.id, name: name ?? d1.name, seats: seats ?? d1.seats,
                     selectionLimit: limit ?? d1.selectionLimit, options: options ?? d1.options)
        }
        let variants: [(String, ElectionManifest)] = [
            ("election id", ElectionManifest(electionId: "test-2028", name: m.name, districts: m.districts, trustees: m.trustees)),
            ("name", ElectionManifest(electionId: m.electionId, name: "Test election!", districts: m.districts, trustees: m.trustees)),
            ("district order", ElectionManifest(electionId: m.electionId, name: m.name, districts: [d2, d1], trustees: m.trustees)),
            ("district dropped", ElectionManifest(electionId: m.electionId, name: m.name, districts: [d1], trustees: m.trustees)),
            ("district id", with(district(id: "d3"))),
            ("district name", with(district(name: "Norths"))),
            ("seats", with(district(seats: 3))),
            ("selection limit", with(district(limit: 2))),
            ("option id", with(district(options: [BallotOption(id: "alicia", name: "Alice A.")] + d1.options.dropFirst()))),
            ("option name", with(district(options: [BallotOption(id: "alice", name: "Alice B.")] + d1.options.dropFirst()))),
            ("option order", with(district(options: d1.options.reversed()))),
            ("option dropped", with(district(options: Array(d1.options.dropLast())))),
            ("trustee count", with(TrusteePolicy(count: 4, quorum: 2))),
            ("trustee quorum", with(TrusteePolicy(count: 3, quorum: 3))),
            ("trustee count and quorum swapped", with(TrusteePolicy(count: 2, quorum: 3))),
            // Field boundaries are unambiguous thanks to the length prefixes.
            ("id/name boundary", ElectionManifest(electionId: "test-2027T", name: "est election", districts: m.districts,
                                                  trustees: m.trustees)),
        ]
        let base = try Fixture.electionHash()
        let setup = try Fixture.setup()
        func hash(_ manifest: ElectionManifest) -> Digest {
            ElectionSetup(manifest: manifest, serverKey: setup.serverKey, commissionKey: setup.commissionKey, nonce: setup.nonce).electionHash
        }
        var seen: Set<Digest> = [base]
        for (what, variant) in variants {
            #expect(hash(variant) != base, "changing the \(what) must change the election hash")
            #expect(seen.insert(hash(variant)).inserted, "\(what): hash collides with another variant")
        }
        // v2: the election hash also commits to both keys and to the nonce (eq. 1), so two
        // elections from one manifest never share a hash.
        let others: [(String, ElectionSetup)] = [
            ("server key", ElectionSetup(manifest: m, serverKey: try key(7).publicKey, commissionKey: setup.commissionKey, nonce: setup.nonce)),
            ("commission key", ElectionSetup(manifest: m, serverKey: setup.serverKey, commissionKey: try key(7).publicKey, nonce: setup.nonce)),
            ("keys swapped", ElectionSetup(manifest: m, serverKey: setup.commissionKey, commissionKey: setup.serverKey, nonce: setup.nonce)),
            ("nonce", ElectionSetup(manifest: m, serverKey: setup.serverKey, commissionKey: setup.commissionKey, nonce: .zero)),
        ]
        for (what, other) in others {
            #expect(seen.insert(other.electionHash).inserted, "changing the \(what) must change the election hash")
        }
    }

    @Test(arguments: ["a", "0", "a-b_c", "abc123", String(repeating: "x", count: 64)])
    func validIdentifiers(_ id: String) throws {
        #expect(Identifier.isValid(id))
    }

    @Test(arguments: ["", "-a", "_a", "A", "aB", "a b", "a.b", "é", "a/b", String(repeating: "x", count: 65)])
    func invalidIdentifiers(_ id: String) throws {
        #expect(!Identifier.isValid(id))
        let m = Fixture.manifest
        let options = [BallotOption(id: id, name: "Bad")] + m.districts[0].options
        let cases = [
            ElectionManifest(electionId: id, name: m.name, districts: m.districts, trustees: m.trustees),
            ElectionManifest(electionId: m.electionId, name: m.name, districts: [
                District(id: id, name: "Bad", seats: 1, selectionLimit: 1, options: m.districts[0].options),
            ], trustees: m.trustees),
            ElectionManifest(electionId: m.electionId, name: m.name, districts: [
                District(id: "d1", name: "Bad", seats: 1, selectionLimit: 1, options: options),
            ], trustees: m.trustees),
        ]
        for c in cases {
            let problems = c.problems()
            #expect(problems.contains { $0.contains(Identifier.rule) && $0.contains("\"\(id)\"") }, "\(problems)")
        }
    }

    @Test func duplicateIds() throws {
        let m = Fixture.manifest
        let dupDistricts = ElectionManifest(electionId: m.electionId, name: m.name, districts: [m.districts[0], m.districts[0]],
                                            trustees: m.trustees)
        #expect(dupDistricts.problems().contains { $0.contains("district id \"d1\" appears twice") }, "\(dupDistricts.problems())")

        let d = m.districts[0]
        let dupOptions = ElectionManifest(electionId: m.electionId, name: m.name, districts: [
            District(id: d.id, name: d.name, seats: 1, selectionLimit: 1, options: d.options + [BallotOption(id: "bob", name: "Bob again")]),
        ], trustees: m.trustees)
        #expect(dupOptions.problems().contains { $0.contains("option id \"bob\" appears twice") }, "\(dupOptions.problems())")
        // The same option id in two districts is fine.
        #expect(ElectionManifest(electionId: "e", name: "E", districts: [
            District(id: "a", name: "A", seats: 1, selectionLimit: 1, options: d.options),
            District(id: "b", name: "B", seats: 1, selectionLimit: 1, options: d.options),
        ], trustees: m.trustees).problems() == [])
    }

    @Test func seatsAndSelectionLimitRange() throws {
        let m = Fixture.manifest
        let options = m.districts[0].options  // three options
        func manifest(seats: Int, limit: Int) -> ElectionManifest {
            ElectionManifest(electionId: m.electionId, name: m.name, districts: [
                District(id: "d1", name: "North", seats: seats, selectionLimit: limit, options: options),
            ], trustees: m.trustees)
        }
        for seats in [-1, 0, 4, 100] {
            let problems = manifest(seats: seats, limit: 1).problems()
            #expect(problems.contains { $0.contains("seats must be 1 to the number of electable options") }, "seats \(seats): \(problems)")
            #expect(problems.count == 1, "seats \(seats): \(problems)")
        }
        for limit in [-1, 0, 4, 100] {
            let problems = manifest(seats: 1, limit: limit).problems()
            #expect(problems.contains { $0.contains("selection_limit must be 1 to the number of options") }, "limit \(limit): \(problems)")
            #expect(problems.count == 1, "limit \(limit): \(problems)")
        }
        for seats in 1...3 {
            for limit in 1...3 {
                #expect(manifest(seats: seats, limit: limit).problems() == [], "seats \(seats), limit \(limit)")
            }
        }
    }

    @Test func otherLimits() throws {
        let m = Fixture.manifest
        let t = m.trustees
        #expect(!ElectionManifest(electionId: "e", name: "", districts: m.districts, trustees: t).problems().isEmpty)
        #expect(!ElectionManifest(electionId: "e", name: String(repeating: "n", count: 201), districts: m.districts, trustees: t)
            .problems().isEmpty)
        #expect(ElectionManifest(electionId: "e", name: String(repeating: "n", count: 200), districts: m.districts, trustees: t)
            .problems() == [])
        #expect(!ElectionManifest(electionId: "e", name: "E", districts: [], trustees: t).problems().isEmpty)
        let one = ElectionManifest(electionId: "e", name: "E", districts: [
            District(id: "d", name: "D", seats: 1, selectionLimit: 1, options: [BallotOption(id: "a", name: "A")]),
        ], trustees: t)
        #expect(one.problems().contains { $0.contains("needs 2 to 64 options") })
    }
}

// MARK: - Ballots

@Suite("Ballots")
struct BallotTests {
    /// A ballot with encrypted content: `selections` in `district` under a fresh random ballot
    /// id (fresh nonces each call). It names no voter (v2); casting adds the voter's key.
    static func ballot(_ selections: [String] = ["bob"], district: String = "d1", ballotID: BallotID? = nil) throws -> Ballot {
        try sealed(selections, district: district, ballotID: ballotID).ballot
    }

    /// The same, with the opening that a Benaloh challenge would reveal.
    static func sealed(_ selections: [String] = ["bob"], district: String = "d1", ballotID: BallotID? = nil,
                       nonces: [Scalar]? = nil) throws -> (ballot: Ballot, opening: BallotOpening) {
        let id = try ballotID ?? BallotID.random()
        let (content, opening) = try BallotContent.encrypt(selections: selections, district: Fixture.district(district),
                                                           context: try Fixture.context(ballotID: id, district: district),
                                                           nonces: nonces)
        return (Ballot(electionHash: try Fixture.electionHash(), ballotID: id, district: district, content: content), opening)
    }

    /// The canonical bytes of encrypted content (docs/protocol.md §4.4), written out by hand.
    static func contentBytes(_ c: BallotContent) -> [UInt8] {
        var out: [UInt8] = lp("elgamal-p256-v2")
        out += be32(c.ciphertexts.count)
        for ct in c.ciphertexts { out += ct.alpha.encoding + ct.beta.encoding }
        out += be32(c.proofs.count)
        for p in c.proofs {
            let points: [UInt8] = p.a0.encoding + p.b0.encoding + p.a1.encoding + p.b1.encoding
            out += points + p.c0.bytes + p.z0.bytes + p.z1.bytes
        }
        out += c.limitProof.a.encoding + c.limitProof.b.encoding + c.limitProof.z.bytes
        return out
    }

    @Test func ballotCanonicalLayoutAndRoundTrip() throws {
        let id = Fixture.ballotID("layout")
        let b = try Self.ballot(ballotID: id)
        let header = lp("evote.v2.ballot") + (try Fixture.electionHash()).bytes + id.bytes + lp("d1")
        let expected = header + Self.contentBytes(b.content)
        #expect(b.canonicalBytes == expected)
        // Three options: three 130-byte ciphertexts, three 356-byte 0/1 proofs, one 162-byte limit proof (§4.4).
        #expect(expected.count == header.count + 19 + 4 + 3 * 130 + 4 + 3 * 356 + 162)
        let back = try Ballot.decode(canonical: b.canonicalBytes)
        #expect(back == b)
        #expect(back.content.problem(in: Fixture.district("d1"), context: try Fixture.context(ballotID: back.ballotID, district: "d1")) == nil)
        let bytes = b.canonicalBytes
        for n in 0..<bytes.count {
            #expect(throws: (any Error).self, "prefix \(n)") { try Ballot.decode(canonical: Array(bytes[..<n])) }
        }
        #expect(throws: CanonicalReader.Failure.trailingBytes(1)) { try Ballot.decode(canonical: bytes + [0]) }

        // Another content type is refused, version 1's among them.
        for type in ["clear-v1", "elgamal-p256-v1", ""] {
            var w = CanonicalWriter(tag: .ballot)
            w.fixed(b.electionHash)
            w.fixed(b.ballotID)
            w.string("d1")
            w.string(type)
            w.list(["bob"]) { w, s in w.string(s) }
            #expect(throws: RecordError.self, "content type \"\(type)\"") { try Ballot.decode(canonical: w.bytes) }
        }

        // A ciphertext point that is not an uncompressed point, or is the identity, is refused (§11.2).
        let alpha0 = header.count + 19 + 4
        let x = Array(bytes[(alpha0 + 1)..<(alpha0 + 33)])
        let y = Array(bytes[(alpha0 + 33)..<(alpha0 + 65)])
        let replacements: [(String, [UInt8])] = [
            ("compressed prefix 02", [2] + x + y),
            ("compressed prefix 03", [3] + x + y),
            ("hybrid prefix 06", [6] + x + y),
            ("identity (65 zeros)", [UInt8](repeating: 0, count: 65)),
            ("y flipped (off the curve)", [4] + x + y.dropLast() + [y[31] ^ 1]),
            ("x = p", [4] + hex(P256Constants.fieldHex) + y),
        ]
        for (what, replacement) in replacements {
            var bad = bytes
            bad.replaceSubrange(alpha0..<(alpha0 + 65), with: replacement)
            #expect(throws: CryptoError.self, "\(what)") { try Ballot.decode(canonical: bad) }
        }
        // A proof scalar that is not below the group order is refused.
        for scalar in [P256Constants.orderHex, String(repeating: "ff", count: 32)] {
            var bad = bytes
            bad.replaceSubrange((bad.count - 32)..<bad.count, with: hex(scalar))
            #expect(throws: CryptoError.self, "limit proof z = \(scalar)") { try Ballot.decode(canonical: bad) }
        }
    }

    @Test func signedBallotRoundTrip() throws {
        let voter = try key(3)
        let sb = try Self.ballot().cast(with: voter)
        #expect(sb.hasValidSignature)
        #expect(sb.voterKey == voter.publicKey)
        #expect(sb.ballotBytes == sb.ballot.canonicalBytes)
        #expect(sb.canonicalBytes == lp("evote.v2.signed-ballot") + be32(sb.ballotBytes.count) + sb.ballotBytes
            + voter.publicKey.rawRepresentation + sb.signature.bytes)
        let back = try SignedBallot.decode(canonical: sb.canonicalBytes)
        #expect(back == sb)
        #expect(back.hasValidSignature)
        #expect(back.trackingCode == sb.trackingCode)
        #expect(back.ballot.content == sb.ballot.content)
        #expect(SignedBallot(ballot: sb.ballot, voterKey: sb.voterKey, signature: sb.signature) == sb)

        let bytes = sb.canonicalBytes
        for n in stride(from: 0, to: bytes.count, by: 7) {
            #expect(throws: (any Error).self, "prefix \(n)") { try SignedBallot.decode(canonical: Array(bytes[..<n])) }
        }
        #expect(throws: CanonicalReader.Failure.trailingBytes(1)) { try SignedBallot.decode(canonical: bytes + [0]) }

        // A signature by someone else, or over another ballot, is not valid.
        let statement = SignedBallot.castStatement(electionHash: sb.ballot.electionHash, voterKey: voter.publicKey,
                                                   trackingCode: sb.trackingCode)
        let forged = SignedBallot(ballot: sb.ballot, voterKey: voter.publicKey, signature: try key(4).signature(for: statement))
        #expect(!forged.hasValidSignature)
        let otherKey = SignedBallot(ballot: sb.ballot, voterKey: try key(4).publicKey, signature: sb.signature)
        #expect(!otherKey.hasValidSignature, "the signature names the voter key it was made for")
        let moved = SignedBallot(ballot: try Self.ballot(["carol"]), voterKey: sb.voterKey, signature: sb.signature)
        #expect(!moved.hasValidSignature)
        // Re-encrypting the same choice gives another ballot: the signature does not carry over.
        let reencrypted = SignedBallot(ballot: try Self.ballot(), voterKey: sb.voterKey, signature: sb.signature)
        #expect(!reencrypted.hasValidSignature)
        // v1 signed the ballot bytes; v2 signs the cast statement (eq. 2), never the ballot itself.
        let overBallot = SignedBallot(ballot: sb.ballot, voterKey: voter.publicKey, signature: try voter.signature(for: sb.ballotBytes))
        #expect(!overBallot.hasValidSignature)
    }

    @Test func trackingCodeIsDeterministic() throws {
        let voter = try key(3)
        let ballot = try Self.ballot()
        let a = try ballot.cast(with: voter)
        let b = try ballot.cast(with: voter)
        #expect(a.signature == b.signature, "Ed25519 signatures are deterministic")
        #expect(a.trackingCode == b.trackingCode)
        // v2: the tracking code is SHA-256 of the ballot bytes (eq. 3), the same for the ballot
        // before and after casting, and not of the signed envelope.
        #expect(a.trackingCode.digest == SHA256.hash(a.ballotBytes))
        #expect(a.trackingCode == ballot.trackingCode)
        #expect(a.trackingCode.digest != SHA256.hash(a.canonicalBytes))
        #expect(a.trackingCode.hex == a.trackingCode.digest.hex)
        #expect(TrackingCode(hex: a.trackingCode.hex) == a.trackingCode)
        #expect(TrackingCode(hex: "00") == nil)
        let other = try Self.ballot(["carol"]).cast(with: voter)
        #expect(other.trackingCode != a.trackingCode)
        // The ballot names no voter, so the same ballot cast with another key keeps its code;
        // the same content under another ballot id is another ballot.
        #expect(try ballot.cast(with: try key(4)).trackingCode == a.trackingCode)
        let otherID = Ballot(electionHash: ballot.electionHash, ballotID: Fixture.ballotID("other id"), district: "d1", content: ballot.content)
        #expect(otherID.trackingCode != a.trackingCode)
        // Encryption is randomized: the same choice encrypted again has another tracking code.
        let again = try Self.ballot().cast(with: voter)
        #expect(again.trackingCode != a.trackingCode)
    }

    @Test func trackingCodeShortForm() throws {
        let alphabet = Set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        // One encryption under 20 ballot ids (the short form does not depend on the proofs).
        let content = try Self.ballot().content
        for n in 1...20 {
            let b = Ballot(electionHash: try Fixture.electionHash(), ballotID: Fixture.ballotID("short \(n)"), district: "d1", content: content)
            let code = try b.cast(with: try key(UInt8(n))).trackingCode
            let short = code.short
            #expect(short.count == 19, "\(short)")
            for (i, c) in short.enumerated() {
                if i % 5 == 4 {
                    #expect(c == "-", "\(short): position \(i)")
                } else {
                    #expect(alphabet.contains(c), "\(short): '\(c)' at \(i) is not Crockford base32")
                }
            }
        }
        func code(_ prefix: String) -> TrackingCode {
            TrackingCode(digest: Digest(trusted: hex(prefix) + [UInt8](repeating: 0xee, count: 22)))
        }
        // Crockford base32 of the first 10 bytes (80 bits, 16 symbols).
        #expect(code("00000000000000000000").short == "0000-0000-0000-0000")
        #expect(code("ffffffffffffffffffff").short == "ZZZZ-ZZZZ-ZZZZ-ZZZZ")
        #expect(code("00443214c74254b635cf").short == "0123-4567-89AB-CDEF")
        #expect(code("84653a56d7c675be77df").short == "GHJK-MNPQ-RSTV-WXYZ")
    }

    @Test func wireJSONRoundTrip() throws {
        let sb = try Self.ballot(["x", "z"], district: "d2").cast(with: try key(5))
        let object = try json(sb.wire)
        #expect(Set(object.keys) == ["election_hash", "ballot_id", "voter_key", "district", "content", "signature"])
        #expect(object["election_hash"] as? String == (try Fixture.electionHash()).hex)
        #expect(object["ballot_id"] as? String == sb.ballot.ballotID.hex)
        #expect(object["voter_key"] as? String == sb.voterKey.hex)
        #expect(object["signature"] as? String == sb.signature.hex)
        #expect(object["district"] as? String == "d2")
        let content = try #require(object["content"] as? [String: Any])
        #expect(Set(content.keys) == ["ciphertexts", "proofs", "limit_proof"])
        let ciphertexts = try #require(content["ciphertexts"] as? [[String: Any]])
        #expect(ciphertexts.count == 3)
        #expect(ciphertexts.allSatisfy { Set($0.keys) == ["alpha", "beta"] })
        #expect(ciphertexts.first?["alpha"] as? String == sb.ballot.content.ciphertexts[0].alpha.hex)
        #expect((ciphertexts.first?["alpha"] as? String)?.count == 130)
        let proofs = try #require(content["proofs"] as? [[String: Any]])
        #expect(proofs.count == 3)
        #expect(proofs.allSatisfy { Set($0.keys) == ["a0", "b0", "a1", "b1", "c0", "z0", "z1"] })
        let limit = try #require(content["limit_proof"] as? [String: Any])
        #expect(Set(limit.keys) == ["a", "b", "z"])
        #expect(limit["z"] as? String == sb.ballot.content.limitProof.z.hex)
        let decoded = try JSONDecoder().decode(SignedBallotWire.self, from: try data(object))
        #expect(decoded == sb.wire)
        #expect(decoded.signedBallot == sb)
        #expect(decoded.signedBallot.trackingCode == sb.trackingCode)
        #expect(decoded.signedBallot.hasValidSignature)
        // The ballot alone (inside a challenge request) has the same fields without the voter's.
        let alone = try json(sb.ballot.wire)
        #expect(Set(alone.keys) == ["election_hash", "ballot_id", "district", "content"])
        #expect(try JSONDecoder().decode(BallotWire.self, from: try data(alone)).ballot == sb.ballot)
    }

    /// Each mutation of a valid wire object that must make decoding fail.
    static let wireMutations: [(String, @Sendable (inout [String: Any]) -> Void)] = [
        ("unknown top-level field", { $0["extra"] = 1 }),
        ("unknown content field", { o in
            var c = o["content"] as? [String: Any] ?? [:]
            c["weight"] = 2
            o["content"] = c
        }),
        ("clear selections instead of content", { $0["content"] = ["type": "clear-v1", "selections": ["x", "z"]] }),
        ("missing signature", { $0["signature"] = nil }),
        ("missing content", { $0["content"] = nil }),
        ("uppercase election hash", { $0["election_hash"] = ($0["election_hash"] as? String)?.uppercased() }),
        ("non-hex election hash", { $0["election_hash"] = String(repeating: "zz", count: 32) }),
        ("31-byte election hash", { $0["election_hash"] = String(repeating: "ab", count: 31) }),
        ("odd-length election hash", { $0["election_hash"] = String(repeating: "a", count: 63) }),
        ("31-byte voter key", { $0["voter_key"] = String(repeating: "ab", count: 31) }),
        ("33-byte voter key", { $0["voter_key"] = String(repeating: "ab", count: 33) }),
        ("non-hex voter key", { $0["voter_key"] = String(repeating: "g0", count: 32) }),
        ("uppercase voter key", { $0["voter_key"] = ($0["voter_key"] as? String)?.uppercased() }),
        ("63-byte signature", { $0["signature"] = String(repeating: "ab", count: 63) }),
        ("65-byte signature", { $0["signature"] = String(repeating: "ab", count: 65) }),
        ("non-hex signature", { $0["signature"] = String(repeating: "x", count: 128) }),
        ("signature as number", { $0["signature"] = 5 }),
        ("missing ballot id", { $0["ballot_id"] = nil }),
        ("31-byte ballot id", { $0["ballot_id"] = String(repeating: "ab", count: 31) }),
        ("33-byte ballot id", { $0["ballot_id"] = String(repeating: "ab", count: 33) }),
        ("uppercase ballot id", { $0["ballot_id"] = ($0["ballot_id"] as? String)?.uppercased() }),
        ("missing voter key", { $0["voter_key"] = nil }),
    ]

    @Test func wireJSONRejects() throws {
        let sb = try Self.ballot(["x", "z"], district: "d2", ballotID: Fixture.ballotID("mutations")).cast(with: try key(5))
        let valid = try json(sb.wire)
        #expect(throws: Never.self) { try JSONDecoder().decode(SignedBallotWire.self, from: try data(valid)) }
        for (what, mutate) in Self.wireMutations {
            var object = valid
            mutate(&object)
            let body = try data(object)
            #expect(throws: DecodingError.self, "\(what) must be rejected") {
                try JSONDecoder().decode(SignedBallotWire.self, from: body)
            }
        }
    }

    /// The voter's choice is checked before it is encrypted (`Selections.problem`).
    @Test func selectionProblems() throws {
        let d1 = Fixture.manifest.districts[0]  // limit 1: alice, bob, carol
        let d2 = Fixture.manifest.districts[1]  // limit 2: x, y, z
        #expect(Selections.problem(["bob"], in: d1) == nil)
        #expect(Selections.problem(["z", "x"], in: d2) == nil)
        #expect(Selections.problem([], in: d1) == .wrongSelectionCount(expected: 1, got: 0))
        #expect(Selections.problem(["alice", "bob"], in: d1) == .wrongSelectionCount(expected: 1, got: 2))
        #expect(Selections.problem(["x"], in: d2) == .wrongSelectionCount(expected: 2, got: 1))
        #expect(Selections.problem(["x", "y", "z"], in: d2) == .wrongSelectionCount(expected: 2, got: 3))
        #expect(Selections.problem(["dave"], in: d1) == .unknownOption("dave"))
        #expect(Selections.problem(["x"], in: d1) == .unknownOption("x"), "an option of another district")
        #expect(Selections.problem(["Bob"], in: d1) == .unknownOption("Bob"))
        #expect(Selections.problem(["y", "y"], in: d2) == .duplicateOption("y"))
        #expect(Selections.problem(["y", "w"], in: d2) == .unknownOption("w"))
        #expect(Selections.problem(["w", "w"], in: d2) == .unknownOption("w"), "an unknown option is reported before the duplicate")
        let all: [BallotProblem] = [.wrongSelectionCount(expected: 1, got: 2), .unknownOption("q"), .duplicateOption("y"),
                                    .wrongOptionCount(expected: 3, got: 2), .wrongProofCount(expected: 3, got: 2),
                                    .badRangeProof(option: "bob"), .badLimitProof(limit: 1)]
        for p in all {
            #expect(!p.description.isEmpty)
        }
        #expect(Set(all.map(\.description)).count == all.count)
    }
}

// MARK: - Records and log entries

@Suite("Log records")
struct RecordTests {
    static func entry(_ kind: LogEntryKind, payload: [UInt8], index: UInt64 = 7) throws -> LogEntry {
        LogEntry(index: index, electionHash: try Fixture.electionHash(), timestamp: 1_800_000_000_123,
                 kind: kind, payload: payload)
    }

    @Test func logEntryLayoutAndRoundTrip() throws {
        let e = try Self.entry(.ballot, payload: [1, 2, 3])
        let expected = lp("evote.v2.log-entry") + be64(7) + (try Fixture.electionHash()).bytes
            + be64(1_800_000_000_123) + lp("ballot") + be32(3) + [1, 2, 3]
        #expect(e.canonicalBytes == expected)
        #expect(e.leafHash == SHA256.hash([0x00] + expected))
        #expect(e.leafHash == Merkle.leafHash(expected))
        for kind in LogEntryKind.allCases {
            let k = try Self.entry(kind, payload: Array(kind.rawValue.utf8))
            #expect(try LogEntry.decode(canonical: k.canonicalBytes) == k)
        }
        let bytes = e.canonicalBytes
        for n in 0..<bytes.count {
            #expect(throws: (any Error).self, "prefix \(n)") { try LogEntry.decode(canonical: Array(bytes[..<n])) }
        }
        #expect(throws: CanonicalReader.Failure.trailingBytes(1)) { try LogEntry.decode(canonical: bytes + [9]) }

        var w = CanonicalWriter(tag: .logEntry)
        w.u64(7)
        w.fixed(try Fixture.electionHash())
        w.u64(1)
        w.string("vote")
        w.bytes([])
        #expect(throws: RecordError.unknownValue("log entry kind \"vote\"")) { try LogEntry.decode(canonical: w.bytes) }
    }

    @Test func otherRecordsRoundTrip() throws {
        let setup = try Fixture.setup()
        #expect(try ElectionSetup.decode(canonical: setup.canonicalBytes) == setup)

        // v2: a roll import is the registrar's signed list of code commitments, not a count.
        let hash = try Fixture.electionHash()
        let commission = try key(2)
        let commitments = (0..<3).map { i in
            CodeCommitment(salt: Salt(trusted: [UInt8](repeating: UInt8(i), count: 16)), value: SHA256.hash([UInt8(i)]))
        }
        let roll = RollImport(districts: [.init(district: "d1", commitments: commitments), .init(district: "d2", commitments: [])])
        let rollPayload = try roll.payload(electionHash: hash, commissionKey: commission)
        let (rollBack, rollHash, rollSigned) = try RollImport.decode(payload: rollPayload, commissionKey: commission.publicKey)
        #expect(rollBack == roll && rollHash == hash && rollSigned)
        #expect(rollBack.counts.map(\.voters) == [3, 0])

        let enrollment = Enrollment(voterKey: try key(3).publicKey, district: "d2", commitment: commitments[0].value,
                                    code: "0123456789ABCDEF", signature: Ed25519Signature(trusted: [UInt8](repeating: 7, count: 64)))
        #expect(try Enrollment.decode(canonical: enrollment.canonicalBytes) == enrollment)

        let open = try WindowChange.sign(electionHash: hash, action: .open, issuedAt: 42, commissionKey: commission)
        #expect(open.isValid(electionHash: hash, commissionKey: commission.publicKey))
        #expect(!open.isValid(electionHash: hash, commissionKey: try key(1).publicKey))
        #expect(!open.isValid(electionHash: SHA256.hash([UInt8]()), commissionKey: commission.publicKey))
        #expect(!WindowChange(action: .close, issuedAt: 42, signature: open.signature)
            .isValid(electionHash: hash, commissionKey: commission.publicKey))
        #expect(try WindowChange.decode(canonical: open.canonicalBytes) == open)

        // Different object types never share an encoding (domain tags).
        #expect(throws: CanonicalReader.Failure.self) { try Enrollment.decode(canonical: rollPayload) }
        #expect(throws: CanonicalReader.Failure.self) { try Enrollment.decode(canonical: setup.canonicalBytes) }
    }

    @Test func checkpointAndReceiptJSON() throws {
        let server = try key(1)
        let cp = try Checkpoint(electionHash: try Fixture.electionHash(), treeSize: 5,
                                rootHash: SHA256.hash(Array("root".utf8)), timestamp: 99).signed(with: server)
        #expect(cp.isValid(serverKey: server.publicKey))
        #expect(!cp.isValid(serverKey: try key(2).publicKey))
        let cpJSON = try json(cp)
        #expect(Set(cpJSON.keys) == ["election_hash", "tree_size", "root_hash", "timestamp", "signature"])
        #expect(try JSONDecoder().decode(SignedCheckpoint.self, from: try data(cpJSON)) == cp)
        var extra = cpJSON
        extra["note"] = "x"
        let extraBody = try data(extra)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SignedCheckpoint.self, from: extraBody) }

        let receipt = try Receipt.issue(kind: .ballot, electionHash: try Fixture.electionHash(),
                                        subject: SHA256.hash(Array("subject".utf8)), logIndex: 3,
                                        leafHash: SHA256.hash(Array("leaf".utf8)), checkpoint: cp, serverKey: server)
        #expect(server.publicKey.isValidSignature(receipt.signature, for: receipt.signedBytes))
        let receiptJSON = try json(receipt)
        #expect(Set(receiptJSON.keys) == ["kind", "election_hash", "subject", "log_index", "leaf_hash", "checkpoint", "signature"])
        #expect(try JSONDecoder().decode(Receipt.self, from: try data(receiptJSON)) == receipt)
        var extraReceipt = receiptJSON
        extraReceipt["server"] = "x"
        let extraReceiptBody = try data(extraReceipt)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Receipt.self, from: extraReceiptBody) }
    }
}

// MARK: - Receipt verification

@Suite("Receipt verifier")
struct ReceiptVerifierTests {
    static let allChecks = ["receipt-signature", "checkpoint-signature", "election", "leaf-hash", "inclusion", "entry-content"]

    /// A five-entry log: setup, enrollment, ballot, window change, another enrollment.
    struct Log {
        let server: Ed25519PrivateKey
        let voter: Ed25519PrivateKey
        let hash: Digest
        let ballot: SignedBallot
        let entries: [LogEntry]
        let tree: InMemoryMerkleTree
        let checkpoint: SignedCheckpoint

        init() throws {
            server = try key(1)
            let commission = try key(2)
            voter = try key(3)
            hash = try Fixture.electionHash()
            ballot = try BallotTests.ballot(["carol"]).cast(with: voter)
            let setup = try Fixture.setup()
            let window = try WindowChange.sign(electionHash: hash, action: .close, issuedAt: 1_800_000_100_000, commissionKey: commission)
            let payloads: [(LogEntryKind, [UInt8])] = [
                (.election, setup.canonicalBytes),
                (.enrollment, try TestElections.enrollment(voter, district: "d1", electionHash: hash).0.canonicalBytes),
                (.ballot, ballot.canonicalBytes),
                (.window, window.canonicalBytes),
                (.enrollment, try TestElections.enrollment(try key(4), district: "d2", electionHash: hash, code: "ZZZZ-ZZZZ-ZZZZ-ZZZZ").0.canonicalBytes),
            ]
            var entries: [LogEntry] = []
            var tree = InMemoryMerkleTree()
            for (i, (kind, payload)) in payloads.enumerated() {
                let e = LogEntry(index: UInt64(i), electionHash: hash, timestamp: 1_800_000_000_000 + UInt64(i), kind: kind, payload: payload)
                entries.append(e)
                tree.append(leafHash: e.leafHash)
            }
            self.entries = entries
            self.tree = tree
            checkpoint = try Checkpoint(electionHash: hash, treeSize: tree.size, rootHash: tree.root,
                                        timestamp: 1_800_000_200_000).signed(with: server)
        }

        var verifier: ReceiptVerifier { ReceiptVerifier(serverKey: server.publicKey, electionHash: hash) }

        func proof(_ index: UInt64) throws -> [Digest] { try Merkle.inclusionProof(index: index, size: tree.size, in: tree) }

        func ballotReceipt(kind: Receipt.Kind = .ballot, electionHash: Digest? = nil, subject: Digest? = nil,
                           logIndex: UInt64 = 2, leafHash: Digest? = nil, checkpoint: SignedCheckpoint? = nil) throws -> Receipt {
            try Receipt.issue(kind: kind, electionHash: electionHash ?? hash, subject: subject ?? ballot.trackingCode.digest,
                              logIndex: logIndex, leafHash: leafHash ?? entries[Int(logIndex)].leafHash,
                              checkpoint: checkpoint ?? self.checkpoint, serverKey: server)
        }
    }

    @Test func honestBallotReceiptPasses() throws {
        let log = try Log()
        let receipt = try log.ballotReceipt()
        let results = log.verifier.verify(receipt: receipt, entryBytes: log.entries[2].canonicalBytes,
                                          inclusionProof: try log.proof(2))
        #expect(results.map(\.name) == Self.allChecks)
        #expect(failedChecks(results) == [], "\(results)")
        let withPayload = log.verifier.verify(receipt: receipt, entryBytes: log.entries[2].canonicalBytes,
                                              inclusionProof: try log.proof(2), expectedPayload: log.ballot.canonicalBytes)
        #expect(failedChecks(withPayload) == [], "\(withPayload)")
    }

    @Test func honestEnrollmentReceiptPasses() throws {
        let log = try Log()
        let receipt = try log.ballotReceipt(kind: .enrollment, subject: Digest(trusted: log.voter.publicKey.rawRepresentation), logIndex: 1)
        let results = log.verifier.verify(receipt: receipt, entryBytes: log.entries[1].canonicalBytes,
                                          inclusionProof: try log.proof(1), expectedPayload: log.entries[1].payload)
        #expect(failedChecks(results) == [], "\(results)")

        let otherKey = try log.ballotReceipt(kind: .enrollment, subject: Digest(trusted: try key(9).publicKey.rawRepresentation), logIndex: 1)
        let bad = log.verifier.verify(receipt: otherKey, entryBytes: log.entries[1].canonicalBytes, inclusionProof: try log.proof(1))
        #expect(failedChecks(bad) == ["entry-content"], "\(bad)")
    }

    @Test func wrongServerKey() throws {
        let log = try Log()
        let verifier = ReceiptVerifier(serverKey: try key(8).publicKey, electionHash: log.hash)
        let results = verifier.verify(receipt: try log.ballotReceipt(), entryBytes: log.entries[2].canonicalBytes,
                                      inclusionProof: try log.proof(2))
        #expect(failedChecks(results) == ["receipt-signature", "checkpoint-signature"], "\(results)")

        // A receipt signed by another key (the checkpoint still genuine).
        let r = try log.ballotReceipt()
        let foreign = Receipt(kind: r.kind, electionHash: r.electionHash, subject: r.subject, logIndex: r.logIndex,
                              leafHash: r.leafHash, checkpoint: r.checkpoint, signature: try key(8).signature(for: r.signedBytes))
        let results2 = log.verifier.verify(receipt: foreign, entryBytes: log.entries[2].canonicalBytes, inclusionProof: try log.proof(2))
        #expect(failedChecks(results2) == ["receipt-signature"], "\(results2)")
    }

    @Test func alteredReceiptIndex() throws {
        let log = try Log()
        let r = try log.ballotReceipt()
        // Index edited after signing.
        let edited = Receipt(kind: r.kind, electionHash: r.electionHash, subject: r.subject, logIndex: 1,
                             leafHash: r.leafHash, checkpoint: r.checkpoint, signature: r.signature)
        let results = log.verifier.verify(receipt: edited, entryBytes: log.entries[2].canonicalBytes, inclusionProof: try log.proof(2))
        #expect(failedChecks(results) == ["receipt-signature", "inclusion", "entry-content"], "\(results)")

        // A server that signs a receipt with the wrong index: the signature is fine, the log disagrees.
        let resigned = try log.ballotReceipt(logIndex: 1, leafHash: log.entries[2].leafHash)
        let results2 = log.verifier.verify(receipt: resigned, entryBytes: log.entries[2].canonicalBytes, inclusionProof: try log.proof(2))
        #expect(failedChecks(results2) == ["inclusion", "entry-content"], "\(results2)")

        // Index beyond the checkpoint.
        let beyond = try log.ballotReceipt(logIndex: 2, leafHash: log.entries[2].leafHash)
        let tooFar = Receipt(kind: beyond.kind, electionHash: beyond.electionHash, subject: beyond.subject, logIndex: 5,
                             leafHash: beyond.leafHash, checkpoint: beyond.checkpoint, signature: beyond.signature)
        let results3 = log.verifier.verify(receipt: tooFar, entryBytes: log.entries[2].canonicalBytes, inclusionProof: try log.proof(2))
        #expect(failedChecks(results3) == ["receipt-signature", "inclusion", "entry-content"], "\(results3)")
    }

    @Test func alteredEntryBytes() throws {
        let log = try Log()
        let receipt = try log.ballotReceipt()
        let e = log.entries[2]
        // Same ballot, another timestamp: only the leaf hash gives it away.
        let retimed = LogEntry(index: e.index, electionHash: e.electionHash, timestamp: e.timestamp + 1, kind: e.kind, payload: e.payload)
        let r1 = log.verifier.verify(receipt: receipt, entryBytes: retimed.canonicalBytes, inclusionProof: try log.proof(2))
        #expect(failedChecks(r1) == ["leaf-hash"], "\(r1)")

        // A flipped byte inside the ballot's signature: leaf hash and content both fail.
        var flipped = e.canonicalBytes
        flipped[flipped.count - 1] ^= 0x01
        let r2 = log.verifier.verify(receipt: receipt, entryBytes: flipped, inclusionProof: try log.proof(2))
        #expect(failedChecks(r2) == ["leaf-hash", "entry-content"], "\(r2)")

        // Another entry's bytes.
        let r3 = log.verifier.verify(receipt: receipt, entryBytes: log.entries[3].canonicalBytes, inclusionProof: try log.proof(2))
        #expect(failedChecks(r3) == ["leaf-hash", "entry-content"], "\(r3)")

        // Garbage.
        let r4 = log.verifier.verify(receipt: receipt, entryBytes: [1, 2, 3], inclusionProof: try log.proof(2))
        #expect(failedChecks(r4) == ["leaf-hash", "entry-content"], "\(r4)")
    }

    @Test func wrongProof() throws {
        let log = try Log()
        let receipt = try log.ballotReceipt()
        let bytes = log.entries[2].canonicalBytes
        var proofs: [(String, [Digest])] = [
            ("proof of another index", try log.proof(3)),
            ("empty proof", []),
            ("shortened proof", Array(try log.proof(2).dropLast())),
            ("lengthened proof", try log.proof(2) + [log.tree.root]),
        ]
        let good = try log.proof(2)
        for i in good.indices {
            var bad = good
            var b = bad[i].bytes
            b[0] ^= 0x80
            bad[i] = Digest(trusted: b)
            proofs.append(("flipped element \(i)", bad))
        }
        for (what, proof) in proofs {
            let results = log.verifier.verify(receipt: receipt, entryBytes: bytes, inclusionProof: proof)
            #expect(failedChecks(results) == ["inclusion"], "\(what): \(results)")
        }
    }

    @Test func anotherElection() throws {
        let log = try Log()
        let receipt = try log.ballotReceipt()
        let setup = try Fixture.setup()
        let otherHash = ElectionSetup(manifest: Fixture.manifest, serverKey: setup.serverKey, commissionKey: setup.commissionKey,
                                      nonce: .zero).electionHash
        let verifier = ReceiptVerifier(serverKey: log.server.publicKey, electionHash: otherHash)
        let r1 = verifier.verify(receipt: receipt, entryBytes: log.entries[2].canonicalBytes, inclusionProof: try log.proof(2))
        #expect(failedChecks(r1) == ["election", "entry-content"], "\(r1)")

        // A properly signed receipt that names another election.
        let misnamed = try log.ballotReceipt(electionHash: otherHash)
        let r2 = log.verifier.verify(receipt: misnamed, entryBytes: log.entries[2].canonicalBytes, inclusionProof: try log.proof(2))
        #expect(failedChecks(r2) == ["election"], "\(r2)")

        // A properly signed checkpoint that names another election.
        let cp = try Checkpoint(electionHash: otherHash, treeSize: log.tree.size, rootHash: log.tree.root, timestamp: 1).signed(with: log.server)
        let r3 = log.verifier.verify(receipt: try log.ballotReceipt(checkpoint: cp), entryBytes: log.entries[2].canonicalBytes,
                                     inclusionProof: try log.proof(2))
        #expect(failedChecks(r3) == ["election"], "\(r3)")
    }

    @Test func expectedPayloadDiffers() throws {
        let log = try Log()
        let receipt = try log.ballotReceipt()
        let other = try BallotTests.ballot(["alice"]).cast(with: log.voter)
        let results = log.verifier.verify(receipt: receipt, entryBytes: log.entries[2].canonicalBytes,
                                          inclusionProof: try log.proof(2), expectedPayload: other.canonicalBytes)
        #expect(failedChecks(results) == ["entry-content"], "\(results)")
        let detail = try #require(results.first { $0.name == "entry-content" }?.detail)
        #expect(detail.contains("differs from what was submitted"), "\(detail)")
    }

    @Test func subjectOrKindMismatch() throws {
        let log = try Log()
        let other = try BallotTests.ballot(["alice"]).cast(with: log.voter)
        let wrongSubject = try log.ballotReceipt(subject: other.trackingCode.digest)
        let r1 = log.verifier.verify(receipt: wrongSubject, entryBytes: log.entries[2].canonicalBytes, inclusionProof: try log.proof(2))
        #expect(failedChecks(r1) == ["entry-content"], "\(r1)")

        let wrongKind = try log.ballotReceipt(kind: .enrollment)
        let r2 = log.verifier.verify(receipt: wrongKind, entryBytes: log.entries[2].canonicalBytes, inclusionProof: try log.proof(2))
        #expect(failedChecks(r2) == ["entry-content"], "\(r2)")

        // A ballot receipt pointing at the window-change entry.
        let window = try log.ballotReceipt(logIndex: 3)
        let r3 = log.verifier.verify(receipt: window, entryBytes: log.entries[3].canonicalBytes, inclusionProof: try log.proof(3))
        #expect(failedChecks(r3) == ["entry-content"], "\(r3)")
    }

    @Test func tamperedCheckpoint() throws {
        let log = try Log()
        let r = try log.ballotReceipt()
        let c = r.checkpoint.checkpoint
        let shrunk = SignedCheckpoint(
            checkpoint: Checkpoint(electionHash: c.electionHash, treeSize: 4, rootHash: c.rootHash, timestamp: c.timestamp),
            signature: r.checkpoint.signature)
        let edited = Receipt(kind: r.kind, electionHash: r.electionHash, subject: r.subject, logIndex: r.logIndex,
                             leafHash: r.leafHash, checkpoint: shrunk, signature: r.signature)
        let results = log.verifier.verify(receipt: edited, entryBytes: log.entries[2].canonicalBytes, inclusionProof: try log.proof(2))
        #expect(failedChecks(results) == ["receipt-signature", "checkpoint-signature", "inclusion"], "\(results)")

        let otherRoot = SignedCheckpoint(
            checkpoint: Checkpoint(electionHash: c.electionHash, treeSize: c.treeSize, rootHash: Merkle.emptyRoot, timestamp: c.timestamp),
            signature: r.checkpoint.signature)
        let edited2 = Receipt(kind: r.kind, electionHash: r.electionHash, subject: r.subject, logIndex: r.logIndex,
                              leafHash: r.leafHash, checkpoint: otherRoot, signature: r.signature)
        let results2 = log.verifier.verify(receipt: edited2, entryBytes: log.entries[2].canonicalBytes, inclusionProof: try log.proof(2))
        #expect(failedChecks(results2) == ["receipt-signature", "checkpoint-signature", "inclusion"], "\(results2)")
    }

    @Test func everyEntryVerifiesAgainstTheCheckpoint() throws {
        let log = try Log()
        for (i, e) in log.entries.enumerated() {
            let proof = try log.proof(UInt64(i))
            #expect(throws: Never.self, "entry \(i)") {
                try Merkle.verifyInclusion(leafHash: e.leafHash.bytes, index: UInt64(i), treeSize: log.checkpoint.checkpoint.treeSize,
                                           proof: proof.map(\.bytes), root: log.checkpoint.checkpoint.rootHash.bytes)
            }
        }
    }
}
