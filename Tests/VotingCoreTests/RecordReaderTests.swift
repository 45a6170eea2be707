import Foundation
import Testing
@testable import VotingCore

/// The audit's reading path (docs/verification.md §1.1) on a complete, valid record: the
/// worked example's 21 entries and 17 checkpoints written with `RecordItem.serializedLine`,
/// read back with `RecordLineSplitter`, `RecordItem.parse` and `RecordAuditFeeder` (what
/// `voter audit` runs), then damaged one line at a time.
struct RecordReaderTests {
    /// The worked example as record lines, each with its LF; nil if the example fails to build
    /// (ProtocolExampleTests reports why).
    static let lines: [[UInt8]]? = try? buildLines()
    static let entryCount = 21
    static let checkpointCount = 17

    static func buildLines() throws -> [[UInt8]] {
        let (_, x) = try ProtocolExampleTests.load()
        var out = [RecordItem.header(RecordHeader(electionHash: x.hash, exportedAt: ProtocolExampleTests.t0 + 11 * ProtocolExampleTests.hour))
            .serializedLine()]
        var size: UInt64 = 0
        for e in x.entries {
            out.append(RecordItem.entry(LogEntryBody(index: e.index, kind: e.kind, data: HexBytes(e.canonicalBytes))).serializedLine())
            size += 1
            if let cp = x.checkpoints[size] { out.append(RecordItem.checkpoint(cp).serializedLine()) }
        }
        out.append(RecordItem.end(RecordEnd(entries: UInt64(x.entries.count), checkpoints: UInt64(x.checkpoints.count))).serializedLine())
        return out
    }

    static func text(_ line: [UInt8]) -> String { String(decoding: line.dropLast(), as: UTF8.self) }
    static func line(_ text: String) -> [UInt8] { Array(text.utf8) + [0x0a] }

    /// Record lines (1-based) of the given type, by the text of their `type` member.
    static func numbers(of type: String, in lines: [[UInt8]]) -> [Int] {
        lines.indices.filter { text(lines[$0]).hasSuffix("\"type\":\"\(type)\"}") }.map { $0 + 1 }
    }

    static func parseError(_ bytes: ArraySlice<UInt8>) -> RecordLineError? {
        do throws(RecordLineError) {
            _ = try RecordItem.parse(line: bytes)
            return nil
        } catch {
            return error
        }
    }

    static func failing(_ report: AuditReport) -> Set<Int> { Set(report.checks.filter { !$0.passed }.map(\.number)) }

    static func describe(_ report: AuditReport) -> String {
        report.checks.filter { !$0.passed }.map { "check \($0.number): \($0.failures)" }.joined(separator: "\n")
    }

    // MARK: the valid record

    @Test("the worked example's record audits with all 16 checks passing, however the bytes are chunked")
    func validRecord() async throws {
        let lines = try #require(Self.lines)
        #expect(lines.count == 1 + Self.entryCount + Self.checkpointCount + 1)
        let record = Array(lines.joined())
        for chunk in [1 << 20, 4096, 97] {
            let report = await RecordAuditFeeder.audit(record: record, chunkSize: chunk)
            #expect(report.passed, "chunks of \(chunk):\n\(Self.describe(report))")
            #expect(report.entries == UInt64(Self.entryCount))
            #expect(report.checks.count == 16)
        }
        // One worker parses the same way as several.
        let single = await RecordAuditFeeder.audit(record: record, parallelism: 1)
        #expect(single.passed, "\(Self.describe(single))")
    }

