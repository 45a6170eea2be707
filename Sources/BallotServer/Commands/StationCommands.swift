import ArgumentParser
import Foundation
import VoterKit
import VotingCore

/// `ballot-server station …`: polling stations (e.g. consulates) where a voter, after the poll
/// worker has checked an identity document, casts a supervised ballot that supersedes the
/// voter's remote ballot (docs/protocol.md §16).
struct StationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "station",
        abstract: "Polling stations: supervised in-person ballots that supersede a remote ballot.",
        subcommands: [StationKeygenCommand.self, StationAddCommand.self, StationCastCommand.self])
}

struct StationKeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Create a polling station's key file (mode 0600) and its public file for the commission.")

    @Option(help: "Station number, 1 or more, unique in the election.")
    var index: UInt32
    @Option(help: "The station's name as shown to observers, e.g. \"Consulate in Moscow\".")
    var name: String
    @Option(help: "Private key file to create (never overwritten).")
    var out: String
    @Option(name: .customLong("public-out"), help: "Public file to give the commission (`station add --public`).")
    var publicOut: String
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard index >= 1 else { throw ValidationError("--index starts at 1") }
        guard !name.isEmpty, name.utf8.count <= 200 else { throw ValidationError("--name must be 1 to 200 bytes") }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let key = try StationKeyFile.generate(index: index, name: name)
            try key.save(path: out)
            let registration = try key.registration
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(registration).write(to: URL(fileURLWithPath: publicOut))
            reporter.emit(registration) {
                "Station \(index) key written to \(out) (mode 0600); give \(publicOut) to the commission (`ballot-server station add`)."
            }
        }
    }
}

struct StationAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Commission: register a polling station's public key in the log (before the close; locally or over HTTP).")

    @OptionGroup var target: CommissionTarget
    @Option(name: .customLong("public"), help: "The station's public file from `station keygen`.")
    var publicFile: String
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let index: UInt32
        let name: String
        let logIndex: UInt64
        let unchanged: Bool
        enum CodingKeys: String, CodingKey { case index, name, logIndex = "log_index", unchanged }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            guard let data = FileManager.default.contents(atPath: publicFile) else {
                throw CommandError("file-not-found", "cannot read \(publicFile); pass the --public-out file of `ballot-server station keygen`")
            }
            let station: StationRegistration
            do { station = try JSONDecoder().decode(StationRegistration.self, from: data) } catch {
                throw CommandError("invalid-station", "\(publicFile) is not a station's public file (\(CommandOutput.plain(error)))")
            }
            let recorded: ElectionRules.Recorded
            if target.data != nil {
                let store = try await target.openLocal()
                recorded = try await store.appointStation(station, commissionKey: try target.key())
            } else {
                let (client, election, key) = try await target.signingClient()
                let known = try await client.stations().contains(station)
                let signature = try key.signature(for: station.appointmentBytes(electionHash: election.electionHash))
                let answer = try await client.appointStation(StationAppointmentBody(station: station, signature: signature))
                recorded = known ? .existing(answer.logIndex) : .new(answer.logIndex)
            }
            let unchanged = if case .existing = recorded { true } else { false }
            reporter.emit(Result(index: station.index, name: station.name, logIndex: recorded.index, unchanged: unchanged)) {
                unchanged ? "Station \(station.index) (\(station.name)) was already registered with this key; nothing changed."
                          : "Registered station \(station.index) (\(station.name)): log entry \(recorded.index), signed by the commission."
            }
        }
    }
}

struct StationCastCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cast",
        abstract: "At a polling station, after checking the voter's identity document: encrypt and cast the voter's supervised ballot.")

    @Option(help: "The ballot server, e.g. https://…")
    var server: String
    @Option(name: .customLong("ca-file"), help: "With https: also trust the certificates in this PEM file.")
    var caFile: String?
    @Option(help: "The station's key file.")
    var key: String
    @Option(name: .customLong("personal-number"), help: "The voter's personal number, as on the identity document.")
    var personalNumber: String
    @Option(name: .customLong("choice"), help: "Option id to mark (repeat for contests with more than one selection).")
    var choices: [String]
    @Option(name: .customLong("receipt-out"), help: "Where to save the supervised ballot's receipt (default: supervised-<short code>.json).")
    var receiptOut: String?
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard !choices.isEmpty else { throw ValidationError("give at least one --choice") }
    }

    struct Result: Encodable {
        let trackingCode: TrackingCode
        let shortCode: String
        let logIndex: UInt64
        let supersededRemote: Bool
        let receipt: String
        enum CodingKeys: String, CodingKey {
            case trackingCode = "tracking_code", shortCode = "short_code", logIndex = "log_index", supersededRemote = "superseded_remote", receipt
        }
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let stationKey = try StationKeyFile.load(path: key)
            let client = try BallotServerClient(baseURL: server, caFile: caFile)
            let election = try await VoterActions.fetchElection(client)
            let answer = try await StationActions.cast(client: client, election: election, key: stationKey,
                                                       personalNumber: personalNumber, selections: choices)
            let path = receiptOut ?? "supervised-\(answer.shortCode).json"
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            try encoder.encode(answer).write(to: URL(fileURLWithPath: path))
            reporter.emit(Result(trackingCode: answer.trackingCode, shortCode: answer.shortCode, logIndex: answer.logged.receipt.logIndex,
                                 supersededRemote: answer.superseded != nil, receipt: path)) {
                var text = "✓ Supervised ballot \(answer.shortCode) recorded as log entry \(answer.logged.receipt.logIndex) (receipt verified, saved to \(path))."
                if answer.superseded != nil {
                    text += "\n  The voter's earlier internet ballot will not be counted; this one is. The public record shows it only after the close."
                }
                return text
            }
        }
    }
}
