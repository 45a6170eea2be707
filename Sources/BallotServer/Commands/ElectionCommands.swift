import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import VoterKit
import VotingCore

struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create an election: server and commission keys (0600), a fresh election nonce, the database, and log entry 0.")

    @OptionGroup var dataOption: DataOption
    @Option(help: "Election manifest JSON (default: the bundled example parliamentary election).")
    var manifest: String?
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let electionHash: Digest
        let electionId: String
        let districts: Int
        let serverKey: String
        let commissionKey: String
        let dataDirectory: String
        let database: String
        enum CodingKeys: String, CodingKey {
            case electionHash = "election_hash", electionId = "election_id", districts
            case serverKey = "server_key", commissionKey = "commission_key", dataDirectory = "data_directory", database
        }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let m: ElectionManifest
            if let manifest {
                guard let data = FileManager.default.contents(atPath: manifest) else {
                    throw CommandError("file-not-found", "cannot read manifest \(manifest); check the path")
                }
                do { m = try ElectionManifest.load(jsonData: data) } catch let e as DecodingError {
                    throw CommandError("invalid-manifest", "\(manifest) is not a valid manifest: \(CommandOutput.plain(e))")
                }
            } else {
                m = try ExampleElection.manifest()
            }
            let dir = dataOption.directory
            let store = try await ElectionStore.create(in: dir, database: try dataOption.location(), manifest: m)
            let result = Result(electionHash: store.electionHash, electionId: m.electionId, districts: m.districts.count,
                                serverKey: store.setup.serverKey.hex, commissionKey: store.setup.commissionKey.hex,
                                dataDirectory: dir.url.path, database: store.storage.location)
            reporter.emit(result) {
                """
                Created election \(m.electionId) (\(m.districts.count) districts), keys in \(dir.url.path), database: \(store.storage.location)
                  election hash  \(store.electionHash.hex)   (unique to this election: manifest, keys and a random nonce)
                  server key     \(store.setup.serverKey.hex)
                  commission key \(store.setup.commissionKey.hex)
                Publish these three values out of band. Move commission.key to the commission's own machine once the roll is imported.
                Next: ballot-server roll import --data \(dir.url.path) --roll roll.csv --codes-out codes.csv
                """
            }
        }
    }
}

struct RollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roll", abstract: "Voter roll commands (the commission's registrar).",
        subcommands: [RollImportCommand.self, RollReissueCommand.self])
}

/// The commission key for a local registrar action: `--commission-key FILE` or DATA/commission.key.
private func localCommissionKey(_ file: String?, dir: DataDirectory) throws -> Ed25519PrivateKey {
    if let file { return try Ed25519PrivateKey(pemRepresentation: String(decoding: try SecretFile.read(file), as: UTF8.self)) }
    guard FileManager.default.fileExists(atPath: dir.commissionKeyPath) else {
        throw CommandError("missing-commission-key", "\(dir.commissionKeyPath) is not there (moved to the commission's machine?); pass --commission-key FILE, or run the command there with --server URL --commission-key FILE")
    }
    return try dir.commissionKey()
}

