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
        let reopened = try ElectionStore.open(e.dir, clock: testClock)
        for pool in [e.store.pool, reopened.pool] {
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
    @Test func duplicatePersonalNumbersAreRefusedAndNothingStored() async throws {
        let e = try await TestElection(voters: 2, districts: 1, stage: .created)
        defer { e.remove() }
        let before = try await e.snapshot()
        let rows = [
            ElectionStore.RollRow(personalNumber: "900101-12345", district: "d01", line: 2),
            ElectionStore.RollRow(personalNumber: "900101-99999", district: "d02", line: 3),
            ElectionStore.RollRow(personalNumber: "900101-12345", district: "d03", line: 4),
        ]
        let error = #expect(throws: CommandError.self) { try e.store.importRoll(rows, rollSecret: e.rollSecret) }
        #expect(error?.code == "invalid-roll")
        #expect(error?.message.contains("line 4") == true, "\(String(describing: error))")
        #expect(try await e.snapshot() == before)
        #expect(try await rollCount(e) == 2)
    }

    @Test func personalNumberAlreadyOnTheRollIsRefused() async throws {
        let e = try await TestElection(voters: 2, districts: 1, stage: .created)
        defer { e.remove() }
        let before = try await e.snapshot()
        let rows = [
            ElectionStore.RollRow(personalNumber: "800101-00001", district: "d01", line: 2),
            ElectionStore.RollRow(personalNumber: e.codes[0].personalNumber, district: "d01", line: 3),
        ]
        let error = #expect(throws: CommandError.self) { try e.store.importRoll(rows, rollSecret: e.rollSecret) }
        #expect(error?.code == "duplicate-voter")
        // The whole import is one transaction: the first, new row is not kept either.
        #expect(try await e.snapshot() == before)
        #expect(try await rollCount(e) == 2)
    }

    @Test func unknownDistrictIsRefused() async throws {
        let e = try await TestElection(voters: 2, districts: 1, stage: .created)
        defer { e.remove() }
        let before = try await e.snapshot()
        let rows = [
            ElectionStore.RollRow(personalNumber: "700101-00001", district: "d01", line: 2),
            ElectionStore.RollRow(personalNumber: "700101-00002", district: "d99", line: 3),
        ]
        let error = #expect(throws: CommandError.self) { try e.store.importRoll(rows, rollSecret: e.rollSecret) }
        #expect(error?.code == "invalid-roll")
        #expect(error?.message.contains("d99") == true, "\(String(describing: error))")
        #expect(try await e.snapshot() == before)
        #expect(try await rollCount(e) == 2)
    }

    @Test func invalidPersonalNumberAndEmptyRollAreRefused() async throws {
        let e = try await TestElection(voters: 2, districts: 1, stage: .created)
        defer { e.remove() }
        let bad = [ElectionStore.RollRow(personalNumber: "12 34", district: "d01", line: 2)]
        #expect(throws: CommandError.self) { try e.store.importRoll(bad, rollSecret: e.rollSecret) }
        let empty = #expect(throws: CommandError.self) { try e.store.importRoll([], rollSecret: e.rollSecret) }
        #expect(empty?.code == "invalid-roll")
        #expect(try await rollCount(e) == 2)
    }

    @Test func importAfterOpeningIsRefused() async throws {
        let e = try await TestElection(voters: 2, districts: 1)
        defer { e.remove() }
        let before = try await e.snapshot()
        let rows = [ElectionStore.RollRow(personalNumber: "600101-00001", district: "d01", line: 2)]
        let error = #expect(throws: CommandError.self) { try e.store.importRoll(rows, rollSecret: e.rollSecret) }
        #expect(error?.code == "election-not-in-setup")
        #expect(try await e.snapshot() == before)
        #expect(try await rollCount(e) == 2)
    }

    @Test func importAddsVotersAndLogsOnlyCounts() async throws {
        let e = try await TestElection(voters: 5, districts: 2, stage: .created)
        defer { e.remove() }
        #expect(e.codes.count == 5)
        #expect(Set(e.codes.map(\.code)).count == 5)
        let entries = try await e.store.entries(start: 0, limit: 10)
        #expect(entries.entries.map(\.kind) == [.election, .roll])
        let roll = try LogEntry.decode(canonical: entries.entries[1].data.bytes)
        let summary = try RollImport.decode(canonical: roll.payload)
        #expect(summary.counts == [.init(district: "d01", voters: 3), .init(district: "d02", voters: 2)])
    }

    /// §7.1: open only from setup with a non-empty roll and a completed key ceremony, close
    /// only from open, and only with the commission key of entry 0; a refused order logs
    /// nothing; the close logs the aggregate with the order.
    @Test func windowOrdersFollowTheStateMachine() async throws {
        let root = temporaryPath()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = DataDirectory(path: root.path)
        let store = try ElectionStore.create(in: dir, manifest: TestElection.manifest(), clock: testClock)
        let commission = try dir.commissionKey()
        func logSize() async throws -> UInt64 { try await store.counts().logSize }
        #expect(try await logSize() == 1)
        #expect((#expect(throws: CommandError.self) { try store.changeWindow(.open, commissionKey: commission) })?.code == "empty-roll")
        #expect((#expect(throws: CommandError.self) { try store.changeWindow(.close, commissionKey: commission) })?.code == "invalid-state")
        _ = try store.importRoll(ExampleElection.roll(voters: 2, districts: 1), rollSecret: try dir.rollSecret())
        #expect((#expect(throws: CommandError.self) { try store.changeWindow(.open, commissionKey: try Ed25519PrivateKey()) })?.code == "key-mismatch")
        #expect(try await logSize() == 2)
        // Without the trustees' ceremony there is no election key, so voting cannot open.
        #expect((#expect(throws: CommandError.self) { try store.changeWindow(.open, commissionKey: commission) })?.code == "ceremony-incomplete")
        let trustees = try (1...3).map { try TestTrustee(index: UInt32($0)) }
        for trustee in trustees { try store.registerTrustee(trustee.registration) }
        #expect((#expect(throws: CommandError.self) { try store.changeWindow(.open, commissionKey: commission) })?.code == "ceremony-incomplete")
        #expect(try await logSize() == 5)
        // The ceremony through the router: three dealings, three verifications, the key.
        let hash = store.electionHash
        try await TestElection.withRouter(store: store, rollSecret: try dir.rollSecret(), clock: testClock) { client, _ in
            try await TestElection.runCeremony(client, electionHash: hash, trustees: trustees)
        }
        #expect(try await logSize() == 12)
        let order = try store.changeWindow(.open, commissionKey: commission)
        #expect(order.isValid(electionHash: store.electionHash, commissionKey: store.setup.commissionKey))
        #expect(try await store.currentState() == .open)
        #expect((#expect(throws: CommandError.self) { try store.changeWindow(.open, commissionKey: commission) })?.code == "invalid-state")
        _ = try store.changeWindow(.close, commissionKey: commission)
        #expect(try await store.currentState() == .closed)
        #expect((#expect(throws: CommandError.self) { try store.changeWindow(.close, commissionKey: commission) })?.code == "invalid-state")
        #expect((#expect(throws: CommandError.self) { try store.changeWindow(.open, commissionKey: commission) })?.code == "invalid-state")
        // open, then close with the aggregate.
        #expect(try await logSize() == 15)
        let kinds = try await store.entries(start: 0, limit: 100).entries.map(\.kind)
        #expect(kinds.suffix(3) == [.window, .window, .aggregate])
        #expect(kinds.filter { $0 == .electionKey }.count == 1)
        // A second init into the same directory is refused.
        #expect((#expect(throws: CommandError.self) { try ElectionStore.create(in: dir, manifest: try ExampleElection.manifest()) })?.code
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
        try await e.store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM roll") }
    }
}
