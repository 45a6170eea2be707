#!/usr/bin/env python3
"""Independent reference implementation of the evote protocol, version 2.

Written from docs/protocol.md alone (no Swift source was consulted), to test whether the
document is precise enough to reimplement the protocol in another language. It covers the
canonical encoding (§2), every object of §4, §5, §6, §12, §13, §14, §15 and §16, the log
(RFC 9162 Merkle tree, inclusion and consistency proofs), checkpoints and receipts, the
registrar's commitments, the personal-number MAC, and all the group cryptography of §11-§13
(textbook P-256 in pure Python, exponential ElGamal, the 0/1, selection-limit, Schnorr and
decryption proofs, Feldman commitments, share encryption, Lagrange, combination, winners,
challenged-ballot openings, supervised ballots and their links). Every proof is verified
both one equation at a time and in a batch (eq. 49).

Only the Python 3.11 standard library and the `cryptography` package (Ed25519) are used.

Usage:
    python3 scripts/protocol-reference.py --example     > Tests/VotingCoreTests/Fixtures/worked-example.json
    python3 scripts/protocol-reference.py --markdown    > docs/worked-example-draft.md
    python3 scripts/protocol-reference.py --selftest
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import secrets
import sys
import unicodedata

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def sha256(*parts: bytes) -> bytes:
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


# =========================================================================================
# §11.1 P-256, textbook arithmetic (affine points are (x, y) tuples, the identity is None;
# internally Jacobian coordinates (X, Y, Z) with x = X/Z^2, y = Y/Z^3, Z = 0 for O).
# =========================================================================================

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
     0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)
O = None  # the identity
_JINF = (1, 1, 0)


def on_curve(x: int, y: int) -> bool:
    return (y * y - (x * x * x - 3 * x + B)) % P == 0


def _jdouble(p):
    X1, Y1, Z1 = p
    if Z1 == 0 or Y1 == 0:
        return _JINF
    delta = Z1 * Z1 % P
    gamma = Y1 * Y1 % P
    beta = X1 * gamma % P
    alpha = 3 * (X1 - delta) * (X1 + delta) % P          # a = -3
    X3 = (alpha * alpha - 8 * beta) % P
    Z3 = ((Y1 + Z1) * (Y1 + Z1) - gamma - delta) % P
    Y3 = (alpha * (4 * beta - X3) - 8 * gamma * gamma) % P
    return (X3, Y3, Z3)


def _jadd(p, q):
    X1, Y1, Z1 = p
    X2, Y2, Z2 = q
    if Z1 == 0:
        return q
    if Z2 == 0:
        return p
    Z1Z1 = Z1 * Z1 % P
    Z2Z2 = Z2 * Z2 % P
    U1 = X1 * Z2Z2 % P
    U2 = X2 * Z1Z1 % P
    S1 = Y1 * Z2 * Z2Z2 % P
    S2 = Y2 * Z1 * Z1Z1 % P
    H = (U2 - U1) % P
    R = (S2 - S1) % P
    if H == 0:
        if R == 0:
            return _jdouble(p)
        return _JINF
    HH = H * H % P
    HHH = H * HH % P
    V = U1 * HH % P
    X3 = (R * R - HHH - 2 * V) % P
    Y3 = (R * (V - X3) - S1 * HHH) % P
    Z3 = Z1 * Z2 * H % P
    return (X3, Y3, Z3)


def _to_jac(pt):
    return _JINF if pt is None else (pt[0], pt[1], 1)


def _to_affine(p):
    X, Y, Z = p
    if Z == 0:
        return None
    zi = pow(Z, -1, P)
    zi2 = zi * zi % P
    return (X * zi2 % P, Y * zi2 * zi % P)


def point_add(a, b):
    return _to_affine(_jadd(_to_jac(a), _to_jac(b)))


def point_neg(a):
    return None if a is None else (a[0], (-a[1]) % P)


def point_sub(a, b):
    return point_add(a, point_neg(b))


def _window_table(pt):
    t = [_JINF, _to_jac(pt)]
    for _ in range(14):
        t.append(_jadd(t[-1], t[1]))
    return t


# fixed-base table for G: _GT[i][d] = d * 16^i * G
_GT = []


def _init_g_table():
    base = _to_jac(G)
    for _ in range(64):
        row = [_JINF, base]
        for _ in range(14):
            row.append(_jadd(row[-1], base))
        _GT.append(row)
        for _ in range(4):
            base = _jdouble(base)


def mul_g(k: int):
    k %= N
    if not _GT:
        _init_g_table()
    acc = _JINF
    i = 0
    while k:
        d = k & 15
        if d:
            acc = _jadd(acc, _GT[i][d])
        k >>= 4
        i += 1
    return _to_affine(acc)


def mul(k: int, pt):
    """k·pt for any point (k reduced mod n)."""
    k %= N
    if pt is None or k == 0:
        return None
    if pt == G:
        return mul_g(k)
    return _mul_window(k, pt)


def _mul_window(k: int, pt):
    table = _window_table(pt)
    acc = _JINF
    for shift in range(252, -4, -4):
        if acc[2]:
            for _ in range(4):
                acc = _jdouble(acc)
        d = (k >> shift) & 15
        if d:
            acc = _jadd(acc, table[d])
    return _to_affine(acc)


def msm(terms):
    """Σ s_i·P_i (Straus, 4-bit windows, shared doublings)."""
    terms = [(s % N, p) for s, p in terms if p is not None and s % N]
    if not terms:
        return None
    tables = [_window_table(p) for _, p in terms]
    acc = _JINF
    for shift in range(252, -4, -4):
        if acc[2]:
            for _ in range(4):
                acc = _jdouble(acc)
        for (s, _), t in zip(terms, tables):
            d = (s >> shift) & 15
            if d:
                acc = _jadd(acc, t[d])
    return _to_affine(acc)


def small_mul_g(m: int):
    """m·G for a small non-negative integer m (G added m times; 0·G = O)."""
    return mul_g(m) if m else None


# ------------------------------------------------------------------------- §11.2 encodings

class DecodeError(Exception):
    pass


IDENTITY_BYTES = bytes(65)


def enc_point(pt, allow_identity: bool = False) -> bytes:
    if pt is None:
        if not allow_identity:
            raise ValueError("the identity cannot be written here")
        return IDENTITY_BYTES
    x, y = pt
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


def dec_point(b: bytes, allow_identity: bool = False):
    if len(b) != 65:
        raise DecodeError("point: not 65 bytes")
    if allow_identity and b == IDENTITY_BYTES:
        return None
    if b[0] != 4:
        raise DecodeError("point: not uncompressed")
    x = int.from_bytes(b[1:33], "big")
    y = int.from_bytes(b[33:], "big")
    if x >= P or y >= P:
        raise DecodeError("point: coordinate not below p")
    if not on_curve(x, y):
        raise DecodeError("point: not on the curve")
    return (x, y)


def hp(pt) -> bytes:
    """A point as written into a challenge preimage: the identity is 65 zero bytes."""
    return enc_point(pt, allow_identity=True)


def enc_scalar(s: int) -> bytes:
    if not 0 <= s < N:
        raise ValueError("scalar out of range")
    return s.to_bytes(32, "big")


def dec_scalar(b: bytes) -> int:
    if len(b) != 32:
        raise DecodeError("scalar: not 32 bytes")
    s = int.from_bytes(b, "big")
    if s >= N:
        raise DecodeError("scalar: not below n")
    return s


# =========================================================================================
# §2 canonical encoding: primitive items, then a small schema language so that every object
# is encoded and decoded (strictly, per the decoder rules of §2) from one field table.
# =========================================================================================

def u8(v: int) -> bytes:
    return bytes([v])


def u32(v: int) -> bytes:
    return v.to_bytes(4, "big")


def u64(v: int) -> bytes:
    return v.to_bytes(8, "big")


def bts(b: bytes) -> bytes:
    return u32(len(b)) + b


def string(s: str) -> bytes:
    return bts(s.encode("utf-8"))


class Reader:
    def __init__(self, data: bytes):
        self.d = bytes(data)
        self.i = 0

    def left(self) -> int:
        return len(self.d) - self.i

    def take(self, n: int) -> bytes:
        if n > self.left():
            raise DecodeError("read past the end")
        out = self.d[self.i:self.i + n]
        self.i += n
        return out

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def end(self):
        if self.left():
            raise DecodeError("trailing bytes")


class Ty:
    def enc(self, v) -> bytes: raise NotImplementedError
    def dec(self, r: Reader): raise NotImplementedError


class U8(Ty):
    def enc(self, v):
        if v not in (0, 1):
            raise ValueError("u8 flag must be 0 or 1")
        return u8(v)

    def dec(self, r):
        v = r.take(1)[0]
        if v not in (0, 1):
            raise DecodeError("u8 flag not 0 or 1")
        return v


class U32(Ty):
    def enc(self, v): return u32(v)
    def dec(self, r): return r.u32()


class U64(Ty):
    def enc(self, v): return u64(v)
    def dec(self, r): return int.from_bytes(r.take(8), "big")


class Bytes(Ty):
    def enc(self, v): return bts(v)

    def dec(self, r):
        n = r.u32()
        if n > r.left():
            raise DecodeError("bytes length larger than what is left")
        return r.take(n)


class Str(Ty):
    def __init__(self, enum=None):
        self.enum = enum

    def enc(self, v):
        if self.enum is not None and v not in self.enum:
            raise ValueError(f"unknown value {v!r}")
        return string(v)

    def dec(self, r):
        raw = Bytes().dec(r)
        try:
            s = raw.decode("utf-8", errors="strict")   # RFC 3629: no surrogates, no overlongs
        except UnicodeDecodeError as e:
            raise DecodeError("string not UTF-8") from e
        if self.enum is not None and s not in self.enum:
            raise DecodeError(f"unknown enumerated value {s!r}")
        return s


class Raw(Ty):
    def __init__(self, n):
        self.n = n

    def enc(self, v):
        if len(v) != self.n:
            raise ValueError(f"expected {self.n} bytes")
        return bytes(v)

    def dec(self, r): return r.take(self.n)


class PointT(Ty):
    def __init__(self, identity_ok=False):
        self.identity_ok = identity_ok

    def enc(self, v): return enc_point(v, self.identity_ok)
    def dec(self, r): return dec_point(r.take(65), self.identity_ok)


class ScalarT(Ty):
    def enc(self, v): return enc_scalar(v)
    def dec(self, r): return dec_scalar(r.take(32))


class ListT(Ty):
    def __init__(self, item: Ty):
        self.item = item

    def enc(self, v):
        return u32(len(v)) + b"".join(self.item.enc(x) for x in v)

    def dec(self, r):
        n = r.u32()
        if n > r.left():
            raise DecodeError("list count larger than the bytes left")
        return [self.item.dec(r) for _ in range(n)]


class NamesT(Ty):
    """§4.1 names: list of (language, name), strictly ascending byte order of language.
    Value: dict language -> name (encoded sorted)."""

    def enc(self, v):
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-8"))
        return u32(len(items)) + b"".join(string(k) + string(n) for k, n in items)

    def dec(self, r):
        n = r.u32()
        if n > r.left():
            raise DecodeError("list count larger than the bytes left")
        out, prev = {}, None
        for _ in range(n):
            lang, name = Str().dec(r), Str().dec(r)
            if prev is not None and not prev < lang.encode("utf-8"):
                raise DecodeError("names not in strictly ascending order")
            prev = lang.encode("utf-8")
            out[lang] = name
        return out


class Struct(Ty):
    """Fields in encoding order; with a tag, the object starts with string(tag)."""

    def __init__(self, tag, fields):
        self.tag = tag
        self.fields = fields

    def enc(self, v):
        out = [string(self.tag)] if self.tag else []
        for name, ty in self.fields:
            out.append(ty.enc(v[name]))
        return b"".join(out)

    def dec(self, r):
        if self.tag:
            if Str().dec(r) != self.tag:
                raise DecodeError(f"expected tag {self.tag}")
        return {name: ty.dec(r) for name, ty in self.fields}

    def encode(self, v) -> bytes:
        return self.enc(v)

    def decode(self, data: bytes):
        r = Reader(data)
        v = self.dec(r)
        r.end()
        return v


class Nested(Ty):
    """bytes(...) of a complete nested object, which must fill the field exactly."""

    def __init__(self, st: Struct):
        self.st = st

    def enc(self, v): return bts(self.st.enc(v))
    def dec(self, r): return self.st.decode(Bytes().dec(r))


STR, U8_, U32_, U64_, BYTES = Str(), U8(), U32(), U64(), Bytes()
DIGEST, RAW16, RAW32, KEY, SIG = Raw(32), Raw(16), Raw(32), Raw(32), Raw(64)
POINT, POINT0, SCALAR, NAMES = PointT(), PointT(identity_ok=True), ScalarT(), NamesT()

# §3 tags
TAG = {name: "evote.v2." + name for name in [
    "manifest", "election-setup", "code-commitment", "roll-import", "code-reissue",
    "reissue-entry", "enrollment-request", "enrollment", "ballot", "cast", "signed-ballot",
    "challenge-request", "window-order", "window-change", "log-entry", "checkpoint", "receipt",
    "trustee", "trustee-appointment", "dealer-publication", "share-verification",
    "election-key", "station-appointment", "supervised-cast", "supervised-entry",
    "supersession-link", "supersession-reveal", "aggregate", "partial-decryption", "results",
    "spoiled-ballot", "signed-message", "proof.zero-or-one", "proof.selection-sum",
    "proof.schnorr", "proof.decryption", "share-encryption", "authorized-request"]}
PERSONAL_NUMBER_PREFIX = b"evote.v2.personal-number"
TRUSTEE_DERIVATION_PREFIX = b"evote.v2.trustee-derivation"

# §4.1 manifest
OPTION = Struct(None, [("id", STR), ("name", STR), ("names", NAMES), ("electable", U8_)])
DISTRICT = Struct(None, [("id", STR), ("name", STR), ("names", NAMES), ("seats", U32_),
                         ("selection_limit", U32_), ("options", ListT(OPTION))])
MANIFEST = Struct(TAG["manifest"], [("election_id", STR), ("name", STR), ("names", NAMES),
                                    ("districts", ListT(DISTRICT)),
                                    ("trustees_count", U32_), ("trustees_quorum", U32_)])
# §4.2
ELECTION_SETUP = Struct(TAG["election-setup"], [("manifest", Nested(MANIFEST)),
                                                ("server_key", KEY), ("commission_key", KEY),
                                                ("nonce", RAW32)])
# §4.3
COMMITMENT = Struct(None, [("salt", RAW16), ("value", DIGEST)])
DISTRICT_LIST = Struct(None, [("district", STR), ("commitments", ListT(COMMITMENT))])
ROLL_IMPORT = Struct(TAG["roll-import"], [("election_hash", DIGEST),
                                          ("districts", ListT(DISTRICT_LIST))])
CODE_REISSUE = Struct(TAG["code-reissue"], [("election_hash", DIGEST), ("district", STR),
                                            ("replaces", DIGEST), ("commitment", COMMITMENT),
                                            ("issued_at", U64_)])
REISSUE_ENTRY = Struct(TAG["reissue-entry"], [("order", Nested(CODE_REISSUE)), ("signature", SIG),
                                              ("revoked", ListT(KEY))])
# §4.4
CONTENT_TYPES = {"elgamal-p256-v2"}
CIPHERTEXT = Struct(None, [("alpha", POINT), ("beta", POINT)])
ZERO_ONE_PROOF = Struct(None, [("a0", POINT), ("b0", POINT), ("a1", POINT), ("b1", POINT),
                               ("c0", SCALAR), ("z0", SCALAR), ("z1", SCALAR)])
BALLOT = Struct(TAG["ballot"], [("election_hash", DIGEST), ("ballot_id", RAW32), ("district", STR),
                                ("content_type", Str(CONTENT_TYPES)),
                                ("ciphertexts", ListT(CIPHERTEXT)), ("proofs", ListT(ZERO_ONE_PROOF)),
                                ("limit_a", POINT), ("limit_b", POINT), ("limit_z", SCALAR)])
CAST_STATEMENT = Struct(TAG["cast"], [("election_hash", DIGEST), ("voter_key", KEY),
                                      ("tracking_code", DIGEST)])
SIGNED_BALLOT = Struct(TAG["signed-ballot"], [("ballot", Nested(BALLOT)), ("voter_key", KEY),
                                              ("signature", SIG)])
# §4.6
ACTIONS = {"open", "close"}
WINDOW_ORDER = Struct(TAG["window-order"], [("election_hash", DIGEST), ("action", Str(ACTIONS)),
                                            ("issued_at", U64_)])
WINDOW_CHANGE = Struct(TAG["window-change"], [("action", Str(ACTIONS)), ("issued_at", U64_),
                                              ("signature", SIG)])
# §4.7
ENROLLMENT_REQUEST = Struct(TAG["enrollment-request"], [("election_hash", DIGEST),
                                                        ("voter_key", KEY), ("code", STR)])
ENROLLMENT = Struct(TAG["enrollment"], [("voter_key", KEY), ("district", STR),
                                        ("commitment", DIGEST), ("code", STR), ("signature", SIG)])
# §5
KINDS = ["election", "roll", "reissue", "trustee", "dealing", "verification", "election-key",
         "station", "enrollment", "window", "spoiled", "ballot", "supervised", "reveal",
         "aggregate", "decryption", "results"]
LOG_ENTRY = Struct(TAG["log-entry"], [("index", U64_), ("election_hash", DIGEST),
                                      ("timestamp", U64_), ("kind", Str(set(KINDS))),
                                      ("payload", BYTES)])
CHECKPOINT = Struct(TAG["checkpoint"], [("election_hash", DIGEST), ("tree_size", U64_),
                                        ("root_hash", DIGEST), ("timestamp", U64_)])
# §6
RECEIPT_KINDS = {"ballot", "enrollment", "spoiled", "supervised"}
RECEIPT = Struct(TAG["receipt"], [("kind", Str(RECEIPT_KINDS)), ("election_hash", DIGEST),
                                  ("subject", DIGEST), ("log_index", U64_), ("leaf_hash", DIGEST),
                                  ("checkpoint", Nested(CHECKPOINT)),
                                  ("checkpoint_signature", SIG)])
# §12
TRUSTEE_REGISTRATION = Struct(TAG["trustee"], [("index", U32_), ("name", STR),
                                               ("signing_key", KEY), ("encryption_key", POINT)])
TRUSTEE_APPOINTMENT = Struct(TAG["trustee-appointment"], [
    ("election_hash", DIGEST), ("registration", Nested(TRUSTEE_REGISTRATION)),
    ("registration_signature", SIG)])
ENCRYPTED_SHARE = Struct(None, [("recipient", U32_), ("ephemeral", POINT), ("ciphertext", BYTES),
                                ("mac", DIGEST)])
DEALING = Struct(TAG["dealer-publication"], [("election_hash", DIGEST), ("index", U32_),
                                             ("commitments", ListT(POINT)), ("proof_a", POINT),
                                             ("proof_z", SCALAR),
                                             ("shares", ListT(ENCRYPTED_SHARE))])
SIGNED_MESSAGE = Struct(TAG["signed-message"], [("body", BYTES), ("signature", SIG)])
SHARE_VERIFICATION = Struct(TAG["share-verification"], [("election_hash", DIGEST), ("index", U32_),
                                                        ("complaints", ListT(U32_))])
ELECTION_KEY = Struct(TAG["election-key"], [("key", POINT), ("public_shares", ListT(POINT))])
# §13
AGGREGATE_CIPHERTEXT = Struct(None, [("alpha", POINT0), ("beta", POINT0)])
AGGREGATE_DISTRICT = Struct(None, [("district", STR), ("ballots", U32_),
                                   ("ciphertexts", ListT(AGGREGATE_CIPHERTEXT))])
AGGREGATE = Struct(TAG["aggregate"], [("districts", ListT(AGGREGATE_DISTRICT))])
DECRYPTION_SHARE = Struct(None, [("partial", POINT0), ("proof_a", POINT), ("proof_b", POINT0),
                                 ("proof_z", SCALAR)])
PARTIAL_DECRYPTION = Struct(TAG["partial-decryption"], [
    ("election_hash", DIGEST), ("index", U32_), ("districts", ListT(ListT(DECRYPTION_SHARE)))])
RESULTS_DISTRICT = Struct(None, [("district", STR), ("roll", U32_), ("ballots", U32_),
                                 ("counts", ListT(U64_)), ("elected", ListT(STR)),
                                 ("tied", ListT(STR))])
RESULTS = Struct(TAG["results"], [("quorum", ListT(U32_)), ("districts", ListT(RESULTS_DISTRICT))])
# §14
SPOILED_BALLOT = Struct(TAG["spoiled-ballot"], [("ballot", Nested(BALLOT)),
                                                ("selections", ListT(STR)),
                                                ("nonces", ListT(SCALAR))])
CHALLENGE_REQUEST = Struct(TAG["challenge-request"], [("election_hash", DIGEST), ("voter_key", KEY),
                                                      ("tracking_code", DIGEST)])
# §15
AUTHORIZED_REQUEST = Struct(TAG["authorized-request"], [
    ("election_hash", DIGEST), ("method", STR), ("path", STR), ("signer", STR),
    ("nonce", Raw(16)), ("expires_at", U64_), ("body_hash", DIGEST)])
# §16
STATION_APPOINTMENT = Struct(TAG["station-appointment"], [("election_hash", DIGEST), ("index", U32_),
                                                          ("name", STR), ("signing_key", KEY)])
SUPERVISED_CAST = Struct(TAG["supervised-cast"], [("election_hash", DIGEST), ("station", U32_),
                                                  ("tracking_code", DIGEST)])
SUPERVISED_ENTRY = Struct(TAG["supervised-entry"], [("ballot", Nested(BALLOT)), ("station", U32_),
                                                    ("signature", SIG), ("link", DIGEST)])
REVEAL_ITEM = Struct(None, [("supervised", DIGEST), ("pseudonym", DIGEST), ("blinding", RAW32),
                            ("superseded", BYTES)])
REVEAL = Struct(TAG["supersession-reveal"], [("items", ListT(REVEAL_ITEM))])

# §5.2: kind -> payload struct (signed kinds: outer signed message, body struct)
PAYLOAD = {"election": ELECTION_SETUP, "reissue": REISSUE_ENTRY, "election-key": ELECTION_KEY,
           "enrollment": ENROLLMENT, "window": WINDOW_CHANGE, "spoiled": SPOILED_BALLOT,
           "ballot": SIGNED_BALLOT, "supervised": SUPERVISED_ENTRY, "reveal": REVEAL,
           "aggregate": AGGREGATE}
SIGNED_BODY = {"roll": ROLL_IMPORT, "trustee": TRUSTEE_APPOINTMENT, "dealing": DEALING,
               "verification": SHARE_VERIFICATION, "station": STATION_APPOINTMENT,
               "decryption": PARTIAL_DECRYPTION, "results": RESULTS}


def decode_payload(kind: str, payload: bytes):
    """Decode a log entry's payload by its kind (§5.2); signed kinds give
    {"body": decoded body, "body_bytes", "signature"}."""
    if kind in PAYLOAD:
        return PAYLOAD[kind].decode(payload)
    sm = SIGNED_MESSAGE.decode(payload)
    return {"body": SIGNED_BODY[kind].decode(sm["body"]), "body_bytes": sm["body"],
            "signature": sm["signature"]}


# =========================================================================================
# Ed25519 (RFC 8032, pure), via `cryptography`
# =========================================================================================

class SigningKey:
    def __init__(self, seed: bytes):
        self.seed = seed
        self.sk = Ed25519PrivateKey.from_private_bytes(seed)
        self.pk = self.sk.public_key().public_bytes(serialization.Encoding.Raw,
                                                    serialization.PublicFormat.Raw)

    def sign(self, m: bytes) -> bytes:
        return self.sk.sign(m)


def ed_verify(pk: bytes, m: bytes, sig: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(pk).verify(sig, m)
        return True
    except (InvalidSignature, ValueError):
        return False


# =========================================================================================
# eq. 1, eqs. 3–4, eq. 12, eq. 13, §4.3 codes
# =========================================================================================

def election_hash(setup_bytes: bytes) -> bytes:                                   # eq. 1
    return sha256(setup_bytes)


def tracking_code(ballot_bytes: bytes) -> bytes:                                  # eq. 3
    return sha256(ballot_bytes)


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def short_code(tc: bytes) -> str:                                                 # eq. 4
    n = int.from_bytes(tc[:10], "big")
    c = [CROCKFORD[(n >> (75 - 5 * i)) & 31] for i in range(16)]
    return "-".join("".join(c[4 * g:4 * g + 4]) for g in range(4))


def code_from_random(b10: bytes) -> str:
    """§4.3: 10 CSPRNG bytes -> XXXX-XXXX-XXXX-XXXX (same mapping as eq. 4)."""
    assert len(b10) == 10
    return short_code(b10)


def normalize_code(code: str) -> str:
    s = code.upper()                       # Unicode (full) upper-case mapping
    s = s.replace("-", "").replace(" ", "")
    return s.replace("O", "0").replace("I", "1").replace("L", "1")


def well_formed_code(code: str) -> bool:
    n = normalize_code(code)
    return len(n) == 16 and all(ch in CROCKFORD for ch in n)


def commitment_salt_input(eh: bytes, salt: bytes) -> bytes:
    return string(TAG["code-commitment"]) + eh + salt


def code_commitment(eh: bytes, code: str, salt: bytes) -> bytes:                  # eq. 13
    return hashlib.pbkdf2_hmac("sha256", normalize_code(code).encode("utf-8"),
                               commitment_salt_input(eh, salt), 512, 32)


def trim_personal_number(s: str) -> str:
    def ws(ch):
        return ch == "\t" or unicodedata.category(ch) == "Zs"
    i, j = 0, len(s)
    while i < j and ws(s[i]):
        i += 1
    while j > i and ws(s[j - 1]):
        j -= 1
    return s[i:j]


def valid_personal_number(s: str) -> bool:
    return 1 <= len(s.encode("utf-8")) <= 64 and all(
        ch.isascii() and (ch.isalnum() or ch == "-") for ch in s)


def voter_mac(roll_secret: bytes, personal_number: str) -> bytes:                 # eq. 12
    pn = trim_personal_number(personal_number)
    assert valid_personal_number(pn)
    return hmac.new(roll_secret, PERSONAL_NUMBER_PREFIX + b"\x00" + pn.encode("utf-8"),
                    hashlib.sha256).digest()


# =========================================================================================
# §5 Merkle tree (RFC 9162 §2.1)
# =========================================================================================

def leaf_hash(entry_bytes: bytes) -> bytes:                                        # eq. 7
    return sha256(b"\x00", entry_bytes)


def node_hash(l: bytes, r: bytes) -> bytes:                                        # eq. 8
    return sha256(b"\x01", l, r)


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(leaves):                                                                   # eq. 9
    """leaves: list of leaf hashes."""
    n = len(leaves)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return leaves[0]
    k = _split(n)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def inclusion_path(m: int, leaves):                               # RFC 9162 §2.1.3.1 PATH
    n = len(leaves)
    if n <= 1:
        return []
    k = _split(n)
    if m < k:
        return inclusion_path(m, leaves[:k]) + [mth(leaves[k:])]
    return inclusion_path(m - k, leaves[k:]) + [mth(leaves[:k])]


def _subproof(m: int, leaves, b: bool):                          # RFC 9162 §2.1.4.1
    n = len(leaves)
    if m == n:
        return [] if b else [mth(leaves)]
    k = _split(n)
    if m <= k:
        return _subproof(m, leaves[:k], b) + [mth(leaves[k:])]
    return _subproof(m - k, leaves[k:], False) + [mth(leaves[:k])]


def consistency_proof(m: int, leaves):
    if not 1 <= m <= len(leaves):
        raise ValueError("invalid range")
    return _subproof(m, leaves, True)


def verify_inclusion(index: int, size: int, lh: bytes, proof, root: bytes) -> bool:
    """RFC 9162 §2.1.3.2 plus the extra rules of §5.1."""
    if index >= size or len(lh) != 32:
        return False
    fn, sn, r = index, size - 1, lh
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof) -> bool:
    """RFC 9162 §2.1.4.2 plus the extra rules of §5.1."""
    if first < 1 or first > second:
        return False
    if first == second:
        return len(proof) == 0 and first_root == second_root
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:
        path = [first_root] + path
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1 or fn == 0):
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_root and sr == second_root and sn == 0


# =========================================================================================
# §11 proofs. A verifier turns each proof into equations lhs == rhs, each side a list of
# (scalar, point) terms; check_single compares the sides, check_batch applies eq. 49.
# =========================================================================================

def H(tag: str, fields: bytes) -> int:                                             # eq. 22
    return int.from_bytes(sha256(string(tag), fields), "big") % N


def preimage(tag: str, fields: bytes) -> bytes:
    return string(tag) + fields


def ctx_bytes(eh: bytes, K, ballot_id: bytes, district: str) -> bytes:
    return eh + enc_point(K) + bts(ballot_id + district.encode("utf-8"))


def fixed_scalar(label: str) -> int:
    return int.from_bytes(sha256(label.encode("utf-8")), "big") % N


def elgamal_encrypt(K, m: int, r: int):                                            # eq. 20
    return (mul_g(r), point_add(small_mul_g(m), mul(r, K)))


def ct_add(c1, c2):                                                                # eq. 21
    return (point_add(c1[0], c2[0]), point_add(c1[1], c2[1]))


# ------------------------------------------------------------------ 0/1 proof, eqs. 23–26

def zero_one_fields(ctx: bytes, ct, a0, b0, a1, b1) -> bytes:
    return ctx + b"".join(hp(p) for p in (ct[0], ct[1], a0, b0, a1, b1))


def prove_zero_one(ctx: bytes, K, ct, m: int, r: int, u: int, c_fake: int, z_fake: int):  # eq. 24
    alpha, beta = ct
    j, k = m, 1 - m
    a = [None, None]
    b = [None, None]
    a[j] = mul_g(u)
    b[j] = mul(u, K)
    a[k] = point_sub(mul_g(z_fake), mul(c_fake, alpha))
    b[k] = point_sub(mul(z_fake, K), mul(c_fake, point_sub(beta, small_mul_g(k))))
    fields = zero_one_fields(ctx, ct, a[0], b[0], a[1], b[1])
    c = H(TAG["proof.zero-or-one"], fields)
    cs, zs = [0, 0], [0, 0]
    cs[k], zs[k] = c_fake % N, z_fake % N
    cs[j] = (c - c_fake) % N
    zs[j] = (u + cs[j] * r) % N
    proof = {"a0": a[0], "b0": b[0], "a1": a[1], "b1": b[1], "c0": cs[0], "z0": zs[0], "z1": zs[1]}
    return proof, {"preimage": preimage(TAG["proof.zero-or-one"], fields), "c": c, "c1": cs[1]}


def zero_one_equations(ctx: bytes, K, ct, pr):                                    # eqs. 25–26
    alpha, beta = ct
    c = H(TAG["proof.zero-or-one"], zero_one_fields(ctx, ct, pr["a0"], pr["b0"], pr["a1"], pr["b1"]))
    c0 = pr["c0"]
    c1 = (c - c0) % N
    beta_minus_g = point_sub(beta, G)
    return [
        ([(pr["z0"], G)], [(1, pr["a0"]), (c0, alpha)]),
        ([(pr["z0"], K)], [(1, pr["b0"]), (c0, beta)]),
        ([(pr["z1"], G)], [(1, pr["a1"]), (c1, alpha)]),
        ([(pr["z1"], K)], [(1, pr["b1"]), (c1, beta_minus_g)]),
    ]


# ------------------------------------------------------ selection-limit proof, eqs. 27–29

def limit_fields(ctx: bytes, cts, L: int, a, b) -> bytes:
    return (ctx + u32(len(cts)) + b"".join(hp(al) + hp(be) for al, be in cts) + u64(L)
            + hp(a) + hp(b))


def prove_limit(ctx: bytes, K, cts, L: int, R: int, u: int):                       # eq. 28
    a, b = mul_g(u), mul(u, K)
    fields = limit_fields(ctx, cts, L, a, b)
    c = H(TAG["proof.selection-sum"], fields)
    z = (u + c * R) % N
    return {"a": a, "b": b, "z": z}, {"preimage": preimage(TAG["proof.selection-sum"], fields), "c": c}


def limit_equations(ctx: bytes, K, cts, L: int, a, b, z):                         # eq. 29
    c = H(TAG["proof.selection-sum"], limit_fields(ctx, cts, L, a, b))
    alphas = [(c, al) for al, _ in cts]
    betas = [(c, be) for _, be in cts]
    return [
        ([(z, G)], [(1, a)] + alphas),
        ([(z, K)], [(1, b)] + betas + [((-c * L) % N, G)]),
    ]


# ---------------------------------------------------------------- Schnorr, eqs. 30–31

def schnorr_fields(eh: bytes, bound: bytes, X, a) -> bytes:
    return eh + bts(bound) + hp(X) + hp(a)


def prove_schnorr(eh: bytes, bound: bytes, x: int, u: int):                        # eq. 30
    X, a = mul_g(x), mul_g(u)
    fields = schnorr_fields(eh, bound, X, a)
    c = H(TAG["proof.schnorr"], fields)
    return {"a": a, "z": (u + c * x) % N}, {"preimage": preimage(TAG["proof.schnorr"], fields), "c": c}


def schnorr_equations(eh: bytes, bound: bytes, X, a, z):                          # eq. 31
    c = H(TAG["proof.schnorr"], schnorr_fields(eh, bound, X, a))
    return [([(z, G)], [(1, a), (c, X)])]


def proof_binding(i: int) -> bytes:
    return string(TAG["dealer-publication"]) + u32(i)


# ---------------------------------------------------------- decryption proof, eqs. 37–38

def decryption_fields(eh: bytes, S, alpha, D, a, b) -> bytes:
    return eh + hp(S) + hp(alpha) + hp(D) + hp(a) + hp(b)


def prove_decryption(eh: bytes, s: int, alpha, u: int):                           # eq. 37
    S, D = mul_g(s), mul(s, alpha)
    a, b = mul_g(u), mul(u, alpha)
    fields = decryption_fields(eh, S, alpha, D, a, b)
    c = H(TAG["proof.decryption"], fields)
    return D, {"a": a, "b": b, "z": (u + c * s) % N}, {
        "preimage": preimage(TAG["proof.decryption"], fields), "c": c}


def decryption_equations(eh: bytes, S, alpha, D, a, b, z):                       # eq. 38
    c = H(TAG["proof.decryption"], decryption_fields(eh, S, alpha, D, a, b))
    return [([(z, G)], [(1, a), (c, S)]),
            ([(z, alpha)], [(1, b), (c, D)])]


# ------------------------------------------------------------ checking equations, eq. 49

def check_single(eqs) -> bool:
    return all(msm(l) == msm(r) for l, r in eqs)


def check_batch(eqs, weights=None) -> bool:
    """eq. 49: Σ_e w_e·(lhs_e − rhs_e) = O with independent random 128-bit weights; terms on
    the same point are merged first."""
    merged = {}
    for e, (l, r) in enumerate(eqs):
        w = weights[e] if weights else secrets.randbits(128)
        for s, p in l:
            if p is not None:
                k = enc_point(p)
                merged[k] = ((merged.get(k, (0, p))[0] + w * s) % N, p)
        for s, p in r:
            if p is not None:
                k = enc_point(p)
                merged[k] = ((merged.get(k, (0, p))[0] - w * s) % N, p)
    return msm(list(merged.values())) is None


# ---------------------------------------------------------------- §11.4 ballot content

def encrypt_ballot(eh, K, district, selections, ballot_id, nonces, zo_rand, limit_u):
    """district: manifest district dict; nonces: list r_i; zo_rand: list of (u, c_fake, z_fake)."""
    options = [o["id"] for o in district["options"]]
    L = district["selection_limit"]
    assert len(selections) == L and len(set(selections)) == L and set(selections) <= set(options)
    ctx = ctx_bytes(eh, K, ballot_id, district["id"])
    cts, proofs, trace = [], [], {"zero_one": []}
    for i, oid in enumerate(options):
        m = 1 if oid in selections else 0
        cts.append(elgamal_encrypt(K, m, nonces[i]))
    for i, oid in enumerate(options):
        m = 1 if oid in selections else 0
        pr, t = prove_zero_one(ctx, K, cts[i], m, nonces[i], *zo_rand[i])
        proofs.append(pr)
        trace["zero_one"].append(t)
    R = sum(nonces) % N
    lp, t = prove_limit(ctx, K, cts, L, R, limit_u)
    trace["limit"] = t
    trace["R"] = R
    ballot = {"election_hash": eh, "ballot_id": ballot_id, "district": district["id"],
              "content_type": "elgamal-p256-v2",
              "ciphertexts": [{"alpha": a, "beta": b} for a, b in cts], "proofs": proofs,
              "limit_a": lp["a"], "limit_b": lp["b"], "limit_z": lp["z"]}
    return ballot, trace


def ballot_equations(ballot, district, K):
    """§11.4 validity (structure) plus every equation of the content's proofs."""
    if len(ballot["ciphertexts"]) != len(district["options"]):
        raise ValueError("ciphertext count is not the district's option count")
    if len(ballot["proofs"]) != len(ballot["ciphertexts"]):
        raise ValueError("proof count is not the ciphertext count")
    ctx = ctx_bytes(ballot["election_hash"], K, ballot["ballot_id"], ballot["district"])
    cts = [(c["alpha"], c["beta"]) for c in ballot["ciphertexts"]]
    eqs = []
    for ct, pr in zip(cts, ballot["proofs"]):
        eqs += zero_one_equations(ctx, K, ct, pr)
    eqs += limit_equations(ctx, K, cts, district["selection_limit"], ballot["limit_a"],
                           ballot["limit_b"], ballot["limit_z"])
    return eqs


