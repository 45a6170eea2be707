/// Lowercase hex for long fields (an 11 KB ballot per record line): same rules as `Hex`
/// (lowercase only, even length, nothing else), eight digits per step instead of one.
public enum FastHex {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    // MARK: Decoding

    /// Decodes lowercase hex; nil for odd length, upper case or any other byte, exactly
    /// where `Hex.decode` returns nil.
    public static func decode(_ text: String) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    public static func decode(_ digits: some Collection<UInt8>) -> [UInt8]? {
        if let direct = digits.withContiguousStorageIfAvailable({ decode(UnsafeRawBufferPointer($0)) }) {
            return direct
        }
        return Array(digits).withUnsafeBytes { decode($0) }
    }

    public static func decode(_ digits: UnsafeRawBufferPointer) -> [UInt8]? {
        let count = digits.count
        guard count % 2 == 0 else { return nil }
        let outCount = count / 2
        var valid = true
        let out = [UInt8](unsafeUninitializedCapacity: outCount) { out, initialized in
            valid = decode(digits, into: UnsafeMutableRawBufferPointer(out))
            // Every byte is written whether or not the input was valid.
            initialized = outCount
        }
        return valid ? out : nil
    }

    /// Writes `digits.count / 2` bytes; false if some digit is not lowercase hex.
    private static func decode(_ digits: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Bool {
        let outCount = out.count
        var k = 0
        // Invalid digits only set bits here; one test at the end keeps the loop branch-free.
        var invalid: UInt64 = 0
        while k + 8 <= outCount {
            let first = decodeWord(UInt64(littleEndian: digits.loadUnaligned(fromByteOffset: 2 * k, as: UInt64.self)), invalid: &invalid)
            let second = decodeWord(UInt64(littleEndian: digits.loadUnaligned(fromByteOffset: 2 * k + 8, as: UInt64.self)), invalid: &invalid)
            out.storeBytes(of: (UInt64(first) | UInt64(second) << 32).littleEndian, toByteOffset: k, as: UInt64.self)
            k += 8
        }
        while k + 4 <= outCount {
            let bytes = decodeWord(UInt64(littleEndian: digits.loadUnaligned(fromByteOffset: 2 * k, as: UInt64.self)), invalid: &invalid)
            out.storeBytes(of: bytes.littleEndian, toByteOffset: k, as: UInt32.self)
            k += 4
        }
        var valid = invalid == 0
        while k < outCount {
            let hi = nibble(digits[2 * k]), lo = nibble(digits[2 * k + 1])
            valid = valid && hi != nil && lo != nil
            out[k] = (hi ?? 0) << 4 | (lo ?? 0)
            k += 1
        }
        return valid
    }

    /// Eight digits (first digit in the low byte) to four bytes (first byte in the low
    /// byte); sets bits of `invalid` if any digit is not 0-9 or a-f.
    @inline(__always)
    static func decodeWord(_ word: UInt64, invalid: inout UInt64) -> UInt32 {
        // For bytes below 0x80 (the top bits are checked too), x + (0x80 - lo) sets a byte's
        // top bit iff byte >= lo and x + (0x7f - hi) iff byte > hi, with no carry between bytes.
        let low7 = word & ~highs
        let atLeast0 = low7 &+ ones &* (0x80 - 0x30)
        let above9 = low7 &+ ones &* (0x7f - 0x39)
        let atLeastA = low7 &+ ones &* (0x80 - 0x61)
        let aboveF = low7 &+ ones &* (0x7f - 0x66)
        let isDigit = (atLeast0 & ~above9) | (atLeastA & ~aboveF)
        invalid |= (word | ~isDigit) & highs
        // '0'-'9' is 0x3N and 'a'-'f' is 0x6N with N 1-6: bit 6 says "add 9".
        let nibbles = (word & (ones &* 0x0f)) &+ ((word >> 6) & ones) &* 9
        let paired = ((nibbles << 4) | (nibbles >> 8)) & 0x00ff_00ff_00ff_00ff
        let packed = (paired | (paired >> 8)) & 0x0000_ffff_0000_ffff
        return UInt32(truncatingIfNeeded: packed | (packed >> 16))
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        default: nil
        }
    }

    // MARK: Encoding

    public static func encode(_ bytes: some Collection<UInt8>) -> String {
        if let direct = bytes.withContiguousStorageIfAvailable({ encode(UnsafeRawBufferPointer($0)) }) {
            return direct
        }
        return Array(bytes).withUnsafeBytes { encode($0) }
    }

    public static func encode(_ bytes: UnsafeRawBufferPointer) -> String {
        String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            encode(bytes, into: UnsafeMutableRawBufferPointer(out))
            return bytes.count * 2
        }
    }

    /// The digits as bytes, for writers that build a record line in a byte buffer.
    public static func encodeToBytes(_ bytes: some Collection<UInt8>) -> [UInt8] {
        let source = Array(bytes)
        return [UInt8](unsafeUninitializedCapacity: source.count * 2) { out, initialized in
            source.withUnsafeBytes { encode($0, into: UnsafeMutableRawBufferPointer(out)) }
            initialized = source.count * 2
        }
    }

    private static func encode(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
        let count = bytes.count
        var k = 0
        while k + 4 <= count {
            let word = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: k, as: UInt32.self))
            out.storeBytes(of: encodeWord(word).littleEndian, toByteOffset: 2 * k, as: UInt64.self)
            k += 4
        }
        while k < count {
            let byte = bytes[k]
            out[2 * k] = digit(byte >> 4)
            out[2 * k + 1] = digit(byte & 0x0f)
            k += 1
        }
    }

    /// Four bytes (first in the low byte) to eight lowercase digits (first in the low byte).
    static func encodeWord(_ word: UInt32) -> UInt64 {
        var spread = UInt64(word)
        spread = (spread | (spread << 16)) & 0x0000_ffff_0000_ffff
        spread = (spread | (spread << 8)) & 0x00ff_00ff_00ff_00ff
        let nibbles = ((spread >> 4) & 0x000f_000f_000f_000f) | ((spread & 0x000f_000f_000f_000f) << 8)
        // 0x76 + n reaches 0x80 exactly when n >= 10, which needs 'a' - '0' - 10 = 39 more.
        let letters = ((nibbles &+ ones &* 0x76) >> 7) & ones
        return nibbles &+ ones &* 0x30 &+ letters &* 39
    }

    private static func digit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? 0x30 + nibble : 0x61 + nibble - 10
    }
}
