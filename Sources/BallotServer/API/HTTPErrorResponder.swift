import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import VotingCore

extension RuleError {
    static func headersTooLarge(limit: Int) -> RuleError {
        RuleError(.headersTooLarge, code: "headers-too-large",
                  message: "The request's header section is larger than \(limit) bytes or has too many fields, this server's limit; send fewer or shorter headers.")
    }
}

/// The edge of Hummingbird's HTTP/1 pipeline (between NIO's codec and the router), for what
/// the router never sees:
/// - a request NIO cannot parse gets the API's JSON error body (400 `malformed`, 431
///   `headers-too-large`), not an empty 400 or a bare close;
/// - a response that leaves its request's body unread (413, a route that reads no body, a
///   refusal before the body) says `Connection: close` and the connection is closed after it,
///   so no one waits for a body that will not be read.
final class HTTPErrorResponder: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let maxHeaderBytes: Int
    /// How long a closing connection's input is still read (and thrown away) before it is closed.
    private let lingerTime: TimeAmount
    /// Requests whose body has arrived in full, and responses written in full: the response
    /// being written answers request number `responsesEnded` (HTTP/1.1 answers in order).
    private var requestsEnded = 0
    private var responsesEnded = 0
    private var responseInProgress = false
    private var closeAfterResponse = false
    /// A refusal waiting for the responses to earlier requests to be written.
    private var pendingRefusal: RuleError?
    /// Once the connection is to be closed, nothing more is handed to the router.
    private var discardingInput = false
    /// Once our own refusal is written, the router's late answer to the same request is dropped.
    private var discardingOutput = false
    private var closing = false
    private var lingerTask: Scheduled<Void>?

    init(maxHeaderBytes: Int, lingerTime: TimeAmount = .seconds(2)) {
        self.maxHeaderBytes = maxHeaderBytes
        self.lingerTime = lingerTime
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !discardingInput else { return }
        if case .end = unwrapInboundIn(data) { requestsEnded += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !discardingOutput else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.kind != .informational:
            responseInProgress = true
            if requestsEnded <= responsesEnded {
                // The body of the request this answers has not all arrived: the connection
                // cannot be reused without reading it, so it ends with this response.
                head.headerFields[.connection] = "close"
                closeAfterResponse = true
                discardingInput = true
            }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end:
            responseInProgress = false
            responsesEnded += 1
            // Act once the response has really been written (flushed by the writer).
            let written = context.eventLoop.makePromise(of: Void.self)
            written.futureResult.cascade(to: promise)
            context.write(data, promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in
                if let refusal = self.pendingRefusal, self.responsesEnded >= self.requestsEnded {
                    self.pendingRefusal = nil
                    self.respond(refusal, context: context)
                } else if self.closeAfterResponse {
                    self.closeGracefully(context: context)
                }
            }
        default:
            context.write(data, promise: promise)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // After a refusal or while closing, the decoder's complaints about the bytes that
        // follow no longer matter.
        guard !discardingInput else { return }
        guard let refusal = refusal(for: error) else {
            context.fireErrorCaught(error)
            return
        }
        discardingInput = true
        if !responseInProgress, responsesEnded >= requestsEnded {
            respond(refusal, context: context)
        } else {
            pendingRefusal = refusal
        }
        // Passed on so that a handler reading this request's body fails instead of seeing a short body.
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        lingerTask?.cancel()
        lingerTask = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        lingerTask?.cancel()
        lingerTask = nil
    }

    /// The API's answer to an error raised below the router, or nil for errors that are not the request's fault.
    private func refusal(for error: any Error) -> RuleError? {
        if error is HTTP1TypeConversionError {
            return .malformed("the request line or a header cannot be represented as HTTP (\(error))")
        }
        guard let error = error as? HTTPParserError else { return nil }
        switch error {
        case .headerOverflow:
            return .headersTooLarge(limit: maxHeaderBytes)
        case .invalidContentLength:
            return .malformed("the Content-Length header is not a whole number of bytes")
        case .unexpectedContentLength:
            return .malformed("Content-Length is sent twice with different values, or together with Transfer-Encoding; send exactly one")
        case .invalidMethod:
            return .malformed("the method is not an HTTP method; this API takes GET and POST")
        case .invalidURL:
            return .malformed("the request target is not a valid path (no spaces, control characters or NUL bytes; percent-encode them)")
        case .invalidHeaderToken:
            return .malformed("a header name or value holds a character HTTP does not allow (control characters, NUL, spaces in names)")
        case .invalidChunkSize:
            return .malformed("a chunk size of the chunked body is not a hexadecimal number that fits in 64 bits")
        case .invalidVersion:
            return .malformed("the request line must end in HTTP/1.1 or HTTP/1.0")
        case .invalidConstant:
            return .malformed("the request line is not METHOD, a space, the path, a space and HTTP/1.1 (percent-encode spaces in the path)")
        default:
            // llhttp reports a Transfer-Encoding other than chunked, or one beside Content-Length, as `unknown`.
            return .malformed("the request is not valid HTTP/1.1; check the request line and the headers, and frame the body with one Content-Length or with Transfer-Encoding: chunked, not both")
        }
    }

    /// Writes a complete response with the API's error body, then closes the connection.
    private func respond(_ refusal: RuleError, context: ChannelHandlerContext) {
        discardingInput = true
        var body = ByteBuffer()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json = (try? encoder.encode(ErrorBody(code: refusal.code, message: refusal.message)))
            ?? Data(#"{"code":"malformed","message":"The request is malformed."}"#.utf8)
        body.writeBytes(json)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.contentLength] = String(body.readableBytes)
        headers[.connection] = "close"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: refusal.status, headerFields: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        discardingOutput = true
        written.futureResult.assumeIsolated().whenComplete { _ in self.closeGracefully(context: context) }
    }

    /// RFC 9112 §9.6: "the server SHOULD perform a staged close: first half-close by closing
    /// only the write side ... then continue to read from the connection until it receives a
    /// corresponding close by the client, or until [...] the client's acknowledgement", so
    /// that bytes still arriving do not make the kernel reset the connection before the client
    /// has read the response.
    private func closeGracefully(context: ChannelHandlerContext) {
        guard !closing else { return }
        closing = true
        discardingInput = true
        context.close(mode: .output).assumeIsolated().whenFailure { _ in context.close(promise: nil) }
        lingerTask = context.eventLoop.assumeIsolated().scheduleTask(in: lingerTime) { context.close(promise: nil) }
    }
}

@available(*, unavailable)
extension HTTPErrorResponder: Sendable {}
