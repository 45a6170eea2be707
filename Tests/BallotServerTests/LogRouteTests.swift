import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

@Suite("Log routes")
struct LogRouteTests {
    /// What the fixture logs before voting (13 entries): setup, roll, the three trustees'
    /// registrations, their dealings, their verifications and the election key (logged in
    /// the batch of the last verification), the open order.
    static func expectSetup(_ kinds: [LogEntryKind], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(kinds == [.election, .roll, .trustee, .trustee, .trustee, .dealing, .dealing, .dealing,
                          .verification, .verification, .verification, .electionKey, .window], sourceLocation: sourceLocation)
    }

    /// Every change is a batch of its own, except the election key, which is logged with a
    /// verification: the size just before the key has no signed checkpoint.
    static func unsignedSizes(_ kinds: [LogEntryKind]) -> Set<UInt64> {
        Set(kinds.indices.filter { kinds[$0] == .electionKey }.map { UInt64($0) })
    }

    /// A small log: the setup above, three enrollments, two ballots (18 entries; every size
    /// from 1 to 18 but the one before the election key has a signed checkpoint).
    struct SmallLog {
        let election: TestElection
        let keys: [Ed25519PrivateKey]
        let casts: [CastResponse]
        let setup: [LogEntryKind]
        var size: UInt64 { UInt64(setup.count + 5) }
        var unsigned: Set<UInt64> { LogRouteTests.unsignedSizes(setup) }
    }

    static func smallLog(_ e: TestElection, _ client: some TestClientProtocol) async throws -> SmallLog {
        let setup = try await e.logKinds()
        expectSetup(setup)
        var keys: [Ed25519PrivateKey] = []
        for voter in 0..<3 { keys.append(try await e.enrolledKey(client, voter: voter)) }
        var casts: [CastResponse] = []
        for voter in 0..<2 {
            let response = try await e.cast(client, try e.ballot(keys[voter], voter: voter, option: voter + 1))
            #expect(response.status == .created)
            casts.append(try response.decode(CastResponse.self))
        }
        return SmallLog(election: e, keys: keys, casts: casts, setup: setup)
    }

    static func allEntries(_ client: some TestClientProtocol, limit: Int = 2) async throws -> [LogEntryBody] {
        var entries: [LogEntryBody] = []
        var start: UInt64? = 0
        var pages = 0
        while let s = start {
            let response = try await client.get("/v1/log/entries?start=\(s)&limit=\(limit)")
            #expect(response.status == .ok, "\(response.text)")
            let page = try response.decode(LogEntriesPage.self)
            #expect(page.entries.count <= limit)
            #expect(page.next == nil || page.entries.count == limit)
            entries += page.entries
            start = page.next
            pages += 1
            if pages > 1000 { throw TestFailure("paging does not end") }
        }
        return entries
    }

    /// The root of every prefix of the log: roots[n] is the root of the first n entries.
    static func prefixRoots(_ entries: [LogEntryBody]) -> [Digest] {
        var tree = InMemoryMerkleTree()
        var roots = [tree.root]
        for entry in entries {
            tree.append(leafHash: Merkle.leafHash(entry.data.bytes))
            roots.append(tree.root)
        }
        return roots
    }

    static func latest(_ client: some TestClientProtocol) async throws -> SignedCheckpoint {
        let response = try await client.get("/v1/log/checkpoint")
        #expect(response.status == .ok)
        return try response.decode(SignedCheckpoint.self)
    }

