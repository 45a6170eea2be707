/// One named check and its outcome, as the verifiers report them. A failed check may carry a
/// stable `code` and the values its sentence names, so a tool can word it in its language;
/// `detail` is the English sentence.
public struct CheckResult: Sendable, Hashable, Codable {
    public let name: String
    public let passed: Bool
    public let detail: String
    /// Why the check failed, stable across languages (nil when it passed or has no code).
    public let code: String?
    /// The values the failure's sentence names (not part of the JSON).
    public let values: [String: String]

    public init(name: String, passed: Bool, detail: String, code: String? = nil, values: [String: String] = [:]) {
        self.name = name
        self.passed = passed
        self.detail = detail
        self.code = code
        self.values = values
    }

    enum CodingKeys: String, CodingKey { case name, passed, detail, code }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(passed, forKey: .passed)
        try c.encode(detail, forKey: .detail)
        try c.encodeIfPresent(code, forKey: .code)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        passed = try c.decode(Bool.self, forKey: .passed)
        detail = try c.decode(String.self, forKey: .detail)
        code = try c.decodeIfPresent(String.self, forKey: .code)
        values = [:]
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
        // A failed check says what is wrong (a code and its values), never the success sentence.
        func record(_ name: String, _ ok: Bool, _ passed: String, _ code: String, _ values: @autoclosure () -> [String: String]) {
            if ok {
                results.append(CheckResult(name: name, passed: true, detail: passed))
            } else {
                let values = values()
                results.append(CheckResult(name: name, passed: false, detail: SentenceTemplate.fill(Self.failureTemplates[code] ?? code, values),
                                           code: code, values: values))
            }
        }
        let key = "\(serverKey.hex.prefix(16))"

        record("receipt-signature", serverKey.isValidSignature(receipt.signature, for: receipt.signedBytes),
               "receipt signed by server key \(key)…", "receipt-signature-invalid", ["key": key])
        let cp = receipt.checkpoint
        record("checkpoint-signature", cp.isValid(serverKey: serverKey),
               "checkpoint of tree size \(cp.checkpoint.treeSize) signed by the server key",
               "checkpoint-signature-invalid", ["size": "\(cp.checkpoint.treeSize)"])
        let sameElection = receipt.electionHash == electionHash && cp.checkpoint.electionHash == electionHash
        record("election", sameElection, "receipt and checkpoint name election \(electionHash.hex.prefix(16))…", "election-mismatch",
               ["receipt_election": "\(receipt.electionHash.hex.prefix(16))", "checkpoint_election": "\(cp.checkpoint.electionHash.hex.prefix(16))",
                "election": "\(electionHash.hex.prefix(16))"])

        let computedLeaf = Merkle.leafHash(entryBytes)
        record("leaf-hash", computedLeaf == receipt.leafHash, "SHA-256(0x00 || entry) equals the receipt's leaf hash", "leaf-hash-mismatch",
               ["computed": "\(computedLeaf.hex.prefix(16))", "receipt": "\(receipt.leafHash.hex.prefix(16))"])

        do {
            try Merkle.verifyInclusion(leafHash: receipt.leafHash.bytes, index: receipt.logIndex,
                                       treeSize: cp.checkpoint.treeSize, proof: inclusionProof.map(\.bytes),
                                       root: cp.checkpoint.rootHash.bytes)
            record("inclusion", true, "entry \(receipt.logIndex) is in the tree of size \(cp.checkpoint.treeSize)", "", [:])
        } catch {
            record("inclusion", false, "", "inclusion-invalid", ["index": "\(receipt.logIndex)", "reason": "\(error)"])
        }

