import Foundation
import Hummingbird
import NIOCore
import VotingCore

/// The API layer's mapping of rule errors to HTTP (docs/openapi.yaml lists every code and
/// its status): the only place in the server where a status is chosen for a refusal.
extension RuleError: HTTPResponseError {
    var status: HTTPResponse.Status {
        switch category {
        case .badRequest: return .badRequest
        case .unauthorized: return .unauthorized
        case .forbidden: return .forbidden
        case .notFound: return .notFound
        case .methodNotAllowed: return .methodNotAllowed
        case .conflict: return .conflict
        case .tooLarge: return .contentTooLarge
        case .headersTooLarge: return .requestHeaderFieldsTooLarge
        case .tooManyRequests: return .tooManyRequests
        case .unavailable: return .serviceUnavailable
        case .internal: return .internalServerError
        }
    }

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
}
