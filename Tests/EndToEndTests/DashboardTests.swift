import Foundation
import Testing
@testable import BallotServer
import VoterKit
import VotingCore

/// The observer dashboard, loaded in headless Chromium against a real server: the numbers it
/// renders must be the log's, and its in-browser inclusion check must verify a real ballot.
@Suite("observer dashboard in headless Chromium", .serialized)
struct DashboardTests {
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static var runnable: Bool { chromium != nil || ProcessInfo.processInfo.environment["CI"] == "true" }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func browser(_ arguments: [String]) throws -> Tools.Outcome {
        let chromium = try #require(Self.chromium, "Chromium is not installed (apt-get install chromium); .ci/run installs it")
        let profile = try Tools.temporaryDirectory("chromium-profile")
        defer { try? FileManager.default.removeItem(atPath: profile) }
        return try Tools.run(URL(fileURLWithPath: chromium),
                             ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                              "--user-data-dir=\(profile)", "--virtual-time-budget=8000"] + arguments, timeout: 120)
    }

    @Test("the dashboard renders the log's numbers and results, and verifies a ballot in the browser",
          .enabled(if: DashboardTests.runnable, "Chromium not found (install the Debian package chromium); skipped outside CI"))
    func dashboard() async throws {
        let path = try Tools.temporaryDirectory("e2e-dashboard")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dir = DataDirectory(path: path + "/election")
        let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: try ExampleElection.manifest())
        let codes = try await store.importRoll(ExampleElection.roll(voters: 6, districts: 2), rollSecret: try dir.rollSecret(), commissionKey: try dir.commissionKey()).codes
        let trustees = try await LocalTrustees.register(in: store, commissionKey: try dir.commissionKey())
        let server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path)
        defer { server.stop() }

        var cast: [(district: String, choice: String, code: TrackingCode)] = []
        try await BallotServerClient.withPooledHTTPClient(connections: 4) { http in
            let client = try BallotServerClient(baseURL: server.url, http: http)
            try await trustees.runCeremony(client: client)
            _ = try await store.changeWindow(.open, commissionKey: try dir.commissionKey())
            let election = try await VoterActions.fetchElection(client)
            for (i, issued) in codes.enumerated() {
                let wallet = try await VoterActions.enroll(client: client, personalNumber: issued.personalNumber, code: issued.code, election: election)
                let district = try wallet.enrolledDistrict()
                let options = try #require(election.manifest.district(district)).options
                let choice = options[i % 2].id
                let receipt = try await VoterActions.cast(client: client, wallet: wallet, selections: [choice], election: election)
                cast.append((district, choice, receipt.trackingCode))
            }
            // One refusal, so the refusals panel has something to show.
            _ = try? await client.lookup(trackingCode: TrackingCode(digest: SHA256.hash([UInt8]())))
            _ = try await store.changeWindow(.close, commissionKey: try dir.commissionKey())
            try await trustees.decrypt(client: client, indices: [1, 2, 3])
        }

        let tracked = try #require(cast.first).code.hex
        let page = try browser(["--dump-dom", "\(server.url)/?track=\(tracked)"])
        let dom = page.stdout
        #expect(dom.contains("data-loaded=\"true\""), "the page did not finish loading: \(page.stderr.suffix(500))")
        #expect(dom.contains("id=\"check-result\" class=\"ok\" data-verified=\"true\""), "the in-browser inclusion check did not pass")
        #expect(dom.contains("id=\"total-ballots\">6<"))
        for district in ["d01", "d02"] {
            let ballots = cast.filter { $0.district == district }.count
            #expect(dom.contains("<tr data-district=\"\(district)\">"))
            #expect(dom.range(of: "data-district=\"\(district)\">[^\\n]*?data-field=\"ballots\">\(ballots)<", options: .regularExpression) != nil,
                    "district \(district) should show \(ballots) ballots")
            for choice in Set(cast.filter { $0.district == district }.map(\.choice)) {
                let votes = cast.filter { $0.district == district && $0.choice == choice }.count
                #expect(dom.contains("data-option=\"\(district)/\(choice)\">\(votes)<"), "\(district)/\(choice) should show \(votes) votes")
            }
        }
        #expect(dom.contains("not-found"), "the refusals panel lists the refused lookup")
        #expect(dom.contains("voter audit --server \(server.url)"))
        #expect(!dom.contains("<script src"), "the page must not load external scripts")

        // A screenshot, kept as a test artifact for people to look at.
        let artifacts = Self.root.appendingPathComponent(".build/test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts.appendingPathComponent("dashboard.png")
        try? FileManager.default.removeItem(at: screenshot)
        _ = try browser(["--window-size=1280,1800", "--screenshot=\(screenshot.path)", "\(server.url)/?track=\(tracked)"])
        #expect(FileManager.default.fileExists(atPath: screenshot.path), "no screenshot was written")
        print("dashboard screenshot: \(screenshot.path)")
    }
}
