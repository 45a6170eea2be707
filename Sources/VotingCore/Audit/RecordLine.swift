/// One value of a record line: the `evote-election-record/2` grammar has only these two.
public enum RecordValue: Sendable, Hashable {
    case string(String)
    case integer(UInt64)

    public enum Kind: Sendable, Hashable {
        case string, integer
    }

    public var kind: Kind {
        switch self {
        case .string: .string
        case .integer: .integer
        }
    }
}

/// One line of the public election record (`evote-election-record/2`). Every valid line has
/// exactly one spelling, so two readers cannot see two different histories in one file.
///
/// The grammar, over the bytes of one line without its LF:
///
///     line    = "{" [ member *( "," member ) ] "}"     ; nothing before or after, no spaces
///     member  = string ":" value                        ; keys unique, strictly ascending bytes
///     value   = string / integer
///     string  = %x22 *( %x20-21 / %x23-5B / %x5D-7E ) %x22   ; no escapes, may be empty
///     integer = "0" / %x31-39 *%x30-39                   ; at most 18446744073709551615
///
/// A line is also malformed when it is empty, longer than the maximum (64 MiB unless told),
/// starts with a byte-order mark, or holds CR, tab or any byte outside 0x20-0x7e. The error
/// names the first problem: whole-line checks (empty, too long, byte-order mark, only
/// spaces) first, then the first offending byte from the left. The record itself is a
/// sequence of such lines, each ending in LF (`RecordLineSplitter`).
public struct RecordLine: Sendable, Hashable {
    public struct Member: Sendable, Hashable {
        public let key: String
        public let value: RecordValue
    }

    /// The members in the order of the line, which is ascending byte order of the keys.
    public let members: [Member]

    /// Longest line (without its LF) that a reader accepts unless told otherwise.
    public static let defaultMaxLength = 64 << 20

    /// Members that are already validated and sorted (the parser's output).
    init(validatedMembers: [Member]) {
        members = validatedMembers
    }

    /// Builds a line to write: sorts the keys and refuses strings the grammar cannot carry
    /// and keys given twice.
    public init(_ members: [(String, RecordValue)]) throws(RecordLineError) {
        for (key, value) in members {
            if let bad = RecordLine.firstUnwritableByte(key) {
                throw RecordLineError(.unwritableKey(key, byte: bad))
            }
            if case .string(let text) = value, let bad = RecordLine.firstUnwritableByte(text) {
                throw RecordLineError(.unwritableValue(key: key, byte: bad))
            }
        }
        let sorted = members.map { Member(key: $0.0, value: $0.1) }
            .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.key.utf8.elementsEqual(b.key.utf8) {
            throw RecordLineError(.duplicateKey(a.key))
        }
        self.members = sorted
    }

    private static func firstUnwritableByte(_ text: String) -> UInt8? {
        text.utf8.first { !RecordLineParser.isStringByte($0) }
    }

    // MARK: Parsing

    /// Parses one line given without its LF.
    public static func parse(_ line: UnsafeRawBufferPointer, maxLength: Int = defaultMaxLength) throws(RecordLineError) -> RecordLine {
        var parser = RecordLineParser(line: line, maxLength: maxLength)
        return try parser.parse()
    }

    /// Parses one line given without its LF (an array, a slice, `Data`, a NIO buffer view).
    public static func parse(_ line: some Collection<UInt8>, maxLength: Int = defaultMaxLength) throws(RecordLineError) -> RecordLine {
        let direct = line.withContiguousStorageIfAvailable { buffer in
            Result { () throws(RecordLineError) in try parse(UnsafeRawBufferPointer(buffer), maxLength: maxLength) }
        }
        if let direct { return try direct.get() }
        let copy = Array(line)
        return try copy.withUnsafeBytes { buffer in
            Result { () throws(RecordLineError) in try parse(buffer, maxLength: maxLength) }
        }.get()
    }

    // MARK: Writing

