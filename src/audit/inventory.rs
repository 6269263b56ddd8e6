//! What the collectors saw in an account, as plain serde data (no AWS SDK types), so that it can be saved with
//! `--inventory-out`, audited later with `--inventory-in`, and built by hand in tests.
//!
//! Enumerations the SDK reports (key state, origin, key manager...) are kept as the strings AWS sends, so that an
//! inventory never loses a value a newer AWS API adds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Bumped when a field changes meaning or a required field is added; readers refuse other versions.
pub const INVENTORY_SCHEMA_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    pub schema_version: u32,
    /// The audited account id (from STS GetCallerIdentity), if it could be read.
    #[serde(default)]
    pub account: Option<String>,
    /// The account's name: its AWS Organizations name when the account list came from the organisation, else its
    /// IAM account alias (IAM ListAccountAliases), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// Who read the account (STS GetCallerIdentity ARN), if it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_arn: Option<String>,
    /// `aws`, `aws-cn`, `aws-us-gov`...
    #[serde(default = "default_partition")]
    pub partition: String,
    /// The regions the collectors were asked to read, sorted.
    #[serde(default)]
    pub regions: Vec<String>,
    /// When collection started and finished (RFC 3339, UTC).
    #[serde(default)]
    pub started: String,
    #[serde(default)]
    pub finished: String,
    #[serde(default)]
    pub rds_instances: Vec<RdsInstance>,
    #[serde(default)]
    pub rds_clusters: Vec<RdsCluster>,
    #[serde(default)]
    pub rds_snapshots: Vec<RdsSnapshot>,
    #[serde(default)]
    pub rds_cluster_snapshots: Vec<RdsSnapshot>,
    #[serde(default)]
    pub rds_option_groups: Vec<RdsOptionGroup>,
    #[serde(default)]
    pub ebs_volumes: Vec<EbsVolume>,
    #[serde(default)]
    pub ebs_snapshots: Vec<EbsSnapshot>,
    /// One entry per region whose EBS account settings were read.
    #[serde(default)]
    pub ebs_region_settings: Vec<EbsRegionSettings>,
    #[serde(default)]
    pub db_hosts: Vec<DbHost>,
    #[serde(default)]
    pub kms_keys: Vec<KmsKey>,
    /// The account's IAM users, groups, roles and managed policies (IAM GetAccountAuthorizationDetails). `None`: not
    /// collected (the call failed, or the inventory was saved by a version that did not read IAM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<IamDetails>,
    /// The account's organisation and the SCPs and RCPs that apply to it. `None`: not collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<OrgDetails>,
    /// Every API call that failed; the inventory is partial where these say so.
    #[serde(default)]
    pub errors: Vec<CollectError>,
}

fn default_partition() -> String {
    "aws".to_string()
}

impl Default for Inventory {
    fn default() -> Self {
        Inventory {
            schema_version: INVENTORY_SCHEMA_VERSION,
            account: None,
            account_name: None,
            caller_arn: None,
            partition: default_partition(),
            regions: Vec::new(),
            started: String::new(),
            finished: String::new(),
            rds_instances: Vec::new(),
            rds_clusters: Vec::new(),
            rds_snapshots: Vec::new(),
            rds_cluster_snapshots: Vec::new(),
            rds_option_groups: Vec::new(),
            ebs_volumes: Vec::new(),
            ebs_snapshots: Vec::new(),
            ebs_region_settings: Vec::new(),
            db_hosts: Vec::new(),
            kms_keys: Vec::new(),
            iam: None,
            organization: None,
            errors: Vec::new(),
        }
    }
}

