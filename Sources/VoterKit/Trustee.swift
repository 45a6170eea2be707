import Foundation
public import VotingCore

/// A trustee's private key file (mode 0600): the Ed25519 seed that signs its publications
/// and the P-256 secret that receives shares. Every other secret the trustee uses (its
/// polynomial, proof nonces) is derived from these, so the file is all a trustee keeps.
public struct TrusteeKeyFile: Codable, Sendable {
    public let index: UInt32
    public let name: String
    let signingSeed: HexBytes
    let encryptionSecret: Scalar

    enum CodingKeys: String, CodingKey {
        case index, name
        case signingSeed = "signing_seed"
        case encryptionSecret = "encryption_secret"
    }

    public static func generate(index: UInt32, name: String) throws -> TrusteeKeyFile {
        TrusteeKeyFile(index: index, name: name, signingSeed: HexBytes(try Ed25519PrivateKey().rawRepresentation),
                       encryptionSecret: try Scalar.random())
    }

    public func signingKey() throws -> Ed25519PrivateKey { try Ed25519PrivateKey(rawRepresentation: signingSeed.bytes) }

    /// The public registration, signed by the trustee's own signing key.
    public var registration: TrusteeRegistration {
        get throws {
            try TrusteeRegistration.signed(index: index, name: name, signingKey: try signingKey(), encryptionKey: .base(encryptionSecret))
        }
    }

    /// A secret scalar for `label` and `t` in this election: HMAC-SHA-256 keyed with the
    /// trustee's secrets, reduced mod n (deterministic, like RFC 6979 nonces).
    public func derive(_ label: String, _ t: UInt32, electionHash: Digest) throws -> Scalar {
        var message = Array("evote.v2.trustee-derivation\u{0}".utf8) + electionHash.bytes
        message += Array(label.utf8) + [0]
        message += [UInt8(truncatingIfNeeded: t >> 24), UInt8(truncatingIfNeeded: t >> 16), UInt8(truncatingIfNeeded: t >> 8), UInt8(truncatingIfNeeded: t)]
        let key = signingSeed.bytes + encryptionSecret.bytes
        let wide = HMACSHA256.authenticate(message, key: key).bytes + HMACSHA256.authenticate(message + [1], key: key).bytes
        let s = try Scalar(reducing: wide)
        return s.isZero ? .one : s
    }

    public static func load(path: String) throws -> TrusteeKeyFile {
        let keygen = "make one with `ballot-server trustee keygen --out FILE` and pass that file to --key"
        guard FileManager.default.fileExists(atPath: path) else {
            throw VoterError("no-key-file", "the trustee key file \(path) does not exist; \(keygen)")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VoterError("no-key-file", "cannot read the trustee key file \(path); check its permissions")
        }
        if (try? JSONDecoder().decode(TrusteeRegistration.self, from: data)) != nil {
            throw VoterError("public-file-as-key", "\(path) is a trustee's public registration (the --public-out of keygen), not the private key file; pass the key file made with --out")
        }
        try PrivateFile.checkPermissions(path, what: "trustee key file", missing: keygen)
        do {
            return try JSONDecoder().decode(TrusteeKeyFile.self, from: data)
        } catch {
            throw VoterError("bad-key-file", "\(path) is not a trustee key file (\(CommandOutput.plain(error))); \(keygen)")
        }
    }

    public func save(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try PrivateFile.create(path, Array(try encoder.encode(self)))
    }
}

/// What trustees do, with only their key file and public data from the server.
public enum TrusteeActions {
    /// Deals this trustee's shares and publishes commitments, proof and encrypted shares.
    public static func share(client: BallotServerClient, key: TrusteeKeyFile) async throws -> DealerPublication {
        let election = try await VoterActions.fetchElection(client)
        let info = try await client.trustees()
        guard info.trustees.count == info.policy.count else {
            throw VoterError("trustees-incomplete", "\(info.trustees.count) of \(info.policy.count) trustees are registered; wait for the commission to register all of them")
        }
        try checkRegistered(key, in: info)
        let (publication, _) = try DealerPublication.deal(
            electionHash: election.electionHash, index: key.index, quorum: info.policy.quorum, trustees: info.trustees,
            signingKey: try key.signingKey()) { label, t in try key.derive(label, t, electionHash: election.electionHash) }
        try await client.signing(as: .trustee(key.index), key: try key.signingKey(), electionHash: election.electionHash)
            .publishDealing(publication)
        return publication
    }

    public struct ShareCheck: Sendable {
        public let dealer: UInt32
        public let passed: Bool
        public let detail: String
    }

