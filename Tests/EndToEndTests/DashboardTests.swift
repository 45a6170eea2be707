import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing
@testable import BallotServer
import VoterKit
import VotingCore

/// The observer dashboard, loaded in headless Chromium against a real server: the numbers it
/// renders must be the log's, its in-browser checks (inclusion proof, Ed25519 signatures of the
/// checkpoint and the results against entry 0's server key) must pass on the real record and
/// fail on a tampered one, in Kyrgyz, Russian and English, at desktop and phone widths.
@Suite("observer dashboard in headless Chromium", .serialized)
struct DashboardTests {
    static let chromium: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    static var runnable: Bool { chromium != nil || ProcessInfo.processInfo.environment["CI"] == "true" }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs headless Chromium on a thread of its own (a blocking wait must not hold one of the
    /// two cooperative threads the in-process proxy needs). `profile` keeps local storage
    /// between runs; a fresh one is made and removed otherwise.
    func browser(_ arguments: [String], profile: String? = nil) async throws -> Tools.Outcome {
        let chromium = try #require(Self.chromium, "Chromium is not installed (apt-get install chromium); .ci/run installs it")
        let directory = try profile ?? Tools.temporaryDirectory("chromium-profile")
        defer { if profile == nil { try? FileManager.default.removeItem(atPath: directory) } }
        return try await BackgroundRun(URL(fileURLWithPath: chromium),
                                       ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                                        "--user-data-dir=\(directory)", "--virtual-time-budget=8000"] + arguments, timeout: 120).outcome()
    }

    /// The dashboard's DOM at a phone's width: Chromium's headless window is at least 500 px
    /// wide, so the proxy's `/_phone` page shows the dashboard in a 400 px frame and copies the
    /// frame's DOM out for `--dump-dom`.
    func phoneDOM(_ proxy: DashboardProxy, _ path: String) async throws -> String {
        var allowed = CharacterSet.urlQueryAllowed
        allowed.remove(charactersIn: "&=?+")
        let src = try #require(path.addingPercentEncoding(withAllowedCharacters: allowed))
        let page = try await browser(["--window-size=1280,2400", "--dump-dom", "\(proxy.url)/_phone?src=\(src)"])
        let dump = page.stdout
        guard let start = dump.range(of: "<textarea id=\"framed\">"), let end = dump.range(of: "</textarea>", range: start.upperBound..<dump.endIndex) else {
            Issue.record("the phone frame was not copied out: \(page.stderr.suffix(500))")
            return ""
        }
        return String(dump[start.upperBound..<end.lowerBound])
            .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&nbsp;", with: "\u{a0}").replacingOccurrences(of: "&amp;", with: "&")
    }

    /// The value of `attribute` on the element with `id` (nil when absent).
    static func attribute(_ attribute: String, of id: String, in dom: String) -> String? {
        guard let tag = dom.range(of: "<[^>]*id=\"\(id)\"[^>]*>", options: .regularExpression) else { return nil }
        let element = dom[tag]
        guard let value = element.range(of: "\(attribute)=\"[^\"]*\"", options: .regularExpression) else { return nil }
        return String(element[value].dropFirst(attribute.count + 2).dropLast())
    }

    struct CastBallot: Sendable { let district: String; let choice: String; let code: TrackingCode }

    @Test("the dashboard shows the log's numbers, named winners, shares and checked signatures in ky, ru and en, at 1280 and 400 px, and remembers the language",
          .enabled(if: DashboardTests.runnable, "Chromium not found (install the Debian package chromium); skipped outside CI"))
    func dashboard() async throws {
        let path = try Tools.temporaryDirectory("e2e-dashboard")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dir = DataDirectory(path: path + "/election")
        let manifest = try ExampleElection.manifest()
        let store = try await ElectionStore.create(in: dir, database: .sqlite, manifest: manifest)
        let codes = try await store.importRoll(ExampleElection.roll(voters: 6, districts: 2), rollSecret: try dir.rollSecret(), commissionKey: try dir.commissionKey()).codes
        let trustees = try await LocalTrustees.register(in: store, commissionKey: try dir.commissionKey())
        let server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: dir.url.path)
        defer { server.stop() }

