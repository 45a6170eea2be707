// Multi-scalar multiplication Σ kᵢ·Pᵢ over public points and scalars (batch verification).
// Variable time: public data only.

import Foundation

/// Multi-scalar multiplication on P-256: Straus (interleaved wNAF) for few terms, Pippenger's
/// bucket method for many (with batch-affine bucket sums once buckets fill up), chosen by a
/// cost model over the scalars' bit lengths.
enum MultiScalar {
    /// Σ kᵢ·Pᵢ. Zero scalars and identity points are allowed and contribute nothing.
    static func linearCombination(_ terms: [(ScalarN, AffinePoint)]) -> JacobianPoint {
        linearCombination(scalars: terms.map(\.0), points: terms.map(\.1))
    }

    /// Σ scalars[i]·points[i] over the first min(scalars.count, points.count) pairs.
    static func linearCombination(scalars: [ScalarN], points: [AffinePoint]) -> JacobianPoint {
        let count = min(scalars.count, points.count)
        var ks: [ScalarN] = []
        var ps: [AffinePoint] = []
        ks.reserveCapacity(count)
        ps.reserveCapacity(count)
        for i in 0..<count where !scalars[i].isZero && !points[i].isIdentity {
            ks.append(scalars[i])
            ps.append(points[i])
        }
        if ks.isEmpty { return .identity }
        switch plan(bitLengths: ks.map(\.bitLength)) {
        case .straus: return straus(scalars: ks, points: ps)
        case .jacobianBuckets(let c): return pippenger(scalars: ks, points: ps, windowBits: c)
        case .affineBuckets(let c): return pippengerBatchAffine(scalars: ks, points: ps, windowBits: c)
        }
    }

    // MARK: choosing the method

    /// A method and, for Pippenger, its window width.
    enum Plan: Equatable {
        case straus
        case jacobianBuckets(Int)
        case affineBuckets(Int)
    }

    /// Costs in nanoseconds measured in a release build on the development machine (only their
    /// ratios matter): point operations and the per-term overheads of each method.
    enum Cost {
        static let mixedAdd = 190.0
        /// A mixed addition into a Jacobian bucket, with the bucket's random access.
        static let bucketAdd = 210.0
        static let fullAdd = 258.0
        static let double = 171.0
        static let affineAdd = 133.0
        static let sortPerTerm = 8.0
        static let inversion = 4200.0
        static let strausPerTerm = 3800.0
        /// Straus adds once per w + 1 = 6 bits (width-5 NAF density).
        static let strausBitsPerAdd = 6.0
    }

    /// The cheapest method for scalars of these bit lengths (all nonzero).
    static func plan(bitLengths: [Int]) -> Plan {
        let n = Double(bitLengths.count)
        let maxBits = bitLengths.max() ?? 0
        guard maxBits > 0 else { return .straus }
        // reach[b] = number of scalars with at least b bits.
        var reach = [Int](repeating: 0, count: maxBits + 2)
        for l in bitLengths { reach[l] += 1 }
        for b in stride(from: maxBits, through: 0, by: -1) { reach[b] += reach[b + 1] }
        let totalBits = Double(bitLengths.reduce(0, +))
        var best = Plan.straus
        var bestCost = n * Cost.strausPerTerm + totalBits / Cost.strausBitsPerAdd * Cost.mixedAdd + Double(maxBits) * Cost.double
        for c in 1...16 {
            let windows = maxBits / c + 1
            let half = Double(1 << (c - 1))
            var jacobian = 0.0
            var affine = 0.0
            for w in 0..<windows {
                let active = Double(reach[min(w * c, maxBits + 1)])
                guard active > 0 else { continue }
                let occupancy = active / half
                let nonempty = half * (1 - exp(-occupancy))
                let doublings = Double(c) * Cost.double
                // Bucket sums: the running sum pays a full addition per bucket, the bucket into it
                // only when nonempty.
                jacobian += (active - nonempty) * Cost.bucketAdd + half * Cost.fullAdd + nonempty * Cost.fullAdd + doublings
                let fullest = occupancy + 2 * occupancy.squareRoot() + 1
                let rounds = fullest > 1 ? log2(fullest).rounded(.up) : 0
                // Two-level Σ j·B_j: 2·2^(c−1) affine additions in max(c−1−⌊(c−1)/2⌋, 1) rounds, plus
                // running sums over 2^⌊(c−1)/2⌋ + 2^(c−1−⌊(c−1)/2⌋) group sums.
                let lowBits = (c - 1) / 2
                let reductionRounds = Double(max(c - 1 - lowBits, 1))
                let groupSums = Double((1 << lowBits) + (1 << (c - 1 - lowBits)))
                affine += (active - nonempty) * Cost.affineAdd + active * Cost.sortPerTerm + rounds * Cost.inversion
                    + 2 * half * Cost.affineAdd + reductionRounds * Cost.inversion + 2 * groupSums * Cost.fullAdd + doublings
            }
            if jacobian < bestCost {
                bestCost = jacobian
                best = .jacobianBuckets(c)
            }
            if affine < bestCost {
                bestCost = affine
                best = .affineBuckets(c)
            }
        }
        return best
    }

