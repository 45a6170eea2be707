import Foundation
import Testing
@testable import VoterKit
import VotingCore

/// The voter tool's sentences in Kyrgyz, Russian and English: one catalog per language,
/// each with exactly the keys of the others and the same `{placeholders}` in every
/// translation, and every key the sources use present.
@Suite("sentence catalogs")
struct CatalogTests {
    static let english = Catalog.table(.en)

    static func withoutPlaceholders(_ template: String) -> String {
        Catalog.fill(template, Dictionary(uniqueKeysWithValues: Catalog.placeholders(template).map { ($0, "") }))
    }

    @Test("the English catalog is compiled in and not empty")
    func englishLoads() {
        #expect(Self.english.count > 100)
        #expect(Self.english["ballot.open"]?.isEmpty == false)
    }

    @Test("every language has every key, no extras, and the same placeholders", arguments: [Lang.ru, Lang.ky])
    func sameKeysAndPlaceholders(_ lang: Lang) {
        let table = Catalog.table(lang)
        let missing = Set(Self.english.keys).subtracting(table.keys).sorted()
        let extra = Set(table.keys).subtracting(Self.english.keys).sorted()
        #expect(missing.isEmpty, "\(lang) lacks \(missing)")
        #expect(extra.isEmpty, "\(lang) has keys English does not: \(extra)")
        for (key, template) in Self.english.sorted(by: { $0.key < $1.key }) {
            guard let translated = table[key] else { continue }
            #expect(Catalog.placeholders(translated) == Catalog.placeholders(template),
                    "\(lang) \(key): \(Catalog.placeholders(translated).sorted()) vs English \(Catalog.placeholders(template).sorted())")
            #expect(!translated.trimmingCharacters(in: .whitespaces).isEmpty, "\(lang) \(key) is empty")
        }
    }

    @Test("translations are translated: Cyrillic, and never a copy of the English sentence", arguments: [Lang.ru, Lang.ky])
    func translated(_ lang: Lang) {
        let table = Catalog.table(lang)
        for (key, template) in Self.english.sorted(by: { $0.key < $1.key }) {
            guard let translated = table[key] else { continue }
            // Words outside placeholders and `commands`: a sentence must have Cyrillic letters.
            let hasWords = Self.withoutPlaceholders(template).contains { $0.isLetter }
            if hasWords {
                #expect(translated.unicodeScalars.contains { (0x0400...0x04FF).contains($0.value) }, "\(lang) \(key) has no Cyrillic: \(translated)")
                #expect(translated != template, "\(lang) \(key) is the English sentence")
            }
        }
    }

    @Test("Kyrgyz and Russian are different languages, not one copied into the other")
    func kyrgyzIsNotRussian() {
        let ru = Catalog.table(.ru), ky = Catalog.table(.ky)
        let same = Self.english.keys.filter { ru[$0] != nil && ru[$0] == ky[$0] && Self.withoutPlaceholders(Self.english[$0] ?? "").count > 30 }
        #expect(same.isEmpty, "identical in ru and ky: \(same.sorted())")
        // Letters only Kyrgyz uses (ң, ө, ү) appear throughout the Kyrgyz catalog.
        let kyrgyzLetters = ky.values.filter { $0.contains { "ңөүҢӨҮ".contains($0) } }.count
        #expect(kyrgyzLetters > ky.count / 2, "\(kyrgyzLetters) of \(ky.count)")
    }

    @Test("every key the voter tool's sources use is in the catalog")
    func sourcesUseOnlyKnownKeys() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var used: Set<String> = []
        for folder in ["Sources/VoterKit", "Sources/VoterCLI"] {
            let directory = root.appendingPathComponent(folder)
            for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".swift") {
                let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
                // L("key" …), t("key" …), L(cond ? "key" : "key" …) and Catalog.text("key" …)
                let pattern = #/(?:\bL|\bt|Catalog\.text)\((?:[^"()]*\?\s*)?"([a-z][a-z0-9-]*\.[a-z0-9.-]+)"(?:\s*:\s*"([a-z][a-z0-9-]*\.[a-z0-9.-]+)")?/#
                for match in text.matches(of: pattern) {
                    used.insert(String(match.output.1))
                    if let second = match.output.2 { used.insert(String(second)) }
                }
            }
        }
        #expect(used.count > 100, "found \(used.count) keys; is the pattern still right?")
        // A key ending in "." is a prefix completed at run time (`"verify.own." + name`).
        let unknown = used.filter { !$0.hasSuffix(".") }.subtracting(Self.english.keys).sorted()
        #expect(unknown.isEmpty, "used but not in en.json: \(unknown)")
    }

    @Test("the audit's check names in English are VotingCore's, number for number")
    func auditCheckNames() {
        for check in AuditCheck.allCases {
            #expect(Self.english["audit.check.\(check.rawValue)"] == check.name, "check \(check.rawValue)")
        }
        #expect(Self.english["audit.check.\(AuditCheck.allCases.count + 1)"] == nil)
    }

    @Test("every audit failure code has its sentence, and the English one is VotingCore's, placeholder for placeholder")
    func auditFailureSentences() {
        for (code, template) in AuditFailure.templates.sorted(by: { $0.key < $1.key }) {
            #expect(Self.english["audit.failure." + code] == template, "audit.failure.\(code)")
        }
        let extra = Self.english.keys.filter { $0.hasPrefix("audit.failure.") && AuditFailure.templates["\($0.dropFirst("audit.failure.".count))"] == nil }
        #expect(extra.isEmpty, "catalog sentences for no audit code: \(extra.sorted())")
        // Rendered in Kyrgyz with its values; an unknown code or a failure read back without values stays English.
        let failure = AuditFailure(code: "ballot-outside-window", values: ["entry": "12", "code": "ABCD-EFGH"])
        #expect(failure.message == "entry 12: ballot ABCD-EFGH logged outside the voting window")
        #expect(Catalog.sentence("audit.failure." + failure.code, failure.values, fallback: failure.message, lang: .ky)
                == "№12 жазуу: ABCD-EFGH бюллетени добуш берүү мөөнөтүнөн тышкары жазылган")
        #expect(Catalog.sentence("audit.failure.ballot-outside-window", [:], fallback: "as sent", lang: .ky) == "as sent")
        #expect(Catalog.sentence("audit.failure.no-such-code", ["entry": "1"], fallback: "as sent", lang: .ru) == "as sent")
    }

    @Test("every receipt-check failure code has its sentence, and the English one is VotingCore's")
    func receiptFailureSentences() {
        for (code, template) in ReceiptVerifier.failureTemplates.sorted(by: { $0.key < $1.key }) {
            #expect(Self.english["verify.failure." + code] == template, "verify.failure.\(code)")
        }
    }

    /// Every refusal code the server can send, read from its sources (each `RuleError(.category, code: "…"`), so a
    /// new code without a sentence in the voter's languages fails here.
    static func serverErrorCodes() throws -> Set<String> {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let sources = root.appendingPathComponent("Sources/BallotServer")
        var codes: Set<String> = []
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?.compactMap { $0 as? URL } ?? []
        for file in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: #/RuleError\(\s*\.\w+\s*,\s*code:\s*"([a-z0-9-]+)"/#) { codes.insert(String(match.output.1)) }
        }
        return codes
    }

    @Test("every error code the server sends (Sources/BallotServer's RuleErrors) has a sentence in every language")
    func serverCodesHaveSentences() throws {
        let codes = try Self.serverErrorCodes()
        #expect(codes.count > 40, "found \(codes.count) codes; is the pattern still right?")
        for code in ["invalid-credentials", "already-voted", "headers-too-large", "malformed", "not-found", "request-expired"] {
            #expect(codes.contains(code), "\(code) not found in the sources")
        }
        let missing = codes.filter { Self.english["server." + $0] == nil }.sorted()
        #expect(missing.isEmpty, "server codes without a catalog sentence: \(missing)")
        // The client's rule: the catalog sentence in Russian and Kyrgyz, the server's own (English) sentence for a code it does not know.
        #expect(Catalog.sentence("server.wrong-district", ["code": "?"], fallback: "sent", lang: .ru).contains("другом округе"))
        #expect(Catalog.sentence("server.some-future-code", ["code": "?"], fallback: "sent", lang: .ky) == "sent")
    }

    @Test("placeholders are filled once; a value with braces is not read as a placeholder")
    func filling() {
        #expect(Catalog.fill("{a} and {b}", ["a": "{b}", "b": "x"]) == "{b} and x")
        #expect(Catalog.fill("write {\"d\": 1} to {path}", ["path": "f.json"]) == "write {\"d\": 1} to f.json")
        #expect(Catalog.fill("left {unknown}", [:]) == "left {unknown}")
        #expect(Catalog.text("error.district-not-in-election", ["district": "d09"], lang: .ru) == "округа d09 нет на этих выборах")
        #expect(Catalog.text("no.such.key", [:], lang: .ky) == "no.such.key")
    }

    @Test("the language comes from LC_ALL, then LC_MESSAGES, then LANG; English otherwise")
    func environment() {
        #expect(Lang.fromEnvironment([:]) == .en)
        #expect(Lang.fromEnvironment(["LANG": "C"]) == .en)
        #expect(Lang.fromEnvironment(["LANG": "POSIX"]) == .en)
        #expect(Lang.fromEnvironment(["LANG": "C.UTF-8"]) == .en)
        #expect(Lang.fromEnvironment(["LANG": "en_US.UTF-8"]) == .en)
        #expect(Lang.fromEnvironment(["LANG": "ky_KG.UTF-8"]) == .ky)
        #expect(Lang.fromEnvironment(["LANG": "ru_RU.UTF-8"]) == .ru)
        #expect(Lang.fromEnvironment(["LANG": "ru_KG"]) == .ru)
        #expect(Lang.fromEnvironment(["LANG": "de_DE.UTF-8"]) == .en)
        #expect(Lang.fromEnvironment(["LANG": "ru_RU.UTF-8", "LC_ALL": "ky_KG.UTF-8"]) == .ky)
        #expect(Lang.fromEnvironment(["LANG": "ky_KG.UTF-8", "LC_MESSAGES": "ru_RU.UTF-8"]) == .ru)
        #expect(Lang.fromEnvironment(["LANG": "ru_RU.UTF-8", "LC_ALL": ""]) == .ru, "an empty LC_ALL is unset")
        #expect(Lang.fromEnvironment(["LANG": "ky_KG.UTF-8", "LC_ALL": "C"]) == .en)
    }

    @Test("--lang overrides the environment; a bad value is left to the parser")
    func arguments() {
        #expect(Lang.fromArguments(["ballot", "--lang", "ky"]) == .ky)
        #expect(Lang.fromArguments(["ballot", "--lang=ru", "--json"]) == .ru)
        #expect(Lang.fromArguments(["ballot", "--lang", "xx"]) == nil)
        #expect(Lang.fromArguments(["ballot"]) == nil)
        #expect(Lang.choose(arguments: ["--lang", "en"], environment: ["LANG": "ru_RU.UTF-8"]) == .en)
        #expect(Lang.choose(arguments: [], environment: ["LANG": "ru_RU.UTF-8"]) == .ru)
    }
}
