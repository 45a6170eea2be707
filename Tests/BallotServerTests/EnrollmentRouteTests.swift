import Foundation
import GRDB
import Hummingbird
import HummingbirdTesting
import Testing
import VotingCore
@testable import BallotServer

@Suite("POST /v1/enrollments")
struct EnrollmentRouteTests {
    @Test(arguments: StorageBackend.all) func enrollmentSucceedsWithAVerifiableReceipt(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try Ed25519PrivateKey()
            let before = try await e.snapshot()
            let response = try await e.enroll(client, voter: 1, key: key)
            #expect(response.status == .created, "\(response.text)")
            let body = try response.decode(EnrollmentResponse.self)
            #expect(body.district == e.codes[1].district)
            let receipt = body.logged.receipt
            #expect(receipt.kind == .enrollment)
            #expect(receipt.subject.bytes == key.publicKey.rawRepresentation)
            #expect(receipt.logIndex == UInt64(before.logSize))
            #expect(receipt.checkpoint.checkpoint.treeSize == UInt64(before.logSize) + 1)
            // The entry opens the registrar's commitment with the (single-use) code and carries the proof of possession.
            let expected = try e.enrollment(voter: 1, key: key).canonicalBytes
            expectAllPassed(e.verifier.verify(receipt: receipt, entryBytes: body.logged.entry.bytes,
                                              inclusionProof: body.logged.inclusionProof, expectedPayload: expected))

            let after = try await e.snapshot()
            #expect(after.enrollments == 1)
            #expect(after.boundKeys == 1)
            #expect(after.logSize == before.logSize + 1)
            #expect(after.checkpoints == before.checkpoints + 1)
            let publicKey = key.publicKey
            let stored = try await e.store.storage.read { try $0.enrollment(voterKey: publicKey) }
            #expect(stored?.district == e.codes[1].district)
            #expect(stored?.logIndex == receipt.logIndex)
        }
    }

    @Test(arguments: StorageBackend.all) func enrollingTheSameKeyAgainReturnsTheSameEntry(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try Ed25519PrivateKey()
            let first = try await e.enroll(client, voter: 0, key: key)
            #expect(first.status == .created)
            let afterFirst = try await e.snapshot()
            let again = try await e.enroll(client, voter: 0, key: key)
            #expect(again.status == .ok, "\(again.text)")
            let a = try first.decode(EnrollmentResponse.self)
            let b = try again.decode(EnrollmentResponse.self)
            #expect(b.logged.receipt.logIndex == a.logged.receipt.logIndex)
            #expect(b.district == a.district)
            #expect(b.logged.entry == a.logged.entry)
            expectAllPassed(e.verifier.verify(receipt: b.logged.receipt, entryBytes: b.logged.entry.bytes,
                                              inclusionProof: b.logged.inclusionProof))
            #expect(try await e.snapshot() == afterFirst)
        }
    }

    @Test(arguments: StorageBackend.all) func codeIsAcceptedInLowerCaseWithoutDashes(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let typed = e.codes[2].code.lowercased().replacingOccurrences(of: "-", with: "")
            let response = try await e.enroll(client, number: " \(e.codes[2].personalNumber) ", code: typed, key: try Ed25519PrivateKey())
            #expect(response.status == .created, "\(response.text)")
        }
    }

    /// §7.2 normalize(code): O reads as 0, I and L as 1, case and '-' and spaces are ignored.
    @Test(arguments: StorageBackend.all) func codeLookAlikesAreMapped(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            // Find a voter whose code has a 0 or a 1, so the mapping is exercised.
            let voter = try #require(e.codes.indices.first { e.codes[$0].code.contains("0") || e.codes[$0].code.contains("1") }
                                     ?? e.codes.indices.first)
            var typed = ""
            for (i, ch) in e.codes[voter].code.enumerated() {
                switch ch {
                case "0": typed.append(i % 2 == 0 ? "O" : "o")
                case "1": typed.append(["I", "l", "L", "i"][i % 4])
                case "-": typed.append(" ")
                default: typed.append(ch)
                }
            }
            let response = try await e.enroll(client, number: e.codes[voter].personalNumber, code: typed, key: try Ed25519PrivateKey())
            #expect(response.status == .created, "code typed as \(typed): \(response.text)")
        }
    }

    /// §7.2 step 2: leading and trailing spaces, tabs and other Unicode space separators are
    /// trimmed; line breaks are not, and nothing inside the number is.
    @Test(arguments: StorageBackend.all) func personalNumberTrimming(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let padded = [(0, "\t"), (1, "\u{00A0}"), (2, "\u{2003}")]
            for (voter, space) in padded {
                let number = space + e.codes[voter].personalNumber + space
                let response = try await e.enroll(client, number: number, code: e.codes[voter].code, key: try Ed25519PrivateKey())
                #expect(response.status == .created, "number padded with U+\(String(space.unicodeScalars.first!.value, radix: 16)): \(response.text)")
            }
            let before = try await e.snapshot()
            let n = e.codes[3].personalNumber
            for bad in [n + "\n", "\n" + n, "\r\n" + n, String(n.prefix(3)) + " " + String(n.dropFirst(3)), n.replacingOccurrences(of: "-", with: "_")] {
                let response = try await e.enroll(client, number: bad, code: e.codes[3].code, key: try Ed25519PrivateKey())
                expectError(response, .badRequest, "malformed")
            }
            #expect(try await e.snapshot() == before)
        }
    }

    @Test(arguments: StorageBackend.all) func enrollmentDuringSetupIsAllowed(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend, stage: .registered)
        defer { e.remove() }
        try await e.withRouter { client in
            let response = try await e.enroll(client, voter: 0, key: try Ed25519PrivateKey())
            #expect(response.status == .created, "\(response.text)")
        }
    }

    @Test(arguments: StorageBackend.all) func wrongCodeIsRefusedAndCounted(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let before = try await e.snapshot()
            let response = try await e.enroll(client, number: e.codes[0].personalNumber, code: "AAAA-BBBB-CCCC", key: try Ed25519PrivateKey())
            expectError(response, .unauthorized, "invalid-credentials")
            #expect(try await e.failedAttempts(voter: 0) == 1)
            #expect(try await e.failedAttempts(voter: 1) == 0)
            var expected = before
            expected.failedAttempts += 1
            #expect(try await e.snapshot() == expected)
            // Another voter's (valid) code is a wrong code for this voter.
            let crossed = try await e.enroll(client, number: e.codes[0].personalNumber, code: e.codes[1].code, key: try Ed25519PrivateKey())
            expectError(crossed, .unauthorized, "invalid-credentials")
            #expect(try await e.failedAttempts(voter: 0) == 2)
            // The right code still works below the limit.
            let right = try await e.enroll(client, voter: 0, key: try Ed25519PrivateKey())
            #expect(right.status == .created, "\(right.text)")
        }
    }

    /// v2 has no permanent lock (v1 locked a voter for good after five wrong codes, which let
    /// anyone who knew a personal number lock that voter out). The first three wrong codes
    /// are free; each further one opens a window of 1 s, doubling up to 5 minutes, in which
    /// wrong codes are answered 429 `enrollment-locked` with Retry-After and not counted.
    @Test(arguments: StorageBackend.all) func wrongCodesOpenADoublingBackoffWindow(_ backend: StorageBackend) async throws {
        let time = ManualClock()
        let e = try await TestElection(backend: backend, clock: time.clock)
        defer { e.remove() }
        try await e.withRouter { client in
            let number = e.codes[0].personalNumber
            let attempts = ReadingCounter()
            func wrong() async throws -> TestResponse {
                try await e.enroll(client, number: number, code: TestElection.wrongCode(Int(attempts.next())), key: try Ed25519PrivateKey())
            }
            for failures in 1...ElectionRules.freeFailures {
                expectError(try await wrong(), .unauthorized, "invalid-credentials")
                #expect(try await e.failedAttempts(voter: 0) == failures)
            }
            // Each further wrong code is refused as wrong and opens the next window.
            var windows: [Int] = []
            for failures in (ElectionRules.freeFailures + 1)...(ElectionRules.freeFailures + 11) {
                let counted = try await wrong()
                expectError(counted, .unauthorized, "invalid-credentials")
                #expect(counted.headers[.retryAfter] == nil)
                #expect(try await e.failedAttempts(voter: 0) == failures)
                let before = try await e.snapshot()
                let locked = try await wrong()
                expectError(locked, .tooManyRequests, "enrollment-locked")
                let wait = try #require(locked.headers[.retryAfter].flatMap { Int($0) })
                windows.append(wait)
                #expect(try await e.snapshot() == before, "a wrong code inside the window is not counted")
                // One millisecond before the window ends it still holds.
                time.advance(milliseconds: UInt64(wait) * 1000 - 1)
                expectError(try await wrong(), .tooManyRequests, "enrollment-locked")
                time.advance(milliseconds: 1)
            }
            #expect(windows == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300])
            // Other voters are not affected.
            #expect(try await e.enroll(client, voter: 1, key: try Ed25519PrivateKey()).status == .created)
            #expect(try await e.failedAttempts(voter: 1) == 0)
        }
    }

    /// The right code is always accepted, even inside a backoff window: someone who knows a
    /// voter's personal number cannot keep that voter from enrolling. It clears the count.
    @Test(arguments: StorageBackend.all) func rightCodeIsAcceptedDuringBackoff(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let number = e.codes[0].personalNumber
            for i in 1...(ElectionRules.freeFailures + 1) {
                expectError(try await e.enroll(client, number: number, code: TestElection.wrongCode(i), key: try Ed25519PrivateKey()),
                            .unauthorized, "invalid-credentials")
            }
            expectError(try await e.enroll(client, number: number, code: TestElection.wrongCode(99), key: try Ed25519PrivateKey()),
                        .tooManyRequests, "enrollment-locked")
            let before = try await e.snapshot()
            let right = try await e.enroll(client, voter: 0, key: try Ed25519PrivateKey())
            #expect(right.status == .created, "\(right.text)")
            #expect(try await e.failedAttempts(voter: 0) == 0)
            #expect(try await e.snapshot().enrollments == before.enrollments + 1)
            // The count starts again from zero: the next wrong code is free.
            expectError(try await e.enroll(client, number: number, code: TestElection.wrongCode(100), key: try Ed25519PrivateKey()),
                        .unauthorized, "invalid-credentials")
            #expect(try await e.failedAttempts(voter: 0) == 1)
        }
    }

    /// v1 refused even the resend of a completed enrollment once the voter was locked; v2
    /// answers the right code during a backoff window, so the voter's device can still
    /// fetch its enrollment receipt, and a second key is still `already-enrolled`.
    @Test(arguments: StorageBackend.all) func voterInBackoffCanResendACompletedEnrollment(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let first = try await e.enroll(client, voter: 0, key: key)
            #expect(first.status == .ok)
            for i in 1...(ElectionRules.freeFailures + 1) {
                expectError(try await e.enroll(client, number: e.codes[0].personalNumber, code: TestElection.wrongCode(i), key: key),
                            .unauthorized, "invalid-credentials")
            }
            expectError(try await e.enroll(client, number: e.codes[0].personalNumber, code: TestElection.wrongCode(9), key: key),
                        .tooManyRequests, "enrollment-locked")
            let before = try await e.snapshot()
            let resend = try await e.enroll(client, voter: 0, key: key)
            #expect(resend.status == .ok, "\(resend.text)")
            #expect(try resend.decode(EnrollmentResponse.self).logged.entry == (try first.decode(EnrollmentResponse.self)).logged.entry)
            expectError(try await e.enroll(client, voter: 0, key: try Ed25519PrivateKey()), .conflict, "already-enrolled")
            var expected = before
            expected.failedAttempts = 0
            #expect(try await e.snapshot() == expected, "nothing logged; the right code cleared the count")
        }
    }

    /// Wrong codes sent concurrently are counted one by one: with the clock standing still,
    /// exactly the three free ones and the one that opens the window are answered
    /// `invalid-credentials`, all the others `enrollment-locked`.
    @Test(arguments: StorageBackend.all) func concurrentWrongCodesOpenTheWindowAfterExactlyFour(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let number = e.codes[0].personalNumber
            let bodies = try (0..<24).map { i -> Data in
                let key = try Ed25519PrivateKey()
                let code = TestElection.wrongCode(i)
                return try TestElection.enrollmentBody(number: number, code: code, key: key.publicKey, signature: try e.proof(key, code: code))
            }
            let statuses = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String).self) { group in
                for body in bodies {
                    group.addTask {
                        let r = try await client.postJSON("/v1/enrollments", body)
                        return (r.status, (try? r.decode(ErrorBody.self))?.code ?? r.text)
                    }
                }
                var all: [(HTTPResponse.Status, String)] = []
                for try await s in group { all.append(s) }
                return all
            }
            let counted = ElectionRules.freeFailures + 1
            #expect(statuses.filter { $0 == (.unauthorized, "invalid-credentials") }.count == counted)
            #expect(statuses.filter { $0 == (.tooManyRequests, "enrollment-locked") }.count == 24 - counted)
            #expect(try await e.failedAttempts(voter: 0) == counted)
            #expect(try await e.snapshot().enrollments == 0)
        }
    }

    /// One voter enrolling many keys at once binds exactly one of them.
    @Test(arguments: StorageBackend.all) func concurrentEnrollmentsOfOneVoterBindOneKey(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let keys = try (0..<20).map { _ in try Ed25519PrivateKey() }
            let results = try await withThrowingTaskGroup(of: (Int, HTTPResponse.Status, String).self) { group in
                for (i, key) in keys.enumerated() {
                    group.addTask {
                        let r = try await e.enroll(client, voter: 0, key: key)
                        return (i, r.status, (try? r.decode(ErrorBody.self))?.code ?? "")
                    }
                }
                var all: [(Int, HTTPResponse.Status, String)] = []
                for try await r in group { all.append(r) }
                return all
            }
            let winners = results.filter { $0.1 == .created }
            try #require(winners.count == 1, "\(results.map { "\($0.1.code) \($0.2)" })")
            #expect(results.filter { $0.1 == .conflict && $0.2 == "already-enrolled" }.count == 19)
            let winner = keys[winners[0].0].publicKey
            #expect(try await e.counts(["SELECT COUNT(*) FROM enrollments"]) == [1])
            #expect(try await e.store.storage.read { try $0.enrollment(voterKey: winner) } != nil)
            #expect(try await e.snapshot().boundKeys == 1)
        }
    }

    /// One key offered by many voters at once is bound to exactly one of them.
    @Test(arguments: StorageBackend.all) func concurrentEnrollmentsOfOneKeyBindOneVoter(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try Ed25519PrivateKey()
            let results = try await withThrowingTaskGroup(of: (HTTPResponse.Status, String).self) { group in
                for voter in 0..<e.codes.count {
                    group.addTask {
                        let r = try await e.enroll(client, voter: voter, key: key)
                        return (r.status, (try? r.decode(ErrorBody.self))?.code ?? "")
                    }
                }
                var all: [(HTTPResponse.Status, String)] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(results.filter { $0.0 == .created }.count == 1)
            #expect(results.filter { $0 == (.conflict, "key-in-use") }.count == e.codes.count - 1)
            let snapshot = try await e.snapshot()
            #expect(snapshot.enrollments == 1)
            #expect(snapshot.boundKeys == 1)
        }
    }

    /// §7.2: the signature is checked before the roll, so a bad signature with an unknown
    /// number is `bad-signature`, and a closed election answers before the credentials.
    @Test(arguments: StorageBackend.all) func enrollmentChecksRunInTheDocumentedOrder(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try Ed25519PrivateKey()
            let badSig = try TestElection.enrollmentBody(number: "000000-00000", code: "AAAA-BBBB-CCCC", key: key.publicKey,
                                                         signature: try e.proof(try Ed25519PrivateKey(), code: "AAAA-BBBB-CCCC"))
            expectError(try await client.postJSON("/v1/enrollments", badSig), .badRequest, "bad-signature")
            let badNumberAndSig = try TestElection.enrollmentBody(number: "no spaces allowed", code: "x", key: key.publicKey,
                                                                  signature: try e.proof(try Ed25519PrivateKey(), code: "x"))
            expectError(try await client.postJSON("/v1/enrollments", badNumberAndSig), .badRequest, "malformed")
            let longCodeAndBadSig = try TestElection.enrollmentBody(number: e.codes[0].personalNumber, code: String(repeating: "A", count: 65),
                                                                    key: key.publicKey, signature: try e.proof(try Ed25519PrivateKey(), code: "A"))
            expectError(try await client.postJSON("/v1/enrollments", longCodeAndBadSig), .badRequest, "malformed")
            try await e.close()
            expectError(try await e.enroll(client, number: "000000-00000", code: "AAAA-BBBB-CCCC", key: key), .forbidden, "election-closed")
            #expect(try await e.snapshot().failedAttempts == 0)
        }
    }

    @Test(arguments: StorageBackend.all) func unknownPersonalNumberIsInvalidCredentials(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let before = try await e.snapshot()
            let response = try await e.enroll(client, number: "000000-00000", code: e.codes[0].code, key: try Ed25519PrivateKey())
            let body = expectError(response, .unauthorized, "invalid-credentials")
            // The refusal must not tell an unknown number from a wrong code.
            let wrongCode = try await e.enroll(client, number: e.codes[3].personalNumber, code: "AAAA-BBBB-CCCC", key: try Ed25519PrivateKey())
            let other = expectError(wrongCode, .unauthorized, "invalid-credentials")
            #expect(body?.message == other?.message)
            // v2 counts wrong codes for numbers that are not on the roll too (v1 did not), so
            // the backoff cannot tell them apart either.
            var expected = before
            expected.failedAttempts += 2
            #expect(try await e.snapshot() == expected)
            #expect(try await e.failedAttempts(number: "000000-00000") == 1)
        }
    }

    /// A number on the roll and a number that is not get the same answers, status, code,
    /// message and Retry-After, through the free codes and into the backoff window.
    @Test(arguments: StorageBackend.all) func onRollAndOffRollNumbersGetTheSameAnswers(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            func answers(_ number: String) async throws -> [String] {
                var out: [String] = []
                for i in 1...(ElectionRules.freeFailures + 3) {
                    let r = try await e.enroll(client, number: number, code: TestElection.wrongCode(i), key: try Ed25519PrivateKey())
                    let body = try r.decode(ErrorBody.self)
                    out.append("\(r.status.code) \(body.code) \(r.headers[.retryAfter] ?? "-") \(body.message)")
                }
                return out
            }
            let onRoll = try await answers(e.codes[0].personalNumber)
            let offRoll = try await answers("000000-00000")
            #expect(onRoll == offRoll)
            #expect(onRoll.filter { $0.hasPrefix("429 enrollment-locked 1 ") }.count == 2, "\(onRoll)")
        }
    }

    @Test(arguments: StorageBackend.all) func secondKeyForTheSameVoterIsAlreadyEnrolled(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            _ = try await e.enrolledKey(client, voter: 0)
            let before = try await e.snapshot()
            let response = try await e.enroll(client, voter: 0, key: try Ed25519PrivateKey())
            expectError(response, .conflict, "already-enrolled")
            #expect(try await e.snapshot() == before)
        }
    }

    @Test(arguments: StorageBackend.all) func keyOfAnotherVoterIsKeyInUse(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            let before = try await e.snapshot()
            let response = try await e.enroll(client, voter: 1, key: key)
            expectError(response, .conflict, "key-in-use")
            #expect(try await e.snapshot() == before)
            // Voter 1 can still enroll with a fresh key.
            _ = try await e.enrolledKey(client, voter: 1)
        }
    }

    @Test(arguments: StorageBackend.all) func badProofOfPossessionIsBadSignature(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.withRouter { client in
            let before = try await e.snapshot()
            let key = try Ed25519PrivateKey()
            let other = try Ed25519PrivateKey()
            let voter = e.codes[0]
            // Signed by another key.
            let byOther = try TestElection.enrollmentBody(number: voter.personalNumber, code: voter.code, key: key.publicKey,
                                                          signature: try e.proof(other, code: voter.code))
            expectError(try await client.postJSON("/v1/enrollments", byOther), .badRequest, "bad-signature")
            // Signed by the right key over another code: the proof is bound to the code it
            // enrolls with, so an intercepted request cannot carry the voter's code to another key.
            let otherCode = try TestElection.enrollmentBody(number: voter.personalNumber, code: voter.code, key: key.publicKey,
                                                            signature: try e.proof(key, code: e.codes[1].code))
            expectError(try await client.postJSON("/v1/enrollments", otherCode), .badRequest, "bad-signature")
            // Signed by the right key, for another election.
            let otherElection = try key.signature(for: EnrollmentRequest.signedBytes(
                electionHash: try TestElection.otherElectionHash(), voterKey: key.publicKey, normalizedCode: EnrollmentCode.normalize(voter.code)))
            let replayed = try TestElection.enrollmentBody(number: voter.personalNumber, code: voter.code, key: key.publicKey,
                                                           signature: otherElection)
            expectError(try await client.postJSON("/v1/enrollments", replayed), .badRequest, "bad-signature")
            // A well-formed signature of all zeros.
            let zeros = try TestElection.enrollmentBody(number: voter.personalNumber, code: voter.code, key: key.publicKey,
                                                        signature: Ed25519Signature(trusted: [UInt8](repeating: 0, count: 64)))
            expectError(try await client.postJSON("/v1/enrollments", zeros), .badRequest, "bad-signature")
            // A bad signature is refused before the code is checked, so it is not counted.
            #expect(try await e.snapshot() == before)
        }
    }

    @Test(arguments: StorageBackend.all) func enrollmentInAClosedElectionIsRefused(_ backend: StorageBackend) async throws {
        let e = try await TestElection(backend: backend)
        defer { e.remove() }
        try await e.close()
        try await e.withRouter { client in
            let before = try await e.snapshot()
            let response = try await e.enroll(client, voter: 0, key: try Ed25519PrivateKey())
            expectError(response, .forbidden, "election-closed")
            let wrong = try await e.enroll(client, number: e.codes[1].personalNumber, code: "AAAA-BBBB-CCCC", key: try Ed25519PrivateKey())
            expectError(wrong, .forbidden, "election-closed")
            #expect(try await e.snapshot() == before)
        }
    }

    /// The personal number is only ever stored as a keyed hash: no text or blob in any
    /// table contains it, after the roll import, an enrollment, failed attempts and a ballot.
    /// Codes are stored only as registrar commitments until used; v2 publishes the code an
    /// enrollment used in its log entry (single use, so it opens nothing else), never the others.
    @Test func personalNumbersAreNeverStored() async throws {
        let e = try await TestElection(voters: 4, districts: 2)
        defer { e.remove() }
        try await e.withRouter { client in
            let key = try await e.enrolledKey(client, voter: 0)
            _ = try await e.enroll(client, number: e.codes[1].personalNumber, code: "AAAA-BBBB-CCCC", key: try Ed25519PrivateKey())
            let cast = try await e.cast(client, try e.ballot(key, voter: 0))
            #expect(cast.status == .created)
        }
        let unusedCodes = e.codes.dropFirst().flatMap { [$0.code, EnrollmentCode.normalize($0.code)] }
        let needles = e.codes.map { Array($0.personalNumber.utf8) } + unusedCodes.map { Array($0.utf8) }
        let (tables, cells, hits) = try await e.pool.read { db -> (Int, Int, [String]) in
            let tables = try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            var cells = 0
            var hits: [String] = []
            for table in tables {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\"") {
                    for (column, value) in row {
                        let bytes: [UInt8]
                        switch value.storage {
                        case .string(let s): bytes = Array(s.utf8)
                        case .blob(let d): bytes = [UInt8](d)
                        default: continue
                        }
                        cells += 1
                        for needle in needles where contains(bytes, needle) {
                            hits.append("\(table).\(column) contains \(String(decoding: needle, as: UTF8.self))")
                        }
                    }
                }
            }
            return (tables.count, cells, hits)
        }
        #expect(tables >= 7)
        #expect(cells > 20)
        #expect(hits.isEmpty, "\(hits)")
        // The used code appears once, in the enrollment entry, and nowhere else.
        let used = Array(EnrollmentCode.normalize(e.codes[0].code).utf8)
        let carriers = try await e.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, data FROM log_entries").filter { contains([UInt8]($0["data"] as Data), used) }
                .map { $0["kind"] as String }
        }
        #expect(carriers == ["enrollment"])
        // The roll holds exactly the keyed hashes of the numbers.
        let macs = try await e.pool.read { db in try Data.fetchAll(db, sql: "SELECT voter_mac FROM roll") }
        #expect(Set(macs) == Set(e.codes.map { Data(PersonalNumber.mac($0.personalNumber, secret: e.rollSecret).bytes) }))
    }
}

private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, haystack.count >= needle.count else { return false }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if Array(haystack[start..<(start + needle.count)]) == needle { return true }
    }
    return false
}
