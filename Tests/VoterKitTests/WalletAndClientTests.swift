import Foundation
import Testing
@testable import VoterKit
import VotingCore

private func temporaryPath(_ name: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("voterkit-\(UUID().uuidString)-\(name)").path
}

private func permissions(_ path: String) throws -> Int {
    try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int ?? -1
}

/// A wallet whose enrollment receipt is syntactically complete (its contents are not checked here).
private func makeWallet(key: Ed25519PrivateKey, server: Ed25519PrivateKey, electionHash: Digest) throws -> Wallet {
    let checkpoint = try Checkpoint(electionHash: electionHash, treeSize: 3, rootHash: SHA256.hash([UInt8]([1])), timestamp: 1)
        .signed(with: server)
    let receipt = try Receipt.issue(kind: .enrollment, electionHash: electionHash, subject: try #require(Digest(bytes: key.publicKey.rawRepresentation)),
                                    logIndex: 2, leafHash: SHA256.hash([UInt8]([2])), checkpoint: checkpoint, serverKey: server)
    var wallet = try Wallet(server: "http://127.0.0.1:1", electionHash: electionHash, serverKey: server.publicKey, key: key)
    wallet.district = "d1"
    wallet.enrollment = LoggedReceipt(receipt: receipt, entry: HexBytes([0]), inclusionProof: [])
    return wallet
}

