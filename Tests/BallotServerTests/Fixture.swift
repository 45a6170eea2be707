import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import Synchronization
import Testing
import VotingCore
@testable import BallotServer

/// A pinned clock: every timestamp in these tests is the same, so nothing depends on time.
let testClock = Clock { 1_767_225_600_000 }

/// A clock that advances by one millisecond on every reading (to tell batches apart).
func steppingClock(from start: Timestamp = 1_767_225_600_000) -> Clock {
    let counter = ReadingCounter()
    return Clock { start + counter.next() }
}

final class ReadingCounter: Sendable {
    private let readings = Atomic<UInt64>(0)
    func next() -> UInt64 { readings.add(1, ordering: .relaxed).oldValue }
    var count: UInt64 { readings.load(ordering: .relaxed) }
}

/// A trustee for the tests. Every secret (polynomial, proof nonce, share ephemerals) is
/// derived from one random seed, as `TrusteeKeyFile` does, so dealing twice gives the
/// identical publication.
struct TestTrustee: Sendable {
    let index: UInt32
    let name: String
    let signingKey: Ed25519PrivateKey
    let encryptionSecret: Scalar
    let seed: [UInt8]
    /// The trustee's self-signed public keys (what `trustee keygen` writes for the commission).
    let registration: TrusteeRegistration

    init(index: UInt32) throws {
        self.index = index
        name = "Trustee \(index)"
        signingKey = try Ed25519PrivateKey()
        encryptionSecret = try Scalar.random()
        seed = try SecureRandom.bytes(32)
        registration = try TrusteeRegistration.signed(index: index, name: name, signingKey: signingKey,
                                                      encryptionKey: .base(encryptionSecret))
    }

    /// The secret scalar for `label` and `t` (what `DealerPublication.deal` asks `derive` for).
    func derive(_ label: String, _ t: UInt32) throws -> Scalar {
        let message = Array("evote.test.trustee\u{0}\(label)\u{0}\(t)".utf8)
        let wide = HMACSHA256.authenticate(message, key: seed).bytes + HMACSHA256.authenticate(message + [1], key: seed).bytes
        let s = try Scalar(reducing: wide)
        return s.isZero ? .one : s
    }

    func polynomial(quorum: Int) throws -> SecretPolynomial {
        SecretPolynomial(coefficients: try (0..<UInt32(quorum)).map { try derive("coefficient", $0) })
    }

    func deal(electionHash: Digest, quorum: Int, trustees: [TrusteeRegistration]) throws -> DealerPublication {
        try DealerPublication.deal(electionHash: electionHash, index: index, quorum: quorum, trustees: trustees,
                                   signingKey: signingKey) { label, t in try derive(label, t) }.0
    }

    /// Signs a publication assembled by hand (for dealings a test tampers with).
    func sign(electionHash: Digest, commitments: [GroupElement], proof: SchnorrProof, shares: [EncryptedShare],
              index: UInt32? = nil) throws -> DealerPublication {
        let index = index ?? self.index
        let bytes = DealerPublication.signedBytes(electionHash: electionHash, index: index, commitments: commitments,
                                                  proof: proof, shares: shares)
        return DealerPublication(index: index, commitments: commitments, proof: proof, shares: shares,
                                 signature: try signingKey.signature(for: bytes))
    }

    /// The dealers this trustee complains about, computed like `TrusteeActions.shareChecks`:
    /// a dealing that fails its public checks, a share that does not decrypt, or a share
    /// that does not match its dealer's commitments.
    func complaints(info: TrusteesInfo, electionHash: Digest) -> [UInt32] {
        info.dealings.filter { $0.index != index }.compactMap { dealing in
            if dealing.problem(electionHash: electionHash, quorum: info.policy.quorum, trustees: info.trustees) != nil {
                return dealing.index
            }
            guard let sealed = dealing.shares.first(where: { $0.recipient == index }),
                  let share = sealed.open(electionHash: electionHash, dealer: dealing.index, recipientSecret: encryptionSecret),
                  Feldman.verify(share: share, commitments: dealing.commitments, at: UInt64(index)) else {
                return dealing.index
            }
            return nil
        }
    }

    func verification(complaints: [UInt32], electionHash: Digest) throws -> ShareVerification {
        let bytes = ShareVerification.signedBytes(electionHash: electionHash, index: index, complaints: complaints)
        return ShareVerification(index: index, complaints: complaints, signature: try signingKey.signature(for: bytes))
    }

    /// s_j = f_j(j) + the shares the other dealers sent this trustee (like `TrusteeActions.secretShare`).
    func secretShare(info: TrusteesInfo, electionHash: Digest) throws -> Scalar {
        var s = try polynomial(quorum: info.policy.quorum).evaluate(at: UInt64(index))
        for dealing in info.dealings where dealing.index != index {
            guard let sealed = dealing.shares.first(where: { $0.recipient == index }),
                  let share = sealed.open(electionHash: electionHash, dealer: dealing.index, recipientSecret: encryptionSecret) else {
                throw TestFailure("trustee \(index) cannot open the share from trustee \(dealing.index)")
            }
            s = s + share
        }
        return s
    }

