import Foundation
import Testing
@testable import BallotServer
import VoterKit
import VotingCore

/// An online backup taken while the server serves ballots restores into an election whose
/// public record passes the full audit.
@Suite("online backup and restore", .serialized)
struct BackupRestoreTests {
    @Test("backup while serving, restore by serving the copy: the audit passes and the log matches")
    func backupWhileServing() async throws {
        let path = try Tools.temporaryDirectory("e2e-backup")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dir = DataDirectory(path: path + "/election")
        let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: try ExampleElection.manifest())
        let codes = try await store.importRoll(ExampleElection.roll(voters: 8, districts: 2), rollSecret: try dir.rollSecret(), commissionKey: try dir.commissionKey()).codes
        let trustees = try await LocalTrustees.register(in: store, commissionKey: try dir.commissionKey())
        let server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path)
        defer { server.stop() }

        try await BallotServerClient.withPooledHTTPClient(connections: 4) { http in
            let client = try BallotServerClient(baseURL: server.url, http: http)
            try await trustees.runCeremony(client: client)
            _ = try await store.changeWindow(.open, commissionKey: try dir.commissionKey())
            let election = try await VoterActions.fetchElection(client)
            var receipts: [BallotReceiptFile] = []
            for issued in codes {
                let wallet = try await VoterActions.enroll(client: client, personalNumber: issued.personalNumber, code: issued.code, election: election)
                receipts.append(try await VoterActions.cast(client: client, wallet: wallet, selections: ["against-all"], election: election))
            }

            let backup = try Tools.run(Tools.ballotServer, ["backup", "--data", dir.url.path, "--out", path + "/copy", "--json"])
            #expect(backup.status == 0, "\(backup.stderr)")
            let live = try await client.latestCheckpoint()
            #expect(try backup.json()["log_size"] as? Int == Int(live.checkpoint.treeSize))
            for key in ["server.key", "commission.key", "roll-secret.key"] {
                let mode = try FileManager.default.attributesOfItem(atPath: path + "/copy/" + key)[.posixPermissions] as? Int
                #expect(mode == 0o600, "\(key)")
            }
            let again = try Tools.run(Tools.ballotServer, ["backup", "--data", dir.url.path, "--out", path + "/copy", "--json"])
            #expect(again.status == 2)
            #expect((try again.json()["error"] as? [String: Any])?["code"] as? String == "backup-exists")

            // Restore: serve the copy; every receipt is there and the whole record audits clean.
            let restoredServer = try ServerProcess(executable: Tools.ballotServer, dataDirectory: path + "/copy")
            defer { restoredServer.stop() }
            let restored = try BallotServerClient(baseURL: restoredServer.url, http: http)
            #expect(try await restored.latestCheckpoint() == live)
            for receipt in receipts {
                #expect(try await restored.lookup(trackingCode: receipt.trackingCode).logIndex == receipt.logged.receipt.logIndex)
            }
            let report = try await AuditRunner.audit(client: restored)
            #expect(report.passed, "\(report.checks.filter { !$0.passed })")
            #expect(report.ballots == codes.count)
        }
    }
}
