import Foundation
import VoterKit
import VotingCore

/// Trustees simulated in one process for the demo, the benchmark and the tests: real key
/// files' contents, real HTTP publications, the same code paths as `ballot-server trustee`.
struct LocalTrustees: Sendable {
    let keys: [TrusteeKeyFile]

    /// Generates `manifest.trustees.count` trustees and registers them with the commission.
    static func register(in store: ElectionStore, commissionKey: Ed25519PrivateKey) async throws -> LocalTrustees {
        let names = ["Commission chair", "Opposition delegate", "Civil society observer", "Judge of the electoral court",
                     "University cryptographer", "Ombudsman", "Bar association delegate", "Press council delegate"]
        let keys = try (1...UInt32(store.manifest.trustees.count)).map { i in
            try TrusteeKeyFile.generate(index: i, name: names[Int(i - 1) % names.count])
        }
        for key in keys { _ = try await store.appointTrustee(try key.registration, commissionKey: commissionKey) }
        return LocalTrustees(keys: keys)
    }

    /// Every trustee deals, then every trustee verifies its shares; afterwards the server has
    /// published the election key.
    func runCeremony(client: BallotServerClient) async throws {
        for key in keys { _ = try await TrusteeActions.share(client: client, key: key) }
        for key in keys {
            let (verification, _) = try await TrusteeActions.verifyShares(client: client, key: key)
            guard verification.complaints.isEmpty else {
                throw CommandError("ceremony-failed", "trustee \(key.index) complained about trustee(s) \(verification.complaints)")
            }
        }
    }

    /// The trustees with these indices publish partial decryptions.
    func decrypt(client: BallotServerClient, indices: [UInt32]) async throws {
        for key in keys where indices.contains(key.index) { _ = try await TrusteeActions.decrypt(client: client, key: key) }
    }
}
