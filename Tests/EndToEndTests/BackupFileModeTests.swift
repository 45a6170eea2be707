import Foundation
import Testing
@testable import BallotServer
#if canImport(Glibc)
import Glibc
#endif

/// `ballot-server backup` writes a copy as private as the original: every file 0600.
@Suite("backup file modes")
struct BackupFileModeTests {
    @Test("every file of a backup is readable by its owner only")
    func backupIsOwnerOnly() async throws {
        let path = try Tools.temporaryDirectory("e2e-backup-modes")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dir = DataDirectory(path: path + "/election")
        _ = try await ElectionStore.create(in: dir, database: .sqlite, manifest: try ExampleElection.manifest())
        let backup = try Tools.run(Tools.ballotServer, ["backup", "--data", dir.url.path, "--out", path + "/copy", "--json"])
        #expect(backup.status == 0, "\(backup.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: path + "/copy").sorted()
        #expect(names.contains("election.sqlite"), "\(names)")
        for name in names {
            var info = stat()
            #expect(stat(path + "/copy/" + name, &info) == 0)
            #expect(info.st_mode & 0o077 == 0, "\(name) is \(String(info.st_mode & 0o777, radix: 8))")
        }
    }
}
