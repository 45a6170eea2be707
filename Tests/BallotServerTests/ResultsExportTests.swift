import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

/// `ballot-server results`: the signed results as CSV, JSON and a printable HTML protocol.
@Suite("Results export")
struct ResultsExportTests {
    /// Names with commas, quotes and HTML special characters; d03 has two seats and no voters.
    static let manifest = ElectionManifest(electionId: "results-2026-test", name: "Town <council> & \"friends\"", districts: [
        District(id: "d01", name: "North, \"Upper\" <Ward>", seats: 1, selectionLimit: 1, options: [
            BallotOption(id: "c01", name: "Smith, Anna"), BallotOption(id: "c02", name: "O'Brien \"Bob\" <b>"),
            BallotOption(id: "c03", name: "Jones & Sons"),
        ]),
        District(id: "d02", name: "South", seats: 1, selectionLimit: 1, options: [
            BallotOption(id: "c01", name: "Alpha"), BallotOption(id: "c02", name: "Beta"), BallotOption(id: "c03", name: "Gamma"),
        ]),
        District(id: "d03", name: "East", seats: 2, selectionLimit: 1, options: [
            BallotOption(id: "c01", name: "Red"), BallotOption(id: "c02", name: "Green"), BallotOption(id: "c03", name: "Blue"),
        ]),
    ], trustees: TrusteePolicy(count: 3, quorum: 2))

    /// The CommandError `body` throws (nil when it throws none or another error).
    static func commandError(_ body: () async throws -> Void) async -> CommandError? {
        do { try await body() } catch let error as CommandError { return error } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
        return nil
    }

