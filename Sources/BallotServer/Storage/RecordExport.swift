import Foundation
import VotingCore

/// Writes the public election record (docs/verification.md §1) page by page, so memory stays
/// flat however large the election is. The record covers the log up to the latest signed
/// checkpoint at the moment the export starts.
extension ElectionStore {
    func exportRecord(pageSize: Int = 2000, write: (Data) async throws -> Void) async throws -> RecordEnd {
        let size = try await latestCheckpoint().checkpoint.treeSize
        try await write(try RecordItem.header(RecordHeader(electionHash: electionHash, exportedAt: clock.now())).line())
        var nextStart: UInt64 = 0
        var checkpoints: UInt64 = 0
        while nextStart < size {
            let start = nextStart
            let end = min(size, start + UInt64(pageSize))
            let (chunk, count) = try await storage.read { r -> (Data, UInt64) in
                var out = Data()
                var count: UInt64 = 0
                var signed: [UInt64: SignedCheckpoint] = [:]
                for cp in try r.checkpoints(in: (start + 1)...end) { signed[cp.checkpoint.treeSize] = cp }
                for (idx, kind, data) in try r.entries(in: start..<end) {
                    out.append(try RecordItem.entry(LogEntryBody(index: idx, kind: kind, data: HexBytes(data))).line())
                    if let cp = signed[idx + 1] {
                        out.append(try RecordItem.checkpoint(cp).line())
                        count += 1
                    }
                }
                return (out, count)
            }
            try await write(chunk)
            checkpoints += count
            nextStart = end
        }
        let end = RecordEnd(entries: size, checkpoints: checkpoints)
        try await write(try RecordItem.end(end).line())
        return end
    }
}