    /// Checks every other trustee's dealing and the share it sent this trustee, and publishes
    /// the verdict (complaints name the dealers whose shares failed).
    public static func verifyShares(client: BallotServerClient, key: TrusteeKeyFile) async throws -> (ShareVerification, [ShareCheck]) {
        let election = try await VoterActions.fetchElection(client)
        let info = try await client.trustees()
        try checkRegistered(key, in: info)
        guard info.dealings.count == info.policy.count else {
            throw VoterError("dealings-incomplete", "\(info.dealings.count) of \(info.policy.count) trustees have published their dealings; try again once all have")
        }
        let checks = shareChecks(key: key, info: info, electionHash: election.electionHash)
        let complaints = checks.filter { !$0.passed }.map(\.dealer)
        let signature = try key.signingKey().signature(
            for: ShareVerification.signedBytes(electionHash: election.electionHash, index: key.index, complaints: complaints))
        let verification = ShareVerification(index: key.index, complaints: complaints, signature: signature)
        try await client.signing(as: .trustee(key.index), key: try key.signingKey(), electionHash: election.electionHash)
            .publishVerification(verification)
        return (verification, checks)
    }

    static func shareChecks(key: TrusteeKeyFile, info: TrusteesInfo, electionHash: Digest) -> [ShareCheck] {
        info.dealings.filter { $0.index != key.index }.map { dealing in
            if let problem = dealing.problem(electionHash: electionHash, quorum: info.policy.quorum, trustees: info.trustees) {
                return ShareCheck(dealer: dealing.index, passed: false, detail: problem)
            }
            guard let sealed = dealing.shares.first(where: { $0.recipient == key.index }),
                  let share = sealed.open(electionHash: electionHash, dealer: dealing.index, recipientSecret: key.encryptionSecret) else {
                return ShareCheck(dealer: dealing.index, passed: false, detail: "the share from trustee \(dealing.index) does not decrypt")
            }
            guard Feldman.verify(share: share, commitments: dealing.commitments, at: UInt64(key.index)) else {
                return ShareCheck(dealer: dealing.index, passed: false, detail: "the share from trustee \(dealing.index) does not match its commitments")
            }
            return ShareCheck(dealer: dealing.index, passed: true, detail: "the share from trustee \(dealing.index) matches its public commitments")
        }
    }

    /// This trustee's secret share s_j = Σ_i f_i(j) (eq. 39), rebuilt from the key file and the dealings.
    static func secretShare(key: TrusteeKeyFile, info: TrusteesInfo, electionHash: Digest) throws -> Scalar {
        let (_, own) = try DealerPublication.deal(
            electionHash: electionHash, index: key.index, quorum: info.policy.quorum, trustees: info.trustees,
            signingKey: try key.signingKey()) { label, t in try key.derive(label, t, electionHash: electionHash) }
        var s = own.evaluate(at: UInt64(key.index))
        for dealing in info.dealings where dealing.index != key.index {
            guard let sealed = dealing.shares.first(where: { $0.recipient == key.index }),
                  let share = sealed.open(electionHash: electionHash, dealer: dealing.index, recipientSecret: key.encryptionSecret),
                  Feldman.verify(share: share, commitments: dealing.commitments, at: UInt64(key.index)) else {
                throw VoterError("bad-share", "the share from trustee \(dealing.index) is not valid; this trustee cannot decrypt")
            }
            s = s + share
        }
        return s
    }

    /// Decrypts the published aggregate with this trustee's share and publishes the partial
    /// decryption with its proofs.
    public static func decrypt(client: BallotServerClient, key: TrusteeKeyFile) async throws -> PartialDecryption {
        let election = try await VoterActions.fetchElection(client)
        let info = try await client.trustees()
        try checkRegistered(key, in: info)
        guard let record = info.electionKey else { throw VoterError("ceremony-incomplete", "the election key was never published") }
        let tally = try await client.tally()
        guard let aggregate = tally.aggregate else {
            throw VoterError("tally-not-ready", "voting has not closed, so there is no aggregate to decrypt yet")
        }
        let s = try secretShare(key: key, info: info, electionHash: election.electionHash)
        guard Int(key.index) <= record.publicShares.count, GroupElement.base(s) == record.publicShares[Int(key.index) - 1] else {
            throw VoterError("bad-share", "this trustee's share does not match its published public share")
        }
        let partial = try PartialDecryption.make(electionHash: election.electionHash, index: key.index, secretShare: s,
                                                 aggregate: aggregate, signingKey: try key.signingKey()) { d, o in
            try key.derive("decryption-nonce-\(d)", UInt32(o), electionHash: election.electionHash)
        }
        try await client.signing(as: .trustee(key.index), key: try key.signingKey(), electionHash: election.electionHash)
            .publishDecryption(partial)
        return partial
    }

    static func checkRegistered(_ key: TrusteeKeyFile, in info: TrusteesInfo) throws {
        guard let registered = info.trustees.first(where: { $0.index == key.index }),
              registered == (try key.registration) else {
            throw VoterError("not-a-trustee", "this key file is not registered as trustee \(key.index) of the election")
        }
    }
}