        var cast: [CastBallot] = []
        try await BallotServerClient.withPooledHTTPClient(connections: 4) { http in
            let client = try BallotServerClient(baseURL: server.url, http: http)
            try await trustees.runCeremony(client: client)
            _ = try await store.changeWindow(.open, commissionKey: try dir.commissionKey())
            let election = try await VoterActions.fetchElection(client)
            for issued in codes {
                let wallet = try await VoterActions.enroll(client: client, personalNumber: issued.personalNumber, code: issued.code, election: election)
                let district = try wallet.enrolledDistrict()
                let options = try #require(election.manifest.district(district)).options
                // The first voter of each district picks its first candidate, the others the last
                // option ("against all": counted, never a seat), so each district has a winner.
                let first = !cast.contains { $0.district == district }
                let choice = first ? options[0].id : options[options.count - 1].id
                let receipt = try await VoterActions.cast(client: client, wallet: wallet, selections: [choice], election: election)
                cast.append(CastBallot(district: district, choice: choice, code: receipt.trackingCode))
            }
            // One refusal, so the refusals panel has something to show.
            _ = try? await client.lookup(trackingCode: TrackingCode(digest: SHA256.hash([UInt8]())))
            _ = try await store.changeWindow(.close, commissionKey: try dir.commissionKey())
            try await trustees.decrypt(client: client, indices: [1, 2, 3])
        }
        let signed = try #require(try await store.tallyInfo().results)
        let tracked = try #require(cast.first).code.hex
        let castBallots = cast

