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
        func record(_ name: String, _ ok: Bool, _ detail: String) {
            results.append(CheckResult(name: name, passed: ok, detail: detail))
        }

        record("receipt-signature", serverKey.isValidSignature(receipt.signature, for: receipt.signedBytes),
               "receipt signed by server key \(serverKey.hex.prefix(16))…")
        let cp = receipt.checkpoint
        record("checkpoint-signature", cp.isValid(serverKey: serverKey),
               "checkpoint of tree size \(cp.checkpoint.treeSize) signed by the server key")
        record("election", receipt.electionHash == electionHash && cp.checkpoint.electionHash == electionHash,
               "receipt and checkpoint name election \(electionHash.hex.prefix(16))…")

        let computedLeaf = Merkle.leafHash(entryBytes)
        record("leaf-hash", computedLeaf == receipt.leafHash, "SHA-256(0x00 || entry) equals the receipt's leaf hash")

        do {
            try Merkle.verifyInclusion(leafHash: receipt.leafHash.bytes, index: receipt.logIndex,
                                       treeSize: cp.checkpoint.treeSize, proof: inclusionProof.map(\.bytes),
                                       root: cp.checkpoint.rootHash.bytes)
            record("inclusion", true, "entry \(receipt.logIndex) is in the tree of size \(cp.checkpoint.treeSize)")
        } catch {
            record("inclusion", false, "\(error)")
        }

        do {
            let entry = try LogEntry.decode(canonical: entryBytes)
            guard entry.index == receipt.logIndex else {
                throw RecordError.mismatch("entry index \(entry.index) but receipt index \(receipt.logIndex)")
            }
            guard entry.electionHash == electionHash else { throw RecordError.mismatch("entry names another election") }
            switch receipt.kind {
            case .ballot:
                guard entry.kind == .ballot else { throw RecordError.mismatch("entry is a \(entry.kind.rawValue), not a ballot") }
                let ballot = try SignedBallot.decode(canonical: entry.payload)
                guard ballot.trackingCode.digest == receipt.subject else {
                    throw RecordError.mismatch("logged ballot has tracking code \(ballot.trackingCode.hex)")
                }
                guard ballot.ballot.electionHash == electionHash, ballot.hasValidSignature else {
                    throw RecordError.mismatch("the logged ballot is not validly signed for this election")
                }
            case .spoiled:
                guard entry.kind == .spoiled else { throw RecordError.mismatch("entry is a \(entry.kind.rawValue), not a spoiled ballot") }
                let spoiled = try SpoiledBallot.decode(canonical: entry.payload)
                guard spoiled.ballot.trackingCode.digest == receipt.subject else {
                    throw RecordError.mismatch("logged spoiled ballot has tracking code \(spoiled.ballot.trackingCode.hex)")
                }
                guard spoiled.ballot.ballot.electionHash == electionHash, spoiled.ballot.hasValidSignature else {
                    throw RecordError.mismatch("the logged spoiled ballot is not validly signed for this election")
                }
            case .enrollment:
                guard entry.kind == .enrollment else { throw RecordError.mismatch("entry is a \(entry.kind.rawValue), not an enrollment") }
                let enrollment = try Enrollment.decode(canonical: entry.payload)
                guard enrollment.voterKey.rawRepresentation == receipt.subject.bytes else {
                    throw RecordError.mismatch("logged enrollment is for another key")
                }
            }
            if let expectedPayload, expectedPayload != entry.payload {
                throw RecordError.mismatch("the logged \(receipt.kind.rawValue) differs from what was submitted")
            }
            record("entry-content", true, "log entry \(entry.index) holds the \(receipt.kind.rawValue) the receipt names")
        } catch {
            record("entry-content", false, "\(error)")
        }
        return results
    }
}
