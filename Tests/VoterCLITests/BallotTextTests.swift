import Testing
@testable import VoterCLI
import VoterKit
import VotingCore

/// `voter ballot` says what a voter can do in each state of the election, in their language:
/// before the opening, that casting becomes possible once the commission opens voting; while
/// open, how to cast; after the close, that it never reopens and how to check a ballot and
/// see the results — never advice that cannot be followed.
@Suite("voter ballot by election state")
struct BallotTextTests {
    static let district = District(
        id: "d01", name: "Northern Coast", names: LocalizedNames(["ky": "Түндүк жээк", "ru": "Северное побережье"]),
        seats: 2, selectionLimit: 1,
        options: [BallotOption(id: "c01", name: "Anna Albers"),
                  BallotOption(id: "against-all", name: "Against all", names: LocalizedNames(["ky": "Баарына каршы", "ru": "Против всех"]),
                               electable: false)])

    static func text(_ state: ElectionState, cast: String? = nil, _ lang: Lang = .en) -> String {
        BallotCommand.text(election: "Parliament 2026", district: district, state: state, castShortCode: cast,
                           server: "http://127.0.0.1:8080", lang: lang)
    }

    @Test("before the opening: not open yet, casting once the commission opens voting")
    func setup() {
        let text = Self.text(.setup)
        #expect(text.contains("Voting has not opened yet"), "\(text)")
        #expect(text.contains("once the election commission opens voting"), "\(text)")
        #expect(text.contains("Run `voter ballot` again"), "\(text)")
        #expect(!text.contains("Voting is closed") && !text.contains("Voting is setup"), "\(text)")
    }

    @Test("while open: how to cast, or that this wallet has voted")
    func open() {
        let text = Self.text(.open)
        #expect(text.contains("Voting is open. Mark exactly 1 option(s); 2 seat(s) to fill."), "\(text)")
        #expect(text.contains("Cast with: voter cast --server http://127.0.0.1:8080 --choice <option id>"), "\(text)")
        let voted = Self.text(.open, cast: "ABCD-EFGH")
        #expect(voted.contains("You have already voted (tracking code ABCD-EFGH)"), "\(voted)")
        #expect(!voted.contains("Cast with"))
    }

    @Test("after the close: never reopens; verify the receipt, see the results; no casting advice", arguments: [nil, "ABCD-EFGH"])
    func closed(_ cast: String?) {
        let text = Self.text(.closed, cast: cast)
        #expect(text.contains("Voting is closed") && text.contains("never reopens"), "\(text)")
        #expect(text.contains("voter results --server http://127.0.0.1:8080"), "\(text)")
        #expect(!text.contains("voter cast") && !text.contains("commission opens"), "no advice that cannot be followed: \(text)")
        if let cast {
            #expect(text.contains("Your ballot \(cast)") && text.contains("voter verify --receipt"), "\(text)")
        } else {
            #expect(text.contains("cast no ballot"), "\(text)")
        }
    }

    @Test("in Russian and Kyrgyz: the sentences and the manifest's names change, ids and commands do not")
    func languages() {
        let ru = Self.text(.closed, cast: "ABCD-EFGH", .ru)
        #expect(ru.contains("Голосование завершено"), "\(ru)")
        #expect(ru.contains("Северное побережье") && ru.contains("Против всех"), "\(ru)")
        #expect(ru.contains("voter results --server http://127.0.0.1:8080") && ru.contains("ABCD-EFGH"), "\(ru)")
        #expect(ru.contains("Anna Albers"), "an option without a Russian name is shown as written: \(ru)")
        let ky = Self.text(.setup, .ky)
        #expect(ky.contains("Добуш берүү али ачыла элек"), "\(ky)")
        #expect(ky.contains("Түндүк жээк") && ky.contains("Баарына каршы") && ky.contains("against-all"), "\(ky)")
        #expect(ky.contains("voter ballot"), "\(ky)")
    }

    @Test("--lang before the subcommand's name is moved after it")
    func languageFirst() throws {
        #expect(VoterCommandMain.placingLanguage(["--lang", "ru", "ballot", "--json"]) == ["ballot", "--lang", "ru", "--json"])
        #expect(VoterCommandMain.placingLanguage(["--lang=ky", "verify", "--receipt", "r.json"]) == ["verify", "--lang=ky", "--receipt", "r.json"])
        #expect(VoterCommandMain.placingLanguage(["ballot", "--lang", "ru"]) == ["ballot", "--lang", "ru"])
        #expect(VoterCommandMain.placingLanguage(["--lang", "ru", "--help"]) == ["--help"])
        #expect(VoterCommandMain.placingLanguage(["--lang"]) == ["--lang"], "left for the parser to report")
        // Only moved after a known subcommand: an unknown word is reported as itself, and `help` takes the language chosen already.
        #expect(VoterCommandMain.placingLanguage(["--lang", "ky", "bogus"]) == ["bogus"])
        #expect(VoterCommandMain.placingLanguage(["--lang", "ru", "help", "cast"]) == ["help", "cast"])
        let parsed = try VoterCommand.parseAsRoot(VoterCommandMain.placingLanguage(["--lang", "ky", "verify", "--receipt", "r.json"]))
        #expect((parsed as? VerifyCommand)?.output.lang == .ky)
    }

    @Test("every subcommand takes --lang ky|ru|en; another value is an argument error")
    func langOption() throws {
        for arguments in [["ballot", "--server", "http://x:1"], ["verify", "--receipt", "r.json"], ["results", "--server", "http://x:1"],
                          ["audit", "--record", "r.jsonl"], ["enroll", "--server", "http://x:1", "--personal-number", "1", "--code", "A"],
                          ["cast", "--server", "http://x:1", "--choice", "c01"], ["receipt", "--server", "http://x:1"],
                          ["simulate", "--server", "http://x:1", "--codes", "c.csv", "--voters", "1", "--concurrency", "1"]] {
            for lang in ["ky", "ru", "en"] {
                _ = try VoterCommand.parseAsRoot(arguments + ["--lang", lang])
            }
            #expect(throws: (any Error).self) { try VoterCommand.parseAsRoot(arguments + ["--lang", "de"]) }
        }
    }
}
