import Foundation
import Synchronization

/// A progress bar on standard error (redrawn in place on a terminal, a line per 25% otherwise);
/// silent when disabled, e.g. with --json.
public final class ProgressBar: Sendable {
    private let label: String
    private let total: Int
    private let enabled: Bool
    private let isTerminal = isatty(STDERR_FILENO) == 1
    private let state = Mutex((done: 0, lastQuarter: -1))

    public init(_ label: String, total: Int, enabled: Bool) {
        self.label = label
        self.total = max(total, 1)
        self.enabled = enabled
    }

    public func advance(by n: Int = 1) {
        guard enabled else { return }
        let line: String? = state.withLock { s in
            s.done += n
            let fraction = Double(s.done) / Double(total)
            if isTerminal {
                let width = 30
                let filled = min(width, Int(fraction * Double(width)))
                return "\r  \(label) [\(String(repeating: "#", count: filled))\(String(repeating: ".", count: width - filled))] \(s.done)/\(total)"
            }
            let quarter = Int(fraction * 4)
            guard quarter != s.lastQuarter else { return nil }
            s.lastQuarter = quarter
            return "  \(label): \(s.done)/\(total)\n"
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    public func finish() {
        guard enabled, isTerminal else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
