import Foundation
public import VotingCore

/// The voter's flows, shared by the `voter` CLI and the server's demo and benchmark.
public enum VoterActions {
    /// Fetches the election and checks that its hash is the hash of its entry 0 (eq. 1).
    public static func fetchElection(_ client: BallotServerClient) async throws -> ElectionInfo {
        let info = try await client.election()
        guard info.setup.electionHash == info.electionHash else {
            throw VoterError("election-hash-mismatch", L("error.election-hash-mismatch"))
        }
        return info
    }

    /// Where a wallet is kept: the CLI passes a file, the simulation keeps wallets in memory.
    public protocol WalletStore: Sendable {
        func save(_ wallet: Wallet) throws
    }

    /// A wallet file rewritten atomically at every step.
    public struct WalletFile: WalletStore {
        public let path: String
        public init(path: String) { self.path = path }
        public func save(_ wallet: Wallet) throws { try wallet.save(path: path) }
    }

    /// For callers that keep the wallet in memory only (simulations, benchmarks).
    public struct NoWalletFile: WalletStore {
        public init() {}
        public func save(_ wallet: Wallet) throws {}
    }

    /// A new wallet with a fresh key and its enrollment request, before anything is sent.
    public static func prepareEnrollment(client: BallotServerClient, personalNumber: String, code: String,
                                         election: ElectionInfo? = nil) async throws -> Wallet {
        let info = try await resolve(election, client)
        let key = try Ed25519PrivateKey()
        var wallet = try Wallet(server: client.baseURL, electionHash: info.electionHash, serverKey: info.serverKey, key: key)
        let normalized = EnrollmentCode.normalize(code)
        let signature = try key.signature(for: EnrollmentRequest.signedBytes(electionHash: info.electionHash, voterKey: key.publicKey,
                                                                           normalizedCode: normalized))
        wallet.pendingEnrollment = EnrollmentRequestBody(personalNumber: personalNumber, code: code, voterKey: key.publicKey, signature: signature)
        return wallet
    }

    /// Sends (or resends) the wallet's pending enrollment and checks the signed receipt; the
    /// wallet, saved before the request and after the receipt, is never left without the key.
    public static func completeEnrollment(client: BallotServerClient, wallet: Wallet, store: any WalletStore) async throws -> Wallet {
        if wallet.isEnrolled { return wallet }
        guard let request = wallet.pendingEnrollment else {
            throw VoterError("bad-wallet", L("error.no-pending-enrollment"))
        }
        let response = try await client.enroll(request)
        let expectedCode = EnrollmentCode.normalize(request.code)
        guard let entry = try? LogEntry.decode(canonical: response.logged.entry.bytes),
              let logged = try? Enrollment.decode(canonical: entry.payload),
              logged.voterKey == wallet.voterKey, logged.code == expectedCode, logged.district == response.district else {
            throw VoterError("receipt-invalid", L("error.enrollment-not-ours"))
        }
        let checks = ReceiptVerifier(serverKey: wallet.serverKey, electionHash: wallet.electionHash)
            .verify(receipt: response.logged.receipt, entryBytes: response.logged.entry.bytes,
                    inclusionProof: response.logged.inclusionProof, expectedPayload: logged.canonicalBytes)
        try requireAll(checks, what: "enrollment receipt")
        var done = wallet
        done.district = response.district
        done.enrollment = response.logged
        done.pendingEnrollment = nil
        try store.save(done)
        return done
    }

    /// Generates a key locally, enrolls it with the one-time code, and checks the signed
    /// enrollment receipt before returning the wallet (in memory; the CLI writes the file).
    public static func enroll(client: BallotServerClient, personalNumber: String, code: String,
                              election: ElectionInfo? = nil) async throws -> Wallet {
        let wallet = try await prepareEnrollment(client: client, personalNumber: personalNumber, code: code, election: election)
        return try await completeEnrollment(client: client, wallet: wallet, store: NoWalletFile())
    }

    /// Encrypts, signs and casts a ballot, then checks the receipt (signatures, inclusion
    /// proof and that the logged entry is exactly this ballot) before returning it. With
    /// `challenge`, first encrypts once, has that encryption opened and published as spoiled,
    /// checks it held the choice, and only then casts a fresh encryption.
    public static func cast(client: BallotServerClient, wallet: Wallet, selections: [String],
                            election: ElectionInfo? = nil, challenge: Bool = false) async throws -> BallotReceiptFile {
        var w = wallet
        let info = try await resolve(election, client)
        if challenge { _ = try await self.challenge(client: client, wallet: &w, selections: selections, election: info, store: NoWalletFile()) }
        return try await castOrResend(client: client, wallet: &w, selections: selections, election: info, store: NoWalletFile()).receipt
    }

    /// The outcome of a Benaloh challenge: the spoiled ballot's tracking code, where it was
    /// logged, and whether its published opening encrypts exactly the voter's choice.
    public struct ChallengeResult: Sendable, Codable {
        public let trackingCode: TrackingCode
        public let shortCode: String
        public let logIndex: UInt64
        public let opensToChoice: Bool

