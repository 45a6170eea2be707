import Foundation
import Synchronization

/// Token buckets keyed by a string (a client address, a voter key, a personal number's
/// keyed hash): each key may spend `capacity` tokens at once and gets `refillPerSecond` back.
final class TokenBuckets: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: Double
    }

    let capacity: Double
    let refillPerSecond: Double
    private let buckets = Mutex<[String: Bucket]>([:])
    /// Past this many keys, buckets that have refilled completely are forgotten.
    private let pruneAbove: Int
    /// Seconds on a monotonic clock (a test gives its own hand-moved clock).
    private let seconds: @Sendable () -> Double

    init(capacity: Double, refillPerSecond: Double, pruneAbove: Int = 100_000, seconds: (@Sendable () -> Double)? = nil) {
        self.capacity = capacity
        self.refillPerSecond = refillPerSecond
        self.pruneAbove = pruneAbove
        self.seconds = seconds ?? Self.monotonicSeconds()
    }

    /// Seconds since this call on the system's monotonic clock.
    static func monotonicSeconds() -> @Sendable () -> Double {
        let start = ContinuousClock.now
        return {
            let elapsed = ContinuousClock.now - start
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        }
    }

    private var now: Double { seconds() }

    /// Spends `cost` tokens of `key`; nil when allowed, else the seconds until it would be.
    func take(_ key: String, cost: Double = 1) -> Double? {
        let t = now
        return buckets.withLock { all -> Double? in
            var bucket = all[key] ?? Bucket(tokens: capacity, updated: t)
            bucket.tokens = min(capacity, bucket.tokens + (t - bucket.updated) * refillPerSecond)
            bucket.updated = t
            defer {
                all[key] = bucket
                if all.count > pruneAbove { prune(&all, at: t) }
            }
            guard bucket.tokens >= cost else { return (cost - bucket.tokens) / refillPerSecond }
            bucket.tokens -= cost
            return nil
        }
    }

    /// Seconds until `key` has `cost` tokens again, without spending any; nil when it has.
    func wait(_ key: String, cost: Double = 1) -> Double? {
        let t = now
        return buckets.withLock { all -> Double? in
            guard let bucket = all[key] else { return nil }
            let tokens = min(capacity, bucket.tokens + (t - bucket.updated) * refillPerSecond)
            return tokens >= cost ? nil : (cost - tokens) / refillPerSecond
        }
    }

    private func prune(_ all: inout [String: Bucket], at t: Double) {
        all = all.filter { _, b in b.tokens + (t - b.updated) * refillPerSecond < capacity }
    }

    var count: Int { buckets.withLock { $0.count } }
}

/// The limits on voters' routes (enrollment, casting, spoiling); `serve` flags set them.
struct RateLimits: Sendable, Equatable {
    /// Requests per second from one client address (burst: two seconds' worth). 0: no limit.
    var perAddress: Double = 2_000
    /// Refused requests per minute from one client address (wrong codes, invalid ballots…)
    /// before its voter requests are refused with `rate-limited`. 0: no limit.
    var refusalsPerAddress: Double = 60
    /// Attempts per minute for one voter key (casting, spoiling) or one personal number
    /// (enrolling). 0: no limit.
    var perVoter: Double = 20
    /// Reverse proxies (`serve --trusted-proxy`): for a request from one of these addresses
    /// the client is the right-most address of X-Forwarded-For that is not itself a trusted
    /// proxy; X-Forwarded-For from anyone else is ignored.
    var trustedProxies: Set<String> = []

    /// The address the per-address limits count a request against.
    func clientAddress(peer: String, forwardedFor: String?) -> String {
        guard trustedProxies.contains(peer), let forwardedFor else { return peer }
        let hops = forwardedFor.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        return hops.last { !trustedProxies.contains($0) } ?? peer
    }

    static let `default` = RateLimits()
    static let unlimited = RateLimits(perAddress: 0, refusalsPerAddress: 0, perVoter: 0)
}

/// Applies `RateLimits`: per-address request rate, per-address refusals, per-voter attempts.
struct RateLimiter: Sendable {
    let limits: RateLimits
    private let addresses: TokenBuckets?
    private let refusals: TokenBuckets?
    private let voters: TokenBuckets?

    /// - Parameter clock: the time the buckets refill by; the monotonic system clock unless a
    ///   test gives its own (the limits are per minute, so a slow test on a loaded machine
    ///   would otherwise see tokens come back between its requests).
    init(_ limits: RateLimits, clock: Clock? = nil) {
        self.limits = limits
        var seconds: (@Sendable () -> Double)?
        if let clock {
            let now = clock.now
            seconds = { Double(now()) / 1000 }
        }
        addresses = limits.perAddress > 0
            ? TokenBuckets(capacity: 2 * limits.perAddress, refillPerSecond: limits.perAddress, seconds: seconds) : nil
        refusals = limits.refusalsPerAddress > 0
            ? TokenBuckets(capacity: limits.refusalsPerAddress, refillPerSecond: limits.refusalsPerAddress / 60, seconds: seconds) : nil
        voters = limits.perVoter > 0
            ? TokenBuckets(capacity: limits.perVoter, refillPerSecond: limits.perVoter / 60, seconds: seconds) : nil
    }

    /// Before any work on a voter request from `address`: its request rate and its refusals.
    func admit(address: String) throws {
        if let wait = refusals?.wait(address) { throw RuleError.rateLimited(wait, "too many refused requests came from this address") }
        if let wait = addresses?.take(address) { throw RuleError.rateLimited(wait, "too many requests came from this address") }
    }

    /// One attempt for one voter (voter key or personal number's keyed hash).
    func admit(voter: String) throws {
        if let wait = voters?.take(voter) { throw RuleError.rateLimited(wait, "too many attempts were made for this voter") }
    }

    /// Counts a refused voter request against its address.
    func refused(address: String) {
        _ = refusals?.take(address)
    }
}

extension RuleError {
    static func rateLimited(_ seconds: Double, _ why: String) -> RuleError {
        let wait = max(1, Int(seconds.rounded(.up)))
        return RuleError(.tooManyRequests, code: "rate-limited",
                         message: "Slow down: \(why). Wait \(wait) s (the Retry-After header) and try again.", retryAfter: wait)
    }
}
