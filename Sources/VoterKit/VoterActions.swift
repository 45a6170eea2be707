public import VotingCore

/// The voter's flows, shared by the `voter` CLI and the server's demo and benchmark.
public enum VoterActions {
    /// Fetches the election and checks that its hash is the hash of its manifest.
    public static func fetchElection(_ client: BallotServerClient) async throws -> ElectionInfo {
        let info = try await client.election()
        guard info.manifest.electionHash == info.electionHash else {
            throw VoterError("election-hash-mismatch", "the server's election hash is not the hash of its manifest; do not vote and report this to the commission")
        }
        return info
    }

    /// Generates a key locally, enrolls it with the one-time code, and checks the signed
    /// enrollment receipt before returning the wallet.
    public static func enroll(client: BallotServerClient, personalNumber: String, code: String,
                              election: ElectionInfo? = nil) async throws -> Wallet {
        let info = try await resolve(election, client)
        let key = try Ed25519PrivateKey()
        let signature = try key.signature(for: EnrollmentRequest.signedBytes(electionHash: info.electionHash, voterKey: key.publicKey))
        let response = try await client.enroll(EnrollmentRequestBody(personalNumber: personalNumber, code: code,
                                                                     voterKey: key.publicKey, signature: signature))
        let expected = Enrollment(voterKey: key.publicKey, district: response.district).canonicalBytes
        let checks = ReceiptVerifier(serverKey: info.serverKey, electionHash: info.electionHash)
            .verify(receipt: response.logged.receipt, entryBytes: response.logged.entry.bytes,
                    inclusionProof: response.logged.inclusionProof, expectedPayload: expected)
        try requireAll(checks, what: "enrollment receipt")
        return try Wallet(server: client.baseURL, electionHash: info.electionHash, serverKey: info.serverKey,
                          district: response.district, key: key, enrollment: response.logged)
    }