    @Test func checkpointIsSignedByTheServerKey() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let log = try await Self.smallLog(e, client)
            let checkpoint = try await Self.latest(client)
            #expect(checkpoint.isValid(serverKey: e.store.setup.serverKey))
            #expect(!checkpoint.isValid(serverKey: e.store.setup.commissionKey))
            #expect(checkpoint.checkpoint.treeSize == log.size)
            #expect(checkpoint.checkpoint.electionHash == e.store.electionHash)
            #expect(checkpoint.checkpoint.timestamp == testClock.now())
            // The key the server signs with is the one anchored in log entry 0.
            let entry0 = try await client.get("/v1/log/entries?start=0&limit=1").decode(LogEntriesPage.self).entries[0]
            let payload = try LogEntry.decode(canonical: entry0.data.bytes).payload
            let setup = try ElectionSetup.decode(canonical: payload)
            #expect(setup.serverKey == e.store.setup.serverKey)
            // eq. 1: the election hash is the hash of entry 0's payload (manifest, keys, nonce).
            #expect(setup.electionHash == e.store.electionHash)
            #expect(SHA256.hash(payload) == e.store.electionHash)
            #expect(setup.manifest.manifestHash != e.store.electionHash)
        }
    }

    @Test func entriesPageThroughTheWholeLogAndRebuildTheRoot() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let log = try await Self.smallLog(e, client)
            let checkpoint = try await Self.latest(client)
            let entries = try await Self.allEntries(client, limit: 2)
            #expect(entries.map(\.index) == Array(0..<log.size))
            #expect(entries.map(\.kind) == log.setup + [.enrollment, .enrollment, .enrollment, .ballot, .ballot])
            var tree = InMemoryMerkleTree()
            for entry in entries {
                let decoded = try LogEntry.decode(canonical: entry.data.bytes)
                #expect(decoded.index == entry.index)
                #expect(decoded.kind == entry.kind)
                #expect(decoded.electionHash == e.store.electionHash)
                tree.append(leafHash: Merkle.leafHash(entry.data.bytes))
            }
            #expect(tree.size == checkpoint.checkpoint.treeSize)
            #expect(tree.root == checkpoint.checkpoint.rootHash)
            // The ballots in the log are the ones cast, at the indices their receipts name.
            for cast in log.casts {
                let entry = entries[Int(cast.logged.receipt.logIndex)]
                #expect(entry.data == cast.logged.entry)
                let ballot = try SignedBallot.decode(canonical: try LogEntry.decode(canonical: entry.data.bytes).payload)
                #expect(ballot.trackingCode == cast.trackingCode)
            }
            // Other page sizes give the same entries.
            #expect(try await Self.allEntries(client, limit: 3) == entries)
            #expect(try await Self.allEntries(client, limit: 1000) == entries)
            let single = try await client.get("/v1/log/entries").decode(LogEntriesPage.self)
            #expect(single.entries == entries)
            #expect(single.next == nil)
            let past = try await client.get("/v1/log/entries?start=100&limit=5").decode(LogEntriesPage.self)
            #expect(past.entries.isEmpty)
            #expect(past.next == nil)
        }
    }

    @Test func entriesLimitOutOfRangeIsMalformed() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            for limit in ["0", "1001", "5000"] {
                expectError(try await client.get("/v1/log/entries?limit=\(limit)"), .badRequest, "malformed")
            }
            #expect(try await client.get("/v1/log/entries?limit=1000").status == .ok)
            #expect(try await client.get("/v1/log/entries?limit=1").status == .ok)
        }
    }

    /// Inclusion proofs for every index in every tree size verify against that size's root:
    /// the signed checkpoint's where there is one (all sizes but the one inside the batch of
    /// the election key, which is 404), and the root rebuilt from the entries everywhere.
    @Test func inclusionProofsVerifyForEveryIndexAndSize() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let log = try await Self.smallLog(e, client)
            let entries = try await Self.allEntries(client)
            let latest = try await Self.latest(client)
            let leaves = entries.map { Merkle.leafHash($0.data.bytes) }
            let roots = Self.prefixRoots(entries)
            var unsigned: Set<UInt64> = []
            for size in 1...latest.checkpoint.treeSize {
                let response = try await client.get("/v1/log/checkpoints/\(size)")
                if response.status == .notFound {
                    unsigned.insert(size)
                    expectError(response, .notFound, "not-found")
                } else {
                    #expect(response.status == .ok, "checkpoint \(size): \(response.text)")
                    let checkpoint = try response.decode(SignedCheckpoint.self)
                    #expect(checkpoint.checkpoint.treeSize == size)
                    #expect(checkpoint.isValid(serverKey: e.store.setup.serverKey))
                    #expect(checkpoint.checkpoint.rootHash == roots[Int(size)], "root at \(size)")
                }
                let root = roots[Int(size)]
                for index in 0..<size {
                    let r = try await client.get("/v1/log/inclusion?index=\(index)&tree_size=\(size)")
                    #expect(r.status == .ok, "inclusion \(index) in \(size): \(r.text)")
                    let body = try r.decode(InclusionProofBody.self)
                    #expect(body.index == index)
                    #expect(body.treeSize == size)
                    #expect(throws: Never.self, "inclusion \(index) in \(size)") {
                        try Merkle.verifyInclusion(leafHash: leaves[Int(index)].bytes, index: index, treeSize: size,
                                                   proof: body.proof.map(\.bytes), root: root.bytes)
                    }
                    // The proof does not prove another leaf.
                    let other = leaves[Int((index + 1) % UInt64(leaves.count))]
                    if other != leaves[Int(index)] {
                        #expect(throws: ProofError.self) {
                            try Merkle.verifyInclusion(leafHash: other.bytes, index: index, treeSize: size,
                                                       proof: body.proof.map(\.bytes), root: root.bytes)
                        }
                    }
                }
            }
            #expect(unsigned == log.unsigned)
            #expect(unsigned.count == 1)
        }
    }

    @Test func consistencyProofsVerifyFromEveryEarlierSize() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let log = try await Self.smallLog(e, client)
            let latest = try await Self.latest(client)
            let n = latest.checkpoint.treeSize
            let roots = Self.prefixRoots(try await Self.allEntries(client, limit: 100))
            #expect(roots[Int(n)] == latest.checkpoint.rootHash)
            for first in 1...n {
                if !log.unsigned.contains(first) {
                    let earlier = try await client.get("/v1/log/checkpoints/\(first)").decode(SignedCheckpoint.self)
                    #expect(earlier.isValid(serverKey: e.store.setup.serverKey))
                    #expect(earlier.checkpoint.rootHash == roots[Int(first)])
                }
                let r = try await client.get("/v1/log/consistency?first=\(first)&second=\(n)")
                #expect(r.status == .ok, "consistency \(first)..\(n): \(r.text)")
                let body = try r.decode(ConsistencyProofBody.self)
                #expect(body.first == first)
                #expect(body.second == n)
                #expect(throws: Never.self, "consistency \(first)..\(n)") {
                    try Merkle.verifyConsistency(size1: first, size2: n, root1: roots[Int(first)].bytes,
                                                 root2: latest.checkpoint.rootHash.bytes, proof: body.proof.map(\.bytes))
                }
            }
            // Between two earlier checkpoints as well.
            let c3 = try await client.get("/v1/log/checkpoints/3").decode(SignedCheckpoint.self)
            let c6 = try await client.get("/v1/log/checkpoints/6").decode(SignedCheckpoint.self)
            let p = try await client.get("/v1/log/consistency?first=3&second=6").decode(ConsistencyProofBody.self)
            #expect(throws: Never.self) {
                try Merkle.verifyConsistency(size1: 3, size2: 6, root1: c3.checkpoint.rootHash.bytes,
                                             root2: c6.checkpoint.rootHash.bytes, proof: p.proof.map(\.bytes))
            }
        }
    }

    @Test func proofRangeErrors() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let n = try await Self.smallLog(e, client).size
            expectError(try await client.get("/v1/log/inclusion?index=0&tree_size=\(n + 1)"), .badRequest, "beyond-log")
            expectError(try await client.get("/v1/log/inclusion?index=0&tree_size=9223372036854775807"), .badRequest, "beyond-log")
            expectError(try await client.get("/v1/log/inclusion?index=\(n)&tree_size=\(n)"), .badRequest, "index-out-of-range")
            expectError(try await client.get("/v1/log/inclusion?index=3&tree_size=3"), .badRequest, "index-out-of-range")
            expectError(try await client.get("/v1/log/inclusion?index=0&tree_size=0"), .badRequest, "index-out-of-range")
            expectError(try await client.get("/v1/log/consistency?first=0&second=\(n)"), .badRequest, "invalid-range")
            expectError(try await client.get("/v1/log/consistency?first=0&second=0"), .badRequest, "invalid-range")
            expectError(try await client.get("/v1/log/consistency?first=5&second=4"), .badRequest, "invalid-range")
            expectError(try await client.get("/v1/log/consistency?first=1&second=\(n + 1)"), .badRequest, "beyond-log")
            // A proof between equal sizes is empty.
            let same = try await client.get("/v1/log/consistency?first=\(n)&second=\(n)").decode(ConsistencyProofBody.self)
            #expect(same.proof.isEmpty)
        }
    }

    @Test func checkpointsAtSignedAndUnsignedSizes() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let log = try await Self.smallLog(e, client)
            let n = log.size
            let c7 = try await client.get("/v1/log/checkpoints/7")
            #expect(c7.status == .ok)
            let checkpoint = try c7.decode(SignedCheckpoint.self)
            #expect(checkpoint.checkpoint.treeSize == 7)
            #expect(checkpoint.isValid(serverKey: e.store.setup.serverKey))
            let latest = try await Self.latest(client)
            let atLatest = try await client.get("/v1/log/checkpoints/\(latest.checkpoint.treeSize)").decode(SignedCheckpoint.self)
            #expect(atLatest == latest)
            // Inside the batch of the election key (a verification, then the key): unsigned.
            let unsigned = log.unsigned.map { String($0) }
            for size in ["0", "\(n + 1)", "1000", "9223372036854775807", "18446744073709551615"] + unsigned {
                expectError(try await client.get("/v1/log/checkpoints/\(size)"), .notFound, "not-found")
            }
        }
    }

    /// Two log entries committed in one batch leave the size between them unsigned: no
    /// checkpoint there (404), proofs against the signed sizes still verify, and the first
    /// entry's receipt is against the first checkpoint that covers it.
    @Test func batchLeavesAnUnsignedSize() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let n = try await Self.smallLog(e, client).size
            let keys = try [Ed25519PrivateKey(), Ed25519PrivateKey()]
            let voters = [3, 4]
            // What the group committer does with two enrollments in one batch.
            var attempts: [ElectionRules.EnrollmentAttempt] = []
            for (key, voter) in zip(keys, voters) { attempts.append(try await e.enrollmentAttempt(voter: voter, key: key)) }
            let rules = e.store.rules
            let prepared = attempts
            try await e.store.storage.write { tx in
                let batch = try Batch(tx, electionHash: rules.electionHash, now: testClock.now())
                for attempt in prepared { _ = try rules.enroll(batch, attempt).get() }
                try batch.flush()
                _ = try batch.log.seal(serverKey: rules.serverKey)
            }
            let latest = try await Self.latest(client)
            #expect(latest.checkpoint.treeSize == n + 2)
            expectError(try await client.get("/v1/log/checkpoints/\(n + 1)"), .notFound, "not-found")
            #expect(try await client.get("/v1/log/checkpoints/\(n + 2)").status == .ok)

            // Re-enrolling the first key returns its receipt against checkpoint n + 2.
            let again = try await e.enroll(client, voter: 3, key: keys[0])
            #expect(again.status == .ok, "\(again.text)")
            let body = try again.decode(EnrollmentResponse.self)
            #expect(body.logged.receipt.logIndex == n)
            #expect(body.logged.receipt.checkpoint == latest)
            expectAllPassed(e.verifier.verify(receipt: body.logged.receipt, entryBytes: body.logged.entry.bytes,
                                              inclusionProof: body.logged.inclusionProof,
                                              expectedPayload: try e.enrollment(voter: 3, key: keys[0]).canonicalBytes))

            // The rebuilt tree matches, and consistency from n (signed) to n + 2 verifies.
            let entries = try await Self.allEntries(client, limit: 4)
            var tree = InMemoryMerkleTree()
            for entry in entries { tree.append(leafHash: Merkle.leafHash(entry.data.bytes)) }
            #expect(tree.root == latest.checkpoint.rootHash)
            let cn = try await client.get("/v1/log/checkpoints/\(n)").decode(SignedCheckpoint.self)
            let p = try await client.get("/v1/log/consistency?first=\(n)&second=\(n + 2)").decode(ConsistencyProofBody.self)
            #expect(throws: Never.self) {
                try Merkle.verifyConsistency(size1: n, size2: n + 2, root1: cn.checkpoint.rootHash.bytes,
                                             root2: latest.checkpoint.rootHash.bytes, proof: p.proof.map(\.bytes))
            }
        }
    }

    @Test func ballotLookupProvesInclusionAgainstTheLatestCheckpoint() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let log = try await Self.smallLog(e, client)
            // More entries after the ballots, so the latest checkpoint is not the receipt's.
            _ = try await e.enrolledKey(client, voter: 5)
            let latest = try await Self.latest(client)
            for cast in log.casts {
                let response = try await client.get("/v1/ballots/\(cast.trackingCode.hex)")
                #expect(response.status == .ok, "\(response.text)")
                let lookup = try response.decode(BallotLookup.self)
                #expect(lookup.trackingCode == cast.trackingCode)
                #expect(lookup.logIndex == cast.logged.receipt.logIndex)
                #expect(lookup.entry == cast.logged.entry)
                #expect(lookup.checkpoint == latest)
                #expect(lookup.checkpoint.isValid(serverKey: e.store.setup.serverKey))
                #expect(throws: Never.self) {
                    try Merkle.verifyInclusion(leafHash: Merkle.leafHash(lookup.entry.bytes).bytes, index: lookup.logIndex,
                                               treeSize: lookup.checkpoint.checkpoint.treeSize,
                                               proof: lookup.inclusionProof.map(\.bytes), root: lookup.checkpoint.checkpoint.rootHash.bytes)
                }
                let entry = try LogEntry.decode(canonical: lookup.entry.bytes)
                #expect(entry.kind == .ballot)
                #expect(try SignedBallot.decode(canonical: entry.payload).trackingCode == cast.trackingCode)
                // The receipt's checkpoint is consistent with the lookup's.
                let receiptSize = cast.logged.receipt.checkpoint.checkpoint.treeSize
                let p = try await client.get("/v1/log/consistency?first=\(receiptSize)&second=\(latest.checkpoint.treeSize)")
                    .decode(ConsistencyProofBody.self)
                #expect(throws: Never.self) {
                    try Merkle.verifyConsistency(size1: receiptSize, size2: latest.checkpoint.treeSize,
                                                 root1: cast.logged.receipt.checkpoint.checkpoint.rootHash.bytes,
                                                 root2: latest.checkpoint.rootHash.bytes, proof: p.proof.map(\.bytes))
                }
            }
            let unknown = Hex.encode(try SecureRandom.bytes(32))
            expectError(try await client.get("/v1/ballots/\(unknown)"), .notFound, "not-found")
            let code = log.casts[0].trackingCode.hex
            for bad in [code.uppercased(), String(code.dropLast()), String(code.dropLast(2)), "zz" + code.dropFirst(2), code + "00"] {
                expectError(try await client.get("/v1/ballots/\(bad)"), .badRequest, "malformed")
            }
            // The short code the voter is shown finds the same ballot, typed in any case and without dashes.
            let short = log.casts[0].shortCode
            for typed in [short, short.lowercased(), short.replacingOccurrences(of: "-", with: "")] {
                let found = try await client.get("/v1/ballots/\(typed)")
                #expect(found.status == .ok, "\(typed): \(found.text)")
                #expect(try found.decode(BallotLookup.self).trackingCode == log.casts[0].trackingCode)
            }
        }
    }

    /// `next` is absent (not null) on the last page, present otherwise.
    @Test func nextIsAbsentOnTheLastPage() async throws {
        let e = try await TestElection()
        defer { e.remove() }
        try await e.withRouter { client in
            let size = try await e.snapshot().logSize
            let middle = try await client.get("/v1/log/entries?start=0&limit=1")
            let middleObject = try #require(try JSONSerialization.jsonObject(with: middle.data) as? [String: Any])
            #expect(middleObject["next"] as? Int == 1)
            for uri in ["/v1/log/entries?start=\(size - 1)&limit=1", "/v1/log/entries?start=0&limit=\(size)", "/v1/log/entries?start=\(size + 5)"] {
                let response = try await client.get(uri)
                #expect(response.status == .ok)
                let object = try #require(try JSONSerialization.jsonObject(with: response.data) as? [String: Any])
                #expect(object["entries"] != nil)
                #expect(object.keys.contains("next") == false, "\(uri): \(response.text)")
            }
        }
    }

    /// §5.3: all entries of one transaction share one timestamp, and the checkpoint that
    /// ends the transaction carries it. With a clock that moves on every reading, each
    /// batch's entries and its checkpoint (the first one covering them) have the same, new
    /// timestamp; the batch of the election key (with a verification) is the one batch with
    /// two entries.
    @Test func checkpointsCarryTheirBatchTimestamp() async throws {
        let e = try await TestElection(clock: steppingClock())
        defer { e.remove() }
        try await e.withRouter { client in
            let log = try await Self.smallLog(e, client)
            let n = log.size
            let entries = try await Self.allEntries(client, limit: 100)
            var batches: [UInt64: UInt64] = [:]  // checkpoint size -> timestamp
            for entry in entries {
                let decoded = try LogEntry.decode(canonical: entry.data.bytes)
                var size = entry.index + 1
                while log.unsigned.contains(size) { size += 1 }
                let checkpoint = try await client.get("/v1/log/checkpoints/\(size)").decode(SignedCheckpoint.self)
                #expect(checkpoint.checkpoint.timestamp == decoded.timestamp, "entry \(entry.index)")
                #expect(checkpoint.isValid(serverKey: e.store.setup.serverKey))
                batches[size] = decoded.timestamp
            }
            #expect(batches.count == Int(n) - log.unsigned.count)
            #expect(Set(batches.values).count == batches.count, "each batch has its own clock reading: \(batches)")
        }
    }
}
