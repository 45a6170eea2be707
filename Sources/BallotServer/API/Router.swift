import Foundation
import GRDB
import Hummingbird
import Logging
import NIOCore
import VotingCore

/// Request context with the client's address (rate limits). Bodies are read by the handlers
/// with `RequestLimits`; `maxUploadSize` only bounds what Hummingbird itself would collect.
struct BallotRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The peer's IP address; "local" when there is none (in-process tests).
    let clientAddress: String
    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress ?? "local"
    }
    var maxUploadSize: Int { 64 * 1024 }

}

/// Sizes the API accepts (`serve --max-body-bytes`, `--max-decryption-bytes`, `--max-page`).
struct RequestLimits: Sendable, Equatable {
    /// Largest request body, except partial decryptions.
    var maxBodyBytes = 64 * 1024
    /// Largest partial decryption (one share and proof per option of every district).
    var maxDecryptionBodyBytes = 4 * 1024 * 1024
    /// Most log entries one page of GET /v1/log/entries returns.
    var maxPage = 1000

    static let `default` = RequestLimits()
}

/// Per-address limits on the voters' routes: request rate, and refused requests (wrong
/// codes, invalid ballots) counted against the address they came from.
struct VoterRateLimitMiddleware: RouterMiddleware {
    typealias Context = BallotRequestContext
    let limiter: RateLimiter
    static let routes: Set<String> = ["/v1/enrollments", "/v1/ballots", "/v1/ballots/spoiled"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, Self.routes.contains(request.uri.path) else { return try await next(request, context) }
        try limiter.admit(address: context.clientAddress)
        do {
            return try await next(request, context)
        } catch let error as APIError where (400..<500).contains(error.status.code) && error.status != .tooManyRequests {
            limiter.refused(address: context.clientAddress)
            throw error
        }
    }
}

/// Turns every error into the API's JSON error shape: no route or body error escapes as
/// a bare status, and nothing unexpected becomes more than a logged 500.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        defer { metrics.observe(ContinuousClock.now - started) }
        do {
            return try await mapErrors(request, context, next)
        } catch let error as APIError {
            metrics.recordRejection(error.code)
            throw error
        }
    }

    private func mapErrors(_ request: Request, _ context: Context, _ next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound: throw APIError.notFoundRoute
            case .contentTooLarge: throw APIError.tooLarge
            case .methodNotAllowed:
                throw APIError(status: .methodNotAllowed, code: "method-not-allowed", message: "This route does not take \(request.method); see docs/openapi.yaml.")
            default:
                throw APIError.malformed(error.body ?? "\(error.status)")
            }
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.tooLarge
        } catch let error as DatabaseError {
            context.logger.error("storage error: \(error)")
            throw APIError.unavailable
        } catch {
            context.logger.error("unexpected error: \(error)")
            throw APIError.internalError
        }
    }
}

/// The HTTP API (docs/openapi.yaml).
struct BallotAPI: Sendable {
    let store: ElectionStore
    let committer: GroupCommitter
    let rollSecret: [UInt8]
    let tracker: StatusTracker
    let metrics: ServerMetrics
    let authenticator: RequestAuthenticator
    let limiter: RateLimiter
    let requestLimits: RequestLimits

    func register(on router: Router<BallotRequestContext>) {
        router.get("/health", use: health)
        router.get("/", use: dashboard)
        router.get("/v1/status", use: status)
        router.get("/metrics", use: prometheus)
        router.get("/v1/election", use: election)
        router.post("/v1/enrollments", use: enroll)
        router.post("/v1/ballots", use: cast)
        router.post("/v1/ballots/spoiled", use: spoil)
        router.get("/v1/ballots/{tracking_code}", use: lookup)
        router.get("/v1/trustees", use: trustees)
        router.post("/v1/trustees/dealings", use: publishDealing)
        router.post("/v1/trustees/verifications", use: publishVerification)
        router.get("/v1/tally", use: tally)
        router.get("/v1/record", use: record)
        router.post("/v1/tally/decryptions", use: publishDecryption)
        router.post("/v1/commission/trustees", use: registerTrustee)
        router.post("/v1/commission/window", use: changeWindow)
        router.get("/v1/log/checkpoint", use: latestCheckpoint)
        router.get("/v1/log/checkpoints/{tree_size}", use: checkpointAt)
        router.get("/v1/log/inclusion", use: inclusion)
        router.get("/v1/log/consistency", use: consistency)
        router.get("/v1/log/entries", use: entries)
    }

