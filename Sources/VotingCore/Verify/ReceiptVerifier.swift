/// One named check and its outcome, as the verifiers report them.
public struct CheckResult: Sendable, Hashable, Codable {
    public let name: String
    public let passed: Bool
    public let detail: String

    public init(name: String, passed: Bool, detail: String) {
        self.name = name
        self.passed = passed
        self.detail = detail
    }
}

/// Checks a receipt against public data only: the server key anchored in log entry 0,
/// the logged entry's bytes and an inclusion proof (docs/protocol.md §6.2).
public struct ReceiptVerifier: Sendable {
    public let serverKey: Ed25519PublicKey
    public let electionHash: Digest

    public init(serverKey: Ed25519PublicKey, electionHash: Digest) {
        self.serverKey = serverKey
        self.electionHash = electionHash
    }

    /// Runs every receipt check; `expectedPayload` is what the voter submitted (the signed
    /// ballot's or the enrollment's canonical bytes), when known.
    public func verify(receipt: Receipt, entryBytes: [UInt8], inclusionProof: [Digest],
                       expectedPayload: [UInt8]? = nil) -> [CheckResult] {
        var results: [CheckResult] = []
        // A failed check says what is wrong, never the success sentence.
        func record(_ name: String, _ ok: Bool, _ passed: String, _ failed: String) {
            results.append(CheckResult(name: name, passed: ok, detail: ok ? passed : failed))
        }

        record("receipt-signature", serverKey.isValidSignature(receipt.signature, for: receipt.signedBytes),
               "receipt signed by server key \(serverKey.hex.prefix(16))…",
               "the receipt's signature does not verify under the election's server key \(serverKey.hex.prefix(16))…")
        let cp = receipt.checkpoint
        record("checkpoint-signature", cp.isValid(serverKey: serverKey),
               "checkpoint of tree size \(cp.checkpoint.treeSize) signed by the server key",
               "the receipt's checkpoint (tree size \(cp.checkpoint.treeSize)) is not signed by the election's server key")
        let sameElection = receipt.electionHash == electionHash && cp.checkpoint.electionHash == electionHash
        record("election", sameElection, "receipt and checkpoint name election \(electionHash.hex.prefix(16))…",
               "the receipt names election \(receipt.electionHash.hex.prefix(16))… and its checkpoint \(cp.checkpoint.electionHash.hex.prefix(16))…, not \(electionHash.hex.prefix(16))…")

        let computedLeaf = Merkle.leafHash(entryBytes)
        record("leaf-hash", computedLeaf == receipt.leafHash, "SHA-256(0x00 || entry) equals the receipt's leaf hash",
               "the entry's leaf hash is \(computedLeaf.hex.prefix(16))…, the receipt says \(receipt.leafHash.hex.prefix(16))…")

        do {
            try Merkle.verifyInclusion(leafHash: receipt.leafHash.bytes, index: receipt.logIndex,
                                       treeSize: cp.checkpoint.treeSize, proof: inclusionProof.map(\.bytes),
                                       root: cp.checkpoint.rootHash.bytes)
            record("inclusion", true, "entry \(receipt.logIndex) is in the tree of size \(cp.checkpoint.treeSize)", "")
        } catch {
            record("inclusion", false, "", "the inclusion proof of entry \(receipt.logIndex) does not reach the checkpoint's root: \(error)")
        }

        do {
            let entry = try LogEntry.decode(canonical: entryBytes)
            guard entry.index == receipt.logIndex else {
                throw RecordError.mismatch("entry index \(entry.index) but receipt index \(receipt.logIndex)")
            }
            guard entry.electionHash == electionHash else { throw RecordError.mismatch("entry names another election") }
            func expect(_ kind: LogEntryKind) throws {
                guard entry.kind == kind else { throw RecordError.mismatch("entry is a \(entry.kind.rawValue), not a \(kind.rawValue)") }
            }
            switch receipt.kind {
            case .ballot:
                try expect(.ballot)
                let ballot = try SignedBallot.decode(canonical: entry.payload)
                guard ballot.trackingCode.digest == receipt.subject else {
                    throw RecordError.mismatch("logged ballot has tracking code \(ballot.trackingCode.hex)")
                }
                guard ballot.ballot.electionHash == electionHash, ballot.hasValidSignature else {
                    throw RecordError.mismatch("the logged ballot is not validly signed for this election")
                }
            case .spoiled:
                try expect(.spoiled)
                let spoiled = try SpoiledBallot.decode(canonical: entry.payload)
                guard spoiled.trackingCode.digest == receipt.subject else {
                    throw RecordError.mismatch("logged spoiled ballot has tracking code \(spoiled.trackingCode.hex)")
                }
                guard spoiled.ballot.electionHash == electionHash else {
                    throw RecordError.mismatch("the logged spoiled ballot names another election")
                }
            case .supervised:
                try expect(.supervised)
                let supervised = try SupervisedBallot.decode(canonical: entry.payload)
                guard supervised.trackingCode.digest == receipt.subject else {
                    throw RecordError.mismatch("logged supervised ballot has tracking code \(supervised.trackingCode.hex)")
                }
                guard supervised.ballot.electionHash == electionHash else {
                    throw RecordError.mismatch("the logged supervised ballot names another election")
                }
            case .enrollment:
                try expect(.enrollment)
                let enrollment = try Enrollment.decode(canonical: entry.payload)
                guard enrollment.voterKey.rawRepresentation == receipt.subject.bytes else {
                    throw RecordError.mismatch("logged enrollment is for another key")
                }
            }
            if let expectedPayload, expectedPayload != entry.payload {
                throw RecordError.mismatch("the logged \(receipt.kind.rawValue) differs from what was submitted")
            }
            record("entry-content", true, "log entry \(entry.index) holds the \(receipt.kind.rawValue) the receipt names", "")
        } catch {
            record("entry-content", false, "", "log entry \(receipt.logIndex) does not hold the \(receipt.kind.rawValue) the receipt names: \(error)")
        }
        return results
    }
}
