import ArgumentParser
import Foundation
import GRDB
import VotingCore

/// `ballot-server backup`: an online, consistent copy of the election while it is served.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the election (database through SQLite's backup API, and the key files) into a new directory, while the server runs.")

    @OptionGroup var dataOption: DataOption
    @Option(help: "New directory for the copy (must not exist); use it as --data to restore.")
    var out: String
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let directory: String
        let logSize: UInt64
        let rootHash: Digest
        enum CodingKeys: String, CodingKey { case directory, logSize = "log_size", rootHash = "root_hash" }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            if case .postgres(let url) = try dataOption.location() {
                throw CommandError("backup-postgres", "backup copies SQLite only; back up \(url) with `pg_dump --format=custom`, and copy the key files of \(dataOption.data) yourself (docs/operations.md, PostgreSQL)")
            }
            let source = DataDirectory(path: dataOption.data)
            guard source.isInitialized else {
                throw CommandError("not-initialized", "\(source.url.path) holds no election; point --data at the election's directory")
            }
            guard !FileManager.default.fileExists(atPath: out) else {
                throw CommandError("backup-exists", "\(out) already exists; back up into a new directory so no earlier copy is overwritten")
            }
            let target = DataDirectory(path: out)
            try target.create()
            do {
                // "The backup API copies a consistent snapshot while other connections keep
                // writing" (sqlite.org/backup.html); GRDB reads from a snapshot of the pool.
                let pool = try ElectionDatabase.open(path: source.databasePath)
                try DatabaseFile.restrictToOwner(target.databasePath)
                let copy = try DatabaseQueue(path: target.databasePath)
                try pool.backup(to: copy)
                try copy.close()
                for path in [\DataDirectory.serverKeyPath, \DataDirectory.commissionKeyPath, \DataDirectory.rollSecretPath] {
                    try SecretFile.write(target[keyPath: path], try SecretFile.read(source[keyPath: path]))
                }
                let restored = try await ElectionStore.open(target, database: .sqlite)
                let checkpoint = try await restored.latestCheckpoint()
                reporter.emit(Result(directory: target.url.path, logSize: checkpoint.checkpoint.treeSize, rootHash: checkpoint.checkpoint.rootHash)) {
                    "Backed up to \(target.url.path): \(checkpoint.checkpoint.treeSize) log entries, root \(checkpoint.checkpoint.rootHash.hex.prefix(16))…; restore by serving it with --data \(target.url.path)."
                }
            } catch {
                try? FileManager.default.removeItem(at: target.url)
                throw error
            }
        }
    }
}