    @Sendable func dashboard(_ request: Request, context: BallotRequestContext) async throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        // The page is self-contained: forbid every external load.
        headers[.contentSecurityPolicy] = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html)))
    }

    /// 200 while the last write batch committed; 503 while storage fails (disk full or read-only).
    @Sendable func health(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let failing = committer.storageHealth.failing
        return try json(HealthBody(status: failing ? "degraded" : "ok", storage: failing ? "failing" : "ok"),
                        status: failing ? .serviceUnavailable : .ok)
    }

    @Sendable func status(_ request: Request, context: BallotRequestContext) async throws -> Response {
        try json(try await tracker.status(rejections: metrics.rejections))
    }

    @Sendable func prometheus(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let size = try await store.pool.read { db in try store.logSize(db) }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        let exposition = metrics.exposition(logSize: size, storage: committer.storageHealth)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: exposition)))
    }

    @Sendable func election(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let state = try await store.currentState()
        let key = try await store.electionKey()
        return try json(ElectionInfo(electionHash: store.electionHash, manifest: store.manifest, serverKey: store.setup.serverKey,
                                     commissionKey: store.setup.commissionKey, state: state, electionKey: key))
    }

    @Sendable func enroll(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let body = try await decode(EnrollmentRequestBody.self, request, context)
        let number = PersonalNumber.normalize(body.personalNumber)
        guard PersonalNumber.isValid(number) else { throw APIError.malformed(PersonalNumber.rule) }
        guard body.code.utf8.count <= 64 else { throw APIError.malformed("the enrollment code is too long") }
        let signed = EnrollmentRequest.signedBytes(electionHash: store.electionHash, voterKey: body.voterKey)
        guard body.voterKey.isValidSignature(body.signature, for: signed) else { throw APIError.badSignature }
        let voterMac = PersonalNumber.mac(number, secret: rollSecret)
        try limiter.admit(voter: "enroll:" + voterMac.hex)
        let codeMac = EnrollmentCode.mac(body.code, secret: rollSecret)
        let key = body.voterKey
        let outcome = try await committer.submit { db, log in
            try ElectionStore.enroll(db: db, log: log, voterMac: voterMac, codeMac: codeMac, voterKey: key)
        }
        let (recorded, district) = try outcome.get()
        let index: UInt64
        let status: HTTPResponse.Status
        switch recorded {
        case .new(let i):
            (index, status) = (i, .created)
            metrics.enrollmentAccepted()
        case .existing(let i): (index, status) = (i, .ok)
        }
        guard let subject = Digest(bytes: key.rawRepresentation) else { throw APIError.internalError }
        let logged = try await store.loggedReceipt(kind: .enrollment, subject: subject, index: index)
        return try json(EnrollmentResponse(district: district, logged: logged), status: status)
    }

    /// The checks that need no database: election, district, signature, and every proof of
    /// the encrypted content (the expensive part, done here in parallel, not in the writer).
    private func validate(_ ballot: SignedBallot) async throws {
        try limiter.admit(voter: "key:" + Hex.encode(ballot.ballot.voterKey.rawRepresentation))
        guard ballot.ballot.electionHash == store.electionHash else { throw APIError.wrongElection }
        guard let district = store.manifest.district(ballot.ballot.district) else {
            throw APIError.invalidChoice("district \"\(ballot.ballot.district)\" is not in this election")
        }
        guard ballot.hasValidSignature else { throw APIError.badSignature }
        guard let key = try await store.electionKey() else { throw APIError.electionNotOpen }
        let context = BallotContent.context(electionHash: store.electionHash, electionKey: key,
                                            voterKey: ballot.ballot.voterKey, district: district.id)
        if let problem = ballot.ballot.content.problem(in: district, context: context) { throw APIError.invalidChoice(problem.description) }
    }

    private func recordedIndex(_ outcome: Result<ElectionStore.Recorded, APIError>) throws -> (UInt64, HTTPResponse.Status) {
        switch try outcome.get() {
        case .new(let i): return (i, .created)
        case .existing(let i): return (i, .ok)
        }
    }

    @Sendable func cast(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let ballot = try await decode(SignedBallotWire.self, request, context).signedBallot
        try await validate(ballot)
        let outcome = try await committer.submit { db, log in
            try ElectionStore.recordBallot(db: db, log: log, ballot: ballot)
        }
        let (index, status) = try recordedIndex(outcome)
        if status == .created { metrics.ballotAccepted() }
        let logged = try await store.loggedReceipt(kind: .ballot, subject: ballot.trackingCode.digest, index: index)
        return try json(CastResponse(trackingCode: ballot.trackingCode, logged: logged), status: status)
    }

    @Sendable func spoil(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let body = try await decode(SpoilRequestBody.self, request, context)
        let ballot = body.ballot.signedBallot
        try await validate(ballot)
        guard let district = store.manifest.district(ballot.ballot.district), let key = try await store.electionKey(),
              Selections.problem(body.opening.selections, in: district) == nil,
              body.opening.opens(ballot.ballot.content, district: district, electionKey: key) else {
            throw APIError(status: .badRequest, code: "bad-opening",
                           message: "The revealed choice and nonces do not open this encrypted ballot; nothing was published. Send the opening of this exact encryption.")
        }
        let spoiled = SpoiledBallot(ballot: ballot, opening: body.opening)
        let outcome = try await committer.submit { db, log in
            try ElectionStore.recordSpoiled(db: db, log: log, spoiled: spoiled)
        }
        let (index, status) = try recordedIndex(outcome)
        let logged = try await store.loggedReceipt(kind: .spoiled, subject: ballot.trackingCode.digest, index: index)
        return try json(CastResponse(trackingCode: ballot.trackingCode, logged: logged), status: status)
    }

    @Sendable func trustees(_ request: Request, context: BallotRequestContext) async throws -> Response {
        try json(try await store.trusteesInfo())
    }

    /// The whole public record as JSON Lines, streamed page by page.
    @Sendable func record(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let store = self.store
        var headers = HTTPFields()
        headers[.contentType] = "application/x-ndjson"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            _ = try await store.exportRecord { data in try await writer.write(ByteBuffer(bytes: data)) }
            try await writer.finish(nil)
        })
    }

    @Sendable func tally(_ request: Request, context: BallotRequestContext) async throws -> Response {
        try json(try await store.tallyInfo())
    }

    @Sendable func publishDealing(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (publication, auth) = try await trusteePublication(DealerPublication.self, request, context) { $0.index }
        let manifest = store.manifest
        let hash = store.electionHash
        let now = store.clock.now()
        let outcome = try await committer.submit { db, log in
            try ElectionStore.authorized(db: db, auth, now: now) {
                try ElectionStore.recordDealing(db: db, log: log, publication: publication, manifest: manifest, electionHash: hash)
            }
        }
        let (index, status) = try recordedIndex(outcome)
        return try json(PublicationResponse(logIndex: index), status: status)
    }

    @Sendable func publishVerification(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (verification, auth) = try await trusteePublication(ShareVerification.self, request, context) { $0.index }
        let manifest = store.manifest
        let hash = store.electionHash
        let now = store.clock.now()
        let outcome = try await committer.submit { db, log in
            try ElectionStore.authorized(db: db, auth, now: now) {
                try ElectionStore.recordVerification(db: db, log: log, verification: verification, manifest: manifest, electionHash: hash)
            }
        }
        let (index, status) = try recordedIndex(outcome)
        return try json(PublicationResponse(logIndex: index), status: status)
    }

    @Sendable func publishDecryption(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (partial, auth) = try await trusteePublication(PartialDecryption.self, request, context,
                                                           limit: requestLimits.maxDecryptionBodyBytes) { $0.index }
        let manifest = store.manifest
        let hash = store.electionHash
        let key = store.serverKey
        let now = store.clock.now()
        let outcome = try await committer.submit { db, log in
            try ElectionStore.authorized(db: db, auth, now: now) {
                try ElectionStore.recordDecryption(db: db, log: log, partial: partial, manifest: manifest, electionHash: hash, serverKey: key)
            }
        }
        let (index, status) = try recordedIndex(outcome)
        return try json(PublicationResponse(logIndex: index), status: status)
    }

    @Sendable func registerTrustee(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (registration, auth) = try await authorized(TrusteeRegistration.self, request, context, expected: "the commission") {
            $0 == .commission
        }
        let manifest = store.manifest
        let now = store.clock.now()
        let outcome = try await committer.submit { db, log in
            try ElectionStore.authorized(db: db, auth, now: now) {
                try ElectionStore.recordTrustee(db: db, log: log, registration: registration, manifest: manifest)
            }
        }
        let (index, status) = try recordedIndex(outcome)
        return try json(PublicationResponse(logIndex: index), status: status)
    }

    @Sendable func changeWindow(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (body, auth) = try await authorized(WindowOrderBody.self, request, context, expected: "the commission") {
            $0 == .commission
        }
        let order = body.order
        let now = store.clock.now()
        let skew = authenticator.maxLifetime
        guard order.issuedAt <= now + skew, order.issuedAt + skew >= now else { throw APIError.invalidOrderTime }
        let store = self.store
        let outcome = try await committer.submit { db, log in
            try ElectionStore.authorized(db: db, auth, now: now) {
                try store.applyWindow(db: db, log: log, order: order)
            }
        }
        let index = try outcome.get()
        return try json(WindowResponse(state: order.action == .open ? .open : .closed, logIndex: index), status: .created)
    }

    @Sendable func lookup(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let raw = context.parameters.get("tracking_code") ?? ""
        guard let code = TrackingCode(hex: raw) else {
            throw APIError.malformed("a tracking code is 64 lowercase hex digits")
        }
        return try json(try await store.lookup(trackingCode: code))
    }

    @Sendable func latestCheckpoint(_ request: Request, context: BallotRequestContext) async throws -> Response {
        try json(try await store.latestCheckpoint())
    }

    @Sendable func checkpointAt(_ request: Request, context: BallotRequestContext) async throws -> Response {
        guard let size = context.parameters.get("tree_size").flatMap(UInt64.init) else {
            throw APIError.malformed("tree_size must be a whole number")
        }
        guard let checkpoint = try await store.checkpoint(size: size) else {
            throw APIError.notFound("A signed checkpoint at tree size \(size)")
        }
        return try json(checkpoint)
    }

    @Sendable func inclusion(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let index = try query(request, "index")
        let size = try query(request, "tree_size")
        let proof = try await store.inclusionProof(index: index, treeSize: size)
        return try json(InclusionProofBody(index: index, treeSize: size, proof: proof))
    }

    @Sendable func consistency(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let first = try query(request, "first")
        let second = try query(request, "second")
        let proof = try await store.consistencyProof(first: first, second: second)
        return try json(ConsistencyProofBody(first: first, second: second, proof: proof))
    }

    @Sendable func entries(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let start = try query(request, "start", default: 0)
        let limit = try query(request, "limit", default: 100)
        guard limit >= 1, limit <= UInt64(requestLimits.maxPage) else {
            throw APIError.malformed("limit must be between 1 and \(requestLimits.maxPage)")
        }
        return try json(try await store.entries(start: start, limit: Int(limit)))
    }

    // MARK: helpers

    private func query(_ request: Request, _ name: String, default value: UInt64? = nil) throws -> UInt64 {
        guard let raw = request.uri.queryParameters[name[...]] else {
            if let value { return value }
            throw APIError.malformed("query parameter \(name) is required")
        }
        guard let number = UInt64(String(raw)), number <= UInt64(Int64.max) else {
            throw APIError.malformed("query parameter \(name) must be a whole number")
        }
        return number
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: BallotRequestContext,
                                      limit: Int? = nil) async throws -> T {
        try decode(T.self, from: try await body(request, context, limit: limit))
    }

    private func body(_ request: Request, _ context: BallotRequestContext, limit: Int? = nil) async throws -> [UInt8] {
        var request = request
        do {
            return Array(try await request.collectBody(upTo: limit ?? requestLimits.maxBodyBytes).readableBytesView)
        } catch {
            throw APIError.tooLarge(limit: limit ?? requestLimits.maxBodyBytes)
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw APIError.malformed(Self.describe(error))
        } catch {
            throw APIError.malformed("the body is not valid JSON")
        }
    }

    /// The body and its verified authorization for a commission or trustee route.
    private func authorized<T: Decodable>(_ type: T.Type, _ request: Request, _ context: BallotRequestContext, limit: Int? = nil,
                                          expected: String, accepts: (RequestAuthorization.Signer) -> Bool) async throws -> (T, RequestAuthorization) {
        let bytes = try await body(request, context, limit: limit)
        let auth = try await authenticator.verify(request, body: bytes, expected: expected, accepts: accepts)
        return (try decode(T.self, from: bytes), auth)
    }

    /// A trustee publication must be signed by the trustee it names.
    private func trusteePublication<T: Decodable>(_ type: T.Type, _ request: Request, _ context: BallotRequestContext,
                                                  limit: Int? = nil, index: (T) -> UInt32) async throws -> (T, RequestAuthorization) {
        let (value, auth) = try await authorized(T.self, request, context, limit: limit, expected: "a registered trustee") {
            if case .trustee = $0 { return true } else { return false }
        }
        guard auth.signer == .trustee(index(value)) else {
            throw APIError.wrongSigner(auth.signer, expected: "trustee-\(index(value)), the trustee the publication names")
        }
        return (value, auth)
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "body" : p
        }
        switch error {
        case .typeMismatch(_, let c): return "\(path(c)) has the wrong type"
        case .valueNotFound(_, let c): return "\(path(c)) is null"
        case .keyNotFound(let key, let c): return "field \(c.codingPath.isEmpty ? "" : path(c) + ".")\(key.stringValue) is missing"
        case .dataCorrupted(let c): return "\(path(c)): \(c.debugDescription)"
        @unknown default: return "the body does not match the schema"
        }
    }
}

struct HealthBody: ResponseEncodable {
    let status: String
    /// "ok", or "failing" while the last write batch could not be committed.
    let storage: String
}

private let jsonEncoder: JSONEncoder = {
    let e = JSONEncoder()
    e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return e
}()

func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try jsonEncoder.encode(value)
    var headers = HTTPFields()
    headers[.contentType] = "application/json; charset=utf-8"
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
