// Multi-scalar multiplication Σ kᵢ·Pᵢ over public points and scalars (batch verification).
// Variable time: public data only.

/// Multi-scalar multiplication on P-256: Pippenger's bucket method for many terms, Straus
/// (interleaved wNAF) for few.
enum MultiScalar {
    /// Below this many terms Straus beats Pippenger (measured with GroupBenchmark).
    static let strausThreshold = 32

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
        if ks.count < strausThreshold { return straus(scalars: ks, points: ps) }
        return pippenger(scalars: ks, points: ps)
    }

    // MARK: Pippenger

    /// Relative costs in field multiplications, for choosing the window width.
    static let mixedAddCost = 11
    static let fullAddCost = 16
    static let doubleCost = 8

    /// The window width c minimising the estimated cost for these bit lengths: window w costs
    /// one addition per scalar that reaches it, 2·2^(c−1) for the bucket sums, c doublings.
    static func windowBits(bitLengths: [Int]) -> Int {
        let maxBits = bitLengths.max() ?? 0
        // reach[b] = number of scalars with at least b bits.
        var reach = [Int](repeating: 0, count: maxBits + 2)
        for l in bitLengths { reach[l] += 1 }
        for b in stride(from: maxBits, through: 0, by: -1) { reach[b] += reach[b + 1] }
        var best = 1
        var bestCost = Int.max
        for c in 1...16 {
            let windows = maxBits / c + 1
            var cost = 0
            for w in 0..<windows {
                let active = reach[min(w * c, maxBits + 1)]
                cost += active * mixedAddCost + (1 << (c - 1)) * (mixedAddCost + fullAddCost) + c * doubleCost
            }
            if cost < bestCost {
                bestCost = cost
                best = c
            }
        }
        return best
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
    /// `windowBits` forces the width (tests); by default the cost model picks it.
    static func pippenger(scalars: [ScalarN], points: [AffinePoint], windowBits forced: Int? = nil) -> JacobianPoint {
        let n = min(scalars.count, points.count)
        let lengths = scalars.map(\.bitLength)
        let maxBits = lengths.max() ?? 0
        let c = max(1, min(forced ?? windowBits(bitLengths: lengths), 16))
        let windows = maxBits / c + 1
        let half = 1 << (c - 1)
        let digits = signedDigits(scalars, c: c, windows: windows)
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
        let n = scalars.count
        var jacobian: [JacobianPoint] = []
        jacobian.reserveCapacity(n * tableSize)
        for p in points {
            let twice = JacobianPoint(p).doubled()
            var t = JacobianPoint(p)
            jacobian.append(t)
            for _ in 1..<tableSize {
                t = t.adding(twice)
                jacobian.append(t)
            }
        }
        let tables = JacobianPoint.batchNormalize(jacobian)
        let nafs = scalars.map { wnaf($0, w: w) }
        let top = nafs.map(\.count).max() ?? 0
        var acc = JacobianPoint.identity
        for bit in stride(from: top - 1, through: 0, by: -1) {
            acc = acc.doubled()
            for i in 0..<n where bit < nafs[i].count {
                let d = Int(nafs[i][bit])
                if d > 0 {
                    acc = acc.adding(tables[i * tableSize + (d - 1) / 2])
                } else if d < 0 {
                    acc = acc.adding(tables[i * tableSize + (-d - 1) / 2].negated)
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
