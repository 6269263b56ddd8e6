#!/usr/bin/env python3
"""Writes the frozen cell test vectors in this folder from docs/format.md alone, with pyca/cryptography.

It shares no code with the Rust implementation, and is run once by hand (python3 generate.py); the tests only read
the JSON files it wrote, so the implementation can never regenerate its own expectations. Keys and nonces are fixed so
that the output is reproducible.
"""
import base64
import hashlib
import hmac
import json
import pathlib
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = pathlib.Path(__file__).parent


def hkdf_sha256(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, block, i = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([i]), hashlib.sha256).digest()
        out += block
        i += 1
    return out[:length]


def encode_map(pairs: dict) -> bytes:
    out = struct.pack(">H", len(pairs))
    for k in sorted(pairs, key=lambda s: s.encode()):
        kb, vb = k.encode(), pairs[k].encode()
        out += struct.pack(">H", len(kb)) + kb + struct.pack(">H", len(vb)) + vb
    return out


def context(table, column, row=None, extra=None):
    pairs = dict(extra or {})
    pairs["atrest:table"] = table
    pairs["atrest:column"] = column
    if row is not None:
        pairs["atrest:row"] = row
    return pairs


def scope_of(ctx: dict) -> dict:
    return {k: v for k, v in ctx.items() if k != "atrest:row"}


ROOT = bytes(range(32))
KEY_ID = bytes.fromhex("00112233445566778899aabbccddeeff")
WRAP_KEY = hkdf_sha256(b"atrest-keyfile-v1", ROOT, b"wrap", 32)


def wrap(data_key: bytes, scope: dict, nonce: bytes) -> bytes:
    aad = b"atrest-keyfile-v1" + KEY_ID + encode_map(scope)
    return KEY_ID + nonce + AESGCM(WRAP_KEY).encrypt(nonce, data_key, aad)


def derive(data_key: bytes):
    cell_key = hkdf_sha256(b"atrest-cell-v1", data_key, b"\x01DERIVEKEY", 32)
    commitment = hkdf_sha256(b"atrest-cell-v1", data_key, b"\x01COMMITKEY", 32)
    return cell_key, commitment


def self_contained(data_key, wrapped, ctx, nonce, plaintext):
    cell_key, commitment = derive(data_key)
    header = bytes([1, 1, 1, 1]) + struct.pack(">H", len(wrapped)) + wrapped + commitment
    body = AESGCM(cell_key).encrypt(nonce, plaintext, header + encode_map(ctx))
    return header + nonce + body


def compact(data_key, ctx, nonce, plaintext):
    cell_key, commitment = derive(data_key)
    header = bytes([1, 1, 2]) + commitment[:16]
    body = AESGCM(cell_key).encrypt(nonce, plaintext, header + encode_map(ctx))
    return header + nonce + body


def keyring(entries):
    return {
        "format": "atrest-keyring",
        "version": 1,
        "keys": [
            {
                "ref": derive(dk)[1][:16].hex(),
                "suite": 1,
                "provider": "keyfile",
                "wrapped": base64.b64encode(w).decode(),
                "commitment": derive(dk)[1].hex(),
                "scope": scope,
                "created": 1767225600,
            }
            for dk, w, scope in entries
        ],
        "index_keys": [],
    }


def write(name, description, ctx, ciphertext, plaintext=None, ring=None):
    vector = {
        "description": description,
        "key_file": {"id": KEY_ID.hex(), "key": ROOT.hex()},
        "context": ctx,
        "ciphertext": ciphertext.hex(),
        "result": "ok" if plaintext is not None else "fail",
    }
    if plaintext is not None:
        vector["plaintext"] = plaintext.hex()
    if ring is not None:
        vector["keyring"] = ring
    (HERE / f"{name}.json").write_text(json.dumps(vector, indent=2, ensure_ascii=False) + "\n")


