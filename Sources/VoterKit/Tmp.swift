import VotingCore
