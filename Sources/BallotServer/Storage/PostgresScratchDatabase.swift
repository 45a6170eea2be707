import Foundation
import Logging
import NIOCore
import PostgresNIO

/// A throwaway database beside the one a URL names, for the benchmark and the tests: created
/// empty (needs the CREATEDB privilege), dropped after, like the temporary data directory of an
/// SQLite run. Never used for an election.
struct PostgresScratchDatabase: Sendable {
    /// The database the scratch one was created from (CREATE/DROP DATABASE run there).
    let maintenance: PostgresURL
    /// The fresh, empty database.
    let url: PostgresURL

    private static let logger: Logger = {
        var logger = Logger(label: "evote.postgres.scratch")
        logger.logLevel = .critical
        return logger
    }()

    /// Creates `<prefix>_<random>` on the server of `maintenance`.
    static func create(near maintenance: PostgresURL, prefix: String) async throws -> PostgresScratchDatabase {
        let name = "\(prefix)_\(UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16))"
        try await run(maintenance, "CREATE DATABASE \(name)")
        return PostgresScratchDatabase(maintenance: maintenance, url: maintenance.with(database: name))
    }

    /// Drops the database, ending any connection still open to it.
    func drop() async throws {
        try await Self.run(maintenance, "DROP DATABASE IF EXISTS \(url.database) WITH (FORCE)")
    }

    /// `drop()` for synchronous clean-up (a test's `defer`): blocks the calling thread, never an event loop.
    func dropNow() throws {
        let connection = try PostgresConnection.connect(on: PostgresConnection.defaultEventLoopGroup.any(),
                                                        configuration: Self.configuration(maintenance), id: 1,
                                                        logger: Self.logger).wait()
        defer { try? connection.close().wait() }
        _ = try connection.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(url.database) WITH (FORCE)"), logger: Self.logger).wait()
    }

    /// The process id of one backend of `url`'s server (to find the postmaster in /proc).
    static func backendProcessID(_ url: PostgresURL) async throws -> Int32? {
        let connection = try await PostgresConnection.connect(configuration: configuration(url), id: 1, logger: logger)
        do {
            var pid: Int32?
            for try await row in try await connection.query("SELECT pg_backend_pid()", logger: logger) {
                pid = try row.decode(Int32.self)
            }
            try await connection.close()
            return pid
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// CREATE/DROP DATABASE cannot run inside a transaction: one plain connection for each.
    private static func run(_ url: PostgresURL, _ sql: String) async throws {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration(url), id: 1, logger: logger)
        } catch {
            throw CommandError("database-unavailable", "cannot connect to PostgreSQL at \(url) (\(PostgresStorageError("connecting", error)))")
        }
        do {
            try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw CommandError("database-unavailable", "\(sql) failed at \(url) (\(PostgresStorageError("statement", error)))")
        }
    }

    private static func configuration(_ url: PostgresURL) -> PostgresConnection.Configuration {
        PostgresConnection.Configuration(host: url.host, port: url.port, username: url.user, password: url.password,
                                         database: url.database, tls: .disable)
    }
}
