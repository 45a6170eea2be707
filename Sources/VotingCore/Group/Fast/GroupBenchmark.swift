// Micro-benchmark of the pure-Swift P-256 arithmetic against OpenSSL, callable from a release
// build (e.g. `EVOTE_BENCH=1 swift test -c release --filter FastP256Bench`).

import Foundation

/// Timings (thread CPU time) of the pure-Swift P-256 code and, for MSM, of OpenSSL's
/// EC_POINTs_mul on the same inputs in the same run.
public struct GroupBenchmarkReport: Sendable, CustomStringConvertible, Encodable {
    /// One MSM measurement: per-term cost of ours and of OpenSSL on the same terms.
    public struct MSMFigure: Sendable, Encodable {
        public let terms: Int
        /// "256-bit", "128-bit" or "ballots: 22 full + 46 short".
        public let scalars: String
        public let fastMicrosPerTerm: Double
        public let openSSLMicrosPerTerm: Double?
        /// The method the cost model chose, e.g. "Pippenger, batch-affine buckets, c = 10".
        public let method: String
        /// OpenSSL time / our time.
        public var speedup: Double? { openSSLMicrosPerTerm.map { $0 / fastMicrosPerTerm } }

        enum CodingKeys: String, CodingKey {
            case terms, scalars, method
            case fastMicrosPerTerm = "fast_us_per_term", openSSLMicrosPerTerm = "openssl_us_per_term"
        }
    }

    public let fieldMulNanos: Double
    public let fieldSquareNanos: Double
    public let fieldAddNanos: Double
    public let fieldInverseNanos: Double
    public let fieldSqrtNanos: Double
    public let mixedAddMicros: Double
    public let fullAddMicros: Double
    public let doubleMicros: Double
    public let openSSLAddMicros: Double
    public let decodeUncompressedMicros: Double
    public let decodeCompressedMicros: Double
    public let openSSLDecodeCompressedMicros: Double
    public let fixedBaseMulMicros: Double
    public let fixedBaseTableBuildMillis: Double
    public let singleVariableMulMicros: Double
    public let openSSLSingleMulMicros: Double
    public let msm: [MSMFigure]
    /// Whether every MSM result matched OpenSSL's (it must).
    public let allMatched: Bool
    /// Folded results, so the optimiser cannot drop the timed work.
    public let checksum: UInt64

    enum CodingKeys: String, CodingKey {
        case msm
        case fieldMulNanos = "field_mul_ns", fieldSquareNanos = "field_square_ns", fieldAddNanos = "field_add_ns"
        case fieldInverseNanos = "field_inverse_ns", fieldSqrtNanos = "field_sqrt_ns"
        case mixedAddMicros = "mixed_add_us", fullAddMicros = "full_add_us", doubleMicros = "double_us", openSSLAddMicros = "openssl_add_us"
        case decodeUncompressedMicros = "decode_uncompressed_us", decodeCompressedMicros = "decode_compressed_us"
        case openSSLDecodeCompressedMicros = "openssl_decode_compressed_us"
        case fixedBaseMulMicros = "fixed_base_mul_us", fixedBaseTableBuildMillis = "fixed_base_table_build_ms"
        case singleVariableMulMicros = "variable_mul_us", openSSLSingleMulMicros = "openssl_variable_mul_us"
        case allMatched = "all_matched"
    }

    public var description: String {
        func f(_ x: Double, _ digits: Int = 3) -> String {
            var s = String(x)
            if let dot = s.firstIndex(of: ".") {
                let end = s.index(dot, offsetBy: digits + 1, limitedBy: s.endIndex) ?? s.endIndex
                s = String(s[..<end])
            }
            return s
        }
        var lines: [String] = []
        lines.append("field mul \(f(fieldMulNanos, 1)) ns, square \(f(fieldSquareNanos, 1)) ns, add \(f(fieldAddNanos, 1)) ns, inverse \(f(fieldInverseNanos / 1000, 2)) us, sqrt \(f(fieldSqrtNanos / 1000, 2)) us")
        lines.append("point mixed add \(f(mixedAddMicros)) us, full add \(f(fullAddMicros)) us, double \(f(doubleMicros)) us; OpenSSL EC_POINT_add \(f(openSSLAddMicros)) us")
        lines.append("decode uncompressed \(f(decodeUncompressedMicros)) us, compressed \(f(decodeCompressedMicros)) us; OpenSSL compressed \(f(openSSLDecodeCompressedMicros)) us")
        lines.append("fixed-base k*G \(f(fixedBaseMulMicros, 2)) us (table build \(f(fixedBaseTableBuildMillis, 2)) ms); variable k*P \(f(singleVariableMulMicros, 2)) us, OpenSSL k*P \(f(openSSLSingleMulMicros, 2)) us")
        for m in msm {
            var line = "MSM \(m.terms) terms, \(m.scalars) [\(m.method)]: \(f(m.fastMicrosPerTerm)) us/term"
            if m.scalars.hasPrefix("ballots") { line += " (\(f(m.fastMicrosPerTerm * 68, 1)) us per ballot)" }
            if let o = m.openSSLMicrosPerTerm, let s = m.speedup { line += "; OpenSSL \(f(o)) us/term; x\(f(s, 1))" }
            lines.append(line)
        }
        lines.append("all MSM results match OpenSSL: \(allMatched)")
        return lines.joined(separator: "\n")
    }
}