struct RollImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import voters (CSV personal_number,district): one 80-bit single-use code per voter, their commitments signed by the registrar (commission key) into the log.")

    @OptionGroup var dataOption: DataOption
    @Option(help: "Roll CSV with header personal_number,district.")
    var roll: String
    @Option(name: .customLong("codes-out"), help: "Where to write personal_number,district,code,commitment (created 0600; must not exist).")
    var codesOut: String
    @Option(name: .customLong("commission-key"), help: "The commission's key file (default: DATA/commission.key).")
    var commissionKey: String?
    @OptionGroup var output: OutputOptions

    struct DistrictCount: Encodable {
        let district: String
        let voters: Int
    }

    struct Result: Encodable {
        let voters: Int
        let districts: [DistrictCount]
        let codesFile: String
        enum CodingKeys: String, CodingKey { case voters, districts, codesFile = "codes_file" }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let store = try await dataOption.open()
            guard let data = FileManager.default.contents(atPath: roll) else {
                throw CommandError("file-not-found", "cannot read roll \(roll); check the path")
            }
            let lines = try RollCSV.parse(String(decoding: data, as: UTF8.self))
            guard !FileManager.default.fileExists(atPath: codesOut) else {
                throw CommandError("codes-file-exists", "\(codesOut) already exists; choose a new file so no codes are lost")
            }
            let key = try localCommissionKey(commissionKey, dir: dataOption.directory)
            let bar = ProgressBar("code commitments (slow hash)", total: lines.count, enabled: !output.json && lines.count >= 10_000)
            let (counts, codes) = try await store.importRoll(lines, rollSecret: try dataOption.directory.rollSecret(), commissionKey: key) { _ in
                bar.advance(by: 1000)
            }
            bar.finish()
            var csv = "personal_number,district,code,commitment\n"
            for c in codes { csv += "\(c.personalNumber),\(c.district),\(c.code),\(c.commitment.hex)\n" }
            try SecretFile.write(codesOut, Array(csv.utf8))
            reporter.emit(Result(voters: lines.count, districts: counts.map { DistrictCount(district: $0.district, voters: $0.voters) }, codesFile: codesOut)) {
                "Imported \(lines.count) voters in \(counts.count) districts; their code commitments are in the log, signed by the registrar. Codes written to \(codesOut) (mode 0600) for the registration office."
            }
        }
    }
}

struct RollReissueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reissue",
        abstract: "Give one voter a new enrollment code (lost letter, lost wallet before casting): the old code, and the key it enrolled, stop working.")

    @OptionGroup var target: CommissionTarget
    @Option(name: .customLong("personal-number"), help: "The voter's personal number (checked against an identity document).")
    var personalNumber: String
    @Option(name: .customLong("codes-out"), help: "Where to write the new code (created 0600; must not exist).")
    var codesOut: String
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let district: String
        let logIndex: UInt64
        let revokedKey: String?
        let codesFile: String
        enum CodingKeys: String, CodingKey { case district, logIndex = "log_index", revokedKey = "revoked_key", codesFile = "codes_file" }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            guard !FileManager.default.fileExists(atPath: codesOut) else {
                throw CommandError("codes-file-exists", "\(codesOut) already exists; choose a new file so no code is lost")
            }
            let code: String, district: String, commitment: Digest, index: UInt64, revoked: Ed25519PublicKey?
            if target.data != nil {
                let store = try await target.openLocal()
                let done = try await store.reissue(personalNumber: personalNumber, rollSecret: try target.directory.rollSecret(),
                                                   commissionKey: try target.key())
                (code, district, commitment, index, revoked) = (done.code, done.district, done.commitment, done.logIndex, done.revoked)
            } else {
                let (client, election, key) = try await target.signingClient()
                let entry = try await client.rollLookup(personalNumber: personalNumber)
                guard !entry.voted else {
                    throw CommandError("already-voted", "this voter has already voted, so the code can no longer be reissued")
                }
                code = try EnrollmentCode.generate()
                let fresh = try CodeCommitment.make(normalizedCode: EnrollmentCode.normalize(code), electionHash: election.electionHash)
                let order = CodeReissue(district: entry.district, replaces: entry.commitment.value, commitment: fresh,
                                        issuedAt: Timestamp(Date().timeIntervalSince1970 * 1000))
                let signature = try ReissueEntry.sign(order, electionHash: election.electionHash, commissionKey: key)
                let answer = try await client.reissue(ReissueBody(personalNumber: personalNumber, order: order, signature: signature))
                (district, commitment, index, revoked) = (entry.district, fresh.value, answer.logIndex, answer.revokedKey)
            }
            try SecretFile.write(codesOut, Array("personal_number,district,code,commitment\n\(personalNumber),\(district),\(code),\(commitment.hex)\n".utf8))
            reporter.emit(Result(district: district, logIndex: index, revokedKey: revoked?.hex, codesFile: codesOut)) {
                "New code for a voter of district \(district) written to \(codesOut) (mode 0600); the reissue is log entry \(index)"
                    + (revoked.map { "; the key \($0.hex.prefix(16))… it had enrolled is revoked (the voter enrolls again with the new code)." } ?? ".")
            }
        }
    }
}

