import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import VoterKit
import VotingCore

/// `ballot-server results`: the signed results per district as CSV, JSON or a printable HTML
/// protocol, once a quorum of trustees has decrypted the tally.
struct ResultsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "results",
        abstract: "Export the signed results per district (CSV, JSON or a printable HTML protocol) after the trustees' decryption.")

    @OptionGroup var dataOption: DataOption
    @Option(help: "csv (one row per district and option), json (the signed results with names) or html (a printable protocol, one page per district).")
    var format: ResultsFormat
    @Option(help: "File to create (never overwritten); standard output when absent.")
    var out: String?
    @Option(help: "Language of the HTML protocol: ky, ru or en (default: from LC_ALL, LC_MESSAGES or LANG, else en). Names come from the manifest's names in that language where it gives them. CSV and JSON are not translated.")
    var lang: PageLanguage?
    @OptionGroup var output: OutputOptions

    struct Result: Encodable {
        let format: ResultsFormat
        let file: String
        let districts: Int
    }

    func run() async throws {
        let reporter = Reporter(json: output.json)
        try await reporter.run {
            let store = try await dataOption.open()
            let document = try await ResultsDocument.load(store)
            let bytes = try document.render(format, language: lang ?? PageLanguage.fromEnvironment(ProcessInfo.processInfo.environment))
            guard let out else {
                FileHandle.standardOutput.write(Data(bytes))
                return
            }
            try ResultsDocument.write(bytes, to: out)
            let count = document.signed.results.districts.count
            reporter.emit(Result(format: format, file: out, districts: count)) {
                "Wrote \(out): the signed results of \(count) districts (\(format.rawValue)). Anyone can check them with: voter audit --server URL"
            }
        }
    }
}

enum ResultsFormat: String, CaseIterable, ExpressibleByArgument, Codable, Sendable {
    case csv, json, html
}

/// The signed results with what it takes to present them: the manifest (names, seats), the
/// server key, the latest checkpoint and the trustees' names. Every formatting function is
/// pure, so the tests check them on their own.
struct ResultsDocument: Sendable {
    let manifest: ElectionManifest
    let electionHash: Digest
    let serverKey: Ed25519PublicKey
    let signed: SignedResults
    /// The latest signed checkpoint when the document was made (it covers the results entry).
    let checkpoint: SignedCheckpoint
    let trustees: [TrusteeRegistration]

    // MARK: loading and writing

    /// Reads the results from the store; `no-results` (with what to do) until a quorum of
    /// trustees has decrypted.
    static func load(_ store: ElectionStore) async throws -> ResultsDocument {
        let manifest = store.manifest
        let rules = store.rules
        let (signed, checkpoint, trustees, state, decrypted) = try await store.storage.read { r in
            guard let checkpoint = try r.latestCheckpoint() else { throw RuleError.internalError }
            return (try rules.results(r), checkpoint, try rules.trustees(r), try r.state(), try rules.decryptions(r).count)
        }
        guard let signed else {
            let quorum = manifest.trustees.quorum
            let message: String
            let decrypt = "have \(quorum) of the \(manifest.trustees.count) trustees run `ballot-server trustee decrypt`, then export again"
            switch state {
            case .setup:
                message = "voting has not opened yet, so there are no results; open it with `ballot-server open` after the key ceremony, close it with `ballot-server close` when voting ends, \(decrypt)"
            case .open:
                message = "voting is still open, so there are no results yet; close it with `ballot-server close`, \(decrypt)"
            case .closed:
                message = "the results are not decrypted yet (\(decrypted) of the \(quorum) trustees needed have decrypted); have \(quorum - min(decrypted, quorum)) more trustee(s) run `ballot-server trustee decrypt`, then export again"
            }
            throw CommandError("no-results", message)
        }
        guard signed.isValid(serverKey: store.setup.serverKey) else {
            throw CommandError("corrupt-database", "the stored results are not signed by this election's server key; restore the database from backup")
        }
        guard signed.results.districts.allSatisfy({ d in manifest.district(d.district).map { $0.options.count == d.counts.count } ?? false }) else {
            throw CommandError("corrupt-database", "the stored results do not match the manifest's districts and options; restore the database from backup")
        }
        return ResultsDocument(manifest: manifest, electionHash: store.electionHash, serverKey: store.setup.serverKey,
                               signed: signed, checkpoint: checkpoint, trustees: trustees)
    }

