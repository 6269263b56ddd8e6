"""Encrypts or decrypts one message with the Python AWS Encryption SDK and its strict AWS KMS master key provider.

Usage: python_esdk_kms.py encrypt|decrypt ENDPOINT KEY_ARN CONTEXT_JSON SUITE_HEX IN OUT
The KMS client is a boto3 client of the key's region with `endpoint_url=ENDPOINT`, which must be a loopback URL.
decrypt checks that the message's stored context holds CONTEXT_JSON, prints the suite and writes the plaintext.
"""
import json
import sys

import boto3
import aws_encryption_sdk
from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy
from aws_encryption_sdk.key_providers.kms import (
    KMSMasterKey,
    KMSMasterKeyConfig,
    StrictAwsKmsMasterKeyProvider,
)


class LocalStrictProvider(StrictAwsKmsMasterKeyProvider):
    """The strict provider, its KMS clients pointed at the local endpoint."""

    endpoint = None

    def _new_master_key_impl(self, key_id):
        key_id = key_id.decode() if isinstance(key_id, bytes) else key_id
        region = key_id.split(":")[3]
        client = boto3.client("kms", region_name=region, endpoint_url=self.endpoint)
        return KMSMasterKey(
            config=KMSMasterKeyConfig(key_id=key_id, client=client, grant_tokens=self.config.grant_tokens)
        )


def main():
    mode, endpoint, key_arn, context_json, suite_hex, src, dst = sys.argv[1:]
    if not endpoint.startswith("http://127.0.0.1:"):
        sys.exit(f"{endpoint} is not a loopback URL")
    LocalStrictProvider.endpoint = endpoint
    provider = LocalStrictProvider(key_ids=[key_arn])
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    context = json.loads(context_json)
    data = open(src, "rb").read()
    if mode == "encrypt":
        out, _ = client.encrypt(
            source=data,
            key_provider=provider,
            encryption_context=context,
            algorithm=Algorithm.get_by_id(int(suite_hex, 16)),
            frame_length=4096,
        )
    else:
        out, header = client.decrypt(source=data, key_provider=provider)
        for k, v in context.items():
            if header.encryption_context.get(k) != v:
                sys.exit(f"context mismatch for {k}")
        print(f"{header.algorithm.algorithm_id:04x}")
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main()
