import Testing
@testable import VotingCore

/// The auditor's compact per-voter table must behave like a Dictionary keyed by the 32-byte
/// key: every inserted record found again with its fields, a repeated key refused, growth
/// and long collision chains losing nothing.
@Suite("Audit: KeyedRecordTable")
struct KeyedRecordTableTests {
    struct Counter: KeyedRecord {
        let key: Key32
        var value: Int
    }

    static func key(_ rng: inout SplitMix64) -> Key32 {
        Key32(a: rng.next(), b: rng.next(), c: rng.next(), d: rng.next())
    }

    @Test func insertThenFind() {
        var table = KeyedRecordTable<Counter>()
        let k = Key32(a: 1, b: 2, c: 3, d: 4)
        #expect(table.find(k) == nil)
        let (inserted, n) = table.insert(Counter(key: k, value: 7))
        #expect(inserted && n == 0 && table.count == 1)
        #expect(table.find(k) == 0)
        #expect(table[0].value == 7)
        #expect(!table.contains(Key32(a: 1, b: 2, c: 3, d: 5)))
    }

    @Test func duplicateKeyKeepsTheFirstRecord() {
        var table = KeyedRecordTable<Counter>()
        let k = Key32(a: 9, b: 9, c: 9, d: 9)
        table.insert(Counter(key: k, value: 1))
        let again = table.insert(Counter(key: k, value: 2))
        #expect(!again.inserted && again.number == 0)
        #expect(table.count == 1 && table[0].value == 1)
    }

    @Test func updatesStayInPlace() {
        var table = KeyedRecordTable<Counter>()
        var rng = SplitMix64(state: 1)
        let keys = (0..<1000).map { _ in Self.key(&rng) }
        for (i, k) in keys.enumerated() { table.insert(Counter(key: k, value: i)) }
        for k in keys { if let n = table.find(k) { table[n].value += 1_000_000 } }
        for (i, k) in keys.enumerated() { #expect(table.find(k).map { table[$0].value } == i + 1_000_000) }
    }

    /// Crosses several slot-array doublings and more than one record page.
    @Test func growthAgainstADictionary() {
        var table = KeyedRecordTable<Counter>()
        var reference: [Key32: Int] = [:]
        var rng = SplitMix64(state: 42)
        let total = KeyedRecordTable<Counter>.pageSize * 2 + 123
        var keys: [Key32] = []
        for i in 0..<total {
            // Every tenth insert repeats an earlier key: both must refuse it the same way.
            let k = i % 10 == 9 ? keys[Int(rng.next() % UInt64(keys.count))] : Self.key(&rng)
            keys.append(k)
            let inserted = table.insert(Counter(key: k, value: i)).inserted
            #expect(inserted == (reference[k] == nil))
            if reference[k] == nil { reference[k] = i }
        }
        #expect(table.count == reference.count)
        var mismatches = 0
        for (k, v) in reference where table.find(k).map({ table[$0].value }) != v { mismatches += 1 }
        #expect(mismatches == 0)
        var absent = 0
        for _ in 0..<10_000 where table.contains(Self.key(&rng)) { absent += 1 }
        #expect(absent == 0)
    }

    /// Every key in a handful of chains: lookups must walk past other keys and wrap around.
    @Test func collisions() {
        var table = KeyedRecordTable<Counter>(hash: { Int($0.a % 3) &* 0x7FFF_FFFF })
        var reference: [Key32: Int] = [:]
        var rng = SplitMix64(state: 7)
        for i in 0..<3000 {
            let k = Self.key(&rng)
            #expect(table.insert(Counter(key: k, value: i)).inserted)
            reference[k] = i
        }
        for (k, v) in reference { #expect(table.find(k).map { table[$0].value } == v) }
        #expect(!table.contains(Self.key(&rng)))
    }

    /// What a million voters cost: the records and slots the audit keeps per voter.
    @Test func bytesPerVoter() {
        #expect(MemoryLayout<CommitmentRecord>.stride <= 96)
        #expect(MemoryLayout<VoterKeyRecord>.stride <= 64)
        var table = KeyedRecordTable<VoterKeyRecord>()
        var rng = SplitMix64(state: 3)
        for i in 0..<200_000 { table.insert(VoterKeyRecord(key: Self.key(&rng), district: 0, enrolledAt: UInt64(i), root: Int32(i))) }
        // Records (64 B) plus at most 4 slots of 4 B each, plus the last page's slack.
        #expect(table.allocatedBytes / table.count < 128)
    }
}
