import Foundation
import Synchronization
import Testing
@testable import BallotServer
import VoterKit
import VotingCore

/// Kill -9 the server under load, restart it, and check that nothing acknowledged was lost.
@Suite("crash recovery", .serialized)
struct CrashRecoveryTests {
    final class Received: Sendable {
        let receipts = Mutex<[BallotReceiptFile]>([])
        let killed = Atomic<Bool>(false)

        /// Records a receipt; true exactly once, when the count reaches `threshold`.
        func add(_ receipt: BallotReceiptFile, killAt threshold: Int) -> Bool {
            let count = receipts.withLock { $0.append(receipt); return $0.count }
            return count >= threshold && !killed.exchange(true, ordering: .relaxed)
        }

        var isKilled: Bool { killed.load(ordering: .relaxed) }
    }

    @Test("SIGKILL under load at random moments, restarted each time: every receipt a client got is in the log, the log matches its checkpoints, no ballot counted twice")
    func killUnderLoad() async throws {
        let voters = 300
        let path = try Tools.temporaryDirectory("e2e-crash")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dir = DataDirectory(path: path + "/election")
        let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: try ExampleElection.manifest())
        let codes = try await store.importRoll(ExampleElection.roll(voters: voters, districts: 5), rollSecret: try dir.rollSecret(), commissionKey: try dir.commissionKey()).codes
        let trustees = try await LocalTrustees.register(in: store, commissionKey: try dir.commissionKey())

