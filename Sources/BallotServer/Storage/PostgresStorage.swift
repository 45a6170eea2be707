import VotingCore

/// PostgreSQL storage for several server instances (issue 12, in progress on this branch).
enum PostgresStorage {
    static func connect(_ url: PostgresURL, creating: Bool) async throws -> any ElectionStorage {
        throw CommandError("postgres-unavailable", "PostgreSQL storage is not built into this server yet; use SQLite (omit --database)")
    }
}
