import Foundation
import Testing
@testable import VotingCore

/// The transparency-dev Merkle test data (RFC 9162 inclusion and consistency proofs),
/// read from ../shared/vectors/merkle/testdata. Byte fields are base64 and are passed to
/// the verifiers exactly as given, whatever their length.
@Suite("Merkle proof vectors")
struct MerkleVectorTests {
    struct InclusionVector: Decodable {
        let leafIdx: UInt64
        let treeSize: UInt64
        let root: String
        let leafHash: String
        let proof: [String]?
        let desc: String
        let wantErr: Bool
    }

    struct ConsistencyVector: Decodable {
        let size1: UInt64
        let size2: UInt64
        let root1: String
        let root2: String
        let proof: [String]?
        let desc: String
        let wantErr: Bool
    }

    static let testdata = "merkle/testdata"

    static func base64(_ text: String, _ label: String) throws -> [UInt8] {
        let data = try #require(Data(base64Encoded: text), "\(label): not base64: \(text)")
        return [UInt8](data)
    }

    @Test("every inclusion vector",
          .enabled(if: Vectors.availableOrRequired, "outside vectors folder ../shared/vectors not found; skipping"))
    func inclusion() throws {
        let folder = Self.testdata + "/inclusion"
        let files = try Vectors.files(under: folder, ext: "json")
        #expect(files.count > 0, "no inclusion vectors under \(Vectors.url(folder).path)")
        var run = 0
        var happy = 0
        for file in files {
            let label = "inclusion/\(file)"
            let vector = try JSONDecoder().decode(InclusionVector.self, from: Vectors.data(folder + "/" + file))
            let leaf = try Self.base64(vector.leafHash, label)
            let root = try Self.base64(vector.root, label)
            let proof = try (vector.proof ?? []).map { try Self.base64($0, label) }
            var failure: (any Error)?
            do {
                try Merkle.verifyInclusion(leafHash: leaf, index: vector.leafIdx, treeSize: vector.treeSize,
                                           proof: proof, root: root)
            } catch {
                failure = error
            }
            if vector.wantErr {
                #expect(failure != nil, "\(label) (\(vector.desc)): expected an error, verification passed")
            } else {
                #expect(failure == nil, "\(label) (\(vector.desc)): expected success, got \(String(describing: failure))")
                happy += 1
            }
            run += 1
        }
        #expect(run == files.count)
        #expect(happy > 0, "no happy-path inclusion vector ran")
    }

    @Test("every consistency vector",
          .enabled(if: Vectors.availableOrRequired, "outside vectors folder ../shared/vectors not found; skipping"))
    func consistency() throws {
        let folder = Self.testdata + "/consistency"
        let files = try Vectors.files(under: folder, ext: "json")
        #expect(files.count > 0, "no consistency vectors under \(Vectors.url(folder).path)")
        var run = 0
        var happy = 0
        for file in files {
            let label = "consistency/\(file)"
            let vector = try JSONDecoder().decode(ConsistencyVector.self, from: Vectors.data(folder + "/" + file))
            let root1 = try Self.base64(vector.root1, label)
            let root2 = try Self.base64(vector.root2, label)
            let proof = try (vector.proof ?? []).map { try Self.base64($0, label) }
            var failure: (any Error)?
            do {
                try Merkle.verifyConsistency(size1: vector.size1, size2: vector.size2, root1: root1, root2: root2,
                                             proof: proof)
            } catch {
                failure = error
            }
            if vector.wantErr {
                #expect(failure != nil, "\(label) (\(vector.desc)): expected an error, verification passed")
            } else {
                #expect(failure == nil, "\(label) (\(vector.desc)): expected success, got \(String(describing: failure))")
                happy += 1
            }
            run += 1
        }
        #expect(run == files.count)
        #expect(happy > 0, "no happy-path consistency vector ran")
    }
}
