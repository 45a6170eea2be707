import Testing
@testable import VotingCore

/// The short code a voter reads first: 16 Crockford characters naming the tracking code's
/// first 80 bits, typed back in any reasonable way.
@Suite("short tracking codes")
struct ShortCodeTests {
    @Test("short → prefix → the first 10 bytes of the tracking code, for many codes")
    func roundTrip() {
        for i in 0..<200 {
            let code = TrackingCode(digest: SHA256.hash(Array("short-\(i)".utf8)))
            let short = code.short
            #expect(short.count == 19 && short.split(separator: "-").count == 4, "\(short)")
            #expect(TrackingCode.shortPrefix(short) == Array(code.digest.bytes.prefix(10)))
            // Lower case, no dashes, spaces instead, and the Crockford readings.
            let typed = short.lowercased().replacingOccurrences(of: "-", with: " ")
            #expect(TrackingCode.shortPrefix(typed) == Array(code.digest.bytes.prefix(10)))
            let misread = short.replacingOccurrences(of: "0", with: "O").replacingOccurrences(of: "1", with: "l")
            #expect(TrackingCode.shortPrefix(misread) == Array(code.digest.bytes.prefix(10)))
        }
    }

    @Test("anything else is refused", arguments: ["", "ABCD-EFGH-JKMN", "ABCD-EFGH-JKMN-PQRSX", "ABCD-EFGH-JKMN-PQRU", "ÅBCD-EFGH-JKMN-PQRS",
                                                 "ABCD_EFGH_JKMN_PQRS"])
    func refused(_ text: String) {
        #expect(TrackingCode.shortPrefix(text) == nil)
    }
}
