public import Foundation

/// Names of an election, district or option in other languages, by language code (e.g.
/// `ky`, `ru`); the manifest's own `name` is shown where a language has none. Canonically a
/// list of (language, name) pairs in ascending language order (docs/protocol.md §4.1).
public struct LocalizedNames: Sendable, Hashable, Codable {
    public let byLanguage: [String: String]

    public init(_ byLanguage: [String: String] = [:]) { self.byLanguage = byLanguage }

    public static let none = LocalizedNames()

    /// Pairs in ascending byte order of the language code: the canonical order.
    public var sorted: [(language: String, name: String)] {
        byLanguage.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) }.map { ($0.key, $0.value) }
    }

    /// The name in `language`, or `fallback` when the manifest gives none.
    public func name(_ language: String?, fallback: String) -> String {
        language.flatMap { byLanguage[$0] } ?? fallback
    }

    public init(from decoder: any Decoder) throws {
        byLanguage = try decoder.singleValueContainer().decode([String: String].self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(byLanguage)
    }

    func write(to w: inout CanonicalWriter) {
        w.list(sorted) { w, pair in
            w.string(pair.language)
            w.string(pair.name)
        }
    }

    /// Reads the pairs; they must be in strictly ascending language order (so each language once).
    static func read(from r: inout CanonicalReader) throws -> LocalizedNames {
        let pairs = try r.list { r in (try r.string(), try r.string()) }
        for (a, b) in zip(pairs, pairs.dropFirst()) where !Array(a.0.utf8).lexicographicallyPrecedes(Array(b.0.utf8)) {
            throw RecordError.mismatch("names are not in strictly ascending language order")
        }
        return LocalizedNames(Dictionary(pairs, uniquingKeysWith: { first, _ in first }))
    }

    /// Validation problems of the language codes and names, prefixed with `owner`.
    func problems(_ owner: String) -> [String] {
        var out: [String] = []
        for (language, name) in sorted {
            let u = Array(language.utf8)
            if u.count < 2 || u.count > 8 || !u.allSatisfy({ $0 >= 0x61 && $0 <= 0x7a }) {
                out.append("\(owner): language code \"\(language)\" must be 2 to 8 letters a-z")
            }
            if name.isEmpty || name.utf8.count > 200 { out.append("\(owner): the \(language) name must be 1 to 200 bytes") }
        }
        return out
    }
}

/// An option on a district's ballot: a candidate, a party list, or "against all". An option
/// that is not electable (such as "against all") is counted but never wins a seat.
public struct BallotOption: Codable, Sendable, Hashable {
    public let id: String
    public let name: String
    public let names: LocalizedNames
    public let electable: Bool

    enum CodingKeys: String, CodingKey { case id, name, names, electable }

    public init(id: String, name: String, names: LocalizedNames = .none, electable: Bool = true) {
        self.id = id
        self.name = name
        self.names = names
        self.electable = electable
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        names = try c.decodeIfPresent(LocalizedNames.self, forKey: .names) ?? .none
        electable = try c.decodeIfPresent(Bool.self, forKey: .electable) ?? true
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        if !names.byLanguage.isEmpty { try c.encode(names, forKey: .names) }
        if !electable { try c.encode(false, forKey: .electable) }
    }

    public func displayName(_ language: String?) -> String { names.name(language, fallback: name) }
}

/// A district (constituency) and its one contest.
public struct District: Codable, Sendable, Hashable {
    public let id: String
    public let name: String
    public let names: LocalizedNames
    /// How many options win (the `seats` electable options with the most votes).
    public let seats: Int
    /// How many options each voter marks; a ballot marks exactly this many.
    public let selectionLimit: Int
    public let options: [BallotOption]

    enum CodingKeys: String, CodingKey {
        case id, name, names, seats, options
        case selectionLimit = "selection_limit"
    }

    public init(id: String, name: String, names: LocalizedNames = .none, seats: Int, selectionLimit: Int, options: [BallotOption]) {
        self.id = id
        self.name = name
        self.names = names
        self.seats = seats
        self.selectionLimit = selectionLimit
        self.options = options
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(String.self, forKey: .id)
        name = try c.decode(String.self, forKey: .name)
        names = try c.decodeIfPresent(LocalizedNames.self, forKey: .names) ?? .none
        seats = try c.decode(Int.self, forKey: .seats)
        selectionLimit = try c.decode(Int.self, forKey: .selectionLimit)
        options = try c.decode([BallotOption].self, forKey: .options)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(name, forKey: .name)
        if !names.byLanguage.isEmpty { try c.encode(names, forKey: .names) }
        try c.encode(seats, forKey: .seats)
        try c.encode(selectionLimit, forKey: .selectionLimit)
        try c.encode(options, forKey: .options)
    }

    public func option(_ id: String) -> BallotOption? { options.first { $0.id == id } }

    public func displayName(_ language: String?) -> String { names.name(language, fallback: name) }
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

/// The election definition the commission publishes in log entry 0. Its canonical encoding
/// is hashed into the election hash together with the election's keys and a nonce drawn at
/// creation (docs/protocol.md eq. 1), so two elections from one manifest never share a hash.
public struct ElectionManifest: Codable, Sendable, Hashable {
    public let electionId: String
    public let name: String
    public let names: LocalizedNames
    public let districts: [District]
    public let trustees: TrusteePolicy

