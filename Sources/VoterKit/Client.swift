public import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization
public import VotingCore

/// A failure a voter or script can meet, with a stable code and a sentence that says what to do.
public struct VoterError: Error, Sendable, CustomStringConvertible {
    public let code: String
    public let message: String
    /// HTTP status when the server refused the request.
    public let status: Int?
    /// For `already-voted`: the tracking code the server holds.
    public let trackingCode: String?
    /// For `rate-limited` and `unavailable`: the seconds the server asked to wait (Retry-After).
    public let retryAfter: Int?

    public init(_ code: String, _ message: String, status: Int? = nil, trackingCode: String? = nil, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.trackingCode = trackingCode
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code): \(message)" }
}

/// The ballot server's HTTP API (docs/openapi.yaml) over AsyncHTTPClient.
public struct BallotServerClient: Sendable {
    public let baseURL: String
    public let http: HTTPClient
    let timeout: TimeAmount
    let attempts: Int
    /// Signs every POST for the commission or a trustee (docs/protocol.md §15); nil for voters.
    public private(set) var signer: RequestSigner?

    /// `baseURL` like `http://127.0.0.1:8080`, without a trailing slash. POSTs are sent up to
    /// `attempts` times when the server cannot be reached (they are idempotent).
    public init(baseURL: String, http: HTTPClient = BallotServerClient.single, timeoutSeconds: Int64 = 30, attempts: Int = 3) throws {
        var url = baseURL
        while url.hasSuffix("/") { url.removeLast() }
        guard let parsed = URL(string: url), let scheme = parsed.scheme, ["http", "https"].contains(scheme), parsed.host != nil else {
            throw VoterError("bad-url", L("error.bad-url", ["url": baseURL]))
        }
        self.baseURL = url
        self.http = http
        self.timeout = .seconds(timeoutSeconds)
        self.attempts = max(1, attempts)
    }

    /// `baseURL` with an HTTP client that also trusts the certificates in `caFile` (PEM), for
    /// a server whose certificate no system root vouches for (`ballot-server tls-cert`).
    public init(baseURL: String, caFile: String?) throws {
        try self.init(baseURL: baseURL, http: try Self.http(trusting: caFile))
    }

    private static let trustingClients = Mutex<[String: HTTPClient]>([:])

    /// One person's commands: a connection that cannot be made fails at once (a wrong
    /// address, an untrusted certificate, http against https) instead of being retried by
    /// the pool until the deadline; `post` has its own few retries for a server that restarts.
    static func singleConfiguration() -> HTTPClient.Configuration {
        var config = HTTPClient.Configuration()
        config.connectionPool.retryConnectionEstablishment = false
        config.timeout = .init(connect: .seconds(10), read: .seconds(60))
        return config
    }

    /// The client of one person's commands (no CA file).
    public static let single = HTTPClient(eventLoopGroupProvider: .singleton, configuration: singleConfiguration())

    /// The single client, or one per CA file for the life of the process.
    public static func http(trusting caFile: String?) throws -> HTTPClient {
        guard let caFile else { return single }
        if let client = trustingClients.withLock({ $0[caFile] }) { return client }
        var config = singleConfiguration()
        config.tlsConfiguration = try tlsConfiguration(trusting: caFile)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        return trustingClients.withLock { clients in
            if let existing = clients[caFile] { return existing }
            clients[caFile] = client
            return client
        }
    }

