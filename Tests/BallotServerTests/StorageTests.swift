import Foundation
import GRDB
import Testing
import VotingCore
@testable import BallotServer

@Suite("Storage")
struct StorageTests {
    /// SWIFT-LINUX-NOTES.md durability trap: DatabasePool leaves the writer at NORMAL unless
    /// FULL is set again after opening. Both the writer and the readers must read back 2.
    @Test func databaseIsWALWithSynchronousFullOnWriterAndReaders() async throws {
        let root = temporaryPath()
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let pool = try ElectionDatabase.open(path: root.appendingPathComponent("election.sqlite").path)

        let writerSync = try await pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(writerSync == 2)
        let writerSyncOutsideTransaction = try await pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(writerSyncOutsideTransaction == 2)
        let readerSync = try await pool.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(readerSync == 2)
        let writerJournal = try await pool.write { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(writerJournal?.lowercased() == "wal")
        let readerJournal = try await pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(readerJournal?.lowercased() == "wal")

        // Several concurrent reads, so more than one reader connection is exercised.
        let readings = try await withThrowingTaskGroup(of: Int?.self) { group in
            for _ in 0..<4 {
                group.addTask { try await pool.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } }
            }
            var all: [Int?] = []
            for try await r in group { all.append(r) }
            return all
        }
        #expect(readings == [2, 2, 2, 2])
        let foreignKeys = try await pool.read { db in try Int.fetchOne(db, sql: "PRAGMA foreign_keys") }
        #expect(foreignKeys == 1)
    }

    /// The store the server runs on (created, then reopened) has the same settings.
    @Test func reopenedElectionStoreKeepsDurability() async throws {
        let e = try await TestElection(voters: 2, districts: 1)
        defer { e.remove() }
        let reopened = try await ElectionStore.open(e.dir, database: .sqlite, clock: testClock)
        let reopenedPool = try #require(reopened.storage as? SQLiteStorage).pool
        for pool in [try e.pool, reopenedPool] {
            #expect(try await pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
            #expect(try await pool.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") } == 2)
            #expect(try await pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }?.lowercased() == "wal")
        }
        #expect(reopened.electionHash == e.store.electionHash)
        #expect(reopened.setup == e.store.setup)
    }
}