        enum CodingKeys: String, CodingKey {
            case trackingCode = "tracking_code", shortCode = "short_code", logIndex = "log_index", opensToChoice = "opens_to_choice"
        }
    }

    /// Encrypts the choice, reveals the encryption's randomness to the server (which publishes
    /// it as a spoiled ballot that names no voter, never counted) and checks from the logged
    /// entry alone that it encrypts exactly `selections` (eq. 45). Refused once the wallet has
    /// cast, before anything is sent. A pending challenge (lost reply) is resent first.
    public static func challenge(client: BallotServerClient, wallet: inout Wallet, selections: [String],
                                 election info: ElectionInfo, store: any WalletStore) async throws -> ChallengeResult {
        try requireWalletElection(wallet, info)
        if let cast = wallet.cast {
            throw VoterError("already-voted", L("error.challenge-after-cast", ["code": cast.shortCode]))
        }
        if wallet.pendingBallot != nil {
            throw VoterError("already-voted", L("error.challenge-ballot-pending"))
        }
        let pending: Wallet.PendingChallenge
        if let earlier = wallet.pendingChallenge {
            pending = earlier
        } else {
            let (ballot, opening) = try prepareBallot(wallet: wallet, selections: selections, election: info)
            pending = Wallet.PendingChallenge(request: try SpoilRequestBody.make(ballot: ballot, opening: opening, voterKey: try wallet.signingKey()),
                                              selections: selections)
            wallet.pendingChallenge = pending
            try store.save(wallet)
        }
        let ballot = pending.request.ballot.ballot
        let spoiled = SpoiledBallot(ballot: ballot, opening: pending.request.opening)
        let response = try await client.spoil(pending.request)
        let checks = ReceiptVerifier(serverKey: wallet.serverKey, electionHash: wallet.electionHash)
            .verify(receipt: response.logged.receipt, entryBytes: response.logged.entry.bytes,
                    inclusionProof: response.logged.inclusionProof, expectedPayload: spoiled.canonicalBytes)
        try requireAll(checks, what: "spoiled-ballot receipt")
        // Check from the published entry, as anyone else would.
        let entry = try LogEntry.decode(canonical: response.logged.entry.bytes)
        let published = try SpoiledBallot.decode(canonical: entry.payload)
        guard let district = info.manifest.district(try wallet.enrolledDistrict()) else {
            throw VoterError("wrong-district", L("error.wallet-district-unknown"))
        }
        guard let key = info.electionKey else {
            throw VoterError("ceremony-incomplete", L("error.no-election-key"))
        }
        let opens = Set(published.opening.selections) == Set(pending.selections)
            && published.opening.opens(published.ballot.content, district: district, electionKey: key)
        guard opens else {
            throw VoterError("challenge-failed", L("error.challenge-failed"))
        }
        wallet.pendingChallenge = nil
        try store.save(wallet)
        return ChallengeResult(trackingCode: spoiled.trackingCode, shortCode: spoiled.trackingCode.short,
                               logIndex: response.logged.receipt.logIndex, opensToChoice: true)
    }

    /// Checks the wallet against the live election and encrypts the choice to the election
    /// key with proofs bound to a fresh ballot id. The result names no voter; the opening
    /// (nonces) stays with the caller.
    public static func prepareBallot(wallet: Wallet, selections: [String], election info: ElectionInfo) throws -> (Ballot, BallotOpening) {
        try requireWalletElection(wallet, info)
        guard info.serverKey == wallet.serverKey else {
            throw VoterError("server-key-changed", L("error.server-key-changed"))
        }
        let districtID = try wallet.enrolledDistrict()
        guard let district = info.manifest.district(districtID) else {
            throw VoterError("wrong-district", L("error.district-not-in-election", ["district": districtID]))
        }
        guard let electionKey = info.electionKey else {
            throw VoterError("ceremony-incomplete", L("error.no-election-key-to-encrypt"))
        }
        if let problem = Selections.problem(selections, in: district) {
            throw VoterError("invalid-choice", L("error.invalid-choice", ["problem": "\(problem)"]))
        }
        return try encrypt(selections: selections, district: district, electionHash: info.electionHash, electionKey: electionKey)
    }

    /// An encrypted ballot for `selections`, with a fresh random ballot id (also used by stations).
    public static func encrypt(selections: [String], district: District, electionHash: Digest,
                               electionKey: GroupElement) throws -> (Ballot, BallotOpening) {
        let id = try BallotID.random()
        let context = BallotContent.context(electionHash: electionHash, electionKey: electionKey, ballotID: id, district: district.id)
        let (content, opening) = try BallotContent.encrypt(selections: selections, district: district, context: context)
        return (Ballot(electionHash: electionHash, ballotID: id, district: district.id, content: content), opening)
    }