def verify_ballot(ballot, district, K, batch=False) -> bool:
    eqs = ballot_equations(ballot, district, K)
    return check_batch(eqs) if batch else check_single(eqs)


def check_opening(ballot, district, K, selections, nonces) -> bool:               # eq. 45
    options = [o["id"] for o in district["options"]]
    if len(set(selections)) != len(selections) or not set(selections) <= set(options):
        return False
    if len(nonces) != len(options) or len(ballot["ciphertexts"]) != len(options):
        return False
    for oid, r, c in zip(options, nonces, ballot["ciphertexts"]):
        m = 1 if oid in selections else 0
        if (c["alpha"], c["beta"]) != elgamal_encrypt(K, m, r):
            return False
    return True


# ------------------------------------------------------------ §11.9 Feldman, eqs. 32–33

def poly_eval(coeffs, x: int) -> int:
    return sum(a * pow(x, t, N) for t, a in enumerate(coeffs)) % N


def feldman_commitments(coeffs):                                                   # eq. 32
    return [mul_g(a) for a in coeffs]


def feldman_check(s: int, j: int, commitments) -> bool:                           # eq. 33
    return mul_g(s) == msm([(pow(j, t, N), C) for t, C in enumerate(commitments)])


# -------------------------------------------------------- §11.10 share encryption, 34–35