    func partialDecryption(electionHash: Digest, info: TrusteesInfo, aggregate: TallyAggregate) throws -> PartialDecryption {
        try PartialDecryption.make(electionHash: electionHash, index: index, secretShare: try secretShare(info: info, electionHash: electionHash),
                                   aggregate: aggregate, signingKey: signingKey)
    }
}

/// A clock the test moves by hand (wrong-code backoff windows, order lifetimes).
final class ManualClock: Sendable {
    private let millis: Atomic<UInt64>
    init(_ start: Timestamp = 1_767_225_600_000) { millis = Atomic(start) }
    var now: Timestamp { millis.load(ordering: .relaxed) }
    func advance(milliseconds: UInt64) { millis.add(milliseconds, ordering: .relaxed) }
    var clock: Clock { Clock { self.now } }
}

/// The storage a test election lives in: the rules suites run once on each (issue 12, "the
/// same rules test suite runs against both implementations"). A PostgreSQL case gets a fresh
/// database of the cluster at EVOTE_TEST_POSTGRES_URL, dropped by `remove()`; without that
/// variable the case is skipped with a message, except under CI=true where it fails.
enum StorageBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    static let all = allCases

    var testDescription: String { self == .sqlite ? "SQLite" : "PostgreSQL" }

    static let skipReason: Comment = "EVOTE_TEST_POSTGRES_URL is not set: the PostgreSQL case is skipped (scripts/postgres-cluster.sh start prints a URL to export)"

    /// The test cluster's maintenance URL; cancels (skips) the current test case when none is
    /// configured, and fails it under CI=true.
    static func postgresCluster() throws -> PostgresURL {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["EVOTE_TEST_POSTGRES_URL"], !url.isEmpty else {
            if env["CI"] == "true" {
                throw TestFailure("CI=true but EVOTE_TEST_POSTGRES_URL is not set: .ci/run must start the PostgreSQL cluster")
            }
            try Test.cancel(skipReason)
        }
        return try PostgresURL(url)
    }
}

/// One election in its own temporary data directory, with a small roll imported through
/// `ElectionStore.importRoll` (codes and registrar-signed commitments), and by default the
/// trustees appointed by the commission, the key ceremony run through the router and voting
/// opened by the commission. Call `remove()` in a `defer` right after creating it.
struct TestElection: Sendable {
    /// How far `init` takes the election.
    enum Stage: Int, Comparable, Sendable {
        /// Manifest and roll only.
        case created
        /// And every trustee appointed by the commission.
        case registered
        /// And the ceremony run through the router: the election key is published.
        case keyed
        /// And voting opened by the commission.
        case open

        static func < (a: Stage, b: Stage) -> Bool { a.rawValue < b.rawValue }
    }

    let root: URL
    let dir: DataDirectory
    let backend: StorageBackend
    /// Where the election's rows are (`.sqlite`: in `dir`; `.postgres`: a fresh database).
    let database: DatabaseLocation
    /// The fresh PostgreSQL database of a `.postgres` election, dropped by `remove()`.
    let scratch: PostgresScratchDatabase?
    let store: ElectionStore
    let rollSecret: [UInt8]
    /// The issued codes, in roll order: voter `i` is in district `d0(i % districts + 1)`.
    let codes: [ElectionStore.IssuedCode]
    let clock: Clock
    /// One per `manifest.trustees.count`, index 1...count (appointed from stage `.registered` on).
    let trustees: [TestTrustee]

    init(backend: StorageBackend = .sqlite, voters: Int = 8, districts: Int = 2, stage: Stage = .open, manifest: ElectionManifest? = nil,
         roll: [ElectionStore.RollLine]? = nil, clock: Clock = testClock) async throws {
        self.clock = clock
        self.backend = backend
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("ballot-server-tests-\(UUID().uuidString)", isDirectory: true)
        dir = DataDirectory(path: root.path)
        switch backend {
        case .sqlite:
            scratch = nil
            database = .sqlite
        case .postgres:
            let fresh = try await PostgresScratchDatabase.create(near: try StorageBackend.postgresCluster(), prefix: "evote_test")
            scratch = fresh
            database = .postgres(fresh.url)
        }
        var created: ElectionStore?
        do {
            let manifest = manifest ?? Self.manifest()
            let store = try await ElectionStore.create(in: dir, database: database, manifest: manifest, clock: clock)
            created = store
            self.store = store
            rollSecret = try dir.rollSecret()
            let commission = try dir.commissionKey()
            codes = try await store.importRoll(roll ?? ExampleElection.roll(voters: voters, districts: districts), rollSecret: rollSecret,
                                               commissionKey: commission).codes
            trustees = try (1...UInt32(manifest.trustees.count)).map { try TestTrustee(index: $0) }
            if stage >= .registered {
                for trustee in trustees { _ = try await store.appointTrustee(trustee.registration, commissionKey: commission) }
            }
        } catch {
            try? (created?.storage as? PostgresStorage)?.closeNow()
            try? scratch?.dropNow()
            try? FileManager.default.removeItem(at: root)
            throw error
        }
        do {
            if stage >= .keyed {
                let election = self
                try await election.withRouter { client in try await election.runCeremony(client) }
            }
            if stage >= .open { try await open() }
        } catch {
            remove()
            throw error
        }
    }

