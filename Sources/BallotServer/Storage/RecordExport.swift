import Foundation
import VotingCore

/// Writes the public election record (docs/verification.md §1) page by page, so memory stays
/// flat however large the election is. The record covers the log up to the latest signed
/// checkpoint at the moment the export starts. Every line is the canonical form of Record
/// §1.1 (`RecordItem.serializedLine`, i.e. `RecordLine.serialized`: keys sorted, no
/// whitespace, LF after each line), the only form the auditor's reader accepts.
extension ElectionStore {
    func exportRecord(pageSize: Int = 2000, write: (Data) async throws -> Void) async throws -> RecordEnd {
        let size = try await latestCheckpoint().checkpoint.treeSize
        try await write(Data(RecordItem.header(RecordHeader(electionHash: electionHash, exportedAt: clock.now())).serializedLine()))
        var nextStart: UInt64 = 0
        var checkpoints: UInt64 = 0
        while nextStart < size {
            let start = nextStart
            let end = min(size, start + UInt64(pageSize))
            let (chunk, count) = try await storage.read { r -> ([UInt8], UInt64) in
                var out: [UInt8] = []
                var count: UInt64 = 0
                var signed: [UInt64: SignedCheckpoint] = [:]
                for cp in try r.checkpoints(in: (start + 1)...end) { signed[cp.checkpoint.treeSize] = cp }
                for (idx, kind, data) in try r.entries(in: start..<end) {
                    out.append(contentsOf: RecordItem.entry(LogEntryBody(index: idx, kind: kind, data: HexBytes(data))).serializedLine())
                    if let cp = signed[idx + 1] {
                        out.append(contentsOf: RecordItem.checkpoint(cp).serializedLine())
                        count += 1
                    }
                }
                return (out, count)
            }
            try await write(Data(chunk))
            checkpoints += count
            nextStart = end
        }
        let end = RecordEnd(entries: size, checkpoints: checkpoints)
        try await write(Data(RecordItem.end(end).serializedLine()))
        return end
    }
}
