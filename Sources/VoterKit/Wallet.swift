public import Foundation
import Synchronization
public import VotingCore
#if canImport(Glibc)
import Glibc
#endif

/// What a voter keeps after enrolling: the private key (file mode 0600), the election and
/// server key it enrolled with (trust on first use, anchored in log entry 0), its district
/// and the enrollment receipt.
public struct Wallet: Codable, Sendable {
    public let server: String
    public let electionHash: Digest
    public let serverKey: Ed25519PublicKey
    public let district: String
    public let voterKey: Ed25519PublicKey
    /// RFC 8032 seed, hex.
    let privateKey: HexBytes
    public let enrollment: LoggedReceipt

    enum CodingKeys: String, CodingKey {
        case server
        case electionHash = "election_hash"
        case serverKey = "server_key"
        case district
        case voterKey = "voter_key"
        case privateKey = "private_key"
        case enrollment
    }

    public init(server: String, electionHash: Digest, serverKey: Ed25519PublicKey, district: String,
                key: Ed25519PrivateKey, enrollment: LoggedReceipt) throws {
        self.server = server
        self.electionHash = electionHash
        self.serverKey = serverKey
        self.district = district
        self.voterKey = key.publicKey
        self.privateKey = HexBytes(try key.rawRepresentation)
        self.enrollment = enrollment
    }

    public func signingKey() throws -> Ed25519PrivateKey {
        let key = try Ed25519PrivateKey(rawRepresentation: privateKey.bytes)
        guard key.publicKey == voterKey else { throw VoterError("bad-wallet", "the wallet's private key does not match its public key; the file is damaged") }
        return key
    }

    public static func load(path: String) throws -> Wallet {
        try PrivateFile.checkPermissions(path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw VoterError("no-wallet", "cannot read wallet \(path); enroll first with `voter enroll` or pass --wallet")
        }
        do {
            return try JSONDecoder().decode(Wallet.self, from: data)
        } catch {
            throw VoterError("bad-wallet", "\(path) is not a voter wallet (\(error))")
        }
    }

    public func save(path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try PrivateFile.create(path, Array(try encoder.encode(self)))
    }
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

    public static func checkPermissions(_ path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw VoterError("no-wallet", "\(path) does not exist; enroll first with `voter enroll` or pass --wallet")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw VoterError("wallet-permissions", "\(path) is readable by other users; run `chmod 600 \(path)`")
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
