public import Foundation
import Synchronization
public import VotingCore
#if canImport(Glibc)
import Glibc
#endif

/// What a voter keeps: the private key (file mode 0600), the election and server key it
/// enrolls with (trust on first use, anchored in log entry 0), and then its district, its
/// enrollment receipt and its cast receipt. It is also where the client writes what it is
/// about to send (the enrollment request, the cast ballot, the challenge) before sending it,
/// so that running the same command again after a lost reply resends exactly that and gets
/// the original receipt (docs/protocol.md §7.4).
public struct Wallet: Codable, Sendable {
    public let server: String
    public let electionHash: Digest
    public let serverKey: Ed25519PublicKey
    public let voterKey: Ed25519PublicKey
    /// RFC 8032 seed, hex.
    let privateKey: HexBytes
    /// Set once enrolled.
    public var district: String?
    public var enrollment: LoggedReceipt?
    /// Written before the enrollment request is sent; cleared once its receipt is checked.
    public var pendingEnrollment: EnrollmentRequestBody?
    /// Written before a challenge is sent; cleared once its receipt is checked.
    public var pendingChallenge: PendingChallenge?
    /// Written before the ballot is sent; cleared once its receipt is checked.
    public var pendingBallot: SignedBallotWire?
    /// The receipt of the cast ballot, once checked.
    public var cast: BallotReceiptFile?

    /// A challenge in flight: the request and the choice it must open to.
    public struct PendingChallenge: Codable, Sendable {
        public let request: SpoilRequestBody
        public let selections: [String]
    }

    enum CodingKeys: String, CodingKey {
        case server
        case electionHash = "election_hash"
        case serverKey = "server_key"
        case voterKey = "voter_key"
        case privateKey = "private_key"
        case district, enrollment
        case pendingEnrollment = "pending_enrollment"
        case pendingChallenge = "pending_challenge"
        case pendingBallot = "pending_ballot"
        case cast
    }

    /// A new wallet with a fresh key, before enrolling.
    public init(server: String, electionHash: Digest, serverKey: Ed25519PublicKey, key: Ed25519PrivateKey) throws {
        self.server = server
        self.electionHash = electionHash
        self.serverKey = serverKey
        self.voterKey = key.publicKey
        self.privateKey = HexBytes(try key.rawRepresentation)
    }

    public var isEnrolled: Bool { district != nil && enrollment != nil }

    /// The district, once enrolled.
    public func enrolledDistrict() throws -> String {
        guard let district, enrollment != nil else {
            throw VoterError("not-enrolled", "this wallet has not finished enrolling; run `voter enroll` again with the same --wallet to complete it")
        }
        return district
    }

    public func signingKey() throws -> Ed25519PrivateKey {
        let key = try Ed25519PrivateKey(rawRepresentation: privateKey.bytes)
        guard key.publicKey == voterKey else { throw VoterError("bad-wallet", "the wallet's private key does not match its public key; the file is damaged") }
        return key
    }

    public static func load(path: String) throws -> Wallet {
        try PrivateFile.checkPermissions(path, what: "wallet", missing: "enroll first with `voter enroll` or pass --wallet")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VoterError("no-wallet", "cannot read wallet \(path); enroll first with `voter enroll` or pass --wallet")
        }
        do {
            return try JSONDecoder().decode(Wallet.self, from: data)
        } catch {
            throw VoterError("bad-wallet", "\(path) is not a voter wallet (\(CommandOutput.plain(error))); pass the wallet `voter enroll` made")
        }
    }

    private var bytes: [UInt8] {
        get throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            return Array(try encoder.encode(self))
        }
    }

    /// Creates the wallet file (never overwrites one).
    public func create(path: String) throws { try PrivateFile.create(path, try bytes) }

    /// Replaces the wallet file atomically (a new 0600 file, synced, renamed over the old one).
    public func save(path: String) throws { try PrivateFile.replace(path, try bytes) }
}

/// Files that hold secrets: created 0600 and never overwritten.
public enum PrivateFile {
    public static func create(_ path: String, _ bytes: [UInt8]) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw VoterError("file-exists", "cannot create \(path) (\(reason)); it may already exist and is never overwritten, so choose another path")
        }
        defer { close(fd) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw VoterError("io-error", "writing \(path) failed") }
            offset += n
        }
        guard fsync(fd) == 0 else { throw VoterError("io-error", "fsync of \(path) failed") }
    }

    /// Replaces `path` atomically: a temporary 0600 file beside it, synced, renamed over it.
    public static func replace(_ path: String, _ bytes: [UInt8]) throws {
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)
        try create(temporary, bytes)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw VoterError("io-error", "cannot replace \(path) (\(reason)); check the folder's permissions")
        }
        // The rename itself is durable once the directory is synced.
        let dir = open((path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent, O_RDONLY | O_CLOEXEC)
        if dir >= 0 {
            _ = fsync(dir)
            close(dir)
        }
    }

    /// Refuses a file others can read. `what` names it in the message (wallet, trustee key…).
    public static func checkPermissions(_ path: String, what: String, missing: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw VoterError(what == "wallet" ? "no-wallet" : "no-key-file", "\(path) does not exist; \(missing)")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw VoterError(what == "wallet" ? "wallet-permissions" : "key-file-permissions",
                             "\(path) (a \(what)) is readable by other users; run `chmod 600 \(path)`")
        }
    }
}

/// Receipts appended one JSON line each, as they arrive (`voter simulate --receipts-out`):
/// a harness that kills the server can then check every receipt any client was given.
public final class ReceiptLog: Sendable {
    private let fd: Int32
    private let lock = Mutex(())

    /// Creates `path` (never overwrites an existing file).
    public init(path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw VoterError("file-exists", "cannot create \(path) (\(String(cString: strerror(errno)))); it may already exist and is never overwritten, so choose another path")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Writes one receipt as a line; one write(2) per line, so lines never interleave.
    public func append(_ receipt: BallotReceiptFile) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? encoder.encode(receipt) else { return }
        line.append(UInt8(ascii: "\n"))
        lock.withLock { _ in
            _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
    }
}

/// A cast ballot's receipt as the voter keeps it (`voter cast --receipt-out`).
public struct BallotReceiptFile: Codable, Sendable {
    public let server: String
    public let electionHash: Digest
    public let serverKey: Ed25519PublicKey
    public let trackingCode: TrackingCode
    public let shortCode: String
    public let logged: LoggedReceipt

    enum CodingKeys: String, CodingKey {
        case server
        case electionHash = "election_hash"
        case serverKey = "server_key"
        case trackingCode = "tracking_code"
        case shortCode = "short_code"
        case logged
    }

    public init(server: String, electionHash: Digest, serverKey: Ed25519PublicKey, trackingCode: TrackingCode, logged: LoggedReceipt) {
        self.server = server
        self.electionHash = electionHash
        self.serverKey = serverKey
        self.trackingCode = trackingCode
        self.shortCode = trackingCode.short
        self.logged = logged
    }

    public static func load(path: String) throws -> BallotReceiptFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VoterError("no-receipt", "cannot read receipt \(path); pass the file `voter cast` saved")
        }
        do {
            return try JSONDecoder().decode(BallotReceiptFile.self, from: data)
        } catch {
            throw VoterError("bad-receipt", "\(path) is not a ballot receipt (\(error))")
        }
    }

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