    /// A small election: three districts of 3 or 4 options, one seat, vote for one; three
    /// trustees with a quorum of two. d01's fourth option, "against all", is counted but not electable.
    static func manifest(id: String = "council-2026-test", trustees: TrusteePolicy = TrusteePolicy(count: 3, quorum: 2),
                         seats: Int = 1) -> ElectionManifest {
        func options(_ n: Int, againstAll: Bool = false) -> [BallotOption] {
            (1...n).map { BallotOption(id: "c0\($0)", name: "Candidate \($0)") }
                + (againstAll ? [BallotOption(id: "against-all", name: "Against all", electable: false)] : [])
        }
        return ElectionManifest(electionId: id, name: "Council election (test)", districts: [
            District(id: "d01", name: "North", seats: seats, selectionLimit: 1, options: options(3, againstAll: true)),
            District(id: "d02", name: "South", seats: seats, selectionLimit: 1, options: options(3)),
            District(id: "d03", name: "East", seats: seats, selectionLimit: 1, options: options(4)),
        ], trustees: trustees)
    }

    /// The test manifest under another election id.
    static func otherManifest(id: String = "other-election-2026") -> ElectionManifest {
        manifest(id: id)
    }

    /// The election hash of some other election (v2 hashes entry 0 with its keys and a
    /// random nonce, so every election has its own, even with the same manifest).
    static func otherElectionHash() throws -> Digest {
        ElectionSetup(manifest: otherManifest(), serverKey: try Ed25519PrivateKey().publicKey,
                      commissionKey: try Ed25519PrivateKey().publicKey, nonce: try Nonce32.random()).electionHash
    }

    /// Removes the data directory and, on PostgreSQL, closes the store and drops its database.
    func remove() {
        try? (store.storage as? PostgresStorage)?.closeNow()
        try? scratch?.dropNow()
        try? FileManager.default.removeItem(at: root)
    }

    func open() async throws { _ = try await store.changeWindow(.open, commissionKey: try dir.commissionKey()) }

    func close() async throws { _ = try await store.changeWindow(.close, commissionKey: try dir.commissionKey()) }

    var verifier: ReceiptVerifier { ReceiptVerifier(serverKey: store.setup.serverKey, electionHash: store.electionHash) }

    func district(_ id: String) -> District { store.manifest.district(id)! }

    /// The SQLite pool under the store (to look at rows, or to make storage fail on purpose).
    var pool: DatabasePool {
        get throws {
            guard let sqlite = store.storage as? SQLiteStorage else { throw TestFailure("the test election is not on SQLite") }
            return sqlite.pool
        }
    }

    /// A group committer over this election's store, as `buildApplication` makes it.
    static func committer(store: ElectionStore, clock: Clock) -> GroupCommitter {
        var logger = Logger(label: "ballot-server-tests")
        logger.logLevel = .critical
        return GroupCommitter(storage: store.storage, rules: store.rules, clock: clock, logger: logger)
    }