    /// TLS for a client that trusts the system roots and the certificates in `caFile`.
    static func tlsConfiguration(trusting caFile: String?) throws -> TLSConfiguration? {
        guard let caFile else { return nil }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMFile(caFile)
        } catch {
            throw VoterError("bad-ca-file", L("error.ca-file-unreadable", ["file": caFile, "reason": "\(error)"]))
        }
        guard !certificates.isEmpty else {
            throw VoterError("bad-ca-file", L("error.ca-file-empty", ["file": caFile]))
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.certificates(certificates)]
        tls.minimumTLSVersion = .tlsv12
        return tls
    }

    /// An HTTP client for many concurrent requests to one host (simulations, benchmarks).
    /// `retryConnections: false` when the caller fails over to other instances itself: a
    /// dead instance then answers at once instead of after the connect timeout.
    public static func makePooledHTTPClient(connections: Int, caFile: String? = nil, retryConnections: Bool = true) throws -> HTTPClient {
        var config = HTTPClient.Configuration()
        config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
        config.connectionPool.retryConnectionEstablishment = retryConnections
        config.timeout = .init(connect: .seconds(10), read: .seconds(60))
        config.tlsConfiguration = try tlsConfiguration(trusting: caFile)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
    }

    public func election() async throws -> ElectionInfo { try await get("/v1/election") }
    public func latestCheckpoint() async throws -> SignedCheckpoint { try await get("/v1/log/checkpoint") }
    public func checkpoint(treeSize: UInt64) async throws -> SignedCheckpoint { try await get("/v1/log/checkpoints/\(treeSize)") }

    public func inclusionProof(index: UInt64, treeSize: UInt64) async throws -> InclusionProofBody {
        try await get("/v1/log/inclusion?index=\(index)&tree_size=\(treeSize)")
    }

    public func consistencyProof(first: UInt64, second: UInt64) async throws -> ConsistencyProofBody {
        try await get("/v1/log/consistency?first=\(first)&second=\(second)")
    }

    public func entries(start: UInt64, limit: Int) async throws -> LogEntriesPage {
        try await get("/v1/log/entries?start=\(start)&limit=\(limit)")
    }

    public func lookup(trackingCode: TrackingCode) async throws -> BallotLookup {
        try await get("/v1/ballots/\(trackingCode.hex)")
    }

    public func enroll(_ body: EnrollmentRequestBody) async throws -> EnrollmentResponse {
        try await post("/v1/enrollments", body)
    }

    public func cast(_ ballot: SignedBallot) async throws -> CastResponse {
        try await post("/v1/ballots", ballot.wire)
    }

    /// Casts a ballot whose JSON body (`SignedBallotWire`) was encoded beforehand: the
    /// benchmark's load generator encodes before timing, as it signs before timing.
    public func cast(json: [UInt8]) async throws -> CastResponse {
        try await post("/v1/ballots", json: json)
    }

    /// The server's Prometheus text (`GET /metrics`).
    public func metricsText() async throws -> String {
        var request = HTTPClientRequest(url: baseURL + "/metrics")
        request.method = .GET
        let (response, body) = try await exchange(request)
        guard response.status == .ok else {
            throw VoterError("http-\(response.status.code)", L("error.http-no-body", ["status": "\(response.status)"]))
        }
        return String(decoding: body.readableBytesView, as: UTF8.self)
    }

    public func spoil(_ request: SpoilRequestBody) async throws -> CastResponse {
        try await post("/v1/ballots/spoiled", request)
    }

    /// The receipt of the ballot cast by `voterKey`.
    public func receipt(voterKey: Ed25519PublicKey) async throws -> CastResponse {
        try await get("/v1/receipts/\(voterKey.hex)")
    }

    public func stations() async throws -> [StationRegistration] {
        struct Stations: Decodable { let stations: [StationRegistration] }
        return try await (get("/v1/stations") as Stations).stations
    }

    /// This client, signing its POSTs as `signer` with `key` for the election `electionHash`.
    public func signing(as signer: RequestAuthorization.Signer, key: Ed25519PrivateKey, electionHash: Digest) -> BallotServerClient {
        var copy = self
        copy.signer = RequestSigner(signer: signer, key: key, electionHash: electionHash)
        return copy
    }

    public func appointTrustee(_ body: TrusteeAppointmentBody) async throws -> PublicationResponse {
        try await post("/v1/commission/trustees", body)
    }

    public func appointStation(_ body: StationAppointmentBody) async throws -> PublicationResponse {
        try await post("/v1/commission/stations", body)
    }

    public func rollLookup(personalNumber: String) async throws -> RollEntryResponse {
        try await post("/v1/commission/roll/lookup", PersonalNumberBody(personalNumber: personalNumber))
    }

    public func reissue(_ body: ReissueBody) async throws -> ReissueResponse {
        try await post("/v1/commission/reissue", body)
    }

    public func stationLookup(personalNumber: String) async throws -> StationLookupResponse {
        try await post("/v1/stations/lookup", PersonalNumberBody(personalNumber: personalNumber))
    }

    public func castSupervised(_ body: SupervisedBallotBody) async throws -> SupervisedResponse {
        try await post("/v1/stations/ballots", body)
    }

    public func changeWindow(_ order: WindowChange) async throws -> WindowResponse {
        try await post("/v1/commission/window", WindowOrderBody(order))
    }

    public func trustees() async throws -> TrusteesInfo { try await get("/v1/trustees") }
    public func tally() async throws -> TallyInfo { try await get("/v1/tally") }

    public func publishDealing(_ publication: DealerPublication) async throws {
        let _: PublicationResponse = try await post("/v1/trustees/dealings", publication)
    }

    public func publishVerification(_ verification: ShareVerification) async throws {
        let _: PublicationResponse = try await post("/v1/trustees/verifications", verification)
    }

    public func publishDecryption(_ partial: PartialDecryption) async throws {
        let _: PublicationResponse = try await post("/v1/tally/decryptions", partial)
    }

    /// POSTs exactly `body` with an authorization made earlier (no fresh signature, no retry):
    /// what someone replaying a captured commission or trustee request would send.
    public func post<T: Decodable>(_ path: String, body: [UInt8], authorization: RequestAuthorization) async throws -> T {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in authorization.headerValues { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return try await send(request)
    }

    // MARK: transport

    func get<T: Decodable>(_ path: String) async throws -> T {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .GET
        return try await send(request)
    }

    /// POSTs are safe to retry: enrollment and casting are idempotent for the same signed body.
    func post<B: Encodable, T: Decodable>(_ path: String, _ body: B) async throws -> T {
        try await post(path, json: Array(try JSONEncoder().encode(body)))
    }

    func post<T: Decodable>(_ path: String, json data: [UInt8]) async throws -> T {
        var lastError: (any Error)?
        for attempt in 0..<attempts {
            var request = HTTPClientRequest(url: baseURL + path)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            if let signer {
                // A fresh nonce per attempt: a resend after a lost answer is a new request.
                let auth = try signer.authorize(method: "POST", path: path, body: data)
                for (name, value) in auth.headerValues { request.headers.add(name: name, value: value) }
            }
            request.body = .bytes(ByteBuffer(bytes: data))
            do {
                return try await send(request)
            } catch let error as VoterError where error.code == "unreachable" {
                lastError = error
                if attempt + 1 < attempts { try await Task.sleep(nanoseconds: UInt64(200_000_000 * (attempt + 1))) }
            } catch let error as VoterError where ["rate-limited", "unavailable"].contains(error.code) && (error.retryAfter ?? 99) <= 10 {
                // The server asked to come back shortly (a limit, or storage briefly unavailable): wait as told.
                lastError = error
                if attempt + 1 < attempts { try await Task.sleep(nanoseconds: UInt64(error.retryAfter ?? 1) * 1_000_000_000) }
            }
        }
        throw lastError ?? VoterError("unreachable", L("error.no-answer"))
    }

    /// Sends `request` and collects the whole answer (transport failures mapped to `VoterError`).
    private func exchange(_ request: HTTPClientRequest) async throws -> (HTTPClientResponse, ByteBuffer) {
        do {
            let response = try await http.execute(request, timeout: timeout)
            return (response, try await response.body.collect(upTo: 64 * 1024 * 1024))
        } catch {
            throw await transportError(error)
        }
    }

    private func send<T: Decodable>(_ request: HTTPClientRequest) async throws -> T {
        let (response, body) = try await exchange(request)
        let data = Data(body.readableBytesView)
        guard (200..<300).contains(Int(response.status.code)) else {
            if let problem = try? JSONDecoder().decode(ErrorBody.self, from: data) {
                let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0) }
                throw VoterError(problem.code, Self.sentence(of: problem), status: Int(response.status.code), trackingCode: problem.trackingCode,
                                 retryAfter: retryAfter)
            }
            throw VoterError("http-\(response.status.code)", L("error.http-no-body", ["status": "\(response.status)"]))
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw VoterError("bad-response", L("error.bad-response", ["reason": CommandOutput.plain(error)]))
        }
    }
}

