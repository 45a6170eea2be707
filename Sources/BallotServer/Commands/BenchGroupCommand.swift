import ArgumentParser
import VotingCore

/// `ballot-server bench-group`: the pure-Swift P-256 arithmetic that batch verification uses,
/// timed beside OpenSSL on the same inputs in the same run (field operations, point
/// additions, point decoding in both SEC1 forms, fixed-base and variable-base
/// multiplication, multi-scalar multiplication at several sizes, every MSM result compared
/// with OpenSSL's).
struct BenchGroupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-group",
        abstract: "Benchmark the P-256 arithmetic of batch verification against OpenSSL (run with -c release).")

    @Option(help: "The largest multi-scalar multiplication timed, in terms.")
    var terms = 16384
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (64...1_048_576).contains(terms) else { throw ValidationError("--terms must be 64 to 1048576") }
    }

    func run() throws {
        #if DEBUG
        if !output.json { print("warning: this is a debug build; run `swift run -c release ballot-server bench-group` for real figures") }
        #endif
        let report = GroupBenchmark.run(terms: terms)
        Reporter(json: output.json).emit(report) { report.description }
        if !report.allMatched { throw ExitCode(1) }
    }
}
