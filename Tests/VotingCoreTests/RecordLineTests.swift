import Foundation
import Testing
@testable import VotingCore

// MARK: - Helpers

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// The error `parse` gives for a line, nil if the line is valid.
private func failure(_ line: [UInt8], maxLength: Int = RecordLine.defaultMaxLength) -> RecordLineError? {
    do {
        _ = try RecordLine.parse(line, maxLength: maxLength)
        return nil
    } catch {
        return error
    }
}

/// Deterministic generator so random cases repeat from run to run (SplitMix64).
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Printable ASCII without `"` and `\`: what a record string may hold.
private let stringAlphabet: [UInt8] = (0x20...0x7e).filter { $0 != 0x22 && $0 != 0x5c }

private func randomString(_ rng: inout SplitMix64, maxLength: Int) -> String {
    let count = Int.random(in: 0...maxLength, using: &rng)
    return String(decoding: (0..<count).map { _ in stringAlphabet.randomElement(using: &rng) ?? 0x61 }, as: UTF8.self)
}

private func randomMembers(_ rng: inout SplitMix64) -> [(String, RecordValue)] {
    var keys = Set<String>()
    let wanted = Int.random(in: 0...8, using: &rng)
    while keys.count < wanted { keys.insert(randomString(&rng, maxLength: 6)) }
    let edges: [UInt64] = [0, 1, 9, 10, 99, 100, UInt64(Int64.max), UInt64.max - 1, UInt64.max]
    return keys.shuffled(using: &rng).map { key in
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: (key, .integer(edges.randomElement(using: &rng) ?? 0))
        case 1: (key, .integer(UInt64.random(in: 0...UInt64.max, using: &rng) >> UInt64.random(in: 0...63, using: &rng)))
        case 2: (key, .string(randomString(&rng, maxLength: 12)))
        default: (key, .string(randomString(&rng, maxLength: 300)))
        }
    }
}

// MARK: - Grammar: valid lines

@Suite("RecordLine grammar")
struct RecordLineGrammarTests {
    @Test("valid lines parse and serialize back to the same bytes",
          arguments: [
              "{}",
              #"{"a":""}"#,
              #"{"":0}"#,
              #"{"a":0}"#,
              #"{"a":18446744073709551615}"#,
              #"{"a":1,"b":"x"}"#,
              #"{"A":1,"a":2}"#,
              #"{"a":1,"aa":2,"b":3}"#,
              #"{"election_hash":"fb39","exported_at":1795545808343,"format":"evote-election-record/2","type":"header"}"#,
              #"{"data":"0000001265766f7465","index":123,"kind":"ballot","type":"entry"}"#,
              #"{"a":" !#$%&'()*+,-./0123456789:;<=>?@ABCXYZ[]^_`abcxyz{|}~"}"#,
              #"{"k":"{}[],:"}"#,
          ])
    func validLine(_ text: String) throws {
        let line = try RecordLine.parse(bytes(text))
        #expect(line.serialized() == bytes(text) + [0x0a])
    }

    @Test func membersInLineOrder() throws {
        let line = try RecordLine.parse(bytes(#"{"data":"00ff","index":7,"kind":"ballot","type":"entry"}"#))
        #expect(line.keys == ["data", "index", "kind", "type"])
        #expect(line.members[1] == RecordLine.Member(key: "index", value: .integer(7)))
        #expect(line["kind"] == .string("ballot"))
        #expect(line["nope"] == nil)
    }

    @Test func emptyObjectAndEmptyString() throws {
        #expect(try RecordLine.parse(bytes("{}")).members.isEmpty)
        #expect(try RecordLine.parse(bytes(#"{"a":""}"#))["a"] == .string(""))
    }

    @Test func integerLimits() throws {
        #expect(try RecordLine.parse(bytes(#"{"a":18446744073709551615}"#))["a"] == .integer(UInt64.max))
        #expect(try RecordLine.parse(bytes(#"{"a":0}"#))["a"] == .integer(0))
        #expect(try RecordLine.parse(bytes(#"{"a":10}"#))["a"] == .integer(10))
        #expect(failure(bytes(#"{"a":18446744073709551616}"#))?.code == "number-too-large")
        #expect(failure(bytes(#"{"a":99999999999999999999}"#))?.code == "number-too-large")
        #expect(failure(bytes(#"{"a":184467440737095516150}"#))?.code == "number-too-large")
    }

    @Test func lineAtMaximumLengthIsAccepted() throws {
        let line = bytes(#"{"a":"xx"}"#)
        #expect(try RecordLine.parse(line, maxLength: line.count).keys == ["a"])
        let error = failure(line, maxLength: line.count - 1)
        #expect(error?.reason == .lineTooLong(maximum: line.count - 1, length: line.count))
        #expect(error?.offset == line.count - 1)
    }

    @Test func parsesFromSlicesDataAndRawBuffers() throws {
        let text = bytes(#"xx{"a":1}yy"#)
        let slice = text[2..<(text.count - 2)]
        #expect(try RecordLine.parse(slice)["a"] == .integer(1))
        #expect(try RecordLine.parse(Data(slice))["a"] == .integer(1))
        let viaRaw = try slice.withUnsafeBytes { raw in
            Result { () throws(RecordLineError) in try RecordLine.parse(raw) }
        }.get()
        #expect(viaRaw["a"] == .integer(1))
        // A collection without contiguous storage takes the copying path.
        #expect(try RecordLine.parse(slice.lazy.map { $0 })["a"] == .integer(1))
    }
}

// MARK: - Grammar: malformed lines

/// A malformed line, the stable code of its reason and the byte offset it names.
struct MalformedCase: Sendable, CustomTestStringConvertible {
    let line: [UInt8]
    let code: String
    let offset: Int
    init(_ line: String, _ code: String, at offset: Int) {
        self.init(bytes: Array(line.utf8), code, at: offset)
    }
    init(bytes: [UInt8], _ code: String, at offset: Int) {
        line = bytes
        self.code = code
        self.offset = offset
    }
    var testDescription: String { String(reflecting: String(decoding: line, as: UTF8.self)) + " -> " + code }
}

@Suite("RecordLine malformed lines")
struct RecordLineMalformedTests {
    static let cases: [MalformedCase] = [
        // Rule 2: bytes.
        MalformedCase("", "empty-line", at: 0),
        MalformedCase("   ", "blank-line", at: 0),
        MalformedCase(" ", "blank-line", at: 0),
        MalformedCase(bytes: [0xef, 0xbb, 0xbf] + bytes(#"{"a":1}"#), "byte-order-mark", at: 0),
        MalformedCase("{\"a\":1}\r", "carriage-return", at: 7),
        MalformedCase("{\"a\":\"x\ry\"}", "carriage-return", at: 7),
        MalformedCase("\r", "carriage-return", at: 0),
        MalformedCase("{\"a\":\t1}", "tab", at: 5),
        MalformedCase("{\"a\":\"\t\"}", "tab", at: 6),
        MalformedCase("\t", "tab", at: 0),
        MalformedCase("{\"a\":\"é\"}", "non-ascii", at: 6),
        MalformedCase("{\"é\":1}", "non-ascii", at: 2),
        MalformedCase(bytes: bytes("{\"a\":\"") + [0x7f] + bytes("\"}"), "control-byte", at: 6),
        MalformedCase(bytes: bytes("{\"a\":\"") + [0x00] + bytes("\"}"), "control-byte", at: 6),
        MalformedCase(bytes: bytes(#"{"a":1}"#) + [0x0a], "control-byte", at: 7),
        MalformedCase(bytes: [0xef, 0xbb] + bytes(#"{"a":1}"#), "non-ascii", at: 0),
        // Rule 3: compact, one object.
        MalformedCase(#"{ "a":1}"#, "whitespace", at: 1),
        MalformedCase(#"{"a" :1}"#, "whitespace", at: 4),
        MalformedCase(#"{"a": 1}"#, "whitespace", at: 5),
        MalformedCase(#"{"a":1 }"#, "whitespace", at: 6),
        MalformedCase(#"{"a":1, "b":2}"#, "whitespace", at: 7),
        MalformedCase(#"{"a":1} "#, "whitespace", at: 7),
        MalformedCase(#" {"a":1}"#, "whitespace", at: 0),
        MalformedCase(#"[1]"#, "unexpected-character", at: 0),
        MalformedCase(#""a""#, "unexpected-character", at: 0),
        MalformedCase("{", "unexpected-end-of-line", at: 1),
        MalformedCase(#"{"a":1"#, "unexpected-end-of-line", at: 6),
        MalformedCase(#"{"a""#, "unexpected-end-of-line", at: 4),
        MalformedCase(#"{"a":"#, "unexpected-end-of-line", at: 5),
        MalformedCase(#"{"a":1,"#, "unexpected-end-of-line", at: 7),
        MalformedCase(#"{"a"}"#, "unexpected-character", at: 4),
        MalformedCase(#"{"a":}"#, "unexpected-character", at: 5),
        MalformedCase(#"{"a":1,}"#, "trailing-comma", at: 6),
        MalformedCase(#"{,}"#, "unexpected-character", at: 1),
        MalformedCase(#"{a:1}"#, "unexpected-character", at: 1),
        MalformedCase(#"{'a':1}"#, "unexpected-character", at: 1),
        MalformedCase(#"{"a":1"b":2}"#, "unexpected-character", at: 6),
        MalformedCase(#"{"a":1}{"b":2}"#, "unexpected-character", at: 7),
        MalformedCase(#"{"a":1}x"#, "unexpected-character", at: 7),
        MalformedCase(#"{"a":0x10}"#, "unexpected-character", at: 6),
        MalformedCase(#"{"a":tru}"#, "unexpected-character", at: 5),
        MalformedCase(#"{"a":NaN}"#, "unexpected-character", at: 5),
        // Rule 4: keys once, ascending.
        MalformedCase(#"{"a":1,"a":2}"#, "duplicate-key", at: 7),
        MalformedCase(#"{"kind":"a","type":"x","kind":"b"}"#, "duplicate-key", at: 23),
        MalformedCase(#"{"":1,"":2}"#, "duplicate-key", at: 6),
        MalformedCase(#"{"b":1,"a":2}"#, "key-order", at: 7),
        MalformedCase(#"{"aa":1,"a":2}"#, "key-order", at: 8),
        MalformedCase(#"{"a":1,"B":2}"#, "key-order", at: 7),
        // Rule 5: strings and unsigned integers only.
        MalformedCase(#"{"a":{}}"#, "unsupported-value", at: 5),
        MalformedCase(#"{"a":{"b":1}}"#, "unsupported-value", at: 5),
        MalformedCase(#"{"a":[]}"#, "unsupported-value", at: 5),
        MalformedCase(#"{"a":[1,2]}"#, "unsupported-value", at: 5),
        MalformedCase(#"{"a":true}"#, "unsupported-value", at: 5),
        MalformedCase(#"{"a":false}"#, "unsupported-value", at: 5),
        MalformedCase(#"{"a":null}"#, "unsupported-value", at: 5),
        // Rule 6: strings without escapes.
        MalformedCase(#"{"a":"x\"y"}"#, "backslash", at: 7),
        MalformedCase(#"{"a":"\u0041"}"#, "backslash", at: 6),
        MalformedCase(#"{"a":"\\"}"#, "backslash", at: 6),
        MalformedCase(#"{"a":"\/"}"#, "backslash", at: 6),
        MalformedCase(#"{"a\n":1}"#, "backslash", at: 3),
        MalformedCase(#"{"a":"x"#, "unterminated-string", at: 7),
        MalformedCase(#"{"a"#, "unterminated-string", at: 3),
        // Rule 7: integers.
        MalformedCase(#"{"a":5.0}"#, "fractional-number", at: 6),
        MalformedCase(#"{"a":0.5}"#, "fractional-number", at: 6),
        MalformedCase(#"{"a":.5}"#, "fractional-number", at: 5),
        MalformedCase(#"{"a":1e0}"#, "number-exponent", at: 6),
        MalformedCase(#"{"a":1E5}"#, "number-exponent", at: 6),
        MalformedCase(#"{"a":0e0}"#, "number-exponent", at: 6),
        MalformedCase(#"{"a":-0}"#, "signed-number", at: 5),
        MalformedCase(#"{"a":-1}"#, "signed-number", at: 5),
        MalformedCase(#"{"a":+1}"#, "signed-number", at: 5),
        MalformedCase(#"{"a":01}"#, "leading-zero", at: 5),
        MalformedCase(#"{"a":00}"#, "leading-zero", at: 5),
        MalformedCase(#"{"a":18446744073709551616}"#, "number-too-large", at: 5),
    ]

    @Test("malformed line", arguments: cases)
    func malformed(_ item: MalformedCase) {
        let error = failure(item.line)
        #expect(error?.code == item.code, "\(error.map(String.init(describing:)) ?? "accepted")")
        #expect(error?.offset == item.offset, "\(error.map(String.init(describing:)) ?? "accepted")")
        // Every sentence names the offset for the audit report.
        #expect(error?.description.contains("at byte \(item.offset) of the line") == true)
    }

    @Test func messagesArePlainSentences() {
        #expect(failure(bytes(#"{"kind":"a","kind":"b"}"#))?.message == #"key "kind" appears twice"#)
        #expect(failure(bytes(#"{"a":01}"#))?.message == "a number has a leading zero")
        #expect(failure(bytes("{\"a\":1}\r"))?.message == "line contains a carriage return (CRLF line ends are not allowed)")
        #expect(failure(bytes(#"{"type":1,"kind":2}"#))?.message
                == #"key "kind" comes after key "type" (keys must be in ascending byte order)"#)
        #expect(failure(bytes(#"{"a":null}"#))?.message
                == #"the value of key "a" is null; only strings and unsigned integers are allowed"#)
        #expect(failure(bytes(#"{"a":1"b":2}"#))?.message
                == #"expected "," or "}" after the value of key "a" but found a double quote"#)
        #expect(failure(bytes(#"{"a":01}"#))?.description == "a number has a leading zero (at byte 5 of the line)")
        #expect(failure(bytes(""))?.message == "line is empty (blank lines are not allowed)")
    }

    @Test func tooLongLineIsMalformed() {
        let line = bytes(#"{"a":""#) + [UInt8](repeating: 0x61, count: 100) + bytes(#""}"#)
        let error = failure(line, maxLength: 64)
        #expect(error?.reason == .lineTooLong(maximum: 64, length: line.count))
        #expect(error?.offset == 64)
    }

    /// Every byte value in every position of a long string agrees with the byte rule, on both
    /// the eight-at-a-time path and the byte path.
    @Test func everyByteInsideAString() {
        for byte in UInt8.min...UInt8.max {
            for position in [0, 3, 7, 8, 15, 16, 20, 33] {
                var content = [UInt8](repeating: 0x61, count: 34)
                content[position] = byte
                let line = bytes(#"{"k":""#) + content + bytes(#""}"#)
                let error = failure(line)
                if RecordLineParser.isStringByte(byte) {
                    #expect(error == nil)
                } else if byte == 0x22 {
                    // The string ends early and the rest is out of place.
                    #expect(error?.offset == 7 + position)
                } else {
                    #expect(error?.offset == 6 + position, "byte \(byte) at \(position): \(String(describing: error))")
                    #expect(error?.code != "unexpected-character")
                }
            }
        }
    }

    @Test func wordScanAgreesWithByteRule() {
        var rng = SplitMix64(state: 7)
        for _ in 0..<20_000 {
            var word = [UInt8](repeating: 0, count: 8)
            for i in 0..<8 {
                // Mostly string bytes so that single bad bytes are common.
                word[i] = Int.random(in: 0..<4, using: &rng) == 0 ? UInt8.random(in: 0...255, using: &rng)
                    : stringAlphabet.randomElement(using: &rng) ?? 0x61
            }
            let value = word.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            #expect(RecordLineParser.mayEndString(value) == !word.allSatisfy(RecordLineParser.isStringByte))
        }
    }
}

// MARK: - Round trip

@Suite("RecordLine round trip")
struct RecordLineRoundTripTests {
    @Test func randomValidLinesRoundTrip() throws {
        var rng = SplitMix64(state: 2027)
        for _ in 0..<1_000 {
            let members = randomMembers(&rng)
            let written = try RecordLine.serialize(members)
            #expect(written.last == 0x0a)
            let parsed = try RecordLine.parse(written.dropLast())
            #expect(parsed.serialized() == written)
            let expected = members.sorted { $0.0.utf8.lexicographicallyPrecedes($1.0.utf8) }
            #expect(parsed.keys == expected.map(\.0))
            #expect(parsed.members.map(\.value) == expected.map(\.1))
        }
    }

    /// Any line the parser accepts is the one canonical spelling of its members: damaged
    /// valid lines are either rejected or reproduced byte for byte.
    @Test func everyAcceptedLineIsCanonical() throws {
        var rng = SplitMix64(state: 99)
        let interesting = bytes(#"{}[]":,0123456789-+.eE \tabc"#) + [0x0d, 0x0a, 0x5c, 0x00, 0x7f, 0x80, 0xef, 0xff]
        for _ in 0..<5_000 {
            var line = Array(try RecordLine.serialize(randomMembers(&rng)).dropLast())
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let position = Int.random(in: 0...line.count, using: &rng)
                let byte = interesting.randomElement(using: &rng) ?? 0
                switch Int.random(in: 0..<3, using: &rng) {
                case 0 where position < line.count: line[position] = byte
                case 1 where position < line.count: line.remove(at: position)
                default: line.insert(byte, at: position)
                }
            }
            do {
                let parsed = try RecordLine.parse(line)
                #expect(parsed.serialized() == line + [0x0a])
            } catch {
                let offset = try #require(error.offset)
                #expect(offset >= 0 && offset <= line.count)
            }
        }
    }
}

// MARK: - Writer and field access

@Suite("RecordLine writer and fields")
struct RecordLineWriterTests {
    @Test func writerSortsKeys() throws {
        let written = try RecordLine.serialize([("type", .string("entry")), ("index", .integer(3)), ("data", .string("ab")), ("kind", .string("ballot"))])
        #expect(written == bytes(#"{"data":"ab","index":3,"kind":"ballot","type":"entry"}"#) + [0x0a])
        #expect(try RecordLine.serialize([]) == bytes("{}\n"))
        #expect(try RecordLine.serialize([("b", .integer(0)), ("B", .integer(UInt64.max))])
                == bytes(#"{"B":18446744073709551615,"b":0}"#) + [0x0a])
    }

    @Test("writer refuses strings the grammar cannot carry",
          arguments: ["a\"b", "a\\b", "line\nfeed", "cr\r", "tab\t", "é", "\u{7f}", "\u{feff}x"])
    func writerRefuses(_ bad: String) {
        #expect(throws: RecordLineError.self) { try RecordLine.serialize([("k", .string(bad))]) }
        #expect(throws: RecordLineError.self) { try RecordLine.serialize([(bad, .integer(1))]) }
        do {
            _ = try RecordLine.serialize([("k", .string(bad))])
        } catch {
            #expect(error.code == "unwritable-string")
            #expect(error.message.hasPrefix(#"the value of key "k" cannot be written"#))
        }
    }

    @Test func writerRefusesDuplicateKeys() {
        do {
            _ = try RecordLine.serialize([("kind", .string("a")), ("type", .string("b")), ("kind", .string("c"))])
            Issue.record("duplicate accepted")
        } catch {
            #expect(error.reason == .duplicateKey("kind"))
            #expect(error.message == #"key "kind" appears twice"#)
        }
    }

    @Test func readObjectNamesMissingAndUnknownKeys() throws {
        let line = try RecordLine.parse(bytes(#"{"data":"00","extra":1,"type":"entry"}"#))
        try line.readObject(expecting: ["type", "extra", "data"])
        do {
            try line.readObject(expecting: ["data", "index", "kind", "type"])
            Issue.record("accepted")
        } catch {
            #expect(error.reason == .keySetMismatch(missing: ["index", "kind"], unexpected: ["extra"]))
            #expect(error.message == #"keys "index", "kind" are missing and key "extra" is not expected on this line type"#)
            #expect(error.offset == nil)
        }
        do {
            try line.readObject(expecting: ["data", "extra", "type", "zz"])
            Issue.record("accepted")
        } catch {
            #expect(error.message == #"key "zz" is missing"#)
        }
    }

    @Test func typedAccessors() throws {
        let line = try RecordLine.parse(bytes(#"{"data":"00ff","hash":"ABCD","index":7,"odd":"abc"}"#))
        #expect(try line.string("data") == "00ff")
        #expect(try line.integer("index") == 7)
        #expect(try line.hexBytes("data") == [0x00, 0xff])
        #expect(try line.hexBytes("data", byteCount: 2) == [0x00, 0xff])
        #expect(throws: RecordLineError(.invalidHex(key: "data", byteCount: 3))) { try line.hexBytes("data", byteCount: 3) }
        #expect(throws: RecordLineError(.invalidHex(key: "hash", byteCount: nil))) { try line.hexBytes("hash") }
        #expect(throws: RecordLineError(.invalidHex(key: "odd", byteCount: nil))) { try line.hexBytes("odd") }
        #expect(throws: RecordLineError(.wrongType(key: "index", expected: .string))) { try line.string("index") }
        #expect(throws: RecordLineError(.wrongType(key: "data", expected: .integer))) { try line.integer("data") }
        #expect(throws: RecordLineError(.missingKey("kind"))) { try line.string("kind") }
        #expect(RecordLineError(.wrongType(key: "index", expected: .string)).message
                == #"the value of key "index" is an unsigned integer but should be a string"#)
    }
}

// MARK: - Hex

/// The one-digit-at-a-time decoder `Hex.decode` was before it used `FastHex`: the oracle.
func referenceHexDecode(_ text: String) -> [UInt8]? {
    let utf8 = Array(text.utf8)
    guard utf8.count % 2 == 0 else { return nil }
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
    var out: [UInt8] = []
    var i = 0
    while i < utf8.count {
        guard let hi = nibble(utf8[i]), let lo = nibble(utf8[i + 1]) else { return nil }
        out.append(hi << 4 | lo)
        i += 2
    }
    return out
}

@Suite("RecordLine fast hex")
struct RecordLineHexTests {
    @Test("decodes and rejects exactly like a one-digit-at-a-time decoder (Hex.decode is FastHex)",
          arguments: ["", "0", "00", "0f", "f0", "ff", "FF", "fF", "0g", "g0", "0123456789abcdef", "0123456789abcdeF",
                      "0123456789abcdef0", "0123456789abcdef01", "deadbeefdeadbeefdeadbeefdeadbee", "00 0", "é0", "0é",
                      "0123456789abcdefg1", "/0", ":0", "`a", "ga", "@0", "000000000000000G"])
    func sameAsHex(_ text: String) {
        #expect(FastHex.decode(text) == referenceHexDecode(text))
        #expect(FastHex.decode(Array(text.utf8)) == referenceHexDecode(text))
        #expect(Hex.decode(text) == referenceHexDecode(text))
    }

    /// Every byte value in every position, on the eight-digit path and the tail path.
    @Test func everyByteInEveryPosition() {
        for length in [2, 8, 16, 18, 22] {
            for position in 0..<length {
                for byte in UInt8.min...UInt8.max {
                    var digits = [UInt8](repeating: 0x61, count: length)
                    digits[position] = byte
                    let text = String(decoding: digits, as: UTF8.self)
                    let expected: [UInt8]? = byte < 0x80 ? referenceHexDecode(text) : nil
                    #expect(FastHex.decode(digits) == expected, "byte \(byte) at \(position) of \(length)")
                }
            }
        }
    }

    @Test func randomRoundTripsAgreeWithHex() {
        var rng = SplitMix64(state: 5)
        for length in 0..<200 {
            let data = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let text = FastHex.encode(data)
            #expect(text == Hex.encode(data))
            #expect(FastHex.encodeToBytes(data) == Array(text.utf8))
            #expect(FastHex.decode(text) == data)
            #expect(FastHex.decode(Array(text.utf8)[...]) == data)
        }
        #expect(FastHex.encode([UInt8](0...255)) == Hex.encode([UInt8](0...255)))
        #expect(FastHex.encode(AnySequenceCollection([0xab, 0xcd])) == "abcd")
    }
}

/// A collection without contiguous storage, to reach the copying paths.
private struct AnySequenceCollection: Collection {
    let base: [UInt8]
    init(_ base: [UInt8]) { self.base = base }
    var startIndex: Int { base.startIndex }
    var endIndex: Int { base.endIndex }
    subscript(i: Int) -> UInt8 { base[i] }
    func index(after i: Int) -> Int { i + 1 }
}

// MARK: - Splitter and file reader

@Suite("RecordLine splitter")
struct RecordLineSplitterTests {
    /// Lines as text (or error codes), for compact expectations.
    private func summary(_ outputs: [RecordLineSplitter.Output]) -> [String] {
        outputs.map { output in
            switch output {
            case .line(let number, let offset, let bytes): "\(number)@\(offset):\(String(decoding: bytes, as: UTF8.self))"
            case .malformed(let number, let offset, let error): "\(number)@\(offset):!\(error.code)"
            }
        }
    }

    private func split(_ record: [UInt8], chunks sizes: [Int], maxLineLength: Int = 64) -> [RecordLineSplitter.Output] {
        var splitter = RecordLineSplitter(maxLineLength: maxLineLength)
        var outputs: [RecordLineSplitter.Output] = []
        var start = 0
        var sizeIndex = 0
        while start < record.count {
            let size = sizes[sizeIndex % sizes.count]
            sizeIndex += 1
            let end = min(record.count, start + size)
            outputs += splitter.feed(record[start..<end])
            #expect(splitter.bufferedByteCount <= maxLineLength)
            start = end
        }
        if let last = splitter.finish() { outputs.append(last) }
        return outputs
    }

    @Test func emptyInputHasNoLines() {
        var splitter = RecordLineSplitter()
        #expect(splitter.feed([UInt8]()).isEmpty)
        #expect(splitter.finish() == nil)
    }

    @Test func linesNumberedWithOffsets() throws {
        let outputs = split(bytes("{}\n{\"a\":1}\n\nx\n"), chunks: [1000])
        #expect(summary(outputs) == ["1@0:{}", "2@3:{\"a\":1}", "3@11:", "4@12:x"])
        // The blank line is passed on, and the grammar rejects it.
        #expect(outputs[2].parsed() == .failure(RecordLineError(.emptyLine, at: 0)))
        #expect(try outputs[1].parsed().get()["a"] == .integer(1))
    }

    @Test func everyChunkingGivesTheSameLines() {
        let record = bytes("{\"a\":\"0123456789\"}\n\n{}\nabc\n{\"b\":12}\n")
        let whole = split(record, chunks: [record.count])
        #expect(whole.count == 5)
        for size in 1...record.count {
            #expect(split(record, chunks: [size]) == whole, "chunks of \(size)")
        }
        for first in 0...record.count {
            for second in first...record.count {
                var splitter = RecordLineSplitter()
                var outputs = splitter.feed(record[..<first])
                outputs += splitter.feed(record[first..<second])
                outputs += splitter.feed(record[second...])
                #expect(splitter.finish() == nil)
                #expect(outputs == whole)
            }
        }
    }

    @Test func lineFeedsAtChunkEdges() {
        #expect(summary(split(bytes("ab\ncd\n"), chunks: [3])) == ["1@0:ab", "2@3:cd"])
        #expect(summary(split(bytes("ab\ncd\n"), chunks: [2, 1])) == ["1@0:ab", "2@3:cd"])
        #expect(summary(split(bytes("\n\nab\n"), chunks: [1])) == ["1@0:", "2@1:", "3@2:ab"])
    }

    @Test func missingFinalLineFeedIsReported() {
        let outputs = split(bytes("{}\n{\"a\":1"), chunks: [4])
        #expect(summary(outputs) == ["1@0:{}", "2@3:!missing-final-line-feed"])
        if case .malformed(_, _, let error) = outputs[1] {
            #expect(error.reason == .missingFinalLineFeed(fragmentLength: 6))
            #expect(error.message == "the record ends with 6 bytes that are not followed by a line feed (the record is truncated)")
        }
    }

    @Test func overLongLineIsSkippedAndTheNextOneKept() {
        let long = [UInt8](repeating: 0x61, count: 100)
        let record = bytes("{}\n") + long + bytes("\n{\"b\":2}\n") + long + bytes("\n")
        for size in [1, 3, 7, 64, 200, record.count] {
            let outputs = split(record, chunks: [size], maxLineLength: 10)
            #expect(summary(outputs) == ["1@0:{}", "2@3:!line-too-long", "3@104:{\"b\":2}", "4@112:!line-too-long"], "chunks of \(size)")
            if case .malformed(_, _, let error) = outputs[1] {
                #expect(error.reason == .lineTooLong(maximum: 10, length: 100))
                #expect(error.offset == 10)
            }
        }
        // Exactly at the limit is fine.
        #expect(summary(split(bytes("0123456789\n"), chunks: [3], maxLineLength: 10)) == ["1@0:0123456789"])
        // An over-long unterminated end is reported once, as a truncated record.
        #expect(summary(split(bytes("{}\n") + long, chunks: [7], maxLineLength: 10)) == ["1@0:{}", "2@3:!missing-final-line-feed"])
    }

    @Test func feedsFromDataAndCollectionsWithoutContiguousStorage() {
        var fromData = RecordLineSplitter()
        #expect(summary(fromData.feed(Data("a\nb".utf8))) == ["1@0:a"])
        #expect(summary(fromData.feed(AnySequenceCollection(bytes("c\n")))) == ["2@2:bc"])
        #expect(fromData.finish() == nil)
    }

    @Test func fileReaderReadsInBlocks() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recordline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("record.jsonl").path
        var record: [UInt8] = []
        var rng = SplitMix64(state: 11)
        for _ in 0..<300 { record += try RecordLine.serialize(randomMembers(&rng)) }
        record += bytes("{\"tail\":1")
        try Data(record).write(to: URL(fileURLWithPath: path))

        let expected = split(record, chunks: [record.count], maxLineLength: RecordLine.defaultMaxLength)
        #expect(expected.count == 301)
        for blockSize in [1, 7, 4096, 1 << 20] {
            var outputs: [RecordLineSplitter.Output] = []
            try RecordFileReader.forEachLine(path: path, blockSize: blockSize) { outputs.append($0) }
            #expect(outputs == expected, "block size \(blockSize)")
        }
        let reader = try RecordFileReader(path: path)
        var parsedCount = 0
        while let output = try reader.next() {
            if case .success = output.parsed() { parsedCount += 1 }
        }
        #expect(parsedCount == 300)
        #expect(try reader.next() == nil)
    }

    @Test func fileReaderReportsAMissingFile() {
        do {
            _ = try RecordFileReader(path: "/nonexistent/record.jsonl")
            Issue.record("opened")
        } catch {
            #expect(error.operation == "open")
            #expect(error.description.hasPrefix("cannot open the record /nonexistent/record.jsonl: "))
        }
    }
}
