import Foundation
import Testing
import VoterKit

/// The built `voter` binary speaks Kyrgyz, Russian or English (`--lang`, else LC_ALL,
/// LC_MESSAGES or LANG): the sentence of an error changes, its code and the exit status do
/// not, in text and with `--json`.
@Suite("voter --lang and LANG")
struct LanguageTests {
    /// A missing receipt file: `no-receipt`, exit 2, without any server.
    static let missingReceipt = ["verify", "--receipt", "/nonexistent/receipt.json"]

    static func failure(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, code: String?, message: String) {
        let outcome = try Tools.run(Tools.voter, arguments + ["--json"], environment: environment)
        let error = try outcome.json()["error"] as? [String: Any]
        return (outcome.status, error?["code"] as? String, error?["message"] as? String ?? "")
    }

    @Test("English by default (LANG=C.UTF-8, C, POSIX, unset or en_US)", arguments: ["C.UTF-8", "C", "POSIX", "", "en_US.UTF-8"])
    func englishByDefault(_ lang: String) throws {
        let result = try Self.failure(Self.missingReceipt, environment: ["LANG": lang])
        #expect(result.status == 2)
        #expect(result.code == "no-receipt")
        #expect(result.message == "cannot read receipt /nonexistent/receipt.json; pass the file `voter cast` saved", "\(result.message)")
    }

    @Test("--lang ru, --lang ky, LANG=ru_RU.UTF-8 and LC_ALL=ky_KG.UTF-8 change the sentence, not the code or the status",
          arguments: [(["--lang", "ru"], [:], "не удаётся прочитать квитанцию"),
                      (["--lang=ky"], [:], "квитанциясын окуу мүмкүн эмес"),
                      ([], ["LANG": "ru_RU.UTF-8"], "не удаётся прочитать квитанцию"),
                      ([], ["LANG": "ru_RU.UTF-8", "LC_ALL": "ky_KG.UTF-8"], "квитанциясын окуу мүмкүн эмес"),
                      (["--lang", "en"], ["LANG": "ky_KG.UTF-8"], "cannot read receipt")] as [([String], [String: String], String)])
    func localizedError(_ option: [String], _ environment: [String: String], _ expected: String) throws {
        let result = try Self.failure(Self.missingReceipt + option, environment: environment)
        #expect(result.status == 2)
        #expect(result.code == "no-receipt")
        #expect(result.message.contains(expected), "\(result.message)")
        #expect(result.message.contains("/nonexistent/receipt.json") && result.message.contains("`voter cast`"), "values and commands stay as written: \(result.message)")

        let text = try Tools.run(Tools.voter, Self.missingReceipt + option, environment: environment)
        #expect(text.status == 2)
        #expect(text.stderr.hasPrefix("error[no-receipt]: "), "\(text.stderr)")
        #expect(text.stderr.contains(expected), "\(text.stderr)")
    }

    @Test("--lang may also come first: voter --lang ky verify …")
    func languageFirst() throws {
        let first = try Tools.run(Tools.voter, ["--lang", "ky"] + Self.missingReceipt + ["--json"])
        #expect(first.status == 2)
        let error = try #require(try first.json()["error"] as? [String: Any])
        #expect(error["code"] as? String == "no-receipt")
        #expect((error["message"] as? String ?? "").contains("квитанциясын окуу мүмкүн эмес"), "\(error)")
    }

    @Test("an argument error keeps its code and exit status in every language")
    func argumentError() throws {
        let ru = try Self.failure(["enroll", "--server", "http://127.0.0.1:1", "--lang", "ru"])
        #expect(ru.status == 2)
        #expect(ru.code == "bad-arguments")
        #expect(ru.message.contains("параметры описаны в `voter enroll --help`"), "\(ru.message)")
        let bad = try Self.failure(Self.missingReceipt + ["--lang", "de"])
        #expect(bad.status == 2)
        #expect(bad.code == "bad-arguments")
        #expect(bad.message.contains("--lang"), "\(bad.message)")
    }