        try await DashboardProxy.run(upstream: server.url) { proxy in
            for language in [PageLanguage.ky, .ru, .en] {
                let t = Translations(language)
                let query = "/?lang=\(language.rawValue)&track=\(tracked)"
                let desktop = try await browser(["--window-size=1280,1800", "--dump-dom", "\(server.url)\(query)"])
                #expect(desktop.stdout.contains("data-loaded=\"true\""), "\(language): the page did not finish loading: \(desktop.stderr.suffix(500))")
                let phone = try await phoneDOM(proxy, query)
                for (width, dom) in [("1280", desktop.stdout), ("400", phone)] {
                    let label = "\(language.rawValue) at \(width) px"
                    #expect(dom.contains("<html lang=\"\(language.rawValue)\""), "\(label): the page is not in its language")
                    #expect(dom.contains("<h1 id=\"election-name\">\(manifest.displayName(language.rawValue))</h1>"), "\(label): election name")
                    #expect(dom.contains(">\(t("results.heading"))</h2>"), "\(label): results heading")
                    #expect(dom.contains(">\(t("districts.heading"))</h2>"), "\(label): districts heading")
                    if language != .en {
                        // The markup before the script (which holds every language's sentences).
                        let visible = dom.components(separatedBy: "<script>").first ?? dom
                        for english in [">Results<", ">Districts<", ">Check my ballot<", "Checkpoint signature checked", "ballots cast"] {
                            #expect(!visible.contains(english), "\(label): English left on the page: \(english)")
                        }
                    }
                    // The in-browser checks: the ballot's inclusion proof and both signatures.
                    #expect(Self.attribute("data-verified", of: "check-result", in: dom) == "true", "\(label): the inclusion check did not pass")
                    #expect(Self.attribute("data-verified", of: "checkpoint-signature", in: dom) == "ok", "\(label): checkpoint signature")
                    #expect(Self.attribute("data-verified", of: "results-signature", in: dom) == "ok", "\(label): results signature")
                    #expect(dom.contains(t("signature.checkpointOk")) && dom.contains(t("signature.resultsOk")), "\(label): ✓ sentences")
                    // The numbers: every district's ballots and every option's votes, from the log.
                    #expect(dom.contains("id=\"total-ballots\">6<"), "\(label)")
                    for district in ["d01", "d02"] {
                        let ballots = castBallots.filter { $0.district == district }.count
                        #expect(dom.range(of: "data-district=\"\(district)\">[^\\n]*?data-field=\"ballots\"[^>]*>\(ballots)<", options: .regularExpression) != nil,
                                "\(label): district \(district) should show \(ballots) ballots")
                        for choice in Set(castBallots.filter { $0.district == district }.map(\.choice)) {
                            let votes = castBallots.filter { $0.district == district && $0.choice == choice }.count
                            #expect(dom.contains("data-option=\"\(district)/\(choice)\">\(votes)<"), "\(label): \(district)/\(choice) should show \(votes) votes")
                        }
                    }
                    // Districts with an empty roll are left out (the example has 30, the roll fills 2).
                    #expect(!dom.contains("data-district=\"d03\""), "\(label): a district with an empty roll is shown")
                    // Winners by name, the id in a tooltip; "against all" is counted with its name.
                    for result in signed.results.districts where result.roll > 0 {
                        let district = try #require(manifest.district(result.district))
                        #expect(!result.elected.isEmpty)
                        for id in result.elected {
                            let name = try #require(district.option(id)).displayName(language.rawValue)
                            #expect(dom.contains("title=\"\(id)\" data-option-id=\"\(id)\">\(name)</span>"), "\(label): winner \(id) named \(name)")
                        }
                        let against = try #require(district.option("against-all")).displayName(language.rawValue)
                        #expect(dom.contains("title=\"against-all\">\(against)</td>"), "\(label): \(against)")
                        // Shares and turnout as the server computed them from the signed counts.
                        for (option, share) in zip(district.options, result.shares(digits: 1) ?? []) {
                            #expect(dom.contains("data-share=\"\(result.district)/\(option.id)\">\(share)%<"), "\(label): share of \(option.id)")
                        }
                        #expect(dom.contains("(\(result.turnout(digits: 1) ?? "?")%)"), "\(label): turnout of \(result.district)")
                    }
                    #expect(dom.contains("not-found"), "\(label): the refusals panel lists the refused lookup")
                    #expect(dom.contains("voter audit --server \(width == "400" ? proxy.url : server.url)</pre>"), "\(label): the audit command")
                    #expect(!dom.contains("<script src"), "\(label): the page must not load external scripts")
                }
                // No sideways scrolling on a phone.
                let pageWidth = Self.attribute("data-page-width", of: "top", in: phone).flatMap { Int($0) }
                let viewWidth = Self.attribute("data-view-width", of: "top", in: phone).flatMap { Int($0) }
                #expect(viewWidth == 400, "\(language): the frame is not 400 px wide: \(viewWidth.map(String.init) ?? "nil")")
                #expect((pageWidth ?? Int.max) <= (viewWidth ?? 0), "\(language): the page is \(pageWidth.map(String.init) ?? "nil") px wide in a 400 px window")
            }

            // The language: from the browser when nothing was chosen, English when the browser's
            // is not ours, and a choice is remembered across a reload.
            let kyrgyzBrowser = try await browser(["--accept-lang=ky,ru", "--dump-dom", "\(server.url)/"])
            #expect(kyrgyzBrowser.stdout.contains("<html lang=\"ky\""), "a Kyrgyz browser gets the page in Kyrgyz")
            let germanBrowser = try await browser(["--accept-lang=de-DE,de", "--dump-dom", "\(server.url)/"])
            #expect(germanBrowser.stdout.contains("<html lang=\"en\""), "a browser in a language we do not speak gets English")
            let profile = try Tools.temporaryDirectory("chromium-profile")
            defer { try? FileManager.default.removeItem(atPath: profile) }
            let chosen = try await browser(["--accept-lang=ky", "--dump-dom", "\(server.url)/?lang=ru"], profile: profile)
            #expect(chosen.stdout.contains("<html lang=\"ru\""))
            let reloaded = try await browser(["--accept-lang=ky", "--dump-dom", "\(server.url)/"], profile: profile)
            #expect(reloaded.stdout.contains("<html lang=\"ru\""), "the chosen language was not remembered across the reload")
            #expect(reloaded.stdout.contains(Translations(.ru)("signature.resultsOk")))

