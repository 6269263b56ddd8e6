"""Encrypts or decrypts one message with the Python AWS Encryption SDK and a raw AES wrapping key.

Usage: python_esdk.py encrypt|decrypt KEY_HEX NAMESPACE KEY_NAME CONTEXT_JSON SUITE_HEX IN OUT
decrypt checks that the message's stored context holds CONTEXT_JSON and writes the plaintext.
"""
import json
import sys

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import (
    Algorithm,
    CommitmentPolicy,
    EncryptionKeyType,
    WrappingAlgorithm,
)
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKey

WRAPPING = {
    16: WrappingAlgorithm.AES_128_GCM_IV12_TAG16_NO_PADDING,
    24: WrappingAlgorithm.AES_192_GCM_IV12_TAG16_NO_PADDING,
    32: WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
}


def main():
    mode, key_hex, namespace, name, context_json, suite_hex, src, dst = sys.argv[1:]
    key = bytes.fromhex(key_hex)
    master_key = RawMasterKey(
        provider_id=namespace,
        key_id=name.encode(),
        wrapping_key=WrappingKey(
            wrapping_algorithm=WRAPPING[len(key)],
            wrapping_key=key,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        ),
    )
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    context = json.loads(context_json)
    data = open(src, "rb").read()
    if mode == "encrypt":
        suite = Algorithm.get_by_id(int(suite_hex, 16))
        out, _ = client.encrypt(
            source=data,
            key_provider=master_key,
            encryption_context=context,
            algorithm=suite,
            frame_length=4096,
        )
    else:
        out, header = client.decrypt(source=data, key_provider=master_key)
        for k, v in context.items():
            if header.encryption_context.get(k) != v:
                sys.exit(f"context mismatch for {k}")
        print(f"{header.algorithm.algorithm_id:04x}")
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main()
