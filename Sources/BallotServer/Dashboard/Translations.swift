import Foundation
import VoterKit

/// A language of the observer's and voter's faces: the dashboard and the HTML results protocol
/// speak the voter tool's languages, chosen the same way (VoterKit's `Lang`: `--lang`, else
/// LC_ALL, LC_MESSAGES or LANG, else English). Error codes stay English in every language.
typealias PageLanguage = Lang

/// The sentences of the dashboard and the results protocol, one JSON file per language
/// (`Resources/web/{en,ru,ky}.json`: a flat object of key → sentence, `{name}` marks a value).
/// The files are compiled into the binary (`.embedInCode`), so no bundle is looked up at run
/// time and a copied binary still has them.
struct Translations: Sendable {
    let language: PageLanguage
    let sentences: [String: String]

    /// The raw bytes of a language's file, as compiled in.
    static func file(_ language: PageLanguage) -> [UInt8] {
        switch language {
        case .en: PackageResources.en_json
        case .ru: PackageResources.ru_json
        case .ky: PackageResources.ky_json
        }
    }

    /// A language's sentences; empty when its file does not decode (the key-set test keeps
    /// every file whole, and a missing sentence falls back to English, then to its key).
    static func sentences(_ language: PageLanguage) -> [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(file(language)))) ?? [:]
    }

    static let english = sentences(.en)

    init(_ language: PageLanguage) {
        self.language = language
        self.sentences = language == .en ? Self.english : Self.sentences(language)
    }

    /// The sentence `key` with each `{name}` replaced by `values[name]` in one pass (a value
    /// that itself contains `{…}` is left as it is); an unknown `{name}` stays.
    func callAsFunction(_ key: String, _ values: [String: String] = [:]) -> String {
        let sentence = sentences[key] ?? Self.english[key] ?? key
        var out = ""
        var rest = sentence[...]
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}"), let value = values[String(rest[rest.index(after: open)..<close])] else {
                out.append("{")
                rest = rest[rest.index(after: open)...]
                continue
            }
            out += value
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    /// "A", "A and B", "A, B and C" in this language.
    func list(_ items: [String]) -> String {
        guard let last = items.last else { return "" }
        guard items.count > 1 else { return last }
        return items.dropLast().joined(separator: ", ") + " \(self("list.and")) " + last
    }

    /// All languages' sentences as one JSON object `{"en": {...}, "ru": {...}, "ky": {...}}`,
    /// safe to place inside a `<script>` element (no `</` or `<!--` can end or change it).
    static func scriptJSON() -> String {
        var parts: [String] = []
        for language in PageLanguage.allCases {
            let object = String(decoding: file(language), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            // A file that does not decode is left out; the page then falls back to English.
            guard (try? JSONDecoder().decode([String: String].self, from: Data(object.utf8))) != nil else { continue }
            parts.append("\"\(language.rawValue)\": \(object)")
        }
        return ("{" + parts.joined(separator: ",\n") + "}")
            .replacingOccurrences(of: "<", with: "\\u003c")
    }
}
