/// The homomorphic aggregate, the trustees' partial decryptions and the results
/// (docs/protocol.md §13).

/// Per district: how many ballots were counted and the sum of their ciphertexts per option
/// (log kind `aggregate`; eq. 41).
public struct TallyAggregate: Sendable, Hashable, Codable {
    public struct District: Sendable, Hashable, Codable {
        public let district: String
        public let ballots: UInt32
        /// One per option, in manifest order. A component may be the identity (a sum can vanish).
        public let ciphertexts: [Ciphertext]

        enum CodingKeys: String, CodingKey { case district, ballots, ciphertexts }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            district = try c.decode(String.self, forKey: .district)
            ballots = try c.decode(UInt32.self, forKey: .ballots)
            ciphertexts = try c.decode([SumCiphertext].self, forKey: .ciphertexts).map(\.value)
        }

        public init(district: String, ballots: UInt32, ciphertexts: [Ciphertext]) {
            self.district = district
            self.ballots = ballots
            self.ciphertexts = ciphertexts
        }
    }

    public let districts: [District]

    public init(districts: [District]) { self.districts = districts }

    /// Sums the counted ballots' ciphertexts per district; a district without ballots has
    /// zero ballots and no ciphertexts (its counts are all zero).
    public static func sum(manifest: ElectionManifest, ballots: [(district: String, ciphertexts: [Ciphertext])]) -> TallyAggregate {
        var byDistrict: [String: [[Ciphertext]]] = [:]
        for (district, ciphertexts) in ballots { byDistrict[district, default: []].append(ciphertexts) }
        return TallyAggregate(districts: manifest.districts.map { d in
            // Only well-formed ballots (one ciphertext per option) can have been accepted.
            let cast = (byDistrict[d.id] ?? []).filter { $0.count == d.options.count }
            let sums = cast.isEmpty ? [] : (0..<d.options.count).map { option in Ciphertext.sum(cast.lazy.map { $0[option] }) }
            return District(district: d.id, ballots: UInt32(cast.count), ciphertexts: sums)
        })
    }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .aggregate)
        w.list(districts) { w, d in
            w.string(d.district)
            w.u32(d.ballots)
            w.list(d.ciphertexts) { w, c in c.write(to: &w) }
        }
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> TallyAggregate {
        var r = try CanonicalReader(bytes, tag: .aggregate)
        let districts = try r.list { r in
            District(district: try r.string(), ballots: try r.u32(),
                     ciphertexts: try r.list { Ciphertext(alpha: try $0.pointOrIdentity(), beta: try $0.pointOrIdentity()) })
        }
        try r.finish()
        return TallyAggregate(districts: districts)
    }
}

/// One trustee's share of the decryption: D = s_j * alpha for every aggregate ciphertext, each
/// with a proof (log kind `decryption`).
public struct PartialDecryption: Sendable, Hashable, Codable {
    public struct Share: Sendable, Hashable, Codable {
        /// D = s_j·alpha; the identity when alpha is.
        public let partial: GroupElement
        public let proof: DecryptionProof

        public init(partial: GroupElement, proof: DecryptionProof) {
            self.partial = partial
            self.proof = proof
        }
    }

    public let index: UInt32
    /// Per district (aggregate order), per option.
    public let districts: [[Share]]
    public let signature: Ed25519Signature

    enum CodingKeys: String, CodingKey, CaseIterable { case index, districts, signature }

    public init(index: UInt32, districts: [[Share]], signature: Ed25519Signature) {
        self.index = index
        self.districts = districts
        self.signature = signature
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.strictContainer(keyedBy: CodingKeys.self)
        index = try c.decode(UInt32.self, forKey: .index)
        districts = try c.decode([[Share]].self, forKey: .districts)
        signature = try c.decode(Ed25519Signature.self, forKey: .signature)
    }

    public static func signedBytes(electionHash: Digest, index: UInt32, districts: [[Share]]) -> [UInt8] {
        var w = CanonicalWriter(tag: .partialDecryption)
        w.fixed(electionHash)
        w.u32(index)
        w.list(districts) { w, shares in
            w.list(shares) { w, s in
                w.point(s.partial)
                s.proof.write(to: &w)
            }
        }
        return w.bytes
    }

    public func signedBytes(electionHash: Digest) -> [UInt8] {
        Self.signedBytes(electionHash: electionHash, index: index, districts: districts)
    }

    /// Computes and signs trustee `index`'s partial decryption of `aggregate` with its secret share.
    /// `nonce(district, option)` supplies each proof's secret nonce (random when nil), so a
    /// trustee that derives them from its key file publishes the same bytes every time.
    public static func make(electionHash: Digest, index: UInt32, secretShare: Scalar, aggregate: TallyAggregate,
                            signingKey: Ed25519PrivateKey,
                            nonce: ((_ district: Int, _ option: Int) throws -> Scalar)? = nil) throws -> PartialDecryption {
        let districts = try aggregate.districts.enumerated().map { (d, district) in
            try district.ciphertexts.enumerated().map { (o, ct) in
                let (D, proof) = try DecryptionProof.prove(secret: secretShare, alpha: ct.alpha, electionHash: electionHash,
                                                           u: try nonce?(d, o))
                return Share(partial: D, proof: proof)
            }
        }
        let bytes = signedBytes(electionHash: electionHash, index: index, districts: districts)
        return PartialDecryption(index: index, districts: districts, signature: try signingKey.signature(for: bytes))
    }