@Suite("wallet and key files")
struct WalletTests {
    /// v2's wallet is a state file: `create` makes it once (never over another wallet), and
    /// each later step `save`s it by atomic replacement, still 0600, so a crash mid-write
    /// never leaves the key half written (v1 wrote it once and refused any second write).
    @Test("a wallet is created 0600 and never over another file, saved by atomic replacement, and reads back with its key")
    func walletRoundTrip() throws {
        let path = temporaryPath("wallet.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let key = try Ed25519PrivateKey()
        var wallet = try makeWallet(key: key, server: try Ed25519PrivateKey(), electionHash: SHA256.hash(Array("e".utf8)))
        try wallet.create(path: path)
        #expect(try permissions(path) == 0o600)
        let loaded = try Wallet.load(path: path)
        #expect(loaded.voterKey == key.publicKey)
        #expect(try loaded.signingKey().publicKey == key.publicKey)
        #expect(loaded.district == "d1")
        // Creating again (another enrollment into the same path) is refused and leaves the file as it was.
        let other = try makeWallet(key: try Ed25519PrivateKey(), server: try Ed25519PrivateKey(), electionHash: SHA256.hash(Array("e".utf8)))
        do {
            try other.create(path: path)
            Issue.record("a second wallet was created over the first")
        } catch let error as VoterError {
            #expect(error.code == "file-exists")
        }
        #expect(try Wallet.load(path: path).voterKey == key.publicKey)
        // A later step saves the same wallet's new state in place, still private, and leaves no temporary file.
        wallet.district = "d2"
        try wallet.save(path: path)
        #expect(try permissions(path) == 0o600)
        #expect(try Wallet.load(path: path).district == "d2")
        #expect(try Wallet.load(path: path).signingKey().publicKey == key.publicKey)
        let folder = (path as NSString).deletingLastPathComponent
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasPrefix((path as NSString).lastPathComponent + ".tmp") }
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test("a wallet readable by others is refused with a chmod hint")
    func walletPermissions() throws {
        let path = temporaryPath("wallet.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try makeWallet(key: try Ed25519PrivateKey(), server: try Ed25519PrivateKey(), electionHash: SHA256.hash([UInt8]()))
            .save(path: path)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        do {
            _ = try Wallet.load(path: path)
            Issue.record("a world-readable wallet was accepted")
        } catch let error as VoterError {
            #expect(error.code == "wallet-permissions")
            #expect(error.message.contains("chmod 600"))
        }
    }

    @Test("a wallet whose private key does not match its public key is refused")
    func tamperedWallet() throws {
        let path = temporaryPath("wallet.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try makeWallet(key: try Ed25519PrivateKey(), server: try Ed25519PrivateKey(), electionHash: SHA256.hash([UInt8]()))
            .save(path: path)
        var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
        object["private_key"] = Hex.encode(try Ed25519PrivateKey().rawRepresentation)
        try FileManager.default.removeItem(atPath: path)
        try PrivateFile.create(path, Array(try JSONSerialization.data(withJSONObject: object)))
        let wallet = try Wallet.load(path: path)
        do {
            _ = try wallet.signingKey()
            Issue.record("a mismatched key was accepted")
        } catch let error as VoterError {
            #expect(error.code == "bad-wallet")
        }
    }

    @Test("missing or malformed wallets and receipts give their codes")
    func missingFiles() throws {
        let path = temporaryPath("missing.json")
        #expect(throws: VoterError.self) { try Wallet.load(path: path) }
        #expect(throws: VoterError.self) { try BallotReceiptFile.load(path: path) }
        try Data("not json".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try BallotReceiptFile.load(path: path)
            Issue.record("garbage accepted as a receipt")
        } catch let error as VoterError {
            #expect(error.code == "bad-receipt")
        }
    }

    @Test("a trustee key file round-trips 0600 and derives the same secrets every time")
    func trusteeKeyFile() throws {
        let path = temporaryPath("trustee.json")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let key = try TrusteeKeyFile.generate(index: 2, name: "Observer")
        try key.save(path: path)
        #expect(try permissions(path) == 0o600)
        let loaded = try TrusteeKeyFile.load(path: path)
        #expect(try loaded.registration == key.registration)
        // v2: the public registration carries the trustee's own signature over it.
        #expect(try key.registration.isSelfSigned)
        #expect(try key.registration.index == 2 && key.registration.name == "Observer")
        let hash = SHA256.hash(Array("election".utf8))
        #expect(try loaded.derive("coefficient", 0, electionHash: hash) == key.derive("coefficient", 0, electionHash: hash))
        #expect(try key.derive("coefficient", 0, electionHash: hash) != key.derive("coefficient", 1, electionHash: hash))
        #expect(try key.derive("coefficient", 0, electionHash: hash) != key.derive("proof-nonce", 0, electionHash: hash))
        #expect(try key.derive("coefficient", 0, electionHash: hash) != key.derive("coefficient", 0, electionHash: SHA256.hash([UInt8]())))
    }

    @Test("a receipt file round-trips through JSON with its short code")
    func receiptFile() throws {
        let server = try Ed25519PrivateKey()
        let hash = SHA256.hash(Array("e".utf8))
        let wallet = try makeWallet(key: try Ed25519PrivateKey(), server: server, electionHash: hash)
        let code = TrackingCode(digest: SHA256.hash(Array("ballot".utf8)))
        let file = BallotReceiptFile(server: "http://127.0.0.1:1", electionHash: hash, serverKey: server.publicKey,
                                     trackingCode: code, logged: try #require(wallet.enrollment))
        let back = try JSONDecoder().decode(BallotReceiptFile.self, from: try file.jsonData())
        #expect(back.trackingCode == code)
        #expect(back.shortCode == code.short)
        #expect(back.logged == wallet.enrollment)
    }
}

@Suite("ballot preparation and the HTTP client")
struct ClientTests {
    let server: Ed25519PrivateKey
    let voter: Ed25519PrivateKey
    let manifest: ElectionManifest
    let setup: ElectionSetup
    let electionKey = GroupElement.base(Scalar(12345))

    init() throws {
        server = try Ed25519PrivateKey()
        voter = try Ed25519PrivateKey()
        manifest = ElectionManifest(electionId: "t", name: "Test", districts: [
            District(id: "d1", name: "North", seats: 1, selectionLimit: 1,
                     options: [BallotOption(id: "a", name: "A"), BallotOption(id: "b", name: "B")]),
        ], trustees: TrusteePolicy(count: 1, quorum: 1))
        setup = ElectionSetup(manifest: manifest, serverKey: server.publicKey, commissionKey: try Ed25519PrivateKey().publicKey,
                              nonce: try Nonce32.random())
    }

    var electionHash: Digest { setup.electionHash }

    func info(key: GroupElement?, serverKey: Ed25519PublicKey? = nil, hash: Digest? = nil) throws -> ElectionInfo {
        ElectionInfo(electionHash: hash ?? electionHash, manifest: manifest, serverKey: serverKey ?? server.publicKey,
                     commissionKey: setup.commissionKey, nonce: setup.nonce, state: .open, electionKey: key)
    }

    func code(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as VoterError {
            return error.code
        } catch {
            return "\(error)"
        }
    }

    @Test("a prepared ballot is encrypted for the wallet's district under a fresh ballot id, names no voter, and its opening opens it")
    func prepare() throws {
        let wallet = try makeWallet(key: voter, server: server, electionHash: electionHash)
        let (ballot, opening) = try VoterActions.prepareBallot(wallet: wallet, selections: ["b"], election: try info(key: electionKey))
        let district = try #require(manifest.district("d1"))
        #expect(ballot.district == "d1" && ballot.electionHash == electionHash)
        let context = BallotContent.context(electionHash: electionHash, electionKey: electionKey, ballotID: ballot.ballotID, district: "d1")
        #expect(ballot.content.problem(in: district, context: context) == nil)
        #expect(opening.opens(ballot.content, district: district, electionKey: electionKey))
        #expect(opening.selections == ["b"])
        // The encryption names no voter: the voter's key appears only once it is cast.
        #expect(!ballot.canonicalBytes.containsSubsequence(voter.publicKey.rawRepresentation))
        let cast = try ballot.cast(with: voter)
        #expect(cast.hasValidSignature && cast.voterKey == voter.publicKey && cast.trackingCode == ballot.trackingCode)
        // Every preparation has its own ballot id, so the device cannot reuse one.
        let (again, _) = try VoterActions.prepareBallot(wallet: wallet, selections: ["b"], election: try info(key: electionKey))
        #expect(again.ballotID != ballot.ballotID)
    }

    @Test("ballot preparation refuses another election, a changed server key, a missing election key, a bad choice and an unfinished enrollment")
    func prepareRefusals() throws {
        let wallet = try makeWallet(key: voter, server: server, electionHash: electionHash)
        #expect(code { _ = try VoterActions.prepareBallot(wallet: wallet, selections: ["a"], election: try info(key: electionKey, hash: SHA256.hash([UInt8]()))) } == "wrong-election")
        #expect(code { _ = try VoterActions.prepareBallot(wallet: wallet, selections: ["a"], election: try info(key: electionKey, serverKey: try Ed25519PrivateKey().publicKey)) } == "server-key-changed")
        #expect(code { _ = try VoterActions.prepareBallot(wallet: wallet, selections: ["a"], election: try info(key: nil)) } == "ceremony-incomplete")
        #expect(code { _ = try VoterActions.prepareBallot(wallet: wallet, selections: ["a", "b"], election: try info(key: electionKey)) } == "invalid-choice")
        #expect(code { _ = try VoterActions.prepareBallot(wallet: wallet, selections: ["zzz"], election: try info(key: electionKey)) } == "invalid-choice")
        let unenrolled = try Wallet(server: "http://127.0.0.1:1", electionHash: electionHash, serverKey: server.publicKey, key: voter)
        #expect(!unenrolled.isEnrolled)
        #expect(code { _ = try VoterActions.prepareBallot(wallet: unenrolled, selections: ["a"], election: try info(key: electionKey)) } == "not-enrolled")
    }

    /// A wallet that has cast refuses a challenge before anything is sent (the server would
    /// refuse it too, but the device must not reveal another encryption's nonces), and
    /// casting again only reports the saved receipt. The server here is unreachable, so any
    /// request sent would fail as `unreachable`.
    @Test("after casting, a challenge is refused and a second cast is the saved receipt, with nothing sent")
    func castWalletSendsNothing() async throws {
        var wallet = try makeWallet(key: voter, server: server, electionHash: electionHash)
        let receipt = BallotReceiptFile(server: wallet.server, electionHash: electionHash, serverKey: server.publicKey,
                                        trackingCode: TrackingCode(digest: SHA256.hash(Array("ballot".utf8))), logged: try #require(wallet.enrollment))
        wallet.cast = receipt
        try await BallotServerClient.withPooledHTTPClient(connections: 1) { http in
            let client = try BallotServerClient(baseURL: "http://127.0.0.1:1", http: http, timeoutSeconds: 2, attempts: 1)
            var w = wallet
            do {
                _ = try await VoterActions.challenge(client: client, wallet: &w, selections: ["a"], election: try info(key: electionKey),
                                                     store: VoterActions.NoWalletFile())
                Issue.record("a challenge after casting was sent")
            } catch let error as VoterError {
                #expect(error.code == "already-voted")
            }
            #expect(w.pendingChallenge == nil)
            let outcome = try await VoterActions.castOrResend(client: client, wallet: &w, selections: ["b"], election: try info(key: electionKey),
                                                              store: VoterActions.NoWalletFile())
            #expect(outcome.resumed)
            #expect(outcome.receipt.trackingCode == receipt.trackingCode)
            #expect(w.pendingBallot == nil)
        }
    }

    @Test("server addresses are validated and normalised")
    func urls() throws {
        #expect(try BallotServerClient(baseURL: "http://127.0.0.1:8080/").baseURL == "http://127.0.0.1:8080")
        for bad in ["ftp://127.0.0.1", "127.0.0.1:8080", "not a url", ""] {
            #expect(code { _ = try BallotServerClient(baseURL: bad) } == "bad-url", "\(bad)")
        }
    }

    @Test("a server that is not there is reported as unreachable")
    func unreachable() async throws {
        try await BallotServerClient.withPooledHTTPClient(connections: 1) { http in
            // Port 1 on loopback: nothing listens there.
            let client = try BallotServerClient(baseURL: "http://127.0.0.1:1", http: http, timeoutSeconds: 2, attempts: 1)
            do {
                _ = try await client.election()
                Issue.record("an unreachable server answered")
            } catch let error as VoterError {
                #expect(error.code == "unreachable")
            }
        }
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return false }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}