    /// The canonical bytes of this line followed by LF; `parse` of them (without the LF)
    /// gives this line back.
    public func serialized() -> [UInt8] {
        var capacity = 3
        for member in members {
            capacity += member.key.utf8.count + 4
            switch member.value {
            case .string(let text): capacity += text.utf8.count + 2
            case .integer: capacity += 20
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(capacity)
        out.append(RecordByte.openBrace)
        for (i, member) in members.enumerated() {
            if i > 0 { out.append(RecordByte.comma) }
            out.append(RecordByte.quote)
            out.append(contentsOf: member.key.utf8)
            out.append(RecordByte.quote)
            out.append(RecordByte.colon)
            switch member.value {
            case .string(let text):
                out.append(RecordByte.quote)
                out.append(contentsOf: text.utf8)
                out.append(RecordByte.quote)
            case .integer(let number):
                out.append(contentsOf: String(number).utf8)
            }
        }
        out.append(RecordByte.closeBrace)
        out.append(RecordByte.lineFeed)
        return out
    }

    /// The canonical line (with its LF) of these members, keys sorted; throws for a string
    /// the grammar cannot carry or a key given twice.
    public static func serialize(_ members: [(String, RecordValue)]) throws(RecordLineError) -> [UInt8] {
        try RecordLine(members).serialized()
    }

    // MARK: Reading fields

    /// The keys in line order.
    public var keys: [String] { members.map(\.key) }

    public subscript(key: String) -> RecordValue? {
        members.first { $0.key == key }?.value
    }

    /// Fails unless the line has exactly these keys (in any order given here), naming every
    /// missing and every unexpected key.
    public func readObject(expecting expected: [String]) throws(RecordLineError) {
        let present = Set(members.map(\.key))
        let wanted = Set(expected)
        let missing = expected.filter { !present.contains($0) }
        let unexpected = members.map(\.key).filter { !wanted.contains($0) }
        guard missing.isEmpty, unexpected.isEmpty else {
            throw RecordLineError(.keySetMismatch(missing: missing, unexpected: unexpected))
        }
    }

    public func string(_ key: String) throws(RecordLineError) -> String {
        switch try value(key) {
        case .string(let text): return text
        case .integer: throw RecordLineError(.wrongType(key: key, expected: .string))
        }
    }

    public func integer(_ key: String) throws(RecordLineError) -> UInt64 {
        switch try value(key) {
        case .integer(let number): return number
        case .string: throw RecordLineError(.wrongType(key: key, expected: .integer))
        }
    }

    /// The bytes of a lowercase-hex string member; with `byteCount`, exactly that many.
    public func hexBytes(_ key: String, byteCount: Int? = nil) throws(RecordLineError) -> [UInt8] {
        let text = try string(key)
        // The length check first spares decoding a long value that cannot fit anyway.
        guard byteCount.map({ text.utf8.count == 2 * $0 }) ?? true, let bytes = FastHex.decode(text) else {
            throw RecordLineError(.invalidHex(key: key, byteCount: byteCount))
        }
        return bytes
    }

    private func value(_ key: String) throws(RecordLineError) -> RecordValue {
        guard let value = self[key] else { throw RecordLineError(.missingKey(key)) }
        return value
    }
}

/// Why a record line is malformed, cannot be read as expected, or cannot be written, and
/// where in the line (for syntax errors). The message is a plain English sentence for audit
/// reports; `code` is stable for programs.
public struct RecordLineError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Expectation: Sendable, Hashable {
        case objectStart
        case key
        case colon(afterKey: String)
        case value(ofKey: String)
        case commaOrClose(afterKey: String)
        case endOfLine
    }

    public enum ValueShape: Sendable, Hashable {
        case object, array, boolean, null
    }

    public enum Reason: Sendable, Hashable {
        // The line as bytes.
        case emptyLine
        case onlySpaces
        case byteOrderMark
        case carriageReturn
        case tab
        case controlByte(UInt8)
        case nonASCIIByte(UInt8)
        case lineTooLong(maximum: Int, length: Int)
        case missingFinalLineFeed(fragmentLength: Int)
        // The line as a compact JSON object.
        case whitespace
        case unexpectedByte(UInt8, expected: Expectation)
        case unexpectedEndOfLine(expected: Expectation)
        case trailingComma
        case unterminatedString
        case backslashInString
        case unsupportedValue(key: String, ValueShape)
        case signedNumber
        case leadingZero
        case fractionalNumber
        case numberWithExponent
        case numberTooLarge
        case duplicateKey(String)
        case keyOutOfOrder(key: String, previous: String)
        // A well-formed line read as a particular line type.
        case keySetMismatch(missing: [String], unexpected: [String])
        case missingKey(String)
        case wrongType(key: String, expected: RecordValue.Kind)
        case invalidHex(key: String, byteCount: Int?)
        case emptyValue(key: String)
        case unknownLineType(String)
        case unknownEntryKind(String)
        // Writing.
        case unwritableKey(String, byte: UInt8)
        case unwritableValue(key: String, byte: UInt8)
    }

    public let reason: Reason
    /// Byte offset within the line (0 = its first byte) where the problem is; nil when the
    /// problem is about fields rather than bytes.
    public let offset: Int?

    public init(_ reason: Reason, at offset: Int? = nil) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        guard let offset else { return message }
        return "\(message) (at byte \(offset) of the line)"
    }

