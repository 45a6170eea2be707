import Foundation
import GRDB
import VotingCore

/// The trustees' ceremony and the tally, stored as log entries and read back by kind.
extension ElectionStore {
    /// Decoded payloads of every log entry of `kind`, in log order.
    static func payloads(_ db: Database, kind: LogEntryKind) throws -> [[UInt8]] {
        try Data.fetchAll(db.cachedStatement(sql: "SELECT data FROM log_entries WHERE kind = ? ORDER BY idx"), arguments: [kind.rawValue])
            .map { try LogEntry.decode(canonical: [UInt8]($0)).payload }
    }

    static func trustees(_ db: Database) throws -> [TrusteeRegistration] {
        try payloads(db, kind: .trustee).map { try TrusteeRegistration.decode(canonical: $0) }.sorted { $0.index < $1.index }
    }

    static func dealings(_ db: Database) throws -> [DealerPublication] {
        try payloads(db, kind: .dealing).map { try DealerPublication.decode(payload: $0).0 }.sorted { $0.index < $1.index }
    }

    static func verifications(_ db: Database) throws -> [ShareVerification] {
        try payloads(db, kind: .verification).map { try ShareVerification.decode(payload: $0).0 }.sorted { $0.index < $1.index }
    }

    static func electionKey(_ db: Database) throws -> ElectionKeyRecord? {
        try payloads(db, kind: .electionKey).last.map { try ElectionKeyRecord.decode(canonical: $0) }
    }

    static func storedAggregate(_ db: Database) throws -> TallyAggregate? {
        try payloads(db, kind: .aggregate).last.map { try TallyAggregate.decode(canonical: $0) }
    }

    static func decryptions(_ db: Database) throws -> [PartialDecryption] {
        try payloads(db, kind: .decryption).map { try PartialDecryption.decode(payload: $0).0 }.sorted { $0.index < $1.index }
    }

    static func results(_ db: Database) throws -> SignedResults? {
        try payloads(db, kind: .results).last.map { try SignedResults.decode(payload: $0) }
    }

    /// The joint key, cached once published (it never changes afterwards).
    func electionKey() async throws -> GroupElement? {
        if let cached = keyCache.withLock({ $0 }) { return cached }
        let record = try await pool.read { db in try Self.electionKey(db) }
        if let key = record?.key { keyCache.withLock { $0 = key } }
        return record?.key
    }

    func trusteesInfo() async throws -> TrusteesInfo {
        try await pool.read { db in
            TrusteesInfo(policy: self.manifest.trustees, trustees: try Self.trustees(db), dealings: try Self.dealings(db),
                         verifications: try Self.verifications(db), electionKey: try Self.electionKey(db))
        }
    }

    func tallyInfo() async throws -> TallyInfo {
        try await pool.read { db in
            let index = try Int64.fetchOne(db, sql: "SELECT MAX(idx) FROM log_entries WHERE kind = ?", arguments: [LogEntryKind.aggregate.rawValue])
            return TallyInfo(aggregate: try Self.storedAggregate(db), aggregateIndex: index.map { UInt64($0) },
                             decryptions: try Self.decryptions(db), results: try Self.results(db))
        }
    }

    /// The sum of every counted ballot's ciphertexts per district (spoiled ballots are not counted).
    func aggregate(_ db: Database) throws -> TallyAggregate {
        var ballots: [(district: String, ciphertexts: [Ciphertext])] = []
        for payload in try Self.payloads(db, kind: .ballot) {
            let ballot = try SignedBallot.decode(canonical: payload).ballot
            ballots.append((ballot.district, ballot.content.ciphertexts))
        }
        return TallyAggregate.sum(manifest: manifest, ballots: ballots)
    }

    // MARK: commission

    /// Registers a trustee's public keys (the local commission command, before voting opens).
    func registerTrustee(_ registration: TrusteeRegistration) throws {
        let hash = electionHash
        let key = serverKey
        let now = clock.now()
        let manifest = self.manifest
        try pool.write { db in
            let log = try LogAppender(db: db, electionHash: hash, timestamp: now)
            _ = try Self.recordTrustee(db: db, log: log, registration: registration, manifest: manifest).mapError(CommandError.init).get()
            _ = try log.seal(serverKey: key)
        }
    }

