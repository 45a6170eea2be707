import Foundation
public import ArgumentParser
import Synchronization
public import VotingCore

/// A language of the voter tool's sentences (`voter --lang`): Kyrgyz, Russian or English.
/// Error codes, JSON keys and verdicts stay English; only sentences change.
public enum Lang: String, CaseIterable, Sendable, ExpressibleByArgument {
    case en, ru, ky

    /// The language of this process's sentences: English until the tool selects another
    /// (ballot-server never does, so its VoterKit sentences stay English).
    public static var current: Lang { selected.withLock { $0 } }

    public static func select(_ lang: Lang) { selected.withLock { $0 = lang } }

    private static let selected = Mutex(Lang.en)

    /// The language the environment asks for, as POSIX reads it: LC_ALL, then LC_MESSAGES,
    /// then LANG, the first one set and not empty. `ky…` is Kyrgyz, `ru…` Russian; anything
    /// else (unset, C, POSIX, en_US…) is English.
    public static func fromEnvironment(_ environment: [String: String]) -> Lang {
        let value = ["LC_ALL", "LC_MESSAGES", "LANG"].lazy.compactMap { environment[$0] }.first { !$0.isEmpty } ?? ""
        let language = value.prefix { $0.isLetter }.lowercased()
        return Lang(rawValue: language) ?? .en
    }

    /// The value of `--lang X` or `--lang=X` in `arguments` (the last one wins, as the parser
    /// does), nil when absent or not one of ky, ru, en (the parser then reports it).
    public static func fromArguments(_ arguments: [String]) -> Lang? {
        var found: Lang?
        for (i, argument) in arguments.enumerated() {
            if argument == "--" { break }
            if argument == "--lang", i + 1 < arguments.count {
                found = Lang(rawValue: arguments[i + 1]) ?? found
            } else if argument.hasPrefix("--lang=") {
                found = Lang(rawValue: String(argument.dropFirst("--lang=".count))) ?? found
            }
        }
        return found
    }

    /// `--lang` if given, else the environment's language.
    public static func choose(arguments: [String], environment: [String: String]) -> Lang {
        fromArguments(arguments) ?? fromEnvironment(environment)
    }
}

/// The voter tool's sentences, one JSON catalog per language (Resources/{en,ru,ky}.json),
/// compiled into the binary (`.embedInCode`), so a copied binary needs no resource bundle.
/// A template names its values as `{name}`; every language has every key with the same
/// placeholders (CatalogTests checks it).
public enum Catalog {
    static let tables: [Lang: [String: String]] = [
        .en: decode(PackageResources.en_json),
        .ru: decode(PackageResources.ru_json),
        .ky: decode(PackageResources.ky_json),
    ]

    /// A broken catalog leaves an empty table (English or the key is shown instead); the
    /// catalog test fails on it long before a release.
    private static func decode(_ bytes: [UInt8]) -> [String: String] {
        (try? JSONDecoder().decode([String: String].self, from: Data(bytes))) ?? [:]
    }

    /// Every key of a language's catalog, with its template.
    public static func table(_ lang: Lang) -> [String: String] { tables[lang] ?? [:] }

    /// The sentence `key` in `lang` with `{name}` replaced by `values[name]`: the English
    /// template where `lang` lacks the key, the key itself where English lacks it too.
    public static func text(_ key: String, _ values: [String: String] = [:], lang: Lang = .current) -> String {
        let template = tables[lang]?[key] ?? tables[.en]?[key] ?? key
        return fill(template, values)
    }

    /// Fills `{name}` placeholders (VotingCore's SentenceTemplate: one rule for every sentence).
    static func fill(_ template: String, _ values: [String: String]) -> String { SentenceTemplate.fill(template, values) }

    /// The `{name}` placeholders of a template.
    public static func placeholders(_ template: String) -> Set<String> { SentenceTemplate.placeholders(template) }
}

/// The word for `name` in the current language when the catalog has `prefix + name`
/// (a file kind, a receipt kind, an audit check), `name` itself otherwise.
public func word(_ prefix: String, _ name: String) -> String {
    Catalog.table(.en)[prefix + name] != nil ? L(prefix + name) : name
}

/// The sentence `key` in the current language (`Catalog.text`).
public func L(_ key: String, _ values: [String: String] = [:]) -> String { Catalog.text(key, values) }

extension Catalog {
    /// The catalog's sentence `key` filled with `values` when the catalog has it and every
    /// placeholder has a value; `fallback` (the sender's English sentence) otherwise.
    public static func sentence(_ key: String, _ values: [String: String], fallback: String, lang: Lang = .current) -> String {
        guard let template = tables[lang]?[key] ?? tables[.en]?[key],
              Catalog.placeholders(template).isSubset(of: values.keys) else { return fallback }
        return fill(template, values)
    }
}

extension AuditFailure {
    /// The failure in the current language (`audit.failure.<code>`), VotingCore's English
    /// sentence for a code this catalog does not know or a failure read back without values.
    public var localized: String { Catalog.sentence("audit.failure." + code, values, fallback: message) }
}

extension CheckResult {
    /// The detail in the current language: a failed check with a code from the catalog
    /// (`verify.failure.<code>`), anything else as written.
    public var localizedDetail: String {
        guard !passed, let code else { return detail }
        return Catalog.sentence("verify.failure." + code, values, fallback: detail)
    }
}