        do {
            let entry = try LogEntry.decode(canonical: entryBytes)
            guard entry.index == receipt.logIndex else {
                throw ContentMismatch("entry-index-mismatch", ["entry_index": "\(entry.index)"])
            }
            guard entry.electionHash == electionHash else { throw ContentMismatch("entry-other-election") }
            func expect(_ kind: LogEntryKind) throws {
                guard entry.kind == kind else { throw ContentMismatch("entry-kind-mismatch", ["entry_kind": entry.kind.rawValue, "expected_kind": kind.rawValue]) }
            }
            switch receipt.kind {
            case .ballot:
                try expect(.ballot)
                let ballot = try SignedBallot.decode(canonical: entry.payload)
                guard ballot.trackingCode.digest == receipt.subject else {
                    throw ContentMismatch("ballot-code-mismatch", ["code": ballot.trackingCode.hex])
                }
                guard ballot.ballot.electionHash == electionHash, ballot.hasValidSignature else {
                    throw ContentMismatch("ballot-unsigned")
                }
            case .spoiled:
                try expect(.spoiled)
                let spoiled = try SpoiledBallot.decode(canonical: entry.payload)
                guard spoiled.trackingCode.digest == receipt.subject else {
                    throw ContentMismatch("spoiled-code-mismatch", ["code": spoiled.trackingCode.hex])
                }
                guard spoiled.ballot.electionHash == electionHash else {
                    throw ContentMismatch("spoiled-other-election")
                }
            case .supervised:
                try expect(.supervised)
                let supervised = try SupervisedBallot.decode(canonical: entry.payload)
                guard supervised.trackingCode.digest == receipt.subject else {
                    throw ContentMismatch("supervised-code-mismatch", ["code": supervised.trackingCode.hex])
                }
                guard supervised.ballot.electionHash == electionHash else {
                    throw ContentMismatch("supervised-other-election")
                }
            case .enrollment:
                try expect(.enrollment)
                let enrollment = try Enrollment.decode(canonical: entry.payload)
                guard enrollment.voterKey.rawRepresentation == receipt.subject.bytes else {
                    throw ContentMismatch("enrollment-other-key")
                }
            }
            if let expectedPayload, expectedPayload != entry.payload {
                throw ContentMismatch("payload-differs")
            }
            record("entry-content", true, "log entry \(entry.index) holds the \(receipt.kind.rawValue) the receipt names", "", [:])
        } catch let mismatch as ContentMismatch {
            record("entry-content", false, "", mismatch.code,
                   mismatch.values.merging(["index": "\(receipt.logIndex)", "kind": receipt.kind.rawValue]) { own, _ in own })
        } catch {
            record("entry-content", false, "", "entry-content-mismatch", ["index": "\(receipt.logIndex)", "kind": receipt.kind.rawValue, "reason": "\(error)"])
        }
        return results
    }

    /// The English sentence of every failure code, with its `{value}` placeholders.
    public static let failureTemplates: [String: String] = [
        "receipt-signature-invalid": "the receipt's signature does not verify under the election's server key {key}…",
        "checkpoint-signature-invalid": "the receipt's checkpoint (tree size {size}) is not signed by the election's server key",
        "election-mismatch": "the receipt names election {receipt_election}… and its checkpoint {checkpoint_election}…, not {election}…",
        "leaf-hash-mismatch": "the entry's leaf hash is {computed}…, the receipt says {receipt}…",
        "inclusion-invalid": "the inclusion proof of entry {index} does not reach the checkpoint's root: {reason}",
        "entry-content-mismatch": "log entry {index} does not hold the {kind} the receipt names: {reason}",
        "entry-index-mismatch": "log entry {index} does not hold the {kind} the receipt names: mismatch: entry index {entry_index} but receipt index {index}",
        "entry-other-election": "log entry {index} does not hold the {kind} the receipt names: mismatch: entry names another election",
        "entry-kind-mismatch": "log entry {index} does not hold the {kind} the receipt names: mismatch: entry is a {entry_kind}, not a {expected_kind}",
        "ballot-code-mismatch": "log entry {index} does not hold the {kind} the receipt names: mismatch: logged ballot has tracking code {code}",
        "ballot-unsigned": "log entry {index} does not hold the {kind} the receipt names: mismatch: the logged ballot is not validly signed for this election",
        "spoiled-code-mismatch": "log entry {index} does not hold the {kind} the receipt names: mismatch: logged spoiled ballot has tracking code {code}",
        "spoiled-other-election": "log entry {index} does not hold the {kind} the receipt names: mismatch: the logged spoiled ballot names another election",
        "supervised-code-mismatch": "log entry {index} does not hold the {kind} the receipt names: mismatch: logged supervised ballot has tracking code {code}",
        "supervised-other-election": "log entry {index} does not hold the {kind} the receipt names: mismatch: the logged supervised ballot names another election",
        "enrollment-other-key": "log entry {index} does not hold the {kind} the receipt names: mismatch: logged enrollment is for another key",
        "payload-differs": "log entry {index} does not hold the {kind} the receipt names: mismatch: the logged {kind} differs from what was submitted",
    ]

    /// Why a log entry is not what the receipt names: a code from `failureTemplates` and its values.
    private struct ContentMismatch: Error {
        let code: String
        let values: [String: String]
        init(_ code: String, _ values: [String: String] = [:]) {
            self.code = code
            self.values = values
        }
    }
}
