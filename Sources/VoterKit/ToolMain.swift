public import ArgumentParser
import Foundation
import VotingCore

/// The release both tools print for `--version`, and the protocol they speak.
public enum EvoteVersion {
    public static let release = "2.0.0"
    public static let protocolVersion = "evote.v2 (records evote-election-record/2)"
    public static var line: String { "\(release), protocol \(protocolVersion)" }
}

/// The entry point of both tools: ArgumentParser's own `main()`, except that an argument
/// error (a missing or unknown option, a bad value, a failed `validate()`) is reported like
/// every other error: `error[bad-arguments]: …` with the usage on standard error, or
/// `{"error": {"code": "bad-arguments", "message": …}}` on standard output with `--json`, and
/// exit code 2 — never ArgumentParser's exit 64. `--help` and `--version` exit 0 as usual.
public enum ToolMain {
    public static func run<Root: AsyncParsableCommand>(_ root: Root.Type, arguments: [String] = Array(CommandLine.arguments.dropFirst())) async {
        let command: any ParsableCommand
        do {
            command = try root.parseAsRoot(arguments)
        } catch {
            if root.exitCode(for: error) == .success { exit(root, withError: error) }  // --help, --version
            let message = localizedArgumentError(root.message(for: error))
            let command = "\(root._commandName) \(subcommandPath(arguments, root)) --help".replacingOccurrences(of: "  ", with: " ")
            let help = L("error.see-help", ["command": command])
            let output = CommandOutput(json: arguments.contains("--json"))
            if !output.json {
                FileHandle.standardError.write(Data(localizedHelp(root.evoteUsage(for: arguments)).utf8))
            }
            output.fail(ErrorBody(code: "bad-arguments", message: "\(message); \(help)"))
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch {
            exit(root, withError: error)  // also `--help` and `help <subcommand>`, which run a help command
        }
    }

    /// ArgumentParser's exit, with a help text in the current language.
    static func exit<Root: ParsableCommand>(_ root: Root.Type, withError error: any Error) -> Never {
        guard Lang.current != .en, root.exitCode(for: error) == .success else { root.exit(withError: error) }
        print(localizedHelp(root.fullMessage(for: error)))
        fflush(nil)
        Foundation.exit(0)
    }

    /// ArgumentParser's own words in a help text (headings, the --help and --version lines,
    /// defaults) in the current language; the command's texts are catalog sentences already.
    static func localizedHelp(_ text: String) -> String {
        guard Lang.current != .en else { return text }
        var lines = text.components(separatedBy: "\n")
        let headings = ["OVERVIEW:": "help.heading.overview", "USAGE:": "help.heading.usage", "OPTIONS:": "help.heading.options",
                        "SUBCOMMANDS:": "help.heading.subcommands", "ARGUMENTS:": "help.heading.arguments"]
        for i in lines.indices {
            var line = lines[i]
            if let heading = headings.keys.first(where: { line.hasPrefix($0) }), let key = headings[heading] {
                line = L(key) + ":" + line.dropFirst(heading.count)
            }
            line = line.replacingOccurrences(of: "Show help information.", with: L("help.show-help"))
                .replacingOccurrences(of: "Show the version.", with: L("help.show-version"))
                .replacingOccurrences(of: "(default: ", with: "(" + L("help.default") + ": ")
                .replacingOccurrences(of: "(values: ", with: "(" + L("help.values") + ": ")
            if let see = line.range(of: "See '"), let end = line.range(of: " <subcommand>' for detailed help.") {
                line = String(line[..<see.lowerBound]) + L("help.see-subcommand", ["command": String(line[see.upperBound..<end.lowerBound])])
            }
            lines[i] = line
        }
        return lines.joined(separator: "\n")
    }

    /// ArgumentParser's sentence for an argument error in the current language, with its
    /// details (option names, values) as the parser gave them; a sentence it does not know
    /// (a `validate()` message is a catalog sentence already) is kept as it is.
    static func localizedArgumentError(_ message: String) -> String {
        guard Lang.current != .en else { return message }
        func match(_ pattern: String) -> [String]? {
            guard let regex = try? NSRegularExpression(pattern: "^" + pattern + "$", options: [.dotMatchesLineSeparators]),
                  let m = regex.firstMatch(in: message, range: NSRange(message.startIndex..., in: message)) else { return nil }
            return (1..<m.numberOfRanges).map { Range(m.range(at: $0), in: message).map { String(message[$0]) } ?? "" }
        }
        if let g = match("Missing expected argument '(.+)'") { return L("args.missing", ["argument": g[0]]) }
        if let g = match("Missing one of: (.+)") { return L("args.missing-one-of", ["arguments": g[0]]) }
        if let g = match("Missing value for '(.+)'") { return L("args.missing-value", ["option": g[0]]) }
        if let g = match("Unknown option '(.+?)'\\. Did you mean '(.+)'\\?") { return L("args.unknown-option-suggest", ["option": g[0], "suggestion": g[1]]) }
        if let g = match("Unknown option '(.+)'") { return L("args.unknown-option", ["option": g[0]]) }
        if let g = match("Unexpected argument '(.+)'") { return L("args.unexpected", ["argument": g[0]]) }
        if let g = match("(\\d+) unexpected arguments: (.+)") { return L("args.unexpected-many", ["count": g[0], "arguments": g[1]]) }
        if let g = match("Invalid option: (.+)") { return L("args.unknown-option", ["option": g[0]]) }
        if match("Missing required subcommand\\.") != nil { return L("args.missing-subcommand") }
        if let g = match("The value '(.*)' is invalid for '(.+?)'\\. Please provide one of (.+)\\.") {
            return L("args.invalid-value-one-of", ["value": g[0], "option": g[1], "values": g[2]])
        }
        if let g = match("The value '(.*)' is invalid for '(.+?)'(.*)") {
            return L("args.invalid-value", ["value": g[0], "option": g[1]]) + g[2]
        }
        return message
    }

    /// The subcommand names at the start of `arguments` that `root` knows ("trustee share").
    static func subcommandPath<Root: ParsableCommand>(_ arguments: [String], _ root: Root.Type) -> String {
        var path: [String] = []
        var current: any ParsableCommand.Type = root
        for argument in arguments {
            guard let next = current.configuration.subcommands.first(where: { $0._commandName == argument }) else { break }
            path.append(argument)
            current = next
        }
        return path.joined(separator: " ")
    }
}

extension ParsableCommand {
    /// The USAGE line of the deepest subcommand named at the start of `arguments`.
    static func evoteUsage(for arguments: [String]) -> String {
        var current: any ParsableCommand.Type = Self.self
        for argument in arguments {
            guard let next = current.configuration.subcommands.first(where: { $0._commandName == argument }) else { break }
            current = next
        }
        let help = helpMessage(for: current)
        let usage = help.components(separatedBy: "\n\n").first { $0.hasPrefix("USAGE:") } ?? ""
        return usage.isEmpty ? "" : usage + "\n"
    }
}