    /// Stable identifier of the reason.
    public var code: String {
        switch reason {
        case .emptyLine: "empty-line"
        case .onlySpaces: "blank-line"
        case .byteOrderMark: "byte-order-mark"
        case .carriageReturn: "carriage-return"
        case .tab: "tab"
        case .controlByte: "control-byte"
        case .nonASCIIByte: "non-ascii"
        case .lineTooLong: "line-too-long"
        case .missingFinalLineFeed: "missing-final-line-feed"
        case .whitespace: "whitespace"
        case .unexpectedByte: "unexpected-character"
        case .unexpectedEndOfLine: "unexpected-end-of-line"
        case .trailingComma: "trailing-comma"
        case .unterminatedString: "unterminated-string"
        case .backslashInString: "backslash"
        case .unsupportedValue: "unsupported-value"
        case .signedNumber: "signed-number"
        case .leadingZero: "leading-zero"
        case .fractionalNumber: "fractional-number"
        case .numberWithExponent: "number-exponent"
        case .numberTooLarge: "number-too-large"
        case .duplicateKey: "duplicate-key"
        case .keyOutOfOrder: "key-order"
        case .keySetMismatch: "unexpected-keys"
        case .missingKey: "missing-key"
        case .wrongType: "wrong-type"
        case .invalidHex: "invalid-hex"
        case .emptyValue: "empty-value"
        case .unknownLineType: "unknown-type"
        case .unknownEntryKind: "unknown-kind"
        case .unwritableKey, .unwritableValue: "unwritable-string"
        }
    }

    /// The reason as a sentence, without the offset.
    public var message: String {
        switch reason {
        case .emptyLine:
            return "line is empty (blank lines are not allowed)"
        case .onlySpaces:
            return "line holds only spaces (blank lines are not allowed)"
        case .byteOrderMark:
            return "line starts with a UTF-8 byte-order mark (EF BB BF), which is not allowed"
        case .carriageReturn:
            return "line contains a carriage return (CRLF line ends are not allowed)"
        case .tab:
            return "line contains a tab (only printable ASCII 0x20-0x7e is allowed)"
        case .controlByte(let byte):
            return "line contains the control byte \(hex(byte)) (only printable ASCII 0x20-0x7e is allowed)"
        case .nonASCIIByte(let byte):
            return "line contains the byte \(hex(byte)), which is not ASCII (only printable ASCII 0x20-0x7e is allowed)"
        case .lineTooLong(let maximum, let length):
            return "line is \(length) bytes long, more than the maximum of \(maximum) bytes"
        case .missingFinalLineFeed(let fragmentLength):
            return "the record ends with \(fragmentLength) bytes that are not followed by a line feed (the record is truncated)"
        case .whitespace:
            return "a space outside a string (lines are written compactly, with no whitespace between tokens)"
        case .unexpectedByte(let byte, let expectation):
            return "expected \(describe(expectation)) but found \(describe(byte))"
        case .unexpectedEndOfLine(let expectation):
            return "line ends where \(describe(expectation)) was expected"
        case .trailingComma:
            return "a comma is followed by \"}\" (trailing commas are not allowed)"
        case .unterminatedString:
            return "a string is not closed before the end of the line"
        case .backslashInString:
            return "a string contains a backslash (escapes are not allowed in record lines)"
        case .unsupportedValue(let key, let shape):
            return "the value of key \(quoted(key)) is \(describe(shape)); only strings and unsigned integers are allowed"
        case .signedNumber:
            return "a number has a sign (only unsigned integers written without a sign are allowed)"
        case .leadingZero:
            return "a number has a leading zero"
        case .fractionalNumber:
            return "a number has a fraction (only integers are allowed)"
        case .numberWithExponent:
            return "a number has an exponent (integers are written with plain digits)"
        case .numberTooLarge:
            return "a number is larger than 18446744073709551615 (2^64 - 1)"
        case .duplicateKey(let key):
            return "key \(quoted(key)) appears twice"
        case .keyOutOfOrder(let key, let previous):
            return "key \(quoted(key)) comes after key \(quoted(previous)) (keys must be in ascending byte order)"
        case .keySetMismatch(let missing, let unexpected):
            var parts: [String] = []
            if !missing.isEmpty { parts.append("\(keyList(missing)) missing") }
            if !unexpected.isEmpty { parts.append("\(keyList(unexpected)) not expected on this line type") }
            return parts.joined(separator: " and ")
        case .missingKey(let key):
            return "key \(quoted(key)) is missing"
        case .wrongType(let key, let expected):
            let found = expected == .string ? "an unsigned integer" : "a string"
            let wanted = expected == .string ? "a string" : "an unsigned integer"
            return "the value of key \(quoted(key)) is \(found) but should be \(wanted)"
        case .invalidHex(let key, let byteCount):
            if let byteCount {
                return "the value of key \(quoted(key)) is not \(byteCount * 2) lowercase hex digits"
            }
            return "the value of key \(quoted(key)) is not lowercase hex with an even number of digits"
        case .emptyValue(let key):
            return "the value of key \(quoted(key)) is empty"
        case .unknownLineType(let type):
            return "the line type \(quoted(type)) is not one of \"header\", \"entry\", \"checkpoint\", \"end\""
        case .unknownEntryKind(let kind):
            return "the entry kind \(quoted(kind)) is not one of the 17 kinds of the log"
        case .unwritableKey(let key, let byte):
            return "key \(quoted(key)) cannot be written: it contains \(describe(byte)) (record strings are printable ASCII without \" or \\)"
        case .unwritableValue(let key, let byte):
            return "the value of key \(quoted(key)) cannot be written: it contains \(describe(byte)) (record strings are printable ASCII without \" or \\)"
        }
    }

