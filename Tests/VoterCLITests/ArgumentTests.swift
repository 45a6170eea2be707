import ArgumentParser
import Testing
@testable import VoterCLI

/// The `voter` command line is a public interface that observers' scripts call: these pin
/// its subcommands, flags and validation.
@Suite("voter command line")
struct ArgumentTests {
    @Test("cast takes --server, repeated --choice, --wallet, --receipt-out, --challenge and --json")
    func castArguments() throws {
        let parsed = try VoterCommand.parseAsRoot(["cast", "--server", "http://127.0.0.1:8080", "--choice", "c01", "--choice", "c02",
                                                   "--wallet", "w.json", "--receipt-out", "r.json", "--challenge", "--json"])
        let cast = try #require(parsed as? CastCommand)
        #expect(cast.serverOption.server == "http://127.0.0.1:8080")
        #expect(cast.choices == ["c01", "c02"])
        #expect(cast.walletOption.wallet == "w.json")
        #expect(cast.receiptOut == "r.json")
        #expect(cast.challenge)
        #expect(cast.output.json)
    }

    @Test("cast without a choice is refused before anything is sent")
    func castNeedsChoice() {
        #expect(throws: (any Error).self) { try VoterCommand.parseAsRoot(["cast", "--server", "http://127.0.0.1:8080"]) }
    }

    @Test("enroll needs the personal number and the code; the wallet has a default")
    func enrollArguments() throws {
        let parsed = try VoterCommand.parseAsRoot(["enroll", "--server", "http://x:1", "--personal-number", "500101-00000", "--code", "AAAA-BBBB-CCCC"])
        let enroll = try #require(parsed as? EnrollCommand)
        #expect(enroll.personalNumber == "500101-00000")
        #expect(enroll.code == "AAAA-BBBB-CCCC")
        #expect(enroll.walletOption.wallet == "voter-wallet.json")
        #expect(throws: (any Error).self) { try VoterCommand.parseAsRoot(["enroll", "--server", "http://x:1", "--code", "A"]) }
    }

    @Test("enroll takes a v2 code (XXXX-XXXX-XXXX-XXXX) as typed; the server normalizes it")
    func enrollV2Code() throws {
        let parsed = try VoterCommand.parseAsRoot(["enroll", "--server", "http://x:1", "--personal-number", "500101-00000",
                                                   "--code", "abcd-efgh-jkmn-pqrs"])
        #expect(try #require(parsed as? EnrollCommand).code == "abcd-efgh-jkmn-pqrs")
    }

    @Test("receipt takes --server, --wallet and --receipt-out")
    func receiptArguments() throws {
        let parsed = try VoterCommand.parseAsRoot(["receipt", "--server", "http://x:1", "--wallet", "w.json", "--receipt-out", "r.json", "--json"])
        let receipt = try #require(parsed as? ReceiptCommand)
        #expect(receipt.serverOption.server == "http://x:1")
        #expect(receipt.walletOption.wallet == "w.json")
        #expect(receipt.receiptOut == "r.json")
        #expect(receipt.output.json)
        #expect(throws: (any Error).self) { try VoterCommand.parseAsRoot(["receipt", "--wallet", "w.json"]) }
    }

    @Test("verify needs only the receipt: the server defaults to the one the receipt names")
    func verifyServerIsOptional() throws {
        let bare = try #require(try VoterCommand.parseAsRoot(["verify", "--receipt", "r.json"]) as? VerifyCommand)
        #expect(bare.server == nil)
        #expect(bare.receipt == "r.json")
        let explicit = try #require(try VoterCommand.parseAsRoot(["verify", "--server", "http://x:1", "--receipt", "r.json"]) as? VerifyCommand)
        #expect(explicit.server == "http://x:1")
        #expect(throws: (any Error).self) { try VoterCommand.parseAsRoot(["verify", "--server", "http://x:1"]) }
    }

    @Test("verify, ballot and results parse; every subcommand takes --json")
    func otherCommands() throws {
        #expect(try VoterCommand.parseAsRoot(["verify", "--server", "http://x:1", "--receipt", "r.json", "--json"]) is VerifyCommand)
        #expect(try VoterCommand.parseAsRoot(["ballot", "--server", "http://x:1", "--json"]) is BallotCommand)
        #expect(try VoterCommand.parseAsRoot(["results", "--server", "http://x:1", "--json"]) is ResultsCommand)
        #expect(throws: (any Error).self) { try VoterCommand.parseAsRoot(["vote-twice"]) }
    }
}
