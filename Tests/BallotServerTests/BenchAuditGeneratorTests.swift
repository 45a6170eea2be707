import Foundation
import Testing
import VoterKit
import VotingCore
@testable import BallotServer

/// `bench-audit`'s streaming generator: the record it writes must be one the real audit
/// accepts, and its voters must come out the same from the seed in both of its passes.
@Suite("BenchAudit: streaming record generator")
struct BenchAuditGeneratorTests {
    @Test func smallRecordAuditsClean() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bench-audit-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        // More than one voting chunk (256) so the overlapped chunks are exercised.
        let (bytes, sample) = try await SyntheticRecord.write(ballots: 300, to: path, parallelism: 2, progress: false)
        #expect(bytes == (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int))
        #expect(sample.ballots.count == 300)
        let report = try await AuditRunner.audit(recordFile: path)
        #expect(report.ballots == 300)
        for check in report.checks where !check.passed { Issue.record("check \(check.number) failed: \(check.failures)") }
        #expect(report.passed)

        // `--audit-record` samples the same ballots back from the file.
        let (readBytes, read) = try SyntheticRecord.sample(record: path)
        #expect(readBytes == bytes)
        #expect(read.ballots.map(\.ballot.ballotID) == sample.ballots.map(\.ballot.ballotID))
        #expect(read.electionHash == sample.electionHash)
        #expect(read.checkBatch(read.ballots))
        // The enrollments with their salts, for the raw rate of all the audit's cryptography:
        // the same ones, found again with their salts from the registrar's signed lists.
        #expect(sample.enrollments.count == 300)
        #expect(read.enrollments.map(\.enrollment) == sample.enrollments.map(\.enrollment))
        #expect(read.enrollments.map(\.salt) == sample.enrollments.map(\.salt))
        #expect(read.enrollments.allSatisfy(read.checkEnrollment))
        // A wrong salt or a forged proof of possession fails the raw check as it fails the audit.
        let first = try #require(read.enrollments.first)
        #expect(!read.checkEnrollment((first.enrollment, try Salt.random())))
        let forged = Enrollment(voterKey: first.enrollment.voterKey, district: first.enrollment.district, commitment: first.enrollment.commitment,
                                code: first.enrollment.code, signature: read.enrollments[1].enrollment.signature)
        #expect(!read.checkEnrollment((forged, first.salt)))
    }

    @Test func voterSecretsAreDeterministicAndWellFormed() throws {
        let seed = [UInt8](repeating: 5, count: 32)
        let a = SyntheticRecord.VoterSecrets(seed: seed, index: 17)
        let b = SyntheticRecord.VoterSecrets(seed: seed, index: 17)
        let c = SyntheticRecord.VoterSecrets(seed: seed, index: 18)
        #expect(a.code == b.code && a.salt == b.salt && a.keySeed == b.keySeed)
        #expect(a.code != c.code && a.salt != c.salt && a.keySeed != c.keySeed)
        #expect(EnrollmentCode.isWellFormed(a.code))
        let hash = Digest(trusted: [UInt8](repeating: 1, count: 32))
        #expect(a.commitment(electionHash: hash).isOpened(by: a.code, electionHash: hash))
    }
}