    private func describe(_ expectation: Expectation) -> String {
        switch expectation {
        case .objectStart: "\"{\" (a line is one JSON object)"
        case .key: "a key in double quotes"
        case .colon(let key): "\":\" after key \(quoted(key))"
        case .value(let key): "the value of key \(quoted(key)) (a string or an unsigned integer)"
        case .commaOrClose(let key): "\",\" or \"}\" after the value of key \(quoted(key))"
        case .endOfLine: "the end of the line after the closing \"}\""
        }
    }

    private func describe(_ shape: ValueShape) -> String {
        switch shape {
        case .object: "a nested object"
        case .array: "an array"
        case .boolean: "a boolean"
        case .null: "null"
        }
    }

    private func describe(_ byte: UInt8) -> String {
        switch byte {
        case RecordByte.quote: "a double quote"
        case RecordByte.backslash: "a backslash"
        case RecordByte.space: "a space"
        case 0x21...0x7e: "\"\(String(decoding: [byte], as: UTF8.self))\""
        default: "the byte \(hex(byte))"
        }
    }

    private func hex(_ byte: UInt8) -> String {
        "0x" + FastHex.encode([byte])
    }

    /// A key for a sentence: quoted, escaped if it could not be written, cut if very long.
    private func quoted(_ key: String) -> String {
        let limit = 80
        let shown = key.utf8.count > limit ? String(decoding: key.utf8.prefix(limit), as: UTF8.self) + "..." : key
        return String(reflecting: shown)
    }

    private func keyList(_ keys: [String]) -> String {
        let names = keys.map(quoted).joined(separator: ", ")
        return keys.count == 1 ? "key \(names) is" : "keys \(names) are"
    }
}

/// Bytes the record grammar names.
enum RecordByte {
    static let lineFeed: UInt8 = 0x0a
    static let carriageReturn: UInt8 = 0x0d
    static let tab: UInt8 = 0x09
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let plus: UInt8 = 0x2b
    static let comma: UInt8 = 0x2c
    static let minus: UInt8 = 0x2d
    static let dot: UInt8 = 0x2e
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let colon: UInt8 = 0x3a
    static let upperE: UInt8 = 0x45
    static let openBracket: UInt8 = 0x5b
    static let backslash: UInt8 = 0x5c
    static let lowerE: UInt8 = 0x65
    static let lowerF: UInt8 = 0x66
    static let lowerN: UInt8 = 0x6e
    static let lowerT: UInt8 = 0x74
    static let openBrace: UInt8 = 0x7b
    static let closeBrace: UInt8 = 0x7d
}

/// The hand-written parser behind `RecordLine.parse`: one pass over the line, no
/// allocation except the member array and the strings it keeps.
struct RecordLineParser {
    let line: UnsafeRawBufferPointer
    let maxLength: Int
    private var members: [RecordLine.Member] = []

    init(line: UnsafeRawBufferPointer, maxLength: Int) {
        self.line = line
        self.maxLength = maxLength
    }

