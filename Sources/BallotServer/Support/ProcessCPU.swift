import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// CPU time of processes on this machine from Linux's /proc/<pid>/stat (proc(5): utime and
/// stime, fields 14 and 15, "measured in clock ticks (divide by sysconf(_SC_CLK_TCK))"), for
/// the benchmark's CPU cost per ballot. Nil where /proc cannot be read (not Linux, another user).
enum ProcessCPU {
    struct Stat: Sendable {
        let parent: Int32
        /// utime + stime, in seconds.
        let own: Double
        /// cutime + cstime: children that ended and were waited for, in seconds.
        let reapedChildren: Double
    }

    static var ticksPerSecond: Double {
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return ticks > 0 ? Double(ticks) : 100
    }

    static func stat(_ pid: Int32) -> Stat? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        // The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field n is fields[n - 3].
        guard fields.count > 14, let parent = Int32(fields[1]), let utime = Double(fields[11]), let stime = Double(fields[12]),
              let cutime = Double(fields[13]), let cstime = Double(fields[14]) else { return nil }
        let hz = ticksPerSecond
        return Stat(parent: parent, own: (utime + stime) / hz, reapedChildren: (cutime + cstime) / hz)
    }

    /// CPU seconds `pid` has used so far (its own threads, not its children).
    static func seconds(_ pid: Int32) -> Double? { stat(pid)?.own }

    /// CPU seconds of a process tree one level deep: `root` itself, its children that ended,
    /// and its living children. For PostgreSQL's postmaster this is the whole server: every
    /// backend and background process is its child, and a backend that ended is counted
    /// through cutime/cstime once the postmaster has waited for it.
    static func treeSeconds(_ root: Int32) -> Double? {
        guard let top = stat(root) else { return nil }
        var total = top.own + top.reapedChildren
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        for entry in entries {
            guard let pid = Int32(entry), pid != root, let child = stat(pid), child.parent == root else { continue }
            total += child.own
        }
        return total
    }

    /// The PostgreSQL server process (the postmaster) that `backend` belongs to, if it runs here.
    static func postmaster(ofBackend backend: Int32) -> Int32? {
        guard let parent = stat(backend)?.parent, parent > 1,
              let comm = FileManager.default.contents(atPath: "/proc/\(parent)/comm"),
              String(decoding: comm, as: UTF8.self).hasPrefix("postgres") else { return nil }
        return parent
    }
}
