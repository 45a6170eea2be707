import Foundation
public import VotingCore

/// `voter verify`: a saved ballot receipt re-checked against the live log. The outcome
/// separates a verified ballot, evidence of tampering (data signed by this election's server
/// key that contradicts the receipt) and a check that could not be made (network, another
/// election, not an evote server), so an unreachable server is never called fraud.
public enum ReceiptCheck {
    public enum Verdict: String, Sendable, Codable {
        /// Every check passed: the ballot is in the log, unchanged, and the log only grew.
        case verified = "recorded-as-cast"
        /// Every check passed, and after the close the ballot was superseded by this voter's
        /// supervised (in-person) ballot, so it is not counted.
        case superseded
        /// Data signed by this election's server key contradicts the receipt.
        case tampering = "evidence-of-tampering"
        /// The checks could not be made; nothing is known either way.
        case couldNotCheck = "could-not-check"

        /// 0 verified (or superseded), 1 evidence of tampering, 2 could not check.
        public var exitCode: Int32 {
            switch self {
            case .verified, .superseded: return 0
            case .tampering: return 1
            case .couldNotCheck: return 2
            }
        }
    }

    public struct Outcome: Sendable {
        public let verdict: Verdict
        public let checks: [CheckResult]
        /// What to do next, in one sentence.
        public let advice: String
    }

    /// A check that failed for lack of an answer, not because of a contradiction.
    private struct Unreachable: Error { let code: String; let message: String }
    /// A signed contradiction, with a stable code (the check's `code` in the JSON).
    private struct Contradiction: Error { let code: String; let message: String }