def share_kdf_input(label: str, eh, i, j, R, Pj, Q) -> bytes:
    return (string(TAG["share-encryption"]) + string(label) + eh + u32(i) + u32(j)
            + enc_point(R) + enc_point(Pj) + enc_point(Q))


def share_mac_input(i, j, R, ciphertext: bytes) -> bytes:
    return (string(TAG["share-encryption"]) + string("mac-input") + u32(i) + u32(j)
            + enc_point(R) + bts(ciphertext))


def encrypt_share(eh, i: int, j: int, s: int, Pj, e: int):                       # eqs. 34–35
    R, Q = mul_g(e), mul(e, Pj)
    pad = sha256(share_kdf_input("pad", eh, i, j, R, Pj, Q))
    mac_key = sha256(share_kdf_input("mac", eh, i, j, R, Pj, Q))
    ct = bytes(x ^ y for x, y in zip(enc_scalar(s), pad))
    mac = hmac.new(mac_key, share_mac_input(i, j, R, ct), hashlib.sha256).digest()
    return {"recipient": j, "ephemeral": R, "ciphertext": ct, "mac": mac}


def open_share(eh, i: int, j: int, d_j: int, enc):
    if len(enc["ciphertext"]) != 32:
        return None
    Pj = mul_g(d_j)
    R = enc["ephemeral"]
    Q = mul(d_j, R)
    pad = sha256(share_kdf_input("pad", eh, i, j, R, Pj, Q))
    mac_key = sha256(share_kdf_input("mac", eh, i, j, R, Pj, Q))
    mac = hmac.new(mac_key, share_mac_input(i, j, R, enc["ciphertext"]), hashlib.sha256).digest()
    if not hmac.compare_digest(mac, enc["mac"]):
        return None
    s = int.from_bytes(bytes(x ^ y for x, y in zip(enc["ciphertext"], pad)), "big")
    return s if s < N else None


# ---------------------------------------------------------------- eq. 36 Lagrange

def lagrange(i: int, quorum) -> int:
    q = list(quorum)
    if len(set(q)) != len(q) or 0 in q or i not in q:
        raise ValueError("bad quorum")
    lam = 1
    for m in q:
        if m != i:
            lam = lam * m * pow((m - i) % N, -1, N) % N
    return lam


