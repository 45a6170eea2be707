import Foundation
import Hummingbird
import VotingCore

/// Checks the signed headers of commission, trustee and station requests (docs/protocol.md
/// §15): signature by the expected key over election, method, path, body, nonce and expiry;
/// the expiry in the future and at most `maxLifetime` ahead. The nonce is checked and
/// recorded inside the transaction that performs the action (`ElectionRules.authorized`),
/// so an accepted request can never be replayed and a refused one consumes nothing.
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
        case .failure(.absent): throw RuleError.signatureRequired(expected)
        case .failure(.malformed(let detail)): throw RuleError.malformed(detail)
        }
        guard accepts(auth.signer) else { throw RuleError.wrongSigner(auth.signer, expected: expected) }
        let key: Ed25519PublicKey
        switch auth.signer {
        case .commission:
            key = store.setup.commissionKey
        case .trustee(let index):
            guard let registered = try await store.trusteesInfo().trustees.first(where: { $0.index == index })?.signingKey else {
                throw RuleError.notATrustee(index)
            }
            key = registered
        case .station(let index):
            guard let registered = try await store.stations().first(where: { $0.index == index })?.signingKey else {
                throw RuleError.notAStation(index)
            }
            key = registered
        }
        guard auth.isValid(electionHash: store.electionHash, method: request.method.rawValue, path: request.uri.path,
                           body: body, key: key) else {
            throw RuleError.badRequestSignature(auth.signer)
        }
        let now = store.clock.now()
        guard auth.expiresAt > now else { throw RuleError.requestExpired }
        guard auth.expiresAt - now <= maxLifetime else { throw RuleError.expiryTooFar(maxLifetime) }
        return auth
    }
}

extension RuleError {
    static func signatureRequired(_ expected: String) -> RuleError {
        RuleError(.unauthorized, code: "signature-required",
                  message: "This route acts for \(expected) and needs the headers Evote-Signer, Evote-Nonce, Evote-Expires and Evote-Signature (docs/protocol.md §15); send it with the ballot-server command, which signs it.")
    }
    static func wrongSigner(_ signer: RequestAuthorization.Signer, expected: String) -> RuleError {
        RuleError(.forbidden, code: "wrong-signer",
                  message: "This request is signed as \(signer), but this route must be signed by \(expected); sign with that key.")
    }
    static func badRequestSignature(_ signer: RequestAuthorization.Signer) -> RuleError {
        RuleError(.forbidden, code: "bad-request-signature",
                  message: "The request signature does not verify under the \(signer) key of this election for this method, path and body; sign with the right key file and do not change the request after signing.")
    }
    static let requestExpired = RuleError(.unauthorized, code: "request-expired",
                                          message: "The signed request has expired; check the signing machine's clock and run the command again for a fresh signature.")
    static func expiryTooFar(_ limit: Timestamp) -> RuleError {
        RuleError(.badRequest, code: "expiry-too-far",
                  message: "The request stays valid for more than \(limit / 1000) s; sign it with an expiry at most \(limit / 1000) s ahead (check the signing machine's clock).")
    }
}

extension CommandError {
    /// A refusal of the election's rules met by a local command.
    init(_ error: RuleError) { self.init(error.code, error.message) }
}
