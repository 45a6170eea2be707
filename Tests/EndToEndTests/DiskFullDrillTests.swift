import Foundation
import Testing
@testable import BallotServer
import VoterKit
import VotingCore

/// A small tmpfs of our own (needs root, or sudo without a password): the only way to
/// make a filesystem really full without touching the machine's disks.
enum Tmpfs {
    static func run(_ arguments: [String]) -> Bool {
        let process = Process()
        let root = getuid() == 0
        process.executableURL = URL(fileURLWithPath: root ? "/bin/mount" : "/usr/bin/sudo")
        process.arguments = root ? arguments : ["-n", "/bin/mount"] + arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    static func mount(_ path: String, megabytes: Int) -> Bool {
        (try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)) != nil
            && run(["-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0700", "tmpfs", path])
    }

    static func unmount(_ path: String) {
        let process = Process()
        let root = getuid() == 0
        process.executableURL = URL(fileURLWithPath: root ? "/bin/umount" : "/usr/bin/sudo")
        process.arguments = root ? [path] : ["-n", "/bin/umount", path]
        try? process.run()
        process.waitUntilExit()
    }

    /// Whether this machine lets the tests mount one (checked once).
    static let available: Bool = {
        guard let dir = try? Tools.temporaryDirectory("tmpfs-probe") else { return false }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        guard mount(dir + "/m", megabytes: 1) else { return false }
        unmount(dir + "/m")
        return true
    }()

    /// Writes zeros into `path` until the filesystem refuses (ENOSPC); returns the bytes written.
    static func fill(_ path: String) -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return 0 }
        defer { close(fd) }
        var total = 0
        for chunk in [1 << 20, 1 << 16, 1 << 12, 512, 1] {
            let zeros = [UInt8](repeating: 0, count: chunk)
            while zeros.withUnsafeBytes({ write(fd, $0.baseAddress, chunk) }) == chunk { total += chunk }
        }
        fsync(fd)
        return total
    }
}

/// The disk-full drill on a real filesystem with a real server process: the data directory
/// lives on a 24 MiB tmpfs, which a filler file then fills to the last byte.
@Suite("disk full drill", .serialized)
struct DiskFullDrillTests {
    @Test("a full disk: 503 unavailable and no receipt while full; casting resumes by itself once space returns",
          .enabled(if: Tmpfs.available, "cannot mount a tmpfs here (needs root or passwordless sudo); skipping the disk-full drill"))
    func diskFull() async throws {
        let work = try Tools.temporaryDirectory("e2e-disk-full")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let disk = work + "/disk"
        try #require(Tmpfs.mount(disk, megabytes: 24))
        defer { Tmpfs.unmount(disk) }

        let dir = DataDirectory(path: disk + "/election")
        let example = try ExampleElection.manifest()
        let manifest = ElectionManifest(electionId: "disk-full-drill", name: "Disk full drill", districts: Array(example.districts.prefix(2)),
                                        trustees: TrusteePolicy(count: 3, quorum: 2))
        let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: manifest)
        let codes = try await store.importRoll(ExampleElection.roll(voters: 40, districts: 2), rollSecret: try dir.rollSecret(), commissionKey: try dir.commissionKey()).codes
        let trustees = try await LocalTrustees.register(in: store, commissionKey: try dir.commissionKey())
        let server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path)
        defer { server.stop(signal: SIGKILL) }

        try await BallotServerClient.withPooledHTTPClient(connections: 2) { http in
            // One attempt per request: the drill wants to see each refusal, not the client's retries.
            let client = try BallotServerClient(baseURL: server.url, http: http, attempts: 1)
            try await trustees.runCeremony(client: client)
            _ = try await store.changeWindow(.open, commissionKey: try dir.commissionKey())
            let election = try await VoterActions.fetchElection(client)
            var wallets: [Wallet] = []
            for issued in codes {
                wallets.append(try await VoterActions.enroll(client: client, personalNumber: issued.personalNumber, code: issued.code,
                                                             election: election))
            }
            var receipts: [BallotReceiptFile] = []
            func cast(_ wallet: Wallet) async throws -> BallotReceiptFile {
                let option = try #require(election.manifest.district(try wallet.enrolledDistrict())?.options.first?.id)
                return try await VoterActions.cast(client: client, wallet: wallet, selections: [option], election: election)
            }
            for wallet in wallets.prefix(10) { receipts.append(try await cast(wallet)) }

            // Fill the disk. SQLite may still find room in pages it holds, so cast until it must grow.
            let filled = Tmpfs.fill(disk + "/filler")
            #expect(filled > 0)
            var next = 10
            var refusal: VoterError?
            while refusal == nil, next < wallets.count {
                do {
                    receipts.append(try await cast(wallets[next]))
                    next += 1
                } catch let error as VoterError {
                    refusal = error
                }
            }
            let refused = try #require(refusal, "the disk never filled")
            #expect(refused.code == "unavailable" && refused.status == 503, "\(refused)")
            #expect(refused.retryAfter == 5)
            let sizeWhileFull = try await client.latestCheckpoint().checkpoint.treeSize
            // While full, every write is refused the same way, and nothing moves in the log.
            for wallet in wallets[next...].prefix(3) {
                await #expect(throws: VoterError.self) { _ = try await cast(wallet) }
            }
            #expect(try await client.latestCheckpoint().checkpoint.treeSize == sizeWhileFull)
            let health = try await http.get(url: server.url + "/health").get()
            #expect(health.status.code == 503)

            // Free the space: the server recovers without a restart.
            try FileManager.default.removeItem(atPath: disk + "/filler")
            let freed = ContinuousClock.now
            for wallet in wallets[next...] { receipts.append(try await cast(wallet)) }
            #expect(receipts.count == wallets.count)
            print("disk-full drill: filler \(filled / 1024) KiB; \(next - 10) ballot(s) still fitted in SQLite's pages, then 503 unavailable "
                  + "(\(refused.code), Retry-After \(refused.retryAfter ?? 0) s) with the log held at \(sizeWhileFull) entries; after freeing "
                  + "space the remaining \(wallets.count - next) ballots were accepted in \(ContinuousClock.now - freed)")
            #expect(try await http.get(url: server.url + "/health").get().status.code == 200)
            // Every receipt, from before, during and after the drill, verifies against the log now.
            for receipt in receipts {
                let outcome = await ReceiptCheck.run(client: client, receipt: receipt)
                #expect(outcome.verdict == .verified, "\(outcome.checks.filter { !$0.passed })")
            }
        }
        // And the full audit of the record passes.
        let audit = try Tools.run(Tools.voter, ["audit", "--server", server.url, "--json"], timeout: 300)
        #expect(audit.status == 0, "\(audit.stdout.suffix(2000))\(audit.stderr)")
    }
}