    @Test("the catalogs are compiled in: a copy of the binary elsewhere speaks Kyrgyz, and no resource bundle is built for them")
    func copiedBinary() throws {
        let folder = try Tools.temporaryDirectory("voter-copy")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let copy = URL(fileURLWithPath: folder).appendingPathComponent("voter")
        try FileManager.default.copyItem(at: Tools.voter, to: copy)
        let outcome = try Tools.run(copy, Self.missingReceipt + ["--lang", "ky"], cwd: folder)
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("квитанциясын окуу мүмкүн эмес"), "\(outcome.stderr)")
        let products = try FileManager.default.contentsOfDirectory(atPath: Tools.products.path)
        #expect(!products.contains { $0.contains("VoterKit") && $0.hasSuffix(".resources") }, "\(products.filter { $0.hasSuffix(".resources") })")
    }

    @Test("--help documents --lang")
    func help() throws {
        let help = try Tools.run(Tools.voter, ["ballot", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("--lang"), "\(help.stdout)")
        let root = try Tools.run(Tools.voter, ["--help"])
        #expect(root.stdout.contains("--lang ky|ru|en"), "\(root.stdout)")
    }

    /// English sentences of the help that must not be left in a Kyrgyz or Russian help.
    static let englishHelp = ["Enroll, see your ballot, cast it", "Encrypt, sign and cast your ballot", "The signed ballot is written",
                              "Show help information", "Print machine-readable JSON", "The ballot server, e.g.", "USAGE:", "OPTIONS:"]

    @Test("voter --help and voter cast --help are in Kyrgyz and Russian: catalog sentences, no English abstract or heading",
          arguments: [(["--lang", "ky"], [:], Lang.ky), (["--lang=ru"], [:], Lang.ru), ([], ["LANG": "ky_KG.UTF-8"], Lang.ky),
                      ([], ["LC_ALL": "ru_RU.UTF-8"], Lang.ru)] as [([String], [String: String], Lang)])
    func localizedHelp(_ option: [String], _ environment: [String: String], _ lang: Lang) throws {
        for command in [["--help"], ["cast", "--help"]] + (option.isEmpty ? [["help", "cast"]] : []) {
            // --lang before or after the subcommand, as a person would type it.
            let help = try Tools.run(Tools.voter, option + command, environment: environment)
            #expect(help.status == 0, "\(command): \(help.stderr)")
            for english in Self.englishHelp {
                #expect(!help.stdout.contains(english), "\(lang) \(command) still says \"\(english)\": \(help.stdout)")
            }
            #expect(help.stdout.contains(Catalog.text("help.heading.usage", lang: lang) + ":"), "\(help.stdout)")
            #expect(help.stdout.contains(Catalog.text("help.show-help", lang: lang)), "\(help.stdout)")
            // Option and subcommand names are the public interface: never translated.
            #expect(help.stdout.contains("--lang") && help.stdout.contains("--json"), "\(help.stdout)")
        }
        let root = try Tools.run(Tools.voter, option + ["--help"], environment: environment)
        let abstract = Catalog.text("help.voter.abstract", lang: lang).split(separator: " ").prefix(3).joined(separator: " ")
        #expect(root.stdout.contains(Catalog.text("help.heading.overview", lang: lang) + ": " + abstract), "\(root.stdout)")
        #expect(root.stdout.contains(Catalog.text("help.heading.subcommands", lang: lang) + ":"), "\(root.stdout)")
        for subcommand in ["enroll", "ballot", "cast", "receipt", "verify", "results", "audit", "simulate"] {
            #expect(root.stdout.contains(subcommand), "subcommand names stay: \(subcommand)")
        }
        // Words are wrapped by the parser, so compare the first words of each catalog sentence.
        let cast = try Tools.run(Tools.voter, ["cast", "--help"] + option, environment: environment)
        for key in ["help.cast.abstract", "help.cast.discussion", "help.option.choice", "help.option.challenge", "help.option.wallet"] {
            let start = Catalog.text(key, lang: lang).split(separator: " ").prefix(3).joined(separator: " ")
            #expect(cast.stdout.contains(start), "\(lang) cast --help lacks \(key) (\(start)): \(cast.stdout)")
        }
    }

    @Test("English help is unchanged: the parser's own headings and the English sentences")
    func englishHelp() throws {
        let cast = try Tools.run(Tools.voter, ["cast", "--help"])
        #expect(cast.status == 0)
        #expect(cast.stdout.contains("USAGE:") && cast.stdout.contains("OPTIONS:") && cast.stdout.contains("Show help information."))
        #expect(cast.stdout.contains("Encrypt, sign and cast your ballot"), "\(cast.stdout)")
    }

    @Test("an argument error under --lang ru --json: exit 2, code bad-arguments, a Russian sentence that names the option",
          arguments: [["enroll", "--server", "http://127.0.0.1:1", "--code", "AAAA"],
                      ["verify", "--receipt", "r.json", "--frobnicate"],
                      ["verify", "--receipt", "r.json", "--lang", "de"]])
    func russianArgumentError(_ arguments: [String]) throws {
        // --lang de is itself the bad value, so the language then comes from the environment: Russian here too.
        let russian = ["LANG": "ru_RU.UTF-8"]
        let json = try Self.failure(arguments.contains("--lang") ? arguments : arguments + ["--lang", "ru"], environment: russian)
        #expect(json.status == 2)
        #expect(json.code == "bad-arguments")
        for english in ["Missing expected argument", "Unknown option", "is invalid for", "Please provide"] {
            #expect(!json.message.contains(english), "\(json.message)")
        }
        if arguments.contains("enroll") {
            #expect(json.message.contains("не указан обязательный аргумент '--personal-number <personal-number>'"), "\(json.message)")
        } else if arguments.contains("--frobnicate") {
            #expect(json.message.contains("неизвестный параметр '--frobnicate'"), "\(json.message)")
        } else {
            #expect(json.message.contains("значение 'de' недопустимо для '--lang <lang>'"), "\(json.message)")
        }
        // Text: the same sentence after error[bad-arguments], and the usage with a Russian heading.
        let text = try Tools.run(Tools.voter, arguments, environment: russian)
        #expect(text.status == 2)
        #expect(text.stderr.contains("error[bad-arguments]: "), "\(text.stderr)")
        #expect(text.stderr.contains("ИСПОЛЬЗОВАНИЕ:") && !text.stderr.contains("USAGE:"), "\(text.stderr)")
    }
}