    /// The Pippenger window width the cost model picks (0 when it picks Straus).
    static func windowBits(bitLengths: [Int]) -> Int {
        switch plan(bitLengths: bitLengths) {
        case .straus: return 0
        case .jacobianBuckets(let c), .affineBuckets(let c): return c
        }
    }

    /// Signed base-2^c digits of every scalar, window-major (digit w of scalar i at w·n + i),
    /// each in [−2^(c−1) + 1, 2^(c−1)], so 2^(c−1) buckets suffice.
    static func signedDigits(_ scalars: [ScalarN], c: Int, windows: Int) -> [Int32] {
        let n = scalars.count
        let half = 1 << (c - 1)
        let full = 1 << c
        var digits = [Int32](repeating: 0, count: windows * n)
        digits.withUnsafeMutableBufferPointer { d in
            scalars.withUnsafeBufferPointer { s in
                for i in 0..<n {
                    let k = s[i]
                    var carry = 0
                    let top = min(windows, k.bitLength / c + 1)
                    for w in 0..<top {
                        var raw = Int(k.bits(from: w * c, count: c)) + carry
                        if raw > half {
                            raw -= full
                            carry = 1
                        } else {
                            carry = 0
                        }
                        d[w * n + i] = Int32(raw)
                    }
                }
            }
        }
        return digits
    }

    /// Pippenger's bucket method (Pippenger 1976; Bernstein et al., "Faster batch forgery
    /// identification", 2012, §4) with signed digits; scalars nonzero, points not the identity.
    /// `windowBits` forces the width; by default the cost model picks it.
    static func pippenger(scalars: [ScalarN], points: [AffinePoint], windowBits forced: Int? = nil) -> JacobianPoint {
        let n = min(scalars.count, points.count)
        guard n > 0 else { return .identity }
        let ks = Array(scalars.prefix(n))
        let lengths = ks.map(\.bitLength)
        let maxBits = lengths.max() ?? 0
        let c = max(1, min(forced ?? max(1, windowBits(bitLengths: lengths)), 16))
        let windows = maxBits / c + 1
        let half = 1 << (c - 1)
        let digits = signedDigits(ks, c: c, windows: windows)
        var buckets = [JacobianPoint](repeating: .identity, count: half)
        var acc = JacobianPoint.identity
        digits.withUnsafeBufferPointer { d in
            points.withUnsafeBufferPointer { p in
                buckets.withUnsafeMutableBufferPointer { b in
                    for w in stride(from: windows - 1, through: 0, by: -1) {
                        if !acc.isIdentity { acc = acc.doubled(times: c) }
                        var highest = -1
                        let row = w * n
                        for i in 0..<n {
                            let digit = Int(d[row + i])
                            if digit > 0 {
                                b[digit - 1] = b[digit - 1].adding(p[i])
                                highest = max(highest, digit - 1)
                            } else if digit < 0 {
                                b[-digit - 1] = b[-digit - 1].adding(p[i].negated)
                                highest = max(highest, -digit - 1)
                            }
                        }
                        guard highest >= 0 else { continue }
                        // Σ j·B_j as a running sum of running sums, emptying the buckets on the way.
                        var running = JacobianPoint.identity
                        var sum = JacobianPoint.identity
                        for j in stride(from: highest, through: 0, by: -1) {
                            running = running.adding(b[j])
                            b[j] = .identity
                            sum = sum.adding(running)
                        }
                        acc = acc.adding(sum)
                    }
                }
            }
        }
        return acc
    }

