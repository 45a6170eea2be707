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
        let store = try ElectionStore.create(in: dir, manifest: try ExampleElection.manifest())
        let (_, codes) = try store.importRoll(ExampleElection.roll(voters: voters, districts: 5), rollSecret: try dir.rollSecret())
        let trustees = try LocalTrustees.register(in: store)

        var server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path)
        try await BallotServerClient.withPooledHTTPClient(connections: 16) { http in
            // One attempt and a short deadline: after the kill, requests fail fast instead of
            // waiting out the connection pool's reconnect backoff.
            let client = try BallotServerClient(baseURL: server.url, http: http, timeoutSeconds: 5, attempts: 1)
            try await trustees.runCeremony(client: client)
            _ = try store.changeWindow(.open, commissionKey: try dir.commissionKey())
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
                (wallet, try VoterActions.prepareBallot(wallet: wallet, selections: ["against-all"], election: election).0)
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

                // Every acknowledged ballot so far is still there at the index its receipt names.
                for receipt in acknowledged {
                    let found = try await restarted.lookup(trackingCode: receipt.trackingCode)
                    #expect(found.logIndex == receipt.logged.receipt.logIndex)
                    #expect(found.entry == receipt.logged.entry)
                }

                // The log rebuilt from its entries matches every checkpoint a receipt carried and the latest one.
                let latest = try await restarted.latestCheckpoint()
                #expect(latest.isValid(serverKey: election.serverKey))
                var tree = InMemoryMerkleTree()
                var start: UInt64 = 0
                while true {
                    let page = try await restarted.entries(start: start, limit: 1000)
                    for entry in page.entries {
                        #expect(entry.index == tree.size)
                        tree.append(leafHash: Merkle.leafHash(entry.data.bytes))
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
            var ballotEntries = 0
            var seen = Set<TrackingCode>()
            var start: UInt64 = 0
            while true {
                let page = try await restarted.entries(start: start, limit: 1000)
                for entry in page.entries where entry.kind == .ballot {
                    let logged = try LogEntry.decode(canonical: entry.data.bytes)
                    let ballot = try SignedBallot.decode(canonical: logged.payload)
                    #expect(seen.insert(ballot.trackingCode).inserted, "ballot \(ballot.trackingCode.short) logged twice")
                    ballotEntries += 1
                }
                guard let next = page.next else { break }
                start = next
            }
            #expect(ballotEntries == voters)

            // The tally after the crash counts every voter exactly once.
            _ = try store.changeWindow(.close, commissionKey: try dir.commissionKey())
            try await trustees.decrypt(client: restarted, indices: [1, 2, 3])
            let results = try #require(try await restarted.tally().results)
            #expect(results.isValid(serverKey: election.serverKey))
            let againstAll = results.results.districts.reduce(UInt64(0)) { $0 + ($1.counts.last ?? 0) }
            #expect(againstAll == UInt64(voters))
        }
        server.stop()
    }
}
