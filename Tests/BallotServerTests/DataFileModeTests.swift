import Foundation
import GRDB
import Testing
import VotingCore
@testable import BallotServer
#if canImport(Glibc)
import Glibc
#endif

/// Every file of an election's data directory is readable by its owner only: the keys, the
/// database and SQLite's -wal and -shm beside it.
@Suite("data file modes")
struct DataFileModeTests {
    /// Each file in `directory` whose mode lets group or others in, with its mode.
    static func looseFiles(in directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted().compactMap { name in
            var info = stat()
            guard stat(directory.appendingPathComponent(name).path, &info) == 0 else { return "\(name): cannot stat" }
            return info.st_mode & 0o077 == 0 ? nil : "\(name) is \(String(info.st_mode & 0o777, radix: 8))"
        }
    }

    @Test("a new election's files, the WAL and shared-memory files included, are 0600")
    func newElectionIsOwnerOnly() async throws {
        let root = temporaryPath()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = DataDirectory(path: root.path)
        let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: TestElection.manifest(), clock: testClock)
        // The pool is still open, so election.sqlite-wal and -shm exist.
        let names = try FileManager.default.contentsOfDirectory(atPath: root.path)
        #expect(names.contains("election.sqlite-wal") && names.contains("election.sqlite-shm"), "\(names)")
        #expect(try Self.looseFiles(in: root) == [])
        _ = store
    }

    @Test("a database left readable by others (an older version, a crash) is tightened when it is opened")
    func looseDatabaseIsTightenedOnOpen() async throws {
        let root = temporaryPath()
        defer { try? FileManager.default.removeItem(at: root) }
        let dir = DataDirectory(path: root.path)
        let created = try await ElectionStore.create(in: dir, database: .sqlite, manifest: TestElection.manifest(), clock: testClock)
        try #require(created.storage as? SQLiteStorage).pool.close()
        #expect(chmod(dir.databasePath, 0o644) == 0)
        // A -wal left behind by a crash of an older version. (Closing the pool need not
        // checkpoint: a reader may close last, so the -wal can still hold the election; loosen
        // it rather than replace it.)
        let wal = dir.databasePath + "-wal"
        if FileManager.default.fileExists(atPath: wal) {
            #expect(chmod(wal, 0o644) == 0)
        } else {
            #expect(FileManager.default.createFile(atPath: wal, contents: nil, attributes: [.posixPermissions: 0o644]))
        }
        #expect(try Self.looseFiles(in: root).contains { $0.hasPrefix("election.sqlite-wal") })
        let store = try await ElectionStore.open(dir, database: .sqlite, clock: testClock)
        #expect(try Self.looseFiles(in: root) == [])
        _ = store
    }
}
