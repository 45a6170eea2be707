import Foundation
import Testing
@testable import VotingCore

/// Throughput of the record reader on ballot-shaped lines. Prints MB/s and asserts nothing
/// about time (a shared 2-core machine); its tests run one at a time so they do not share
/// the cores. Run it in release:
/// `EVOTE_BENCH=1 swift test -c release --filter RecordLineBench`.
@Suite("RecordLineBench", .serialized, .enabled(if: ProcessInfo.processInfo.environment["EVOTE_BENCH"] == "1",
                                   "set EVOTE_BENCH=1 to run the record line benchmark"))
struct RecordLineBench {
    static let lineCount = 20_000
    static let ballotBytes = 5_500

    /// 20,000 lines like `{"data":"<11,000 hex digits>","index":N,"kind":"ballot","type":"entry"}`.
    static func makeLines() throws -> [[UInt8]] {
        var rng = SplitMix64(state: 1)
        let ballot = (0..<ballotBytes).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return try (0..<lineCount).map { index in
            var line = try RecordLine.serialize([
                ("data", .string(FastHex.encode(ballot))), ("index", .integer(UInt64(index))),
                ("kind", .string("ballot")), ("type", .string("entry")),
            ])
            line.removeLast()
            return line
        }
    }

    private static func report(_ name: String, bytes: Int, _ duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        let megabytes = Double(bytes) / 1e6
        print("RecordLineBench \(name): \(String(format: "%.0f", megabytes)) MB in \(String(format: "%.3f", seconds)) s = \(String(format: "%.0f", megabytes / seconds)) MB/s")
    }

    @Test func parseAndDecodeBallotLines() throws {
        let lines = try Self.makeLines()
        let total = lines.reduce(0) { $0 + $1.count + 1 }
        let clock = ContinuousClock()

        var decodedBytes = 0
        let parseAndHex = try clock.measure {
            for line in lines {
                let parsed = try RecordLine.parse(line)
                try parsed.readObject(expecting: ["data", "index", "kind", "type"])
                decodedBytes += try parsed.hexBytes("data").count
                _ = try parsed.integer("index")
            }
        }
        #expect(decodedBytes == Self.lineCount * Self.ballotBytes)
        Self.report("parse + readObject + hex decode", bytes: total, parseAndHex)

        var parsedCount = 0
        let parseOnly = try clock.measure {
            for line in lines { parsedCount += try RecordLine.parse(line).members.count }
        }
        #expect(parsedCount == 4 * Self.lineCount)
        Self.report("parse only", bytes: total, parseOnly)

        let hexTexts = try lines.prefix(2_000).map { try RecordLine.parse($0).string("data") }
        let hexTotal = hexTexts.reduce(0) { $0 + $1.utf8.count }
        var fastCount = 0
        let fastHex = clock.measure {
            for _ in 0..<5 { for text in hexTexts { fastCount += FastHex.decode(text)?.count ?? 0 } }
        }
        Self.report("FastHex.decode", bytes: 5 * hexTotal, fastHex)
        var slowCount = 0
        let slowHex = clock.measure {
            for text in hexTexts { slowCount += referenceHexDecode(text)?.count ?? 0 }
        }
        Self.report("one digit at a time (Hex.decode before FastHex)", bytes: hexTotal, slowHex)
        #expect(fastCount == 5 * slowCount)

        var oldCount = 0
        let foundation = try clock.measure {
            for line in lines.prefix(2_000) {
                if case .entry(let body) = try RecordItem.parse(line: Data(line)) { oldCount += body.data.bytes.count }
            }
        }
        Self.report("JSONDecoder RecordItem.parse (today's, 2,000 lines)", bytes: hexTotal + 2_000 * 50, foundation)
        #expect(oldCount == 2_000 * Self.ballotBytes)
    }

    @Test func splitAndParseFromAFile() throws {
        let lines = try Self.makeLines()
        var record: [UInt8] = []
        record.reserveCapacity(lines.reduce(0) { $0 + $1.count + 1 })
        for line in lines { record += line; record.append(0x0a) }

        let clock = ContinuousClock()
        var splitter = RecordLineSplitter()
        var split = 0
        let splitting = clock.measure {
            var start = 0
            while start < record.count {
                let end = min(record.count, start + (1 << 20))
                record[start..<end].withUnsafeBytes { chunk in splitter.feed(chunk) { _ in split += 1 } }
                start = end
            }
        }
        #expect(split == Self.lineCount)
        Self.report("splitter, 1 MiB chunks", bytes: record.count, splitting)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("recordline-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("record.jsonl").path
        try Data(record).write(to: URL(fileURLWithPath: path))
        record = []

        var ballots = 0
        let fromFile = try clock.measure {
            try RecordFileReader.forEachLine(path: path) { output in
                let line = try output.parsed().get()
                ballots += try line.hexBytes("data").isEmpty ? 0 : 1
            }
        }
        #expect(ballots == Self.lineCount)
        Self.report("file (page cache) -> split -> parse -> hex", bytes: lines.reduce(0) { $0 + $1.count + 1 }, fromFile)
    }
}