    /// The registration rules inside a transaction (local command or group-commit batch).
    static func recordTrustee(db: Database, log: LogAppender, registration: TrusteeRegistration,
                              manifest: ElectionManifest) throws -> Result<Recorded, APIError> {
        let policy = manifest.trustees
        guard (1...UInt32(policy.count)).contains(registration.index) else {
            return .failure(.invalidTrustee("trustee index must be 1 to \(policy.count) (the manifest's trustees.count)"))
        }
        guard !registration.name.isEmpty, registration.name.utf8.count <= 200 else {
            return .failure(.invalidTrustee("a trustee name is 1 to 200 bytes"))
        }
        guard try state(db) == .setup else {
            return .failure(APIError(status: .conflict, code: "election-not-in-setup",
                                     message: "Trustees can only be registered before voting opens."))
        }
        let existing = try trustees(db)
        if existing.contains(registration) {
            return .success(.existing(try indexOf(db, kind: .trustee, matching: registration.canonicalBytes)))
        }
        guard !existing.contains(where: { $0.index == registration.index }) else {
            return .failure(APIError(status: .conflict, code: "trustee-exists",
                                     message: "Trustee \(registration.index) is already registered with other keys; a registration cannot be replaced."))
        }
        guard try dealings(db).isEmpty else {
            return .failure(APIError(status: .conflict, code: "ceremony-started",
                                     message: "The ceremony has started; the trustees can no longer change."))
        }
        return .success(.new(try log.append(kind: .trustee, payload: registration.canonicalBytes).index))
    }

    // MARK: trustee publications (inside a group-commit batch)

    static func recordDealing(db: Database, log: LogAppender, publication: DealerPublication,
                              manifest: ElectionManifest, electionHash: Digest) throws -> Result<Recorded, APIError> {
        guard try state(db) == .setup else { return .failure(.ceremonyClosed) }
        let trustees = try trustees(db)
        guard trustees.count == manifest.trustees.count else { return .failure(.trusteesIncomplete(trustees.count, manifest.trustees.count)) }
        if let problem = publication.problem(electionHash: electionHash, quorum: manifest.trustees.quorum, trustees: trustees) {
            return .failure(.badPublication(problem))
        }
        if let existing = try dealings(db).first(where: { $0.index == publication.index }) {
            guard existing == publication else { return .failure(.alreadyPublished("trustee \(publication.index) has already published its dealing")) }
            return .success(.existing(try indexOf(db, kind: .dealing, matching: publication.payload(electionHash: electionHash))))
        }
        let appended = try log.append(kind: .dealing, payload: publication.payload(electionHash: electionHash))
        return .success(.new(appended.index))
    }

    /// Records a verdict; when every trustee has accepted every share, derives and logs the
    /// joint election key in the same transaction.
    static func recordVerification(db: Database, log: LogAppender, verification: ShareVerification,
                                   manifest: ElectionManifest, electionHash: Digest) throws -> Result<Recorded, APIError> {
        guard try state(db) == .setup else { return .failure(.ceremonyClosed) }
        let trustees = try trustees(db)
        guard let trustee = trustees.first(where: { $0.index == verification.index }) else {
            return .failure(.notATrustee(verification.index))
        }
        guard trustee.signingKey.isValidSignature(verification.signature, for: verification.signedBytes(electionHash: electionHash)) else {
            return .failure(.badPublication("the verification of trustee \(verification.index) is not signed by its registered key"))
        }
        let dealings = try dealings(db)
        guard dealings.count == manifest.trustees.count else {
            return .failure(APIError(status: .conflict, code: "dealings-incomplete",
                                     message: "\(dealings.count) of \(manifest.trustees.count) trustees have published their dealings; verify shares once all have."))
        }
        let payload = verification.payload(electionHash: electionHash)
        if let existing = try verifications(db).first(where: { $0.index == verification.index }) {
            guard existing == verification else { return .failure(.alreadyPublished("trustee \(verification.index) has already published its verification")) }
            return .success(.existing(try indexOf(db, kind: .verification, matching: payload)))
        }
        let appended = try log.append(kind: .verification, payload: payload)
        // Read after the append: this transaction already sees the new verification.
        let all = try verifications(db)
        if all.count == manifest.trustees.count, all.allSatisfy({ $0.complaints.isEmpty }),
           let record = ElectionKeyRecord.derive(from: dealings, trustees: trustees.map(\.index)) {
            _ = try log.append(kind: .electionKey, payload: record.canonicalBytes)
        }
        return .success(.new(appended.index))
    }

