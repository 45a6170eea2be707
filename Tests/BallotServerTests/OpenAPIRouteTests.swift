import Foundation
import Hummingbird
import Logging
import Testing
import VotingCore
@testable import BallotServer

/// docs/openapi.yaml must describe exactly the routes `buildRouter` registers, and name
/// every error code the API can return.
@Suite struct OpenAPIRouteTests {
    /// Package root: three levels up from Tests/BallotServerTests/OpenAPIRouteTests.swift.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func read(_ relativePath: String) throws -> String {
        try String(contentsOf: packageRoot.appendingPathComponent(relativePath), encoding: .utf8)
    }

    /// "{name}" for every path parameter, whatever syntax it is written in (":name", "{name}").
    static func normalize(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { segment -> String in
            if segment.hasPrefix(":") { return "{\(segment.dropFirst())}" }
            return String(segment)
        }.joined(separator: "/")
    }

    /// "METHOD /path" for every operation under `paths:`, read line by line (no YAML library).
    static func specRoutes(_ yaml: String) throws -> Set<String> {
        let pathLine = try Regex(#"^  (/[^:]*):\s*$"#)
        let methodLine = try Regex(#"^    (get|post|put|delete|patch|head|options|trace):"#)
        var routes = Set<String>()
        var inPaths = false
        var currentPath: String?
        for line in yaml.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("paths:") { inPaths = true; continue }
            guard inPaths else { continue }
            // Another top-level key ends the paths section.
            if let first = line.first, first != " ", first != "#" { break }
            if let m = line.wholeMatch(of: pathLine), let p = m.output[1].substring {
                currentPath = normalize(String(p))
            } else if let m = line.firstMatch(of: methodLine), let method = m.output[1].substring, let currentPath {
                routes.insert("\(method.uppercased()) \(currentPath)")
            }
        }
        return routes
    }

    static func routerRoutes() async throws -> Set<String> {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let dir = DataDirectory(path: tmp)
        let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: try ExampleElection.manifest())
        let committer = TestElection.committer(store: store, clock: .system)
        let router = buildRouter(store: store, committer: committer, rollSecret: try dir.rollSecret())
        return Set(router.routes.map { "\($0.method.rawValue.uppercased()) \(normalize($0.path.description))" })
    }

    static func describe(onlyIn name: String, _ routes: Set<String>) -> String {
        routes.isEmpty ? "" : "\n  only in \(name): " + routes.sorted().joined(separator: ", ")
    }

    @Test func specListsExactlyTheRouterRoutes() async throws {
        let router = try await Self.routerRoutes()
        let spec = try Self.specRoutes(try Self.read("docs/openapi.yaml"))
        #expect(!router.isEmpty)
        #expect(!spec.isEmpty, "found no operations under paths: in docs/openapi.yaml")
        let difference = Self.describe(onlyIn: "the router", router.subtracting(spec))
            + Self.describe(onlyIn: "docs/openapi.yaml", spec.subtracting(router))
        #expect(router == spec, "docs/openapi.yaml and the router disagree:\(difference)")
    }

    @Test func specNamesEveryErrorCode() throws {
        let yaml = try Self.read("docs/openapi.yaml")
        // Every `code: "..."` of a RuleError, declared (RuleError.swift, the rules' refusals)
        // or built inline (`RuleError(.category, code: "...")`) in the API layer and the store.
        let declared = try Regex(#"code: "([^"]+)""#)
        var codes = Set<String>()
        for file in ["Sources/BallotServer/Rules/RuleError.swift", "Sources/BallotServer/Rules/ElectionRules.swift",
                     "Sources/BallotServer/API/Authorization.swift", "Sources/BallotServer/API/RateLimiter.swift",
                     "Sources/BallotServer/API/HTTPErrorResponder.swift", "Sources/BallotServer/API/Router.swift",
                     "Sources/BallotServer/Storage/ElectionStore.swift"] {
            for m in try Self.read(file).matches(of: declared) {
                if let c = m.output[1].substring { codes.insert(String(c)) }
            }
        }
        #expect(codes.count > 30, "found only \(codes.count) error codes in the sources: \(codes.sorted())")
        #expect(codes.isSuperset(of: ["enrollment-locked", "key-revoked", "ballot-id-used", "bad-opening", "unavailable"]))
        let missing = codes.filter { !yaml.contains($0) }.sorted()
        #expect(missing.isEmpty, "error codes missing from docs/openapi.yaml: \(missing.joined(separator: ", "))")
    }
}