    public static func run(client: BallotServerClient, receipt file: BallotReceiptFile) async -> Outcome {
        var results: [CheckResult] = []
        // The receipt file alone: a file that fails these was damaged or made by someone else.
        let own = localized(ReceiptVerifier(serverKey: file.serverKey, electionHash: file.electionHash)
            .verify(receipt: file.logged.receipt, entryBytes: file.logged.entry.bytes, inclusionProof: file.logged.inclusionProof), file: file)
        results += own
        let receipt = file.logged.receipt
        let codeOK = receipt.kind == .ballot && receipt.subject == file.trackingCode.digest && file.shortCode == file.trackingCode.short
        results.append(CheckResult(name: "tracking-code", passed: codeOK,
                                   detail: codeOK ? L("verify.code-ok", ["code": file.shortCode]) : L("verify.code-mismatch", ["code": file.shortCode]),
                                   code: codeOK ? nil : "tracking-code-mismatch"))
        guard own.allSatisfy(\.passed), codeOK else {
            return Outcome(verdict: .couldNotCheck, checks: results,
                           advice: L("verify.advice-bad-file"))
        }

        // Is this the receipt's election and server at all?
        do {
            let info = try await client.election()
            guard info.electionHash == file.electionHash, info.serverKey == file.serverKey else {
                results.append(CheckResult(name: "same-election", passed: false,
                                           detail: L("verify.other-election", ["server": client.baseURL, "election": "\(info.electionHash.hex.prefix(16))…",
                                                                                 "key": "\(info.serverKey.hex.prefix(16))…", "receipt_election": "\(file.electionHash.hex.prefix(16))…",
                                                                                 "receipt_key": "\(file.serverKey.hex.prefix(16))…"]),
                                           code: "other-election"))
                return Outcome(verdict: .couldNotCheck, checks: results,
                               advice: L("verify.advice-other-election", ["receipt_server": file.server]))
            }
            results.append(CheckResult(name: "same-election", passed: true, detail: L("verify.same-election", ["server": client.baseURL])))
        } catch let error as VoterError {
            results.append(CheckResult(name: "same-election", passed: false, detail: unreachableDetail(error), code: error.code))
            return Outcome(verdict: .couldNotCheck, checks: results, advice: unreachableAdvice(error, client: client))
        } catch {
            results.append(CheckResult(name: "same-election", passed: false, detail: "\(error)", code: "unreadable"))
            return Outcome(verdict: .couldNotCheck, checks: results, advice: L("verify.advice-unreadable"))
        }

        var tampered = false
        var unreachable: VoterError?
        func record(_ name: String, _ body: () async throws -> String) async {
            do {
                results.append(CheckResult(name: name, passed: true, detail: try await body()))
            } catch let error as Contradiction {
                tampered = true
                results.append(CheckResult(name: name, passed: false, detail: error.message, code: error.code))
            } catch let error as Unreachable {
                unreachable = unreachable ?? VoterError("not-this-server", error.message)
                results.append(CheckResult(name: name, passed: false, detail: L("verify.could-not-check", ["reason": error.message]), code: error.code))
            } catch let error as VoterError where ["unreachable", "bad-response"].contains(error.code) || error.code.hasPrefix("http-") || error.code == "unavailable" {
                unreachable = unreachable ?? error
                results.append(CheckResult(name: name, passed: false, detail: L("verify.could-not-check", ["reason": unreachableDetail(error)]), code: error.code))
            } catch {
                tampered = true
                results.append(CheckResult(name: name, passed: false, detail: "\(error)", code: "error"))
            }
        }

        var fresh: SignedCheckpoint?
        await record("fresh-checkpoint") {
            let cp = try await client.latestCheckpoint()
            guard cp.isValid(serverKey: file.serverKey), cp.checkpoint.electionHash == file.electionHash else {
                throw Unreachable(code: "checkpoint-unsigned", message: L("verify.checkpoint-unsigned"))
            }
            guard cp.checkpoint.treeSize >= receipt.checkpoint.checkpoint.treeSize else {
                throw Contradiction(code: "log-cut", message: L("verify.log-cut", ["now": "\(cp.checkpoint.treeSize)", "receipt": "\(receipt.checkpoint.checkpoint.treeSize)"]))
            }
            fresh = cp
            return L("verify.checkpoint", ["size": "\(cp.checkpoint.treeSize)", "root": "\(cp.checkpoint.rootHash.hex.prefix(16))…"])
        }
        if let fresh {
            let old = receipt.checkpoint.checkpoint
            let new = fresh.checkpoint
            await record("consistency") {
                if old.treeSize == new.treeSize {
                    guard old.rootHash == new.rootHash else {
                        throw Contradiction(code: "fork", message: L("verify.fork", ["size": "\(old.treeSize)"]))
                    }
                    return L("verify.same-root")
                }
                let proof = try await client.consistencyProof(first: old.treeSize, second: new.treeSize)
                do {
                    try Merkle.verifyConsistency(size1: old.treeSize, size2: new.treeSize, root1: old.rootHash.bytes,
                                                 root2: new.rootHash.bytes, proof: proof.proof.map(\.bytes))
                } catch {
                    throw Contradiction(code: "rewritten", message: L("verify.rewritten", ["now": "\(new.treeSize)", "receipt": "\(old.treeSize)"]))
                }
                return L("verify.consistent", ["receipt": "\(old.treeSize)", "now": "\(new.treeSize)"])
            }
            await record("inclusion-now") {
                let proof = try await client.inclusionProof(index: receipt.logIndex, treeSize: new.treeSize)
                do {
                    try Merkle.verifyInclusion(leafHash: receipt.leafHash.bytes, index: receipt.logIndex, treeSize: new.treeSize,
                                               proof: proof.proof.map(\.bytes), root: new.rootHash.bytes)
                } catch {
                    throw Contradiction(code: "not-included", message: L("verify.not-included", ["index": "\(receipt.logIndex)", "size": "\(new.treeSize)"]))
                }
                return L("verify.included", ["index": "\(receipt.logIndex)", "size": "\(new.treeSize)"])
            }
            await record("entry-unchanged") {
                let page = try await client.entries(start: receipt.logIndex, limit: 1)
                guard let entry = page.entries.first, entry.index == receipt.logIndex, entry.data == file.logged.entry else {
                    throw Contradiction(code: "entry-changed", message: L("verify.entry-changed", ["index": "\(receipt.logIndex)"]))
                }
                return L("verify.entry-unchanged", ["index": "\(receipt.logIndex)"])
            }
            await record("server-key-anchor") {
                let page = try await client.entries(start: 0, limit: 1)
                guard let first = page.entries.first, first.index == 0,
                      let entry = try? LogEntry.decode(canonical: first.data.bytes), entry.kind == .election,
                      let setup = try? ElectionSetup.decode(canonical: entry.payload),
                      setup.electionHash == file.electionHash, setup.serverKey == file.serverKey else {
                    throw Contradiction(code: "anchor-wrong", message: L("verify.anchor-wrong"))
                }
                let proof = try await client.inclusionProof(index: 0, treeSize: new.treeSize)
                do {
                    try Merkle.verifyInclusion(leafHash: Merkle.leafHash(first.data.bytes).bytes, index: 0, treeSize: new.treeSize,
                                               proof: proof.proof.map(\.bytes), root: new.rootHash.bytes)
                } catch {
                    throw Contradiction(code: "anchor-not-in-log", message: L("verify.anchor-not-in-log"))
                }
                return L("verify.anchor-ok")
            }
        }
        var superseded = false
        if fresh != nil {
            await record("counted") {
                let tally = try await client.tally()
                guard let aggregateIndex = tally.aggregateIndex, let aggregate = tally.aggregate else {
                    return L("verify.not-closed")
                }
                let entry = try LogEntry.decode(canonical: file.logged.entry.bytes)
                let ballot = try SignedBallot.decode(canonical: entry.payload)
                guard receipt.logIndex < aggregateIndex,
                      aggregate.districts.contains(where: { $0.district == ballot.ballot.district }) else {
                    throw Contradiction(code: "not-in-aggregate", message: L("verify.not-in-aggregate"))
                }
                // The close reveals which remote ballots supervised ballots superseded (§16).
                var start: UInt64 = receipt.logIndex
                while true {
                    let page = try await client.entries(start: start, limit: 500)
                    for body in page.entries where body.kind == .reveal {
                        let reveal = try SupersessionReveal.decode(canonical: try LogEntry.decode(canonical: body.data.bytes).payload)
                        if reveal.items.contains(where: { $0.superseded == file.trackingCode }) { superseded = true }
                    }
                    guard let next = page.next, next < aggregateIndex else { break }
                    start = next
                }
                if superseded {
                    return L("verify.superseded")
                }
                var line = L("verify.counted", ["district": ballot.ballot.district])
                if let results = tally.results, results.isValid(serverKey: file.serverKey) {
                    line += L("verify.results-published")
                }
                return line
            }
        }
        if tampered {
            return Outcome(verdict: .tampering, checks: results,
                           advice: L("verify.advice-tampering"))
        }
        if let unreachable {
            return Outcome(verdict: .couldNotCheck, checks: results, advice: unreachableAdvice(unreachable, client: client))
        }
        return Outcome(verdict: superseded ? .superseded : .verified, checks: results,
                       advice: L(superseded ? "verify.advice-superseded" : "verify.advice-verified"))
    }