    enum CodingKeys: String, CodingKey {
        case electionId = "election_id"
        case name, names, districts, trustees
    }

    public init(electionId: String, name: String, names: LocalizedNames = .none, districts: [District], trustees: TrusteePolicy) {
        self.electionId = electionId
        self.name = name
        self.names = names
        self.districts = districts
        self.trustees = trustees
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        electionId = try c.decode(String.self, forKey: .electionId)
        name = try c.decode(String.self, forKey: .name)
        names = try c.decodeIfPresent(LocalizedNames.self, forKey: .names) ?? .none
        districts = try c.decode([District].self, forKey: .districts)
        trustees = try c.decode(TrusteePolicy.self, forKey: .trustees)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(electionId, forKey: .electionId)
        try c.encode(name, forKey: .name)
        if !names.byLanguage.isEmpty { try c.encode(names, forKey: .names) }
        try c.encode(districts, forKey: .districts)
        try c.encode(trustees, forKey: .trustees)
    }

    public func district(_ id: String) -> District? { districts.first { $0.id == id } }

    public func displayName(_ language: String?) -> String { names.name(language, fallback: name) }

    /// docs/protocol.md §4.1.
    public var canonicalBytes: [UInt8] {
        var w = CanonicalWriter(tag: .manifest)
        w.string(electionId)
        w.string(name)
        names.write(to: &w)
        w.list(districts) { w, d in
            w.string(d.id)
            w.string(d.name)
            d.names.write(to: &w)
            w.u32(UInt32(clamping: d.seats))
            w.u32(UInt32(clamping: d.selectionLimit))
            w.list(d.options) { w, o in
                w.string(o.id)
                w.string(o.name)
                o.names.write(to: &w)
                w.u8(o.electable ? 1 : 0)
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
        let names = try LocalizedNames.read(from: &r)
        let districts = try r.list { r in
            District(
                id: try r.string(), name: try r.string(), names: try LocalizedNames.read(from: &r),
                seats: Int(try r.u32()), selectionLimit: Int(try r.u32()),
                options: try r.list { r in
                    let id = try r.string(), name = try r.string(), names = try LocalizedNames.read(from: &r)
                    let flag = try r.u8()
                    guard flag <= 1 else { throw RecordError.unknownValue("electable flag \(flag)") }
                    return BallotOption(id: id, name: name, names: names, electable: flag == 1)
                })
        }
        let trustees = TrusteePolicy(count: Int(try r.u32()), quorum: Int(try r.u32()))
        try r.finish()
        return ElectionManifest(electionId: id, name: name, names: names, districts: districts, trustees: trustees)
    }

    /// SHA-256 of the canonical manifest: names the manifest (not the election; see
    /// `ElectionSetup.electionHash`).
    public var manifestHash: Digest { SHA256.hash(canonicalBytes) }

    /// Checks identifiers, sizes and limits; returns every problem found.
    public func problems() -> [String] {
        var out: [String] = []
        if !Identifier.isValid(electionId) { out.append("election_id \"\(electionId)\" \(Identifier.rule)") }
        if name.isEmpty || name.utf8.count > 200 { out.append("name must be 1 to 200 bytes") }
        out += names.problems("election")
        if districts.isEmpty || districts.count > 1000 { out.append("an election needs 1 to 1000 districts") }
        if trustees.count < 1 || trustees.count > 32 { out.append("trustees.count must be 1 to 32") }
        if trustees.quorum < 1 || trustees.quorum > trustees.count { out.append("trustees.quorum must be 1 to trustees.count") }
        var seenDistricts = Set<String>()
        for d in districts {
            if !Identifier.isValid(d.id) { out.append("district id \"\(d.id)\" \(Identifier.rule)") }
            if !seenDistricts.insert(d.id).inserted { out.append("district id \"\(d.id)\" appears twice") }
            if d.name.isEmpty || d.name.utf8.count > 200 { out.append("district \(d.id): name must be 1 to 200 bytes") }
            out += d.names.problems("district \(d.id)")
            if d.options.count < 2 || d.options.count > 64 { out.append("district \(d.id): needs 2 to 64 options") }
            let electable = d.options.filter(\.electable).count
            if d.seats < 1 || d.seats > electable {
                out.append("district \(d.id): seats must be 1 to the number of electable options (\(electable))")
            }
            if d.selectionLimit < 1 || d.selectionLimit > d.options.count {
                out.append("district \(d.id): selection_limit must be 1 to the number of options")
            }
            var seenOptions = Set<String>()
            for o in d.options {
                if !Identifier.isValid(o.id) { out.append("district \(d.id): option id \"\(o.id)\" \(Identifier.rule)") }
                if !seenOptions.insert(o.id).inserted { out.append("district \(d.id): option id \"\(o.id)\" appears twice") }
                if o.name.isEmpty || o.name.utf8.count > 200 { out.append("district \(d.id): option \(o.id) name must be 1 to 200 bytes") }
                out += o.names.problems("district \(d.id): option \(o.id)")
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