# ------------------------------------------------------------- §12.6 trustee derivation

def trustee_derive(signing_seed: bytes, d_j: int, eh: bytes, label: str, t: int) -> int:
    message = TRUSTEE_DERIVATION_PREFIX + b"\x00" + eh + label.encode("utf-8") + b"\x00" + u32(t)
    key = signing_seed + enc_scalar(d_j)
    h1 = hmac.new(key, message, hashlib.sha256).digest()
    h2 = hmac.new(key, message + b"\x01", hashlib.sha256).digest()
    v = int.from_bytes(h1 + h2, "big") % N
    return v or 1


# ------------------------------------------------------------- eqs. 39–40 election key

def election_key_from_dealings(dealings, indices):
    """dealings: list of decoded dealing bodies; indices: registered trustee indices."""
    K = None
    for d in dealings:
        K = point_add(K, d["commitments"][0])
    shares = []
    for j in sorted(indices):
        shares.append(msm([(pow(j, t, N), C) for d in dealings for t, C in enumerate(d["commitments"])]))
    return K, shares


# ------------------------------------------------------------- eqs. 42–43 combination

def discrete_log_small(M, bound: int):
    """t with 0 <= t <= bound and t·G = M (baby-step giant-step, m = ceil(sqrt(bound+1)))."""
    if bound >= 2 ** 40:
        raise ValueError("bound too large")
    m = 1
    while m * m < bound + 1:
        m += 1
    baby = {}
    cur = None
    for jj in range(m):
        baby.setdefault(hp(cur), jj)
        cur = point_add(cur, G)
    giant = point_neg(small_mul_g(m))
    gamma = M
    for ii in range(m + 1):
        jj = baby.get(hp(gamma))
        if jj is not None:
            t = ii * m + jj
            if t <= bound:
                return t
        gamma = point_add(gamma, giant)
    raise ValueError("no discrete log within the bound")


def winners(options, counts, seats):                                               # eq. 44
    """options: manifest option dicts; counts: list of ints (same order)."""
    el = [(o["id"], c) for o, c in zip(options, counts) if o["electable"]]
    ranking = sorted(el, key=lambda oc: (-oc[1], oc[0].encode("utf-8")))
    if seats >= len(ranking):
        return [o for o, _ in ranking], []
    cstar = ranking[seats - 1][1]
    if ranking[seats][1] != cstar:
        return [o for o, _ in ranking[:seats]], []
    elected = [o for o, c in ranking if c > cstar]
    tied = sorted([o for o, c in ranking if c == cstar], key=lambda s: s.encode("utf-8"))
    return elected, tied


# =========================================================================================
# §6 receipts: ReceiptVerifier (the six checks of §6.2)
# =========================================================================================

def verify_logged_receipt(server_key, eh, receipt_bytes, signature, entry_bytes, proof,
                          expected_payload=None):
    rc = RECEIPT.decode(receipt_bytes)
    cp = rc["checkpoint"]
    cp_bytes = CHECKPOINT.encode(cp)
    out = {}
    out["receipt-signature"] = ed_verify(server_key, receipt_bytes, signature)
    out["checkpoint-signature"] = ed_verify(server_key, cp_bytes, rc["checkpoint_signature"])
    out["election"] = rc["election_hash"] == eh and cp["election_hash"] == eh
    out["leaf-hash"] = leaf_hash(entry_bytes) == rc["leaf_hash"]
    out["inclusion"] = verify_inclusion(rc["log_index"], cp["tree_size"], rc["leaf_hash"], proof,
                                        cp["root_hash"])
    ok = False
    try:
        e = LOG_ENTRY.decode(entry_bytes)
        ok = e["index"] == rc["log_index"] and e["election_hash"] == eh and e["kind"] == rc["kind"]
        p = decode_payload(e["kind"], e["payload"])
        if rc["kind"] == "ballot":
            tc = tracking_code(BALLOT.encode(p["ballot"]))
            ok = ok and tc == rc["subject"] and p["ballot"]["election_hash"] == eh and ed_verify(
                p["voter_key"], CAST_STATEMENT.encode({"election_hash": eh, "voter_key": p["voter_key"],
                                                       "tracking_code": tc}), p["signature"])
        elif rc["kind"] in ("spoiled", "supervised"):
            tc = tracking_code(BALLOT.encode(p["ballot"]))
            ok = ok and tc == rc["subject"] and p["ballot"]["election_hash"] == eh
        else:
            ok = ok and p["voter_key"] == rc["subject"]
        if expected_payload is not None:
            ok = ok and e["payload"] == expected_payload
    except (DecodeError, KeyError):
        ok = False
    out["entry-content"] = ok
    return out


# =========================================================================================
# §9 the worked example
# =========================================================================================

T0 = 1767225600000
MIN = 60_000
HOUR = 60 * MIN


def seed(x: int) -> bytes:
    return bytes([x]) * 32


def fixed_bytes(label: str, k: int) -> bytes:
    return sha256(label.encode("utf-8"))[:k]


def hx(b: bytes) -> str:
    return b.hex()


def hpt(pt) -> str:
    return hp(pt).hex()


def hsc(s: int) -> str:
    return enc_scalar(s % N).hex()


def signed_message(body: bytes, sk: SigningKey):
    sig = sk.sign(body)
    return SIGNED_MESSAGE.encode({"body": body, "signature": sig}), sig