    /// What casting did: the receipt, and whether it was an earlier ballot resent or found.
    public struct CastOutcome: Sendable {
        public let receipt: BallotReceiptFile
        /// The ballot had already been sent by an earlier run (a lost reply): it was resent
        /// or its receipt fetched, and `selections` were not used.
        public let resumed: Bool
    }

    /// Casts: a ballot already cast is reported with its saved receipt; a ballot pending from
    /// an earlier run (lost reply) is resent and its original receipt checked; otherwise a
    /// fresh encryption is made, saved to the wallet, then sent.
    /// A wallet belongs to one election: another election's server is refused before
    /// anything is sent or shown as recorded.
    public static func requireWalletElection(_ wallet: Wallet, _ info: ElectionInfo) throws {
        guard info.electionHash == wallet.electionHash else {
            throw VoterError("wrong-election", L("error.wallet-other-election", ["wallet_election": "\(wallet.electionHash.hex.prefix(16))…", "wallet_server": wallet.server,
                                                                               "election": "\(info.electionHash.hex.prefix(16))…"]))
        }
    }

    public static func castOrResend(client: BallotServerClient, wallet: inout Wallet, selections: [String],
                                    election info: ElectionInfo, store: any WalletStore) async throws -> CastOutcome {
        try requireWalletElection(wallet, info)
        if let cast = wallet.cast { return CastOutcome(receipt: cast, resumed: true) }
        let resumed = wallet.pendingBallot != nil
        let ballot: SignedBallot
        if let pending = wallet.pendingBallot {
            ballot = pending.signedBallot
        } else {
            let (fresh, _) = try prepareBallot(wallet: wallet, selections: selections, election: info)
            ballot = try fresh.cast(with: try wallet.signingKey())
            wallet.pendingBallot = ballot.wire
            try store.save(wallet)
        }
        let receipt = try await submit(client: client, wallet: wallet, ballot: ballot)
        wallet.cast = receipt
        wallet.pendingBallot = nil
        try store.save(wallet)
        return CastOutcome(receipt: receipt, resumed: resumed)
    }

    /// Sends a signed ballot and checks the receipt. A ballot the server already holds from an
    /// earlier attempt comes back with its original receipt.
    public static func submit(client: BallotServerClient, wallet: Wallet, ballot: SignedBallot) async throws -> BallotReceiptFile {
        let response = try await client.cast(ballot)
        guard response.trackingCode == ballot.trackingCode else {
            throw VoterError("receipt-invalid", L("error.other-tracking-code", ["got": response.trackingCode.hex, "expected": ballot.trackingCode.hex]))
        }
        return try checkedReceipt(client: client, wallet: wallet, response: response, expected: ballot.canonicalBytes)
    }

    /// Fetches the receipt of the ballot this wallet's key cast (`voter receipt`), checks it,
    /// and, when the wallet has a ballot pending, that the logged ballot is exactly that one.
    public static func fetchReceipt(client: BallotServerClient, wallet: Wallet) async throws -> BallotReceiptFile {
        let response = try await client.receipt(voterKey: wallet.voterKey)
        return try checkedReceipt(client: client, wallet: wallet, response: response,
                                  expected: wallet.pendingBallot.map { $0.signedBallot.canonicalBytes })
    }

    static func checkedReceipt(client: BallotServerClient, wallet: Wallet, response: CastResponse, expected: [UInt8]?) throws -> BallotReceiptFile {
        let checks = ReceiptVerifier(serverKey: wallet.serverKey, electionHash: wallet.electionHash)
            .verify(receipt: response.logged.receipt, entryBytes: response.logged.entry.bytes,
                    inclusionProof: response.logged.inclusionProof, expectedPayload: expected)
        try requireAll(checks, what: "ballot receipt")
        if expected == nil {
            // Without a pending ballot to compare, at least the logged ballot must be cast by this wallet's key.
            let entry = try LogEntry.decode(canonical: response.logged.entry.bytes)
            guard try SignedBallot.decode(canonical: entry.payload).voterKey == wallet.voterKey else {
                throw VoterError("receipt-invalid", L("error.ballot-not-ours"))
            }
        }
        return BallotReceiptFile(server: client.baseURL, electionHash: wallet.electionHash, serverKey: wallet.serverKey,
                                 trackingCode: response.trackingCode, logged: response.logged)
    }

    static func resolve(_ election: ElectionInfo?, _ client: BallotServerClient) async throws -> ElectionInfo {
        if let election { return election }
        return try await fetchElection(client)
    }

    static func requireAll(_ checks: [CheckResult], what: String) throws {
        let failed = checks.filter { !$0.passed }
        guard failed.isEmpty else {
            throw VoterError("receipt-invalid", L("error.receipt-failed", ["what": word("receipt-kind.", what),
                                                                          "checks": failed.map { "\($0.name) (\($0.localizedDetail))" }.joined(separator: "; ")]))
        }
    }
}