DK1 = bytes([0xA5] * 32)
DK2 = bytes(range(100, 132))
N1, N2, N3 = bytes(range(12)), bytes([0xEE] * 12), bytes(range(200, 212))
W1 = bytes([0x11] * 12)

ssn1 = context("users", "ssn", "1")
wrapped_ssn = wrap(DK1, scope_of(ssn1), W1)

write("self-contained-keyfile-empty-plaintext", "self-contained form, key file, empty plaintext",
      ssn1, self_contained(DK1, wrapped_ssn, ssn1, N1, b""), b"")
write("self-contained-keyfile-ssn-with-row", "self-contained form, key file, 11-byte value bound to row 1",
      ssn1, self_contained(DK1, wrapped_ssn, ssn1, N2, b"078-05-1120"), b"078-05-1120")
tenant = context("orders", "card", "A-7", {"tenant": "acme", "zone": "eu"})
write("self-contained-keyfile-free-context-values", "self-contained form, free context values sort among the reserved keys",
      tenant, self_contained(DK2, wrap(DK2, scope_of(tenant), W1), tenant, N3, "Zoë ✓".encode()), "Zoë ✓".encode())
ring = keyring([(DK1, wrapped_ssn, scope_of(ssn1))])
write("compact-keyfile-ssn-with-row", "compact form (47 bytes of overhead), key reference into a keyring",
      ssn1, compact(DK1, ssn1, N1, b"078-05-1120"), b"078-05-1120", ring)
no_row = context("users", "ssn")
write("compact-keyfile-no-row", "compact form, context without a row",
      no_row, compact(DK1, no_row, N2, b"x" * 64), b"x" * 64, ring)
empty_row = context("users", "ssn", "")
write("compact-keyfile-empty-row-is-not-no-row", "an empty row differs from no row: sealed with no row, opened with an empty one",
      empty_row, compact(DK1, no_row, N2, b"x"), None, ring)

write("self-contained-keyfile-other-row-rejected", "sealed for row 1, opened for row 2",
      context("users", "ssn", "2"), self_contained(DK1, wrapped_ssn, ssn1, N2, b"078-05-1120"))
write("self-contained-keyfile-other-column-rejected", "sealed for column ssn, opened for column phone (the key unwraps under ssn only)",
      context("users", "phone", "1"), self_contained(DK1, wrapped_ssn, ssn1, N2, b"078-05-1120"))
good = compact(DK1, ssn1, N1, b"078-05-1120")
write("compact-keyfile-unknown-version-rejected", "version byte 0x02 is unknown", ssn1, b"\x02" + good[1:], None, ring)
write("compact-keyfile-unknown-suite-rejected", "suite byte 0x02 is unknown", ssn1, good[:1] + b"\x02" + good[2:], None, ring)
write("compact-keyfile-trailing-byte-rejected", "one byte after the tag", ssn1, good + b"\x00", None, ring)
write("compact-keyfile-short-tag-rejected", "the tag is cut to 15 bytes", ssn1, good[:-1], None, ring)

# The header names DK2's commitment, but the wrapped key is DK1's: unwrapping works, the commitment check must not.
_, c2 = derive(DK2)
cell_key1, _ = derive(DK1)
header = bytes([1, 1, 1, 1]) + struct.pack(">H", len(wrapped_ssn)) + wrapped_ssn + c2
forged = header + N1 + AESGCM(cell_key1).encrypt(N1, b"forged", header + encode_map(ssn1))
write("self-contained-keyfile-commitment-mismatch-rejected",
      "a valid cell under the unwrapped key, but the header commits to another data key", ssn1, forged)

# The data key is wrapped under another scope than the cell's: the key file's associated data must refuse it.
wrong_scope = wrap(DK1, scope_of(context("users", "phone")), W1)
write("self-contained-keyfile-wrapped-for-another-scope-rejected",
      "the cell is consistent, but its data key was wrapped for column phone",
      ssn1, self_contained(DK1, wrong_scope, ssn1, N1, b"078-05-1120"))
print("wrote", len(list(HERE.glob("*.json"))), "vectors")
