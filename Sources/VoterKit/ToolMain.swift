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
            guard root.exitCode(for: error) != .success else { root.exit(withError: error) }  // --help, --version
            let message = root.message(for: error)
            let help = "run `\(root._commandName) \(subcommandPath(arguments, root)) --help` for the options"
                .replacingOccurrences(of: "  ", with: " ")
            let output = CommandOutput(json: arguments.contains("--json"))
            if !output.json {
                FileHandle.standardError.write(Data(root.evoteUsage(for: arguments).utf8))
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
            root.exit(withError: error)
        }
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
