import Foundation
public import VotingCore

/// A polling station's key file (mode 0600): its index, name and Ed25519 signing seed. It
/// lives here, not in the server, because `voter simulate --station-key` casts supervised
/// ballots too (docs/protocol.md §16).
public struct StationKeyFile: Codable, Sendable {
    public let index: UInt32
    public let name: String
    let signingSeed: HexBytes

    enum CodingKeys: String, CodingKey {
        case index, name
        case signingSeed = "signing_seed"
    }

    public static func generate(index: UInt32, name: String) throws -> StationKeyFile {
        StationKeyFile(index: index, name: name, signingSeed: HexBytes(try Ed25519PrivateKey().rawRepresentation))
    }

    public func signingKey() throws -> Ed25519PrivateKey { try Ed25519PrivateKey(rawRepresentation: signingSeed.bytes) }

    /// The public file the commission registers (`ballot-server station add --public`).
    public var registration: StationRegistration {
        get throws { StationRegistration(index: index, name: name, signingKey: try signingKey().publicKey) }
    }

    public static func load(path: String) throws -> StationKeyFile {
        let keygen = L("error.station-keygen")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VoterError("no-key-file", L("error.station-key-unreadable", ["path": path, "advice": keygen]))
        }
        if (try? JSONDecoder().decode(StationRegistration.self, from: data)) != nil {
            throw VoterError("public-file-as-key", L("error.station-public-file", ["path": path]))
        }
        try PrivateFile.checkPermissions(path, what: "station key file", missing: keygen)
        do { return try JSONDecoder().decode(StationKeyFile.self, from: data) } catch {
            throw VoterError("bad-key-file", L("error.not-a-station-key", ["path": path, "reason": CommandOutput.plain(error), "advice": keygen]))
        }
    }

    /// Writes the key file, mode 0600, never over an existing file.
    public func save(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try PrivateFile.create(path, Array(try encoder.encode(self)))
    }
}

/// What a polling station's device does, with only its key file and public data from the server.
public enum StationActions {
    /// Casts the supervised ballot of the voter with `personalNumber` (whose identity document
    /// the poll worker has checked): looks up the voter's district, encrypts `selections` with
    /// proofs as a voter's device would, signs as the station, sends, and verifies the receipt.
    /// `client` must not be signing yet; this signs its requests as the station.
    public static func cast(client plain: BallotServerClient, election: ElectionInfo, key: StationKeyFile,
                            personalNumber: String, selections: [String]) async throws -> SupervisedResponse {
        let signingKey = try key.signingKey()
        let client = plain.signing(as: .station(key.index), key: signingKey, electionHash: election.electionHash)
        let lookup = try await client.stationLookup(personalNumber: personalNumber)
        guard let district = election.manifest.district(lookup.district), let electionKey = election.electionKey else {
            throw VoterError("ceremony-incomplete", L("error.station-no-election-key"))
        }
        if let problem = Selections.problem(selections, in: district) {
            throw VoterError("invalid-choice", L("error.station-invalid-choice", ["problem": "\(problem)", "district": district.id, "name": district.displayName(Lang.current.rawValue)]))
        }
        let (ballot, _) = try VoterActions.encrypt(selections: selections, district: district, electionHash: election.electionHash, electionKey: electionKey)
        let signature = try SupervisedBallot.sign(ballot: ballot, station: key.index, key: signingKey)
        let answer = try await client.castSupervised(SupervisedBallotBody(personalNumber: personalNumber, ballot: ballot.wire, signature: signature))
        let checks = ReceiptVerifier(serverKey: election.serverKey, electionHash: election.electionHash)
            .verify(receipt: answer.logged.receipt, entryBytes: answer.logged.entry.bytes, inclusionProof: answer.logged.inclusionProof)
        guard checks.allSatisfy(\.passed), answer.trackingCode == ballot.trackingCode else {
            throw VoterError("receipt-invalid", L("error.supervised-receipt-failed", ["checks": checks.filter { !$0.passed }.map(\.localizedDetail).joined(separator: "; ")]))
        }
        return answer
    }
}
