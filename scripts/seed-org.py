#!/usr/bin/env python3
"""Seeds an organisation into the local AWS endpoint (moto server) for `scripts/bench-org.sh`.

Creates the organisation, --accounts member accounts through Organizations CreateAccount, and in each one (through
a role assumed in it, one writer at a time) the audit role `atrest-audit`, a KMS key, and --per-account RDS
instances and EBS volumes encrypted under it. Talks only to --endpoint, which must be a loopback URL. Prints the
counts as JSON.

Usage: seed-org.py --endpoint http://127.0.0.1:PORT --accounts 30 [--per-account 2] [--region eu-central-1]
"""
import argparse
import json
import sys

import boto3

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}
    ],
}
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def client(service, endpoint, region, creds=None):
    kwargs = dict(endpoint_url=endpoint, region_name=region)
    if creds:
        kwargs.update(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )
    else:
        kwargs.update(aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto3.client(service, **kwargs)


def seed(endpoint, region, creds, n, per_account):
    iam = client("iam", endpoint, region, creds)
    iam.create_role(RoleName="atrest-audit", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_policy(RoleName="atrest-audit", PolicyName="read", PolicyDocument=json.dumps(ALLOW_ALL))
    kms = client("kms", endpoint, region, creds)
    key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=key)
    rds = client("rds", endpoint, region, creds)
    ec2 = client("ec2", endpoint, region, creds)
    for i in range(per_account):
        rds.create_db_instance(
            DBInstanceIdentifier=f"db-{n}-{i}", Engine="postgres", EngineVersion="16.3",
            DBInstanceClass="db.m5.large", MasterUsername="admin", MasterUserPassword="password-123",
            AllocatedStorage=20, StorageEncrypted=True, KmsKeyId=key,
        )
        ec2.create_volume(AvailabilityZone=f"{region}a", Size=1, Encrypted=True, KmsKeyId=key)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--accounts", type=int, required=True)
    p.add_argument("--per-account", type=int, default=2)
    p.add_argument("--region", default="eu-central-1")
    a = p.parse_args()
    if not a.endpoint.startswith("http://127.0.0.1:"):
        sys.exit(f"--endpoint {a.endpoint} is not a loopback URL")
    orgs = client("organizations", a.endpoint, a.region)
    orgs.create_organization(FeatureSet="ALL")
    sts = client("sts", a.endpoint, a.region)
    seed(a.endpoint, a.region, None, "management", a.per_account)
    for n in range(a.accounts):
        status = orgs.create_account(AccountName=f"member-{n:03}", Email=f"member-{n:03}@example.com")
        account = status["CreateAccountStatus"]["AccountId"]
        creds = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="seed"
        )["Credentials"]
        seed(a.endpoint, a.region, creds, n, a.per_account)
    accounts = a.accounts + 1
    print(json.dumps({
        "accounts": accounts,
        "rds_instances": accounts * a.per_account,
        "ebs_volumes": accounts * a.per_account,
        "kms_keys": accounts,
    }))


if __name__ == "__main__":
    main()