    @Test("every written line is canonical: parsed back it gives the same item, written again the same bytes")
    func roundTrip() throws {
        let lines = try #require(Self.lines)
        for bytes in lines {
            #expect(bytes.last == 0x0a)
            #expect(bytes.dropLast().allSatisfy { (0x20...0x7e).contains($0) })
            let item = try RecordItem.parse(line: bytes.dropLast())
            #expect(item.serializedLine() == bytes)
            #expect(try item.line() == Data(bytes))
            // The grammar's own writer gives the same bytes (sorted keys, no whitespace, LF).
            let parsed = try RecordLine.parse(bytes.dropLast())
            #expect(parsed.serialized() == bytes)
            #expect(try RecordLine.serialize(parsed.members.map { ($0.key, $0.value) }) == bytes)
        }
        #expect(Self.text(lines[0]).hasPrefix("{\"election_hash\":\""))
        #expect(Self.text(lines[0]).hasSuffix("\"format\":\"evote-election-record/2\",\"type\":\"header\"}"))
        #expect(Self.text(lines[lines.count - 1]) == "{\"checkpoints\":17,\"entries\":21,\"type\":\"end\"}")
        #expect(Self.text(lines[1]).hasPrefix("{\"data\":\"") && Self.text(lines[1]).hasSuffix("\",\"index\":0,\"kind\":\"election\",\"type\":\"entry\"}"))
        let checkpoint = Self.text(lines[2])
        #expect(checkpoint.hasPrefix("{\"election_hash\":\"") && checkpoint.contains("\",\"root_hash\":\"")
                && checkpoint.contains("\",\"signature\":\"") && checkpoint.hasSuffix(",\"tree_size\":1,\"type\":\"checkpoint\"}"))
    }

    // MARK: one extra malformed line

    /// A line that the reader must call malformed, and the error code it must give.
    struct Extra: CustomTestStringConvertible, Sendable {
        let name: String
        let code: String
        /// Builds the line (with its LF, unless the case is about it) from the valid lines.
        let make: @Sendable ([[UInt8]]) -> [UInt8]
        var testDescription: String { name }
    }

    static func edit(_ lines: [[UInt8]], _ type: String, _ transform: @escaping (String) -> String) -> [UInt8] {
        let n = numbers(of: type, in: lines)[type == "checkpoint" ? 3 : 0]
        return line(transform(text(lines[n - 1])))
    }

    static func replacing(_ text: String, _ old: String, _ new: String) -> String {
        guard let range = text.range(of: old) else { return text + "<no \(old)>" }
        return text.replacingCharacters(in: range, with: new)
    }

    static let extras: [Extra] = [
        Extra(name: "CRLF line end", code: "carriage-return") { lines in Array(lines[0].dropLast()) + [0x0d, 0x0a] },
        Extra(name: "carriage return inside a line", code: "carriage-return") { edit($0, "end") { replacing($0, ",", ",\r") } },
        Extra(name: "UTF-8 byte-order mark", code: "byte-order-mark") { lines in [0xef, 0xbb, 0xbf] + lines[0] },
        Extra(name: "blank line", code: "empty-line") { _ in [0x0a] },
        Extra(name: "line of spaces", code: "blank-line") { _ in line("   ") },
        Extra(name: "space after a colon", code: "whitespace") { edit($0, "end") { replacing($0, ":", ": ") } },
        Extra(name: "space after a comma", code: "whitespace") { edit($0, "header") { replacing($0, ",", ", ") } },
        Extra(name: "space before the object", code: "whitespace") { edit($0, "end") { " " + $0 } },
        Extra(name: "space after the object", code: "whitespace") { edit($0, "end") { $0 + " " } },
        Extra(name: "tab", code: "tab") { edit($0, "end") { replacing($0, ",", ",\t") } },
        Extra(name: "non-ASCII byte", code: "non-ascii") { edit($0, "header") { replacing($0, "record/2", "récord/2") } },
        Extra(name: "escaped slash", code: "backslash") { edit($0, "header") { replacing($0, "record/2", "record\\/2") } },
        Extra(name: "unicode escape", code: "backslash") { edit($0, "end") { replacing($0, "\"end\"", "\"\\u0065nd\"") } },
        Extra(name: "leading zero", code: "leading-zero") { edit($0, "end") { replacing($0, ":17", ":017") } },
        Extra(name: "signed number", code: "signed-number") { edit($0, "header") { replacing($0, "\"exported_at\":", "\"exported_at\":-") } },
        Extra(name: "fraction", code: "fractional-number") { edit($0, "end") { replacing($0, ":21", ":21.0") } },
        Extra(name: "exponent", code: "number-exponent") { edit($0, "end") { replacing($0, ":21", ":21e0") } },
        Extra(name: "number above 2^64 - 1", code: "number-too-large") { edit($0, "end") { replacing($0, ":21", ":18446744073709551616") } },
        Extra(name: "duplicate key", code: "duplicate-key") { edit($0, "end") { replacing($0, "\"entries\":21,", "\"entries\":21,\"entries\":21,") } },
        Extra(name: "keys out of order", code: "key-order") { _ in line("{\"entries\":21,\"checkpoints\":17,\"type\":\"end\"}") },
        Extra(name: "nested object", code: "unsupported-value") { edit($0, "end") { replacing($0, ":21", ":{}") } },
        Extra(name: "boolean", code: "unsupported-value") { edit($0, "end") { replacing($0, ":21", ":true") } },
        Extra(name: "trailing comma", code: "trailing-comma") { edit($0, "end") { replacing($0, "}", ",}") } },
        Extra(name: "unknown key on an end line", code: "unexpected-keys") { edit($0, "end") { replacing($0, "\"type\"", "\"total\":38,\"type\"") } },
        Extra(name: "unknown key on a checkpoint", code: "unexpected-keys") { edit($0, "checkpoint") { replacing($0, "\"type\"", "\"tree_sizes\":1,\"type\"") } },
        Extra(name: "unknown key on an entry", code: "unexpected-keys") { edit($0, "entry") { replacing($0, "\"index\"", "\"hash\":\"00\",\"index\"") } },
        Extra(name: "missing key on a header", code: "unexpected-keys") { edit($0, "header") { replacing($0, "\"format\":\"evote-election-record/2\",", "") } },
        Extra(name: "missing type", code: "missing-key") { _ in line("{\"checkpoints\":17,\"entries\":21}") },
        Extra(name: "unknown line type", code: "unknown-type") { edit($0, "end") { replacing($0, "\"end\"", "\"footer\"") } },
        Extra(name: "string for an integer", code: "wrong-type") { edit($0, "end") { replacing($0, ":21", ":\"21\"") } },
        Extra(name: "integer for a string", code: "wrong-type") { edit($0, "end") { replacing($0, "\"end\"", "7") } },
        Extra(name: "short signature hex", code: "invalid-hex") { edit($0, "checkpoint") {
            $0.replacingOccurrences(of: #"[0-9a-f]{2}","timestamp""#, with: #"","timestamp""#, options: .regularExpression)
        } },
        Extra(name: "long election hash", code: "invalid-hex") { edit($0, "header") { replacing($0, "\",\"exported_at\"", "00\",\"exported_at\"") } },
        Extra(name: "upper-case root hash", code: "invalid-hex") { edit($0, "checkpoint") { text in
            guard let r = text.range(of: #""root_hash":"[0-9a-f]{64}""#, options: .regularExpression) else { return text }
            return text.replacingCharacters(in: r, with: text[r].uppercased().replacingOccurrences(of: "ROOT_HASH", with: "root_hash"))
        } },
        Extra(name: "odd-length entry data", code: "invalid-hex") { edit($0, "entry") { replacing($0, "\",\"index\"", "0\",\"index\"") } },
        Extra(name: "empty entry data", code: "empty-value") { edit($0, "entry") { text in
            text.replacingOccurrences(of: #""data":"[0-9a-f]*""#, with: "\"data\":\"\"", options: .regularExpression)
        } },
        Extra(name: "unknown entry kind", code: "unknown-kind") { edit($0, "entry") { replacing($0, "\"kind\":\"election\"", "\"kind\":\"elections\"") } },
        Extra(name: "entry kind in upper case", code: "unknown-kind") { edit($0, "entry") { replacing($0, "\"kind\":\"election\"", "\"kind\":\"Election\"") } },
    ]

    @Test("one extra malformed line fails check 2 naming it, is ignored, and the rest of the record audits", arguments: extras)
    func extraMalformedLine(_ extra: Extra) async throws {
        let lines = try #require(Self.lines)
        let bad = extra.make(lines)
        #expect(!String(decoding: bad, as: UTF8.self).contains("<no "), "the test edit did not apply")
        // The grammar names the reason the case is about.
        let error = Self.parseError(bad.last == 0x0a ? bad.dropLast() : bad[...])
        #expect(error?.code == extra.code, "\(extra.name): \(String(describing: error))")
        // Inserted in the middle, between an entry and its checkpoint, and at the front.
        for position in [7, 1] {
            var damaged = lines
            damaged.insert(bad, at: position - 1)
            for chunk in [1 << 20, 61] {
                let report = await RecordAuditFeeder.audit(record: Array(damaged.joined()), chunkSize: chunk)
                #expect(Self.failing(report) == [2], "\(extra.name) at line \(position):\n\(Self.describe(report))")
                #expect(report.entries == UInt64(Self.entryCount))
                let entries = try #require(report.checks.first { $0.number == 2 })
                #expect(entries.failures.count == 1)
                if let error {
                    #expect(entries.failures.first == "record line \(position) is malformed: \(error.description)")
                    #expect(entries.failures.first?.contains(error.message) == true)
                }
            }
        }
    }

    @Test("a final line without LF is malformed: check 2 names it as the truncated end and the rest audits")
    func finalLineWithoutLineFeed() async throws {
        let lines = try #require(Self.lines)
        for fragment in ["{\"checkpoints\":17", "{\"checkpoints\":17,\"entries\":21,\"type\":\"end\"}", " ", "\r"] {
            let record = Array(lines.joined()) + Array(fragment.utf8)
            for chunk in [1 << 20, 5] {
                let report = await RecordAuditFeeder.audit(record: record, chunkSize: chunk)
                #expect(Self.failing(report) == [2], "\(Self.describe(report))")
                let failures = report.checks[1].failures
                #expect(failures == ["record line \(lines.count + 1) is malformed: the record ends with \(fragment.utf8.count) bytes that are not followed by a line feed (the record is truncated) (at byte \(fragment.utf8.count) of the line)"])
            }
        }
        // The end line itself without its LF: malformed, so the record also has no end line (check 5).
        let cut = Array(lines.joined().dropLast())
        let report = await RecordAuditFeeder.audit(record: cut)
        #expect(Self.failing(report) == [2, 5], "\(Self.describe(report))")
        #expect(report.checks[1].failures.first?.hasPrefix("record line \(lines.count) is malformed: the record ends with") == true)
        #expect(report.checks[4].failures == ["the record has no end line: it may be truncated"])
    }

    @Test("an empty record has no lines: no malformed line, but no header, entries or end")
    func emptyRecord() async {
        let report = await RecordAuditFeeder.audit(record: [])
        #expect(!report.passed)
        #expect(report.checks[1].failures == ["the record has no header line"])
    }

    // MARK: a real line damaged

    @Test("the record's own lines damaged: the line is ignored, with the consequences of Record §1.1 and §4")
    func damagedLines() async throws {
        let lines = try #require(Self.lines)
        func audit(_ damaged: [[UInt8]]) async -> AuditReport { await RecordAuditFeeder.audit(record: Array(damaged.joined()), chunkSize: 333) }

        // CRLF on every line: every line is malformed, nothing is read.
        let crlf = lines.map { Array($0.dropLast()) + [0x0d, 0x0a] }
        let all = await audit(crlf)
        #expect(all.entries == 0)
        #expect(all.checks[1].examined >= lines.count)
        #expect(Array(all.checks[1].failures.prefix(3)) == (1...3).map { n in
            "record line \(n) is malformed: line contains a carriage return (CRLF line ends are not allowed) (at byte \(crlf[n - 1].count - 2) of the line)"
        })

        // The header behind a byte-order mark: ignored, so the record has no header (check 2 twice), nothing else.
        var bom = lines
        bom[0] = [0xef, 0xbb, 0xbf] + lines[0]
        let noHeader = await audit(bom)
        #expect(Self.failing(noHeader) == [2], "\(Self.describe(noHeader))")
        #expect(noHeader.checks[1].failures.count == 2)
        #expect(noHeader.checks[1].failures.last == "the record has no header line")

        // A checkpoint (not the last) with an unknown key: not counted, so the end line's count disagrees (check 5).
        let checkpointNumbers = Self.numbers(of: "checkpoint", in: lines)
        var extraKey = lines
        let n = checkpointNumbers[5]
        extraKey[n - 1] = Self.line(Self.replacing(Self.text(lines[n - 1]), "\"type\"", "\"txt\":\"x\",\"type\""))
        let lostCheckpoint = await audit(extraKey)
        #expect(Self.failing(lostCheckpoint) == [2, 5], "\(Self.describe(lostCheckpoint))")
        #expect(lostCheckpoint.checks[1].failures.first?.hasPrefix("record line \(n) is malformed: key \"txt\" is not expected on this line type") == true)

        // The last entry with an unknown kind: not counted and no leaf, so the last checkpoint is
        // out of place and the counts disagree (checks 4 and 5).
        let entryNumbers = Self.numbers(of: "entry", in: lines)
        let last = entryNumbers[entryNumbers.count - 1]
        var unknownKind = lines
        unknownKind[last - 1] = Self.line(Self.text(lines[last - 1]).replacingOccurrences(of: #""kind":"[a-z-]+""#, with: "\"kind\":\"tally\"", options: .regularExpression))
        let lostEntry = await audit(unknownKind)
        #expect(lostEntry.entries == UInt64(Self.entryCount - 1))
        #expect(Self.failing(lostEntry).isSuperset(of: [2, 4, 5]), "\(Self.describe(lostEntry))")
        #expect(lostEntry.checks[1].failures.first == "record line \(last) is malformed: the entry kind \"tally\" is not one of the 17 kinds of the log")

        // The same entry with another of the 17 kinds is well formed: check 2 step 2 fails, the leaf stays (checks 4 and 5 pass).
        var wrongKind = lines
        wrongKind[last - 1] = Self.line(Self.text(lines[last - 1]).replacingOccurrences(of: #""kind":"[a-z-]+""#, with: "\"kind\":\"roll\"", options: .regularExpression))
        let notApplied = await audit(wrongKind)
        #expect(notApplied.entries == UInt64(Self.entryCount))
        #expect(Self.failing(notApplied).contains(2))
        #expect(!Self.failing(notApplied).contains(4) && !Self.failing(notApplied).contains(5), "\(Self.describe(notApplied))")
        #expect(!notApplied.checks[1].failures.contains { $0.contains("malformed") })

        // A header of another format is well formed: check 2 fails twice (read, and no valid header), nothing else.
        var format = lines
        format[0] = Self.line(Self.replacing(Self.text(lines[0]), "record/2", "record/1"))
        let oldFormat = await audit(format)
        #expect(Self.failing(oldFormat) == [2], "\(Self.describe(oldFormat))")
        #expect(oldFormat.checks[1].failures == ["the record format is evote-election-record/1, not evote-election-record/2", "the record has no header line"])
    }

    @Test("lines of the former lenient reader that the strict one refuses")
    func lenientSpellings() throws {
        let lines = try #require(Self.lines)
        let end = Self.text(lines[lines.count - 1])
        // JSONDecoder read all of these as the end line.
        for spelling in [
            "{\"type\":\"end\",\"entries\":21,\"checkpoints\":17}",
            "{ \"checkpoints\":17,\"entries\":21,\"type\":\"end\" }",
            "{\"checkpoints\":17,\"entries\":21,\"type\":\"end\",\"comment\":\"x\"}",
            "{\"checkpoints\":17,\"entries\":21,\"type\":\"\\u0065nd\"}",
            "{\"checkpoints\":1.7e1,\"entries\":21,\"type\":\"end\"}",
        ] {
            #expect(throws: RecordLineError.self, "\(spelling)") { _ = try RecordItem.parse(line: Array(spelling.utf8)) }
        }
        #expect(try RecordItem.parse(line: Array(end.utf8)) == .end(RecordEnd(entries: 21, checkpoints: 17)))
    }
}