/// An RDS DB instance (DescribeDBInstances).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdsInstance {
    pub arn: String,
    pub id: String,
    pub region: String,
    pub engine: String,
    #[serde(default)]
    pub engine_version: Option<String>,
    pub storage_encrypted: bool,
    /// `none`, `sse-rds` (AWS owned key) or `sse-kms`, when RDS reports it.
    #[serde(default)]
    pub storage_encryption_type: Option<String>,
    /// The key as RDS reported it (an ARN on AWS; any form on some emulators). Only meaningful when encrypted.
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Set for members of an Aurora or Multi-AZ DB cluster, whose storage belongs to the cluster.
    #[serde(default)]
    pub cluster_id: Option<String>,
    #[serde(default)]
    pub option_groups: Vec<String>,
}

/// An Aurora or Multi-AZ DB cluster (DescribeDBClusters).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdsCluster {
    pub arn: String,
    pub id: String,
    pub region: String,
    pub engine: String,
    #[serde(default)]
    pub engine_version: Option<String>,
    pub storage_encrypted: bool,
    #[serde(default)]
    pub storage_encryption_type: Option<String>,
    #[serde(default)]
    pub kms_key_id: Option<String>,
}

/// A DB snapshot or DB cluster snapshot owned by the account.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdsSnapshot {
    pub arn: String,
    pub id: String,
    pub region: String,
    /// The instance or cluster it was taken from.
    #[serde(default)]
    pub source: Option<String>,
    /// `manual`, `automated`, `awsbackup`...
    #[serde(default)]
    pub snapshot_type: Option<String>,
    pub encrypted: bool,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub sharing: Sharing,
}

/// Who else may restore or create a volume from a snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sharing {
    /// Whether the sharing attributes were read (they are not read for automated snapshots, which cannot be shared).
    #[serde(default)]
    pub known: bool,
    /// Shared with everyone (`restore=all`, `createVolumePermission` group `all`).
    #[serde(default)]
    pub public: bool,
    /// Other accounts it is shared with.
    #[serde(default)]
    pub accounts: Vec<String>,
}

/// An RDS option group referenced by an instance, with the names of its options.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdsOptionGroup {
    pub name: String,
    pub region: String,
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EbsVolume {
    pub arn: String,
    pub id: String,
    pub region: String,
    pub encrypted: bool,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    /// Instance ids it is attached to.
    #[serde(default)]
    pub attached_to: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EbsSnapshot {
    pub arn: String,
    pub id: String,
    pub region: String,
    #[serde(default)]
    pub volume_id: Option<String>,
    pub encrypted: bool,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub sharing: Sharing,
}

/// The per-region EBS account settings. A `None` field could not be read (see the inventory's errors).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EbsRegionSettings {
    pub region: String,
    #[serde(default)]
    pub encryption_by_default: Option<bool>,
    #[serde(default)]
    pub default_kms_key_id: Option<String>,
}

/// An EC2 instance tagged as a database host (`--db-tag`). Its tags declare what the API cannot see inside the
/// operating system (LUKS, TDE and where the TDE keys live).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DbHost {
    pub arn: String,
    pub id: String,
    pub region: String,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// EBS volumes in its block device mappings.
    #[serde(default)]
    pub volume_ids: Vec<String>,
}