            // Tampering in transit is caught in the browser: a changed count and a changed
            // checkpoint signature, then a swapped entry 0.
            proxy.tamper.set(.statusCountAndCheckpoint)
            let tampered = try await browser(["--dump-dom", "\(proxy.url)/?lang=en"])
            #expect(Self.attribute("data-verified", of: "checkpoint-signature", in: tampered.stdout) == "bad", "a forged checkpoint signature passed")
            #expect(Self.attribute("data-verified", of: "results-signature", in: tampered.stdout) == "bad", "a changed count passed the results signature")
            #expect(tampered.stdout.contains(Translations(.en)("signature.resultsBad")))
            proxy.tamper.set(.entryZero)
            let swapped = try await browser(["--dump-dom", "\(proxy.url)/?lang=ru"])
            #expect(Self.attribute("data-verified", of: "checkpoint-signature", in: swapped.stdout) == "entry-zero", "a swapped entry 0 was used")
            #expect(swapped.stdout.contains(Translations(.ru)("signature.entryZeroBad")))
            proxy.tamper.set(.none)

            // Over plain http under another name (mapped to 127.0.0.1) the browser withholds
            // WebCrypto: the page says it cannot check here, which is not a failed check.
            let port = try #require(server.url.split(separator: ":").last.flatMap { Int($0) })
            let insecure = try await browser(["--host-resolver-rules=MAP observer.test 127.0.0.1", "--dump-dom",
                                              "http://observer.test:\(port)/?lang=ky&track=\(tracked)"])
            #expect(Self.attribute("data-verified", of: "checkpoint-signature", in: insecure.stdout) == "insecure", "\(insecure.stderr.suffix(300))")
            #expect(Self.attribute("data-verified", of: "check-result", in: insecure.stdout) == "unsupported")
            #expect(insecure.stdout.contains(Translations(.ky)("signature.insecure")))
        }

        // A screenshot at each width, kept as a test artifact for people to look at.
        let artifacts = Self.root.appendingPathComponent(".build/test-artifacts")
        try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
        let screenshot = artifacts.appendingPathComponent("dashboard.png")
        try? FileManager.default.removeItem(at: screenshot)
        _ = try await browser(["--window-size=1280,1800", "--screenshot=\(screenshot.path)", "\(server.url)/?lang=ky&track=\(tracked)"])
        #expect(FileManager.default.fileExists(atPath: screenshot.path), "no screenshot was written")
        print("dashboard screenshot: \(screenshot.path)")
    }
}

/// A forwarding proxy on 127.0.0.1 in front of the real server, for what a browser flag cannot
/// do: show the page in a 400 px frame (`/_phone?src=PATH`), and change answers in transit.
final class DashboardProxy: Sendable {
    enum Tamper: Sendable { case none, statusCountAndCheckpoint, entryZero }

    /// What the proxy changes in transit, switched by the test between browser runs.
    final class TamperSwitch: Sendable {
        private let mode = Mutex(Tamper.none)
        func set(_ tamper: Tamper) { mode.withLock { $0 = tamper } }
        var current: Tamper { mode.withLock { $0 } }
    }

    let upstream: String
    let port: Int
    let tamper: TamperSwitch
    var url: String { "http://127.0.0.1:\(port)" }

    private init(upstream: String, port: Int, tamper: TamperSwitch) {
        self.upstream = upstream
        self.port = port
        self.tamper = tamper
    }