    /// Builds the router the server uses and runs `test` against it with the group-commit
    /// writer running as a service.
    func withRouter<Value: Sendable>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await withRouterAndCommitter { client, _ in try await test(client) }
    }

    /// `withRouter`, also handing the test the running group committer.
    func withRouterAndCommitter<Value: Sendable>(
        _ test: @Sendable (any TestClientProtocol, GroupCommitter) async throws -> Value
    ) async throws -> Value {
        try await Self.withRouter(store: store, rollSecret: rollSecret, clock: clock, test)
    }

    /// The server's router on any store.
    /// The router runs without rate limits (RateLimitTests cover them) unless `limits` says
    /// otherwise; the limits refill by the test's clock, so a slow machine cannot refill them.
    static func withRouter<Value: Sendable>(
        store: ElectionStore, rollSecret: [UInt8], clock: Clock, limits: RateLimits = .unlimited,
        requestLimits: RequestLimits = .default,
        _ test: @Sendable (any TestClientProtocol, GroupCommitter) async throws -> Value
    ) async throws -> Value {
        var logger = Logger(label: "ballot-server-tests")
        logger.logLevel = .critical
        let committer = committer(store: store, clock: clock)
        var app = Application(router: buildRouter(store: store, committer: committer, rollSecret: rollSecret, limits: limits,
                                                          requestLimits: requestLimits, limiterClock: clock), logger: logger)
        app.addServices(committer)
        return try await app.test(.router) { client in try await test(client, committer) }
    }

    // MARK: the trustees' ceremony, through the router

    func trusteesInfo(_ client: some TestClientProtocol) async throws -> TrusteesInfo {
        let response = try await client.get("/v1/trustees")
        guard response.status == .ok else { throw TestFailure("GET /v1/trustees: \(response.status) \(response.text)") }
        return try response.decode(TrusteesInfo.self)
    }

    func tallyInfo(_ client: some TestClientProtocol) async throws -> TallyInfo {
        let response = try await client.get("/v1/tally")
        guard response.status == .ok else { throw TestFailure("GET /v1/tally: \(response.status) \(response.text)") }
        return try response.decode(TallyInfo.self)
    }

    func electionInfo(_ client: some TestClientProtocol) async throws -> ElectionInfo {
        let response = try await client.get("/v1/election")
        guard response.status == .ok else { throw TestFailure("GET /v1/election: \(response.status) \(response.text)") }
        return try response.decode(ElectionInfo.self)
    }

    func postDealing(_ client: some TestClientProtocol, _ publication: DealerPublication) async throws -> TestResponse {
        try await postTrustee(client, "/v1/trustees/dealings", try JSONEncoder().encode(publication))
    }

    func postVerification(_ client: some TestClientProtocol, _ verification: ShareVerification) async throws -> TestResponse {
        try await postTrustee(client, "/v1/trustees/verifications", try JSONEncoder().encode(verification))
    }

    func postDecryption(_ client: some TestClientProtocol, _ partial: PartialDecryption) async throws -> TestResponse {
        try await postTrustee(client, "/v1/tally/decryptions", try JSONEncoder().encode(partial))
    }

    /// POSTs `body` to a trustee route signed (docs/protocol.md §15) by the trustee whose
    /// `index` the body names (trustee 1's key under that index when it names another).
    func postTrustee(_ client: some TestClientProtocol, _ uri: String, _ body: Data) async throws -> TestResponse {
        try await Self.postTrustee(client, uri, body, trustees: trustees, electionHash: store.electionHash, now: clock.now())
    }

    static func postTrustee(_ client: some TestClientProtocol, _ uri: String, _ body: Data, trustees: [TestTrustee],
                            electionHash: Digest, now: Timestamp) async throws -> TestResponse {
        let named = (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["index"] as? Int
        let index = named.flatMap { UInt32(exactly: $0) } ?? 1
        guard let trustee = trustees.first(where: { $0.index == index }) ?? trustees.first else { throw TestFailure("no trustees") }
        return try await client.postSigned(uri, body, as: .trustee(index == 0 ? 1 : index), key: trustee.signingKey,
                                           electionHash: electionHash, now: now)
    }

    /// POSTs `body` to a commission route signed by the commission key of the data directory.
    func postCommission(_ client: some TestClientProtocol, _ uri: String, _ body: Data) async throws -> TestResponse {
        try await client.postSigned(uri, body, as: .commission, key: try dir.commissionKey(), electionHash: store.electionHash, now: clock.now())
    }

    /// Every trustee deals, then every trustee checks the shares it received and publishes
    /// its verdict (what `TrusteeActions.share` and `verifyShares` do); afterwards the server
    /// has published the election key.
    func runCeremony(_ client: some TestClientProtocol) async throws {
        try await Self.runCeremony(client, electionHash: store.electionHash, trustees: trustees, now: clock.now())
    }

    /// The ceremony on any router, by these trustees.
    static func runCeremony(_ client: some TestClientProtocol, electionHash: Digest, trustees: [TestTrustee],
                            now: Timestamp = testClock.now()) async throws {
        func info() async throws -> TrusteesInfo {
            let response = try await client.get("/v1/trustees")
            guard response.status == .ok else { throw TestFailure("GET /v1/trustees: \(response.status) \(response.text)") }
            return try response.decode(TrusteesInfo.self)
        }
        let registered = try await info()
        for trustee in trustees {
            let dealing = try trustee.deal(electionHash: electionHash, quorum: registered.policy.quorum, trustees: registered.trustees)
            let response = try await postTrustee(client, "/v1/trustees/dealings", try JSONEncoder().encode(dealing),
                                                 trustees: trustees, electionHash: electionHash, now: now)
            guard response.status == .created else {
                throw TestFailure("dealing of trustee \(trustee.index): \(response.status) \(response.text)")
            }
        }
        let dealt = try await info()
        for trustee in trustees {
            let complaints = trustee.complaints(info: dealt, electionHash: electionHash)
            guard complaints.isEmpty else { throw TestFailure("trustee \(trustee.index) complains about \(complaints)") }
            let verification = try trustee.verification(complaints: [], electionHash: electionHash)
            let response = try await postTrustee(client, "/v1/trustees/verifications", try JSONEncoder().encode(verification),
                                                 trustees: trustees, electionHash: electionHash, now: now)
            guard response.status == .created else {
                throw TestFailure("verification of trustee \(trustee.index): \(response.status) \(response.text)")
            }
        }
    }

    /// The trustees with these indices publish partial decryptions of the logged aggregate.
    func decrypt(_ client: some TestClientProtocol, trustees indices: [UInt32]) async throws {
        let info = try await trusteesInfo(client)
        guard let aggregate = try await tallyInfo(client).aggregate else { throw TestFailure("no aggregate yet") }
        for index in indices {
            let partial = try trustees[Int(index) - 1].partialDecryption(electionHash: store.electionHash, info: info, aggregate: aggregate)
            let response = try await postDecryption(client, partial)
            guard response.status == .created else { throw TestFailure("decryption of trustee \(index): \(response.status) \(response.text)") }
        }
    }

    // MARK: enrollment

    static func enrollmentBody(number: String, code: String, key: Ed25519PublicKey, signature: Ed25519Signature) throws -> Data {
        try JSONEncoder().encode(EnrollmentRequestBody(personalNumber: number, code: code, voterKey: key, signature: signature))
    }

    /// The proof of possession for `key` in this election, bound to the code it enrolls with.
    func proof(_ key: Ed25519PrivateKey, code: String) throws -> Ed25519Signature {
        try key.signature(for: EnrollmentRequest.signedBytes(electionHash: store.electionHash, voterKey: key.publicKey,
                                                             normalizedCode: EnrollmentCode.normalize(code)))
    }

    func enroll(_ client: some TestClientProtocol, number: String, code: String, key: Ed25519PrivateKey) async throws -> TestResponse {
        try await client.postJSON("/v1/enrollments",
                                  try Self.enrollmentBody(number: number, code: code, key: key.publicKey, signature: try proof(key, code: code)))
    }

    func enroll(_ client: some TestClientProtocol, voter: Int, key: Ed25519PrivateKey) async throws -> TestResponse {
        try await enroll(client, number: codes[voter].personalNumber, code: codes[voter].code, key: key)
    }

    /// Enrolls voter `voter` with a fresh key and expects 201; returns the key.
    func enrolledKey(_ client: some TestClientProtocol, voter: Int) async throws -> Ed25519PrivateKey {
        let key = try Ed25519PrivateKey()
        let response = try await enroll(client, voter: voter, key: key)
        #expect(response.status == .created, "enrolling voter \(voter): \(response.text)")
        return key
    }

    /// The enrollment entry a voter's enrollment with `key` logs (eq. 6 signed over the normalized code).
    func enrollment(voter: Int, key: Ed25519PrivateKey) throws -> Enrollment {
        let code = EnrollmentCode.normalize(codes[voter].code)
        return Enrollment(voterKey: key.publicKey, district: codes[voter].district, commitment: codes[voter].commitment,
                          code: code, signature: try proof(key, code: code))
    }

    /// A well-formed code that is not any voter's (16 Crockford characters).
    static func wrongCode(_ i: Int) -> String {
        String(format: "WRNG-C0DE-%04d-%04d", i / 10_000, i % 10_000)
    }

    // MARK: ballots

    /// The published election key (read from the log, as `GET /v1/election` does).
    func electionKey() throws -> GroupElement {
        let rules = store.rules
        guard let record = try store.storage.readNow({ try rules.electionKey($0) }) else {
            throw TestFailure("the election key is not published; run the ceremony first")
        }
        return record.key
    }

    /// The contest of district `id`; for an id not in the manifest, d01's contest under that id
    /// (to build ballots for districts the server does not know).
    func contest(_ id: String) -> District {
        if let d = store.manifest.district(id) { return d }
        let d01 = district("d01")
        return District(id: id, name: id, seats: d01.seats, selectionLimit: d01.selectionLimit, options: d01.options)
    }

    /// What the ballot's proofs are bound to (the server rebuilds it from the ballot): its id and district, no voter.
    func proofContext(ballotID: BallotID, district: String, electionHash: Digest? = nil,
                      electionKey: GroupElement? = nil) throws -> ProofContext {
        BallotContent.context(electionHash: electionHash ?? store.electionHash, electionKey: try electionKey ?? self.electionKey(),
                              ballotID: ballotID, district: district)
    }

    /// An encrypted ballot with its proofs (as `VoterActions.prepareBallot` makes it) under a
    /// fresh ballot id, cast with `key`, and the opening that reveals it. `BallotContent.encrypt`
    /// encrypts 1 for every listed option, so invalid selections give a ballot whose limit proof fails.
    func encryptedBallot(_ key: Ed25519PrivateKey, district: String, selections: [String], electionHash: Digest? = nil,
                         electionKey: GroupElement? = nil, nonces: [Scalar]? = nil,
                         ballotID: BallotID? = nil) throws -> (SignedBallot, BallotOpening) {
        let hash = electionHash ?? store.electionHash
        let id = try ballotID ?? BallotID.random()
        let context = try proofContext(ballotID: id, district: district, electionHash: hash, electionKey: electionKey)
        let (content, opening) = try BallotContent.encrypt(selections: selections, district: contest(district), context: context, nonces: nonces)
        let ballot = try Ballot(electionHash: hash, ballotID: id, district: district, content: content).cast(with: key)
        return (ballot, opening)
    }

    func ballot(_ key: Ed25519PrivateKey, district: String, selections: [String], electionHash: Digest? = nil,
                electionKey: GroupElement? = nil) throws -> SignedBallot {
        try encryptedBallot(key, district: district, selections: selections, electionHash: electionHash, electionKey: electionKey).0
    }

    /// A fresh encryption of a valid choice for voter `voter`'s district: its option number `option`.
    func encryptedBallot(_ key: Ed25519PrivateKey, voter: Int, option: Int = 0,
                         electionKey: GroupElement? = nil) throws -> (SignedBallot, BallotOpening) {
        let d = district(codes[voter].district)
        return try encryptedBallot(key, district: d.id, selections: [d.options[option % d.options.count].id], electionKey: electionKey)
    }

    func ballot(_ key: Ed25519PrivateKey, voter: Int, option: Int = 0, electionKey: GroupElement? = nil) throws -> SignedBallot {
        try encryptedBallot(key, voter: voter, option: option, electionKey: electionKey).0
    }

    /// A hand-made encrypted content: ciphertext i encrypts `values[i]` (any integer, so 2
    /// or -1 too); its 0/1 proof is made as if it held 1 (any non-zero value) or 0, so it
    /// fails for any other value; the limit proof proves `limitValue` (by default the true
    /// sum), so it holds exactly when that is the sum.
    func handMadeContent(ballotID: BallotID, district: String, values: [Int], limitValue: Int? = nil) throws -> BallotContent {
        let context = try proofContext(ballotID: ballotID, district: district)
        let key = context.electionKey
        let nonces = try values.map { _ in try Scalar.random() }
        let ciphertexts = zip(values, nonces).map { v, r in Ciphertext(alpha: .base(r), beta: .linear(Self.scalar(v), r, key)) }
        let proofs = try zip(ciphertexts, zip(values, nonces)).map { ct, vr in
            try ZeroOrOneProof.prove(ciphertext: ct, vote: vr.0 == 0 ? 0 : 1, nonce: vr.1, context: context)
        }
        let nonceSum = nonces.reduce(Scalar.zero, +)
        let limit = try KnownValueProof.prove(ciphertexts: ciphertexts, value: UInt64(max(0, limitValue ?? values.reduce(0, +))),
                                              nonce: nonceSum, context: context)
        return BallotContent(ciphertexts: ciphertexts, proofs: proofs, limitProof: limit)
    }

    func handMadeBallot(_ key: Ed25519PrivateKey, district: String, values: [Int], limitValue: Int? = nil) throws -> SignedBallot {
        let id = try BallotID.random()
        return try signed(key, district: district, ballotID: id,
                          content: try handMadeContent(ballotID: id, district: district, values: values, limitValue: limitValue))
    }

    /// Any content under `ballotID`, cast by `key` in this election.
    func signed(_ key: Ed25519PrivateKey, district: String, ballotID: BallotID, content: BallotContent) throws -> SignedBallot {
        try Ballot(electionHash: store.electionHash, ballotID: ballotID, district: district, content: content).cast(with: key)
    }

    /// `ballot` signed for casting by a key other than the one it names (a forgery).
    static func forged(_ ballot: SignedBallot, by forger: Ed25519PrivateKey) throws -> SignedBallot {
        let statement = SignedBallot.castStatement(electionHash: ballot.ballot.electionHash, voterKey: ballot.voterKey,
                                                   trackingCode: ballot.trackingCode)
        return SignedBallot(ballot: ballot.ballot, voterKey: ballot.voterKey, signature: try forger.signature(for: statement))
    }

    static func scalar(_ v: Int) -> Scalar {
        v >= 0 ? Scalar(UInt64(v)) : -Scalar(UInt64(-v))
    }

    func cast(_ client: some TestClientProtocol, _ ballot: SignedBallot) async throws -> TestResponse {
        try await client.postJSON("/v1/ballots", try JSONEncoder().encode(ballot.wire))
    }

    /// Challenges the ballot (its encryption, not the cast signature): the voter `key` asks
    /// for it to be opened and published.
    func spoil(_ client: some TestClientProtocol, _ ballot: SignedBallot, _ opening: BallotOpening,
               by key: Ed25519PrivateKey) async throws -> TestResponse {
        try await spoil(client, body: try SpoilRequestBody.make(ballot: ballot.ballot, opening: opening, voterKey: key))
    }

    func spoil(_ client: some TestClientProtocol, body: SpoilRequestBody) async throws -> TestResponse {
        try await client.postJSON("/v1/ballots/spoiled", try JSONEncoder().encode(body))
    }

    // MARK: database state

    struct Snapshot: Equatable, CustomStringConvertible {
        var ballots = 0
        var spoiled = 0
        var enrollments = 0
        var logSize = 0
        var checkpoints = 0
        var boundKeys = 0
        /// Wrong codes counted for backoff, over every personal number (on the roll or not).
        var failedAttempts = 0
        var description: String {
            "ballots \(ballots), spoiled \(spoiled), enrollments \(enrollments), log \(logSize), checkpoints \(checkpoints), bound keys \(boundKeys), failed attempts \(failedAttempts)"
        }
    }

    func snapshot() async throws -> Snapshot {
        let n = try await counts([
            "SELECT COUNT(*) FROM ballots",
            "SELECT COUNT(*) FROM spoiled",
            "SELECT COUNT(*) FROM enrollments",
            "SELECT COUNT(*) FROM log_entries",
            "SELECT COUNT(*) FROM checkpoints",
            "SELECT COUNT(*) FROM roll WHERE voter_key IS NOT NULL",
            "SELECT CAST(COALESCE(SUM(failures), 0) AS BIGINT) FROM code_backoff",
        ])
        return Snapshot(ballots: n[0], spoiled: n[1], enrollments: n[2], logSize: n[3], checkpoints: n[4], boundKeys: n[5],
                        failedAttempts: n[6])
    }

    /// Runs statements on the election's database, bypassing the rules (tests that make storage
    /// fail on purpose): `sqlite` on SQLite, `postgres` on PostgreSQL, one transaction.
    func execute(sqlite: [String], postgres: [String]) async throws {
        if backend == .sqlite {
            try await pool.write { db in for sql in sqlite { try db.execute(sql: sql) } }
            return
        }
        try await store.storage.write { tx in
            guard let pg = tx as? PostgresTransaction else { throw TestFailure("a PostgreSQL election written through another storage") }
            for sql in postgres { try pg.run(PostgresQuery(unsafeSQL: sql)) }
        }
    }

    /// One integer per query (tables and columns named alike in both schemas), on one snapshot.
    func counts(_ queries: [String]) async throws -> [Int] {
        if backend == .sqlite {
            return try await pool.read { db in try queries.map { try Int.fetchOne(db, sql: $0) ?? -1 } }
        }
        return try await store.storage.read { reads in
            guard let tx = reads as? PostgresTransaction else { throw TestFailure("a PostgreSQL election read through another storage") }
            return try queries.map { Int(try tx.scalar(PostgresQuery(unsafeSQL: $0), as: Int64.self) ?? -1) }
        }
    }

    /// The kinds of every log entry, in order.
    func logKinds() async throws -> [LogEntryKind] {
        try await store.entries(start: 0, limit: 1000).entries.map(\.kind)
    }

    /// Wrong codes counted for a personal number (0 when none is).
    func failedAttempts(number: String) async throws -> Int {
        let mac = PersonalNumber.mac(number, secret: rollSecret)
        return try await store.storage.read { try $0.backoff(voterMac: mac)?.failures ?? 0 }
    }

    func failedAttempts(voter: Int) async throws -> Int {
        try await failedAttempts(number: codes[voter].personalNumber)
    }
}