    /// Every public check: signature, shape, and every proof against the trustee's public share.
    public func problem(electionHash: Digest, aggregate: TallyAggregate, publicShare: GroupElement,
                        signingKey: Ed25519PublicKey) -> String? {
        guard signingKey.isValidSignature(signature, for: signedBytes(electionHash: electionHash)) else {
            return "the partial decryption of trustee \(index) is not signed by its registered key"
        }
        guard districts.count == aggregate.districts.count,
              zip(districts, aggregate.districts).allSatisfy({ $0.count == $1.ciphertexts.count }) else {
            return "the partial decryption of trustee \(index) does not match the aggregate's shape"
        }
        for (d, (shares, agg)) in zip(districts, aggregate.districts).enumerated() {
            for (o, (share, ct)) in zip(shares, agg.ciphertexts).enumerated()
            where !share.proof.verify(publicShare: publicShare, alpha: ct.alpha, partial: share.partial, electionHash: electionHash) {
                return "trustee \(index)'s decryption proof fails for district \(agg.district), option \(o + 1) (entry \(d))"
            }
        }
        return nil
    }

    public func payload(electionHash: Digest) -> [UInt8] {
        signedPayload(signedBytes(electionHash: electionHash), signature)
    }

    public static func decode(payload: [UInt8]) throws -> (PartialDecryption, Digest) {
        let (body, signature) = try openSignedPayload(payload)
        var r = try CanonicalReader(body, tag: .partialDecryption)
        let hash = try r.fixed(Digest.self)
        let index = try r.u32()
        let districts = try r.list { r in
            try r.list { r in Share(partial: try r.pointOrIdentity(), proof: try DecryptionProof.read(from: &r)) }
        }
        try r.finish()
        return (PartialDecryption(index: index, districts: districts, signature: signature), hash)
    }
}

/// The decrypted counts and winners per district (log kind `results`, signed by the server).
public struct ElectionResults: Sendable, Hashable, Codable {
    public struct District: Sendable, Hashable, Codable {
        public let district: String
        /// Voters on the roll (turnout = ballots / roll).
        public let roll: UInt32
        public let ballots: UInt32
        /// Votes per option, in manifest order.
        public let counts: [UInt64]
        /// Options certainly elected (more votes than every option outside them).
        public let elected: [String]
        /// Options tied for the remaining seats, reported and not broken; empty when none.
        public let tied: [String]

        enum CodingKeys: String, CodingKey { case district, roll, ballots, counts, elected, tied }

        public init(district: String, roll: UInt32, ballots: UInt32, counts: [UInt64], elected: [String], tied: [String]) {
            self.district = district
            self.roll = roll
            self.ballots = ballots
            self.counts = counts
            self.elected = elected
            self.tied = tied
        }
    }

    /// The trustees whose partial decryptions were combined.
    public let quorum: [UInt32]
    public let districts: [District]

    public init(quorum: [UInt32], districts: [District]) {
        self.quorum = quorum
        self.districts = districts
    }

    /// The `seats` electable options with the most votes; a tie across the last seat is
    /// reported, never broken (eq. 44). Options that are not electable ("against all") are
    /// counted but never elected or tied.
    public static func winners(options: [BallotOption], counts: [UInt64], seats: Int) -> (elected: [String], tied: [String]) {
        let electable = zip(options, counts).filter { $0.0.electable }.map { ($0.0.id, $0.1) }
        return winners(options: electable.map(\.0), counts: electable.map(\.1), seats: seats)
    }

    /// The winners of a district's published counts: none when no ballot was counted there,
    /// otherwise eq. 44 over its electable options.
    public static func winners(district: VotingCore.District, counts: [UInt64], ballots: UInt32) -> (elected: [String], tied: [String]) {
        guard ballots > 0, counts.count == district.options.count else { return ([], []) }
        return winners(options: district.options, counts: counts, seats: district.seats)
    }