extension BallotServerClient {
    /// The server's sentences are English (and may name details, e.g. seconds to wait); in the
    /// other languages every code the server sends has its catalog sentence (`server.<code>`,
    /// CatalogTests reads the codes from the server's sources); a code this client version does
    /// not know is shown with the server's sentence.
    static func sentence(of problem: ErrorBody) -> String {
        guard Lang.current != .en else { return problem.message }
        return Catalog.sentence("server." + problem.code, ["code": problem.trackingCode ?? "?"], fallback: problem.message)
    }

    /// What went wrong on the way, in words a person can act on: TLS trust and http/https
    /// mix-ups are named (and not retried); anything else is `unreachable`.
    func transportError(_ error: any Error) async -> VoterError {
        let text = String(describing: error)
        if text.contains("CERTIFICATE_VERIFY_FAILED") || text.contains("certificate verify failed") {
            return VoterError("tls-untrusted", L("error.tls-untrusted", ["server": baseURL]))
        }
        if text.contains("WRONG_VERSION_NUMBER") || text.contains("HTTP_REQUEST") {
            return VoterError("not-https", L("error.not-https", ["server": baseURL, "url": baseURL.replacingOccurrences(of: "https://", with: "http://")]))
        }
        if baseURL.hasPrefix("http://"), await Self.speaksTLS(baseURL) {
            return VoterError("https-only", L("error.https-only", ["server": baseURL, "url": baseURL.replacingOccurrences(of: "http://", with: "https://")]))
        }
        var detail = text
        if let range = detail.range(of: " at /") { detail = String(detail[..<range.lowerBound]) }  // no build paths in messages
        return VoterError("unreachable", L("error.unreachable", ["server": baseURL, "reason": detail]))
    }