/// The roll file: a header `personal_number,district`, then one voter per line.
enum RollCSV {
    static func parse(_ text: String) throws -> [ElectionStore.RollLine] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let header = lines.first,
              header.trimmingCharacters(in: .whitespaces).lowercased() == "personal_number,district" else {
            throw CommandError("invalid-roll", "the roll's first line must be the header personal_number,district")
        }
        var rows: [ElectionStore.RollLine] = []
        for (offset, line) in lines.dropFirst().enumerated() {
            let lineNumber = offset + 2
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard fields.count == 2 else {
                throw CommandError("invalid-roll", "line \(lineNumber): expected 2 fields personal_number,district")
            }
            rows.append(.init(personalNumber: fields[0], district: fields[1], line: lineNumber))
        }
        return rows
    }
}

struct WindowOutcome: Encodable {
    let action: String
    let issuedAt: UInt64
    let state: String
    /// Where the order was logged; nil when nothing changed.
    let logIndex: UInt64?
    /// True when the election was already in that state (nothing changed).
    let already: Bool
    enum CodingKeys: String, CodingKey { case action, issuedAt = "issued_at", state, logIndex = "log_index", already }
}

/// Where a commission action goes: the data directory (local, with its commission.key) or
/// the server over HTTP as a request signed by the commission key (docs/protocol.md §15).
struct CommissionTarget: ParsableArguments {
    @Option(name: .long, help: "The election's data directory: act locally with DATA/commission.key (or --commission-key).")
    var data: String?
    @Option(name: .long, help: "With --data: a PostgreSQL database, postgres://user@host:port/db (default: SQLite in --data).")
    var database: String?
    @Option(name: .long, help: "The ballot server, e.g. http://127.0.0.1:8080: send a request signed by the commission key.")
    var server: String?
    @Option(name: .customLong("commission-key"), help: "The commission's key file (PEM, mode 0600); needed with --server. Default with --data: DATA/commission.key.")
    var commissionKey: String?
    @Option(name: .customLong("ca-file"), help: "With --server over https: also trust the certificates in this PEM file.")
    var caFile: String?

    func validate() throws {
        switch (data, server) {
        case (nil, nil): throw ValidationError("pass --data DIR (on the server's machine) or --server URL with --commission-key FILE")
        case (.some, .some): throw ValidationError("pass either --data or --server, not both")
        case (nil, .some) where commissionKey == nil: throw ValidationError("--server needs --commission-key FILE")
        case (nil, .some) where database != nil: throw ValidationError("--database goes with --data (the server knows its own database)")
        default: break
        }
    }

    var directory: DataDirectory { DataDirectory(path: data ?? ".") }

    func openLocal() async throws -> ElectionStore {
        try await ElectionStore.open(directory, database: try DatabaseLocation(database))
    }

    func key() throws -> Ed25519PrivateKey { try localCommissionKey(commissionKey, dir: directory) }

    /// A client for `--server` that signs as the commission, after checking the key is this election's.
    func signingClient() async throws -> (BallotServerClient, ElectionInfo, Ed25519PrivateKey) {
        let client = try BallotServerClient(baseURL: server ?? "", caFile: caFile)
        let election = try await VoterActions.fetchElection(client)
        let key = try key()
        guard key.publicKey == election.commissionKey else {
            throw CommandError("key-mismatch", "\(commissionKey ?? "the key file") is not the commission key published for this election; use the commission.key made by `ballot-server init`")
        }
        return (client.signing(as: .commission, key: key, electionHash: election.electionHash), election, key)
    }
}

