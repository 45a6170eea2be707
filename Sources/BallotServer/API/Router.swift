import Foundation
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
    var limits: RateLimits = .default
    static let routes: Set<String> = ["/v1/enrollments", "/v1/ballots", "/v1/ballots/spoiled"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, Self.routes.contains(request.uri.path) else { return try await next(request, context) }
        let address = limits.clientAddress(peer: context.clientAddress, forwardedFor: request.headers.first { $0.name.canonicalName == "x-forwarded-for" }?.value)
        try limiter.admit(address: address)
        do {
            return try await next(request, context)
        } catch let error as RuleError where (400..<500).contains(error.status.code) && error.status != .tooManyRequests {
            limiter.refused(address: address)
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
        } catch let error as RuleError {
            metrics.recordRejection(error.code)
            throw error
        }
    }

    private func mapErrors(_ request: Request, _ context: Context, _ next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as RuleError {
            throw error
        } catch let error as HTTPError {
            switch error.status {
            case .notFound: throw RuleError.notFoundRoute
            case .contentTooLarge: throw RuleError.tooLarge
            case .methodNotAllowed:
                throw RuleError(.methodNotAllowed, code: "method-not-allowed", message: "This route does not take \(request.method); see docs/openapi.yaml.")
            default:
                throw RuleError.malformed(error.body ?? "\(error.status)")
            }
        } catch let error as any HTTPResponseError where error.status == .contentTooLarge {
            throw RuleError.tooLarge
        } catch let error as any StorageFailure {
            context.logger.error("storage error: \(error)")
            throw RuleError.unavailable
        } catch {
            context.logger.error("unexpected error: \(error)")
            throw RuleError.internalError
        }
    }
}

/// The HTTP API (docs/openapi.yaml): decodes and checks requests, hands the election's rules
/// to the group committer, and answers with what was logged.
struct BallotAPI: Sendable {
    let store: ElectionStore
    let committer: GroupCommitter
    let rollSecret: [UInt8]
    let tracker: StatusTracker
    let metrics: ServerMetrics
    let authenticator: RequestAuthenticator
    let limiter: RateLimiter
    let requestLimits: RequestLimits
    /// Checks the proofs of ballots arriving together in one batch.
    let proofs: ProofBatcher

    var rules: ElectionRules { store.rules }

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
        router.get("/v1/receipts/{voter_key}", use: receipt)
        router.get("/v1/trustees", use: trustees)
        router.get("/v1/stations", use: stations)
        router.post("/v1/trustees/dealings", use: publishDealing)
        router.post("/v1/trustees/verifications", use: publishVerification)
        router.get("/v1/tally", use: tally)
        router.get("/v1/record", use: record)
        router.post("/v1/tally/decryptions", use: publishDecryption)
        router.post("/v1/commission/trustees", use: appointTrustee)
        router.post("/v1/commission/stations", use: appointStation)
        router.post("/v1/commission/window", use: changeWindow)
        router.post("/v1/commission/roll/lookup", use: rollLookup)
        router.post("/v1/commission/reissue", use: reissue)
        router.post("/v1/stations/lookup", use: stationLookup)
        router.post("/v1/stations/ballots", use: supervisedBallot)
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

    /// 200 while the last write batch committed; 503 while storage fails (disk full, read-only, database down).
    @Sendable func health(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let failing = committer.storageHealth.failing
        return try json(HealthBody(status: failing ? "degraded" : "ok", storage: failing ? "failing" : "ok"),
                        status: failing ? .serviceUnavailable : .ok)
    }

    @Sendable func status(_ request: Request, context: BallotRequestContext) async throws -> Response {
        try json(try await tracker.status(rejections: metrics.rejections))
    }