    static let phonePage = """
        <!doctype html>
        <html><head><meta charset="utf-8"></head><body style="margin:0">
        <iframe id="phone" style="width:400px;height:2400px;border:0"></iframe>
        <textarea id="framed"></textarea>
        <script>
        const frame = document.getElementById("phone");
        frame.src = new URLSearchParams(location.search).get("src");
        // The frame's DOM, copied out until the dump: its body carries the width it measured.
        setInterval(() => {
          const d = frame.contentDocument;
          if (!d || !d.body || d.body.dataset.loaded !== "true") return;
          d.body.id = "top";
          document.getElementById("framed").textContent = d.documentElement.outerHTML;
        }, 200);
        </script>
        </body></html>
        """

    /// Runs `body` with a proxy listening on 127.0.0.1 (any free port), then shuts it down.
    static func run(upstream: String, _ body: @Sendable (DashboardProxy) async throws -> Void) async throws {
        let tamper = TamperSwitch()
        let base = upstream.hasSuffix("/") ? String(upstream.dropLast()) : upstream
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let router = Router()
        router.get("/_phone") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: DashboardProxy.phonePage)))
        }
        let forward: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, _ in
            let answer = try await HTTPClient.shared.execute(HTTPClientRequest(url: base + request.uri.description), timeout: .seconds(30))
            var bytes = Array(buffer: try await answer.body.collect(upTo: 32 << 20))
            bytes = DashboardProxy.tampered(bytes, path: request.uri.path, mode: tamper.current)
            var headers = HTTPFields()
            headers[.contentType] = answer.headers.first(name: "content-type") ?? "application/octet-stream"
            return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        router.get("/", use: forward)
        router.get("**", use: forward)
        var logger = Logger(label: "dashboard-proxy")
        logger.logLevel = .warning
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in
                                  if let port = channel.localAddress?.port { portContinuation.yield(port) }
                                  portContinuation.finish()
                              }, logger: logger)
        let services = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await services.run() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                await services.triggerGracefulShutdown()
                throw Tools.ToolError("the dashboard proxy did not start")
            }
            do {
                try await body(DashboardProxy(upstream: base, port: port, tamper: tamper))
            } catch {
                await services.triggerGracefulShutdown()
                throw error
            }
            await services.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    /// The answer as the browser gets it: changed in transit when a tamper mode is on.
    static func tampered(_ bytes: [UInt8], path: String, mode: Tamper) -> [UInt8] {
        guard mode != .none, var object = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else { return bytes }
        switch (mode, path) {
        case (.statusCountAndCheckpoint, "/v1/status"):
            // One more vote for the first option of the first district, and one bit of the
            // checkpoint signature flipped.
            if var signed = object["results"] as? [String: Any], var results = signed["results"] as? [String: Any],
               var districts = results["districts"] as? [[String: Any]], var counts = districts.first?["counts"] as? [Int] {
                counts[0] += 1
                districts[0]["counts"] = counts
                results["districts"] = districts
                signed["results"] = results
                object["results"] = signed
            }
            if var checkpoint = object["checkpoint"] as? [String: Any], let signature = checkpoint["signature"] as? String {
                checkpoint["signature"] = String(signature.dropLast()) + (signature.hasSuffix("0") ? "1" : "0")
                object["checkpoint"] = checkpoint
            }
        case (.entryZero, "/v1/log/entries"):
            // Entry 0 with its last byte (inside the election nonce) changed: no longer the
            // entry the election hash names.
            if var entries = object["entries"] as? [[String: Any]], let data = entries.first?["data"] as? String {
                entries[0]["data"] = String(data.dropLast()) + (data.hasSuffix("0") ? "1" : "0")
                object["entries"] = entries
            }
        default:
            return bytes
        }
        return (try? JSONSerialization.data(withJSONObject: object)).map(Array.init) ?? bytes
    }
}