/// A KMS key: the account's own (ListKeys) and any other key a resource refers to.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KmsKey {
    pub arn: String,
    pub key_id: String,
    pub region: String,
    /// Alias names (`alias/...`) that point at this key.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// `AWS` or `CUSTOMER`.
    #[serde(default)]
    pub key_manager: Option<String>,
    /// `AWS_KMS`, `EXTERNAL`, `AWS_CLOUDHSM` or `EXTERNAL_KEY_STORE`.
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub custom_key_store_id: Option<String>,
    /// `SYMMETRIC_DEFAULT`, `RSA_2048`, `HMAC_256`...
    #[serde(default)]
    pub key_spec: Option<String>,
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY`, `GENERATE_VERIFY_MAC`...
    #[serde(default)]
    pub key_usage: Option<String>,
    /// `Enabled`, `Disabled`, `PendingDeletion`, `PendingImport`, `Unavailable`...
    #[serde(default)]
    pub key_state: Option<String>,
    #[serde(default)]
    pub deletion_date: Option<String>,
    #[serde(default)]
    pub multi_region: Option<bool>,
    /// `None` when not read (not applicable to the key, or the call failed).
    #[serde(default)]
    pub rotation_enabled: Option<bool>,
    /// The `default` key policy document, when it could be read.
    #[serde(default)]
    pub policy: Option<String>,
    /// The key's grants (KMS ListGrants). `None`: not collected (the call failed, the key belongs to another
    /// account, or the inventory was saved by a version that did not read grants); never the same as no grants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<KmsGrant>>,
}

/// One grant on a KMS key: it allows its operations to its grantee (a grant never denies).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KmsGrant {
    pub grant_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub grantee_principal: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    /// The account that created the grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuing_account: Option<String>,
    /// `Decrypt`, `GenerateDataKey`, `CreateGrant`... as KMS names them.
    pub operations: Vec<String>,
    /// `EncryptionContextEquals`: the operation's context must be exactly this.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub encryption_context_equals: BTreeMap<String, String>,
    /// `EncryptionContextSubset`: the operation's context must include this.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub encryption_context_subset: BTreeMap<String, String>,
}

/// What IAM GetAccountAuthorizationDetails returned: the account's users, groups and roles with their policies, and
/// the managed policies they refer to. Policy documents are JSON (IAM's URL encoding is undone by the collector).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamDetails {
    #[serde(default)]
    pub users: Vec<IamPrincipal>,
    #[serde(default)]
    pub roles: Vec<IamPrincipal>,
    #[serde(default)]
    pub groups: Vec<IamGroup>,
    /// Managed policies (customer and AWS managed) with their default version's document.
    #[serde(default)]
    pub policies: Vec<IamManagedPolicy>,
}

/// An IAM user or role.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamPrincipal {
    pub arn: String,
    pub name: String,
    #[serde(default)]
    pub inline_policies: Vec<IamInlinePolicy>,
    /// ARNs of the attached managed policies.
    #[serde(default)]
    pub attached_policies: Vec<String>,
    /// Names of the groups a user belongs to (always empty for roles).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// ARN of the managed policy set as permissions boundary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions_boundary: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamGroup {
    pub arn: String,
    pub name: String,
    #[serde(default)]
    pub inline_policies: Vec<IamInlinePolicy>,
    #[serde(default)]
    pub attached_policies: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamInlinePolicy {
    pub name: String,
    pub document: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IamManagedPolicy {
    pub arn: String,
    pub name: String,
    /// The default version's document; `None` when IAM did not return it.
    #[serde(default)]
    pub document: Option<String>,
}

/// The account's place in AWS Organizations. `id` is `None` when the account belongs to no organisation, so no SCP
/// or RCP applies.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgDetails {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub management_account: Option<String>,
    /// The targets from the root down to the account (`r-...`, `ou-...`, the account id), when they could be read.
    #[serde(default)]
    pub path: Option<Vec<String>>,
    /// The SCPs attached at each level of `path`, root first. `None`: not read (a member account usually cannot).
    #[serde(default)]
    pub scps: Option<Vec<Vec<OrgPolicy>>>,
    /// The RCPs attached at each level of `path`, root first. `None`: not read.
    #[serde(default)]
    pub rcps: Option<Vec<Vec<OrgPolicy>>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgPolicy {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub document: String,
}

/// Which kind of key store holds a key's material.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyStore {
    /// The standard multi-tenant KMS key store (origin `AWS_KMS` or imported `EXTERNAL` material).
    Standard,
    /// A custom key store backed by an AWS CloudHSM cluster (origin `AWS_CLOUDHSM`).
    Cloudhsm,
    /// An external key store, XKS (origin `EXTERNAL_KEY_STORE`).
    External,
    /// The origin was not reported.
    Unknown,
}

impl KeyStore {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStore::Standard => "standard",
            KeyStore::Cloudhsm => "cloudhsm",
            KeyStore::External => "external",
            KeyStore::Unknown => "unknown",
        }
    }

    pub fn is_custom(self) -> bool {
        matches!(self, KeyStore::Cloudhsm | KeyStore::External)
    }
}

impl KmsKey {
    /// AWS managed (`KeyManager=AWS`), or carrying a reserved `alias/aws/...` alias: some emulators report the
    /// `aws/rds` and `aws/ebs` keys as customer keys.
    pub fn is_aws_managed(&self) -> bool {
        self.key_manager.as_deref() == Some("AWS")
            || self.aliases.iter().any(|a| a.starts_with("alias/aws/"))
    }

    pub fn is_customer_managed(&self) -> bool {
        !self.is_aws_managed()
    }

    pub fn key_store(&self) -> KeyStore {
        match self.origin.as_deref() {
            Some("AWS_KMS") | Some("EXTERNAL") => KeyStore::Standard,
            Some("AWS_CLOUDHSM") => KeyStore::Cloudhsm,
            Some("EXTERNAL_KEY_STORE") => KeyStore::External,
            _ => KeyStore::Unknown,
        }
    }

    /// Whether KMS can rotate this key automatically: customer managed, symmetric encryption, material generated by
    /// KMS in the standard key store.
    pub fn can_rotate_automatically(&self) -> bool {
        self.is_customer_managed()
            && self.origin.as_deref() == Some("AWS_KMS")
            && self.key_spec.as_deref().unwrap_or("SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
    }

    pub fn state(&self) -> &str {
        self.key_state.as_deref().unwrap_or("unknown")
    }

    /// `aws_managed` or `customer_managed`, for evidence.
    pub fn manager_label(&self) -> &'static str {
        if self.is_aws_managed() {
            "aws_managed"
        } else {
            "customer_managed"
        }
    }

    /// The first alias, or the key id: what a person recognises.
    pub fn display_name(&self) -> &str {
        self.aliases
            .first()
            .map(String::as_str)
            .unwrap_or(&self.key_id)
    }
}

/// A failed API call; collection went on without it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CollectError {
    /// The account the call was made in, in an audit of several accounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub region: String,
    pub service: String,
    pub operation: String,
    pub message: String,
}

/// A parsed key reference: how RDS, EBS and users name a KMS key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRef<'a> {
    /// `arn:<partition>:kms:<region>:<account>:key/<id>`
    KeyArn {
        region: &'a str,
        account: &'a str,
        key_id: &'a str,
    },
    /// `arn:<partition>:kms:<region>:<account>:alias/<name>`
    AliasArn {
        region: &'a str,
        account: &'a str,
        alias: &'a str,
    },
    /// `alias/<name>`
    Alias(&'a str),
    /// A bare key id.
    KeyId(&'a str),
}

impl<'a> KeyRef<'a> {
    pub fn parse(reference: &'a str) -> Option<KeyRef<'a>> {
        if reference.is_empty() {
            return None;
        }
        if let Some(rest) = reference.strip_prefix("arn:") {
            let mut parts = rest.splitn(5, ':');
            let _partition = parts.next()?;
            let service = parts.next()?;
            let region = parts.next()?;
            let account = parts.next()?;
            let resource = parts.next()?;
            if service != "kms" {
                return None;
            }
            if let Some(key_id) = resource.strip_prefix("key/") {
                return Some(KeyRef::KeyArn {
                    region,
                    account,
                    key_id,
                });
            }
            if resource.starts_with("alias/") {
                return Some(KeyRef::AliasArn {
                    region,
                    account,
                    alias: resource,
                });
            }
            return None;
        }
        if reference.starts_with("alias/") {
            return Some(KeyRef::Alias(reference));
        }
        Some(KeyRef::KeyId(reference))
    }

    /// The region the key lives in: the ARN's, or the referring resource's.
    pub fn region(&self, default: &'a str) -> &'a str {
        match self {
            KeyRef::KeyArn { region, .. } | KeyRef::AliasArn { region, .. } => region,
            _ => default,
        }
    }
}

/// How much of the account a collection read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coverage {
    /// Every call answered.
    Complete,
    /// Some calls failed; the inventory lacks what they would have read.
    Partial,
    /// Nothing was read: the account is unknown, no resource was found and calls failed.
    Nothing {
        /// Every failure says the SDK found no credentials.
        no_credentials: bool,
    },
}

/// The SDK's words when its default credentials chain finds nothing.
const NO_CREDENTIALS: &str = "no credentials found in chain";

impl Inventory {
    /// Whether the collection read the account fully, partly, or not at all. What could not be read is never
    /// taken as safe: a partial audit says so in its exit status, and an audit that read nothing is an error.
    pub fn coverage(&self) -> Coverage {
        if self.errors.is_empty() {
            return Coverage::Complete;
        }
        let read_nothing = self.account.is_none()
            && self.rds_instances.is_empty()
            && self.rds_clusters.is_empty()
            && self.rds_snapshots.is_empty()
            && self.rds_cluster_snapshots.is_empty()
            && self.rds_option_groups.is_empty()
            && self.ebs_volumes.is_empty()
            && self.ebs_snapshots.is_empty()
            && self
                .ebs_region_settings
                .iter()
                .all(|r| r.encryption_by_default.is_none() && r.default_kms_key_id.is_none())
            && self.db_hosts.is_empty()
            && self.kms_keys.is_empty();
        if read_nothing {
            Coverage::Nothing {
                no_credentials: self
                    .errors
                    .iter()
                    .all(|e| e.message.contains(NO_CREDENTIALS)),
            }
        } else {
            Coverage::Partial
        }
    }

    /// Finds the key a resource in `region` refers to by id, alias, key ARN or alias ARN.
    /// `None` means an unknown key: not in the inventory, or not a KMS key reference at all.
    pub fn resolve_key(&self, region: &str, reference: &str) -> Option<&KmsKey> {
        let parsed = KeyRef::parse(reference)?;
        let key_region = parsed.region(region);
        let in_region = || self.kms_keys.iter().filter(move |k| k.region == key_region);
        match parsed {
            KeyRef::KeyArn { .. } => self.kms_keys.iter().find(|k| k.arn == reference),
            KeyRef::AliasArn { account, alias, .. } => in_region()
                .filter(|k| account_of(&k.arn) == Some(account))
                .find(|k| k.aliases.iter().any(|a| a == alias)),
            KeyRef::Alias(alias) => {
                let own = self.account.as_deref();
                in_region()
                    .filter(|k| own.is_none() || account_of(&k.arn) == own)
                    .find(|k| k.aliases.iter().any(|a| a == alias))
            }
            KeyRef::KeyId(id) => in_region().find(|k| k.key_id == id),
        }
    }

    /// The ARN prefix of this account's resources in a region, e.g. `arn:aws:ec2:eu-west-1:123456789012:`.
    pub fn arn_prefix(&self, service: &str, region: &str) -> String {
        format!(
            "arn:{}:{service}:{region}:{}:",
            self.partition,
            self.account.as_deref().unwrap_or("")
        )
    }
}

/// The account field of an ARN.
pub fn account_of(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?.split(':').nth(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(message: &str) -> CollectError {
        CollectError {
            account: None,
            region: "eu-west-1".into(),
            service: "sts".into(),
            operation: "GetCallerIdentity".into(),
            message: message.into(),
        }
    }

    #[test]
    fn coverage_tells_complete_partial_and_nothing_apart() {
        let mut inv = Inventory::default();
        assert_eq!(inv.coverage(), Coverage::Complete);
        inv.ebs_region_settings.push(EbsRegionSettings {
            region: "eu-west-1".into(),
            encryption_by_default: None,
            default_kms_key_id: None,
        });
        inv.errors
            .push(failed("dispatch failure: Connection refused"));
        assert_eq!(
            inv.coverage(),
            Coverage::Nothing {
                no_credentials: false
            }
        );
        inv.errors = vec![failed(
            "dispatch failure: no credentials found in chain. Attempted: ...",
        )];
        assert_eq!(
            inv.coverage(),
            Coverage::Nothing {
                no_credentials: true
            }
        );
        inv.account = Some("111122223333".into());
        assert_eq!(inv.coverage(), Coverage::Partial);
        inv.account = None;
        inv.ebs_region_settings[0].encryption_by_default = Some(true);
        assert_eq!(inv.coverage(), Coverage::Partial);
    }

    fn key(arn: &str, aliases: &[&str]) -> KmsKey {
        KmsKey {
            arn: arn.to_string(),
            key_id: arn.rsplit('/').next().unwrap().to_string(),
            region: arn.split(':').nth(3).unwrap().to_string(),
            aliases: aliases.iter().map(|a| a.to_string()).collect(),
            ..KmsKey::default()
        }
    }

    fn inventory() -> Inventory {
        Inventory {
            account: Some("111122223333".into()),
            kms_keys: vec![
                key("arn:aws:kms:eu-west-1:111122223333:key/k1", &["alias/app"]),
                key("arn:aws:kms:us-east-1:111122223333:key/k2", &["alias/app"]),
                key("arn:aws:kms:eu-west-1:444455556666:key/k3", &[]),
            ],
            ..Inventory::default()
        }
    }

    #[test]
    fn resolves_every_reference_form() {
        let inv = inventory();
        let arn1 = "arn:aws:kms:eu-west-1:111122223333:key/k1";
        assert_eq!(inv.resolve_key("eu-west-1", arn1).unwrap().arn, arn1);
        assert_eq!(inv.resolve_key("eu-west-1", "k1").unwrap().arn, arn1);
        assert_eq!(inv.resolve_key("eu-west-1", "alias/app").unwrap().arn, arn1);
        assert_eq!(
            inv.resolve_key("us-east-1", "alias/app").unwrap().arn,
            "arn:aws:kms:us-east-1:111122223333:key/k2"
        );
        assert_eq!(
            inv.resolve_key("us-east-1", "arn:aws:kms:eu-west-1:111122223333:alias/app")
                .unwrap()
                .arn,
            arn1
        );
        assert!(
            inv.resolve_key("us-east-1", "k1").is_none(),
            "a bare id is looked up in the resource's region"
        );
        assert!(inv.resolve_key("eu-west-1", "default_kms_key_id").is_none());
        assert!(inv.resolve_key("eu-west-1", "").is_none());
        assert!(
            inv.resolve_key("eu-west-1", "arn:aws:s3:::bucket")
                .is_none()
        );
    }

    #[test]
    fn aws_managed_by_manager_or_reserved_alias() {
        let mut k = key(
            "arn:aws:kms:eu-west-1:111122223333:key/k1",
            &["alias/aws/rds"],
        );
        k.key_manager = Some("CUSTOMER".into());
        assert!(k.is_aws_managed());
        k.aliases.clear();
        assert!(k.is_customer_managed());
        k.key_manager = Some("AWS".into());
        assert!(k.is_aws_managed());
    }

    #[test]
    fn key_store_from_origin() {
        let mut k = KmsKey::default();
        for (origin, store) in [
            ("AWS_KMS", KeyStore::Standard),
            ("EXTERNAL", KeyStore::Standard),
            ("AWS_CLOUDHSM", KeyStore::Cloudhsm),
            ("EXTERNAL_KEY_STORE", KeyStore::External),
        ] {
            k.origin = Some(origin.into());
            assert_eq!(k.key_store(), store);
        }
        k.origin = None;
        assert_eq!(k.key_store(), KeyStore::Unknown);
    }

    #[test]
    fn an_empty_document_with_a_version_is_an_inventory() {
        let inv: Inventory = serde_json::from_str(r#"{"schema_version":1}"#).unwrap();
        assert_eq!(inv, Inventory::default());
    }
}