    // MARK: Pippenger with batch-affine buckets

    /// Pippenger whose bucket sums are formed in affine coordinates (`BatchAffineSums`), and whose
    /// Σ j·B_j is split in two levels so that it, too, is mostly batch-affine additions.
    /// Scalars nonzero, points not the identity; `windowBits` forces the width (tests).
    static func pippengerBatchAffine(scalars: [ScalarN], points: [AffinePoint], windowBits forced: Int? = nil) -> JacobianPoint {
        let n = min(scalars.count, points.count)
        guard n > 0 else { return .identity }
        let ks = Array(scalars.prefix(n))
        let lengths = ks.map(\.bitLength)
        let maxBits = lengths.max() ?? 0
        let c = max(1, min(forced ?? max(1, windowBits(bitLengths: lengths)), 16))
        let windows = maxBits / c + 1
        let half = 1 << (c - 1)
        let digits = signedDigits(ks, c: c, windows: windows)
        // Two-level split of the bucket indices: j − 1 = a·low + b.
        let lowBits = (c - 1) / 2
        let low = 1 << lowBits
        let high = half / low
        let sums = BatchAffineSums(points: max(n, 2 * half), groups: max(half, low + high))
        let buckets = UnsafeMutableBufferPointer<AffinePoint>.allocate(capacity: half)
        buckets.initialize(repeating: .identity)
        defer { buckets.deallocate() }

        var acc = JacobianPoint.identity
        digits.withUnsafeBufferPointer { d in
            points.withUnsafeBufferPointer { p in
                for w in stride(from: windows - 1, through: 0, by: -1) {
                    if !acc.isIdentity { acc = acc.doubled(times: c) }
                    let row = w * n
                    // Counting sort of the signed points by bucket.
                    for j in 0..<half { sums.count[j] = 0 }
                    var active = false
                    for i in 0..<n {
                        let digit = Int(d[row + i])
                        guard digit != 0 else { continue }
                        sums.count[(digit < 0 ? -digit : digit) - 1] += 1
                        active = true
                    }
                    guard active else { continue }
                    var position = 0
                    for j in 0..<half {
                        sums.start[j] = position
                        sums.cursor[j] = position
                        position += sums.count[j]
                    }
                    for i in 0..<n {
                        let digit = Int(d[row + i])
                        guard digit != 0 else { continue }
                        let j = (digit < 0 ? -digit : digit) - 1
                        sums.work[sums.cursor[j]] = digit > 0 ? p[i] : p[i].negated
                        sums.cursor[j] += 1
                    }
                    sums.sumGroups(half)
                    for j in 0..<half { buckets[j] = sums.value[j] }
                    acc = acc.adding(weightedSum(buckets, low: low, lowBits: lowBits, high: high, sums: sums))
                }
            }
        }
        return acc
    }

