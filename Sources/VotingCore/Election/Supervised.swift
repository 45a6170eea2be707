/// Supervised in-person ballots (docs/protocol.md §16). At a polling station, after the poll
/// worker has checked the voter's identity, the station's device encrypts the voter's
/// choice like a voter's device would and the station's key signs it. It supersedes the
/// voter's remote ballot, if any: still exactly one counted ballot per voter. While voting is
/// open the log says only that a station cast a ballot in a district; which roll entry it was
/// for, and which remote ballot it supersedes, stays behind a hiding commitment until the
/// close, so a vote buyer watching the voter's receipt cannot learn of the override in time.

/// A ballot cast at a station (log kind `supervised`).
public struct SupervisedBallot: Sendable, Hashable {
    public let ballot: Ballot
    public let ballotBytes: [UInt8]
    /// The station's index (its `station` entry).
    public let station: UInt32
    /// The station's signature over the supervised-cast statement.
    public let signature: Ed25519Signature
    /// SHA-256 commitment to the roll pseudonym this ballot is for, opened at the close.
    public let link: Digest

    public init(ballot: Ballot, station: UInt32, signature: Ed25519Signature, link: Digest) {
        self.init(ballot: ballot, ballotBytes: ballot.canonicalBytes, station: station, signature: signature, link: link)
    }

    init(ballot: Ballot, ballotBytes: [UInt8], station: UInt32, signature: Ed25519Signature, link: Digest) {
        self.ballot = ballot
        self.ballotBytes = ballotBytes
        self.station = station
        self.signature = signature
        self.link = link
    }

    public var trackingCode: TrackingCode { TrackingCode(digest: SHA256.hash(ballotBytes)) }

    /// What the station's key signs: `evote.v2.supervised-cast` {election_hash, station, tracking_code}.
    public static func castStatement(electionHash: Digest, station: UInt32, trackingCode: TrackingCode) -> [UInt8] {
        var w = CanonicalWriter(tag: .supervisedCast)
        w.fixed(electionHash)
        w.u32(station)
        w.fixed(trackingCode.digest)
        return w.bytes
    }

    public static func sign(ballot: Ballot, station: UInt32, key: Ed25519PrivateKey) throws -> Ed25519Signature {
        try key.signature(for: castStatement(electionHash: ballot.electionHash, station: station, trackingCode: ballot.trackingCode))
    }

    public func isSigned(by key: Ed25519PublicKey) -> Bool {
        key.isValidSignature(signature, for: Self.castStatement(electionHash: ballot.electionHash, station: station,
                                                                 trackingCode: trackingCode))
    }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .supervisedEntry)
        w.bytes(ballotBytes)
        w.u32(station)
        w.fixed(signature)
        w.fixed(link)
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> SupervisedBallot {
        var r = try CanonicalReader(bytes, tag: .supervisedEntry)
        let ballotBytes = try r.bytes()
        let station = try r.u32()
        let signature = try r.fixed(Ed25519Signature.self)
        let link = try r.fixed(Digest.self)
        try r.finish()
        return SupervisedBallot(ballot: try Ballot.decode(canonical: ballotBytes), ballotBytes: ballotBytes, station: station,
                                signature: signature, link: link)
    }

    /// The district and ballot id of a supervised entry, read without decoding its points.
    public static func header(canonical bytes: [UInt8]) throws -> (district: String, ballotID: BallotID) {
        var r = try CanonicalReader(bytes, tag: .supervisedEntry)
        return try Ballot.header(canonical: try r.bytes())
    }

    /// link = SHA-256(string("evote.v2.supersession-link") || pseudonym || blinding) (eq. 48).
    public static func link(pseudonym: Digest, blinding: Nonce32) -> Digest {
        var w = CanonicalWriter(tag: .supersessionLink)
        w.fixed(pseudonym)
        w.fixed(blinding)
        return SHA256.hash(w.bytes)
    }
}

/// At the close, what each supervised ballot was for (log kind `reveal`): the roll pseudonym
/// (the first registrar commitment of the voter's roll entry), the blinding that opens the
/// ballot's link, and the remote ballot it supersedes, as its ballot bytes (empty when the
/// voter had not cast remotely): the auditor recomputes its tracking code and takes its
/// ciphertexts out of the sum.
public struct SupersessionReveal: Sendable, Hashable {
    public struct Item: Sendable, Hashable {
        public let supervised: TrackingCode
        public let pseudonym: Digest
        public let blinding: Nonce32
        /// The superseded remote ballot's canonical ballot bytes; empty when there is none.
        public let supersededBallot: [UInt8]

        public init(supervised: TrackingCode, pseudonym: Digest, blinding: Nonce32, supersededBallot: [UInt8]) {
            self.supervised = supervised
            self.pseudonym = pseudonym
            self.blinding = blinding
            self.supersededBallot = supersededBallot
        }

        /// The tracking code of the superseded remote ballot, if any.
        public var superseded: TrackingCode? {
            supersededBallot.isEmpty ? nil : TrackingCode(digest: SHA256.hash(supersededBallot))
        }
    }

    /// Most items in one `reveal` entry; more are split over several entries of the close.
    public static let maxItemsPerEntry = 1_000

    public let items: [Item]

    public init(items: [Item]) { self.items = items }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .supersessionReveal)
        w.list(items) { w, item in
            w.fixed(item.supervised.digest)
            w.fixed(item.pseudonym)
            w.fixed(item.blinding)
            w.bytes(item.supersededBallot)
        }
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> SupersessionReveal {
        var r = try CanonicalReader(bytes, tag: .supersessionReveal)
        let items = try r.list { r in
            Item(supervised: TrackingCode(digest: try r.fixed(Digest.self)), pseudonym: try r.fixed(Digest.self),
                 blinding: try r.fixed(Nonce32.self), supersededBallot: try r.bytes())
        }
        try r.finish()
        return SupersessionReveal(items: items)
    }
}
