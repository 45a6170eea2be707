import Foundation
import Testing

/// What a person or a script meets when a command line is wrong: the same stable code,
/// sentence and exit code 2 as every other error, in text or with `--json`; `--help` and
/// `--version` exit 0.
@Suite("argument errors and --version")
struct ToolArgumentTests {
    static let cases: [(tool: String, arguments: [String], missing: String)] = [
        ("voter", ["enroll", "--server", "http://127.0.0.1:1"], "--personal-number"),
        ("voter", ["cast", "--server", "http://127.0.0.1:1"], "--choice"),
        ("ballot-server", ["roll", "import", "--data", "/nonexistent"], "--roll"),
        ("ballot-server", ["trustee", "share"], "--server"),
    ]

    static func url(_ tool: String) -> URL { tool == "voter" ? Tools.voter : Tools.ballotServer }

    @Test("a missing argument: bad-arguments, exit 2, as JSON with --json", arguments: 0..<4)
    func missingArgument(_ i: Int) throws {
        let c = Self.cases[i]
        let json = try Tools.run(Self.url(c.tool), c.arguments + ["--json"])
        #expect(json.status == 2, "\(json.stdout)\(json.stderr)")
        let error = try #require(try json.json()["error"] as? [String: Any])
        #expect(error["code"] as? String == "bad-arguments")
        let message = error["message"] as? String ?? ""
        #expect(message.contains(c.missing), "\(message)")
        #expect(message.contains("--help"), "the sentence says where to look: \(message)")

        let text = try Tools.run(Self.url(c.tool), c.arguments)
        #expect(text.status == 2)
        #expect(text.stderr.contains("error[bad-arguments]:"), "\(text.stderr)")
        #expect(text.stderr.contains("USAGE:"), "the usage of the subcommand: \(text.stderr)")
        #expect(text.stdout.isEmpty)
    }

    @Test("an unknown option and a bad value are argument errors too")
    func unknownOptionAndBadValue() throws {
        let unknown = try Tools.run(Tools.voter, ["verify", "--receipt", "r.json", "--frobnicate", "--json"])
        #expect(unknown.status == 2)
        #expect((try unknown.json()["error"] as? [String: Any])?["code"] as? String == "bad-arguments")
        let value = try Tools.run(Tools.voter, ["simulate", "--server", "http://127.0.0.1:1", "--codes", "c.csv", "--voters", "many",
                                                "--concurrency", "2", "--json"])
        #expect(value.status == 2)
        #expect((try value.json()["error"] as? [String: Any])?["code"] as? String == "bad-arguments")
    }

    @Test("--version and --help exit 0", arguments: ["voter", "ballot-server"])
    func versionAndHelp(_ tool: String) throws {
        let version = try Tools.run(Self.url(tool), ["--version"])
        #expect(version.status == 0)
        #expect(version.stdout.contains("protocol evote.v2"), "\(version.stdout)")
        let help = try Tools.run(Self.url(tool), ["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("USAGE:"))
    }
}
