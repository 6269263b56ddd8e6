#!/usr/bin/env python3
"""Seeds a synthetic account into the local AWS endpoint (moto server) for `scripts/perf-audit.sh`.

Spreads about --total resources (as `atrest audit` counts them: KMS keys, RDS instances, clusters and their
snapshots, EBS volumes and snapshots, EC2 database hosts) over --regions: half encrypted, some public snapshots,
some keys without rotation. Talks only to --endpoint, which must be a loopback URL.

Usage: seed-account.py --endpoint http://127.0.0.1:PORT --regions us-west-2,eu-west-1 --total 1000
"""
import argparse
import json
import sys

import boto3

# Per-region shares of the total, as fractions; RDS instances and clusters also get one automated snapshot each
# from the endpoint, which counts as a resource.
SHARES = {
    "kms_keys": 0.03,
    "rds_instances": 0.18,  # + 0.18 automated snapshots
    "rds_clusters": 0.03,  # + 0.03 automated cluster snapshots
    "rds_snapshots": 0.06,
    "ebs_volumes": 0.30,
    "ebs_snapshots": 0.18,
    "db_hosts": 0.015,  # + one root volume each
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--regions", required=True)
    p.add_argument("--total", type=int, default=1000)
    p.add_argument(
        "--aws-managed-keys",
        action="store_true",
        help="also create the AWS managed keys aws/rds and aws/ebs in each region, used by no resource",
    )
    a = p.parse_args()
    if not a.endpoint.startswith("http://127.0.0.1:"):
        sys.exit(f"--endpoint {a.endpoint} is not a loopback URL")
    regions = [r for r in a.regions.split(",") if r]
    per_region = a.total / len(regions)
    counts = {}
    for region in regions:
        n = {k: max(1, round(v * per_region)) for k, v in SHARES.items()}
        seed_region(a.endpoint, region, n, counts)
        if a.aws_managed_keys:
            aws_managed_keys(a.endpoint, region, counts)
    counts["total"] = sum(counts.values())
    print(json.dumps(counts, sort_keys=True))


def client(service, endpoint, region):
    return boto3.client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def bump(counts, key, by=1):
    counts[key] = counts.get(key, 0) + by


def seed_region(endpoint, region, n, counts):
    kms = client("kms", endpoint, region)
    rds = client("rds", endpoint, region)
    ec2 = client("ec2", endpoint, region)

    keys = []
    for i in range(n["kms_keys"]):
        arn = kms.create_key(Description=f"perf key {i}")["KeyMetadata"]["Arn"]
        if i % 2 == 0:
            kms.enable_key_rotation(KeyId=arn)
        keys.append(arn)
        bump(counts, "kms_keys")

    for i in range(n["rds_instances"]):
        kw = dict(
            DBInstanceIdentifier=f"perf-db-{i}",
            Engine="postgres",
            EngineVersion="16.3",
            DBInstanceClass="db.t3.micro",
            MasterUsername="admin",
            MasterUserPassword="password-123",
            AllocatedStorage=20,
        )
        if i % 2 == 0:
            kw.update(StorageEncrypted=True, KmsKeyId=keys[i % len(keys)])
        rds.create_db_instance(**kw)
        bump(counts, "rds_instances")
        bump(counts, "rds_snapshots_automated")

    for i in range(n["rds_clusters"]):
        kw = dict(
            DBClusterIdentifier=f"perf-cluster-{i}",
            Engine="aurora-postgresql",
            EngineVersion="15.4",
            MasterUsername="admin",
            MasterUserPassword="password-123",
        )
        if i % 2 == 0:
            kw.update(StorageEncrypted=True, KmsKeyId=keys[i % len(keys)])
        rds.create_db_cluster(**kw)
        bump(counts, "rds_clusters")
        bump(counts, "rds_cluster_snapshots_automated")

    for i in range(n["rds_snapshots"]):
        sid = f"perf-snap-{i}"
        rds.create_db_snapshot(DBSnapshotIdentifier=sid, DBInstanceIdentifier=f"perf-db-{i % n['rds_instances']}")
        if i % 10 == 1:
            rds.modify_db_snapshot_attribute(DBSnapshotIdentifier=sid, AttributeName="restore", ValuesToAdd=["all"])
        bump(counts, "rds_snapshots")

    volumes = []
    for i in range(n["ebs_volumes"]):
        kw = dict(AvailabilityZone=f"{region}a", Size=1)
        if i % 2 == 0:
            kw.update(Encrypted=True, KmsKeyId=keys[i % len(keys)])
        volumes.append(ec2.create_volume(**kw)["VolumeId"])
        bump(counts, "ebs_volumes")

    for i in range(n["ebs_snapshots"]):
        sid = ec2.create_snapshot(VolumeId=volumes[i % len(volumes)])["SnapshotId"]
        if i % 10 == 1:
            ec2.modify_snapshot_attribute(
                SnapshotId=sid, Attribute="createVolumePermission", OperationType="add", GroupNames=["all"]
            )
        bump(counts, "ebs_snapshots")

    for i in range(n["db_hosts"]):
        tags = [{"Key": "atrest:database", "Value": "postgres"}]
        if i % 3 == 1:
            tags.append({"Key": "atrest:encryption", "Value": "luks"})
        ec2.run_instances(
            ImageId="ami-12345678",
            MinCount=1,
            MaxCount=1,
            InstanceType="t3.micro",
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
        bump(counts, "db_hosts")
        bump(counts, "ebs_volumes")

    if region.startswith("eu-"):
        ec2.enable_ebs_encryption_by_default()


def aws_managed_keys(endpoint, region, counts):
    # The endpoint creates an AWS managed key the first time its reserved alias is described, as AWS does when a
    # service first uses it; every account that ever used RDS or EBS encryption by default has these.
    kms = client("kms", endpoint, region)
    for alias in ("alias/aws/rds", "alias/aws/ebs"):
        kms.describe_key(KeyId=alias)
        bump(counts, "kms_keys_aws_managed")


if __name__ == "__main__":
    main()