    /// Records a partial decryption; when a quorum is in, combines them and logs the results,
    /// signed by the server, in the same transaction.
    static func recordDecryption(db: Database, log: LogAppender, partial: PartialDecryption, manifest: ElectionManifest,
                                 electionHash: Digest, serverKey: Ed25519PrivateKey) throws -> Result<Recorded, APIError> {
        guard let aggregate = try storedAggregate(db) else {
            return .failure(APIError(status: .conflict, code: "tally-not-ready", message: "Voting has not closed, so there is no aggregate to decrypt yet; try again after the close."))
        }
        guard let trustee = try trustees(db).first(where: { $0.index == partial.index }) else { return .failure(.notATrustee(partial.index)) }
        guard let key = try electionKey(db), Int(partial.index) <= key.publicShares.count else { return .failure(.notATrustee(partial.index)) }
        if let problem = partial.problem(electionHash: electionHash, aggregate: aggregate,
                                         publicShare: key.publicShares[Int(partial.index) - 1], signingKey: trustee.signingKey) {
            return .failure(.badPublication(problem))
        }
        let payload = partial.payload(electionHash: electionHash)
        let existing = try decryptions(db)
        if let previous = existing.first(where: { $0.index == partial.index }) {
            guard previous == partial else { return .failure(.alreadyPublished("trustee \(partial.index) has already published its partial decryption")) }
            return .success(.existing(try indexOf(db, kind: .decryption, matching: payload)))
        }
        let appended = try log.append(kind: .decryption, payload: payload)
        let all = existing + [partial]
        if try results(db) == nil, all.count >= manifest.trustees.quorum {
            let quorum = Array(all.sorted { $0.index < $1.index }.prefix(manifest.trustees.quorum))
            var roll: [String: UInt32] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT district, COUNT(*) AS n FROM roll GROUP BY district") {
                roll[row["district"]] = row["n"]
            }
            guard let results = ElectionResults.combine(manifest: manifest, aggregate: aggregate, partials: quorum, roll: roll) else {
                throw APIError.internalError
            }
            let signed = SignedResults(results: results, signature: try serverKey.signature(for: results.canonicalBytes))
            _ = try log.append(kind: .results, payload: signed.payload)
        }
        return .success(.new(appended.index))
    }

    private static func indexOf(_ db: Database, kind: LogEntryKind, matching payload: [UInt8]) throws -> UInt64 {
        for row in try Row.fetchAll(db, sql: "SELECT idx, data FROM log_entries WHERE kind = ? ORDER BY idx", arguments: [kind.rawValue]) {
            let data: Data = row["data"]
            if try LogEntry.decode(canonical: [UInt8](data)).payload == payload {
                let idx: Int64 = row["idx"]
                return UInt64(idx)
            }
        }
        throw APIError.internalError
    }
}

extension APIError {
    static func invalidTrustee(_ problem: String) -> APIError {
        APIError(status: .badRequest, code: "invalid-trustee", message: "The trustee registration is invalid: \(problem). Fix the registration file and send it again.")
    }
    static let ceremonyClosed = APIError(status: .conflict, code: "ceremony-closed",
                                         message: "The key ceremony is over: voting has opened. Nothing more can be published for it.")
    static func trusteesIncomplete(_ have: Int, _ need: Int) -> APIError {
        APIError(status: .conflict, code: "trustees-incomplete",
                 message: "\(have) of \(need) trustees are registered; the commission must register all of them before dealing starts.")
    }
    static func notATrustee(_ index: UInt32) -> APIError {
        APIError(status: .forbidden, code: "not-a-trustee", message: "Trustee \(index) is not registered for this election; check the key file's index.")
    }
    static func badPublication(_ problem: String) -> APIError {
        APIError(status: .badRequest, code: "bad-proof", message: "The publication was refused: \(problem). Nothing was recorded.")
    }
    static func alreadyPublished(_ what: String) -> APIError {
        APIError(status: .conflict, code: "already-published", message: "\(what.prefix(1).uppercased() + what.dropFirst()) with different content; a publication cannot be replaced.")
    }
}