    /// Whether `http://host:port` answers TLS: a plain request to a TLS port is just closed,
    /// so ask once over https without checking the certificate (only to name the mix-up).
    static func speaksTLS(_ baseURL: String) async -> Bool {
        var config = singleConfiguration()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = .none
        config.tlsConfiguration = tls
        config.timeout = .init(connect: .seconds(3), read: .seconds(3))
        let probe = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
        var request = HTTPClientRequest(url: baseURL.replacingOccurrences(of: "http://", with: "https://") + "/health")
        request.method = .GET
        let answered = (try? await probe.execute(request, timeout: .seconds(3))) != nil
        try? await probe.shutdown()
        return answered
    }
}

/// The commission's or a trustee's key, signing requests for one election.
public struct RequestSigner: Sendable {
    public let signer: RequestAuthorization.Signer
    let key: Ed25519PrivateKey
    public let electionHash: Digest

    public init(signer: RequestAuthorization.Signer, key: Ed25519PrivateKey, electionHash: Digest) {
        self.signer = signer
        self.key = key
        self.electionHash = electionHash
    }

    public func authorize(method: String, path: String, body: [UInt8]) throws -> RequestAuthorization {
        let now = Timestamp(Date().timeIntervalSince1970 * 1000)
        // The path is signed without its query string, as the server reads it.
        let bare = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
        return try RequestAuthorization.sign(electionHash: electionHash, method: method, path: bare, body: body,
                                             signer: signer, key: key, now: now)
    }
}

extension BallotServerClient {
    /// Runs `body` with a pooled HTTP client and shuts the client down afterwards.
    public static func withPooledHTTPClient<T: Sendable>(connections: Int, caFile: String? = nil, retryConnections: Bool = true,
                                                         _ body: (HTTPClient) async throws -> T) async throws -> T {
        let http = try makePooledHTTPClient(connections: connections, caFile: caFile, retryConnections: retryConnections)
        do {
            let result = try await body(http)
            try await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }
}