// MARK: client and response helpers

extension TestClientProtocol {
    func postJSON(_ uri: String, _ body: Data) async throws -> TestResponse {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    func postJSON(_ uri: String, text: String) async throws -> TestResponse {
        try await postJSON(uri, Data(text.utf8))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }

    /// POSTs `body` with the four signed headers of docs/protocol.md §15; `edit` may change
    /// the headers after signing (to test refusals).
    func postSigned(_ uri: String, _ body: Data, as signer: RequestAuthorization.Signer, key: Ed25519PrivateKey,
                    electionHash: Digest, now: Timestamp, lifetime: Timestamp = RequestAuthorization.defaultLifetime,
                    edit: (inout [(name: String, value: String)]) -> Void = { _ in }) async throws -> TestResponse {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? uri
        let auth = try RequestAuthorization.sign(electionHash: electionHash, method: "POST", path: path, body: [UInt8](body),
                                                 signer: signer, key: key, now: now, lifetime: lifetime)
        var values = auth.headerValues
        edit(&values)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        for (name, value) in values {
            guard let field = HTTPFields.Element.Name(name) else { throw TestFailure("bad header name \(name)") }
            headers.append(HTTPFields.Element(name: field, value: value))
        }
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }
}

extension TestResponse {
    var data: Data { Data(body.readableBytesView) }
    var text: String { String(decoding: body.readableBytesView, as: UTF8.self) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONDecoder().decode(T.self, from: data)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Checks a refusal: the status, the JSON error code, and a non-empty message. Returns the body.
@discardableResult
func expectError(_ response: TestResponse, _ status: HTTPResponse.Status, _ code: String,
                 sourceLocation: SourceLocation = #_sourceLocation) -> ErrorBody? {
    #expect(response.status == status, "expected \(status.code) \(code), got \(response.status.code): \(response.text)",
            sourceLocation: sourceLocation)
    guard let body = try? response.decode(ErrorBody.self) else {
        Issue.record("error body is not an ErrorBody: \(response.text)", sourceLocation: sourceLocation)
        return nil
    }
    #expect(body.code == code, "expected code \(code), got \(body.code): \(body.message)", sourceLocation: sourceLocation)
    #expect(!body.message.isEmpty, "empty error message for \(body.code)", sourceLocation: sourceLocation)
    #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
    // `tracking_code` is present only with `already-voted` (absent, not null, otherwise).
    let object = (try? JSONSerialization.jsonObject(with: response.data)) as? [String: Any]
    if code != "already-voted" {
        #expect(object?["tracking_code"] == nil, "tracking_code in a \(code) body: \(response.text)", sourceLocation: sourceLocation)
    }
    return body
}

/// Every check of a receipt verification passed.
func expectAllPassed(_ results: [CheckResult], sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!results.isEmpty, sourceLocation: sourceLocation)
    for r in results where !r.passed {
        Issue.record("receipt check \(r.name) failed: \(r.detail)", sourceLocation: sourceLocation)
    }
}

/// A temporary directory path that does not exist yet; remove it in `defer`.
func temporaryPath() -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("ballot-server-tests-\(UUID().uuidString)", isDirectory: true)
}