def build_example():
    X = {}   # everything for the JSON fixture
    server, commission = SigningKey(seed(1)), SigningKey(seed(2))
    voter_a, trustee1_sk, station1_sk = SigningKey(seed(3)), SigningKey(seed(4)), SigningKey(seed(5))
    voter_b1, voter_b2 = SigningKey(seed(6)), SigningKey(seed(7))
    X["keys"] = {name: {"seed": hx(k.seed), "public": hx(k.pk)} for name, k in [
        ("server", server), ("commission", commission), ("voter_a", voter_a),
        ("trustee_1_signing", trustee1_sk), ("station_1", station1_sk),
        ("voter_b_first", voter_b1), ("voter_b_second", voter_b2)]}

    # ------------------------------------------------------------------ manifest, setup
    manifest = {"election_id": "demo-2026", "name": "Demo election", "names": {"ru": "Пробные выборы"},
                "districts": [{"id": "d1", "name": "North", "names": {}, "seats": 1, "selection_limit": 1,
                               "options": [{"id": "yes", "name": "Yes", "names": {}, "electable": 1},
                                           {"id": "no", "name": "No", "names": {}, "electable": 1}]}],
                "trustees_count": 1, "trustees_quorum": 1}
    district = manifest["districts"][0]
    manifest_bytes = MANIFEST.encode(manifest)
    nonce = fixed_bytes("example election nonce", 32)
    setup = {"manifest": manifest, "server_key": server.pk, "commission_key": commission.pk, "nonce": nonce}
    setup_bytes = ELECTION_SETUP.encode(setup)
    eh = election_hash(setup_bytes)
    X["manifest"] = hx(manifest_bytes)
    X["manifest_json"] = {"election_id": "demo-2026", "name": "Demo election", "names": {"ru": "Пробные выборы"},
                          "districts": [{"id": "d1", "name": "North", "seats": 1, "selection_limit": 1,
                                         "options": [{"id": "yes", "name": "Yes"}, {"id": "no", "name": "No"}]}],
                          "trustees": {"count": 1, "quorum": 1}}
    X["election_nonce"] = hx(nonce)
    X["election_setup"] = hx(setup_bytes)
    X["election_hash"] = hx(eh)

    log = []   # (kind, timestamp, payload)

    def append(kind, ts, payload):
        log.append((kind, ts, payload))
        return len(log) - 1

    append("election", T0, setup_bytes)

    # ------------------------------------------------------------------ roll (eqs. 12–14)
    roll_secret = bytes(range(32))
    pn_a, pn_b = "19800101-1234", "19851231-5678"
    codes = {"a": "0K1M-Q9XD-4TBN-7RWE", "b": "3F8H-2KPS-6VYC-9ZA1", "b_reissued": "5G7J-1MNQ-8RST-4WXZ"}
    salts = {"a": fixed_bytes("example salt A", 16), "b": fixed_bytes("example salt B", 16),
             "b_reissued": fixed_bytes("example salt B reissued", 16)}
    comm = {}
    X["roll"] = {"roll_secret": hx(roll_secret),
                 "voter_mac_a": {"personal_number": pn_a,
                                 "message": hx(PERSONAL_NUMBER_PREFIX + b"\x00" + pn_a.encode()),
                                 "mac": hx(voter_mac(roll_secret, pn_a))},
                 "voter_mac_b": {"personal_number": pn_b,
                                 "message": hx(PERSONAL_NUMBER_PREFIX + b"\x00" + pn_b.encode()),
                                 "mac": hx(voter_mac(roll_secret, pn_b))},
                 "commitments": {}}
    for who in ("a", "b", "b_reissued"):
        assert well_formed_code(codes[who])
        comm[who] = code_commitment(eh, codes[who], salts[who])
        X["roll"]["commitments"][who] = {
            "code": codes[who], "normalized_code": normalize_code(codes[who]), "salt": hx(salts[who]),
            "pbkdf2_salt": hx(commitment_salt_input(eh, salts[who])), "iterations": 512,
            "value": hx(comm[who])}
    roll_import = {"election_hash": eh, "districts": [{"district": "d1", "commitments": [
        {"salt": salts["a"], "value": comm["a"]}, {"salt": salts["b"], "value": comm["b"]}]}]}
    roll_bytes = ROLL_IMPORT.encode(roll_import)
    roll_payload, roll_sig = signed_message(roll_bytes, commission)
    X["roll"].update({"roll_import": hx(roll_bytes), "roll_signature": hx(roll_sig),
                      "payload": hx(roll_payload)})
    append("roll", T0 + 1 * MIN, roll_payload)

    # ------------------------------------------------------------------ trustee (§12)
    d1 = fixed_scalar("example trustee encryption key")
    P1 = mul_g(d1)
    registration = {"index": 1, "name": "Trustee One", "signing_key": trustee1_sk.pk, "encryption_key": P1}
    reg_bytes = TRUSTEE_REGISTRATION.encode(registration)
    reg_sig = trustee1_sk.sign(reg_bytes)
    appointment_bytes = TRUSTEE_APPOINTMENT.encode({"election_hash": eh, "registration": registration,
                                                    "registration_signature": reg_sig})
    trustee_payload, appt_sig = signed_message(appointment_bytes, commission)
    append("trustee", T0 + 2 * MIN, trustee_payload)

    a10 = fixed_scalar("example trustee coefficient 0")
    coeffs = [a10]
    commitments = feldman_commitments(coeffs)
    u_schnorr = fixed_scalar("example trustee proof-nonce 0")
    sch, sch_t = prove_schnorr(eh, proof_binding(1), a10, u_schnorr)
    dealing = {"election_hash": eh, "index": 1, "commitments": commitments, "proof_a": sch["a"],
               "proof_z": sch["z"], "shares": []}
    dealing_bytes = DEALING.encode(dealing)
    dealing_payload, dealing_sig = signed_message(dealing_bytes, trustee1_sk)
    append("dealing", T0 + 3 * MIN, dealing_payload)

    verification_bytes = SHARE_VERIFICATION.encode({"election_hash": eh, "index": 1, "complaints": []})
    verification_payload, verification_sig = signed_message(verification_bytes, trustee1_sk)
    append("verification", T0 + 4 * MIN, verification_payload)

    K, public_shares = election_key_from_dealings([DEALING.decode(dealing_bytes)], [1])
    s1 = poly_eval(coeffs, 1)       # own share f_1(1); no other dealers
    assert mul_g(s1) == public_shares[0] and feldman_check(s1, 1, commitments)
    ek_bytes = ELECTION_KEY.encode({"key": K, "public_shares": public_shares})
    append("election-key", T0 + 4 * MIN, ek_bytes)
    X["trustee"] = {
        "encryption_secret_d1": hsc(d1), "encryption_key_P1": hpt(P1),
        "registration": hx(reg_bytes), "registration_signature": hx(reg_sig),
        "appointment": hx(appointment_bytes), "appointment_signature": hx(appt_sig),
        "trustee_payload": hx(trustee_payload),
        "coefficient_a10": hsc(a10), "commitment_C10": hpt(commitments[0]),
        "proof_binding": hx(proof_binding(1)),
        "schnorr": {"u": hsc(u_schnorr), "a": hpt(sch["a"]), "challenge_preimage": hx(sch_t["preimage"]),
                    "challenge": hsc(sch_t["c"]), "z": hsc(sch["z"])},
        "dealing": hx(dealing_bytes), "dealing_signature": hx(dealing_sig), "dealing_payload": hx(dealing_payload),
        "verification": hx(verification_bytes), "verification_signature": hx(verification_sig),
        "verification_payload": hx(verification_payload),
        "secret_share_s1": hsc(s1), "lagrange_lambda1": hsc(lagrange(1, [1])),
        "election_key_K": hpt(K), "public_share_S1": hpt(public_shares[0]),
        "election_key_record": hx(ek_bytes)}

    # ------------------------------------------------------------------ station (§16.1)
    station_bytes = STATION_APPOINTMENT.encode({"election_hash": eh, "index": 1, "name": "Consulate",
                                                "signing_key": station1_sk.pk})
    station_payload, station_sig = signed_message(station_bytes, commission)
    append("station", T0 + 5 * MIN, station_payload)
    X["station"] = {"appointment": hx(station_bytes), "signature": hx(station_sig),
                    "payload": hx(station_payload)}

    # ------------------------------------------------------------------ enrollments, reissue
    def enroll(sk, who):
        code = normalize_code(codes[who])
        req = ENROLLMENT_REQUEST.encode({"election_hash": eh, "voter_key": sk.pk, "code": code})
        sig = sk.sign(req)
        payload = ENROLLMENT.encode({"voter_key": sk.pk, "district": "d1", "commitment": comm[who],
                                     "code": code, "signature": sig})
        return {"request": hx(req), "signature": hx(sig), "payload": hx(payload)}, payload

    X["enrollments"] = {}
    X["enrollments"]["a"], p = enroll(voter_a, "a")
    idx_enroll_a = append("enrollment", T0 + 6 * MIN, p)
    X["enrollments"]["b_first"], p = enroll(voter_b1, "b")
    append("enrollment", T0 + 7 * MIN, p)

    order = {"election_hash": eh, "district": "d1", "replaces": comm["b"],
             "commitment": {"salt": salts["b_reissued"], "value": comm["b_reissued"]},
             "issued_at": T0 + 8 * MIN}
    order_bytes = CODE_REISSUE.encode(order)
    order_sig = commission.sign(order_bytes)
    reissue_payload = REISSUE_ENTRY.encode({"order": order, "signature": order_sig, "revoked": [voter_b1.pk]})
    append("reissue", T0 + 8 * MIN, reissue_payload)
    X["reissue"] = {"order": hx(order_bytes), "signature": hx(order_sig), "payload": hx(reissue_payload)}

    X["enrollments"]["b_second"], p = enroll(voter_b2, "b_reissued")
    append("enrollment", T0 + 9 * MIN, p)

    # ------------------------------------------------------------------ window open
    def window(action, issued_at):
        ob = WINDOW_ORDER.encode({"election_hash": eh, "action": action, "issued_at": issued_at})
        sig = commission.sign(ob)
        payload = WINDOW_CHANGE.encode({"action": action, "issued_at": issued_at, "signature": sig})
        return {"order": hx(ob), "signature": hx(sig), "payload": hx(payload)}, payload

    X["window_open"], p = window("open", T0 + 1 * HOUR)
    append("window", T0 + 1 * HOUR, p)

    # ------------------------------------------------------------------ ballots (§11.4)
    selections = {"spoiled": ["yes"], "ballot": ["yes"], "remote": ["no"], "supervised": ["yes"]}
    ballots, btrace = {}, {}
    X["ballots"] = {}
    opts = [o["id"] for o in district["options"]]
    for w in ("spoiled", "ballot", "remote", "supervised"):
        bid = fixed_bytes(f"example {w} ballot id", 32)
        nonces = [fixed_scalar(f"example {w} nonce {o}") for o in opts]
        zo = [(fixed_scalar(f"example {w} {o} u"), fixed_scalar(f"example {w} {o} c-fake"),
               fixed_scalar(f"example {w} {o} z-fake")) for o in opts]
        lu = fixed_scalar(f"example {w} limit u")
        ballot, tr = encrypt_ballot(eh, K, district, selections[w], bid, nonces, zo, lu)
        bb = BALLOT.encode(ballot)
        assert BALLOT.decode(bb) == ballot
        assert len(bb) == 4 + 15 + 32 + 32 + 4 + 2 + (19 + 4 + 130 * 2 + 4 + 356 * 2 + 162)
        tc = tracking_code(bb)
        ballots[w] = (ballot, bb, tc, nonces)
        ctx = ctx_bytes(eh, K, bid, "d1")
        X["ballots"][w] = {
            "selections": selections[w], "ballot_id": hx(bid), "district": "d1",
            "ctx_bytes": hx(ctx),
            "options": [{
                "option": o, "plaintext": 1 if o in selections[w] else 0, "nonce": hsc(nonces[i]),
                "alpha": hpt(ballot["ciphertexts"][i]["alpha"]), "beta": hpt(ballot["ciphertexts"][i]["beta"]),
                "proof": {"u": hsc(zo[i][0]), "c_fake": hsc(zo[i][1]), "z_fake": hsc(zo[i][2]),
                          "a0": hpt(ballot["proofs"][i]["a0"]), "b0": hpt(ballot["proofs"][i]["b0"]),
                          "a1": hpt(ballot["proofs"][i]["a1"]), "b1": hpt(ballot["proofs"][i]["b1"]),
                          "challenge_preimage": hx(tr["zero_one"][i]["preimage"]),
                          "challenge": hsc(tr["zero_one"][i]["c"]),
                          "c0": hsc(ballot["proofs"][i]["c0"]), "c1": hsc(tr["zero_one"][i]["c1"]),
                          "z0": hsc(ballot["proofs"][i]["z0"]), "z1": hsc(ballot["proofs"][i]["z1"])}}
                for i, o in enumerate(opts)],
            "limit_proof": {"u": hsc(lu), "R": hsc(tr["R"]), "a": hpt(ballot["limit_a"]),
                            "b": hpt(ballot["limit_b"]), "challenge_preimage": hx(tr["limit"]["preimage"]),
                            "challenge": hsc(tr["limit"]["c"]), "z": hsc(ballot["limit_z"])},
            "ballot_bytes": hx(bb), "tracking_code": hx(tc), "short_code": short_code(tc)}

    # every ballot proof verified both ways (and a tampered one refused both ways)
    for w, (ballot, bb, tc, nonces) in ballots.items():
        assert verify_ballot(ballot, district, K) and verify_ballot(ballot, district, K, batch=True)
        bad = dict(ballot, limit_z=(ballot["limit_z"] + 1) % N)
        assert not verify_ballot(bad, district, K) and not verify_ballot(bad, district, K, batch=True)

    # 12: spoiled (A's challenge)
    sp_ballot, sp_bytes, sp_tc, sp_nonces = ballots["spoiled"]
    ch_req = CHALLENGE_REQUEST.encode({"election_hash": eh, "voter_key": voter_a.pk, "tracking_code": sp_tc})
    ch_sig = voter_a.sign(ch_req)
    spoiled_payload = SPOILED_BALLOT.encode({"ballot": sp_ballot, "selections": ["yes"], "nonces": sp_nonces})
    assert check_opening(sp_ballot, district, K, ["yes"], sp_nonces)
    assert not check_opening(sp_ballot, district, K, ["no"], sp_nonces)
    idx_spoiled = append("spoiled", T0 + 1 * HOUR + 1 * MIN, spoiled_payload)
    X["challenge"] = {"request": hx(ch_req), "signature": hx(ch_sig), "spoiled_payload": hx(spoiled_payload)}

    # 13, 14: cast ballots
    def cast(sk, w):
        ballot, bb, tc, _ = ballots[w]
        st = CAST_STATEMENT.encode({"election_hash": eh, "voter_key": sk.pk, "tracking_code": tc})
        sig = sk.sign(st)
        payload = SIGNED_BALLOT.encode({"ballot": ballot, "voter_key": sk.pk, "signature": sig})
        return {"statement": hx(st), "signature": hx(sig), "payload": hx(payload)}, payload

    X["cast"] = {}
    X["cast"]["a"], p = cast(voter_a, "ballot")
    idx_ballot = append("ballot", T0 + 1 * HOUR + 2 * MIN, p)
    X["cast"]["b_remote"], p = cast(voter_b2, "remote")
    append("ballot", T0 + 1 * HOUR + 3 * MIN, p)

    # 15: supervised (B at station 1)
    su_ballot, su_bytes, su_tc, _ = ballots["supervised"]
    su_st = SUPERVISED_CAST.encode({"election_hash": eh, "station": 1, "tracking_code": su_tc})
    su_sig = station1_sk.sign(su_st)
    blinding = fixed_bytes("example blinding", 32)
    pseudonym = comm["b"]
    link_pre = string(TAG["supersession-link"]) + pseudonym + blinding
    link = sha256(link_pre)                                                        # eq. 48
    su_payload = SUPERVISED_ENTRY.encode({"ballot": su_ballot, "station": 1, "signature": su_sig, "link": link})
    idx_supervised = append("supervised", T0 + 1 * HOUR + 4 * MIN, su_payload)
    X["supervised"] = {"statement": hx(su_st), "signature": hx(su_sig), "pseudonym": hx(pseudonym),
                       "blinding": hx(blinding), "link_preimage": hx(link_pre), "link": hx(link),
                       "payload": hx(su_payload)}

    # 16-18: close, reveal, aggregate
    X["window_close"], p = window("close", T0 + 10 * HOUR)
    append("window", T0 + 10 * HOUR, p)
    reveal_payload = REVEAL.encode({"items": [{"supervised": su_tc, "pseudonym": pseudonym, "blinding": blinding,
                                               "superseded": ballots["remote"][1]}]})
    append("reveal", T0 + 10 * HOUR, reveal_payload)
    X["reveal"] = {"payload": hx(reveal_payload)}

    counted = [ballots["ballot"][0], ballots["supervised"][0]]
    sums = [(None, None)] * len(opts)
    for b in counted:
        sums = [ct_add(s, (c["alpha"], c["beta"])) for s, c in zip(sums, b["ciphertexts"])]
    agg = {"districts": [{"district": "d1", "ballots": len(counted),
                          "ciphertexts": [{"alpha": a, "beta": b} for a, b in sums]}]}
    agg_bytes = AGGREGATE.encode(agg)
    append("aggregate", T0 + 10 * HOUR, agg_bytes)
    X["aggregate"] = {"ballots": len(counted),
                      "ciphertexts": [{"option": o, "alpha": hpt(a), "beta": hpt(b)} for o, (a, b) in zip(opts, sums)],
                      "payload": hx(agg_bytes)}

    # 19-20: partial decryption and results
    shares, dtrace = [], []
    for pos, (alpha, beta) in enumerate(sums):
        u = fixed_scalar(f"example decryption u {pos}")
        D, pr, t = prove_decryption(eh, s1, alpha, u)
        shares.append({"partial": D, "proof_a": pr["a"], "proof_b": pr["b"], "proof_z": pr["z"]})
        dtrace.append({"option": opts[pos], "u": hsc(u), "partial_D": hpt(D), "a": hpt(pr["a"]),
                       "b": hpt(pr["b"]), "challenge_preimage": hx(t["preimage"]), "challenge": hsc(t["c"]),
                       "z": hsc(pr["z"])})
    pd_bytes = PARTIAL_DECRYPTION.encode({"election_hash": eh, "index": 1, "districts": [shares]})
    pd_payload, pd_sig = signed_message(pd_bytes, trustee1_sk)
    append("decryption", T0 + 10 * HOUR + 1 * MIN, pd_payload)

    quorum = [1]
    counts, combos = [], []
    for pos, ((alpha, beta), sh) in enumerate(zip(sums, shares)):
        M = point_sub(beta, msm([(lagrange(j, quorum), sh["partial"]) for j in quorum]))   # eq. 42
        t = discrete_log_small(M, len(counted) * district["selection_limit"])               # eq. 43
        counts.append(t)
        combos.append({"option": opts[pos], "M": hpt(M), "count": t})
    elected, tied = winners(district["options"], counts, district["seats"])
    assert counts == [2, 0] and elected == ["yes"] and tied == []
    results = {"quorum": quorum, "districts": [{"district": "d1", "roll": 2, "ballots": len(counted),
                                                "counts": counts, "elected": elected, "tied": tied}]}
    results_bytes = RESULTS.encode(results)
    results_payload, results_sig = signed_message(results_bytes, server)
    append("results", T0 + 10 * HOUR + 1 * MIN, results_payload)
    X["decryption"] = {"shares": dtrace, "partial_decryption": hx(pd_bytes), "signature": hx(pd_sig),
                       "payload": hx(pd_payload)}
    X["combination"] = {"quorum": quorum, "lagrange": {"1": hsc(lagrange(1, quorum))}, "options": combos}
    X["results"] = {"counts": dict(zip(opts, counts)), "elected": elected, "tied": tied, "roll": 2,
                    "ballots": len(counted), "results": hx(results_bytes), "signature": hx(results_sig),
                    "payload": hx(results_payload)}

    # ------------------------------------------------------------------ the log (§5)
    assert len(log) == 21
    entry_bytes = [LOG_ENTRY.encode({"index": i, "election_hash": eh, "timestamp": ts, "kind": k,
                                     "payload": p}) for i, (k, ts, p) in enumerate(log)]
    leaves = [leaf_hash(e) for e in entry_bytes]
    X["entries"] = [{"index": i, "kind": k, "timestamp": ts, "payload": hx(p), "entry": hx(e),
                     "leaf_hash": hx(l)} for i, ((k, ts, p), e, l) in enumerate(zip(log, entry_bytes, leaves))]
    roots = {n: mth(leaves[:n]) for n in range(1, 22)}
    X["roots"] = {str(n): hx(r) for n, r in roots.items()}
    # one checkpoint per batch (entries with equal timestamps), for the size after the batch
    cps = {}
    for i, (_, ts, _) in enumerate(log):
        if i == len(log) - 1 or log[i + 1][1] != ts:
            size = i + 1
            cb = CHECKPOINT.encode({"election_hash": eh, "tree_size": size, "root_hash": roots[size],
                                    "timestamp": ts})
            cps[size] = (cb, server.sign(cb), ts)
    assert sorted(cps) == [1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 19, 21]
    X["checkpoints"] = {str(n): {"timestamp": ts, "root_hash": hx(roots[n]), "checkpoint": hx(cb),
                                 "signature": hx(sig)} for n, (cb, sig, ts) in cps.items()}

    # receipts (§6.1)
    X["receipts"] = {}
    for name, idx, kind, subject in [("enrollment_a", idx_enroll_a, "enrollment", voter_a.pk),
                                     ("spoiled", idx_spoiled, "spoiled", sp_tc),
                                     ("ballot", idx_ballot, "ballot", ballots["ballot"][2]),
                                     ("supervised", idx_supervised, "supervised", su_tc)]:
        size = min(s for s in cps if s > idx)
        cb, csig, _ = cps[size]
        rb = RECEIPT.encode({"kind": kind, "election_hash": eh, "subject": subject, "log_index": idx,
                             "leaf_hash": leaves[idx], "checkpoint": CHECKPOINT.decode(cb),
                             "checkpoint_signature": csig})
        rsig = server.sign(rb)
        proof = inclusion_path(idx, leaves[:size])
        checks = verify_logged_receipt(server.pk, eh, rb, rsig, entry_bytes[idx], proof, log[idx][2])
        assert all(checks.values()), (name, checks)
        X["receipts"][name] = {"kind": kind, "log_index": idx, "tree_size": size, "subject": hx(subject),
                               "receipt": hx(rb), "signature": hx(rsig),
                               "inclusion_proof": [hx(h) for h in proof]}

    # proofs asked for by name
    X["inclusion_proofs"] = {}
    for idx, size in [(13, 14), (13, 21)]:
        pr = inclusion_path(idx, leaves[:size])
        assert verify_inclusion(idx, size, leaves[idx], pr, roots[size])
        X["inclusion_proofs"][f"{idx}@{size}"] = {"index": idx, "tree_size": size, "leaf_hash": hx(leaves[idx]),
                                                  "root": hx(roots[size]), "proof": [hx(h) for h in pr]}
    cpf = consistency_proof(14, leaves[:21])
    assert verify_consistency(14, 21, roots[14], roots[21], cpf)
    X["consistency_proofs"] = {"14->21": {"first": 14, "second": 21, "first_root": hx(roots[14]),
                                          "second_root": hx(roots[21]), "proof": [hx(h) for h in cpf]}}

    audit_example(X, log, entry_bytes, leaves, cps, server.pk, commission.pk)
    return X


