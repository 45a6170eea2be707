import Foundation
import VotingCore
#if canImport(Glibc)
import Glibc
#endif

/// The files of one election under `--data DIR`.
struct DataDirectory: Sendable {
    let url: URL

    init(path: String) { url = URL(fileURLWithPath: path, isDirectory: true) }

    var databasePath: String { url.appendingPathComponent("election.sqlite").path }
    var serverKeyPath: String { url.appendingPathComponent("server.key").path }
    var commissionKeyPath: String { url.appendingPathComponent("commission.key").path }
    var rollSecretPath: String { url.appendingPathComponent("roll-secret.key").path }

    var isInitialized: Bool { FileManager.default.fileExists(atPath: databasePath) }
    /// Whether an election's keys are already here (init never overwrites them).
    var hasKeys: Bool { FileManager.default.fileExists(atPath: serverKeyPath) }

    func create() throws {
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    func serverKey() throws -> Ed25519PrivateKey {
        try Ed25519PrivateKey(pemRepresentation: String(decoding: try SecretFile.read(serverKeyPath), as: UTF8.self))
    }

    func commissionKey() throws -> Ed25519PrivateKey {
        try Ed25519PrivateKey(pemRepresentation: String(decoding: try SecretFile.read(commissionKeyPath), as: UTF8.self))
    }

    func rollSecret() throws -> [UInt8] {
        let text = String(decoding: try SecretFile.read(rollSecretPath), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Hex.decode(text), bytes.count == 32 else {
            throw CommandError("bad-key-file", "\(rollSecretPath) does not hold a 32-byte hex secret; restore it from your backup")
        }
        return bytes
    }
}

/// Key files: created 0600 with O_EXCL (never overwritten), refused when others can read them.
enum SecretFile {
    static func write(_ path: String, _ bytes: [UInt8]) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CommandError("key-file-exists", "cannot create \(path) (\(String(cString: strerror(errno)))); use an empty data directory")
        }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw CommandError("io-error", "writing \(path) failed: \(String(cString: strerror(errno)))") }
            offset += n
        }
        guard fsync(fd) == 0 else { throw CommandError("io-error", "fsync of \(path) failed") }
    }

    static func read(_ path: String) throws -> [UInt8] {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw CommandError("missing-key-file", "\(path) is missing; run `ballot-server init` first or point --data at the election's directory")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw CommandError("key-file-permissions", "\(path) is readable by other users; run `chmod 600 \(path)`")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandError("io-error", "cannot read \(path)")
        }
        return [UInt8](data)
    }
}

/// The database and SQLite's files beside it: 0600 like the keys (they hold the roll's MACs).
enum DatabaseFile {
    /// Creates `path` 0600 if it is missing and tightens it, and a -wal, -shm or -journal left
    /// beside it, if others can read them; SQLite then creates its own files 0600 too.
    static func restrictToOwner(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CommandError("io-error", "cannot create \(path) (\(String(cString: strerror(errno)))); check --data")
        }
        close(fd)
        for file in [path, path + "-wal", path + "-shm", path + "-journal"] {
            var info = stat()
            guard stat(file, &info) == 0, info.st_mode & 0o077 != 0 else { continue }
            guard chmod(file, info.st_mode & 0o700) == 0 else {
                throw CommandError("data-file-permissions", "\(file) is readable by other users and cannot be changed; run `chmod 600 \(file)`")
            }
        }
    }
}

/// A command-line failure with a stable code and a sentence saying what to do.
struct CommandError: Error, CustomStringConvertible {
    let code: String
    let message: String
    init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }
    var description: String { "\(code): \(message)" }
}

/// The injected clock (tests pin it).
struct Clock: Sendable {
    let now: @Sendable () -> Timestamp
    static let system = Clock { Timestamp(Date().timeIntervalSince1970 * 1000) }
}
