import VotingCore

/// A refusal by the election's rules or by the server: a stable code (docs/openapi.yaml), a
/// sentence that says what to do, and what kind of refusal it is. It knows nothing of HTTP;
/// the API layer alone maps `Category` to a status (`RuleError+HTTP.swift`).
struct RuleError: Error, CustomStringConvertible, Sendable {
    enum Category: Sendable {
        case badRequest, unauthorized, forbidden, notFound, methodNotAllowed, conflict, tooLarge, headersTooLarge,
             tooManyRequests, unavailable, `internal`
    }

    let category: Category
    let code: String
    let message: String
    var trackingCode: String? = nil
    /// Seconds to wait before retrying, for rate limits, backoff and unavailability.
    var retryAfter: Int? = nil

    init(_ category: Category, code: String, message: String, trackingCode: String? = nil, retryAfter: Int? = nil) {
        self.category = category
        self.code = code
        self.message = message
        self.trackingCode = trackingCode
        self.retryAfter = retryAfter
    }

    var description: String { "\(code): \(message)" }

    static func malformed(_ detail: String) -> RuleError {
        RuleError(.badRequest, code: "malformed", message: "The request is malformed: \(detail). Fix the request and send it again.")
    }
    static let tooLarge = tooLarge(limit: 64 * 1024)
    static func tooLarge(limit: Int) -> RuleError {
        RuleError(.tooLarge, code: "too-large",
                  message: "The request body is larger than \(limit / 1024) KiB, this route's limit; check what is being sent.")
    }
    static let notFoundRoute = RuleError(.notFound, code: "not-found", message: "No such route; see docs/openapi.yaml for the API.")
    static func notFound(_ what: String) -> RuleError {
        RuleError(.notFound, code: "not-found", message: "\(what) was not found.")
    }
    static let invalidCredentials = RuleError(.unauthorized, code: "invalid-credentials",
                                              message: "The personal number or the enrollment code is wrong; check both against the letter from the registration office and try again.")
    static func enrollmentBackoff(seconds: Int) -> RuleError {
        RuleError(.tooManyRequests, code: "enrollment-locked",
                  message: "Several wrong enrollment codes were tried for this personal number, so wrong codes are refused for \(seconds) more second(s); the right code is always accepted. Check the code on the letter and try again, or ask the commission to reissue it.",
                  retryAfter: max(1, seconds))
    }
    static let alreadyEnrolled = RuleError(.conflict, code: "already-enrolled",
                                           message: "This voter has already enrolled another key; use the wallet made at enrollment, or ask the commission to reissue your code if the wallet was lost.")
    static let keyInUse = RuleError(.conflict, code: "key-in-use",
                                    message: "This public key is already enrolled for another voter; generate a fresh key and enroll again.")
    static let notEnrolled = RuleError(.forbidden, code: "not-enrolled",
                                       message: "The ballot's voter key is not enrolled; enroll first with `voter enroll`.")
    static let keyRevoked = RuleError(.forbidden, code: "key-revoked",
                                      message: "This voter key was revoked when the commission reissued the voter's code; enroll again with the new code and vote with the new wallet.")
    static let badSignature = RuleError(.badRequest, code: "bad-signature",
                                        message: "The signature does not verify under the voter key; sign with the wallet's key and do not alter the ballot after signing.")
    static let wrongElection = RuleError(.badRequest, code: "wrong-election",
                                         message: "The ballot or request names another election; fetch this election's hash from GET /v1/election and build it again.")
    static let electionNotOpen = RuleError(.forbidden, code: "election-not-open",
                                           message: "Voting has not opened yet; try again once the commission opens the election.")
    static let electionClosed = RuleError(.forbidden, code: "election-closed",
                                          message: "Voting is closed; no more ballots or enrollments are accepted. A closed election never reopens.")
    static func wrongDistrict(_ enrolled: String) -> RuleError {
        RuleError(.badRequest, code: "wrong-district",
                  message: "This voter is enrolled in district \(enrolled); fetch that district's ballot and vote on it.")
    }
    static func invalidChoice(_ problem: String) -> RuleError {
        RuleError(.badRequest, code: "invalid-choice", message: "The ballot is not valid for its contest: \(problem). Choose again from the district's options.")
    }
    static func alreadyVoted(_ code: TrackingCode) -> RuleError {
        RuleError(.conflict, code: "already-voted",
                  message: "This voter has already cast a different ballot (tracking code \(code.short)); only one ballot per voter is counted. `voter receipt` fetches its receipt.",
                  trackingCode: code.hex)
    }
    static let ballotIDUsed = RuleError(.conflict, code: "ballot-id-used",
                                        message: "A ballot with this ballot id is already in the log (cast, challenged or supervised); encrypt the choice afresh.")
    static let ballotSpoiled = RuleError(.conflict, code: "ballot-spoiled",
                                         message: "This exact ballot was challenged and opened, so it can no longer be secret; cast a fresh encryption.")
    static let ballotCast = RuleError(.conflict, code: "ballot-cast",
                                      message: "This exact ballot was cast; a cast ballot can never be opened. Challenge a fresh encryption instead.")
    static let badOpening = RuleError(.badRequest, code: "bad-opening",
                                      message: "The revealed choice and nonces do not open this encrypted ballot; nothing was published. Send the opening of this exact encryption.")
    static let unavailable = RuleError(.unavailable, code: "unavailable",
                                       message: "The server cannot store data right now; nothing was recorded and no receipt was signed. Retry in a few seconds.",
                                       retryAfter: 5)
    static let internalError = RuleError(.internal, code: "internal",
                                         message: "The server hit an unexpected error; nothing was recorded. Retry, and report it to the commission if it persists.")
}
