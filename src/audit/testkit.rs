//! Small hand-built inventories for the unit tests of checks and classification.

use crate::audit::checks::Verdict;
use crate::audit::inventory::*;

pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "eu-west-1";

pub fn inventory() -> Inventory {
    Inventory {
        account: Some(ACCOUNT.into()),
        regions: vec![REGION.into()],
        ..Inventory::default()
    }
}

pub fn key_arn(id: &str) -> String {
    format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{id}")
}

/// An enabled, customer managed, symmetric key in the standard key store with the default policy.
pub fn key(id: &str) -> KmsKey {
    KmsKey {
        arn: key_arn(id),
        key_id: id.into(),
        region: REGION.into(),
        aliases: vec![format!("alias/{id}")],
        key_manager: Some("CUSTOMER".into()),
        origin: Some("AWS_KMS".into()),
        key_spec: Some("SYMMETRIC_DEFAULT".into()),
        key_usage: Some("ENCRYPT_DECRYPT".into()),
        key_state: Some("Enabled".into()),
        rotation_enabled: Some(true),
        policy: Some(root_policy()),
        ..KmsKey::default()
    }
}

pub fn root_policy() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Enable IAM User Permissions","Effect":"Allow",
        "Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#
    )
}

/// A policy of the given statements (JSON objects).
pub fn policy(statements: &[&str]) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

pub fn rds_instance(id: &str, key: Option<&str>) -> RdsInstance {
    RdsInstance {
        arn: format!("arn:aws:rds:{REGION}:{ACCOUNT}:db:{id}"),
        id: id.into(),
        region: REGION.into(),
        engine: "postgres".into(),
        engine_version: Some("16.3".into()),
        storage_encrypted: key.is_some(),
        kms_key_id: key.map(str::to_string),
        ..RdsInstance::default()
    }
}

pub fn rds_cluster(id: &str, key: Option<&str>) -> RdsCluster {
    RdsCluster {
        arn: format!("arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{id}"),
        id: id.into(),
        region: REGION.into(),
        engine: "aurora-postgresql".into(),
        engine_version: Some("15.4".into()),
        storage_encrypted: key.is_some(),
        kms_key_id: key.map(str::to_string),
        ..RdsCluster::default()
    }
}

pub fn rds_snapshot(id: &str, key: Option<&str>, sharing: Sharing) -> RdsSnapshot {
    RdsSnapshot {
        arn: format!("arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:{id}"),
        id: id.into(),
        region: REGION.into(),
        source: Some("db1".into()),
        snapshot_type: Some("manual".into()),
        encrypted: key.is_some(),
        kms_key_id: key.map(str::to_string),
        sharing,
    }
}

pub fn rds_cluster_snapshot(id: &str, key: Option<&str>, sharing: Sharing) -> RdsSnapshot {
    RdsSnapshot {
        arn: format!("arn:aws:rds:{REGION}:{ACCOUNT}:cluster-snapshot:{id}"),
        ..rds_snapshot(id, key, sharing)
    }
}

pub fn volume(id: &str, key: Option<&str>, attached_to: &[&str]) -> EbsVolume {
    EbsVolume {
        arn: format!("arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{id}"),
        id: id.into(),
        region: REGION.into(),
        encrypted: key.is_some(),
        kms_key_id: key.map(str::to_string),
        attached_to: attached_to.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn ebs_snapshot(id: &str, key: Option<&str>, sharing: Sharing) -> EbsSnapshot {
    EbsSnapshot {
        arn: format!("arn:aws:ec2:{REGION}::snapshot/{id}"),
        id: id.into(),
        region: REGION.into(),
        volume_id: Some("vol-1".into()),
        encrypted: key.is_some(),
        kms_key_id: key.map(str::to_string),
        sharing,
    }
}

pub fn private() -> Sharing {
    Sharing {
        known: true,
        public: false,
        accounts: vec![],
    }
}

pub fn public() -> Sharing {
    Sharing {
        known: true,
        public: true,
        accounts: vec![],
    }
}

pub fn shared_with(accounts: &[&str]) -> Sharing {
    Sharing {
        known: true,
        public: false,
        accounts: accounts.iter().map(|s| s.to_string()).collect(),
    }
}

pub fn host(id: &str, tags: &[(&str, &str)], volumes: &[&str]) -> DbHost {
    DbHost {
        arn: format!("arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{id}"),
        id: id.into(),
        region: REGION.into(),
        state: Some("running".into()),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        volume_ids: volumes.iter().map(|s| s.to_string()).collect(),
    }
}

/// The single result of a check that judged exactly one resource.
pub fn only(results: Vec<Verdict>) -> Verdict {
    assert_eq!(results.len(), 1, "expected one result, got {results:#?}");
    results.into_iter().next().unwrap()
}
