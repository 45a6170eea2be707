#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Cuts a record byte stream (file blocks, HTTP body parts) into lines at LF, keeping at
/// most one partial line of at most `maxLineLength` bytes: a longer line is counted, not
/// kept, and reported as malformed when its LF arrives.
public struct RecordLineSplitter: Sendable {
    /// One line of the record, numbered from 1, without its LF.
    public enum Output: Sendable, Hashable {
        case line(number: Int, byteOffset: UInt64, bytes: [UInt8])
        /// A line that cannot be passed on: too long, or the unterminated end of the record.
        case malformed(number: Int, byteOffset: UInt64, error: RecordLineError)

        public var number: Int {
            switch self {
            case .line(let number, _, _), .malformed(let number, _, _): number
            }
        }

        /// Where the line starts in the record.
        public var byteOffset: UInt64 {
            switch self {
            case .line(_, let offset, _), .malformed(_, let offset, _): offset
            }
        }

        /// The line parsed by the record grammar.
        public func parsed(maxLength: Int = RecordLine.defaultMaxLength) -> Result<RecordLine, RecordLineError> {
            switch self {
            case .line(_, _, let bytes): Result { () throws(RecordLineError) in try RecordLine.parse(bytes, maxLength: maxLength) }
            case .malformed(_, _, let error): .failure(error)
            }
        }
    }

    public let maxLineLength: Int
    private var partial: [UInt8] = []
    /// Bytes of the current line seen so far, kept or not.
    private var currentLength = 0
    private var lineStart: UInt64 = 0
    private var linesEmitted = 0

    public init(maxLineLength: Int = RecordLine.defaultMaxLength) {
        self.maxLineLength = maxLineLength
    }

    /// Bytes held for the unfinished line (tests check the bound).
    var bufferedByteCount: Int { partial.count }

    /// Hands every line that `chunk` completes to `emit`, in order.
    public mutating func feed<E: Error>(_ chunk: UnsafeRawBufferPointer, _ emit: (Output) throws(E) -> Void) throws(E) {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        var start = 0
        while start < chunk.count {
            guard let found = memchr(base + start, Int32(RecordByte.lineFeed), chunk.count - start) else {
                keepPartial(UnsafeRawBufferPointer(rebasing: chunk[start...]))
                return
            }
            let end = base.distance(to: UnsafeRawPointer(found))
            let output = endLine(UnsafeRawBufferPointer(rebasing: chunk[start..<end]))
            start = end + 1
            try emit(output)
        }
    }

    /// The lines that `chunk` completes (an array, `Data`, a NIO `ByteBufferView`).
    public mutating func feed(_ chunk: some Collection<UInt8>) -> [Output] {
        var outputs: [Output] = []
        let done: Void? = chunk.withContiguousStorageIfAvailable { buffer in
            feed(UnsafeRawBufferPointer(buffer)) { outputs.append($0) }
        }
        if done == nil {
            Array(chunk).withUnsafeBytes { feed($0) { outputs.append($0) } }
        }
        return outputs
    }

    /// Call once after the last chunk: the record must end with LF, so bytes left over
    /// mean it was cut short.
    public mutating func finish() -> Output? {
        guard currentLength > 0 else { return nil }
        let output = Output.malformed(number: linesEmitted + 1, byteOffset: lineStart,
                                      error: RecordLineError(.missingFinalLineFeed(fragmentLength: currentLength), at: currentLength))
        linesEmitted += 1
        lineStart += UInt64(currentLength)
        currentLength = 0
        partial = []
        return output
    }

    private mutating func keepPartial(_ piece: UnsafeRawBufferPointer) {
        currentLength += piece.count
        if currentLength > maxLineLength {
            // Over the limit: forget the bytes and only count the rest up to the LF.
            partial = []
        } else {
            partial.append(contentsOf: piece)
        }
    }

    private mutating func endLine(_ tail: UnsafeRawBufferPointer) -> Output {
        let length = currentLength + tail.count
        let number = linesEmitted + 1
        let output: Output
        if length > maxLineLength {
            output = .malformed(number: number, byteOffset: lineStart,
                                error: RecordLineError(.lineTooLong(maximum: maxLineLength, length: length), at: maxLineLength))
        } else if currentLength == 0 {
            output = .line(number: number, byteOffset: lineStart, bytes: Array(tail))
        } else {
            partial.append(contentsOf: tail)
            output = .line(number: number, byteOffset: lineStart, bytes: partial)
        }
        partial = []
        linesEmitted = number
        lineStart += UInt64(length) + 1
        currentLength = 0
        return output
    }
}

/// Why a record file could not be read (as opposed to a malformed line in it).
public struct RecordFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public let path: String
    public let operation: String
    public let errorNumber: Int32

    public var description: String {
        "cannot \(operation) the record \(path): \(String(cString: strerror(errorNumber)))"
    }
}

/// Reads a record file in large blocks with `read(2)` and splits it into lines, so a
/// 10 GB record goes by at disk speed in memory bounded by the block and one line.
public final class RecordFileReader {
    public let path: String
    private let descriptor: Int32
    private let block: UnsafeMutableRawBufferPointer
    private var splitter: RecordLineSplitter
    private var ready: [RecordLineSplitter.Output] = []
    private var readyIndex = 0
    private var reachedEnd = false

    public init(path: String, blockSize: Int = 1 << 20, maxLineLength: Int = RecordLine.defaultMaxLength) throws(RecordFileError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw RecordFileError(path: path, operation: "open", errorNumber: errno) }
        self.path = path
        self.descriptor = descriptor
        block = UnsafeMutableRawBufferPointer.allocate(byteCount: max(blockSize, 1), alignment: 16)
        splitter = RecordLineSplitter(maxLineLength: maxLineLength)
    }

    deinit {
        close(descriptor)
        block.deallocate()
    }

    /// The next line, nil after the last one (including a final unterminated fragment).
    public func next() throws(RecordFileError) -> RecordLineSplitter.Output? {
        while readyIndex == ready.count {
            guard !reachedEnd else { return nil }
            ready.removeAll(keepingCapacity: true)
            readyIndex = 0
            let count = try readBlock()
            if count == 0 {
                reachedEnd = true
                if let last = splitter.finish() { ready.append(last) }
            } else {
                splitter.feed(UnsafeRawBufferPointer(rebasing: block[..<count])) { ready.append($0) }
            }
        }
        defer { readyIndex += 1 }
        return ready[readyIndex]
    }

    /// Calls `body` with every line of the file in order.
    public static func forEachLine(path: String, blockSize: Int = 1 << 20, maxLineLength: Int = RecordLine.defaultMaxLength,
                                   _ body: (RecordLineSplitter.Output) throws -> Void) throws {
        let reader = try RecordFileReader(path: path, blockSize: blockSize, maxLineLength: maxLineLength)
        while let output = try reader.next() { try body(output) }
    }

    private func readBlock() throws(RecordFileError) -> Int {
        while true {
            let count = read(descriptor, block.baseAddress, block.count)
            if count >= 0 { return count }
            guard errno == EINTR else { throw RecordFileError(path: path, operation: "read", errorNumber: errno) }
        }
    }
}
