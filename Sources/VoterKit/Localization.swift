import Foundation
public import ArgumentParser
import Synchronization

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

    /// Replaces each `{name}` once, left to right, so a value that contains braces is never
    /// read as a placeholder; an unknown `{name}` is left as written.
    static func fill(_ template: String, _ values: [String: String]) -> String {
        var out = ""
        var rest = template[...]
        while let open = rest.firstIndex(of: "{") {
            out.append(contentsOf: rest[..<open])
            let after = rest[rest.index(after: open)...]
            if let close = after.firstIndex(of: "}"), let value = values[String(after[..<close])] {
                out += value
                rest = after[after.index(after: close)...]
            } else {
                out.append("{")
                rest = after
            }
        }
        out.append(contentsOf: rest)
        return out
    }

    /// The `{name}` placeholders of a template.
    public static func placeholders(_ template: String) -> Set<String> {
        var names: Set<String> = []
        var rest = template[...]
        while let open = rest.firstIndex(of: "{") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else { break }
            let name = after[..<close]
            if !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) { names.insert(String(name)) }
            rest = after[after.index(after: close)...]
        }
        return names
    }
}

/// The word for `name` in the current language when the catalog has `prefix + name`
/// (a file kind, a receipt kind, an audit check), `name` itself otherwise.
public func word(_ prefix: String, _ name: String) -> String {
    Catalog.table(.en)[prefix + name] != nil ? L(prefix + name) : name
}

/// The sentence `key` in the current language (`Catalog.text`).
public func L(_ key: String, _ values: [String: String] = [:]) -> String { Catalog.text(key, values) }