    @Sendable func prometheus(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let size = try await store.logSize()
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        let exposition = metrics.exposition(logSize: size, storage: committer.storageHealth)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: exposition)))
    }

    @Sendable func election(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let state = try await store.currentState()
        let key = try await store.electionKey()
        let setup = store.setup
        return try json(ElectionInfo(electionHash: store.electionHash, manifest: setup.manifest, serverKey: setup.serverKey,
                                     commissionKey: setup.commissionKey, nonce: setup.nonce, state: state, electionKey: key))
    }

    /// A salt for personal numbers that are not on the roll: the slow hash then costs the same.
    private var absentSalt: Salt { Salt(trusted: Array(store.electionHash.bytes.prefix(Salt.byteCount))) }

    @Sendable func enroll(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let body = try await decode(EnrollmentRequestBody.self, request, context)
        let number = PersonalNumber.normalize(body.personalNumber)
        guard PersonalNumber.isValid(number) else { throw RuleError.malformed(PersonalNumber.rule) }
        guard body.code.utf8.count <= 64 else { throw RuleError.malformed("the enrollment code is too long") }
        let code = EnrollmentCode.normalize(body.code)
        let signed = EnrollmentRequest.signedBytes(electionHash: store.electionHash, voterKey: body.voterKey, normalizedCode: code)
        guard body.voterKey.isValidSignature(body.signature, for: signed) else { throw RuleError.badSignature }
        let voterMac = PersonalNumber.mac(number, secret: rollSecret)
        // The slow hash runs here, in parallel, not in the writer; the same work on or off the roll.
        let salt = try await store.storage.read { try $0.rollRow(voterMac: voterMac)?.commitment.salt } ?? absentSalt
        let attempt = ElectionRules.EnrollmentAttempt(
            voterMac: voterMac, salt: salt,
            typedCommitment: EnrollmentCode.commitment(normalizedCode: code, salt: salt, electionHash: store.electionHash),
            normalizedCode: code, voterKey: body.voterKey, signature: body.signature)
        let rules = self.rules
        let outcome = try await committer.submit { batch in try rules.enroll(batch, attempt) }
        let (recorded, district) = try outcome.get()
        if case .new = recorded { metrics.enrollmentAccepted() }
        guard let subject = Digest(bytes: body.voterKey.rawRepresentation) else { throw RuleError.internalError }
        let logged = try await store.loggedReceipt(kind: .enrollment, subject: subject, index: recorded.index)
        return try json(EnrollmentResponse(district: district, logged: logged), status: status(recorded))
    }

    /// The checks of a ballot that need no database: election, district, and every proof of
    /// the encrypted content (the expensive part, done here in parallel, not in the writer).
    private func validate(_ ballot: Ballot) async throws -> District {
        guard ballot.electionHash == store.electionHash else { throw RuleError.wrongElection }
        guard let district = store.manifest.district(ballot.district) else {
            throw RuleError.invalidChoice("district \"\(ballot.district)\" is not in this election")
        }
        return district
    }

    private func validateProofs(_ ballot: Ballot, district: District) async throws -> GroupElement {
        guard let key = try await store.electionKey() else { throw RuleError.electionNotOpen }
        let context = BallotContent.context(electionHash: store.electionHash, electionKey: key, ballotID: ballot.ballotID, district: district.id)
        if let problem = await proofs.problem(of: ballot.content, in: district, context: context) {
            throw RuleError.invalidChoice(problem.description)
        }
        return key
    }

    private func status(_ recorded: ElectionRules.Recorded) -> HTTPResponse.Status {
        switch recorded {
        case .new: return .created
        case .existing: return .ok
        }
    }

    @Sendable func cast(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let ballot = try await decode(SignedBallotWire.self, request, context).signedBallot
        let district = try await validate(ballot.ballot)
        guard ballot.hasValidSignature else { throw RuleError.badSignature }
        // Only a request signed by the key counts against the key's attempts: no one else can spend them.
        try limiter.admit(voter: "key:" + ballot.voterKey.hex)
        let rules = self.rules
        // A ballot the rules will refuse anyway costs a read here, not a proof check.
        if let refusal = try await store.storage.read({ try rules.castRefusal($0, ballot) }) { throw refusal }
        _ = try await validateProofs(ballot.ballot, district: district)
        let recorded = try await committer.submit { batch in try rules.recordBallot(batch, ballot) }.get()
        if case .new = recorded { metrics.ballotAccepted() }
        let logged = try await store.loggedReceipt(kind: .ballot, subject: ballot.trackingCode.digest, index: recorded.index)
        return try json(CastResponse(trackingCode: ballot.trackingCode, logged: logged), status: status(recorded))
    }

    @Sendable func spoil(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let body = try await decode(SpoilRequestBody.self, request, context)
        let ballot = body.ballot.ballot
        let district = try await validate(ballot)
        guard body.hasValidSignature else { throw RuleError.badSignature }
        try limiter.admit(voter: "key:" + body.voterKey.hex)
        let rules = self.rules
        let voterKey = body.voterKey
        if let refusal = try await store.storage.read({ try rules.spoilRefusal($0, voterKey: voterKey, district: ballot.district) }) { throw refusal }
        let key = try await validateProofs(ballot, district: district)
        guard Selections.problem(body.opening.selections, in: district) == nil,
              body.opening.opens(ballot.content, district: district, electionKey: key) else { throw RuleError.badOpening }
        let spoiled = SpoiledBallot(ballot: ballot, opening: body.opening)
        let recorded = try await committer.submit { batch in try rules.recordSpoiled(batch, spoiled, voterKey: voterKey) }.get()
        let logged = try await store.loggedReceipt(kind: .spoiled, subject: spoiled.trackingCode.digest, index: recorded.index)
        return try json(CastResponse(trackingCode: spoiled.trackingCode, logged: logged), status: status(recorded))
    }

    @Sendable func receipt(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let raw = context.parameters.get("voter_key") ?? ""
        guard let key = Hex.decode(raw).flatMap({ try? Ed25519PublicKey(rawRepresentation: $0) }), raw.count == 64 else {
            throw RuleError.malformed("a voter key is 64 lowercase hex digits")
        }
        return try json(try await store.castReceipt(voterKey: key))
    }

    @Sendable func trustees(_ request: Request, context: BallotRequestContext) async throws -> Response {
        try json(try await store.trusteesInfo())
    }

    @Sendable func stations(_ request: Request, context: BallotRequestContext) async throws -> Response {
        try json(StationsInfo(stations: try await store.stations()))
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

    /// Runs an authorized action in the next batch (nonce checked and recorded there).
    private func authorizedAction<T: Sendable>(_ auth: RequestAuthorization,
                                               _ action: @escaping @Sendable (Batch) throws -> Result<T, RuleError>) async throws -> T {
        try await committer.submit { batch in try ElectionRules.authorized(batch, auth) { try action(batch) } }.get()
    }

    @Sendable func publishDealing(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (publication, auth) = try await trusteePublication(DealerPublication.self, request, context) { $0.index }
        let rules = self.rules
        let recorded = try await authorizedAction(auth) { batch in try rules.recordDealing(batch, publication) }
        return try json(PublicationResponse(logIndex: recorded.index), status: status(recorded))
    }

    @Sendable func publishVerification(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (verification, auth) = try await trusteePublication(ShareVerification.self, request, context) { $0.index }
        let rules = self.rules
        let recorded = try await authorizedAction(auth) { batch in try rules.recordVerification(batch, verification) }
        return try json(PublicationResponse(logIndex: recorded.index), status: status(recorded))
    }

    @Sendable func publishDecryption(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (partial, auth) = try await trusteePublication(PartialDecryption.self, request, context,
                                                           limit: requestLimits.maxDecryptionBodyBytes) { $0.index }
        let rules = self.rules
        let recorded = try await authorizedAction(auth) { batch in try rules.recordDecryption(batch, partial) }
        return try json(PublicationResponse(logIndex: recorded.index), status: status(recorded))
    }

    private func commission<T: Decodable>(_ type: T.Type, _ request: Request, _ context: BallotRequestContext) async throws -> (T, RequestAuthorization) {
        try await authorized(T.self, request, context, expected: "the commission") { $0 == .commission }
    }

    @Sendable func appointTrustee(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (body, auth) = try await commission(TrusteeAppointmentBody.self, request, context)
        let rules = self.rules
        let recorded = try await authorizedAction(auth) { batch in
            try rules.appointTrustee(batch, body.registration, commissionSignature: body.signature)
        }
        return try json(PublicationResponse(logIndex: recorded.index), status: status(recorded))
    }

    @Sendable func appointStation(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (body, auth) = try await commission(StationAppointmentBody.self, request, context)
        let rules = self.rules
        let recorded = try await authorizedAction(auth) { batch in
            try rules.appointStation(batch, body.station, commissionSignature: body.signature)
        }
        return try json(PublicationResponse(logIndex: recorded.index), status: status(recorded))
    }

    @Sendable func changeWindow(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (body, auth) = try await commission(WindowOrderBody.self, request, context)
        let order = body.order
        let now = store.clock.now()
        let skew = authenticator.maxLifetime
        guard order.issuedAt <= now + skew, order.issuedAt + skew >= now else { throw RuleError.invalidOrderTime }
        let rules = self.rules
        let index = try await authorizedAction(auth) { batch in try rules.applyWindow(batch, order: order) }
        return try json(WindowResponse(state: order.action == .open ? .open : .closed, logIndex: index), status: .created)
    }

    private func voterMac(_ personalNumber: String) throws -> Digest {
        let number = PersonalNumber.normalize(personalNumber)
        guard PersonalNumber.isValid(number) else { throw RuleError.malformed(PersonalNumber.rule) }
        return PersonalNumber.mac(number, secret: rollSecret)
    }

    /// The registrar's lookup before a reissue: the roll entry's district and current commitment.
    @Sendable func rollLookup(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (body, _) = try await commission(PersonalNumberBody.self, request, context)
        let mac = try voterMac(body.personalNumber)
        let (row, voted) = try await store.storage.read { r -> (RollRow?, Bool) in
            guard let row = try r.rollRow(voterMac: mac) else { return (nil, false) }
            let cast = try row.voterKey.map { try r.ballot(voterKey: $0) != nil } ?? false
            return (row, cast || row.supervised != nil)
        }
        guard let row else { throw RuleError.notOnRoll }
        return try json(RollEntryResponse(district: row.district, commitment: row.commitment, enrolled: row.voterKey != nil, voted: voted))
    }

    @Sendable func reissue(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (body, auth) = try await commission(ReissueBody.self, request, context)
        let mac = try voterMac(body.personalNumber)
        let order = body.order.order
        let signature = body.signature
        let rules = self.rules
        let done = try await authorizedAction(auth) { batch in try rules.reissue(batch, voterMac: mac, order: order, signature: signature) }
        return try json(ReissueResponse(logIndex: done.index, revokedKey: done.revoked), status: .created)
    }

    private func station(_ request: Request, _ context: BallotRequestContext) async throws -> ([UInt8], RequestAuthorization, UInt32) {
        let bytes = try await body(request, context)
        let auth = try await authenticator.verify(request, body: bytes, expected: "a registered polling station") {
            if case .station = $0 { return true } else { return false }
        }
        guard case .station(let index) = auth.signer else { throw RuleError.internalError }
        return (bytes, auth, index)
    }

    @Sendable func stationLookup(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (bytes, _, _) = try await station(request, context)
        let body = try decode(PersonalNumberBody.self, from: bytes)
        let mac = try voterMac(body.personalNumber)
        guard let row = try await store.storage.read({ try $0.rollRow(voterMac: mac) }) else { throw RuleError.notOnRoll }
        return try json(StationLookupResponse(district: row.district))
    }

    @Sendable func supervisedBallot(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let (bytes, auth, index) = try await station(request, context)
        let body = try decode(SupervisedBallotBody.self, from: bytes)
        let mac = try voterMac(body.personalNumber)
        let ballot = body.ballot.ballot
        let district = try await validate(ballot)
        guard let station = try await store.stations().first(where: { $0.index == index }),
              SupervisedBallot(ballot: ballot, station: index, signature: body.signature, link: ballot.trackingCode.digest).isSigned(by: station.signingKey) else {
            throw RuleError.badSignature
        }
        _ = try await validateProofs(ballot, district: district)
        let rules = self.rules
        let signature = body.signature
        let outcome = try await authorizedAction(auth) { batch in
            try rules.recordSupervised(batch, voterMac: mac, ballot: ballot, station: index, signature: signature)
        }
        let logged = try await store.loggedReceipt(kind: .supervised, subject: ballot.trackingCode.digest, index: outcome.recorded.index)
        return try json(SupervisedResponse(trackingCode: ballot.trackingCode, logged: logged, superseded: outcome.superseded),
                        status: status(outcome.recorded))
    }

    @Sendable func lookup(_ request: Request, context: BallotRequestContext) async throws -> Response {
        let raw = context.parameters.get("tracking_code") ?? ""
        if let code = TrackingCode(hex: raw) {
            return try json(try await store.lookup(trackingCode: code))
        }
        let text = raw.removingPercentEncoding ?? raw
        guard let prefix = TrackingCode.shortPrefix(text) else {
            throw RuleError.malformed("a tracking code is 64 lowercase hex digits, or the short code XXXX-XXXX-XXXX-XXXX")
        }
        return try json(try await store.lookup(shortCode: prefix, as: text))
    }

    @Sendable func latestCheckpoint(_ request: Request, context: BallotRequestContext) async throws -> Response {
        try json(try await store.latestCheckpoint())
    }

    @Sendable func checkpointAt(_ request: Request, context: BallotRequestContext) async throws -> Response {
        guard let size = context.parameters.get("tree_size").flatMap(UInt64.init) else {
            throw RuleError.malformed("tree_size must be a whole number")
        }
        guard let checkpoint = try await store.checkpoint(size: size) else {
            throw RuleError.notFound("A signed checkpoint at tree size \(size)")
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
            throw RuleError.malformed("limit must be between 1 and \(requestLimits.maxPage)")
        }
        return try json(try await store.entries(start: start, limit: Int(limit)))
    }

    // MARK: helpers

    private func query(_ request: Request, _ name: String, default value: UInt64? = nil) throws -> UInt64 {
        guard let raw = request.uri.queryParameters[name[...]] else {
            if let value { return value }
            throw RuleError.malformed("query parameter \(name) is required")
        }
        guard let number = UInt64(String(raw)), number <= UInt64(Int64.max) else {
            throw RuleError.malformed("query parameter \(name) must be a whole number")
        }
        return number
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: BallotRequestContext,
                                      limit: Int? = nil) async throws -> T {
        try decode(T.self, from: try await body(request, context, limit: limit))
    }

    private func body(_ request: Request, _ context: BallotRequestContext, limit: Int? = nil) async throws -> [UInt8] {
        var request = request
        // Refuse an announced oversize body at once instead of waiting for bytes that would be refused.
        if let announced = request.headers[.contentLength].flatMap(UInt64.init), announced > UInt64(limit ?? requestLimits.maxBodyBytes) {
            throw RuleError.tooLarge(limit: limit ?? requestLimits.maxBodyBytes)
        }
        do {
            return Array(try await request.collectBody(upTo: limit ?? requestLimits.maxBodyBytes).readableBytesView)
        } catch {
            throw RuleError.tooLarge(limit: limit ?? requestLimits.maxBodyBytes)
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw RuleError.malformed(Self.describe(error))
        } catch {
            throw RuleError.malformed("the body is not valid JSON")
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
            throw RuleError.wrongSigner(auth.signer, expected: "trustee-\(index(value)), the trustee the publication names")
        }
        return (value, auth)
    }

    /// A decoding failure as a sentence: the field's path and what is wrong, never Swift's own text.
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

/// `GET /v1/stations`.
struct StationsInfo: Encodable, Sendable {
    let stations: [StationRegistration]
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
