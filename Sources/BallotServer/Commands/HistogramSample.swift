/// One histogram read from servers' Prometheus text (`GET /metrics`), summed over instances:
/// the benchmarks read the servers' own counts before and after a phase.
struct HistogramSample: Sendable {
    /// Cumulative count by bucket upper bound (`le`), +Inf excluded.
    var buckets: [Double: Double] = [:]
    var sum = 0.0
    var count = 0.0

    init(_ name: String, in texts: [String]) {
        for text in texts {
            for line in text.split(separator: "\n") where line.hasPrefix(name) {
                let parts = line.split(separator: " ")
                guard parts.count == 2, let value = Double(parts[1]) else { continue }
                let series = parts[0]
                if series == "\(name)_sum" { sum += value }
                if series == "\(name)_count" { count += value }
                if series.hasPrefix("\(name)_bucket{le=\""), series.hasSuffix("\"}"),
                   let bound = Double(series.dropFirst(name.count + 12).dropLast(2)) {
                    buckets[bound, default: 0] += value
                }
            }
        }
    }

    private init(buckets: [Double: Double], sum: Double, count: Double) {
        self.buckets = buckets
        self.sum = sum
        self.count = count
    }

    /// What was recorded after `before`.
    func since(_ before: HistogramSample) -> HistogramSample {
        HistogramSample(buckets: buckets.merging(before.buckets.mapValues { -$0 }, uniquingKeysWith: +),
                        sum: sum - before.sum, count: count - before.count)
    }

    var mean: Double? { count > 0 ? sum / count : nil }

    /// The share of observations at or under `bound` (a bucket's upper bound).
    func share(atMost bound: Double) -> Double? {
        guard count > 0, let key = buckets.keys.first(where: { abs($0 - bound) <= bound * 1e-9 }) else { return nil }
        return (buckets[key] ?? 0) / count
    }

    /// The smallest bucket bound under which at least `q` of the observations fall (nil past the last bucket).
    func bound(quantile q: Double) -> Double? {
        guard count > 0 else { return nil }
        return buckets.keys.sorted().first { (buckets[$0] ?? 0) >= q * count }
    }
}