    /// RFC 4180 records (quoted fields with doubled quotes, CRLF between records).
    static func parseCSV(_ text: String) -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var chars = Array(text.unicodeScalars)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" {
                    if chars.first == "\"" { field.unicodeScalars.append(c); chars.removeFirst() } else { quoted = false }
                } else { field.unicodeScalars.append(c) }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                record.append(field); field = ""
            } else if c == "\r" {
                continue
            } else if c == "\n" {
                record.append(field); records.append(record); record = []; field = ""
            } else {
                field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !record.isEmpty { record.append(field); records.append(record) }
        return records
    }

    @Test func formattingHelpers() {
        #expect(ResultsDocument.csvField("plain name") == "plain name")
        #expect(ResultsDocument.csvField("Smith, Anna") == "\"Smith, Anna\"")
        #expect(ResultsDocument.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(ResultsDocument.csvField("two\nlines") == "\"two\nlines\"")
        #expect(ResultsDocument.escape("<a href='x'>&\"</a>") == "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;")
        #expect(ResultsDocument.fraction(2, of: 3, digits: 4) == "0.6667")
        #expect(ResultsDocument.fraction(1, of: 3, digits: 4) == "0.3333")
        #expect(ResultsDocument.fraction(3, of: 3, digits: 4) == "1.0000")
        #expect(ResultsDocument.fraction(0, of: 0, digits: 4) == "0.0000")
        #expect(ResultsDocument.fraction(1, of: 8, digits: 2, scale: 100) == "12.50")
        #expect(ResultsDocument.fraction(2, of: 3, digits: 2, scale: 100) == "66.67")
        #expect(ResultsDocument.iso8601(1_767_225_600_000) == "2026-01-01T00:00:00.000Z")
        #expect(ResultsDocument.iso8601(1_767_225_661_234) == "2026-01-01T00:01:01.234Z")
        #expect(ResultsDocument.list(["a", "b", "c"]) == "a, b and c")
    }

    /// Before any ceremony there is nothing to export.
    @Test func noResultsBeforeVotingOpens() async throws {
        let e = try await TestElection(voters: 2, districts: 1, stage: .created, manifest: Self.manifest)
        defer { e.remove() }
        let error = await Self.commandError { _ = try await ResultsDocument.load(e.store) }
        #expect(error?.code == "no-results")
        #expect(error?.message.contains("ballot-server open") == true, "\(error?.message ?? "")")
    }

    /// Five voters (three in d01, two in d02, none in d03): d01 c02 c02 and one abstention
    /// (c02 elected), d02 c01 c03 (a tie for the one seat), d03 all zero (a three-way tie
    /// for two seats). Trustees 1 and 3 decrypt.
    @Test func exportsTheSignedResultsInEveryFormat() async throws {
        let e = try await TestElection(voters: 5, districts: 2, manifest: Self.manifest)
        defer { e.remove() }
        let serverKey = e.store.setup.serverKey
        try await e.withRouter { client in
            for (voter, district, option) in [(0, "d01", "c02"), (2, "d01", "c02"), (1, "d02", "c01"), (3, "d02", "c03")] {
                let key = try await e.enrolledKey(client, voter: voter)
                #expect(try await e.cast(client, try e.ballot(key, district: district, selections: [option])).status == .created)
            }
            let open = await Self.commandError { _ = try await ResultsDocument.load(e.store) }
            #expect(open?.code == "no-results")
            #expect(open?.message.contains("still open") == true, "\(open?.message ?? "")")
            try await e.close()
            try await e.decrypt(client, trustees: [1])
            let partly = await Self.commandError { _ = try await ResultsDocument.load(e.store) }
            #expect(partly?.code == "no-results")
            #expect(partly?.message.contains("1 of the 2") == true, "\(partly?.message ?? "")")
            try await e.decrypt(client, trustees: [3])
        }
        let document = try await ResultsDocument.load(e.store)
        let signed = try #require(try await e.store.tallyInfo().results)
        #expect(document.signed == signed)
        #expect(signed.results.districts.map(\.counts) == [[0, 2, 0], [1, 0, 1], [0, 0, 0]])
        #expect(document.checkpoint.checkpoint.treeSize == UInt64(try await e.logKinds().count))

        // CSV: a header and one row per district and option, names quoted.
        let csv = document.csv()
        #expect(csv.hasSuffix("\r\n"))
        let records = Self.parseCSV(csv)
        #expect(records.count == 1 + 9)
        #expect(records.first == ResultsDocument.csvHeader.split(separator: ",").map(String.init))
        #expect(records.allSatisfy { $0.count == 11 })
        #expect(csv.contains("\r\nd01,\"North, \"\"Upper\"\" <Ward>\",c02,\"O'Brien \"\"Bob\"\" <b>\",2,true,false,2,3,0.6667,100.00\r\n"))
        #expect(records[1] == ["d01", "North, \"Upper\" <Ward>", "c01", "Smith, Anna", "0", "false", "false", "2", "3", "0.6667", "0.00"])
        #expect(records[4] == ["d02", "South", "c01", "Alpha", "1", "false", "true", "2", "2", "1.0000", "50.00"])
        // No ballots in d03: nobody elected or tied (v2), and no share.
        #expect(records[9] == ["d03", "East", "c03", "Blue", "0", "false", "false", "0", "0", "0.0000", ""])
        #expect(records.dropFirst().map { $0[0] + "/" + $0[2] } == ["d01/c01", "d01/c02", "d01/c03", "d02/c01", "d02/c02", "d02/c03",
                                                                  "d03/c01", "d03/c02", "d03/c03"])

        // JSON: round trip, and the signature checks against the server key.
        let jsonBytes = try document.json()
        let body = try JSONDecoder().decode(ResultsDocument.JSONBody.self, from: Data(jsonBytes))
        #expect(body.electionId == "results-2026-test")
        #expect(body.electionHash == e.store.electionHash)
        #expect(body.serverKey == serverKey)
        #expect(body.results == signed.results)
        #expect(body.signature == signed.signature)
        #expect(SignedResults(results: body.results, signature: body.signature).isValid(serverKey: serverKey))
        #expect(body.checkpoint == document.checkpoint && body.checkpoint.isValid(serverKey: serverKey))
        #expect(body.districts.map(\.name) == ["North, \"Upper\" <Ward>", "South", "East"])
        #expect(body.districts[0].options.map(\.name) == ["Smith, Anna", "O'Brien \"Bob\" <b>", "Jones & Sons"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(jsonBytes)) as? [String: Any])
        #expect(Set(object.keys).isSuperset(of: ["election_id", "election_hash", "server_key", "results", "signature", "checkpoint"]))
        let results = try #require(object["results"] as? [String: Any])
        #expect(Set(results.keys) == ["quorum", "districts"])
        #expect(results["quorum"] as? [Int] == [1, 3])

        // HTML: one page per district, names escaped, signature and keys shown, no scripts.
        let html = document.html()
        #expect(html.components(separatedBy: "<section class=\"page\"").count == 1 + 3)
        #expect(html.contains("page-break-after: always"))
        for id in ["d01", "d02", "d03"] { #expect(html.contains("id=\"district-\(id)\"")) }
        for escaped in ["Town &lt;council&gt; &amp; &quot;friends&quot;", "North, &quot;Upper&quot; &lt;Ward&gt;",
                        "O&#39;Brien &quot;Bob&quot; &lt;b&gt;", "Jones &amp; Sons", "results-2026-test"] {
            #expect(html.contains(escaped), "\(escaped)")
        }
        for raw in ["<Ward>", "<b>", "<council>", "Jones & Sons", "<script", "<SCRIPT", "<link", "src=", "http://", "https://", "@import"] {
            #expect(!html.contains(raw), "\(raw)")
        }
        #expect(html.contains(signed.signature.hex))
        #expect(html.contains(serverKey.hex))
        #expect(html.contains(e.store.electionHash.hex))
        #expect(html.contains(document.checkpoint.checkpoint.rootHash.hex))
        #expect(html.contains("tree size \(document.checkpoint.checkpoint.treeSize)"))
        #expect(html.contains("2026-01-01T00:00:00.000Z"))
        #expect(html.contains("2 ballots of 3 voters on the roll (66.67 %)"))
        #expect(html.contains("Trustee 1 (no. 1) and Trustee 3 (no. 3)"))
        #expect(html.contains("<strong>Tie:</strong> Alpha (c01) and Gamma (c03) have 1 vote each and are tied for the last remaining seat"))
        #expect(html.contains("No ballots were cast in this district, so nobody is elected."))
        #expect(!html.contains("Red (c01), Green (c02) and Blue (c03) have 0 votes each"))
        #expect(html.contains("<tr class=\"elected\"><td>O&#39;Brien &quot;Bob&quot; &lt;b&gt;</td>"))
        #expect(html.contains("voter audit --server URL"))

        // Files are created once and never overwritten; the command writes what the functions render.
        let csvPath = e.root.appendingPathComponent("results.csv").path
        try ResultsDocument.write(Array(csv.utf8), to: csvPath)
        let refused = await Self.commandError { try ResultsDocument.write(Array("other".utf8), to: csvPath) }
        #expect(refused?.code == "file-exists")
        #expect(FileManager.default.contents(atPath: csvPath) == Data(csv.utf8))
        let htmlPath = e.root.appendingPathComponent("results.html").path
        let command = try ResultsCommand.parse(["--data", e.dir.url.path, "--format", "html", "--out", htmlPath, "--json"])
        try await command.run()
        #expect(FileManager.default.contents(atPath: htmlPath) == Data(html.utf8))
        #expect(throws: (any Error).self) { try ResultsCommand.parse(["--data", e.dir.url.path, "--format", "pdf"]) }
    }
}
