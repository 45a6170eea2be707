public import Foundation

/// An option on a district's ballot: a candidate, a party list, or "against all".
public struct BallotOption: Codable, Sendable, Hashable {
    public let id: String
    public let name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// A district (constituency) and its one contest.
public struct District: Codable, Sendable, Hashable {
    public let id: String
    public let name: String
    /// How many options win (the `seats` options with the most votes).
    public let seats: Int
    /// How many options each voter marks; a ballot marks exactly this many.
    public let selectionLimit: Int
    public let options: [BallotOption]

    enum CodingKeys: String, CodingKey {
        case id, name, seats, options
        case selectionLimit = "selection_limit"
    }

    public init(id: String, name: String, seats: Int, selectionLimit: Int, options: [BallotOption]) {
        self.id = id
        self.name = name
        self.seats = seats
        self.selectionLimit = selectionLimit
        self.options = options
    }

    public func option(_ id: String) -> BallotOption? { options.first { $0.id == id } }
}

/// How many trustees share the election key and how many of them must take part in
/// decrypting the tally.
public struct TrusteePolicy: Codable, Sendable, Hashable {
    public let count: Int
    public let quorum: Int

    public init(count: Int, quorum: Int) {
        self.count = count
        self.quorum = quorum
    }
}

/// The election definition the commission publishes as log entry 0. Its canonical
/// encoding's SHA-256 is the election hash that every ballot, receipt and checkpoint names.
public struct ElectionManifest: Codable, Sendable, Hashable {
    public let electionId: String
    public let name: String
    public let districts: [District]
    public let trustees: TrusteePolicy

    enum CodingKeys: String, CodingKey {
        case electionId = "election_id"
        case name, districts, trustees
    }

    public init(electionId: String, name: String, districts: [District], trustees: TrusteePolicy) {
        self.electionId = electionId
        self.name = name
        self.districts = districts
        self.trustees = trustees
    }

    public func district(_ id: String) -> District? { districts.first { $0.id == id } }

    /// docs/protocol.md §4.1.
    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .manifest)
        w.string(electionId)
        w.string(name)
        w.list(districts) { w, d in
            w.string(d.id)
            w.string(d.name)
            w.u32(UInt32(clamping: d.seats))
            w.u32(UInt32(clamping: d.selectionLimit))
            w.list(d.options) { w, o in
                w.string(o.id)
                w.string(o.name)
            }
        }
        w.u32(UInt32(clamping: trustees.count))
        w.u32(UInt32(clamping: trustees.quorum))
        return w.bytes
    }

    public static func decode(canonical bytes: [UInt8]) throws -> ElectionManifest {
        var r = try CanonicalReader(bytes, tag: .manifest)
        let id = try r.string()
        let name = try r.string()
        let districts = try r.list { r in
            District(
                id: try r.string(), name: try r.string(),
                seats: Int(try r.u32()), selectionLimit: Int(try r.u32()),
                options: try r.list { r in BallotOption(id: try r.string(), name: try r.string()) })
        }
        let trustees = TrusteePolicy(count: Int(try r.u32()), quorum: Int(try r.u32()))
        try r.finish()
        return ElectionManifest(electionId: id, name: name, districts: districts, trustees: trustees)
    }

    /// The election hash (docs/protocol.md eq. 1): SHA-256 of the canonical manifest.
    public var electionHash: Digest { SHA256.hash(canonicalBytes) }

    /// Checks identifiers, sizes and limits; returns every problem found.
    public func problems() -> [String] {
        var out: [String] = []
        if !Identifier.isValid(electionId) { out.append("election_id \"\(electionId)\" \(Identifier.rule)") }
        if name.isEmpty || name.utf8.count > 200 { out.append("name must be 1 to 200 bytes") }
        if districts.isEmpty || districts.count > 1000 { out.append("an election needs 1 to 1000 districts") }
        if trustees.count < 1 || trustees.count > 32 { out.append("trustees.count must be 1 to 32") }
        if trustees.quorum < 1 || trustees.quorum > trustees.count { out.append("trustees.quorum must be 1 to trustees.count") }
        var seenDistricts = Set<String>()
        for d in districts {
            if !Identifier.isValid(d.id) { out.append("district id \"\(d.id)\" \(Identifier.rule)") }
            if !seenDistricts.insert(d.id).inserted { out.append("district id \"\(d.id)\" appears twice") }
            if d.name.isEmpty || d.name.utf8.count > 200 { out.append("district \(d.id): name must be 1 to 200 bytes") }
            if d.options.count < 2 || d.options.count > 64 { out.append("district \(d.id): needs 2 to 64 options") }
            if d.seats < 1 || d.seats > d.options.count { out.append("district \(d.id): seats must be 1 to the number of options") }
            if d.selectionLimit < 1 || d.selectionLimit > d.options.count {
                out.append("district \(d.id): selection_limit must be 1 to the number of options")
            }
            var seenOptions = Set<String>()
            for o in d.options {
                if !Identifier.isValid(o.id) { out.append("district \(d.id): option id \"\(o.id)\" \(Identifier.rule)") }
                if !seenOptions.insert(o.id).inserted { out.append("district \(d.id): option id \"\(o.id)\" appears twice") }
                if o.name.isEmpty || o.name.utf8.count > 200 { out.append("district \(d.id): option \(o.id) name must be 1 to 200 bytes") }
            }
        }
        return out
    }

    public static func load(jsonData: Data) throws -> ElectionManifest {
        let manifest = try JSONDecoder().decode(ElectionManifest.self, from: jsonData)
        let problems = manifest.problems()
        guard problems.isEmpty else { throw ManifestError.invalid(problems) }
        return manifest
    }
}

public enum ManifestError: Error, CustomStringConvertible {
    case invalid([String])
    public var description: String {
        switch self {
        case .invalid(let p): return "the manifest is invalid: " + p.joined(separator: "; ")
        }
    }
}

/// Identifiers (election, district, option): 1-64 of a-z, 0-9, '-', '_', starting alphanumeric.
public enum Identifier {
    public static let rule = "must be 1-64 characters of a-z, 0-9, '-' or '_', starting with a letter or digit"

    public static func isValid(_ s: String) -> Bool {
        let u = Array(s.utf8)
        guard !u.isEmpty, u.count <= 64 else { return false }
        for (i, c) in u.enumerated() {
            let alnum = (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)
            if i == 0 ? !alnum : !(alnum || c == 0x2d || c == 0x5f) { return false }
        }
        return true
    }
}
