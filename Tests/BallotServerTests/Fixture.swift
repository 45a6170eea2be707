import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Logging
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
}

/// One election in its own temporary data directory, with a small roll imported through
/// `ElectionStore.importRoll` and (by default) voting opened by the commission.
/// Call `remove()` in a `defer` right after creating it.
struct TestElection: Sendable {
    let root: URL
    let dir: DataDirectory
    let store: ElectionStore
    let rollSecret: [UInt8]
    /// The issued codes, in roll order: voter `i` is in district `d0(i % districts + 1)`.
    let codes: [ElectionStore.IssuedCode]
    let clock: Clock

    init(voters: Int = 8, districts: Int = 2, open: Bool = true, manifest: ElectionManifest? = nil,
         roll: [ElectionStore.RollRow]? = nil, clock: Clock = testClock) throws {
        self.clock = clock
        root = FileManager.default.temporaryDirectory
            .appendingPathComponent("ballot-server-tests-\(UUID().uuidString)", isDirectory: true)
        dir = DataDirectory(path: root.path)
        do {
            store = try ElectionStore.create(in: dir, manifest: try manifest ?? ExampleElection.manifest(), clock: clock)
            rollSecret = try dir.rollSecret()
            codes = try store.importRoll(roll ?? ExampleElection.roll(voters: voters, districts: districts), rollSecret: rollSecret).1
            if open { _ = try store.changeWindow(.open, commissionKey: try dir.commissionKey()) }
        } catch {
            try? FileManager.default.removeItem(at: root)
            throw error
        }
    }

    /// The example manifest under another election id, so its election hash differs.
    static func otherManifest(id: String = "other-election-2026") throws -> ElectionManifest {
        let base = try ExampleElection.manifest()
        return ElectionManifest(electionId: id, name: base.name, districts: base.districts)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    func close() throws { _ = try store.changeWindow(.close, commissionKey: try dir.commissionKey()) }

    var verifier: ReceiptVerifier { ReceiptVerifier(serverKey: store.setup.serverKey, electionHash: store.electionHash) }

    func district(_ id: String) -> District { store.manifest.district(id)! }

    /// Builds the router the server uses and runs `test` against it with the group-commit
    /// writer running as a service.
    func withRouter<Value: Sendable>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await withRouterAndCommitter { client, _ in try await test(client) }
    }

    /// `withRouter`, also handing the test the running group committer.
    func withRouterAndCommitter<Value: Sendable>(
        _ test: @Sendable (any TestClientProtocol, GroupCommitter) async throws -> Value
    ) async throws -> Value {
        var logger = Logger(label: "ballot-server-tests")
        logger.logLevel = .critical
        let committer = GroupCommitter(pool: store.pool, electionHash: store.electionHash, serverKey: store.serverKey,
                                       clock: clock, logger: logger)
        var app = Application(router: buildRouter(store: store, committer: committer, rollSecret: rollSecret), logger: logger)
        app.addServices(committer)
        return try await app.test(.router) { client in try await test(client, committer) }
    }

    // MARK: enrollment

    static func enrollmentBody(number: String, code: String, key: Ed25519PublicKey, signature: Ed25519Signature) throws -> Data {
        try JSONEncoder().encode(EnrollmentRequestBody(personalNumber: number, code: code, voterKey: key, signature: signature))
    }

    /// The proof of possession for `key` in this election.
    func proof(_ key: Ed25519PrivateKey) throws -> Ed25519Signature {
        try key.signature(for: EnrollmentRequest.signedBytes(electionHash: store.electionHash, voterKey: key.publicKey))
    }

    func enroll(_ client: some TestClientProtocol, number: String, code: String, key: Ed25519PrivateKey) async throws -> TestResponse {
        try await client.postJSON("/v1/enrollments",
                                  try Self.enrollmentBody(number: number, code: code, key: key.publicKey, signature: try proof(key)))
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

    // MARK: ballots

    func ballot(_ key: Ed25519PrivateKey, district: String, selections: [String], electionHash: Digest? = nil) throws -> SignedBallot {
        try Ballot(electionHash: electionHash ?? store.electionHash, voterKey: key.publicKey, district: district,
                   content: BallotContent(selections: selections)).signed(with: key)
    }

    /// A valid ballot for voter `voter`'s district choosing its option number `option`.
    func ballot(_ key: Ed25519PrivateKey, voter: Int, option: Int = 0) throws -> SignedBallot {
        let d = district(codes[voter].district)
        return try ballot(key, district: d.id, selections: [d.options[option % d.options.count].id])
    }

    func cast(_ client: some TestClientProtocol, _ ballot: SignedBallot) async throws -> TestResponse {
        try await client.postJSON("/v1/ballots", try JSONEncoder().encode(ballot.wire))
    }

    // MARK: database state

    struct Snapshot: Equatable, CustomStringConvertible {
        var ballots = 0
        var enrollments = 0
        var logSize = 0
        var checkpoints = 0
        var boundKeys = 0
        var failedAttempts = 0
        var description: String {
            "ballots \(ballots), enrollments \(enrollments), log \(logSize), checkpoints \(checkpoints), bound keys \(boundKeys), failed attempts \(failedAttempts)"
        }
    }

    func snapshot() async throws -> Snapshot {
        try await store.pool.read { db in
            func count(_ sql: String) throws -> Int { try Int.fetchOne(db, sql: sql) ?? -1 }
            return Snapshot(
                ballots: try count("SELECT COUNT(*) FROM ballots"),
                enrollments: try count("SELECT COUNT(*) FROM enrollments"),
                logSize: try count("SELECT COUNT(*) FROM log_entries"),
                checkpoints: try count("SELECT COUNT(*) FROM checkpoints"),
                boundKeys: try count("SELECT COUNT(*) FROM roll WHERE voter_key IS NOT NULL"),
                failedAttempts: try count("SELECT COALESCE(SUM(failed_attempts), 0) FROM roll"))
        }
    }

    func failedAttempts(voter: Int) async throws -> Int? {
        let mac = Data(PersonalNumber.mac(codes[voter].personalNumber, secret: rollSecret).bytes)
        return try await store.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT failed_attempts FROM roll WHERE voter_mac = ?", arguments: [mac])
        }
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