    /// Σ (j+1)·B_j over the buckets B_0…B_{low·high−1}. With j = a·low + b this is
    /// low·Σ a·C_a + Σ C_a + Σ b·D_b for row sums C_a = Σ_b B_{a·low+b} and column sums
    /// D_b = Σ_a B_{a·low+b}: 2·low·high batch-affine additions and 2·(low + high) Jacobian ones,
    /// instead of two Jacobian additions per bucket.
    static func weightedSum(_ buckets: UnsafeMutableBufferPointer<AffinePoint>, low: Int, lowBits: Int, high: Int,
                            sums: BatchAffineSums) -> JacobianPoint {
        let m = low * high
        for a in 0..<high {
            sums.start[a] = a * low
            sums.count[a] = low
            for b in 0..<low {
                let bucket = buckets[a * low + b]
                sums.work[a * low + b] = bucket
                sums.work[m + b * high + a] = bucket
            }
        }
        for b in 0..<low {
            sums.start[high + b] = m + b * high
            sums.count[high + b] = high
        }
        sums.sumGroups(high + low)
        // Running sums: Σ_{a≥1} a·C_a and Σ_{b≥1} b·D_b.
        var rowRunning = JacobianPoint.identity, rowWeighted = JacobianPoint.identity
        for a in stride(from: high - 1, through: 1, by: -1) {
            rowRunning = rowRunning.adding(sums.value[a])
            rowWeighted = rowWeighted.adding(rowRunning)
        }
        var columnRunning = JacobianPoint.identity, columnWeighted = JacobianPoint.identity
        for b in stride(from: low - 1, through: 1, by: -1) {
            columnRunning = columnRunning.adding(sums.value[high + b])
            columnWeighted = columnWeighted.adding(columnRunning)
        }
        let rowTotal = rowRunning.adding(sums.value[0])
        return rowWeighted.doubled(times: lowBits).adding(rowTotal).adding(columnWeighted)
    }

    // MARK: Straus

    /// Width-w NAF of k (libsecp256k1's secp256k1_ecmult_wnaf): odd digits |d| < 2^(w−1), at
    /// least w − 1 zeros after each nonzero digit; digit i weighs 2^i.
    static func wnaf(_ k: ScalarN, w: Int) -> [Int8] {
        let len = k.bitLength + 1
        var out = [Int8](repeating: 0, count: len)
        var bit = 0
        var carry = 0
        while bit < len {
            if Int(k.bits(from: bit, count: 1)) == carry {
                bit += 1
                continue
            }
            let now = min(w, len - bit)
            var word = Int(k.bits(from: bit, count: now)) + carry
            carry = (word >> (w - 1)) & 1
            word -= carry << w
            out[bit] = Int8(word)
            bit += now
        }
        return out
    }

    /// Straus's interleaving (Straus 1964) with width-5 NAFs and affine tables of odd multiples
    /// P, 3P, …, 15P made with one shared inversion; scalars nonzero, points not the identity.
    static func straus(scalars: [ScalarN], points: [AffinePoint]) -> JacobianPoint {
        let w = 5
        let tableSize = 1 << (w - 2)
        let n = min(scalars.count, points.count)
        var jacobian: [JacobianPoint] = []
        jacobian.reserveCapacity(n * tableSize)
        for p in points.prefix(n) {
            let twice = JacobianPoint(p).doubled()
            var t = JacobianPoint(p)
            jacobian.append(t)
            for _ in 1..<tableSize {
                t = t.adding(twice)
                jacobian.append(t)
            }
        }
        let tables = JacobianPoint.batchNormalize(jacobian)
        // All NAFs in one bit-major array (digit `bit` of scalar i at bit·n + i), zero-padded.
        let nafs = scalars.prefix(n).map { wnaf($0, w: w) }
        let top = nafs.map(\.count).max() ?? 0
        var digits = [Int8](repeating: 0, count: top * n)
        for (i, naf) in nafs.enumerated() {
            for (bit, d) in naf.enumerated() where d != 0 { digits[bit * n + i] = d }
        }
        var acc = JacobianPoint.identity
        digits.withUnsafeBufferPointer { digit in
            tables.withUnsafeBufferPointer { table in
                for bit in stride(from: top - 1, through: 0, by: -1) {
                    acc = acc.doubled()
                    for i in 0..<n {
                        let d = Int(digit[bit * n + i])
                        if d > 0 {
                            acc = acc.adding(table[i * tableSize + (d - 1) / 2])
                        } else if d < 0 {
                            acc = acc.adding(table[i * tableSize + (-d - 1) / 2].negated)
                        }
                    }
                }
            }
        }
        return acc
    }
}