        var server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path)
        try await BallotServerClient.withPooledHTTPClient(connections: 16) { http in
            // One attempt and a short deadline: after the kill, requests fail fast instead of
            // waiting out the connection pool's reconnect backoff.
            let client = try BallotServerClient(baseURL: server.url, http: http, timeoutSeconds: 5, attempts: 1)
            try await trustees.runCeremony(client: client)
            _ = try await store.changeWindow(.open, commissionKey: try dir.commissionKey())
            let election = try await VoterActions.fetchElection(client)
            var wallets: [Wallet] = []
            for batch in stride(from: 0, to: codes.count, by: 16) {
                try await withThrowingTaskGroup(of: Wallet.self) { group in
                    for issued in codes[batch..<min(batch + 16, codes.count)] {
                        group.addTask {
                            try await VoterActions.enroll(client: client, personalNumber: issued.personalNumber, code: issued.code, election: election)
                        }
                    }
                    for try await wallet in group { wallets.append(wallet) }
                }
            }
            let ballots = try wallets.map { wallet in
                (wallet, try VoterActions.prepareBallot(wallet: wallet, selections: ["against-all"], election: election).0
                    .cast(with: try wallet.signingKey()))
            }

            // Cast with 16 clients and SIGKILL the server at a random moment, `kills` times
            // (CRASH_KILLS, default 2; scripts/crash-harness.sh runs more), restarting it each time.
            let kills = max(1, Int(ProcessInfo.processInfo.environment["CRASH_KILLS"] ?? "") ?? 2)
            var acknowledged: [BallotReceiptFile] = []
            var current = client
            var restarted = client
            for round in 0..<kills {
                let done = Set(acknowledged.map(\.trackingCode))
                let pending = ballots.filter { !done.contains($0.1.trackingCode) }
                guard pending.count > 1 else { break }
                let received = Received()
                let victim = server
                let threshold = Int.random(in: 1...max(1, pending.count / (kills - round + 1)))
                let load = current
                await withTaskGroup(of: Void.self) { group in
                    let next = WorkCounter()
                    for _ in 0..<16 {
                        group.addTask {
                            while true {
                                let i = next.take()
                                guard i < pending.count, !received.isKilled else { return }
                                if let receipt = try? await VoterActions.submit(client: load, wallet: pending[i].0, ballot: pending[i].1),
                                   received.add(receipt, killAt: threshold) {
                                    victim.stop(signal: SIGKILL)
                                }
                            }
                        }
                    }
                }
                let thisRound = received.receipts.withLock { $0 }
                #expect(thisRound.count >= threshold, "round \(round): the kill came after \(threshold) receipts")
                acknowledged += thisRound

                // Restart on the same data directory.
                server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path)
                restarted = try BallotServerClient(baseURL: server.url, http: http, timeoutSeconds: 30)
                current = try BallotServerClient(baseURL: server.url, http: http, timeoutSeconds: 5, attempts: 1)

                try await Self.checkLog(restarted, acknowledged: acknowledged, serverKey: election.serverKey)
            }
            #expect(acknowledged.count < voters, "the kills should have interrupted the load")
            print("crash harness: \(kills) kill(s) under load, \(acknowledged.count) receipts acknowledged before the kills, all still in the log")

            // Voters whose connection dropped send the same ballot again: each is stored exactly once.
            for (wallet, ballot) in ballots {
                let receipt = try await VoterActions.submit(client: restarted, wallet: wallet, ballot: ballot)
                if let earlier = acknowledged.first(where: { $0.trackingCode == ballot.trackingCode }) {
                    #expect(receipt.logged.receipt.logIndex == earlier.logged.receipt.logIndex)
                }
            }
            let ballotEntries = try await Self.checkLog(restarted, acknowledged: acknowledged, serverKey: election.serverKey)
            #expect(ballotEntries == voters)

            // The tally after the crash counts every voter exactly once.
            _ = try await store.changeWindow(.close, commissionKey: try dir.commissionKey())
            try await trustees.decrypt(client: restarted, indices: [1, 2, 3])
            let results = try #require(try await restarted.tally().results)
            #expect(results.isValid(serverKey: election.serverKey))
            let againstAll = results.results.districts.reduce(UInt64(0)) { $0 + ($1.counts.last ?? 0) }
            #expect(againstAll == UInt64(voters))
        }
        server.stop()
    }

    /// What the harness checks after every restart: every acknowledged ballot is at the index
    /// its receipt names with the same bytes; the log rebuilt from its entries equals the
    /// latest signed checkpoint and every checkpoint a receipt carried; no ballot (tracking
    /// code) and no voter key is logged twice. Returns the number of ballot entries.
    @discardableResult
    static func checkLog(_ client: BallotServerClient, acknowledged: [BallotReceiptFile], serverKey: Ed25519PublicKey) async throws -> Int {
        for receipt in acknowledged {
            let found = try await client.lookup(trackingCode: receipt.trackingCode)
            #expect(found.logIndex == receipt.logged.receipt.logIndex)
            #expect(found.entry == receipt.logged.entry)
        }
        let latest = try await client.latestCheckpoint()
        #expect(latest.isValid(serverKey: serverKey))
        var tree = InMemoryMerkleTree()
        var ballots = 0
        var codes = Set<TrackingCode>()
        var voterKeys = Set<Ed25519PublicKey>()
        var start: UInt64 = 0
        while true {
            let page = try await client.entries(start: start, limit: 1000)
            for entry in page.entries {
                #expect(entry.index == tree.size)
                tree.append(leafHash: Merkle.leafHash(entry.data.bytes))
                guard entry.kind == .ballot else { continue }
                let ballot = try SignedBallot.decode(canonical: try LogEntry.decode(canonical: entry.data.bytes).payload)
                #expect(codes.insert(ballot.trackingCode).inserted, "ballot \(ballot.trackingCode.short) logged twice")
                #expect(voterKeys.insert(ballot.voterKey).inserted, "a voter key has two ballots in the log")
                ballots += 1
            }
            guard let next = page.next else { break }
            start = next
        }
        #expect(tree.size == latest.checkpoint.treeSize)
        #expect(tree.root == latest.checkpoint.rootHash)
        for receipt in acknowledged {
            let cp = receipt.logged.receipt.checkpoint.checkpoint
            #expect(try Merkle.root(size: cp.treeSize, in: tree) == cp.rootHash, "checkpoint \(cp.treeSize) disagrees with the rebuilt log")
        }
        return ballots
    }

    @Test("the same harness with the real `voter simulate` binary as the load: every receipt it printed is in the log")
    func killUnderSimulateLoad() async throws {
        let voters = 300
        let path = try Tools.temporaryDirectory("e2e-crash-simulate")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dir = DataDirectory(path: path + "/election")
        let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: try ExampleElection.manifest())
        let codes = try await store.importRoll(ExampleElection.roll(voters: voters, districts: 5), rollSecret: try dir.rollSecret(), commissionKey: try dir.commissionKey()).codes
        let csv = "personal_number,district,code\n" + codes.map { "\($0.personalNumber),\($0.district),\($0.code)\n" }.joined()
        try csv.write(toFile: path + "/codes.csv", atomically: true, encoding: .utf8)
        let trustees = try await LocalTrustees.register(in: store, commissionKey: try dir.commissionKey())

        var server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path)
        let port = server.port
        defer { server.stop(signal: SIGKILL) }
        let client = try BallotServerClient(baseURL: server.url, timeoutSeconds: 30)
        try await trustees.runCeremony(client: client)
        _ = try await store.changeWindow(.open, commissionKey: try dir.commissionKey())
        let serverKey = store.setup.serverKey

        // The load: `voter simulate`, 16 workers, every receipt appended to a file as it arrives.
        let receiptsPath = path + "/receipts.jsonl"
        let load = BackgroundRun(Tools.voter, ["simulate", "--server", server.url, "--codes", path + "/codes.csv", "--voters", "\(voters)",
                                               "--concurrency", "16", "--receipts-out", receiptsPath, "--json"], timeout: 600)
        func received() -> [BallotReceiptFile] {
            guard let text = try? String(contentsOfFile: receiptsPath, encoding: .utf8) else { return [] }
            // A line still being written has no newline yet: only complete lines count.
            return text.split(separator: "\n", omittingEmptySubsequences: true).dropLast(text.hasSuffix("\n") ? 0 : 1)
                .compactMap { try? JSONDecoder().decode(BallotReceiptFile.self, from: Data($0.utf8)) }
        }
        let kills = max(1, Int(ProcessInfo.processInfo.environment["CRASH_KILLS"] ?? "") ?? 2)
        // One random moment in each of `kills` equal slices of the first two thirds of the run.
        let span = max(1, voters * 2 / 3 / kills)
        var thresholds = (0..<kills).map { $0 * span + Int.random(in: 1...span) }
        var killed = 0
        while let threshold = thresholds.first, !load.isFinished {
            if received().count >= threshold {
                thresholds.removeFirst()
                server.stop(signal: SIGKILL)
                killed += 1
                // Restart on the same port, so the running simulation finds it again.
                server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path, extraArguments: ["--port", "\(port)"])
            } else {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        let outcome = try await load.outcome()
        let result = try outcome.json()
        let receipts = received()
        #expect(receipts.count == result["succeeded"] as? Int, "every voter simulate counted as cast wrote its receipt: \(outcome.stdout.prefix(500))")
        // After the last restart: every receipt from before every kill, and since.
        let ballots = try await Self.checkLog(client, acknowledged: receipts, serverKey: serverKey)
        #expect(ballots >= receipts.count)
        #expect(killed >= 1, "the load finished before the first kill")
        print("crash harness (voter simulate): \(killed) kill(s), \(receipts.count) receipts printed by voter simulate "
              + "(\(result["failed"] as? Int ?? -1) voters failed while the server was down: \(result["failures_by_code"] ?? [:])), "
              + "all in the log at their indices; \(ballots) ballots logged, none twice")
    }
}