def audit_example(X, log, entry_bytes, leaves, cps, server_pk, commission_pk):
    """Independent re-check of the whole example from the log bytes alone (decode everything,
    verify every signature, proof, opening, the ceremony, the aggregate and the results)."""
    e0 = LOG_ENTRY.decode(entry_bytes[0])
    setup = ELECTION_SETUP.decode(e0["payload"])
    eh = election_hash(e0["payload"])
    assert e0["election_hash"] == eh and setup["server_key"] == server_pk
    manifest = setup["manifest"]
    districts = {d["id"]: d for d in manifest["districts"]}
    ck = setup["commission_key"]
    trustees, dealings, K, S, roll_size = {}, [], None, [], {}
    salts = {}            # commitment value -> salt
    pseudonym_of = {}     # commitment value -> roll pseudonym
    opened, revoked, enrolled = set(), set(), {}
    counted, supervised, all_eqs = {}, [], []
    results_checked = False
    for i, eb in enumerate(entry_bytes):
        e = LOG_ENTRY.decode(eb)
        assert LOG_ENTRY.encode(e) == eb and e["index"] == i and e["election_hash"] == eh
        p = decode_payload(e["kind"], e["payload"])
        # decode → encode reproduces the bytes exactly (§2)
        if e["kind"] in PAYLOAD:
            assert PAYLOAD[e["kind"]].encode(p) == e["payload"]
        else:
            assert SIGNED_BODY[e["kind"]].encode(p["body"]) == p["body_bytes"]
            if e["kind"] != "results":
                assert p["body"]["election_hash"] == eh
        k = e["kind"]
        if k == "roll":
            assert ed_verify(ck, p["body_bytes"], p["signature"])
            for dl in p["body"]["districts"]:
                for c in dl["commitments"]:
                    salts[c["value"]] = c["salt"]
                    pseudonym_of[c["value"]] = c["value"]
                roll_size[dl["district"]] = roll_size.get(dl["district"], 0) + len(dl["commitments"])
        elif k == "trustee":
            reg = p["body"]["registration"]
            assert ed_verify(ck, p["body_bytes"], p["signature"])
            assert ed_verify(reg["signing_key"], TRUSTEE_REGISTRATION.encode(reg), p["body"]["registration_signature"])
            trustees[reg["index"]] = reg
        elif k == "dealing":
            d = p["body"]
            assert ed_verify(trustees[d["index"]]["signing_key"], p["body_bytes"], p["signature"])
            assert len(d["commitments"]) == manifest["trustees_quorum"]
            eqs = schnorr_equations(eh, proof_binding(d["index"]), d["commitments"][0], d["proof_a"], d["proof_z"])
            assert check_single(eqs) and check_batch(eqs)
            all_eqs += eqs
            assert [s["recipient"] for s in d["shares"]] == sorted(j for j in trustees if j != d["index"])
            dealings.append(d)
        elif k == "verification":
            v = p["body"]
            assert ed_verify(trustees[v["index"]]["signing_key"], p["body_bytes"], p["signature"])
            assert v["complaints"] == []
        elif k == "election-key":
            K2, S2 = election_key_from_dealings(dealings, trustees.keys())
            assert (p["key"], p["public_shares"]) == (K2, S2)
            K, S = p["key"], p["public_shares"]
        elif k == "station":
            assert ed_verify(ck, p["body_bytes"], p["signature"])
            station_key = {p["body"]["index"]: p["body"]["signing_key"]}
        elif k == "enrollment":
            req = ENROLLMENT_REQUEST.encode({"election_hash": eh, "voter_key": p["voter_key"], "code": p["code"]})
            assert ed_verify(p["voter_key"], req, p["signature"])
            assert p["commitment"] not in opened and p["voter_key"] not in enrolled
            assert code_commitment(eh, p["code"], salts[p["commitment"]]) == p["commitment"]
            opened.add(p["commitment"])
            enrolled[p["voter_key"]] = p["commitment"]
        elif k == "reissue":
            o = p["order"]
            assert ed_verify(ck, CODE_REISSUE.encode(o), p["signature"])
            new = o["commitment"]["value"]
            salts[new] = o["commitment"]["salt"]
            pseudonym_of[new] = pseudonym_of[o["replaces"]]
            opened.add(o["replaces"])     # retired: can no longer be opened
            revoked.update(p["revoked"])
        elif k == "window":
            ob = WINDOW_ORDER.encode({"election_hash": eh, "action": p["action"], "issued_at": p["issued_at"]})
            assert ed_verify(ck, ob, p["signature"])
        elif k in ("spoiled", "ballot", "supervised"):
            b = p["ballot"]
            d = districts[b["district"]]
            eqs = ballot_equations(b, d, K)
            assert check_single(eqs) and check_batch(eqs)
            all_eqs += eqs
            tc = tracking_code(BALLOT.encode(b))
            if k == "spoiled":
                assert check_opening(b, d, K, p["selections"], p["nonces"])
            elif k == "ballot":
                st = CAST_STATEMENT.encode({"election_hash": eh, "voter_key": p["voter_key"], "tracking_code": tc})
                assert ed_verify(p["voter_key"], st, p["signature"]) and p["voter_key"] not in revoked
                counted[tc] = (p["voter_key"], b)
            else:
                st = SUPERVISED_CAST.encode({"election_hash": eh, "station": p["station"], "tracking_code": tc})
                assert ed_verify(station_key[p["station"]], st, p["signature"])
                supervised.append((tc, b, p["link"]))
        elif k == "reveal":
            for it in p["items"]:
                sup = [s for s in supervised if s[0] == it["supervised"]][0]
                assert sha256(string(TAG["supersession-link"]) + it["pseudonym"] + it["blinding"]) == sup[2]
                if it["superseded"]:
                    stc = tracking_code(it["superseded"])
                    key, _ = counted[stc]
                    assert pseudonym_of[enrolled[key]] == it["pseudonym"]
                    del counted[stc]
        elif k == "aggregate":
            sums = {}
            for _, b in list(counted.values()) + [(None, s[1]) for s in supervised]:
                cur = sums.get(b["district"], [(None, None)] * len(b["ciphertexts"]))
                sums[b["district"]] = [ct_add(s, (c["alpha"], c["beta"])) for s, c in zip(cur, b["ciphertexts"])]
            n_d = {}
            for _, b in list(counted.values()) + [(None, s[1]) for s in supervised]:
                n_d[b["district"]] = n_d.get(b["district"], 0) + 1
            expect = {"districts": [{"district": d["id"], "ballots": n_d.get(d["id"], 0),
                                     "ciphertexts": [{"alpha": a, "beta": bb} for a, bb in sums.get(d["id"], [])]}
                                    for d in manifest["districts"]]}
            assert AGGREGATE.encode(expect) == e["payload"]
            aggregate = p
        elif k == "decryption":
            pd = p["body"]
            assert ed_verify(trustees[pd["index"]]["signing_key"], p["body_bytes"], p["signature"])
            Sj = S[sorted(trustees).index(pd["index"])]
            for ad, shares in zip(aggregate["districts"], pd["districts"]):
                assert len(shares) == len(ad["ciphertexts"])
                for ct, sh in zip(ad["ciphertexts"], shares):
                    eqs = decryption_equations(eh, Sj, ct["alpha"], sh["partial"], sh["proof_a"],
                                               sh["proof_b"], sh["proof_z"])
                    assert check_single(eqs) and check_batch(eqs)
                    all_eqs += eqs
            partials = {pd["index"]: pd}
        elif k == "results":
            assert ed_verify(server_pk, p["body_bytes"], p["signature"])
            Q = sorted(partials)[:manifest["trustees_quorum"]]
            rd = []
            for di, ad in enumerate(aggregate["districts"]):
                d = districts[ad["district"]]
                counts = []
                for oi, ct in enumerate(ad["ciphertexts"]):
                    M = point_sub(ct["beta"], msm([(lagrange(j, Q), partials[j]["districts"][di][oi]["partial"]) for j in Q]))
                    counts.append(discrete_log_small(M, ad["ballots"] * d["selection_limit"]))
                if not counts:
                    counts = [0] * len(d["options"])
                el, ti = winners(d["options"], counts, d["seats"]) if ad["ballots"] else ([], [])
                rd.append({"district": d["id"], "roll": roll_size.get(d["id"], 0), "ballots": ad["ballots"],
                           "counts": counts, "elected": el, "tied": ti})
            assert RESULTS.encode({"quorum": Q, "districts": rd}) == p["body_bytes"]
            results_checked = True
    assert results_checked
    # all proofs of the record in one batch (eq. 49), and a tampered batch refused
    assert check_batch(all_eqs)
    l, r = all_eqs[5]
    assert not check_batch(all_eqs[:5] + [(l, r + [(1, G)])] + all_eqs[6:])
    # checkpoints
    for size, (cb, sig, ts) in cps.items():
        c = CHECKPOINT.decode(cb)
        assert ed_verify(server_pk, cb, sig) and c["root_hash"] == mth(leaves[:size])
    X["verified"] = {"equations_checked": len(all_eqs), "single": True, "batch_eq49": True}


# =========================================================================================
# Markdown for protocol.md §9
# =========================================================================================

def wrap(h: str, indent: str = "    ", width: int = 64) -> str:
    lines = [h[i:i + width] for i in range(0, len(h), width)] or [""]
    return "\n".join(indent + ln for ln in lines)


def block(label: str, h: str) -> str:
    """label on its own line, then the hex wrapped at 64 digits, indented."""
    return f"    {label} ({len(h) // 2} bytes):\n" + wrap(h, "        ")


def kv(label: str, h: str, lw: int = 12) -> str:
    """short value: label = hex, wrapped at 64 digits with an indented continuation; a point
    is shown as 04, then x, then y, one per line; the identity as O."""
    if len(h) == 130 and h == "0" * 130:
        return f"    {label.ljust(lw)} = O (the identity; 65 zero bytes where it is written)"
    if len(h) == 130 and h.startswith("04"):
        lines = ["04", h[2:66], h[66:]]
    else:
        lines = [h[i:i + 64] for i in range(0, len(h), 64)] or [""]
    pad = " " * (4 + lw + 3)
    out = f"    {label.ljust(lw)} = {lines[0]}"
    for ln in lines[1:]:
        out += "\n" + pad + ln
    return out