    /// Bytes a string may hold: printable ASCII except `"` and `\`.
    static func isStringByte(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte <= 0x7e && byte != RecordByte.quote && byte != RecordByte.backslash
    }

    mutating func parse() throws(RecordLineError) -> RecordLine {
        let count = line.count
        guard count > 0 else { throw RecordLineError(.emptyLine, at: 0) }
        guard count <= maxLength else {
            throw RecordLineError(.lineTooLong(maximum: maxLength, length: count), at: maxLength)
        }
        if count >= 3, line[0] == 0xef, line[1] == 0xbb, line[2] == 0xbf {
            throw RecordLineError(.byteOrderMark, at: 0)
        }
        if line[0] == RecordByte.space, line.allSatisfy({ $0 == RecordByte.space }) {
            throw RecordLineError(.onlySpaces, at: 0)
        }
        guard line[0] == RecordByte.openBrace else { throw unexpected(at: 0, .objectStart) }
        var i = 1
        guard i < count else { throw RecordLineError(.unexpectedEndOfLine(expected: .key), at: i) }
        if line[i] == RecordByte.closeBrace {
            i += 1
        } else {
            var previousKey: Range<Int>? = nil
            while true {
                // "key":
                guard i < count else { throw RecordLineError(.unexpectedEndOfLine(expected: .key), at: i) }
                guard line[i] == RecordByte.quote else { throw unexpected(at: i, .key) }
                let keyStart = i + 1
                let keyEnd = try scanString(from: keyStart)
                let key = keyStart..<keyEnd
                if let previousKey { try checkOrder(key, after: previousKey) }
                previousKey = key
                let keyText = text(key)
                i = keyEnd + 1
                guard i < count else { throw RecordLineError(.unexpectedEndOfLine(expected: .colon(afterKey: keyText)), at: i) }
                guard line[i] == RecordByte.colon else { throw unexpected(at: i, .colon(afterKey: keyText)) }
                i += 1
                // value
                let value: RecordValue
                (value, i) = try parseValue(at: i, key: keyText)
                members.append(RecordLine.Member(key: keyText, value: value))
                // , or }
                guard i < count else { throw RecordLineError(.unexpectedEndOfLine(expected: .commaOrClose(afterKey: keyText)), at: i) }
                if line[i] == RecordByte.closeBrace {
                    i += 1
                    break
                }
                guard line[i] == RecordByte.comma else { throw unexpected(at: i, .commaOrClose(afterKey: keyText)) }
                if i + 1 < count, line[i + 1] == RecordByte.closeBrace { throw RecordLineError(.trailingComma, at: i) }
                i += 1
            }
        }
        guard i == count else { throw unexpected(at: i, .endOfLine) }
        return RecordLine(validatedMembers: members)
    }

    private func parseValue(at start: Int, key: String) throws(RecordLineError) -> (RecordValue, Int) {
        guard start < line.count else { throw RecordLineError(.unexpectedEndOfLine(expected: .value(ofKey: key)), at: start) }
        switch line[start] {
        case RecordByte.quote:
            let end = try scanString(from: start + 1)
            return (.string(text(start + 1..<end)), end + 1)
        case RecordByte.zero...RecordByte.nine:
            return try parseInteger(at: start)
        case RecordByte.minus, RecordByte.plus:
            throw RecordLineError(.signedNumber, at: start)
        case RecordByte.dot:
            throw RecordLineError(.fractionalNumber, at: start)
        case RecordByte.openBrace:
            throw RecordLineError(.unsupportedValue(key: key, .object), at: start)
        case RecordByte.openBracket:
            throw RecordLineError(.unsupportedValue(key: key, .array), at: start)
        case RecordByte.lowerT where hasWord("true", at: start), RecordByte.lowerF where hasWord("false", at: start):
            throw RecordLineError(.unsupportedValue(key: key, .boolean), at: start)
        case RecordByte.lowerN where hasWord("null", at: start):
            throw RecordLineError(.unsupportedValue(key: key, .null), at: start)
        default:
            throw unexpected(at: start, .value(ofKey: key))
        }
    }

