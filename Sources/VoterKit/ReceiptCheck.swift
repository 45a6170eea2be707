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
    private struct Unreachable: Error { let message: String }
    /// A signed contradiction.
    private struct Contradiction: Error { let message: String }

    public static func run(client: BallotServerClient, receipt file: BallotReceiptFile) async -> Outcome {
        var results: [CheckResult] = []
        // The receipt file alone: a file that fails these was damaged or made by someone else.
        let own = ReceiptVerifier(serverKey: file.serverKey, electionHash: file.electionHash)
            .verify(receipt: file.logged.receipt, entryBytes: file.logged.entry.bytes, inclusionProof: file.logged.inclusionProof)
        results += own
        let receipt = file.logged.receipt
        let codeOK = receipt.kind == .ballot && receipt.subject == file.trackingCode.digest && file.shortCode == file.trackingCode.short
        results.append(CheckResult(name: "tracking-code", passed: codeOK,
                                   detail: codeOK ? "the receipt is for ballot \(file.shortCode)"
                                                  : "the file's tracking code \(file.shortCode) is not the ballot the signed receipt names"))
        guard own.allSatisfy(\.passed), codeOK else {
            return Outcome(verdict: .couldNotCheck, checks: results,
                           advice: "The receipt file itself does not verify (damaged, edited, or not from this election's server), so it proves nothing either way; use the receipt file `voter cast` saved, or fetch it again with `voter receipt`.")
        }

        // Is this the receipt's election and server at all?
        do {
            let info = try await client.election()
            guard info.electionHash == file.electionHash, info.serverKey == file.serverKey else {
                results.append(CheckResult(name: "same-election", passed: false,
                                           detail: "\(client.baseURL) runs election \(info.electionHash.hex.prefix(16))… with server key \(info.serverKey.hex.prefix(16))…, not the receipt's election \(file.electionHash.hex.prefix(16))… and key \(file.serverKey.hex.prefix(16))…"))
                return Outcome(verdict: .couldNotCheck, checks: results,
                               advice: "This server runs another election; check the address (the receipt names \(file.server)) and verify against the server of the receipt's election.")
            }
            results.append(CheckResult(name: "same-election", passed: true, detail: "\(client.baseURL) runs the receipt's election with its server key"))
        } catch let error as VoterError {
            results.append(CheckResult(name: "same-election", passed: false, detail: unreachableDetail(error)))
            return Outcome(verdict: .couldNotCheck, checks: results, advice: unreachableAdvice(error, client: client))
        } catch {
            results.append(CheckResult(name: "same-election", passed: false, detail: "\(error)"))
            return Outcome(verdict: .couldNotCheck, checks: results, advice: "The server's answer could not be read; try again later.")
        }

        var tampered = false
        var unreachable: VoterError?
        func record(_ name: String, _ body: () async throws -> String) async {
            do {
                results.append(CheckResult(name: name, passed: true, detail: try await body()))
            } catch let error as Contradiction {
                tampered = true
                results.append(CheckResult(name: name, passed: false, detail: error.message))
            } catch let error as Unreachable {
                unreachable = unreachable ?? VoterError("not-this-server", error.message)
                results.append(CheckResult(name: name, passed: false, detail: "could not check: \(error.message)"))
            } catch let error as VoterError where ["unreachable", "bad-response"].contains(error.code) || error.code.hasPrefix("http-") || error.code == "unavailable" {
                unreachable = unreachable ?? error
                results.append(CheckResult(name: name, passed: false, detail: "could not check: \(unreachableDetail(error))"))
            } catch {
                tampered = true
                results.append(CheckResult(name: name, passed: false, detail: "\(error)"))
            }
        }

        var fresh: SignedCheckpoint?
        await record("fresh-checkpoint") {
            let cp = try await client.latestCheckpoint()
            guard cp.isValid(serverKey: file.serverKey), cp.checkpoint.electionHash == file.electionHash else {
                throw Unreachable(message: "the latest checkpoint is not signed by the election's server key")
            }
            guard cp.checkpoint.treeSize >= receipt.checkpoint.checkpoint.treeSize else {
                throw Contradiction(message: "the server now signs a log of \(cp.checkpoint.treeSize) entries, fewer than the \(receipt.checkpoint.checkpoint.treeSize) on your receipt: the log was cut")
            }
            fresh = cp
            return "latest checkpoint: tree size \(cp.checkpoint.treeSize), root \(cp.checkpoint.rootHash.hex.prefix(16))…, signed by the server key"
        }
        if let fresh {
            let old = receipt.checkpoint.checkpoint
            let new = fresh.checkpoint
            await record("consistency") {
                if old.treeSize == new.treeSize {
                    guard old.rootHash == new.rootHash else {
                        throw Contradiction(message: "the server signed two different roots for tree size \(old.treeSize) (a fork)")
                    }
                    return "no entries since the receipt; same root"
                }
                let proof = try await client.consistencyProof(first: old.treeSize, second: new.treeSize)
                do {
                    try Merkle.verifyConsistency(size1: old.treeSize, size2: new.treeSize, root1: old.rootHash.bytes,
                                                 root2: new.rootHash.bytes, proof: proof.proof.map(\.bytes))
                } catch {
                    throw Contradiction(message: "the log of \(new.treeSize) entries is not an extension of the one on your receipt (\(old.treeSize) entries): history was rewritten")
                }
                return "the log grew from \(old.treeSize) to \(new.treeSize) entries without changing any of the first \(old.treeSize)"
            }
            await record("inclusion-now") {
                let proof = try await client.inclusionProof(index: receipt.logIndex, treeSize: new.treeSize)
                do {
                    try Merkle.verifyInclusion(leafHash: receipt.leafHash.bytes, index: receipt.logIndex, treeSize: new.treeSize,
                                               proof: proof.proof.map(\.bytes), root: new.rootHash.bytes)
                } catch {
                    throw Contradiction(message: "your ballot's entry \(receipt.logIndex) is not in the latest signed tree of \(new.treeSize) entries")
                }
                return "entry \(receipt.logIndex) is in the latest tree of \(new.treeSize) entries"
            }
            await record("entry-unchanged") {
                let page = try await client.entries(start: receipt.logIndex, limit: 1)
                guard let entry = page.entries.first, entry.index == receipt.logIndex, entry.data == file.logged.entry else {
                    throw Contradiction(message: "the server now serves different bytes for entry \(receipt.logIndex) than your receipt's")
                }
                return "the server still serves the same bytes for entry \(receipt.logIndex)"
            }
            await record("server-key-anchor") {
                let page = try await client.entries(start: 0, limit: 1)
                guard let first = page.entries.first, first.index == 0,
                      let entry = try? LogEntry.decode(canonical: first.data.bytes), entry.kind == .election,
                      let setup = try? ElectionSetup.decode(canonical: entry.payload),
                      setup.electionHash == file.electionHash, setup.serverKey == file.serverKey else {
                    throw Contradiction(message: "log entry 0 does not publish this election and this server key")
                }
                let proof = try await client.inclusionProof(index: 0, treeSize: new.treeSize)
                do {
                    try Merkle.verifyInclusion(leafHash: Merkle.leafHash(first.data.bytes).bytes, index: 0, treeSize: new.treeSize,
                                               proof: proof.proof.map(\.bytes), root: new.rootHash.bytes)
                } catch {
                    throw Contradiction(message: "entry 0 as served is not the entry 0 of the signed log")
                }
                return "log entry 0 publishes this election and this server key"
            }
        }
        var superseded = false
        if fresh != nil {
            await record("counted") {
                let tally = try await client.tally()
                guard let aggregateIndex = tally.aggregateIndex, let aggregate = tally.aggregate else {
                    return "voting has not closed yet; after the close your ballot is in the published aggregate, unless you vote again in person"
                }
                let entry = try LogEntry.decode(canonical: file.logged.entry.bytes)
                let ballot = try SignedBallot.decode(canonical: entry.payload)
                guard receipt.logIndex < aggregateIndex,
                      aggregate.districts.contains(where: { $0.district == ballot.ballot.district }) else {
                    throw Contradiction(message: "your ballot is not before the aggregate of its district")
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
                    return "after the close, the log shows your remote ballot was superseded by your supervised (in-person) ballot; the in-person one is counted, this one is not"
                }
                var line = "the ballot precedes the close, so it is summed in district \(ballot.ballot.district)'s aggregate"
                if let results = tally.results, results.isValid(serverKey: file.serverKey) {
                    line += "; signed results are published (`voter results`; `voter audit` re-checks the whole sum)"
                }
                return line
            }
        }
        if tampered {
            return Outcome(verdict: .tampering, checks: results,
                           advice: "Data signed by this election's server key contradicts your receipt: keep this output and the receipt file and report it to the election commission and observers.")
        }
        if let unreachable {
            return Outcome(verdict: .couldNotCheck, checks: results, advice: unreachableAdvice(unreachable, client: client))
        }
        return Outcome(verdict: superseded ? .superseded : .verified, checks: results,
                       advice: superseded ? "If you did not vote at a polling station, report it to the commission with this output."
                                          : "Your ballot is in the log, unchanged, and the log was only appended to since your receipt.")
    }

    static func unreachableDetail(_ error: VoterError) -> String {
        switch error.code {
        case "unreachable": return "the server did not answer (\(error.message))"
        case "bad-response": return "the server's answer is not this protocol's (\(error.message))"
        default: return "\(error.code): \(error.message)"
        }
    }

    static func unreachableAdvice(_ error: VoterError, client: BallotServerClient) -> String {
        switch error.code {
        case "unreachable": return "Could not reach \(client.baseURL); check the address and your connection and run `voter verify` again. Nothing is known about your ballot until it answers."
        case "bad-response", "http-404": return "\(client.baseURL) does not answer as an evote ballot server; check the address (the receipt names its server)."
        default: return "The check could not be made (\(error.code)); try again later."
        }
    }
}