def markdown(X) -> str:
    o = []
    w = o.append
    w("## 9. Worked example\n")
    w("This section runs one whole election, from entry 0 to the signed results, with fixed inputs, "
      "and gives the bytes and values an implementer can check by hand. The values were computed "
      "**from this document alone** by `scripts/protocol-reference.py`, an independent Python "
      "implementation written without reading the Swift code (`python3 scripts/protocol-reference.py "
      "--example` writes them all, as JSON, to `Tests/VotingCoreTests/Fixtures/worked-example.json`); "
      "`Tests/VotingCoreTests/ProtocolExampleTests.swift` checks the Swift code against them. The "
      "fixture has every value in full, including the complete bytes of every log entry; this section "
      "shows the inputs, the smaller objects in full and the larger ones field by field. All hex is "
      "lowercase; long values are wrapped at 64 hex digits (32 bytes) per line, and a point "
      "(§11.2) is shown as `04`, then `x`, then `y`, one per line.\n")

    w("### 9.1 Inputs\n")
    w("Notation of this section only: `seed(x)` is the 32-byte Ed25519 seed whose every byte is `x`; "
      "`fixed(label)` is the scalar `int(SHA-256(UTF-8 label)) mod n`; `bytes(label, k)` is the first "
      "`k` bytes of `SHA-256(UTF-8 label)`. Such fixed values stand in for the random draws of a real "
      "election (never do this outside an example).\n")
    w("| Input | Value |\n|---|---|")
    w("| server key | `seed(0x01)` |\n| commission key | `seed(0x02)` |\n| voter A key | `seed(0x03)` |")
    w("| trustee 1 signing key | `seed(0x04)` |\n| station 1 key | `seed(0x05)` |")
    w("| voter B, first key | `seed(0x06)` |\n| voter B, second key | `seed(0x07)` |")
    w("| election nonce | `bytes(\"example election nonce\", 32)` |")
    w("| roll secret | `000102…1f` (the 32 bytes 0x00 … 0x1f) |")
    w("| voter A | personal number `19800101-1234`, code `0K1M-Q9XD-4TBN-7RWE`, salt `bytes(\"example salt A\", 16)` |")
    w("| voter B | personal number `19851231-5678`, code `3F8H-2KPS-6VYC-9ZA1`, salt `bytes(\"example salt B\", 16)` |")
    w("| voter B, reissued | code `5G7J-1MNQ-8RST-4WXZ`, salt `bytes(\"example salt B reissued\", 16)` |")
    w("| trustee 1 | name `Trustee One`, `d_1 = fixed(\"example trustee encryption key\")`, "
      "`a_{1,0} = fixed(\"example trustee coefficient 0\")`, Schnorr `u = fixed(\"example trustee proof-nonce 0\")` |")
    w("| station 1 | name `Consulate` |")
    w("| ballot `w` ∈ {`spoiled`, `ballot`, `remote`, `supervised`} | ballot id `bytes(\"example w ballot id\", 32)`; "
      "nonce `r_o = fixed(\"example w nonce o\")` for `o` ∈ {`yes`, `no`}; 0/1 proof of option `o`: "
      "`u = fixed(\"example w o u\")`, `c_fake = fixed(\"example w o c-fake\")`, `z_fake = fixed(\"example w o z-fake\")`; "
      "selection-limit proof `u = fixed(\"example w limit u\")` |")
    w("| selections | `spoiled` [yes] (A's challenge), `ballot` [yes] (A's cast), `remote` [no] "
      "(B's remote cast, second key), `supervised` [yes] (B at station 1) |")
    w("| decryption proof nonces | `u = fixed(\"example decryption u 0\")` (option `yes`), "
      "`fixed(\"example decryption u 1\")` (option `no`) |")
    w("| supervised link | blinding `bytes(\"example blinding\", 32)`; pseudonym = B's first commitment |")
    w("| `T0` | 1767225600000 (2026-01-01T00:00:00Z) |\n")
    w("The manifest (JSON form of §4.1):\n")
    w("```json\n" + json.dumps(X["manifest_json"], ensure_ascii=False) + "\n```\n")
    w("The log: entries with the same timestamp are one transaction (one batch) with one checkpoint, "
      "for the tree size after it (§5.3).\n")
    w("| Index | Kind | Timestamp | What |\n|---|---|---|---|")
    what = ["election setup", "roll list: A's commitment, then B's", "trustee 1 appointment",
            "trustee 1 dealing (no shares: there is no other trustee)", "trustee 1 verification (no complaints)",
            "election key (same batch as 4)", "station 1 appointment", "A enrolls", "B enrolls with the first key",
            "B's code reissued (issued_at T0+8min): replaces B's first commitment, revokes the first key",
            "B enrolls with the second key and the reissued code", "open (issued_at T0+1h)",
            "A's challenged ballot `spoiled`, opened", "A casts `ballot`", "B casts `remote` (second key)",
            "B votes `supervised` at station 1", "close (issued_at T0+10h)",
            "reveal: `supervised` supersedes `remote` (same batch as 16)", "aggregate (same batch as 16)",
            "trustee 1 partial decryption", "results (same batch as 19)"]
    rel = ["T0", "T0+1min", "T0+2min", "T0+3min", "T0+4min", "T0+4min", "T0+5min", "T0+6min", "T0+7min",
           "T0+8min", "T0+9min", "T0+1h", "T0+1h1min", "T0+1h2min", "T0+1h3min", "T0+1h4min", "T0+10h",
           "T0+10h", "T0+10h", "T0+10h1min", "T0+10h1min"]
    for e in X["entries"]:
        w(f"| {e['index']} | `{e['kind']}` | {rel[e['index']]} = {e['timestamp']} | {what[e['index']]} |")
    w("\nCheckpoints therefore exist for the sizes 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, "
      "19 and 21. The expected outcome: `yes` 2, `no` 0 (B's remote ballot is superseded by the "
      "supervised one), 2 ballots counted, roll 2, elected `[yes]`.\n")

    w("### 9.2 Keys\n")
    w("Ed25519 public keys (RFC 8032) of the seeds:\n\n```")
    for name, k in X["keys"].items():
        w(kv(name, k["public"], 18))
    w("```\n")

    w("### 9.3 Manifest, election setup, election hash\n")
    w("```")
    w(block("manifest", X["manifest"]))
    w(block("election_setup", X["election_setup"]))
    w(kv("election_hash", X["election_hash"], 13) + "    (eq. 1)")
    w("```\n")
    w("The manifest starts `00000011` + `evote.v2.manifest`, then `string(\"demo-2026\")`, "
      "`string(\"Demo election\")`, the names list `00000001` `00000002` `7275` "
      "`0000001b` + the 27 UTF-8 bytes of `Пробные выборы`, one district, `00000001` `00000001` "
      "for the trustees. The setup is the tag, `bytes(manifest)`, the server key, the commission key "
      "and the nonce.\n")

    R = X["roll"]
    w("### 9.4 Roll, codes and commitments\n")
    w("Personal-number MACs (eq. 12; kept by the server, never logged):\n\n```")
    w(block("message(A)", R["voter_mac_a"]["message"]))
    w(kv("mac(A)", R["voter_mac_a"]["mac"], 9))
    w(kv("mac(B)", R["voter_mac_b"]["mac"], 9))
    w("```\n")
    w("Commitments (eq. 13): PBKDF2-HMAC-SHA-256 with `P` the normalized code, `c = 512`, "
      "`dkLen = 32` and the salt input `string(\"evote.v2.code-commitment\") || election_hash || salt`:\n")
    w("| Voter | Normalized code | Salt | Commitment |\n|---|---|---|---|")
    for who, lab in [("a", "A"), ("b", "B"), ("b_reissued", "B, reissued")]:
        c = R["commitments"][who]
        w(f"| {lab} | `{c['normalized_code']}` | `{c['salt']}` | `{c['value']}` |")
    w("\nFor A the PBKDF2 salt input is\n\n```")
    w(wrap(R["commitments"]["a"]["pbkdf2_salt"]))
    w("```\n")
    w("The roll list (entry 1's signed body) and its signature (eq. 14):\n\n```")
    w(block("roll_import", R["roll_import"]))
    w(kv("signature", R["roll_signature"], 9))
    w("```\n")

    T = X["trustee"]
    w("### 9.5 Trustee, ceremony and election key\n")
    w("```")
    w(kv("d_1", T["encryption_secret_d1"], 8))
    w(kv("P_1", T["encryption_key_P1"], 8))
    w(block("registration", T["registration"]))
    w(kv("reg. sig", T["registration_signature"], 8) + "    (eq. 16)")
    w(block("appointment", T["appointment"]))
    w(kv("appt sig", T["appointment_signature"], 8) + "    (eq. 17)")
    w("```\n")
    w("Dealing: `a_{1,0}` and its commitment (eq. 32), the Schnorr proof (eq. 30) with "
      f"`bound = proof_binding(1) = {T['proof_binding']}`:\n\n```")
    w(kv("a_{1,0}", T["coefficient_a10"], 8))
    w(kv("C_{1,0}", T["commitment_C10"], 8))
    w(kv("u", T["schnorr"]["u"], 8))
    w(kv("a", T["schnorr"]["a"], 8))
    w(block("challenge preimage", T["schnorr"]["challenge_preimage"]))
    w(kv("c", T["schnorr"]["challenge"], 8))
    w(kv("z", T["schnorr"]["z"], 8))
    w(block("dealing", T["dealing"]))
    w(kv("signature", T["dealing_signature"], 9))
    w(block("verification", T["verification"]))
    w(kv("signature", T["verification_signature"], 9))
    w("```\n")
    w("With one trustee and quorum 1, `s_1 = f_1(1) = a_{1,0}`, so `K = C_{1,0}` (eq. 39) and "
      "`S_1 = C_{1,0}` (eq. 40); `λ_1 = 1` (eq. 36, an empty product). The election key record "
      "(entry 5):\n\n```")
    w(kv("K", T["election_key_K"], 4))
    w(kv("S_1", T["public_share_S1"], 4))
    w(block("election_key_record", T["election_key_record"]))
    w("```\n")

    S = X["station"]
    w("### 9.6 Station\n\n```")
    w(block("station_appointment", S["appointment"]))
    w(kv("signature", S["signature"], 9) + "    (eq. 19)")
    w("```\n")

    E = X["enrollments"]
    w("### 9.7 Enrollments and the reissue\n")
    for who, lab in [("a", "A (entry 7)"), ("b_first", "B, first key (entry 8)"),
                     ("b_second", "B, second key and reissued code (entry 10)")]:
        w(f"Enrollment of {lab}: request (eq. 6) and the enrollment payload.\n\n```")
        w(block("enrollment_request", E[who]["request"]))
        w(kv("signature", E[who]["signature"], 9))
        w(block("enrollment", E[who]["payload"]))
        w("```\n")
    w("Reissue of B's code (entry 9; eq. 15), replacing B's first commitment and revoking B's first key:\n\n```")
    w(block("code_reissue", X["reissue"]["order"]))
    w(kv("signature", X["reissue"]["signature"], 9))
    w(block("reissue_entry", X["reissue"]["payload"]))
    w("```\n")

    w("### 9.8 Opening the window\n\n```")
    w(block("window_order", X["window_open"]["order"]))
    w(kv("signature", X["window_open"]["signature"], 9) + "    (eq. 5)")
    w(block("window_change", X["window_open"]["payload"]))
    w("```\n")

    w("### 9.9 Ballots\n")
    w("Each ballot is for district `d1` (options `yes`, `no`; selection limit 1). Its proof context is "
      "`ctx_bytes = election_hash || point(K) || u32(34) || ballot_id || \"d1\"` (§11.5). Per option: "
      "the nonce and ciphertext (eq. 20), then the 0/1 proof (eq. 24: the real branch is the plaintext, "
      "the simulated branch uses `c_fake`, `z_fake`), with its challenge `c` (eq. 23) and "
      "`c1 = c − c0`; then the selection-limit proof (eq. 28) with `R = r_yes + r_no`. The first "
      "challenge preimage of §9.9.1 is given in full; the fixture has all of them.\n")
    names = {"spoiled": "`spoiled` (A's challenged ballot, selection [yes])",
             "ballot": "`ballot` (A's cast ballot, selection [yes])",
             "remote": "`remote` (B's remote ballot, selection [no])",
             "supervised": "`supervised` (B's ballot at station 1, selection [yes])"}
    for n_, wname in enumerate(["spoiled", "ballot", "remote", "supervised"], 1):
        Bw = X["ballots"][wname]
        w(f"#### 9.9.{n_} Ballot {names[wname]}\n\n```")
        w(kv("ballot_id", Bw["ballot_id"], 10))
        for op in Bw["options"]:
            pr = op["proof"]
            w(f"  option {op['option']} (m = {op['plaintext']})")
            for key, val in [("r", op["nonce"]), ("alpha", op["alpha"]), ("beta", op["beta"]),
                             ("u", pr["u"]), ("c_fake", pr["c_fake"]), ("z_fake", pr["z_fake"]),
                             ("a0", pr["a0"]), ("b0", pr["b0"]), ("a1", pr["a1"]), ("b1", pr["b1"]),
                             ("c", pr["challenge"]), ("c0", pr["c0"]), ("c1", pr["c1"]),
                             ("z0", pr["z0"]), ("z1", pr["z1"])]:
                w(kv(key, val, 10))
            if wname == "spoiled" and op["option"] == "yes":
                w(block("challenge preimage (eq. 23)", pr["challenge_preimage"]))
        lp = Bw["limit_proof"]
        w("  selection-limit proof (L = 1)")
        for key, val in [("R", lp["R"]), ("u", lp["u"]), ("a", lp["a"]), ("b", lp["b"]),
                         ("c", lp["challenge"]), ("z", lp["z"])]:
            w(kv(key, val, 10))
        if wname == "spoiled":
            w(block("challenge preimage (eq. 27)", lp["challenge_preimage"]))
        w(f"  ballot_bytes: {len(Bw['ballot_bytes']) // 2} bytes (in the fixture)")
        w(kv("tracking", Bw["tracking_code"], 10) + "    (eq. 3)")
        w(f"    {'short code'.ljust(10)} = {Bw['short_code']}    (eq. 4)")
        w("```\n")
    w("The `spoiled` ballot's bytes in full, as an example of the layout of §4.4 (tag, election hash, "
      "ballot id, `string(\"d1\")`, `string(\"elgamal-p256-v2\")`, `u32(2)` and two ciphertexts, "
      "`u32(2)` and two 0/1 proofs, `limit_a`, `limit_b`, `limit_z`):\n\n```")
    w(wrap(X["ballots"]["spoiled"]["ballot_bytes"]))
    w("```\n")

    w("### 9.10 Challenge, casts and the supervised ballot\n")
    C = X["challenge"]
    w("A's challenge request for `spoiled` (eq. 18; sent, never logged), and the spoiled ballot's "
      "opening: selections `[yes]`, nonces `r_yes`, `r_no` of §9.9.1 (eq. 45 holds).\n\n```")
    w(block("challenge_request", C["request"]))
    w(kv("signature", C["signature"], 9))
    w("```\n")
    for key, lab in [("a", "A casts `ballot` (entry 13)"), ("b_remote", "B casts `remote` with the second key (entry 14)")]:
        w(f"{lab}: cast statement and signature (eq. 2).\n\n```")
        w(block("cast_statement", X["cast"][key]["statement"]))
        w(kv("signature", X["cast"][key]["signature"], 9))
        w("```\n")
    Su = X["supervised"]
    w("B at station 1 (entry 15): supervised cast statement and signature (eq. 47), the link (eq. 48) "
      "over B's roll pseudonym (B's first commitment) and the blinding.\n\n```")
    w(block("supervised_cast", Su["statement"]))
    w(kv("signature", Su["signature"], 9))
    w(kv("pseudonym", Su["pseudonym"], 9))
    w(kv("blinding", Su["blinding"], 9))
    w(block("link preimage", Su["link_preimage"]))
    w(kv("link", Su["link"], 9))
    w("```\n")

    w("### 9.11 Close, reveal, aggregate\n\n```")
    w(block("window_order (close)", X["window_close"]["order"]))
    w(kv("signature", X["window_close"]["signature"], 9))
    w("```\n")
    w("The reveal (entry 17) has one item: the supervised ballot's tracking code, B's pseudonym, the "
      "blinding and the `remote` ballot's `ballot_bytes` (the superseded ballot). The aggregate "
      "(entry 18, eq. 41) sums the `ballot` and `supervised` ballots (2 ballots):\n\n```")
    for c in X["aggregate"]["ciphertexts"]:
        w(kv(f"alpha_{c['option']}", c["alpha"], 9))
        w(kv(f"beta_{c['option']}", c["beta"], 9))
    w(block("aggregate", X["aggregate"]["payload"]))
    w("```\n")

    w("### 9.12 Partial decryption, combination, results\n")
    w("Trustee 1 decrypts with `s_1 = a_{1,0}` (eq. 37):\n\n```")
    for sh in X["decryption"]["shares"]:
        w(f"  option {sh['option']}")
        for key, val in [("u", sh["u"]), ("D", sh["partial_D"]), ("a", sh["a"]), ("b", sh["b"]),
                         ("c", sh["challenge"]), ("z", sh["z"])]:
            w(kv(key, val, 4))
    w(block("challenge preimage (option yes)", X["decryption"]["shares"][0]["challenge_preimage"]))
    w(kv("signature", X["decryption"]["signature"], 9))
    w("```\n")
    w("Combination with `Q = [1]`, `λ_1 = 1` (eq. 42): `M_yes = beta_yes − D_yes = 2·G`, "
      "`M_no = beta_no − D_no = O`, so the counts (eq. 43) are `yes` 2 and `no` 0, and (eq. 44, "
      "1 seat) `elected = [yes]`, `tied = []`.\n\n```")
    for c in X["combination"]["options"]:
        w(kv(f"M_{c['option']}", c["M"], 5) + f"    (count {c['count']})")
    w(block("results", X["results"]["results"]))
    w(kv("signature", X["results"]["signature"], 9))
    w("```\n")

    w("### 9.13 Log entries, roots and checkpoints\n")
    w("Each entry's bytes are the log entry of §5.1 around the payload given above, "
      "`string(\"evote.v2.log-entry\") || u64(index) || election_hash || u64(timestamp) || "
      "string(kind) || bytes(payload)` (the fixture has every entry in full); the leaf hash is "
      "eq. 7. For a signed kind the payload is the signed message of §12.3, "
      "`string(\"evote.v2.signed-message\") || bytes(body) || signature`, around the body and "
      "signature given above.\n")
    w("| Index | Kind | Entry bytes | Leaf hash |\n|---|---|---|---|")
    for e in X["entries"]:
        w(f"| {e['index']} | `{e['kind']}` | {len(e['entry']) // 2} | `{e['leaf_hash']}` |")
    w("\nEntry 0 in full:\n\n```")
    w(wrap(X["entries"][0]["entry"]))
    w("```\n")
    w("Roots (eq. 9) for every tree size, with the checkpoints (eq. 10) where a batch ends:\n")
    w("| Size | Root | Checkpoint timestamp |\n|---|---|---|")
    for n in range(1, 22):
        cp = X["checkpoints"].get(str(n))
        w(f"| {n} | `{X['roots'][str(n)]}` | {cp['timestamp'] if cp else '— (inside a batch)'} |")
    w("\nCheckpoint signatures (eq. 10, server key):\n\n```")
    for n, cp in X["checkpoints"].items():
        w(kv(f"size {n}", cp["signature"], 7))
    w("```\n")
    w("The checkpoint of size 14, in full:\n\n```")
    w(wrap(X["checkpoints"]["14"]["checkpoint"]))
    w("```\n")
    w("Proofs (RFC 9162; hashes in the order the algorithms produce them):\n\n```")
    for name, pr in X["inclusion_proofs"].items():
        w(f"  inclusion of index {pr['index']} in the tree of size {pr['tree_size']}:")
        for h in pr["proof"]:
            w("    " + h)
    for name, pr in X["consistency_proofs"].items():
        w(f"  consistency from size {pr['first']} to size {pr['second']}:")
        for h in pr["proof"]:
            w("    " + h)
    w("```\n")

    w("### 9.14 Receipts\n")
    w("Each receipt (eq. 11) cites the checkpoint of the transaction that appended its entry (§6.1): "
      "the first checkpoint whose `tree_size` exceeds the entry's index.\n")
    labels = {"enrollment_a": "A's enrollment (index 7, checkpoint 8, subject A's key)",
              "spoiled": "the challenged ballot (index 12, checkpoint 13, subject its tracking code)",
              "ballot": "A's cast ballot (index 13, checkpoint 14)",
              "supervised": "the supervised ballot (index 15, checkpoint 16)"}
    for key, rc in X["receipts"].items():
        w(f"Receipt of {labels[key]}:\n\n```")
        w(block("receipt", rc["receipt"]))
        w(kv("signature", rc["signature"], 9))
        w("  inclusion proof:")
        for h in rc["inclusion_proof"]:
            w("    " + h)
        w("```\n")
    return "\n".join(o).rstrip() + "\n"


