import Foundation
import Testing
@testable import VotingCore

/// The outside test-vector folder (`<package root>/../shared/vectors`). The vectors are read
/// from there at test time and never copied into this repository.
enum Vectors {
    /// `<package root>/../shared/vectors`, where the package root is three levels above this
    /// file (`<root>/Tests/VotingCoreTests/Vectors.swift`).
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // Tests/VotingCoreTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("..")
        .appendingPathComponent("shared")
        .appendingPathComponent("vectors")
        .standardizedFileURL

    /// The folder as a path, for messages.
    static var path: String { root.path }

    static var available: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    /// True when the folder exists, or under CI (env CI == "true"): there a missing folder
    /// must fail the test (through `requireFolder`) instead of silently skipping it.
    static var availableOrRequired: Bool {
        available || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    /// A file or folder inside the vectors folder.
    static func url(_ relative: String) -> URL {
        root.appendingPathComponent(relative)
    }

    /// Fails the calling test, naming the folder, when the vectors folder is missing.
    static func requireFolder(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(available, "outside vectors folder \(path) (../shared/vectors from the package root) not found",
                     sourceLocation: sourceLocation)
    }

    /// Reads a vector file, failing with the file's path when it cannot be read.
    static func data(_ relative: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Data {
        try requireFolder(sourceLocation: sourceLocation)
        let file = url(relative)
        let data = FileManager.default.contents(atPath: file.path)
        return try #require(data, "cannot read vector file \(file.path)", sourceLocation: sourceLocation)
    }

    /// Every regular file with extension `ext` below `relative`, recursively, as paths
    /// relative to `relative`, sorted.
    static func files(under relative: String, ext: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String] {
        try requireFolder(sourceLocation: sourceLocation)
        let base = url(relative).standardizedFileURL
        let enumerator = try #require(FileManager.default.enumerator(atPath: base.path),
                                      "cannot list vector folder \(base.path)", sourceLocation: sourceLocation)
        var out: [String] = []
        while let item = enumerator.nextObject() as? String {
            guard item.hasSuffix("." + ext) else { continue }
            var isDirectory: ObjCBool = false
            let full = base.appendingPathComponent(item).path
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
                out.append(item)
            }
        }
        return out.sorted()
    }
}

/// Lowercase hex to bytes for test constants; traps on a typo in the test itself.
func hex(_ text: String) -> [UInt8] {
    guard let bytes = Hex.decode(text.filter { !$0.isWhitespace }) else {
        preconditionFailure("bad hex constant in test: \(text)")
    }
    return bytes
}