    /// Encrypts, signs and casts a ballot, then checks the receipt (signatures, inclusion
    /// proof and that the logged entry is exactly this ballot) before returning it. With
    /// `challenge`, first encrypts once, has that encryption opened and published as spoiled,
    /// checks it held the choice, and only then casts a fresh encryption.
    public static func cast(client: BallotServerClient, wallet: Wallet, selections: [String],
                            election: ElectionInfo? = nil, challenge: Bool = false) async throws -> BallotReceiptFile {
        let info = try await resolve(election, client)
        if challenge { _ = try await self.challenge(client: client, wallet: wallet, selections: selections, election: info) }
        let (ballot, _) = try prepareBallot(wallet: wallet, selections: selections, election: info)
        return try await submit(client: client, wallet: wallet, ballot: ballot)
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
    /// it as a spoiled ballot, never counted) and checks from the logged entry alone that it
    /// encrypts exactly `selections` (eq. 45).
    public static func challenge(client: BallotServerClient, wallet: Wallet, selections: [String],
                                 election info: ElectionInfo) async throws -> ChallengeResult {
        let (ballot, opening) = try prepareBallot(wallet: wallet, selections: selections, election: info)
        let response = try await client.spoil(ballot, opening: opening)
        let checks = ReceiptVerifier(serverKey: wallet.serverKey, electionHash: wallet.electionHash)
            .verify(receipt: response.logged.receipt, entryBytes: response.logged.entry.bytes,
                    inclusionProof: response.logged.inclusionProof,
                    expectedPayload: SpoiledBallot(ballot: ballot, opening: opening).canonicalBytes)
        try requireAll(checks, what: "spoiled-ballot receipt")
        // Check from the published entry, as anyone else would.
        let entry = try LogEntry.decode(canonical: response.logged.entry.bytes)
        let spoiled = try SpoiledBallot.decode(canonical: entry.payload)
        guard let district = info.manifest.district(wallet.district) else {
            throw VoterError("wrong-district", "district \(wallet.district) is not in the election")
        }
        guard let key = info.electionKey else {
            throw VoterError("ceremony-incomplete", "the trustees have not published the election key yet")
        }
        let opens = Set(spoiled.opening.selections) == Set(selections)
            && spoiled.opening.opens(spoiled.ballot.ballot.content, district: district, electionKey: key)
        guard opens else {
            throw VoterError("challenge-failed", "the challenged encryption does NOT hold your choice; do not cast from this device and report it to the commission")
        }
        return ChallengeResult(trackingCode: ballot.trackingCode, shortCode: ballot.trackingCode.short,
                               logIndex: response.logged.receipt.logIndex, opensToChoice: true)
    }

    /// Checks the wallet against the live election, encrypts the choice to the election key
    /// with proofs, and signs it. The opening (nonces) stays with the caller.
    public static func prepareBallot(wallet: Wallet, selections: [String], election info: ElectionInfo) throws -> (SignedBallot, BallotOpening) {
        guard info.electionHash == wallet.electionHash else {
            throw VoterError("wrong-election", "the server now runs another election than the one this wallet enrolled in")
        }
        guard info.serverKey == wallet.serverKey else {
            throw VoterError("server-key-changed", "the server's signing key differs from the one at enrollment; do not vote and report this to the commission")
        }
        guard let district = info.manifest.district(wallet.district) else {
            throw VoterError("wrong-district", "district \(wallet.district) is not in the election")
        }
        guard let electionKey = info.electionKey else {
            throw VoterError("ceremony-incomplete", "the trustees have not published the election key yet, so ballots cannot be encrypted; try again once voting opens")
        }
        if let problem = Selections.problem(selections, in: district) {
            throw VoterError("invalid-choice", "\(problem); run `voter ballot` to see the options")
        }
        let context = BallotContent.context(electionHash: info.electionHash, electionKey: electionKey,
                                            voterKey: wallet.voterKey, district: wallet.district)
        let (content, opening) = try BallotContent.encrypt(selections: selections, district: district, context: context)
        let ballot = Ballot(electionHash: info.electionHash, voterKey: wallet.voterKey, district: wallet.district, content: content)
        return (try ballot.signed(with: try wallet.signingKey()), opening)
    }

    /// Sends a signed ballot and checks the receipt.
    public static func submit(client: BallotServerClient, wallet: Wallet, ballot: SignedBallot) async throws -> BallotReceiptFile {
        let response = try await client.cast(ballot)
        guard response.trackingCode == ballot.trackingCode else {
            throw VoterError("receipt-invalid", "the server returned tracking code \(response.trackingCode.hex), not this ballot's \(ballot.trackingCode.hex)")
        }
        let checks = ReceiptVerifier(serverKey: wallet.serverKey, electionHash: wallet.electionHash)
            .verify(receipt: response.logged.receipt, entryBytes: response.logged.entry.bytes,
                    inclusionProof: response.logged.inclusionProof, expectedPayload: ballot.canonicalBytes)
        try requireAll(checks, what: "ballot receipt")
        return BallotReceiptFile(server: client.baseURL, electionHash: wallet.electionHash, serverKey: wallet.serverKey,
                                 trackingCode: ballot.trackingCode, logged: response.logged)
    }

    /// Re-checks a saved receipt against the live log: the receipt itself, the server key's
    /// anchor in entry 0, a fresh signed checkpoint, consistency from the receipt's
    /// checkpoint to it, and inclusion of the unchanged entry in it.
    public static func verify(client: BallotServerClient, receipt file: BallotReceiptFile) async -> [CheckResult] {
        var results = ReceiptVerifier(serverKey: file.serverKey, electionHash: file.electionHash)
            .verify(receipt: file.logged.receipt, entryBytes: file.logged.entry.bytes, inclusionProof: file.logged.inclusionProof)
        func record(_ name: String, _ body: () async throws -> String) async {
            do {
                results.append(CheckResult(name: name, passed: true, detail: try await body()))
            } catch {
                results.append(CheckResult(name: name, passed: false, detail: "\(error)"))
            }
        }
        let receipt = file.logged.receipt
        results.append(CheckResult(
            name: "tracking-code", passed: receipt.kind == .ballot && receipt.subject == file.trackingCode.digest && file.shortCode == file.trackingCode.short,
            detail: "the receipt is for ballot \(file.trackingCode.short)"))
        var fresh: SignedCheckpoint?
        await record("fresh-checkpoint") {
            let cp = try await client.latestCheckpoint()
            guard cp.isValid(serverKey: file.serverKey) else { throw VoterError("bad-signature", "the latest checkpoint is not signed by the election's server key") }
            guard cp.checkpoint.electionHash == file.electionHash else { throw VoterError("wrong-election", "the latest checkpoint names another election") }
            guard cp.checkpoint.treeSize >= receipt.checkpoint.checkpoint.treeSize else {
                throw VoterError("log-shrank", "the log now has \(cp.checkpoint.treeSize) entries, fewer than the \(receipt.checkpoint.checkpoint.treeSize) on the receipt")
            }
            fresh = cp
            return "latest checkpoint: tree size \(cp.checkpoint.treeSize), root \(cp.checkpoint.rootHash.hex.prefix(16))…, signed by the server key"
        }
        guard let fresh else { return results }
        let old = receipt.checkpoint.checkpoint
        let new = fresh.checkpoint
        await record("consistency") {
            if old.treeSize == new.treeSize {
                guard old.rootHash == new.rootHash else { throw VoterError("fork", "two different roots signed for tree size \(old.treeSize)") }
                return "no entries since the receipt; same root"
            }
            let proof = try await client.consistencyProof(first: old.treeSize, second: new.treeSize)
            try Merkle.verifyConsistency(size1: old.treeSize, size2: new.treeSize, root1: old.rootHash.bytes,
                                         root2: new.rootHash.bytes, proof: proof.proof.map(\.bytes))
            return "the log grew from \(old.treeSize) to \(new.treeSize) entries without changing any of the first \(old.treeSize)"
        }
        await record("inclusion-now") {
            let proof = try await client.inclusionProof(index: receipt.logIndex, treeSize: new.treeSize)
            try Merkle.verifyInclusion(leafHash: receipt.leafHash.bytes, index: receipt.logIndex, treeSize: new.treeSize,
                                       proof: proof.proof.map(\.bytes), root: new.rootHash.bytes)
            return "entry \(receipt.logIndex) is in the latest tree of \(new.treeSize) entries"
        }
        await record("entry-unchanged") {
            let page = try await client.entries(start: receipt.logIndex, limit: 1)
            guard let entry = page.entries.first, entry.index == receipt.logIndex, entry.data == file.logged.entry else {
                throw VoterError("entry-changed", "the server now serves different bytes for entry \(receipt.logIndex)")
            }
            return "the server still serves the same bytes for entry \(receipt.logIndex)"
        }
        await record("counted") {
            let tally = try await client.tally()
            guard let aggregateIndex = tally.aggregateIndex, let aggregate = tally.aggregate else {
                return "voting has not closed yet; after the close, your ballot will be in the published aggregate"
            }
            let entry = try LogEntry.decode(canonical: file.logged.entry.bytes)
            let ballot = try SignedBallot.decode(canonical: entry.payload)
            guard receipt.logIndex < aggregateIndex,
                  let district = aggregate.districts.first(where: { $0.district == ballot.ballot.district }), district.ballots > 0 else {
                throw VoterError("not-counted", "the ballot is not before the aggregate of its district")
            }
            var line = "the ballot precedes the close, so it is one of the \(district.ballots) ballots summed in district \(district.district)'s aggregate"
            if let results = tally.results, results.isValid(serverKey: file.serverKey) {
                line += "; signed results are published (`voter results`; `voter audit` re-checks the whole sum)"
            }
            return line
        }
        await record("server-key-anchor") {
            let page = try await client.entries(start: 0, limit: 1)
            guard let first = page.entries.first, first.index == 0 else { throw VoterError("no-entry-0", "the log has no entry 0") }
            let entry = try LogEntry.decode(canonical: first.data.bytes)
            guard entry.kind == .election, entry.index == 0, entry.electionHash == file.electionHash else {
                throw VoterError("bad-entry-0", "entry 0 is not this election's setup")
            }
            let setup = try ElectionSetup.decode(canonical: entry.payload)
            guard setup.manifest.electionHash == file.electionHash, setup.serverKey == file.serverKey else {
                throw VoterError("bad-entry-0", "entry 0 publishes another election or server key")
            }
            let proof = try await client.inclusionProof(index: 0, treeSize: new.treeSize)
            try Merkle.verifyInclusion(leafHash: Merkle.leafHash(first.data.bytes).bytes, index: 0, treeSize: new.treeSize,
                                       proof: proof.proof.map(\.bytes), root: new.rootHash.bytes)
            return "log entry 0 publishes this election and this server key"
        }
        return results
    }

    static func resolve(_ election: ElectionInfo?, _ client: BallotServerClient) async throws -> ElectionInfo {
        if let election { return election }
        return try await fetchElection(client)
    }

    static func requireAll(_ checks: [CheckResult], what: String) throws {
        let failed = checks.filter { !$0.passed }
        guard failed.isEmpty else {
            throw VoterError("receipt-invalid", "the \(what) failed verification: " + failed.map { "\($0.name) (\($0.detail))" }.joined(separator: "; ") + "; keep the output and report it to the commission")
        }
    }
}