    /// eq. 44 over options that are all electable.
    public static func winners(options: [String], counts: [UInt64], seats: Int) -> (elected: [String], tied: [String]) {
        guard seats >= 1 else { return ([], []) }
        let ranked = zip(options, counts).sorted {
            $0.1 != $1.1 ? $0.1 > $1.1 : Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8))
        }
        guard seats < ranked.count else { return (ranked.map(\.0), []) }
        let cutoff = ranked[seats - 1].1
        if ranked[seats].1 != cutoff { return (ranked.prefix(seats).map(\.0), []) }
        return (ranked.filter { $0.1 > cutoff }.map(\.0),
                ranked.filter { $0.1 == cutoff }.map(\.0).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) })
    }

    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .results)
        w.list(quorum) { w, q in w.u32(q) }
        w.list(districts) { w, d in
            w.string(d.district)
            w.u32(d.roll)
            w.u32(d.ballots)
            w.list(d.counts) { w, c in w.u64(c) }
            w.list(d.elected) { w, e in w.string(e) }
            w.list(d.tied) { w, t in w.string(t) }
        }
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> ElectionResults {
        var r = try CanonicalReader(bytes, tag: .results)
        let quorum = try r.list { try $0.u32() }
        let districts = try r.list { r in
            District(district: try r.string(), roll: try r.u32(), ballots: try r.u32(), counts: try r.list { try $0.u64() },
                     elected: try r.list { try $0.string() }, tied: try r.list { try $0.string() })
        }
        try r.finish()
        return ElectionResults(quorum: quorum, districts: districts)
    }

    /// Combines a quorum's partial decryptions: M = beta - Σ λ_j D_j, then t with t*G = M
    /// (eqs. 42-43). Returns nil if some count is not found within the district's ballots.
    public static func combine(manifest: ElectionManifest, aggregate: TallyAggregate, partials: [PartialDecryption],
                               roll: [String: UInt32]) -> ElectionResults? {
        let indices = partials.map { UInt64($0.index) }
        var lambdas: [Scalar] = []
        for i in indices {
            guard let l = Feldman.lagrange(i, in: indices) else { return nil }
            lambdas.append(l)
        }
        var out: [District] = []
        for (d, agg) in aggregate.districts.enumerated() {
            guard let district = manifest.district(agg.district) else { return nil }
            var counts: [UInt64] = []
            if agg.ciphertexts.isEmpty {
                counts = Array(repeating: 0, count: district.options.count)
            } else {
                for (o, ct) in agg.ciphertexts.enumerated() {
                    var combined = GroupElement.identity
                    for (p, partial) in partials.enumerated() {
                        guard d < partial.districts.count, o < partial.districts[d].count else { return nil }
                        combined = combined + lambdas[p] * partial.districts[d][o].partial
                    }
                    guard let t = DiscreteLog.solve(ct.beta - combined, bound: UInt64(agg.ballots) * UInt64(district.selectionLimit)) else {
                        return nil
                    }
                    counts.append(t)
                }
            }
            let (elected, tied) = winners(district: district, counts: counts, ballots: agg.ballots)
            out.append(District(district: agg.district, roll: roll[agg.district] ?? 0, ballots: agg.ballots, counts: counts,
                                elected: elected, tied: tied))
        }
        return ElectionResults(quorum: partials.map(\.index).sorted(), districts: out)
    }
}

/// JSON form of a summed ciphertext: like a ballot's, but a component may be the identity
/// (130 zeros in hex).
struct SumCiphertext: Decodable {
    let value: Ciphertext
    enum CodingKeys: String, CodingKey { case alpha, beta }
    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = Ciphertext(alpha: try IdentityOrPoint(from: c.superDecoder(forKey: .alpha)).value,
                           beta: try IdentityOrPoint(from: c.superDecoder(forKey: .beta)).value)
    }
}

struct IdentityOrPoint: Decodable {
    let value: GroupElement
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let bytes = Hex.decode(try c.decode(String.self)), let p = try? GroupElement(encodingAllowingIdentity: bytes) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a P-256 point: 130 lowercase hex digits, uncompressed SEC1, or 130 zeros for the identity")
        }
        value = p
    }
}

extension ElectionResults.District {
    /// Each option's share of the votes in this district, in percent with `digits` decimals,
    /// computed from the signed counts and rounded by largest remainder so that the shares
    /// add up to exactly 100 (with one mark per ballot, the share of the valid ballots; with
    /// more, of all marks). Nil when no vote was cast.
    public func shares(digits: Int = 1) -> [String]? {
        let total = counts.reduce(UInt64(0), +)
        guard total > 0, digits >= 0, digits <= 6 else { return nil }
        var unit: UInt64 = 100
        for _ in 0..<digits { unit *= 10 }
        // Floor of count·unit/total, then the leftover units to the largest remainders (ties:
        // manifest order).
        var floors = counts.map { $0 * unit / total }
        let remainders = counts.map { $0 * unit % total }
        var left = unit - floors.reduce(0, +)
        for i in remainders.indices.sorted(by: { remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1 }) where left > 0 {
            floors[i] += 1
            left -= 1
        }
        var scale: UInt64 = 1
        for _ in 0..<digits { scale *= 10 }
        return floors.map { value in
            guard digits > 0 else { return String(value) }
            let fraction = String(value % scale)
            return "\(value / scale)." + String(repeating: "0", count: digits - fraction.count) + fraction
        }
    }

    /// Ballots over the roll in percent with `digits` decimals (rounded half up); nil for an
    /// empty roll.
    public func turnout(digits: Int = 1) -> String? {
        guard roll > 0, digits >= 0, digits <= 6 else { return nil }
        var scale: UInt64 = 1
        for _ in 0..<digits { scale *= 10 }
        let value = (UInt64(ballots) * 100 * scale * 2 + UInt64(roll)) / (UInt64(roll) * 2)
        guard digits > 0 else { return String(value) }
        let fraction = String(value % scale)
        return "\(value / scale)." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
}