private func changeWindow(_ action: WindowChange.Action, target: CommissionTarget, reporter: Reporter) async throws {
    try await reporter.run {
        let state = action == .open ? "open" : "closed"
        let already = { (id: String, issuedAt: UInt64) in
            reporter.emit(WindowOutcome(action: action.rawValue, issuedAt: issuedAt, state: state, logIndex: nil, already: true)) {
                "Election \(id) was already \(state); nothing changed."
            }
        }
        if target.data != nil {
            let store = try await target.openLocal()
            let key = try target.key()
            // The same answer as over HTTP: an election already in the asked state is reported, not refused.
            if try await store.currentState().rawValue == state { return already(store.manifest.electionId, store.clock.now()) }
            let (order, index) = try await store.changeWindow(action, commissionKey: key)
            reporter.emit(WindowOutcome(action: action.rawValue, issuedAt: order.issuedAt, state: state, logIndex: index, already: false)) {
                "Election \(store.manifest.electionId) is now \(state): the commission's signed order is at log index \(index)."
            }
            return
        }
        let (client, election, key) = try await target.signingClient()
        if election.state.rawValue == state { return already(election.manifest.electionId, Timestamp(Date().timeIntervalSince1970 * 1000)) }
        let order = try WindowChange.sign(electionHash: election.electionHash, action: action,
                                          issuedAt: Timestamp(Date().timeIntervalSince1970 * 1000), commissionKey: key)
        do {
            let answer = try await client.changeWindow(order)
            reporter.emit(WindowOutcome(action: action.rawValue, issuedAt: order.issuedAt, state: state, logIndex: answer.logIndex, already: false)) {
                "Election \(election.manifest.electionId) is now \(state): the commission's signed order is at log index \(answer.logIndex)."
            }
        } catch let error as VoterError where error.code == "invalid-state" {
            // A resend after a lost answer finds the order already applied: report that, not a failure.
            let now = try await client.election()
            guard now.state.rawValue == state else { throw error }
            already(election.manifest.electionId, order.issuedAt)
        }
    }
}

struct OpenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "open", abstract: "Open voting: a commission-signed order appended to the log (locally or over HTTP).")
    @OptionGroup var target: CommissionTarget
    @OptionGroup var output: OutputOptions
    func run() async throws { try await changeWindow(.open, target: target, reporter: Reporter(json: output.json)) }
}