    private func parseInteger(at start: Int) throws(RecordLineError) -> (RecordValue, Int) {
        let count = line.count
        var i = start
        var number: UInt64 = 0
        if line[i] == RecordByte.zero {
            i += 1
            if i < count, line[i] >= RecordByte.zero, line[i] <= RecordByte.nine {
                throw RecordLineError(.leadingZero, at: start)
            }
        } else {
            while i < count, line[i] >= RecordByte.zero, line[i] <= RecordByte.nine {
                let (times10, overflow1) = number.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt64(line[i] - RecordByte.zero))
                guard !overflow1, !overflow2 else { throw RecordLineError(.numberTooLarge, at: start) }
                number = sum
                i += 1
            }
        }
        if i < count {
            switch line[i] {
            case RecordByte.dot: throw RecordLineError(.fractionalNumber, at: i)
            case RecordByte.lowerE, RecordByte.upperE: throw RecordLineError(.numberWithExponent, at: i)
            default: break
            }
        }
        return (.integer(number), i)
    }

    /// Index of the closing quote of a string whose content starts at `start`.
    private func scanString(from start: Int) throws(RecordLineError) -> Int {
        let count = line.count
        var i = start
        // Eight bytes at a time while none of them needs a closer look (11 KB hex fields).
        while i + 8 <= count, !Self.mayEndString(UInt64(littleEndian: line.loadUnaligned(fromByteOffset: i, as: UInt64.self))) {
            i += 8
        }
        while i < count {
            let byte = line[i]
            if byte == RecordByte.quote { return i }
            if byte == RecordByte.backslash { throw RecordLineError(.backslashInString, at: i) }
            if byte < 0x20 || byte > 0x7e { throw classify(byte, at: i, or: .unterminatedString) }
            i += 1
        }
        throw RecordLineError(.unterminatedString, at: count)
    }

    /// True when some byte of the word is `"`, `\`, below 0x20 or above 0x7e (exact for
    /// "some byte"; classic SWAR zero-byte tests, borrows only reach above a true hit).
    static func mayEndString(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZeroByte(_ v: UInt64) -> UInt64 { (v &- ones) & ~v & highs }
        let nonASCII = word & highs
        let control = (word &- ones &* 0x20) & ~word & highs
        let quote = hasZeroByte(word ^ (ones &* UInt64(RecordByte.quote)))
        let backslash = hasZeroByte(word ^ (ones &* UInt64(RecordByte.backslash)))
        let delete = hasZeroByte(word ^ (ones &* 0x7f))
        return (nonASCII | control | quote | backslash | delete) != 0
    }

    private func checkOrder(_ key: Range<Int>, after previous: Range<Int>) throws(RecordLineError) {
        let a = UnsafeRawBufferPointer(rebasing: line[previous])
        let b = UnsafeRawBufferPointer(rebasing: line[key])
        guard a.lexicographicallyPrecedes(b) else {
            let keyText = text(key)
            // A key seen anywhere before is reported as a duplicate, not as an order problem.
            if a.elementsEqual(b) || members.contains(where: { $0.key == keyText }) {
                throw RecordLineError(.duplicateKey(keyText), at: key.lowerBound - 1)
            }
            throw RecordLineError(.keyOutOfOrder(key: keyText, previous: text(previous)), at: key.lowerBound - 1)
        }
    }

    private func hasWord(_ word: StaticString, at start: Int) -> Bool {
        let bytes = UnsafeBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount)
        guard start + bytes.count <= line.count else { return false }
        return UnsafeRawBufferPointer(rebasing: line[start..<start + bytes.count]).elementsEqual(bytes)
    }

    /// Bytes already checked to be printable ASCII, as a String.
    private func text(_ range: Range<Int>) -> String {
        let source = UnsafeRawBufferPointer(rebasing: line[range])
        return String(unsafeUninitializedCapacity: source.count) { target in
            UnsafeMutableRawBufferPointer(target).copyMemory(from: source)
            return source.count
        }
    }

    /// An unexpected byte where structure was expected, named by what is wrong with it.
    private func unexpected(at i: Int, _ expectation: RecordLineError.Expectation) -> RecordLineError {
        let byte = line[i]
        if byte == RecordByte.space { return RecordLineError(.whitespace, at: i) }
        return classify(byte, at: i, or: .unexpectedByte(byte, expected: expectation))
    }

    /// Bytes that no line may contain anywhere get their own reason; others get `fallback`.
    private func classify(_ byte: UInt8, at i: Int, or fallback: RecordLineError.Reason) -> RecordLineError {
        switch byte {
        case RecordByte.carriageReturn: RecordLineError(.carriageReturn, at: i)
        case RecordByte.tab: RecordLineError(.tab, at: i)
        case 0..<0x20, 0x7f: RecordLineError(.controlByte(byte), at: i)
        case 0x80...: RecordLineError(.nonASCIIByte(byte), at: i)
        default: RecordLineError(fallback, at: i)
        }
    }
}