    /// The receipt file's own checks (VotingCore's ReceiptVerifier) in the chosen language: a
    /// passed check's sentence from the catalog, a failed one's from its code and values.
    static func localized(_ checks: [CheckResult], file: BallotReceiptFile) -> [CheckResult] {
        let receipt = file.logged.receipt
        let values = ["key": "\(file.serverKey.hex.prefix(16))…", "election": "\(file.electionHash.hex.prefix(16))…",
                      "size": "\(receipt.checkpoint.checkpoint.treeSize)", "index": "\(receipt.logIndex)"]
        return checks.map { check in
            guard check.passed else {
                return CheckResult(name: check.name, passed: false, detail: check.localizedDetail, code: check.code, values: check.values)
            }
            guard receipt.kind == .ballot, Catalog.table(.en)["verify.own." + check.name] != nil else { return check }
            return CheckResult(name: check.name, passed: true, detail: L("verify.own." + check.name, values))
        }
    }

    static func unreachableDetail(_ error: VoterError) -> String {
        switch error.code {
        case "unreachable": return L("verify.no-answer", ["reason": error.message])
        case "bad-response": return L("verify.not-protocol", ["reason": error.message])
        default: return "\(error.code): \(error.message)"
        }
    }

    static func unreachableAdvice(_ error: VoterError, client: BallotServerClient) -> String {
        switch error.code {
        case "unreachable": return L("verify.advice-unreachable", ["server": client.baseURL])
        case "bad-response", "http-404": return L("verify.advice-not-evote", ["server": client.baseURL])
        default: return L("verify.advice-failed", ["code": error.code])
        }
    }
}
