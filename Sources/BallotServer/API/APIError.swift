import Foundation
import Hummingbird
import NIOCore
import VotingCore

/// Every refusal the API can give: an HTTP status, a stable code and a sentence that says
/// what to do (docs/openapi.yaml lists them all).
struct APIError: Error, HTTPResponseError, CustomStringConvertible {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    var trackingCode: String? = nil
    /// Seconds to wait before retrying (the Retry-After header), for 429 and 503.
    var retryAfter: Int? = nil

    var description: String { "\(status.code) \(code): \(message)" }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = ErrorBody(code: code, message: message, trackingCode: trackingCode)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(body)) ?? Data("{\"code\":\"internal\",\"message\":\"\"}".utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func malformed(_ detail: String) -> APIError {
        APIError(status: .badRequest, code: "malformed", message: "The request is malformed: \(detail). Fix the request and send it again.")
    }
    static let tooLarge = tooLarge(limit: 64 * 1024)
    static func tooLarge(limit: Int) -> APIError {
        APIError(status: .contentTooLarge, code: "too-large",
                 message: "The request body is larger than \(limit / 1024) KiB, this route's limit; check what is being sent.")
    }
    static let notFoundRoute = APIError(status: .notFound, code: "not-found", message: "No such route; see docs/openapi.yaml for the API.")
    static func notFound(_ what: String) -> APIError {
        APIError(status: .notFound, code: "not-found", message: "\(what) was not found.")
    }
    static let invalidCredentials = APIError(status: .unauthorized, code: "invalid-credentials",
                                             message: "The personal number or the enrollment code is wrong; check both against the letter from the registration office and try again.")
    static let enrollmentLocked = APIError(status: .tooManyRequests, code: "enrollment-locked",
                                           message: "Too many wrong enrollment codes were tried for this voter; contact the election commission to get a new code.")
    static let alreadyEnrolled = APIError(status: .conflict, code: "already-enrolled",
                                          message: "This voter has already enrolled another key; use the wallet made at enrollment, or contact the commission if it was lost.")
    static let keyInUse = APIError(status: .conflict, code: "key-in-use",
                                   message: "This public key is already enrolled for another voter; generate a fresh key and enroll again.")
    static let notEnrolled = APIError(status: .forbidden, code: "not-enrolled",
                                      message: "The ballot's voter key is not enrolled; enroll first with `voter enroll`.")
    static let badSignature = APIError(status: .badRequest, code: "bad-signature",
                                       message: "The signature does not verify under the voter key; sign with the wallet's key and do not alter the ballot after signing.")
    static let wrongElection = APIError(status: .badRequest, code: "wrong-election",
                                        message: "The ballot or request names another election; fetch this election's hash from GET /v1/election and build it again.")
    static let electionNotOpen = APIError(status: .forbidden, code: "election-not-open",
                                          message: "Voting has not opened yet; try again once the commission opens the election.")
    static let electionClosed = APIError(status: .forbidden, code: "election-closed",
                                         message: "Voting is closed; no more ballots or enrollments are accepted.")
    static func wrongDistrict(_ enrolled: String) -> APIError {
        APIError(status: .badRequest, code: "wrong-district",
                 message: "This voter is enrolled in district \(enrolled); fetch that district's ballot and vote on it.")
    }
    static func invalidChoice(_ problem: String) -> APIError {
        APIError(status: .badRequest, code: "invalid-choice", message: "The ballot is not valid for its contest: \(problem). Choose again from the district's options.")
    }
    static func alreadyVoted(_ code: TrackingCode) -> APIError {
        APIError(status: .conflict, code: "already-voted",
                 message: "This voter has already cast a different ballot (tracking code \(code.short)); only one ballot per voter is counted.",
                 trackingCode: code.hex)
    }
    static let unavailable = APIError(status: .serviceUnavailable, code: "unavailable",
                                      message: "The server cannot store data right now; nothing was recorded and no receipt was signed. Retry in a few seconds.",
                                      retryAfter: 5)
    static let internalError = APIError(status: .internalServerError, code: "internal",
                                        message: "The server hit an unexpected error; nothing was recorded. Retry, and report it to the commission if it persists.")
}