# =========================================================================================
# self-tests
# =========================================================================================

def selftest():
    from cryptography.hazmat.primitives.asymmetric import ec
    # P-256 against OpenSSL (via `cryptography`)
    for k in [1, 2, 3, N - 1, fixed_scalar("selftest a"), fixed_scalar("selftest b")]:
        pub = ec.derive_private_key(k, ec.SECP256R1()).public_key().public_numbers()
        assert mul_g(k) == (pub.x, pub.y) == _to_affine(_jadd(_to_jac(_mul_window(k, G)), _JINF)), k
    assert mul(N, G) is None and point_add(G, point_neg(G)) is None
    assert enc_point(G).hex() == ("046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
                                  "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")
    a, b = fixed_scalar("x1"), fixed_scalar("x2")
    Pa = mul_g(a)
    shared = ec.derive_private_key(b, ec.SECP256R1()).exchange(
        ec.ECDH(), ec.EllipticCurvePublicNumbers(Pa[0], Pa[1], ec.SECP256R1()).public_key())
    assert mul(b, Pa)[0].to_bytes(32, "big") == shared
    assert msm([(a, G), (b, Pa)]) == point_add(mul_g(a), mul(b, Pa))
    # point validation (§11.2)
    for bad in [b"\x02" + bytes(64), bytes(65), enc_point(G)[:64], b"\x04" + P.to_bytes(32, "big") + bytes(32),
                b"\x04" + G[0].to_bytes(32, "big") + ((G[1] + 1) % P).to_bytes(32, "big")]:
        try:
            dec_point(bad)
            raise AssertionError("accepted a bad point")
        except DecodeError:
            pass
    assert dec_point(bytes(65), allow_identity=True) is None
    try:
        dec_scalar(N.to_bytes(32, "big"))
        raise AssertionError
    except DecodeError:
        pass
    # §15 worked example of the authorized request
    ar = AUTHORIZED_REQUEST.encode({"election_hash": bytes(32), "method": "POST", "path": "/v1/commission/window",
                                    "signer": "commission", "nonce": bytes(range(16)),
                                    "expires_at": 1767225720000, "body_hash": sha256(b"{}")})
    assert ar.hex() == ("0000001b" + b"evote.v2.authorized-request".hex() + "00" * 32 + "00000004504f5354"
                        + "000000152f76312f636f6d6d697373696f6e2f77696e646f77" + "0000000a636f6d6d697373696f6e"
                        + "000102030405060708090a0b0c0d0e0f" + "0000019b76dc7cc0"
                        + "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    # decoder rules (§2)
    m = {"election_id": "e", "name": "E", "names": {"en": "E", "ru": "Е"}, "districts": [], "trustees_count": 1,
         "trustees_quorum": 1}
    mb = MANIFEST.encode(m)
    assert MANIFEST.decode(mb) == m and MANIFEST.encode(MANIFEST.decode(mb)) == mb
    for bad in [mb + b"\x00", mb[:-1], mb.replace(b"\x00\x00\x00\x02en", b"\x00\x00\x00\x02zz")]:
        try:
            MANIFEST.decode(bad)
            raise AssertionError("accepted bad manifest bytes")
        except DecodeError:
            pass
    # eq. 44 examples of §13.4
    def opts(*ids, ne=()):
        return [{"id": i, "electable": 0 if i in ne else 1} for i in ids]
    assert winners(opts("a", "b", "c", "d"), [5, 3, 3, 1], 2) == (["a"], ["b", "c"])
    assert winners(opts("c", "b", "a"), [2, 2, 2], 1) == ([], ["a", "b", "c"])
    assert winners(opts("b", "a", "c"), [4, 4, 1], 2) == (["a", "b"], [])
    assert winners(opts("a", "b"), [0, 7], 2) == (["b", "a"], [])
    assert winners(opts("against-all", "a", "b", ne=("against-all",)), [9, 5, 3], 1) == (["a"], [])
    # Merkle proofs for every (m, n) up to 40
    lv = [leaf_hash(bytes([i])) for i in range(40)]
    for n in range(1, 41):
        root = mth(lv[:n])
        for m_ in range(n):
            pr = inclusion_path(m_, lv[:n])
            assert verify_inclusion(m_, n, lv[m_], pr, root)
            assert not verify_inclusion(m_, n, lv[m_], pr + [root], root)
        for m_ in range(1, n + 1):
            pr = consistency_proof(m_, lv[:n])
            assert verify_consistency(m_, n, mth(lv[:m_]), root, pr)
            if pr:
                assert not verify_consistency(m_, n, mth(lv[:m_]), root, pr[:-1])
    # a 2-of-3 ceremony with share encryption, Feldman, Lagrange, eqs. 39–40 and 42–43
    eh = sha256(b"selftest election")
    ks = {j: (fixed_scalar(f"st d{j}"), [fixed_scalar(f"st a{j}{t}") for t in range(2)]) for j in (1, 2, 3)}
    dealings = []
    for i, (dj, co) in ks.items():
        C = feldman_commitments(co)
        pr, _ = prove_schnorr(eh, proof_binding(i), co[0], fixed_scalar(f"st u{i}"))
        assert check_single(schnorr_equations(eh, proof_binding(i), C[0], pr["a"], pr["z"]))
        shares = [encrypt_share(eh, i, j, poly_eval(co, j), mul_g(ks[j][0]), fixed_scalar(f"st e{i}{j}"))
                  for j in (1, 2, 3) if j != i]
        dealings.append({"election_hash": eh, "index": i, "commitments": C, "proof_a": pr["a"],
                         "proof_z": pr["z"], "shares": shares})
        assert DEALING.decode(DEALING.encode(dealings[-1])) == dealings[-1]
    secret = {}
    for j, (dj, co) in ks.items():
        s = poly_eval(co, j)
        for d in dealings:
            if d["index"] != j:
                enc = [x for x in d["shares"] if x["recipient"] == j][0]
                sh = open_share(eh, d["index"], j, dj, enc)
                assert sh is not None and feldman_check(sh, j, d["commitments"])
                s = (s + sh) % N
                bad = dict(enc, mac=bytes(32))
                assert open_share(eh, d["index"], j, dj, bad) is None
        secret[j] = s
    K, Ss = election_key_from_dealings(dealings, [1, 2, 3])
    assert all(mul_g(secret[j]) == Ss[j - 1] for j in (1, 2, 3))
    x = sum(co[0] for _, co in ks.values()) % N
    assert K == mul_g(x) and sum(lagrange(j, [1, 3]) * secret[j] for j in (1, 3)) % N == x
    ct = elgamal_encrypt(K, 3, fixed_scalar("st r"))
    Q = [3, 1]
    Ds = {}
    for j in Q:
        D, pr, _ = prove_decryption(eh, secret[j], ct[0], fixed_scalar(f"st du{j}"))
        eqs = decryption_equations(eh, Ss[j - 1], ct[0], D, pr["a"], pr["b"], pr["z"])
        assert check_single(eqs) and check_batch(eqs)
        Ds[j] = D
    M = point_sub(ct[1], msm([(lagrange(j, Q), Ds[j]) for j in Q]))
    assert discrete_log_small(M, 5) == 3
    # a vanished sum: alpha = O, D = b = O, proof still verifies
    D, pr, t = prove_decryption(eh, secret[1], None, 12345)
    assert D is None and pr["b"] is None
    assert check_single(decryption_equations(eh, Ss[0], None, D, pr["a"], pr["b"], pr["z"]))
    assert discrete_log_small(None, 4) == 0
    trustee_derive(seed(4), 5, eh, "coefficient", 0)
    assert short_code(bytes(32)) == "0000-0000-0000-0000" and normalize_code("0k1m-q9xd-4tbn-7rwe ") == "0K1MQ9XD4TBN7RWE"
    print("selftest: all checks passed", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--example", action="store_true", help="print the worked example of §9 as JSON")
    g.add_argument("--markdown", action="store_true", help="print the text of §9 (Markdown)")
    g.add_argument("--selftest", action="store_true", help="run the self-tests")
    args = ap.parse_args()
    if args.selftest:
        selftest()
        return
    X = build_example()
    if args.example:
        out = {"description": (
            "Worked example of docs/protocol.md §9 (evote protocol version 2), computed from the document "
            "alone by scripts/protocol-reference.py. Hex is lowercase; integers are JSON numbers. 'entries' "
            "lists every log entry (payload = the kind's canonical object, entry = entry_bytes of §5.1, "
            "leaf_hash = eq. 7); 'roots' maps each tree size to MTH; 'checkpoints' maps each checkpointed "
            "size to its checkpoint bytes and server signature; 'receipts' holds receipt bytes (§6.1), "
            "signature (eq. 11) and the inclusion proof for the receipt checkpoint's size. "
            "Each proof lists its randomness, commitments, challenge preimage (string(tag) || fields, eq. 22) "
            "and challenge.")}
        out.update(X)
        json.dump(out, sys.stdout, indent=1, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(markdown(X))


if __name__ == "__main__":
    main()