/// Runs the micro-benchmark (a few seconds at `terms` = 16384).
public enum GroupBenchmark {
    /// SplitMix64: fast deterministic bytes for benchmark inputs (public, not secret).
    struct InputGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z &>> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z &>> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z &>> 31)
        }
        mutating func bytes(_ count: Int) -> [UInt8] {
            var out: [UInt8] = []
            out.reserveCapacity(count)
            while out.count < count {
                let w = next()
                for i in 0..<8 where out.count < count { out.append(UInt8(truncatingIfNeeded: w &>> UInt64(8 * i))) }
            }
            return out
        }
        mutating func scalar() -> ScalarN { ScalarN.random(using: { bytes($0) }) }
        mutating func short() -> ScalarN { ScalarN.random128(using: { bytes($0) }) }
    }

    /// This thread's CPU time in nanoseconds: on a machine shared with other builds, wall-clock
    /// time measures the neighbours too.
    static func cpuNanos() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) * 1e9 + Double(ts.tv_nsec)
    }

    /// CPU nanoseconds per iteration of `body` over `iterations` runs.
    static func time(_ iterations: Int, _ body: () -> Void) -> Double {
        let start = cpuNanos()
        body()
        return (cpuNanos() - start) / Double(max(iterations, 1))
    }

    static func fold(_ p: JacobianPoint) -> UInt64 { p.x.l0 ^ p.y.l1 ^ p.z.l2 }

    /// Measures everything; MSM sizes run up to `terms` (64, 512, 4096, 16384 and ballot mixes).
    public static func run(terms: Int = 16384) -> GroupBenchmarkReport {
        var gen = InputGenerator(state: 0x5eed)
        var sink: UInt64 = 0

        // Field operations on a dependent chain (latency, as in point formulas).
        let a = FieldElement(gen.next() >> 1)
        let b = FieldElement(gen.next() >> 1) + FieldElement.one
        let fieldN = 1_000_000
        var x = a
        let mulNs = time(fieldN) { for _ in 0..<fieldN { x = x * b } }
        sink ^= x.l0
        let sqNs = time(fieldN) { for _ in 0..<fieldN { x = x.squared() } }
        sink ^= x.l1
        let addNs = time(fieldN) { for _ in 0..<fieldN { x = x + b } }
        sink ^= x.l2
        let invN = 2000
        let invNs = time(invN) { for _ in 0..<invN { x = (x + b).inverse } }
        sink ^= x.l3
        let sqrtNs = time(invN) { for _ in 0..<invN { x = (x + b).squareRoot ?? b } }
        sink ^= x.l0

        // Points.
        let pointCount = max(terms, 4096)
        let gTable = FixedBaseTable.generator
        let buildStart = cpuNanos()
        let kTable = FixedBaseTable(gTable.mul(gen.scalar()).affine)
        let buildMs = (cpuNanos() - buildStart) / 1e6
        var pointScalars: [ScalarN] = []
        for _ in 0..<pointCount { pointScalars.append(gen.scalar()) }
        var jac: [JacobianPoint] = []
        jac.reserveCapacity(pointCount)
        let fixedNs = time(pointCount) { for k in pointScalars { jac.append(kTable.mul(k)) } }
        let points = JacobianPoint.batchNormalize(jac)

        let addN = 200_000
        var acc = JacobianPoint(points[0])
        let mixedNs = time(addN) { for i in 0..<addN { acc = acc.adding(points[i & 4095]) } }
        sink ^= fold(acc)
        let jpoints = Array(jac.prefix(4096))
        let fullNs = time(addN) { for i in 0..<addN { acc = acc.adding(jpoints[i & 4095]) } }
        sink ^= fold(acc)
        let dblNs = time(addN) { for _ in 0..<addN { acc = acc.doubled() } }
        sink ^= fold(acc)

        let encN = 4096
        let uncompressed = points.prefix(encN).map(\.uncompressedEncoding)
        let compressed = points.prefix(encN).map(\.compressedEncoding)
        var decoded = 0
        let decUNs = time(encN) { for e in uncompressed where AffinePoint(uncompressed: e) != nil { decoded += 1 } }
        let decCNs = time(encN) { for e in compressed where AffinePoint(compressed: e) != nil { decoded += 1 } }
        // OpenSSL's oct2point + is_on_curve on the compressed form (GroupElement itself takes
        // only the 65-byte form of protocol v2, validated by the Swift code above).
        let osslDecNs = time(encN) { for e in compressed where OpenSSLPointReference.decode(e) != nil { decoded += 1 } }
        sink ^= UInt64(decoded)
        let elements = uncompressed.compactMap { try? GroupElement(encoding: $0) }
        guard elements.count == encN else { preconditionFailure("the benchmark's own points did not decode") }

        let osslAddN = 20_000
        var osslAcc = elements[0]
        let osslAddNs = time(osslAddN) { for i in 0..<osslAddN { osslAcc = osslAcc + elements[i & 4095] } }
        sink ^= UInt64(osslAcc.encoding[5])

        let singleN = 200
        var singles = JacobianPoint.identity
        let singleNs = time(singleN) {
            for i in 0..<singleN { singles = singles.adding(MultiScalar.straus(scalars: [pointScalars[i]], points: [points[i]])) }
        }
        sink ^= fold(singles)
        let osslSingleNs = time(singleN) {
            for i in 0..<singleN { osslAcc = osslAcc + pointScalars[i].scalar * elements[i] }
        }
        sink ^= UInt64(osslAcc.encoding[7])

        // MSM: all elements as GroupElements for the OpenSSL side.
        var allElements = elements
        for p in points.dropFirst(encN) {
            if let g = try? p.groupElement() { allElements.append(g) }
        }
        var figures: [GroupBenchmarkReport.MSMFigure] = []
        var matched = allElements.count == points.count
        func measure(_ n: Int, _ label: String, _ scalars: [ScalarN]) {
            let ps = Array(points.prefix(n))
            // One untimed run first, so small sizes do not pay for cold caches.
            var result = MultiScalar.linearCombination(scalars: scalars, points: ps)
            let reps = max(1, 2048 / n)
            let fastNs = time(reps * n) { for _ in 0..<reps { result = MultiScalar.linearCombination(scalars: scalars, points: ps) } }
            sink ^= fold(result)
            let method: String
            switch MultiScalar.plan(bitLengths: scalars.map(\.bitLength)) {
            case .straus: method = "Straus"
            case .jacobianBuckets(let c): method = "Pippenger, Jacobian buckets, c = \(c)"
            case .affineBuckets(let c): method = "Pippenger, batch-affine buckets, c = \(c)"
            }
            var openSSL: Double?
            if allElements.count >= n {
                let terms = zip(scalars, allElements.prefix(n)).map { ($0.scalar, $1) }
                var reference = GroupElement.identity
                openSSL = time(n) { reference = GroupElement.combination(generator: nil, terms) } / 1000
                if (try? result.groupElement()) != reference { matched = false }
            }
            figures.append(.init(terms: n, scalars: label, fastMicrosPerTerm: fastNs / 1000, openSSLMicrosPerTerm: openSSL, method: method))
        }
        for n in [64, 512, 4096, 16384] where n <= terms {
            measure(n, "256-bit", (0..<n).map { _ in gen.scalar() })
            measure(n, "128-bit", (0..<n).map { _ in gen.short() })
        }
        for ballots in [16, 64, 240] where ballots * 68 <= max(terms, 68 * 16) {
            let scalars = (0..<(ballots * 68)).map { i in i % 68 < 22 ? gen.scalar() : gen.short() }
            measure(ballots * 68, "ballots: 22 full + 46 short", scalars)
        }

        return GroupBenchmarkReport(
            fieldMulNanos: mulNs, fieldSquareNanos: sqNs, fieldAddNanos: addNs, fieldInverseNanos: invNs, fieldSqrtNanos: sqrtNs,
            mixedAddMicros: mixedNs / 1000, fullAddMicros: fullNs / 1000, doubleMicros: dblNs / 1000, openSSLAddMicros: osslAddNs / 1000,
            decodeUncompressedMicros: decUNs / 1000, decodeCompressedMicros: decCNs / 1000, openSSLDecodeCompressedMicros: osslDecNs / 1000,
            fixedBaseMulMicros: fixedNs / 1000, fixedBaseTableBuildMillis: buildMs,
            singleVariableMulMicros: singleNs / 1000, openSSLSingleMulMicros: osslSingleNs / 1000,
            msm: figures, allMatched: matched, checksum: sink)
    }
}