struct CloseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "close",
        abstract: "Close voting (for good: a closed election never reopens): the order, the supersession reveals and the aggregate, in one transaction.")
    @OptionGroup var target: CommissionTarget
    @OptionGroup var output: OutputOptions
    func run() async throws { try await changeWindow(.close, target: target, reporter: Reporter(json: output.json)) }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the election's state, the key ceremony, the roll, enrollments, ballots, decryptions and the latest checkpoint.")
    @OptionGroup var dataOption: DataOption
    @OptionGroup var output: OutputOptions

    struct DistrictStatus: Encodable {
        let district: String
        let roll: Int
        let enrolled: Int
        let revoked: Int
        let ballots: Int
        let supervised: Int
        let superseded: Int
    }

    struct TrusteeStatus: Encodable {
        let index: UInt32
        let name: String
        let dealt: Bool
        let verified: Bool
        let complaints: [UInt32]
        let decrypted: Bool
    }

    struct Ceremony: Encodable {
        let count: Int
        let quorum: Int
        let trustees: [TrusteeStatus]
        let electionKey: Bool
        enum CodingKeys: String, CodingKey { case count, quorum, trustees, electionKey = "election_key" }
    }

    struct Result: Encodable {
        let electionHash: Digest
        let state: ElectionState
        let database: String
        let logSize: UInt64
        let checkpoint: SignedCheckpoint
        let ceremony: Ceremony
        let stations: Int
        let decryptions: Int
        let results: Bool
        let districts: [DistrictStatus]
        enum CodingKeys: String, CodingKey {
            case electionHash = "election_hash", state, database, logSize = "log_size", checkpoint, ceremony, stations, decryptions, results, districts
        }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let store = try await dataOption.open()
            let counts = try await store.counts()
            let checkpoint = try await store.latestCheckpoint()
            let info = try await store.trusteesInfo()
            let tally = try await store.tallyInfo()
            let stations = try await store.stations()
            let state = try await store.currentState()
            let districts = store.manifest.districts.map {
                DistrictStatus(district: $0.id, roll: counts.rollByDistrict[$0.id] ?? 0, enrolled: counts.enrolledByDistrict[$0.id] ?? 0,
                               revoked: counts.revokedByDistrict[$0.id] ?? 0, ballots: counts.ballotsByDistrict[$0.id] ?? 0,
                               supervised: counts.supervisedByDistrict[$0.id] ?? 0, superseded: counts.supersededByDistrict[$0.id] ?? 0)
            }
            let trustees = info.trustees.map { t in
                let v = info.verifications.first { $0.index == t.index }
                return TrusteeStatus(index: t.index, name: t.name, dealt: info.dealings.contains { $0.index == t.index },
                                     verified: v != nil, complaints: v?.complaints ?? [],
                                     decrypted: tally.decryptions.contains { $0.index == t.index })
            }
            let ceremony = Ceremony(count: info.policy.count, quorum: info.policy.quorum, trustees: trustees, electionKey: info.electionKey != nil)
            let result = Result(electionHash: store.electionHash, state: state, database: store.storage.location, logSize: counts.logSize,
                                checkpoint: checkpoint, ceremony: ceremony, stations: stations.count, decryptions: tally.decryptions.count,
                                results: tally.results != nil, districts: districts)
            reporter.emit(result) {
                var lines = ["Election \(store.manifest.electionId): \(state.rawValue); \(store.storage.location); log has \(counts.logSize) entries, latest checkpoint size \(checkpoint.checkpoint.treeSize) root \(checkpoint.checkpoint.rootHash.hex.prefix(16))…"]
                lines.append("Key ceremony: \(trustees.count) of \(info.policy.count) trustees registered (quorum \(info.policy.quorum)); election key \(info.electionKey == nil ? "not yet derived" : "published")")
                for t in trustees {
                    let complaints = t.complaints.isEmpty ? "" : " complained about \(t.complaints.map(String.init).joined(separator: ", "))"
                    lines.append("  trustee \(t.index) \(t.name): \(t.dealt ? "dealt" : "not dealt"), \(t.verified ? "verified" : "not verified")\(complaints)\(t.decrypted ? ", decrypted" : "")")
                }
                if state == .closed || !tally.decryptions.isEmpty {
                    lines.append("Decryptions: \(tally.decryptions.count) of the \(info.policy.quorum) needed; results \(tally.results == nil ? "not yet published" : "published and signed")")
                }
                if !stations.isEmpty { lines.append("Polling stations registered: \(stations.count)") }
                for d in districts where d.roll > 0 {
                    var line = "  \(d.district): roll \(d.roll), enrolled \(d.enrolled)"
                    if d.revoked > 0 { line += " (+\(d.revoked) revoked)" }
                    line += ", ballots \(d.ballots)"
                    if d.supervised > 0 { line += ", supervised \(d.supervised) (superseding \(d.superseded))" }
                    lines.append(line)
                }
                return lines.joined(separator: "\n")
            }
        }
    }
}

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write the public election record (JSON Lines, docs/verification.md) for `voter audit --record`.")

    @OptionGroup var dataOption: DataOption
    @Option(help: "Record file to create (never overwritten).")
    var out: String
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let file: String
        let entries: UInt64
        let checkpoints: UInt64
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let store = try await dataOption.open()
            // Created exclusively (never overwritten); public, so 0644. A failed export removes its partial file.
            let fd = Glibc.open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw CommandError("file-exists", "cannot create \(out) (\(String(cString: strerror(errno)))); a record is never overwritten, so choose a new file")
            }
            let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
            let end: RecordEnd
            do {
                end = try await store.exportRecord { data in try handle.write(contentsOf: data) }
                try handle.synchronize()
            } catch {
                try? FileManager.default.removeItem(atPath: out)
                throw error
            }
            reporter.emit(Result(file: out, entries: end.entries, checkpoints: end.checkpoints)) {
                "Wrote \(out): \(end.entries) log entries and \(end.checkpoints) signed checkpoints. Check it with: voter audit --record \(out)"
            }
        }
    }
}