/// Precomputed multiples of one fixed point (G, or an election's public key K) for fast k·P:
/// for each base-2^c window w the affine points j·2^(c·w)·P, j = 1…2^(c−1); k·P is then one
/// mixed addition per signed digit and no doublings. Immutable, so shareable across threads.
struct FixedBaseTable: Sendable {
    let windowBits: Int
    let windows: Int
    /// Entry j·2^(c·w)·P at w·2^(c−1) + j − 1; the identity table when P is the identity.
    let table: [AffinePoint]

    /// Builds the table (2^(c−1)·(256/c + 1) points, one shared inversion); c = 8 by default.
    init(_ point: AffinePoint, windowBits c: Int = 8) {
        let c = max(2, min(c, 16))
        let windows = 256 / c + 1
        let half = 1 << (c - 1)
        windowBits = c
        self.windows = windows
        var jacobian: [JacobianPoint] = []
        jacobian.reserveCapacity(windows * half)
        var base = JacobianPoint(point)
        for _ in 0..<windows {
            var t = base
            jacobian.append(t)
            for _ in 1..<half {
                t = t.adding(base)
                jacobian.append(t)
            }
            base = base.doubled(times: c)
        }
        table = JacobianPoint.batchNormalize(jacobian)
    }

    /// A table for the standard generator G.
    static let generator = FixedBaseTable(.generator)

    /// k·P
    func mul(_ k: ScalarN) -> JacobianPoint {
        let c = windowBits
        let half = 1 << (c - 1)
        let full = 1 << c
        var acc = JacobianPoint.identity
        var carry = 0
        table.withUnsafeBufferPointer { t in
            for w in 0..<windows {
                var raw = Int(k.bits(from: w * c, count: c)) + carry
                if raw > half {
                    raw -= full
                    carry = 1
                } else {
                    carry = 0
                }
                if raw > 0 {
                    acc = acc.adding(t[w * half + raw - 1])
                } else if raw < 0 {
                    acc = acc.adding(t[w * half - raw - 1].negated)
                }
            }
        }
        return acc
    }
}

/// Scratch space and the routine for summing many groups of affine points at once: each group's
/// points are added pairwise in rounds, and all additions of a round share one field inversion
/// (Montgomery's trick), about 6 multiplications per addition instead of 11 for a mixed
/// Jacobian one. Owns its buffers; used by one thread inside one MSM.
final class BatchAffineSums {
    /// Input points, group g at [start[g], start[g] + count[g]); clobbered by `sumGroups`.
    var work: UnsafeMutableBufferPointer<AffinePoint>
    private var next: UnsafeMutableBufferPointer<AffinePoint>
    let start: UnsafeMutableBufferPointer<Int>
    let count: UnsafeMutableBufferPointer<Int>
    /// Free for callers (counting-sort cursors).
    let cursor: UnsafeMutableBufferPointer<Int>
    /// Output: the sum of group g (identity for an empty group).
    let value: UnsafeMutableBufferPointer<AffinePoint>
    private let pending: UnsafeMutableBufferPointer<Int>
    private let denominators: UnsafeMutableBufferPointer<FieldElement>
    private let prefix: UnsafeMutableBufferPointer<FieldElement>
    private let kinds: UnsafeMutableBufferPointer<PairKind>

    /// How one pair of a round is added.
    enum PairKind: UInt8 {
        case sum, double, cancel, left, right
    }

