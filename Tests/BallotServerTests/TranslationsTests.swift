import Foundation
import Testing
import VoterKit
@testable import BallotServer

/// The dashboard's and the results protocol's sentences: one file per language, compiled into
/// the binary, every key in every language and no other.
@Suite("Translations")
struct TranslationsTests {
    static func decoded(_ language: PageLanguage) throws -> [String: String] {
        try JSONDecoder().decode([String: String].self, from: Data(Translations.file(language)))
    }

    /// The `{name}` markers of a sentence.
    static func placeholders(_ sentence: String) -> Set<String> {
        let regex = /\{([a-zA-Z]+)\}/
        return Set(sentence.matches(of: regex).map { String($0.output.1) })
    }

    @Test("every key is in every language file, and no file has a key the others lack", arguments: PageLanguage.allCases)
    func sameKeys(_ language: PageLanguage) throws {
        let english = try Self.decoded(.en)
        let other = try Self.decoded(language)
        #expect(english.count > 50)
        let missing = Set(english.keys).subtracting(other.keys).sorted()
        let extra = Set(other.keys).subtracting(english.keys).sorted()
        #expect(missing.isEmpty, "\(language.rawValue).json lacks \(missing)")
        #expect(extra.isEmpty, "\(language.rawValue).json has keys en.json lacks: \(extra)")
        for (key, sentence) in other {
            #expect(!sentence.trimmingCharacters(in: .whitespaces).isEmpty, "\(language.rawValue): \(key) is empty")
            #expect(Self.placeholders(sentence) == Self.placeholders(english[key] ?? ""),
                    "\(language.rawValue): \(key) must use the same {names} as en.json")
        }
    }

    @Test("Kyrgyz and Russian sentences are translated, not copied from English", arguments: [PageLanguage.ru, .ky])
    func translated(_ language: PageLanguage) throws {
        let english = try Self.decoded(.en)
        let other = try Self.decoded(language)
        let copied = other.filter { english[$0.key] == $0.value }.map(\.key).sorted()
        #expect(copied.isEmpty, "\(language.rawValue): \(copied) read as in English")
        // Cyrillic in every sentence that has words (not just markers and symbols).
        for (key, sentence) in other {
            let words = sentence.replacing(/\{[a-zA-Z]+\}/, with: "")
            guard words.contains(where: \.isLetter) else { continue }
            #expect(words.unicodeScalars.contains { (0x0400...0x04FF).contains($0.value) }, "\(language.rawValue): \(key) has no Cyrillic")
        }
    }

    @Test("a sentence fills in its values once, keeps unknown markers, and falls back to English then to the key")
    func filling() {
        let en = Translations(.en)
        #expect(en("protocol.trustee", ["name": "Ann {index}", "index": "2"]) == "Ann {index} (no. 2)")
        #expect(en("protocol.trustee") == "{name} (no. {index})")
        #expect(en("no.such.key") == "no.such.key")
        #expect(Translations(.ru)("protocol.trustee", ["name": "Анна", "index": "2"]) == "Анна (№ 2)")
        #expect(en.list(["A", "B", "C"]) == "A, B and C")
        #expect(Translations(.ky).list(["A", "B"]) == "A жана B")
        #expect(Translations(.ru).list(["A"]) == "A")
        #expect(en.list([]) == "")
    }

    @Test("the page's script gets every language as one JSON object that cannot end the script element")
    func scriptJSON() throws {
        let json = Translations.scriptJSON()
        #expect(!json.contains("<"))
        let all = try JSONDecoder().decode([String: [String: String]].self, from: Data(json.utf8))
        #expect(Set(all.keys) == ["en", "ru", "ky"])
        #expect(all["ky"]?["language.name"] == "Кыргызча")
        #expect(DashboardPage.html.contains("\"ru\": {"))
        #expect(!DashboardPage.html.contains("__TRANSLATIONS__"))
        // The page itself is compiled in from Resources/web/dashboard.html.
        #expect(DashboardPage.html.hasPrefix("<!doctype html>") && DashboardPage.html.hasSuffix("</html>\n"))
    }

    @Test("the default language comes from LC_ALL, LC_MESSAGES or LANG, else English")
    func environment() {
        #expect(PageLanguage.fromEnvironment([:]) == .en)
        #expect(PageLanguage.fromEnvironment(["LANG": "ky_KG.UTF-8"]) == .ky)
        #expect(PageLanguage.fromEnvironment(["LANG": "ru_RU.UTF-8"]) == .ru)
        #expect(PageLanguage.fromEnvironment(["LANG": "ru"]) == .ru)
        #expect(PageLanguage.fromEnvironment(["LANG": "de_DE.UTF-8"]) == .en)
        #expect(PageLanguage.fromEnvironment(["LANG": "C.UTF-8"]) == .en)
        #expect(PageLanguage.fromEnvironment(["LANG": "ru_RU.UTF-8", "LC_ALL": "ky_KG.UTF-8"]) == .ky)
        #expect(PageLanguage.fromEnvironment(["LANG": "ru_RU.UTF-8", "LC_ALL": ""]) == .ru)
        #expect(PageLanguage.fromEnvironment(["LANG": "en_US.UTF-8", "LC_MESSAGES": "ru_RU.UTF-8"]) == .ru)
    }
}
