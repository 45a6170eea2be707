#!/usr/bin/env python3
"""Times electionguard-python 1.4.0 on the same ballot shape as `ballot-server bench` (one
contest of 11 options, one selection allowed) on this machine, and, given the bench's JSON,
prints the ratios (issue 13: encrypt and verify each >= 100x faster).

electionguard-python 1.4.0 does not import on Python 3.11, so run this with Python 3.10 in a
virtual environment; scripts/electionguard-compare.sh does all of it:

    python3.10 -m venv /tmp/egvenv && /tmp/egvenv/bin/pip install electionguard==1.4.0
    swift run -c release ballot-server bench --voters 1000 --clients 32 --tally-ballots 0 --json > bench.json
    /tmp/egvenv/bin/python scripts/electionguard-compare.py --bench bench.json

What is timed, per ballot: encryption of the contest with ElectionGuard's disjunctive
Chaum-Pedersen proof per selection and its constant proof for the contest (encrypt_contest
with proofs), and the verification of that encrypted contest (is_valid_encryption of the contest, which checks
its constant proof over the accumulated selections, and of every selection, which checks its
disjunctive proof). ElectionGuard adds one placeholder selection per
allowed vote; that is its own encoding of the selection limit, kept as it is.
"""
import argparse
import json
import logging
import statistics
import sys
import time

try:
    from electionguard.ballot import PlaintextBallotContest, PlaintextBallotSelection
    from electionguard.elgamal import elgamal_keypair_from_secret
    from electionguard.encrypt import encrypt_contest
    from electionguard.group import int_to_q
    from electionguard.manifest import (ContestDescription, SelectionDescription, VoteVariationType,
                                        contest_description_with_placeholders_from,
                                        generate_placeholder_selections_from)
except ImportError as error:  # pragma: no cover - environment problem, said plainly
    sys.exit(f"electionguard-compare: cannot import electionguard 1.4.0 ({error}); "
             "run with Python 3.10 in a venv where `pip install electionguard==1.4.0` succeeded")

OPTIONS = 11


def contest_description():
    selections = [SelectionDescription(object_id=f"o{i}", sequence_order=i, candidate_id=f"c{i}") for i in range(OPTIONS)]
    contest = ContestDescription(object_id="d01", sequence_order=0, electoral_district_id="d01",
                                 vote_variation=VoteVariationType.one_of_m, number_elected=1, votes_allowed=1,
                                 name="bench contest", ballot_selections=selections)
    placeholders = generate_placeholder_selections_from(contest, contest.number_elected)
    return contest_description_with_placeholders_from(contest, placeholders)


def plaintext(choice):
    return PlaintextBallotContest(object_id="d01", ballot_selections=[
        PlaintextBallotSelection(object_id=f"o{i}", vote=1 if i == choice else 0, is_placeholder_selection=False)
        for i in range(OPTIONS)])


def main():
    # electionguard logs every hashed-ElGamal encryption at INFO (kilobytes per ballot), which
    # would be timed with it; only warnings and errors are kept.
    logging.disable(logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=10, help="ballots encrypted and verified (default 10)")
    parser.add_argument("--bench", help="`ballot-server bench --json` output of the same machine, for the ratios")
    parser.add_argument("--json", action="store_true", help="one JSON object instead of text")
    args = parser.parse_args()

    keypair = elgamal_keypair_from_secret(int_to_q(0x5EED5EED))
    description = contest_description()
    seed_hash = description.crypto_hash()
    selection_hashes = {d.object_id: d.crypto_hash()
                        for d in list(description.ballot_selections) + list(description.placeholder_selections)}
    extended_hash = int_to_q(12345)
    encrypt_ms, verify_ms = [], []
    for i in range(args.iterations):
        started = time.perf_counter()
        encrypted = encrypt_contest(plaintext(i % OPTIONS), description, keypair.public_key, extended_hash,
                                    int_to_q(1000 + i), should_verify_proofs=False)
        encrypt_ms.append((time.perf_counter() - started) * 1000)
        if encrypted is None:
            sys.exit("electionguard-compare: electionguard could not encrypt the contest")
        started = time.perf_counter()
        # The contest's check leaves the selections' proofs out "by design": check each too,
        # against the hash of its own description (real and placeholder selections).
        valid = encrypted.is_valid_encryption(seed_hash, keypair.public_key, extended_hash) and all(
            selection.is_valid_encryption(selection_hashes[selection.object_id], keypair.public_key, extended_hash)
            for selection in encrypted.ballot_selections)
        verify_ms.append((time.perf_counter() - started) * 1000)
        if not valid:
            sys.exit("electionguard-compare: electionguard's own encryption did not verify")

    result = {"options": OPTIONS, "iterations": args.iterations,
              "electionguard_encrypt_ms": statistics.median(encrypt_ms),
              "electionguard_verify_ms": statistics.median(verify_ms)}
    if args.bench:
        with open(args.bench) as f:
            bench = json.load(f)
        result["evote_encrypt_us"] = bench["encrypt_us"]
        result["evote_verify_us"] = bench["raw_ballot_check_us"]
        result["encrypt_ratio"] = result["electionguard_encrypt_ms"] * 1000 / bench["encrypt_us"]
        result["verify_ratio"] = result["electionguard_verify_ms"] * 1000 / bench["raw_ballot_check_us"]
    if args.json:
        print(json.dumps(result))
        return
    print(f"electionguard-python 1.4.0, {OPTIONS}-option contest, median of {args.iterations}: "
          f"encrypt {result['electionguard_encrypt_ms']:.1f} ms, verify {result['electionguard_verify_ms']:.1f} ms")
    if args.bench:
        print(f"evote (ballot-server bench, same machine): encrypt {result['evote_encrypt_us']:.0f} µs, "
              f"verify one ballot {result['evote_verify_us']:.0f} µs")
        print(f"ratios: encrypt {result['encrypt_ratio']:.1f}x, verify {result['verify_ratio']:.1f}x (target 100x each)")


if __name__ == "__main__":
    main()
