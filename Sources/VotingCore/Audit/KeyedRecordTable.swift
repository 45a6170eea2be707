/// A record the auditor keeps per voter, commitment or ballot id, found by its 32-byte key.
protocol KeyedRecord {
    var key: Key32 { get }
}

/// An insert-only hash table of fixed-size records for the auditor's per-voter state, so a
/// million voters cost a few hundred bytes each instead of a Swift `Dictionary` per table
/// (which held ≈1.3 KB per voter over four of them). Records live in fixed-size pages that
/// never move, numbered in insertion order; an open-addressing array of 32-bit record
/// numbers (linear probing, load ≤ ½) finds them. Growing rehashes only that array.
struct KeyedRecordTable<Record: KeyedRecord> {
    /// Records per page: 64 Ki records is 2–6 MiB of contiguous memory, and the last page is
    /// the only slack.
    static var pageSize: Int { 1 << 16 }

    private var pages: [[Record]] = []
    /// Record number + 1 per slot; 0 is an empty slot.
    private var slots: [UInt32]
    private var mask: Int
    private let hash: @Sendable (Key32) -> Int
    private(set) var count = 0

    /// `hash` is replaceable for tests (collisions on purpose); the default is Swift's seeded
    /// SipHash, so keys chosen by a hostile record (ballot ids) cannot be aimed at one chain.
    init(capacity: Int = 16, hash: @escaping @Sendable (Key32) -> Int = { $0.hashValue }) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [UInt32](repeating: 0, count: size)
        mask = size - 1
        self.hash = hash
    }

    /// Bytes held by the pages and the slot array (what a million voters cost).
    var allocatedBytes: Int {
        pages.reduce(0) { $0 + $1.capacity * MemoryLayout<Record>.stride } + slots.capacity * MemoryLayout<UInt32>.stride
    }

    /// The number of the record with `key`, or nil.
    func find(_ key: Key32) -> Int? {
        var i = hash(key) & mask
        while true {
            let s = slots[i]
            if s == 0 { return nil }
            let n = Int(s) - 1
            if self[n].key == key { return n }
            i = (i + 1) & mask
        }
    }

    func contains(_ key: Key32) -> Bool { find(key) != nil }

    /// Adds `record` unless its key is present; returns its number and whether it was added.
    @discardableResult
    mutating func insert(_ record: Record) -> (inserted: Bool, number: Int) {
        if let n = find(record.key) { return (false, n) }
        if (count + 1) * 2 > slots.count { grow() }
        let n = count
        if n % Self.pageSize == 0 {
            var page: [Record] = []
            page.reserveCapacity(Self.pageSize)
            pages.append(page)
        }
        pages[n / Self.pageSize].append(record)
        count += 1
        place(n, key: record.key)
        return (true, n)
    }

    /// The record numbered `number` (from `find` or `insert`); its key must not change.
    subscript(number: Int) -> Record {
        get { pages[number / Self.pageSize][number % Self.pageSize] }
        set {
            precondition(newValue.key == self[number].key, "a record's key is its place in the table")
            pages[number / Self.pageSize][number % Self.pageSize] = newValue
        }
    }

    private mutating func place(_ number: Int, key: Key32) {
        var i = hash(key) & mask
        while slots[i] != 0 { i = (i + 1) & mask }
        slots[i] = UInt32(number + 1)
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [UInt32](repeating: 0, count: size)
        mask = size - 1
        for n in 0..<count { place(n, key: self[n].key) }
    }
}

/// A key with nothing else (ballot ids already in the log).
struct KeyOnly: KeyedRecord {
    let key: Key32
}

/// What the auditor keeps for each registrar commitment (64 + 32 bytes).
struct CommitmentRecord: KeyedRecord {
    enum Status: UInt8 { case fresh, used, retired }
    /// The commitment value.
    let key: Key32
    /// The tracking code of the roll entry's counted remote ballot (only on a root, when `hasBallot`).
    var ballot = Key32.zero
    let saltHigh: UInt64, saltLow: UInt64
    let district: Int32
    /// The record number of the roll entry's first commitment (a reissue's new commitment
    /// inherits the old one's root; a roll commitment is its own root).
    let root: Int32
    /// The voter record number of the key whose enrollment opened it, or -1.
    var opener: Int32 = -1
    var status: Status = .fresh
    var hasBallot = false

    init(key: Key32, salt: Salt16, district: Int32, root: Int32) {
        self.key = key
        saltHigh = salt.hi
        saltLow = salt.lo
        self.district = district
        self.root = root
    }

    var salt: Salt16 { Salt16(hi: saltHigh, lo: saltLow) }
}

/// What the auditor keeps for each enrolled voter key (64 bytes).
struct VoterKeyRecord: KeyedRecord {
    let key: Key32
    let enrolledAt: UInt64
    /// The entry of the reissue that revoked the key, or `UInt64.max`.
    var revokedAt = UInt64.max
    let district: Int32
    /// The record number of the opened commitment's root, or -1 (an enrollment that failed check 7).
    let root: Int32
    var hasBallot = false

    init(key: Key32, district: Int32, enrolledAt: UInt64, root: Int32) {
        self.key = key
        self.district = district
        self.enrolledAt = enrolledAt
        self.root = root
    }

    var revoked: UInt64? { revokedAt == .max ? nil : revokedAt }
}
