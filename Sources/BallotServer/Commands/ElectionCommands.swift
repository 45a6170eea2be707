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
        abstract: "Create an election: database, server and commission keys (0600), manifest as log entry 0.")

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
        enum CodingKeys: String, CodingKey {
            case electionHash = "election_hash", electionId = "election_id", districts
            case serverKey = "server_key", commissionKey = "commission_key", dataDirectory = "data_directory"
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
                    throw CommandError("invalid-manifest", "\(manifest) is not a valid manifest: \(e)")
                }
            } else {
                m = try ExampleElection.manifest()
            }
            let dir = DataDirectory(path: dataOption.data)
            let store = try ElectionStore.create(in: dir, manifest: m)
            let result = Result(electionHash: store.electionHash, electionId: m.electionId, districts: m.districts.count,
                                serverKey: store.setup.serverKey.hex, commissionKey: store.setup.commissionKey.hex,
                                dataDirectory: dir.url.path)
            reporter.emit(result) {
                """
                Created election \(m.electionId) (\(m.districts.count) districts) in \(dir.url.path)
                  election hash  \(store.electionHash.hex)
                  server key     \(store.setup.serverKey.hex)
                  commission key \(store.setup.commissionKey.hex)
                Next: ballot-server roll import --data \(dir.url.path) --roll roll.csv --codes-out codes.csv
                """
            }
        }
    }
}

struct RollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roll", abstract: "Voter roll commands.", subcommands: [RollImportCommand.self])
}

struct RollImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import voters (CSV personal_number,district); write one single-use enrollment code per voter.")

    @OptionGroup var dataOption: DataOption
    @Option(help: "Roll CSV with header personal_number,district.")
    var roll: String
    @Option(name: .customLong("codes-out"), help: "Where to write personal_number,district,code (created 0600; must not exist).")
    var codesOut: String
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let voters: Int
        let districts: [RollImport.DistrictCount]
        let codesFile: String
        enum CodingKeys: String, CodingKey { case voters, districts, codesFile = "codes_file" }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let dir = DataDirectory(path: dataOption.data)
            let store = try ElectionStore.open(dir)
            guard let data = FileManager.default.contents(atPath: roll) else {
                throw CommandError("file-not-found", "cannot read roll \(roll); check the path")
            }
            let rows = try RollCSV.parse(String(decoding: data, as: UTF8.self))
            guard !FileManager.default.fileExists(atPath: codesOut) else {
                throw CommandError("codes-file-exists", "\(codesOut) already exists; choose a new file so no codes are lost")
            }
            let (summary, codes) = try store.importRoll(rows, rollSecret: try dir.rollSecret())
            var csv = "personal_number,district,code\n"
            for c in codes { csv += "\(c.personalNumber),\(c.district),\(c.code)\n" }
            try SecretFile.write(codesOut, Array(csv.utf8))
            reporter.emit(Result(voters: rows.count, districts: summary.counts, codesFile: codesOut)) {
                "Imported \(rows.count) voters in \(summary.counts.count) districts; enrollment codes written to \(codesOut) (mode 0600)."
            }
        }
    }
}

/// The roll file: a header `personal_number,district`, then one voter per line.
enum RollCSV {
    static func parse(_ text: String) throws -> [ElectionStore.RollRow] {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let header = lines.first,
              header.trimmingCharacters(in: .whitespaces).lowercased() == "personal_number,district" else {
            throw CommandError("invalid-roll", "the roll's first line must be the header personal_number,district")
        }
        var rows: [ElectionStore.RollRow] = []
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
    /// Where the order was logged (known over HTTP; nil for the local command).
    let logIndex: UInt64?
    /// True when the election was already in that state (a resend after a lost answer).
    let already: Bool
    enum CodingKeys: String, CodingKey { case action, issuedAt = "issued_at", state, logIndex = "log_index", already }
}

/// Where a commission action goes: the data directory (local, with its commission.key) or
/// the server over HTTP as a request signed by the commission key (docs/protocol.md §15).
struct CommissionTarget: ParsableArguments {
    @Option(name: .long, help: "The election's data directory: act locally with DATA/commission.key.")
    var data: String?
    @Option(name: .long, help: "The ballot server, e.g. http://127.0.0.1:8080: send a request signed by the commission key.")
    var server: String?
    @Option(name: .customLong("commission-key"), help: "The commission's key file (PEM, mode 0600); with --server. Default with --data: DATA/commission.key.")
    var commissionKey: String?
    @Option(name: .customLong("ca-file"), help: "With --server over https: also trust the certificates in this PEM file.")
    var caFile: String?