    init(points: Int, groups: Int) {
        work = .allocate(capacity: points)
        next = .allocate(capacity: points)
        work.initialize(repeating: .identity)
        next.initialize(repeating: .identity)
        start = .allocate(capacity: groups)
        count = .allocate(capacity: groups)
        cursor = .allocate(capacity: groups)
        pending = .allocate(capacity: groups)
        for buffer in [start, count, cursor, pending] { buffer.initialize(repeating: 0) }
        value = .allocate(capacity: groups)
        value.initialize(repeating: .identity)
        let pairs = points / 2 + 1
        denominators = .allocate(capacity: pairs)
        prefix = .allocate(capacity: pairs)
        denominators.initialize(repeating: .one)
        prefix.initialize(repeating: .one)
        kinds = .allocate(capacity: pairs)
        kinds.initialize(repeating: .sum)
    }

    deinit {
        work.deallocate()
        next.deallocate()
        for buffer in [start, count, cursor, pending] { buffer.deallocate() }
        value.deallocate()
        denominators.deallocate()
        prefix.deallocate()
        kinds.deallocate()
    }

    /// Sums groups 0..<groups into `value`; `count` is consumed.
    func sumGroups(_ groups: Int) {
        var pendingCount = 0
        for g in 0..<groups {
            switch count[g] {
            case 0: value[g] = .identity
            case 1: value[g] = work[start[g]]
            default:
                pending[pendingCount] = g
                pendingCount += 1
            }
        }
        while pendingCount > 0 {
            // Pass 1: classify each pair, collect denominators and their prefix products.
            var m = 0
            var product = FieldElement.one
            for q in 0..<pendingCount {
                let g = pending[q]
                let s = start[g], len = count[g], k = len >> 1
                for t in 0..<k {
                    let a = work[s + 2 * t], b = work[s + 2 * t + 1]
                    prefix[m] = product
                    if a.isIdentity {
                        kinds[m] = .right
                    } else if b.isIdentity {
                        kinds[m] = .left
                    } else if a.x != b.x {
                        kinds[m] = .sum
                        let den = b.x - a.x
                        denominators[m] = den
                        product = product * den
                    } else if a.y == b.y {
                        kinds[m] = .double
                        let den = a.y.doubled
                        denominators[m] = den
                        product = product * den
                    } else {
                        kinds[m] = .cancel
                    }
                    m += 1
                }
                if len & 1 == 1 { next[s + k] = work[s + len - 1] }
            }
            // Pass 2, backwards: peel each inverse off the shared one and add.
            var inverse = product.inverse
            for q in stride(from: pendingCount - 1, through: 0, by: -1) {
                let g = pending[q]
                let s = start[g], k = count[g] >> 1
                for t in stride(from: k - 1, through: 0, by: -1) {
                    m -= 1
                    let a = work[s + 2 * t], b = work[s + 2 * t + 1]
                    let kind = kinds[m]
                    switch kind {
                    case .sum, .double:
                        let denominatorInverse = inverse * prefix[m]
                        inverse = inverse * denominators[m]
                        let lambda: FieldElement
                        if kind == .sum {
                            lambda = (b.y - a.y) * denominatorInverse
                        } else {
                            // Tangent slope (3x² + a)/(2y) with a = −3.
                            let u = a.x.squared() - .one
                            lambda = (u.doubled + u) * denominatorInverse
                        }
                        let x3 = lambda.squared() - a.x - b.x
                        next[s + t] = AffinePoint(x: x3, y: lambda * (a.x - x3) - a.y)
                    case .cancel: next[s + t] = .identity
                    case .left: next[s + t] = a
                    case .right: next[s + t] = b
                    }
                }
            }
            var stillPending = 0
            for q in 0..<pendingCount {
                let g = pending[q]
                let len = (count[g] >> 1) + (count[g] & 1)
                count[g] = len
                if len == 1 {
                    value[g] = next[start[g]]
                } else {
                    pending[stillPending] = g
                    stillPending += 1
                }
            }
            pendingCount = stillPending
            swap(&work, &next)
        }
    }
}
