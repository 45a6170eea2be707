import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import PostgresNIO
import Testing
import VotingCore
@testable import BallotServer

/// The storage protocol's behaviour, asserted once and run against SQLite and PostgreSQL, and
/// what only PostgreSQL has: several instances on one database, reconnecting after a restart,
/// the schema checks. PostgreSQL tests need EVOTE_TEST_POSTGRES_URL (a maintenance database
/// of a throwaway cluster: scripts/postgres-cluster.sh start prints one); without it they
/// skip, except under CI=true where `postgresIsConfiguredUnderCI` fails.
enum PostgresTestCluster {
    static var url: String? {
        let value = ProcessInfo.processInfo.environment["EVOTE_TEST_POSTGRES_URL"]
        return value?.isEmpty == false ? value : nil
    }

    static var configured: Bool { url != nil }
    static let skipReason: Comment = "EVOTE_TEST_POSTGRES_URL is not set: start a cluster with scripts/postgres-cluster.sh start and export its URL"

    static let logger: Logger = {
        var logger = Logger(label: "postgres-storage-tests")
        logger.logLevel = .critical
        return logger
    }()

    static func configuration(_ url: PostgresURL) -> PostgresConnection.Configuration {
        PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                         database: url.database, tls: .disable)
    }

    /// Runs `body` on a fresh database `evote_test_<random>` of the test cluster, dropped after.
    static func withFreshDatabase<T>(_ body: (PostgresURL) async throws -> T) async throws -> T {
        guard let url else { throw TestSetupError("EVOTE_TEST_POSTGRES_URL is not set") }
        let maintenance = try PostgresURL(url)
        let name = "evote_test_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        try await maintenanceQuery(maintenance, "CREATE DATABASE \(name)")
        let fresh = try PostgresURL("postgres://\(maintenance.user)@\(maintenance.host):\(maintenance.port)/\(name)")
        do {
            let value = try await body(fresh)
            try await maintenanceQuery(maintenance, "DROP DATABASE \(name) WITH (FORCE)")
            return value
        } catch {
            try? await maintenanceQuery(maintenance, "DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
    }

    /// CREATE/DROP DATABASE cannot run in a transaction: one plain connection for them.
    static func maintenanceQuery(_ url: PostgresURL, _ sql: String) async throws {
        let connection = try await PostgresConnection.connect(configuration: configuration(url), id: 1, logger: logger)
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// The repository's scripts/postgres-cluster.sh.
    static var clusterScript: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("scripts/postgres-cluster.sh").path
    }

    /// Runs the cluster script with `EVOTE_PG_DIR=dir`; returns its standard output. Through
    /// system(3) into a file: the server that pg_ctl starts inherits descriptors and would keep a
    /// pipe open for its whole life, and Foundation's Process waits on Dispatch here.
    @discardableResult
    static func cluster(_ command: String, dir: String, port: Int) throws -> String {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("pg-cluster-\(UUID().uuidString).out").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        func quoted(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let line = "EVOTE_PG_DIR=\(quoted(dir)) EVOTE_PG_PORT=\(port) /bin/bash \(quoted(clusterScript)) \(command) >\(quoted(outputPath)) </dev/null"
        let status = system(line)
        guard status == 0 else { throw TestSetupError("postgres-cluster.sh \(command) failed (status \(status))") }
        let data = FileManager.default.contents(atPath: outputPath) ?? Data()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// An election's rules for storage tests: a real setup and server key, so checkpoints verify.
struct StorageTestElection: Sendable {
    let rules: ElectionRules
    let now: Timestamp = 1_767_225_600_000

    init() throws {
        let manifest = ElectionManifest(electionId: "storage-test-2026", name: "Storage test election", districts: [
            District(id: "d01", name: "North", seats: 1, selectionLimit: 1,
                     options: [BallotOption(id: "c01", name: "Candidate 1"), BallotOption(id: "c02", name: "Candidate 2")]),
            District(id: "d02", name: "South", seats: 1, selectionLimit: 1,
                     options: [BallotOption(id: "c01", name: "Candidate 1"), BallotOption(id: "c02", name: "Candidate 2")]),
        ], trustees: TrusteePolicy(count: 3, quorum: 2))
        let serverKey = try Ed25519PrivateKey()
        let setup = ElectionSetup(manifest: manifest, serverKey: serverKey.publicKey, commissionKey: try Ed25519PrivateKey().publicKey,
                                  nonce: try Nonce32.random())
        rules = ElectionRules(setup: setup, serverKey: serverKey)
    }

    /// Appends `payloads` as window entries in one batch and seals it; returns their indices.
    func append(_ storage: any ElectionStorage, _ payloads: [[UInt8]]) async throws -> [UInt64] {
        let rules = self.rules, now = self.now
        return try await storage.write { tx in
            let batch = try Batch(tx, electionHash: rules.electionHash, now: now)
            let indices = try payloads.map { try batch.log.append(kind: .window, payload: $0).index }
            try batch.flush()
            _ = try batch.log.seal(serverKey: rules.serverKey)
            return indices
        }
    }
}

/// RFC 6962's Merkle tree hash over leaf hashes, computed independently of the stored nodes.
func referenceRoot(_ leaves: ArraySlice<Digest>) -> Digest {
    if leaves.count == 1, let only = leaves.first { return only }
    var k = 1
    while k * 2 < leaves.count { k *= 2 }
    let split = leaves.startIndex + k
    return Merkle.nodeHash(referenceRoot(leaves[leaves.startIndex..<split]), referenceRoot(leaves[split...]))
}

func randomDigest() throws -> Digest { Digest(trusted: try SecureRandom.bytes(32)) }

func code(of error: any Error) -> String? {
    (error as? RuleError)?.code ?? (error as? CommandError)?.code
}

/// The storage protocol's semantics, asserted the same way on every implementation.
enum SharedStorageAssertions {
    static func run(_ storage: any ElectionStorage) async throws {
        let election = try StorageTestElection()
        let rules = election.rules, now = election.now

        // Entry 0 and the election row.
        try await storage.write { tx in try rules.create(tx, now: now) }
        try storage.readNow { tx throws in
            #expect(try tx.state() == .setup)
            #expect(try tx.setupBytes() == rules.setup.canonicalBytes)
            #expect(try tx.logSize() == 1)
            #expect(try tx.latestCheckpoint()?.checkpoint.treeSize == 1)
        }

        // Appends, read back in every way the protocol offers.
        let payloads: [[UInt8]] = (1...5).map { [UInt8($0), 0xFF, 0x00, UInt8($0)] }
        #expect(try await election.append(storage, payloads) == [1, 2, 3, 4, 5])
        try storage.readNow { tx throws in
            #expect(try tx.logSize() == 6)
            let all = try tx.entries(in: 0..<6)
            #expect(all.map(\.0) == [0, 1, 2, 3, 4, 5])
            #expect(all.map(\.1) == [.election, .window, .window, .window, .window, .window])
            #expect(try tx.entryBytes(at: 3) == all[3].2)
            #expect(try tx.entryBytes(at: 6) == nil)
            #expect(try tx.entries(in: 6..<10).isEmpty)
            #expect(try tx.entries(kinds: [.window, .ballot], from: 2, limit: 2).map(\.0) == [2, 3])
            #expect(try tx.entries(kinds: [.election], from: 0, limit: 10).map(\.0) == [0])
            let windows = try tx.payloads(kind: .window)
            #expect(windows.map(\.index) == [1, 2, 3, 4, 5])
            #expect(windows.map(\.payload) == payloads)
            for (index, _, bytes) in all { #expect(try LogEntry.decode(canonical: bytes).index == index) }

            // Checkpoints: one per sealed batch, signed, with the root of the entries they cover.
            let leaves = all.map { Merkle.leafHash($0.2) }
            #expect(try tx.checkpoints(in: 0...100).map(\.checkpoint.treeSize) == [1, 6])
            #expect(try tx.checkpoint(size: 6)?.checkpoint.rootHash == referenceRoot(leaves[...]))
            #expect(try tx.checkpoint(size: 1)?.checkpoint.rootHash == referenceRoot(leaves[0..<1]))
            #expect(try tx.checkpoint(size: 3) == nil)
            #expect(try tx.checkpoint(covering: 0)?.checkpoint.treeSize == 1)
            #expect(try tx.checkpoint(covering: 1)?.checkpoint.treeSize == 6)
            #expect(try tx.checkpoint(covering: 6) == nil)
            let latest = try tx.latestCheckpoint()
            #expect(latest?.checkpoint.treeSize == 6)
            #expect(latest?.checkpoint.electionHash == rules.electionHash)
            #expect(latest.map { $0.isValid(serverKey: rules.setup.serverKey) } == true)
            #expect(try Merkle.root(size: 6, in: tx) == referenceRoot(leaves[...]))
        }

        // A write that throws leaves nothing behind.
        let lostID = try BallotID.random()
        await #expect(throws: RuleError.self) {
            try await storage.write { tx in
                _ = try tx.claimBallotID(lostID)
                try tx.insertEntry(index: 6, kind: .window, bytes: [1])
                throw RuleError.internalError
            }
        }
        try storage.readNow { tx throws in
            #expect(try !tx.isBallotIDClaimed(lostID))
            #expect(try tx.logSize() == 6)
        }

        // The roll: one row per personal number, unique commitments and pseudonyms.
        let macs = try (0..<3).map { _ in try randomDigest() }
        let keys = try (0..<3).map { _ in try Ed25519PrivateKey().publicKey }
        let firstCommitments = try (0..<3).map { _ in CodeCommitment(salt: try Salt.random(), value: try randomDigest()) }
        let rows = (0..<3).map { i in
            RollRow(voterMac: macs[i], district: i == 2 ? "d02" : "d01", commitment: firstCommitments[i],
                    pseudonym: firstCommitments[i].value, voterKey: nil, supervised: nil)
        }
        let reissued = CodeCommitment(salt: try Salt.random(), value: try randomDigest())
        let supervisedCode = TrackingCode(digest: try randomDigest())
        try storage.writeNow { tx throws in
            for row in rows { try tx.insertRollRow(row) }
            #expect(throws: RuleError.self) { try tx.insertRollRow(rows[0]) }
            do { try tx.insertRollRow(rows[1]) } catch { #expect(code(of: error) == "duplicate-voter") }
            // Another number with a commitment already on the roll is refused the same way.
            var sameCommitment = rows[2]
            sameCommitment.voterMac = try randomDigest()
            #expect(throws: RuleError.self) { try tx.withSavepoint { try tx.insertRollRow(sameCommitment) } }
            // The transaction goes on after a refused row (PostgreSQL must not be left aborted).
            #expect(try tx.rollRow(voterMac: macs[0]) == rows[0])
            var updated = rows[1]
            updated.commitment = reissued
            updated.voterKey = keys[1]
            updated.supervised = supervisedCode
            try tx.updateRollRow(updated)
        }
        try storage.writeNow { tx throws in  // isCommitmentKnown is asked inside writes only
            #expect(try tx.rollRow(voterMac: macs[0]) == rows[0])
            #expect(try tx.rollRow(voterMac: try randomDigest()) == nil)
            let row1 = try tx.rollRow(voterKey: keys[1])
            #expect(row1?.voterMac == macs[1])
            #expect(row1?.commitment == reissued)
            #expect(row1?.pseudonym == firstCommitments[1].value)
            #expect(row1?.supervised == supervisedCode)
            #expect(try tx.rollRow(voterKey: keys[0]) == nil)
            #expect(try tx.isCommitmentKnown(reissued.value))
            #expect(try tx.isCommitmentKnown(firstCommitments[1].value))
            #expect(try !tx.isCommitmentKnown(try randomDigest()))
            #expect(try tx.rollSizes() == ["d01": 2, "d02": 1])
        }

        // Wrong-code backoff: set, replace, clear.
        let stranger = try randomDigest()
        try storage.writeNow { tx throws in
            try tx.setBackoff(voterMac: stranger, CodeBackoff(failures: 1, blockedUntil: 10))
            try tx.setBackoff(voterMac: stranger, CodeBackoff(failures: 2, blockedUntil: 2_000_000_000_000))
            try tx.setBackoff(voterMac: macs[0], CodeBackoff(failures: 1, blockedUntil: 5))
            try tx.setBackoff(voterMac: macs[0], nil)
        }
        try storage.readNow { tx throws in
            #expect(try tx.backoff(voterMac: stranger) == CodeBackoff(failures: 2, blockedUntil: 2_000_000_000_000))
            #expect(try tx.backoff(voterMac: macs[0]) == nil)
        }

        // Enrollments and ballots: one ballot per enrolled key, counts per district.
        let codes = try (0..<3).map { _ in TrackingCode(digest: try randomDigest()) }
        try storage.writeNow { tx throws in
            for i in 0..<3 {
                try tx.insertEnrollment(EnrollmentRow(voterKey: keys[i], district: rows[i].district, logIndex: UInt64(10 + i),
                                                      voterMac: macs[i], revokedAt: nil))
            }
            try tx.revokeEnrollment(voterKey: keys[2], at: 20)
            try tx.insertBallot(BallotRow(voterKey: keys[0], trackingCode: codes[0], district: "d01", logIndex: 30, superseded: false))
            try tx.insertBallot(BallotRow(voterKey: keys[1], trackingCode: codes[1], district: "d01", logIndex: 31, superseded: false))
            // A second ballot for one key, or a ballot for a key never enrolled, is refused.
            #expect(throws: (any Error).self) {
                try tx.withSavepoint {
                    try tx.insertBallot(BallotRow(voterKey: keys[0], trackingCode: codes[2], district: "d01", logIndex: 32, superseded: false))
                }
            }
            let unenrolled = try Ed25519PrivateKey().publicKey
            #expect(throws: (any Error).self) {
                try tx.withSavepoint {
                    try tx.insertBallot(BallotRow(voterKey: unenrolled, trackingCode: codes[2], district: "d01", logIndex: 32, superseded: false))
                }
            }
            try tx.markSuperseded(trackingCode: codes[1])
        }
        try storage.readNow { tx throws in
            #expect(try tx.enrollment(voterKey: keys[0]) == EnrollmentRow(voterKey: keys[0], district: "d01", logIndex: 10, voterMac: macs[0], revokedAt: nil))
            #expect(try tx.enrollment(voterKey: keys[2])?.revokedAt == 20)
            let enrolled = try tx.enrollmentCounts()
            #expect(enrolled.active == ["d01": 2])
            #expect(enrolled.revoked == ["d02": 1])
            #expect(try tx.ballot(voterKey: keys[0]) == BallotRow(voterKey: keys[0], trackingCode: codes[0], district: "d01", logIndex: 30, superseded: false))
            #expect(try tx.ballot(trackingCode: codes[1])?.superseded == true)
            #expect(try tx.ballot(voterKey: keys[2]) == nil)
            let counts = try tx.ballotCounts()
            #expect(counts.cast == ["d01": 2])
            #expect(counts.superseded == ["d01": 1])
        }

        // Ballot ids: claimed once for the whole log.
        let ballotID = try BallotID.random()
        try storage.writeNow { tx throws in
            #expect(try !tx.isBallotIDClaimed(ballotID))
            #expect(try tx.claimBallotID(ballotID))
            #expect(try !tx.claimBallotID(ballotID))
        }
        #expect(try await storage.write { tx in try tx.claimBallotID(ballotID) } == false)
        #expect(try await storage.read { tx in try tx.isBallotIDClaimed(ballotID) })

        // Savepoints: what a failed operation wrote is undone, the rest of the batch stays.
        let spoiledKept = TrackingCode(digest: try randomDigest()), spoiledUndone = TrackingCode(digest: try randomDigest())
        let undoneID = try BallotID.random()
        try storage.writeNow { tx throws in
            try tx.withSavepoint { try tx.insertSpoiled(trackingCode: spoiledKept, index: 40) }
            #expect(throws: RuleError.self) {
                try tx.withSavepoint {
                    try tx.insertSpoiled(trackingCode: spoiledUndone, index: 41)
                    _ = try tx.claimBallotID(undoneID)
                    // Nested: the inner failure is caught, the outer one undoes both.
                    try? tx.withSavepoint { try tx.insertSpoiled(trackingCode: spoiledKept, index: 42) }
                    throw RuleError.internalError
                }
            }
            // A statement PostgreSQL refuses, inside a savepoint, leaves the transaction usable.
            #expect(throws: (any Error).self) { try tx.withSavepoint { try tx.insertSpoiled(trackingCode: spoiledKept, index: 43) } }
            #expect(try tx.spoiledIndex(trackingCode: spoiledKept) == 40)
            #expect(try tx.spoiledIndex(trackingCode: spoiledUndone) == nil)
        }
        try storage.readNow { tx throws in
            #expect(try tx.spoiledIndex(trackingCode: spoiledKept) == 40)
            #expect(try tx.spoiledIndex(trackingCode: spoiledUndone) == nil)
            #expect(try !tx.isBallotIDClaimed(undoneID))
        }

        // Request nonces: a replay is refused until the nonce expires and is swept.
        let nonce = RequestAuthorization.Nonce(trusted: try SecureRandom.bytes(RequestAuthorization.Nonce.byteCount))
        let other = RequestAuthorization.Nonce(trusted: try SecureRandom.bytes(RequestAuthorization.Nonce.byteCount))
        try storage.writeNow { tx throws in
            #expect(try !tx.isNonceUsed(nonce))
            try tx.recordNonce(nonce, expiresAt: 1_000, now: 500)
            #expect(try tx.isNonceUsed(nonce))
            #expect(throws: (any Error).self) { try tx.withSavepoint { try tx.recordNonce(nonce, expiresAt: 1_000, now: 600) } }
        }
        #expect(try await storage.read { tx in try tx.isNonceUsed(nonce) })
        try await storage.write { tx in try tx.recordNonce(other, expiresAt: 3_000, now: 2_000) }
        try storage.readNow { tx throws in
            #expect(try !tx.isNonceUsed(nonce))
            #expect(try tx.isNonceUsed(other))
        }

        // Supervised ballots, running sums, the state.
        let supervised = SupervisedRow(trackingCode: supervisedCode, voterMac: macs[1], district: "d01", station: 7, logIndex: 50,
                                       blinding: try Nonce32.random())
        try storage.writeNow { tx throws in
            try tx.insertSupervised(supervised)
            try tx.setTallySums(district: "d01", TallySums(ballots: 1, ciphertexts: []))
            try tx.setTallySums(district: "d01", TallySums(ballots: 2, ciphertexts: []))
            try tx.setState(.open)
        }
        try storage.readNow { tx throws in
            #expect(try tx.supervisedRows() == [supervised])
            #expect(try tx.tallySums(district: "d01") == TallySums(ballots: 2, ciphertexts: []))
            #expect(try tx.tallySums(district: "d02") == nil)
            #expect(try tx.state() == .open)
        }

        // The synchronous variants see the same database.
        #expect(try storage.readNow { tx in try tx.logSize() } == 6)
        try storage.writeNow { tx in try tx.setState(.closed) }
        #expect(try storage.readNow { tx in try tx.state() } == .closed)
    }
}

@Suite("Storage protocol on SQLite")
struct SQLiteStorageProtocolTests {
    @Test func sharedAssertions() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("storage-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let storage = try SQLiteStorage(path: root.appendingPathComponent("election.sqlite").path)
        try await SharedStorageAssertions.run(storage)
    }
}

@Suite("PostgreSQL storage")
struct PostgresStorageTests {
    /// Locally the PostgreSQL tests skip without a cluster; CI must run them.
    @Test func postgresIsConfiguredUnderCI() {
        if !PostgresTestCluster.configured {
            let underCI = ProcessInfo.processInfo.environment["CI"] == "true"
            #expect(!underCI, "CI=true but EVOTE_TEST_POSTGRES_URL is not set: .ci/run must start the cluster")
            if !underCI { print("PostgreSQL tests skipped: \(PostgresTestCluster.skipReason)") }
        }
    }

    @Test(.enabled(if: PostgresTestCluster.configured, PostgresTestCluster.skipReason))
    func sharedAssertions() async throws {
        try await PostgresTestCluster.withFreshDatabase { url in
            let storage = try await PostgresStorage.connect(url, creating: true)
            do {
                #expect(storage.location == "PostgreSQL at \(url)")
                try await SharedStorageAssertions.run(storage)
                try await storage.close()
            } catch {
                try? await storage.close()
                throw error
            }
        }
    }

    @Test(.enabled(if: PostgresTestCluster.configured, PostgresTestCluster.skipReason))
    func schemaIsCheckedWhenOpeningAndCreating() async throws {
        try await PostgresTestCluster.withFreshDatabase { url in
            // A database without the schema is not an election.
            do {
                _ = try await PostgresStorage.connect(url, creating: false)
                Issue.record("opened a database without the schema")
            } catch {
                #expect(code(of: error) == "not-initialized")
                #expect("\(error)".contains("ballot-server init --database \(url)"))
            }
            let election = try StorageTestElection()
            let first = try await PostgresStorage.connect(url, creating: true)
            try await first.write { tx in try election.rules.create(tx, now: election.now) }
            try await first.close()
            // Creating again over an election is refused; opening it works.
            do {
                _ = try await PostgresStorage.connect(url, creating: true)
                Issue.record("created an election over an existing one")
            } catch {
                #expect(code(of: error) == "already-initialized")
            }
            let reopened = try await PostgresStorage.connect(url, creating: false)
            #expect(try await reopened.read { tx in try tx.setupBytes() } == election.rules.setup.canonicalBytes)
            try await reopened.close()
        }
    }

    @Test(.enabled(if: PostgresTestCluster.configured, PostgresTestCluster.skipReason))
    func unreachableServerIsRefusedWithASentence() async throws {
        // Nothing listens on port 1 of loopback.
        let url = try PostgresURL("postgres://postgres:secret@127.0.0.1:1/nothing")
        do {
            _ = try await PostgresStorage.connect(url, creating: false)
            Issue.record("connected to nothing")
        } catch {
            #expect(code(of: error) == "database-unavailable", "\(error)")
            #expect(!"\(error)".contains("secret"))
        }
    }

    /// Two storages (two server instances' worth) appending at once: one log, no gap, no fork,
    /// every checkpoint's root that of the entries it covers.
    @Test(.enabled(if: PostgresTestCluster.configured, PostgresTestCluster.skipReason))
    func twoInstancesAppendOneGapFreeLog() async throws {
        try await PostgresTestCluster.withFreshDatabase { url in
            let election = try StorageTestElection()
            let a = try await PostgresStorage.connect(url, creating: true)
            try await a.write { tx in try election.rules.create(tx, now: election.now) }
            let b = try await PostgresStorage.connect(url, creating: false)
            let batchesPerInstance = 20
            let appended = try await withThrowingTaskGroup(of: [UInt64].self) { group in
                for (n, storage) in [a, b].enumerated() {
                    for i in 0..<batchesPerInstance {
                        group.addTask {
                            let count = 1 + i % 3
                            return try await election.append(storage, (0..<count).map { [UInt8(n), UInt8(i), UInt8($0)] })
                        }
                    }
                }
                var all: [UInt64] = []
                for try await indices in group { all += indices }
                return all
            }
            let total = UInt64(appended.count)
            #expect(appended.sorted() == Array(1...total))
            for storage in [a, b] {
                try storage.readNow { tx throws in
                    #expect(try tx.logSize() == total + 1)
                    let entries = try tx.entries(in: 0..<(total + 1))
                    #expect(entries.map(\.0) == Array(0...total))
                    for (index, _, bytes) in entries { #expect(try LogEntry.decode(canonical: bytes).index == index) }
                    let leaves = entries.map { Merkle.leafHash($0.2) }
                    let checkpoints = try tx.checkpoints(in: 0...(total + 1))
                    #expect(checkpoints.count == 1 + 2 * batchesPerInstance)
                    #expect(checkpoints.last?.checkpoint.treeSize == total + 1)
                    for cp in checkpoints {
                        #expect(cp.checkpoint.rootHash == referenceRoot(leaves[0..<Int(cp.checkpoint.treeSize)]))
                        #expect(cp.isValid(serverKey: election.rules.setup.serverKey))
                    }
                }
            }
            try await a.close()
            try await b.close()
        }
    }

    /// PostgreSQL stopped with `pg_ctl stop -m immediate`: transactions fail as storage
    /// failures (503 `unavailable` at the API) and the same storage works again once it is back.
    @Test(.enabled(if: PostgresTestCluster.configured, PostgresTestCluster.skipReason))
    func reconnectsAfterPostgresRestarts() async throws {
        // A private cluster: crashing the shared one would fail the tests running beside this.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("evote-pg-restart-\(UUID().uuidString.prefix(8))").path
        let base = try PostgresURL(try PostgresTestCluster.cluster("start", dir: dir, port: 55400 + Int.random(in: 0..<400)))
        defer { _ = try? PostgresTestCluster.cluster("stop", dir: dir, port: 0) }
        let url = try PostgresURL("postgres://\(base.user)@\(base.host):\(base.port)/\(base.database)")
        let election = try StorageTestElection()
        let storage = try await PostgresStorage.connect(url, creating: true)
        try await storage.write { tx in try election.rules.create(tx, now: election.now) }
        // Several idle connections, so stale ones are met after the restart.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { _ = try await storage.read { tx in try tx.logSize() } } }
            try await group.waitForAll()
        }
        try PostgresTestCluster.cluster("crash", dir: dir, port: 0)
        do {
            _ = try await election.append(storage, [[1]])
            Issue.record("appended while PostgreSQL was down")
        } catch {
            #expect(error is any StorageFailure, "\(error)")
        }
        do {
            _ = try await storage.read { tx in try tx.logSize() }
            Issue.record("read while PostgreSQL was down")
        } catch {
            #expect(error is any StorageFailure, "\(error)")
        }
        // The group committer answers every operation of a failed batch with `unavailable`.
        var logger = Logger(label: "postgres-storage-tests")
        logger.logLevel = .critical
        let committer = GroupCommitter(storage: storage, rules: election.rules, clock: Clock { election.now }, logger: logger)
        let loop = Task { await committer.runLoop() }
        do {
            _ = try await committer.submit { batch in try batch.log.append(kind: .window, payload: [2]).index }
            Issue.record("committed while PostgreSQL was down")
        } catch {
            #expect((error as? RuleError)?.code == "unavailable")
        }
        #expect(committer.storageHealth.failing)
        try PostgresTestCluster.cluster("start", dir: dir, port: 0)
        let index = try await committer.submit { batch in try batch.log.append(kind: .window, payload: [3]).index }
        #expect(index == 1)
        #expect(!committer.storageHealth.failing)
        #expect(try await election.append(storage, [[4]]) == [2])
        for _ in 0..<6 { #expect(try await storage.read { tx in try tx.logSize() } == 3) }
        committer.stop()
        await loop.value
        try await storage.close()
    }
}