    func render(_ format: ResultsFormat, language: PageLanguage = .en) throws -> [UInt8] {
        switch format {
        case .csv: return Array(csv().utf8)
        case .json: return try json()
        case .html: return Array(html(Translations(language)).utf8)
        }
    }

    /// Creates `path` exclusively (0644: the results are public) and writes `bytes`; an
    /// existing file is never overwritten (`file-exists`), a failed write removes the file.
    static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw CommandError("file-exists", "cannot create \(path) (\(reason)); results files are never overwritten, so choose a new file")
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        do {
            try handle.write(contentsOf: Data(bytes))
            try handle.synchronize()
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw error
        }
    }

    /// Each district of the results with its manifest entry (results order = manifest order).
    var districts: [(result: ElectionResults.District, district: District)] {
        signed.results.districts.compactMap { r in manifest.district(r.district).map { (r, $0) } }
    }

    // MARK: CSV

    static let csvHeader = "district,district_name,option,option_name,votes,elected,tied,ballots,roll,turnout,share"

    /// One row per district and option (manifest order), RFC 4180: CRLF line ends, a field
    /// with a comma, quote or line break in double quotes with quotes doubled.
    func csv() -> String {
        var lines = [Self.csvHeader]
        for (r, d) in districts {
            let turnout = Self.fraction(r.ballots, of: r.roll, digits: 4)
            // Each option's share of the district's votes in percent (largest remainder, the
            // district's shares add up to 100); empty when no ballot was cast.
            let shares = r.shares(digits: 2)
            for (i, (option, votes)) in zip(d.options, r.counts).enumerated() {
                lines.append([d.id, d.name, option.id, option.name, String(votes), String(r.elected.contains(option.id)),
                              String(r.tied.contains(option.id)), String(r.ballots), String(r.roll), turnout, shares?[i] ?? ""]
                    .map(Self.csvField).joined(separator: ","))
            }
        }
        return lines.map { $0 + "\r\n" }.joined()
    }

    static func csvField(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `part / whole` as a decimal with `digits` digits, rounded half up; 0 when `whole` is 0.
    static func fraction(_ part: UInt32, of whole: UInt32, digits: Int, scale: UInt64 = 1) -> String {
        var unit: UInt64 = 1
        for _ in 0..<digits { unit *= 10 }
        let scaled = whole == 0 ? 0 : (UInt64(part) * scale * unit * 2 + UInt64(whole)) / (UInt64(whole) * 2)
        let fractional = String(scaled % unit)
        return "\(scaled / unit)." + String(repeating: "0", count: digits - fractional.count) + fractional
    }

    // MARK: JSON

    struct JSONBody: Codable, Sendable {
        struct DistrictNames: Codable, Sendable, Hashable {
            let district: String
            let name: String
            let seats: Int
            let options: [BallotOption]
            /// Computed from the signed counts: ballots over the roll, and each option's share
            /// of the votes (percent, 2 decimals, summing to 100; absent without ballots).
            let turnoutPercent: String?
            let sharesPercent: [String]?
            enum CodingKeys: String, CodingKey {
                case district, name, seats, options, turnoutPercent = "turnout_percent", sharesPercent = "shares_percent"
            }
        }

        let electionId: String
        let electionName: String
        let electionHash: Digest
        let serverKey: Ed25519PublicKey
        /// Exactly the signed `ElectionResults`; `signature` is over their canonical bytes.
        let results: ElectionResults
        let signature: Ed25519Signature
        let checkpoint: SignedCheckpoint
        /// Names and seats per district, in results order.
        let districts: [DistrictNames]

        enum CodingKeys: String, CodingKey {
            case electionId = "election_id", electionName = "election_name", electionHash = "election_hash"
            case serverKey = "server_key", results, signature, checkpoint, districts
        }
    }

    var jsonBody: JSONBody {
        JSONBody(electionId: manifest.electionId, electionName: manifest.name, electionHash: electionHash, serverKey: serverKey,
                 results: signed.results, signature: signed.signature, checkpoint: checkpoint,
                 districts: districts.map { JSONBody.DistrictNames(district: $0.district.id, name: $0.district.name,
                                                                   seats: $0.district.seats, options: $0.district.options,
                                                                   turnoutPercent: $0.result.turnout(digits: 2),
                                                                   sharesPercent: $0.result.shares(digits: 2)) })
    }

    func json() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(jsonBody)) + Array("\n".utf8)
    }

    // MARK: HTML

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// Milliseconds since the epoch as UTC ISO 8601, e.g. 2026-01-01T00:00:00.000Z.
    static func iso8601(_ milliseconds: Timestamp) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }

    static let css = """
        @page { size: A4; margin: 18mm 16mm; }
        body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 10.5pt; color: #000; margin: 0; }
        section.page { page-break-after: always; break-after: page; padding: 0 0 8mm 0; }
        section.page:last-of-type { page-break-after: auto; break-after: auto; }
        header { border-bottom: 2px solid #000; margin-bottom: 5mm; padding-bottom: 2mm; }
        h1 { font-size: 15pt; margin: 0 0 1mm 0; }
        h2 { font-size: 13pt; margin: 3mm 0 0 0; }
        h3 { font-size: 11pt; margin: 5mm 0 1.5mm 0; }
        p { margin: 1.5mm 0; }
        .muted { color: #444; }
        table { border-collapse: collapse; width: 100%; margin-top: 2mm; }
        th, td { border: 1px solid #000; padding: 1.2mm 2mm; text-align: left; vertical-align: top; }
        th { background: #e6e6e6; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        tr.elected td { font-weight: bold; background: #f0f0f0; }
        .mark { white-space: nowrap; }
        .tie { border: 1px solid #000; padding: 2mm; margin-top: 3mm; }
        dl { display: grid; grid-template-columns: max-content 1fr; gap: 1mm 4mm; margin: 0; }
        dt { font-weight: bold; }
        dd { margin: 0; }
        .hex { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 8.5pt; word-break: break-all; }
        footer { margin-top: 5mm; border-top: 1px solid #000; padding-top: 2mm; font-size: 9pt; }
        """

    /// A printable results protocol in the language of `t`: one page per district (inline CSS,
    /// no scripts, no external resources; every name and sentence escaped). Names come from the
    /// manifest's `names` in that language where it gives them, as written otherwise.
    func html(_ t: Translations = Translations(.en)) -> String {
        let e = Self.escape
        let language = t.language.rawValue
        let results = signed.results
        let byIndex = Dictionary(trustees.map { ($0.index, $0.name) }, uniquingKeysWith: { a, _ in a })
        let quorumText = t.list(results.quorum.map { i in
            byIndex[i].map { e(t("protocol.trustee", ["name": $0, "index": String(i)])) } ?? e(t("protocol.unnamedTrustee", ["index": String(i)]))
        })
        let cp = checkpoint.checkpoint
        let electionName = manifest.displayName(language)
        var out = """
            <!DOCTYPE html>
            <html lang="\(language)">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(e(t("protocol.title", ["election": electionName])))</title>
            <style>
            \(Self.css)
            </style>
            </head>
            <body>

            """
        let all = districts
        for (number, (r, d)) in all.enumerated() {
            var rows = ""
            let shares = r.shares(digits: 2)
            let named = { (id: String) in d.option(id).map { "\(e($0.displayName(language))) (\(e(id)))" } }
            for (i, (option, votes)) in zip(d.options, r.counts).enumerated() {
                let elected = r.elected.contains(option.id)
                let tied = r.tied.contains(option.id)
                let mark = elected ? "&#10004; \(e(t("protocol.markElected")))" : tied ? e(t("protocol.markTied")) : ""
                rows += """
                    <tr\(elected ? " class=\"elected\"" : "")><td>\(e(option.displayName(language)))</td><td class="hex">\(e(option.id))</td>\
                    <td class="num">\(votes)</td><td class="num">\(shares.map { "\($0[i]) %" } ?? "–")</td><td class="mark">\(mark)</td></tr>

                    """
            }
            let remaining = d.seats - r.elected.count
            let outcome: String
            if r.ballots == 0 {
                outcome = e(t("protocol.noBallots"))
            } else if r.tied.isEmpty {
                outcome = e(t("protocol.noTie", ["elected": String(r.elected.count), "seats": String(d.seats), "names": "\u{0}"]))
                    .replacingOccurrences(of: "\u{0}", with: t.list(r.elected.compactMap(named)))
            } else {
                let votes = r.tied.first.flatMap { id in d.options.firstIndex { $0.id == id } }.map { r.counts[$0] } ?? 0
                let electedText = r.elected.isEmpty ? e(t("protocol.noneCertain")) :
                    e(t("protocol.certainlyElected", ["names": "\u{0}"])).replacingOccurrences(of: "\u{0}", with: t.list(r.elected.compactMap(named)))
                let tie = e(t("protocol.tie", ["names": "\u{0}", "votes": String(votes), "remaining": String(remaining)]))
                    .replacingOccurrences(of: "\u{0}", with: t.list(r.tied.compactMap(named)))
                outcome = electedText + " <strong>\(e(t("protocol.tieLabel")))</strong> " + tie + " " + e(t("protocol.tieRule"))
            }
            let turnout = r.roll == 0
                ? t("protocol.emptyRoll", ["ballots": String(r.ballots)])
                : t("protocol.turnout", ["ballots": String(r.ballots), "roll": String(r.roll),
                                         "turnout": Self.fraction(r.ballots, of: r.roll, digits: 2, scale: 100)])
            let footer = e(t("protocol.footer", ["live": "\u{1}", "offline": "\u{2}", "export": "\u{3}"]))
                .replacingOccurrences(of: "\u{1}", with: "<code>voter audit --server URL</code>")
                .replacingOccurrences(of: "\u{2}", with: "<code>voter audit --record FILE</code>")
                .replacingOccurrences(of: "\u{3}", with: "<code>ballot-server export</code>")
            let quorum = t("protocol.quorum", ["trustees": "\u{0}", "quorum": String(results.quorum.count),
                                               "count": String(manifest.trustees.count), "needed": String(manifest.trustees.quorum)])
            out += """
                <section class="page" id="district-\(e(d.id))">
                <header>
                <p class="muted">\(e(t("protocol.page", ["page": String(number + 1), "pages": String(all.count)])))</p>
                <h1>\(e(electionName))</h1>
                <p>\(e(t("protocol.election"))) <span class="hex">\(e(manifest.electionId))</span></p>
                <h2>\(e(t("protocol.district", ["name": d.displayName(language)]))) <span class="muted">(\(e(d.id)))</span></h2>
                <p>\(e(t("protocol.seats", ["seats": String(d.seats), "limit": String(d.selectionLimit)])))</p>
                </header>
                <h3>\(e(t("protocol.votes")))</h3>
                <table>
                <thead><tr><th>\(e(t("protocol.option")))</th><th>\(e(t("protocol.id")))</th><th class="num">\(e(t("protocol.votes")))</th>\
                <th class="num">\(e(t("protocol.share")))</th><th>\(e(t("protocol.result")))</th></tr></thead>
                <tbody>
                \(rows)</tbody>
                </table>
                <p class="\(r.tied.isEmpty ? "outcome" : "tie")">\(outcome)</p>
                <h3>\(e(t("protocol.turnoutHeading")))</h3>
                <p>\(e(turnout))</p>
                <h3>\(e(t("protocol.signatureHeading")))</h3>
                <dl>
                <dt>\(e(t("protocol.decryptedBy")))</dt><dd>\(e(quorum).replacingOccurrences(of: "\u{0}", with: quorumText))</dd>
                <dt>\(e(t("protocol.checkpoint")))</dt><dd>\(e(t("protocol.checkpointValue", ["size": String(cp.treeSize), "time": Self.iso8601(cp.timestamp)])))</dd>
                <dt>\(e(t("protocol.rootHash")))</dt><dd class="hex">\(cp.rootHash.hex)</dd>
                <dt>\(e(t("protocol.electionHash")))</dt><dd class="hex">\(electionHash.hex)</dd>
                <dt>\(e(t("protocol.serverKey")))</dt><dd class="hex">\(serverKey.hex) (Ed25519)</dd>
                <dt>\(e(t("protocol.resultsSignature")))</dt><dd class="hex">\(signed.signature.hex)</dd>
                </dl>
                <footer>
                <p>\(footer)</p>
                </footer>
                </section>

                """
        }
        out += "</body>\n</html>\n"
        return out
    }
}