@Suite("Roll import")
struct RollImportTests {
    @Test(arguments: StorageBackend.all) func duplicatePersonalNumbersAreRefusedAndNothingStored(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 2, districts: 1, stage: .created)
        defer { e.remove() }
        let before = try await e.snapshot()
        let rows = [
            ElectionStore.RollLine(personalNumber: "900101-12345", district: "d01", line: 2),
            ElectionStore.RollLine(personalNumber: "900101-99999", district: "d02", line: 3),
            ElectionStore.RollLine(personalNumber: "900101-12345", district: "d03", line: 4),
        ]
        let error = await refusal { try await importRoll(e, rows) }
        #expect(error?.code == "invalid-roll")
        #expect(error?.message.contains("line 4") == true, "\(String(describing: error))")
        #expect(try await e.snapshot() == before)
        #expect(try await rollCount(e) == 2)
    }

    @Test(arguments: StorageBackend.all) func personalNumberAlreadyOnTheRollIsRefused(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 2, districts: 1, stage: .created)
        defer { e.remove() }
        let before = try await e.snapshot()
        let rows = [
            ElectionStore.RollLine(personalNumber: "800101-00001", district: "d01", line: 2),
            ElectionStore.RollLine(personalNumber: e.codes[0].personalNumber, district: "d01", line: 3),
        ]
        let error = await refusal { try await importRoll(e, rows) }
        #expect(error?.code == "duplicate-voter")
        // The whole import is one transaction: the first, new row is not kept either.
        #expect(try await e.snapshot() == before)
        #expect(try await rollCount(e) == 2)
    }

    @Test(arguments: StorageBackend.all) func unknownDistrictIsRefused(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 2, districts: 1, stage: .created)
        defer { e.remove() }
        let before = try await e.snapshot()
        let rows = [
            ElectionStore.RollLine(personalNumber: "700101-00001", district: "d01", line: 2),
            ElectionStore.RollLine(personalNumber: "700101-00002", district: "d99", line: 3),
        ]
        let error = await refusal { try await importRoll(e, rows) }
        #expect(error?.code == "invalid-roll")
        #expect(error?.message.contains("d99") == true, "\(String(describing: error))")
        #expect(try await e.snapshot() == before)
        #expect(try await rollCount(e) == 2)
    }

    @Test(arguments: StorageBackend.all) func invalidPersonalNumberAndEmptyRollAreRefused(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 2, districts: 1, stage: .created)
        defer { e.remove() }
        let bad = [ElectionStore.RollLine(personalNumber: "12 34", district: "d01", line: 2)]
        #expect(await refusal { try await importRoll(e, bad) }?.code == "invalid-roll")
        let empty = await refusal { try await importRoll(e, []) }
        #expect(empty?.code == "invalid-roll")
        #expect(try await rollCount(e) == 2)
    }

    @Test(arguments: StorageBackend.all) func importAfterOpeningIsRefused(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 2, districts: 1)
        defer { e.remove() }
        let before = try await e.snapshot()
        let rows = [ElectionStore.RollLine(personalNumber: "600101-00001", district: "d01", line: 2)]
        let error = await refusal { try await importRoll(e, rows) }
        #expect(error?.code == "election-not-in-setup")
        #expect(try await e.snapshot() == before)
        #expect(try await rollCount(e) == 2)
    }

    /// v2 logs the registrar's signed list of code commitments per district (v1 logged only
    /// counts): every issued code opens exactly one of them, and no personal number is in it.
    @Test(arguments: StorageBackend.all) func importAddsVotersAndLogsSignedCommitments(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, voters: 5, districts: 2, stage: .created)
        defer { e.remove() }
        #expect(e.codes.count == 5)
        #expect(Set(e.codes.map(\.code)).count == 5)
        #expect(e.codes.allSatisfy { EnrollmentCode.isWellFormed(EnrollmentCode.normalize($0.code)) && $0.code.count == 19 })
        let entries = try await e.store.entries(start: 0, limit: 10)
        #expect(entries.entries.map(\.kind) == [.election, .roll])
        let roll = try LogEntry.decode(canonical: entries.entries[1].data.bytes)
        let (list, hash, signed) = try RollImport.decode(payload: roll.payload, commissionKey: e.store.setup.commissionKey)
        #expect(signed, "the list is signed by the commission key of entry 0")
        #expect(hash == e.store.electionHash)
        #expect(list.counts.map(\.district) == ["d01", "d02"])
        #expect(list.counts.map(\.voters) == [3, 2])
        for code in e.codes {
            let district = try #require(list.districts.first { $0.district == code.district })
            let opened = district.commitments.filter { $0.isOpened(by: EnrollmentCode.normalize(code.code), electionHash: hash) }
            #expect(opened.map(\.value) == [code.commitment], "the code of \(code.personalNumber)")
            #expect(!contains(roll.payload, Array(code.personalNumber.utf8)))
        }
        // Not signed by a stranger's key.
        #expect(try RollImport.decode(payload: roll.payload, commissionKey: try Ed25519PrivateKey().publicKey).signed == false)
    }

    /// §7.1: open only from setup with a non-empty roll and a completed key ceremony, close
    /// only from open, and only with the commission key of entry 0; a refused order logs
    /// nothing; the close logs the aggregate with the order.
    @Test func windowOrdersFollowTheStateMachine() async throws {
        let root = temporaryPath()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = DataDirectory(path: root.path)
        let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: TestElection.manifest(), clock: testClock)
        let commission = try dir.commissionKey()
        func logSize() async throws -> UInt64 { try await store.counts().logSize }
        func window(_ action: WindowChange.Action, _ key: Ed25519PrivateKey? = nil) async -> String? {
            await refusal { _ = try await store.changeWindow(action, commissionKey: key ?? commission) }?.code
        }
        #expect(try await logSize() == 1)
        #expect(await window(.open) == "empty-roll")
        #expect(await window(.close) == "invalid-state")
        _ = try await store.importRoll(ExampleElection.roll(voters: 2, districts: 1), rollSecret: try dir.rollSecret(), commissionKey: commission)
        #expect(await window(.open, try Ed25519PrivateKey()) == "key-mismatch")
        #expect(try await logSize() == 2)
        // Without the trustees' ceremony there is no election key, so voting cannot open.
        #expect(await window(.open) == "ceremony-incomplete")
        let trustees = try (1...3).map { try TestTrustee(index: UInt32($0)) }
        for trustee in trustees { _ = try await store.appointTrustee(trustee.registration, commissionKey: commission) }
        #expect(await window(.open) == "ceremony-incomplete")
        #expect(try await logSize() == 5)
        // The ceremony through the router: three dealings, three verifications, the key.
        let hash = store.electionHash
        try await TestElection.withRouter(store: store, rollSecret: try dir.rollSecret(), clock: testClock) { client, _ in
            try await TestElection.runCeremony(client, electionHash: hash, trustees: trustees)
        }
        #expect(try await logSize() == 12)
        let (order, index) = try await store.changeWindow(.open, commissionKey: commission)
        #expect(order.isValid(electionHash: store.electionHash, commissionKey: store.setup.commissionKey))
        #expect(index == 12)
        #expect(try await store.currentState() == .open)
        #expect(await window(.open) == "invalid-state")
        _ = try await store.changeWindow(.close, commissionKey: commission)
        #expect(try await store.currentState() == .closed)
        #expect(await window(.close) == "invalid-state")
        #expect(await window(.open) == "invalid-state")
        // open, then close with the aggregate (no supervised ballots, so no reveal entry).
        #expect(try await logSize() == 15)
        let kinds = try await store.entries(start: 0, limit: 100).entries.map(\.kind)
        #expect(kinds.suffix(3) == [.window, .window, .aggregate])
        #expect(kinds.filter { $0 == .electionKey }.count == 1)
        // A second init into the same directory is refused.
        #expect(await refusal { _ = try await ElectionStore.create(in: dir, database: .sqlite, manifest: try ExampleElection.manifest()) }?.code
                == "already-initialized")
    }

    @Test func rollCSVParsesHeaderAndRows() throws {
        let rows = try RollCSV.parse("personal_number,district\n800101-00001,d01\n 800101-00002 , d02 \n\n")
        #expect(rows.map(\.personalNumber) == ["800101-00001", "800101-00002"])
        #expect(rows.map(\.district) == ["d01", "d02"])
        #expect(rows.map(\.line) == [2, 3])
        let crlf = try RollCSV.parse("personal_number,district\r\n800101-00001,d01\r\n")
        #expect(crlf.map(\.personalNumber) == ["800101-00001"])
        let roundTrip = try RollCSV.parse(ExampleElection.rollCSV(ExampleElection.roll(voters: 7, districts: 3)))
        #expect(roundTrip.map(\.personalNumber) == ExampleElection.roll(voters: 7, districts: 3).map(\.personalNumber))
    }

    @Test func rollCSVRejectsMissingHeader() {
        let error = #expect(throws: CommandError.self) { try RollCSV.parse("800101-00001,d01\n800101-00002,d02\n") }
        #expect(error?.code == "invalid-roll")
        #expect(throws: CommandError.self) { try RollCSV.parse("") }
        #expect(throws: CommandError.self) { try RollCSV.parse("number,district\n800101-00001,d01\n") }
    }

    @Test(arguments: ["800101-00001", "800101-00001,d01,extra", "800101-00001,d01,", ""])
    func rollCSVRejectsWrongFieldCount(line: String) {
        let error = #expect(throws: CommandError.self) {
            try RollCSV.parse("personal_number,district\n800101-00002,d02\n\(line)\n800101-00003,d01\n")
        }
        #expect(error?.code == "invalid-roll")
        #expect(error?.message.contains("line 3") == true, "\(String(describing: error))")
    }

    private func rollCount(_ e: TestElection) async throws -> Int? {
        try await e.counts(["SELECT COUNT(*) FROM roll"]).first
    }

    private func importRoll(_ e: TestElection, _ lines: [ElectionStore.RollLine]) async throws {
        _ = try await e.store.importRoll(lines, rollSecret: e.rollSecret, commissionKey: try e.dir.commissionKey())
    }
}

private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    return (0...(haystack.count - needle.count)).contains { Array(haystack[$0..<($0 + needle.count)]) == needle }
}
