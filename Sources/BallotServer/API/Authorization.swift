import Foundation
import GRDB
import Hummingbird
import VotingCore

/// Checks the signed headers of commission and trustee requests (docs/protocol.md §15):
/// signature by the expected key over election, method, path, body, nonce and expiry; the
/// expiry in the future and at most `maxLifetime` ahead. The nonce is checked and recorded
/// inside the transaction that performs the action (`ElectionStore.checkNonce` /
/// `recordNonce`), so an accepted request can never be replayed and a refused one consumes
/// nothing.
struct RequestAuthenticator: Sendable {
    let store: ElectionStore
    var maxLifetime: Timestamp = RequestAuthorization.defaultMaxLifetime

    /// The verified authorization of `request` with body `body`, signed by a signer `accepts` allows.
    func verify(_ request: Request, body: [UInt8], expected: String,
                accepts: (RequestAuthorization.Signer) -> Bool) async throws -> RequestAuthorization {
        let parsed = RequestAuthorization.parse { name in
            let wanted = name.lowercased()
            return request.headers.filter { $0.name.canonicalName == wanted }.map(\.value)
        }
        let auth: RequestAuthorization
        switch parsed {
        case .success(let a): auth = a
        case .failure(.absent): throw APIError.signatureRequired(expected)
        case .failure(.malformed(let detail)): throw APIError.malformed(detail)
        }
        guard accepts(auth.signer) else { throw APIError.wrongSigner(auth.signer, expected: expected) }
        let key: Ed25519PublicKey
        switch auth.signer {
        case .commission:
            key = store.setup.commissionKey
        case .trustee(let index):
            guard let registered = try await store.trusteeSigningKey(index) else { throw APIError.notATrustee(index) }
            key = registered
        }
        guard auth.isValid(electionHash: store.electionHash, method: request.method.rawValue, path: request.uri.path,
                           body: body, key: key) else {
            throw APIError.badRequestSignature(auth.signer)
        }
        let now = store.clock.now()
        guard auth.expiresAt > now else { throw APIError.requestExpired }
        guard auth.expiresAt - now <= maxLifetime else { throw APIError.expiryTooFar(maxLifetime) }
        return auth
    }
}

extension ElectionStore {
    /// The signing key trustee `index` registered, if it is registered.
    func trusteeSigningKey(_ index: UInt32) async throws -> Ed25519PublicKey? {
        try await pool.read { db in try Self.trustees(db).first { $0.index == index }?.signingKey }
    }

    /// Refuses a nonce already accepted; run in the action's transaction, before the action.
    static func checkNonce(db: Database, _ auth: RequestAuthorization) throws -> APIError? {
        let used = try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM request_nonces WHERE nonce = ?"),
                                     arguments: [Data(auth.nonce.bytes)]) ?? false
        return used ? .replayedRequest : nil
    }

    /// Records the nonce of a request whose action succeeded (same transaction), and forgets
    /// nonces whose requests have expired: those are refused by their expiry already.
    static func recordNonce(db: Database, _ auth: RequestAuthorization, now: Timestamp) throws {
        try db.execute(sql: "DELETE FROM request_nonces WHERE expires_at < ?", arguments: [Int64(clamping: now)])
        try db.execute(sql: "INSERT INTO request_nonces (nonce, expires_at) VALUES (?, ?)",
                       arguments: [Data(auth.nonce.bytes), Int64(clamping: auth.expiresAt)])
    }

    /// Runs `action` for an authorized request inside a batch: refuses a replayed nonce, and
    /// records the nonce only when the action succeeds.
    static func authorized<T>(db: Database, _ auth: RequestAuthorization, now: Timestamp,
                              _ action: () throws -> Result<T, APIError>) throws -> Result<T, APIError> {
        if let replay = try checkNonce(db: db, auth) { return .failure(replay) }
        let result = try action()
        if case .success = result { try recordNonce(db: db, auth, now: now) }
        return result
    }
}

extension APIError {
    static func signatureRequired(_ expected: String) -> APIError {
        APIError(status: .unauthorized, code: "signature-required",
                 message: "This route acts for \(expected) and needs the headers Evote-Signer, Evote-Nonce, Evote-Expires and Evote-Signature (docs/protocol.md §15); send it with the ballot-server command, which signs it.")
    }
    static func wrongSigner(_ signer: RequestAuthorization.Signer, expected: String) -> APIError {
        APIError(status: .forbidden, code: "wrong-signer",
                 message: "This request is signed as \(signer), but this route must be signed by \(expected); sign with that key.")
    }
    static func badRequestSignature(_ signer: RequestAuthorization.Signer) -> APIError {
        APIError(status: .forbidden, code: "bad-request-signature",
                 message: "The request signature does not verify under the \(signer) key of this election for this method, path and body; sign with the right key file and do not change the request after signing.")
    }
    static let requestExpired = APIError(status: .unauthorized, code: "request-expired",
                                         message: "The signed request has expired; check the signing machine's clock and run the command again for a fresh signature.")
    static func expiryTooFar(_ limit: Timestamp) -> APIError {
        APIError(status: .badRequest, code: "expiry-too-far",
                 message: "The request stays valid for more than \(limit / 1000) s; sign it with an expiry at most \(limit / 1000) s ahead (check the signing machine's clock).")
    }
    static let replayedRequest = APIError(status: .conflict, code: "replayed-request",
                                          message: "This signed request was already accepted once (its nonce is used); nothing was done. Run the command again for a fresh signature.")
    static let badOrderSignature = APIError(status: .forbidden, code: "bad-order-signature",
                                            message: "The window order is not signed by this election's commission key; sign it with commission.key.")
    static let invalidOrderTime = APIError(status: .badRequest, code: "invalid-order-time",
                                           message: "The window order's issued_at is more than 5 minutes from the server's clock; check the commission machine's clock and sign a new order.")
    static let emptyRoll = APIError(status: .conflict, code: "empty-roll", message: "The voter roll is empty; import the roll before opening the election.")
    static let ceremonyIncomplete = APIError(status: .conflict, code: "ceremony-incomplete",
                                             message: "The trustees' key ceremony has not completed; register the trustees, then each runs `ballot-server trustee share` and `trustee verify-shares`.")
    static func invalidState(_ state: ElectionState, for action: WindowChange.Action) -> APIError {
        APIError(status: .conflict, code: "invalid-state",
                 message: action == .open
                    ? "The election is \(state.rawValue); only an election in setup can be opened."
                    : "The election is \(state.rawValue); only an open election can be closed.")
    }
}

extension CommandError {
    /// A refusal of the election's rules met by a local command.
    init(_ error: APIError) { self.init(error.code, error.message) }
}
