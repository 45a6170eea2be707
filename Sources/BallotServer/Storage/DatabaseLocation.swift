import Foundation
import VotingCore

/// Where an election's database lives: SQLite in the data directory (the embedded default),
/// or a PostgreSQL database shared by several server instances (`--database postgres://…`).
/// Keys always stay files in the data directory.
enum DatabaseLocation: Sendable, Equatable {
    case sqlite
    case postgres(PostgresURL)

    /// Parses `--database`; nil means SQLite in `--data`.
    init(_ url: String?) throws {
        guard let url, !url.isEmpty else {
            self = .sqlite
            return
        }
        if url.hasPrefix("sqlite:") {
            self = .sqlite
            return
        }
        self = .postgres(try PostgresURL(url))
    }

    func storage(dir: DataDirectory, creating: Bool) async throws -> any ElectionStorage {
        switch self {
        case .sqlite:
            guard creating || dir.isInitialized else {
                throw CommandError("not-initialized", "\(dir.url.path) holds no election; run `ballot-server init --data \(dir.url.path)` first")
            }
            if creating { try dir.create() }
            return try SQLiteStorage(path: dir.databasePath)
        case .postgres(let url):
            return try await PostgresStorage.connect(url, creating: creating)
        }
    }
}

/// `postgres://user[:password]@host[:port]/database` (the password may also come from PGPASSWORD).
struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    let user: String
    let password: String?
    let host: String
    let port: Int
    let database: String

    init(_ text: String) throws {
        guard let url = URL(string: text), let scheme = url.scheme, ["postgres", "postgresql"].contains(scheme),
              let host = url.host, !host.isEmpty else {
            throw CommandError("bad-database-url", "\(text) is not a PostgreSQL URL; pass --database postgres://user@host:port/database")
        }
        let database = String(url.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else {
            throw CommandError("bad-database-url", "\(text) names no database; pass --database postgres://user@host:port/database")
        }
        self.user = url.user ?? "postgres"
        self.password = url.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        self.host = host
        self.port = url.port ?? 5432
        self.database = database
    }

    /// The same server and user, another database (a scratch database beside this one).
    func with(database name: String) -> PostgresURL {
        PostgresURL(user: user, password: password, host: host, port: port, database: name)
    }

    private init(user: String, password: String?, host: String, port: Int, database: String) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
    }

    /// Without the password: for messages and status output.
    var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }
}