    func validate() throws {
        switch (data, server) {
        case (nil, nil): throw ValidationError("pass --data DIR (on the server's machine) or --server URL with --commission-key FILE")
        case (.some, .some): throw ValidationError("pass either --data or --server, not both")
        case (nil, .some) where commissionKey == nil: throw ValidationError("--server needs --commission-key FILE")
        default: break
        }
    }

    func key() throws -> Ed25519PrivateKey {
        if let commissionKey {
            return try Ed25519PrivateKey(pemRepresentation: String(decoding: try SecretFile.read(commissionKey), as: UTF8.self))
        }
        let dir = DataDirectory(path: data ?? ".")
        guard FileManager.default.fileExists(atPath: dir.commissionKeyPath) else {
            throw CommandError("missing-commission-key", "\(dir.commissionKeyPath) is not there (moved to the commission's machine?); run the command there with --server URL --commission-key FILE")
        }
        return try dir.commissionKey()
    }

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
        if let data = target.data {
            let dir = DataDirectory(path: data)
            let store = try ElectionStore.open(dir)
            let order = try store.changeWindow(action, commissionKey: try target.key())
            reporter.emit(WindowOutcome(action: action.rawValue, issuedAt: order.issuedAt, state: state, logIndex: nil, already: false)) {
                "Election \(store.manifest.electionId) is now \(state) (commission order signed and logged)."
            }
            return
        }
        let (client, election, key) = try await target.signingClient()
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
            reporter.emit(WindowOutcome(action: action.rawValue, issuedAt: order.issuedAt, state: state, logIndex: nil, already: true)) {
                "Election \(election.manifest.electionId) was already \(state); nothing changed."
            }
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
        commandName: "close", abstract: "Close voting: a commission-signed order appended to the log (locally or over HTTP).")
    @OptionGroup var target: CommissionTarget
    @OptionGroup var output: OutputOptions
    func run() async throws { try await changeWindow(.close, target: target, reporter: Reporter(json: output.json)) }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the election's state, roll, enrollments, ballots and latest checkpoint.")
    @OptionGroup var dataOption: DataOption
    @OptionGroup var output: OutputOptions

    struct DistrictStatus: Encodable {
        let district: String
        let roll: Int
        let enrolled: Int
        let ballots: Int
    }

    struct Result: Encodable {
        let electionHash: Digest
        let state: ElectionState
        let logSize: UInt64
        let checkpoint: SignedCheckpoint
        let districts: [DistrictStatus]
        enum CodingKeys: String, CodingKey {
            case electionHash = "election_hash", state, logSize = "log_size", checkpoint, districts
        }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let store = try ElectionStore.open(DataDirectory(path: dataOption.data))
            let counts = try await store.counts()
            let checkpoint = try await store.latestCheckpoint()
            let districts = store.manifest.districts.map {
                DistrictStatus(district: $0.id, roll: counts.rollByDistrict[$0.id] ?? 0,
                               enrolled: counts.enrolledByDistrict[$0.id] ?? 0, ballots: counts.ballotsByDistrict[$0.id] ?? 0)
            }
            let state = try await store.currentState()
            reporter.emit(Result(electionHash: store.electionHash, state: state, logSize: counts.logSize,
                                 checkpoint: checkpoint, districts: districts)) {
                var lines = ["Election \(store.manifest.electionId): \(state.rawValue); log has \(counts.logSize) entries, latest checkpoint size \(checkpoint.checkpoint.treeSize) root \(checkpoint.checkpoint.rootHash.hex.prefix(16))…"]
                for d in districts where d.roll > 0 {
                    lines.append("  \(d.district): roll \(d.roll), enrolled \(d.enrolled), ballots \(d.ballots)")
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
            let store = try ElectionStore.open(DataDirectory(path: dataOption.data))
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
