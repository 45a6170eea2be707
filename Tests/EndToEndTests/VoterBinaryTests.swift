import Foundation
import Testing
@testable import BallotServer
import VoterKit
import VotingCore

/// A real server process on a loopback port, driven by the real `voter` binary.
@Suite("voter binary against a real server", .serialized)
struct VoterBinaryTests {
    @Test("init, roll import, open, enroll, ballot, cast, verify, second vote refused, a rolled-back log detected")
    func wholeVoterJourney() throws {
        let work = try Tools.temporaryDirectory("e2e-voter")
        defer { try? FileManager.default.removeItem(atPath: work) }
        let data = work + "/election"

        let initialized = try Tools.run(Tools.ballotServer, ["init", "--data", data, "--json"])
        #expect(initialized.status == 0, "\(initialized.stderr)")
        let electionHash = try initialized.json()["election_hash"] as? String
        #expect(electionHash?.count == 64)
        // Key files are private.
        for key in ["server.key", "commission.key", "roll-secret.key"] {
            let mode = try FileManager.default.attributesOfItem(atPath: "\(data)/\(key)")[.posixPermissions] as? Int
            #expect(mode == 0o600, "\(key) has mode \(String(mode ?? 0, radix: 8))")
        }

        let example = try Tools.run(Tools.ballotServer, ["example", "--manifest-out", work + "/m.json", "--roll-out", work + "/roll.csv",
                                                         "--districts", "2", "--voters-per-district", "2", "--json"])
        #expect(example.status == 0, "\(example.stderr)")
        let imported = try Tools.run(Tools.ballotServer, ["roll", "import", "--data", data, "--roll", work + "/roll.csv",
                                                          "--codes-out", work + "/codes.csv", "--json"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(try imported.json()["voters"] as? Int == 4)
        let codesMode = try FileManager.default.attributesOfItem(atPath: work + "/codes.csv")[.posixPermissions] as? Int
        #expect(codesMode == 0o600)

        // Opening before the trustees' ceremony is refused.
        let early = try Tools.run(Tools.ballotServer, ["open", "--data", data, "--json"])
        #expect(early.status == 2)
        #expect((try early.json()["error"] as? [String: Any])?["code"] as? String == "ceremony-incomplete")

        // The bundled example election has 5 trustees with quorum 3: each makes a key, the commission registers it.
        for i in 1...5 {
            let keygen = try Tools.run(Tools.ballotServer, ["trustee", "keygen", "--index", "\(i)", "--name", "Trustee \(i)",
                                                            "--out", work + "/trustee-\(i).key.json", "--public-out", work + "/trustee-\(i).pub.json", "--json"])
            #expect(keygen.status == 0, "\(keygen.stderr)")
            let mode = try FileManager.default.attributesOfItem(atPath: work + "/trustee-\(i).key.json")[.posixPermissions] as? Int
            #expect(mode == 0o600)
            guard i <= 3 else { continue }
            let added = try Tools.run(Tools.ballotServer, ["trustee", "add", "--data", data, "--public", work + "/trustee-\(i).pub.json", "--json"])
            #expect(added.status == 0, "\(added.stderr)")
        }

        let server = try ServerProcess(executable: Tools.ballotServer, dataDirectory: data)
        defer { server.stop(signal: SIGKILL) }
        // Trustees 4 and 5 are registered over HTTP, by requests signed with the commission key.
        let commission = ["--server", server.url, "--commission-key", data + "/commission.key"]
        for i in 4...5 {
            let added = try Tools.run(Tools.ballotServer, ["trustee", "add", "--public", work + "/trustee-\(i).pub.json", "--json"] + commission)
            #expect(added.status == 0, "\(added.stdout)\(added.stderr)")
        }
        let foreignKey = work + "/other-commission.key"
        try Array(try Ed25519PrivateKey().pemRepresentation.utf8).withUnsafeBytes { try Data($0).write(to: URL(fileURLWithPath: foreignKey)) }
        chmod(foreignKey, 0o600)
        let foreign = try Tools.run(Tools.ballotServer, ["open", "--server", server.url, "--commission-key", foreignKey, "--json"])
        #expect(foreign.status == 2)
        #expect((try foreign.json()["error"] as? [String: Any])?["code"] as? String == "key-mismatch")

        // The ceremony over HTTP: every trustee deals, then every trustee verifies its shares.
        for i in 1...5 {
            let share = try Tools.run(Tools.ballotServer, ["trustee", "share", "--server", server.url, "--key", work + "/trustee-\(i).key.json", "--json"])
            #expect(share.status == 0, "\(share.stdout)\(share.stderr)")
        }
        for i in 1...5 {
            let verify = try Tools.run(Tools.ballotServer, ["trustee", "verify-shares", "--server", server.url, "--key", work + "/trustee-\(i).key.json", "--json"])
            #expect(verify.status == 0, "\(verify.stdout)\(verify.stderr)")
            #expect((try verify.json()["complaints"] as? [Any])?.isEmpty == true)
        }
        let opened = try Tools.run(Tools.ballotServer, ["open", "--json"] + commission)
        #expect(try opened.json()["state"] as? String == "open", "\(opened.stdout)\(opened.stderr)")
        #expect(try opened.json()["log_index"] as? Int != nil)

        // A copy of the log as it stands before anyone votes (what a server rolled back to would serve).
        let rolledBack = work + "/rolled-back"
        let backup = try Tools.run(Tools.ballotServer, ["backup", "--data", data, "--out", rolledBack, "--json"])
        #expect(backup.status == 0, "\(backup.stdout)\(backup.stderr)")

        let codeLines = try String(contentsOfFile: work + "/codes.csv", encoding: .utf8).split(separator: "\n")
        #expect(codeLines.first == "personal_number,district,code,commitment")
        let first = try #require(codeLines.dropFirst().first).split(separator: ",").map(String.init)
        let (number, code) = (first[0], first[2])
        // v2 codes: 80 bits as XXXX-XXXX-XXXX-XXXX, and the registrar commitment beside each.
        #expect(code.count == 19 && code.split(separator: "-").count == 4, "\(code)")
        #expect(first[3].count == 64)

        let wrong = try Tools.run(Tools.voter, ["enroll", "--server", server.url, "--personal-number", number, "--code", "AAAA-AAAA-AAAA-AAAA",
                                                "--wallet", work + "/wrong.json", "--json"], cwd: work)
        #expect(wrong.status == 2)
        #expect((try wrong.json()["error"] as? [String: Any])?["code"] as? String == "invalid-credentials")

        let enrolled = try Tools.run(Tools.voter, ["enroll", "--server", server.url, "--personal-number", number, "--code", code,
                                                   "--wallet", work + "/wallet.json", "--json"], cwd: work)
        #expect(enrolled.status == 0, "\(enrolled.stderr)")
        #expect(try enrolled.json()["district"] as? String == first[1])
        let walletMode = try FileManager.default.attributesOfItem(atPath: work + "/wallet.json")[.posixPermissions] as? Int
        #expect(walletMode == 0o600)
        // A second copy of the enrolled wallet (the same key on another device), made before casting.
        try FileManager.default.copyItem(atPath: work + "/wallet.json", toPath: work + "/wallet-copy.json")
        chmod(work + "/wallet-copy.json", 0o600)

        let ballot = try Tools.run(Tools.voter, ["ballot", "--server", server.url, "--wallet", work + "/wallet.json", "--json"])
        #expect(ballot.status == 0, "\(ballot.stderr)")
        let district = try #require(try ballot.json()["district"] as? [String: Any])
        let options = try #require(district["options"] as? [[String: Any]]).compactMap { $0["id"] as? String }
        #expect(options.contains("against-all"))

        let cast = try Tools.run(Tools.voter, ["cast", "--server", server.url, "--wallet", work + "/wallet.json", "--choice", options[0],
                                               "--challenge", "--receipt-out", work + "/receipt.json", "--json"])
        #expect(cast.status == 0, "\(cast.stderr)")
        let tracking = try cast.json()["tracking_code"] as? String
        #expect(tracking?.count == 64)
        let challenge = try #require(try cast.json()["challenge"] as? [String: Any])
        #expect(challenge["opens_to_choice"] as? Bool == true)
        #expect(challenge["tracking_code"] as? String != tracking, "the challenged encryption is never the cast one")

        let verified = try Tools.run(Tools.voter, ["verify", "--server", server.url, "--receipt", work + "/receipt.json", "--json"])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(try verified.json()["verdict"] as? String == "recorded-as-cast")
        // Without --server the receipt's own server is asked.
        let byReceipt = try Tools.run(Tools.voter, ["verify", "--receipt", work + "/receipt.json", "--json"])
        #expect(byReceipt.status == 0, "\(byReceipt.stdout)\(byReceipt.stderr)")
        #expect(try byReceipt.json()["verdict"] as? String == "recorded-as-cast")

        // Running cast again with the wallet that cast sends nothing new (v2: the wallet keeps its
        // cast receipt): it reports the recorded ballot, whatever --choice says.
        let again = try Tools.run(Tools.voter, ["cast", "--server", server.url, "--wallet", work + "/wallet.json", "--choice", options[1],
                                                "--receipt-out", work + "/receipt-again.json", "--json"])
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(try again.json()["tracking_code"] as? String == tracking)
        #expect(try again.json()["resumed"] as? Bool == true)
        // The same key from the other copy, with another choice: the server refuses a second ballot and names the first.
        let second = try Tools.run(Tools.voter, ["cast", "--server", server.url, "--wallet", work + "/wallet-copy.json", "--choice", options[1],
                                                 "--receipt-out", work + "/receipt2.json", "--json"])
        #expect(second.status == 2, "\(second.stdout)\(second.stderr)")
        let refusal = try #require(try second.json()["error"] as? [String: Any])
        #expect(refusal["code"] as? String == "already-voted")
        #expect(refusal["tracking_code"] as? String == tracking)
        // Nor may that copy challenge an encryption once the key has cast (it would open a ballot of a voter who voted).
        let lateChallenge = try Tools.run(Tools.voter, ["cast", "--server", server.url, "--wallet", work + "/wallet-copy.json", "--choice", options[1],
                                                        "--challenge", "--receipt-out", work + "/receipt3.json", "--json"])
        #expect(lateChallenge.status == 2, "\(lateChallenge.stdout)\(lateChallenge.stderr)")
        #expect((try lateChallenge.json()["error"] as? [String: Any])?["code"] as? String == "already-voted")

        // A receipt whose log index was altered no longer verifies by itself: v2 calls that
        // could-not-check (exit 2), since an edited file proves nothing about the server (v1
        // said "failed", exit 1).
        var receipt = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/receipt.json"))) as? [String: Any])
        var logged = try #require(receipt["logged"] as? [String: Any])
        var inner = try #require(logged["receipt"] as? [String: Any])
        inner["log_index"] = ((inner["log_index"] as? Int) ?? 0) + 1
        logged["receipt"] = inner
        receipt["logged"] = logged
        try JSONSerialization.data(withJSONObject: receipt).write(to: URL(fileURLWithPath: work + "/tampered.json"))
        let tampered = try Tools.run(Tools.voter, ["verify", "--server", server.url, "--receipt", work + "/tampered.json", "--json"])
        #expect(tampered.status == 2, "\(tampered.stdout)")
        #expect(try tampered.json()["verdict"] as? String == "could-not-check")
        // Its failed checks in Kyrgyz: the sentence from the catalog, the code English and stable.
        let kyrgyz = try Tools.run(Tools.voter, ["verify", "--server", server.url, "--receipt", work + "/tampered.json", "--lang", "ky"])
        #expect(kyrgyz.status == 2)
        #expect(kyrgyz.stdout.contains("✗ receipt-signature: квитанциянын кол тамгасы шайлоонун"), "\(kyrgyz.stdout)")
        #expect(kyrgyz.stdout.contains("КОРУТУНДУ: ТЕКШЕРҮҮ МҮМКҮН БОЛГОН ЖОК"), "\(kyrgyz.stdout)")
        #expect(!kyrgyz.stdout.contains("does not verify under"), "\(kyrgyz.stdout)")
        // The altered index: the logged entry is not the one the receipt names, said in Kyrgyz to the end.
        #expect(kyrgyz.stdout.contains("✗ entry-content: журналдын №"), "\(kyrgyz.stdout)")
        #expect(kyrgyz.stdout.contains("жазуунун номери"), "\(kyrgyz.stdout)")
        #expect(!kyrgyz.stdout.contains("mismatch"), "\(kyrgyz.stdout)")
        let kyrgyzJSON = try Tools.run(Tools.voter, ["verify", "--server", server.url, "--receipt", work + "/tampered.json", "--lang", "ky", "--json"])
        let checks = try #require(try kyrgyzJSON.json()["checks"] as? [[String: Any]])
        let signature = try #require(checks.first { $0["name"] as? String == "receipt-signature" })
        #expect(signature["passed"] as? Bool == false)
        #expect(signature["code"] as? String == "receipt-signature-invalid")
        #expect((signature["detail"] as? String ?? "").contains("кол тамгасы"), "\(signature)")
        #expect(checks.filter { $0["passed"] as? Bool == true }.allSatisfy { $0["code"] == nil }, "a passed check has no code")
        #expect(checks.first { $0["name"] as? String == "entry-content" }?["code"] as? String == "entry-index-mismatch", "\(checks)")

        // The election's own server key, serving the log as it was before the ballot (rolled
        // back): signed data contradicts the receipt, which is evidence of tampering, exit 1.
        let rolledBackServer = try ServerProcess(executable: Tools.ballotServer, dataDirectory: rolledBack)
        defer { rolledBackServer.stop(signal: SIGKILL) }
        let cut = try Tools.run(Tools.voter, ["verify", "--server", rolledBackServer.url, "--receipt", work + "/receipt.json", "--json"])
        #expect(cut.status == 1, "\(cut.stdout)\(cut.stderr)")
        #expect(try cut.json()["verdict"] as? String == "evidence-of-tampering")
        rolledBackServer.stop(signal: SIGKILL)
        // A server that does not answer is not evidence of anything: exit 2.
        let down = try Tools.run(Tools.voter, ["verify", "--server", rolledBackServer.url, "--receipt", work + "/receipt.json", "--json"])
        #expect(down.status == 2, "\(down.stdout)\(down.stderr)")
        #expect(try down.json()["verdict"] as? String == "could-not-check")

        let status = try Tools.run(Tools.ballotServer, ["status", "--data", data, "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        #expect(try status.json()["state"] as? String == "open")
        let closed = try Tools.run(Tools.ballotServer, ["close", "--json"] + commission)
        #expect(try closed.json()["state"] as? String == "closed")

        // After the close, every message says what can still be done, never to wait for an opening.
        let closedBallot = try Tools.run(Tools.voter, ["ballot", "--server", server.url, "--wallet", work + "/wallet.json"])
        #expect(closedBallot.status == 0, "\(closedBallot.stderr)")
        #expect(closedBallot.stdout.contains("Voting is closed") && closedBallot.stdout.contains("never reopens"), "\(closedBallot.stdout)")
        #expect(closedBallot.stdout.contains("voter verify") && closedBallot.stdout.contains("voter results"), "\(closedBallot.stdout)")
        #expect(!closedBallot.stdout.contains("opens it") && !closedBallot.stdout.contains("Cast with"), "\(closedBallot.stdout)")
        let closedBallotRu = try Tools.run(Tools.voter, ["ballot", "--server", server.url, "--wallet", work + "/wallet.json", "--lang", "ru"])
        #expect(closedBallotRu.stdout.contains("Голосование завершено"), "\(closedBallotRu.stdout)")
        let lateShare = try Tools.run(Tools.ballotServer, ["trustee", "share", "--server", server.url, "--key", work + "/trustee-1.key.json", "--json"])
        #expect(lateShare.status == 2, "\(lateShare.stdout)\(lateShare.stderr)")
        let lateShareError = try #require(try lateShare.json()["error"] as? [String: Any])
        #expect(lateShareError["code"] as? String == "ceremony-closed")
        let lateShareMessage = lateShareError["message"] as? String ?? ""
        #expect(lateShareMessage.contains("never reopens") && lateShareMessage.contains("trustee decrypt"), "\(lateShareMessage)")
        let lateSimulation = try Tools.run(Tools.voter, ["simulate", "--server", server.url, "--codes", work + "/codes.csv", "--voters", "1",
                                                         "--concurrency", "1", "--json"])
        #expect(lateSimulation.status == 2, "\(lateSimulation.stdout)\(lateSimulation.stderr)")
        let lateSimulationError = try #require(try lateSimulation.json()["error"] as? [String: Any])
        #expect(lateSimulationError["code"] as? String == "election-closed")
        let lateSimulationMessage = lateSimulationError["message"] as? String ?? ""
        #expect(lateSimulationMessage.contains("never reopens") && lateSimulationMessage.contains("voter results"), "\(lateSimulationMessage)")
        #expect(!lateSimulationMessage.contains("ballot-server open"), "no advice that cannot be followed: \(lateSimulationMessage)")
        // The server's refusal keeps its code; voter shows its sentence in the voter's language.
        let secondVoter = try #require(codeLines.dropFirst(2).first).split(separator: ",").map(String.init)
        let lateEnroll = try Tools.run(Tools.voter, ["enroll", "--server", server.url, "--personal-number", secondVoter[0], "--code", secondVoter[2],
                                                     "--wallet", work + "/late-wallet.json", "--json"], environment: ["LANG": "ru_RU.UTF-8"])
        #expect(lateEnroll.status == 2, "\(lateEnroll.stdout)\(lateEnroll.stderr)")
        let lateEnrollError = try #require(try lateEnroll.json()["error"] as? [String: Any])
        #expect(lateEnrollError["code"] as? String == "election-closed")
        #expect((lateEnrollError["message"] as? String ?? "").contains("Закрытые выборы не открываются повторно"), "\(lateEnrollError)")

        // Results need a quorum: after two of five trustees there are none; the third completes them.
        let none = try Tools.run(Tools.voter, ["results", "--server", server.url, "--json"])
        #expect(none.status == 2)
        for i in [2, 4, 5] {
            let decrypt = try Tools.run(Tools.ballotServer, ["trustee", "decrypt", "--server", server.url, "--key", work + "/trustee-\(i).key.json", "--json"])
            #expect(decrypt.status == 0, "\(decrypt.stdout)\(decrypt.stderr)")
        }
        let results = try Tools.run(Tools.voter, ["results", "--server", server.url, "--json"])
        #expect(results.status == 0, "\(results.stderr)")
        #expect(try results.json()["signature_valid"] as? Bool == true)
        let published = try #require(try results.json()["results"] as? [String: Any])
        #expect(published["quorum"] as? [Int] == [2, 4, 5])
        let districtResults = try #require(published["districts"] as? [[String: Any]])
        let mine = try #require(districtResults.first { $0["district"] as? String == first[1] })
        #expect(mine["ballots"] as? Int == 1)
        #expect((mine["counts"] as? [Int])?.first == 1, "the one ballot in this district marked the first option")
        #expect((mine["counts"] as? [Int])?.reduce(0, +) == 1)
        let reopened = try Tools.run(Tools.ballotServer, ["open", "--data", data, "--json"])
        #expect(reopened.status == 2)
        #expect((try reopened.json()["error"] as? [String: Any])?["code"] as? String == "invalid-state")
    }

    @Test("the demo runs end to end and reports every step passed")
    func demoPasses() throws {
        let demo = try Tools.run(Tools.ballotServer, ["demo", "--json", "--voters", "12", "--districts", "3"], timeout: 300)
        #expect(demo.status == 0, "\(demo.stdout)\(demo.stderr)")
        let summary = try demo.json()
        #expect(summary["passed"] as? Bool == true)
        #expect(summary["voters"] as? Int == 12)
        // `ballots` is what the results count: v2's demo supersedes one remote ballot by a
        // station ballot and keeps one reserved voter out, so fewer than 12, and exactly the
        // ballots of the signed results.
        let counted = ((summary["results"] as? [String: Any])?["districts"] as? [[String: Any]] ?? []).compactMap { $0["ballots"] as? Int }.reduce(0, +)
        #expect(summary["ballots"] as? Int == counted)
        #expect((10...12).contains(counted), "\(counted) ballots counted of 12 voters")
        let steps = try #require(summary["steps"] as? [[String: Any]])
        #expect(steps.contains { ($0["step"] as? String) == "Second vote refused" && ($0["passed"] as? Bool) == true })
    }
}