/// A 65-byte uncompressed encoding 0x04 || x || y of a point that is not on P-256 (the
/// generator with y + 1), as lowercase hex.
func notOnCurve() throws -> String {
    var bytes = GroupElement.base(.one).encoding
    bytes[64] ^= 0x01
    guard (try? GroupElement(encoding: bytes)) == nil else { throw TestFailure("G with y+1 decoded as a point") }
    return Hex.encode(bytes)
}

extension TestElection {
    func postDecryptionBody(_ client: some TestClientProtocol, _ body: Data) async throws -> TestResponse {
        try await postTrustee(client, "/v1/tally/decryptions", body)
    }
}

/// The code and message of the refusal `body` throws: a `CommandError` (checks made before
/// anything is written) or a `RuleError` (the election's rules). Records an issue and returns
/// nil when it throws nothing or something else.
func refusal(sourceLocation: SourceLocation = #_sourceLocation,
             _ body: () async throws -> Void) async -> (code: String, message: String)? {
    do {
        try await body()
        Issue.record("expected a refusal, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as CommandError {
        return (error.code, error.message)
    } catch let error as RuleError {
        return (error.code, error.message)
    } catch {
        Issue.record("expected a CommandError or RuleError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

extension TestElection {
    /// The commission appoints a trustee (`ballot-server trustee add`, locally).
    @discardableResult
    func appoint(_ registration: TrusteeRegistration) async throws -> ElectionRules.Recorded {
        try await store.appointTrustee(registration, commissionKey: try dir.commissionKey())
    }
}

extension TestElection {
    /// An enrollment of `voter` with `key`, prepared as `POST /v1/enrollments` prepares it
    /// (the slow hash of the typed code with the roll entry's salt), for driving the rules directly.
    func enrollmentAttempt(voter: Int, key: Ed25519PrivateKey, code typed: String? = nil) async throws -> ElectionRules.EnrollmentAttempt {
        let voterMac = PersonalNumber.mac(codes[voter].personalNumber, secret: rollSecret)
        let code = EnrollmentCode.normalize(typed ?? codes[voter].code)
        guard let salt = try await store.storage.read({ try $0.rollRow(voterMac: voterMac)?.commitment.salt }) else {
            throw TestFailure("voter \(voter) is not on the roll")
        }
        return ElectionRules.EnrollmentAttempt(
            voterMac: voterMac, salt: salt,
            typedCommitment: EnrollmentCode.commitment(normalizedCode: code, salt: salt, electionHash: store.electionHash),
            normalizedCode: code, voterKey: key.publicKey, signature: try proof(key, code: code))
    }
}

extension TestElection {
    /// The body of `POST /v1/commission/trustees`: the trustee's self-signed registration and
    /// the appointment signature (by the commission key unless `appointedBy` says otherwise).
    func appointmentBody(_ registration: TrusteeRegistration, appointedBy key: Ed25519PrivateKey? = nil) throws -> Data {
        let signature = try registration.appointmentSignature(electionHash: store.electionHash, commissionKey: try key ?? dir.commissionKey())
        return try JSONEncoder().encode(TrusteeAppointmentBody(registration: registration, signature: signature))
    }
}

/// The PostgreSQL cases of the rules suites need a test cluster: without one they are skipped
/// (this test says so once, by name), under CI=true they fail.
@Suite("Rules suites on PostgreSQL")
struct PostgresBackendTests {
    static var runs: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["EVOTE_TEST_POSTGRES_URL"]?.isEmpty == false || env["CI"] == "true"
    }

    @Test(.enabled(if: runs, StorageBackend.skipReason))
    func postgresCasesOfTheRulesSuitesRun() throws {
        _ = try StorageBackend.postgresCluster()
    }
}
