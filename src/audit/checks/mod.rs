//! The checks: one module per check, module name == check id == `decision/checks/<id>.toml`. Each is a pure
//! function of the inventory; none calls AWS. A check returns one result per resource it judges, and nothing for
//! resources outside its scope.

use crate::audit::inventory::{EbsSnapshot, Inventory, KmsKey, RdsSnapshot, Sharing};
use crate::model::Status;

/// One verdict before the catalog adds the check id and severity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub resource: String,
    pub region: String,
    pub message: String,
}

impl Verdict {
    pub fn new(status: Status, resource: &str, region: &str, message: impl Into<String>) -> Self {
        Verdict {
            status,
            resource: resource.to_string(),
            region: region.to_string(),
            message: message.into(),
        }
    }
    pub fn pass(resource: &str, region: &str, message: impl Into<String>) -> Self {
        Self::new(Status::Pass, resource, region, message)
    }
    pub fn fail(resource: &str, region: &str, message: impl Into<String>) -> Self {
        Self::new(Status::Fail, resource, region, message)
    }
    pub fn not_applicable(resource: &str, region: &str, message: impl Into<String>) -> Self {
        Self::new(Status::NotApplicable, resource, region, message)
    }
}

/// A registered check: its id, its embedded metadata and its function.
pub struct Check {
    pub id: &'static str,
    pub metadata: &'static str,
    pub run: fn(&Inventory) -> Vec<Verdict>,
}

macro_rules! checks {
    ($($id:ident),* $(,)?) => {
        $(pub mod $id;)*

        /// Every check, in a fixed order.
        pub const ALL: &[Check] = &[
            $(Check {
                id: stringify!($id),
                metadata: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/decision/checks/", stringify!($id), ".toml")),
                run: $id::run,
            },)*
        ];
    };
}

checks!(
    rds_instance_storage_encrypted,
    rds_cluster_storage_encrypted,
    rds_snapshot_encrypted,
    rds_snapshot_not_public,
    rds_cluster_snapshot_encrypted,
    rds_cluster_snapshot_not_public,
    ebs_volume_encrypted,
    ebs_snapshot_encrypted,
    ebs_snapshot_not_public,
    ebs_default_encryption_enabled,
    kms_key_rotation_enabled,
    kms_key_in_use_not_pending_deletion,
    kms_key_in_use_enabled,
    kms_key_policy_no_public_principal,
    kms_key_policy_service_confused_deputy,
    kms_key_policy_separation_of_duties,
    kms_key_grants_no_external_grantee,
    kms_key_no_unconstrained_create_grant,
    kms_database_key_no_cross_account_decrypt,
    shared_snapshot_not_aws_managed_key,
);

/// How a finding names the key behind a resource: alias or id and who manages it, or the raw reference when the
/// key is not in the inventory.
pub(crate) fn describe_key(inv: &Inventory, region: &str, reference: Option<&str>) -> String {
    match reference {
        None => "a key RDS/EC2 did not report".to_string(),
        Some(r) => match inv.resolve_key(region, r) {
            Some(key) => describe_known_key(key),
            None if r.contains("alias/aws/") => format!("AWS managed key `{r}`"),
            None => format!("unknown key `{r}`"),
        },
    }
}

pub(crate) fn describe_known_key(key: &KmsKey) -> String {
    let manager = if key.is_aws_managed() {
        "AWS managed"
    } else {
        "customer managed"
    };
    format!("key `{}` ({manager})", key.display_name())
}

/// Keys in scope of the key-policy checks: customer managed keys whose policy the account controls.
pub(crate) fn policy_keys(inv: &Inventory) -> impl Iterator<Item = &KmsKey> {
    inv.kms_keys.iter().filter(|k| k.is_customer_managed())
}

/// A short list for messages: at most `max` items, then "and N more".
pub(crate) fn short_list(items: &[String], max: usize) -> String {
    let shown: Vec<String> = items.iter().take(max).map(|s| format!("`{s}`")).collect();
    let mut text = shown.join(", ");
    if items.len() > max {
        text.push_str(&format!(" and {} more", items.len() - max));
    }
    text
}

/// Shared rule of the two RDS snapshot encryption checks.
pub(crate) fn rds_snapshots_encrypted(
    inv: &Inventory,
    snapshots: &[RdsSnapshot],
    kind: &str,
) -> Vec<Verdict> {
    snapshots
        .iter()
        .map(|s| {
            if s.encrypted {
                Verdict::pass(
                    &s.arn,
                    &s.region,
                    format!(
                        "{kind} `{}` is encrypted with {}",
                        s.id,
                        describe_key(inv, &s.region, s.kms_key_id.as_deref())
                    ),
                )
            } else {
                Verdict::fail(
                    &s.arn,
                    &s.region,
                    format!("{kind} `{}` is not encrypted", s.id),
                )
            }
        })
        .collect()
}

/// Shared rule of the snapshot sharing checks (RDS `restore`, EBS `createVolumePermission`).
pub(crate) fn snapshot_not_public(
    arn: &str,
    region: &str,
    what: &str,
    sharing: &Sharing,
    automated: bool,
) -> Verdict {
    if !sharing.known {
        return if automated {
            Verdict::not_applicable(
                arn,
                region,
                format!("{what} is automated; automated snapshots cannot be shared"),
            )
        } else {
            Verdict::not_applicable(arn, region, format!("sharing of {what} could not be read"))
        };
    }
    if sharing.public {
        return Verdict::fail(
            arn,
            region,
            format!("{what} is public: any AWS account can copy or restore it"),
        );
    }
    if sharing.accounts.is_empty() {
        Verdict::pass(arn, region, format!("{what} is not shared"))
    } else {
        Verdict::pass(
            arn,
            region,
            format!(
                "{what} is not public; it is shared with accounts {}",
                short_list(&sharing.accounts, 5)
            ),
        )
    }
}

/// A key that protects something, with what it protects (ids, for messages).
pub(crate) struct KeyUse<'a> {
    pub key: &'a KmsKey,
    pub users: Vec<String>,
}

/// The keys that encrypted resources in the inventory refer to, sorted by key ARN. References that do not resolve
/// to a key in the inventory are left out: nothing can be said about an unknown key's state.
pub(crate) fn keys_in_use(inv: &Inventory) -> Vec<KeyUse<'_>> {
    let mut refs: Vec<(&str, Option<&str>, String)> = Vec::new();
    for i in inv
        .rds_instances
        .iter()
        .filter(|i| i.storage_encrypted && i.cluster_id.is_none())
    {
        refs.push((
            &i.region,
            i.kms_key_id.as_deref(),
            format!("RDS instance {}", i.id),
        ));
    }
    for c in inv.rds_clusters.iter().filter(|c| c.storage_encrypted) {
        refs.push((
            &c.region,
            c.kms_key_id.as_deref(),
            format!("DB cluster {}", c.id),
        ));
    }
    for s in inv.rds_snapshots.iter().filter(|s| s.encrypted) {
        refs.push((
            &s.region,
            s.kms_key_id.as_deref(),
            format!("DB snapshot {}", s.id),
        ));
    }
    for s in inv.rds_cluster_snapshots.iter().filter(|s| s.encrypted) {
        refs.push((
            &s.region,
            s.kms_key_id.as_deref(),
            format!("DB cluster snapshot {}", s.id),
        ));
    }
    for v in inv.ebs_volumes.iter().filter(|v| v.encrypted) {
        refs.push((
            &v.region,
            v.kms_key_id.as_deref(),
            format!("EBS volume {}", v.id),
        ));
    }
    for s in inv.ebs_snapshots.iter().filter(|s| s.encrypted) {
        refs.push((
            &s.region,
            ebs_snapshot_key(inv, s),
            format!("EBS snapshot {}", s.id),
        ));
    }
    for s in inv
        .ebs_region_settings
        .iter()
        .filter(|s| s.encryption_by_default == Some(true))
    {
        refs.push((
            &s.region,
            s.default_kms_key_id.as_deref(),
            format!("EBS default key in {}", s.region),
        ));
    }
    let mut by_key: std::collections::BTreeMap<&str, KeyUse<'_>> =
        std::collections::BTreeMap::new();
    for (region, reference, user) in refs {
        let Some(key) = reference.and_then(|r| inv.resolve_key(region, r)) else {
            continue;
        };
        by_key
            .entry(key.arn.as_str())
            .or_insert_with(|| KeyUse {
                key,
                users: Vec::new(),
            })
            .users
            .push(user);
    }
    by_key.into_values().collect()
}

/// The key of an EBS snapshot, or of its source volume when the snapshot does not name one (some endpoints drop
/// it; the snapshot of an encrypted volume uses the volume's key).
pub(crate) fn ebs_snapshot_key<'a>(inv: &'a Inventory, s: &'a EbsSnapshot) -> Option<&'a str> {
    s.kms_key_id.as_deref().or_else(|| {
        let volume = s.volume_id.as_deref()?;
        inv.ebs_volumes
            .iter()
            .find(|v| v.id == volume && v.region == s.region)
            .and_then(|v| v.kms_key_id.as_deref())
    })
}

/// A key policy read by the evaluator: the key and its parsed policy, or the not-applicable verdict saying why the
/// policy cannot be judged (not read, or not a valid policy). Never a pass.
pub(crate) fn parsed_key_policy(
    k: &KmsKey,
) -> Result<(crate::access::Key, crate::access::Policy), Verdict> {
    let name = k.display_name();
    let Some(document) = k.policy.as_deref() else {
        return Err(Verdict::not_applicable(
            &k.arn,
            &k.region,
            format!("the policy of key `{name}` was not collected"),
        ));
    };
    match crate::access::Policy::parse(document) {
        Ok(p) => Ok((crate::audit::access::key_of(k), p)),
        Err(e) => Err(Verdict::not_applicable(
            &k.arn,
            &k.region,
            format!("key `{name}`: {e}"),
        )),
    }
}

/// What the key policy alone allows `who`: no grants, no IAM policy (a statement naming the account delegates to
/// IAM and so allows nothing here), no boundary, no SCPs or RCPs. One decision per action, in order.
pub(crate) fn policy_alone(
    key: &crate::access::Key,
    policy: &crate::access::Policy,
    who: &crate::access::Principal,
    actions: &[crate::access::KmsAction],
) -> Vec<crate::access::Decision> {
    use crate::access::{Ceiling, Identity, KeyInputs, PrincipalInputs, RequestContext, who_can};
    let identity = Identity::none();
    let none = Ceiling::None;
    let inputs = KeyInputs {
        key,
        policy: Some(policy),
        grants: Some(&[]),
        rcps: &none,
    };
    let principal = PrincipalInputs {
        principal: who,
        identity: &identity,
        scps: &none,
    };
    who_can(&inputs, &[principal], actions, &RequestContext::new())
}

/// The cryptographic operations on a key of this kind: what "using the key" means.
pub(crate) fn use_actions(key: &crate::access::Key) -> Vec<crate::access::KmsAction> {
    use crate::access::{ActionSet, KmsAction as A};
    let supported = key.kind.map_or(ActionSet::all(), ActionSet::for_key);
    [
        A::Encrypt,
        A::Decrypt,
        A::ReEncryptFrom,
        A::ReEncryptTo,
        A::GenerateDataKey,
        A::GenerateDataKeyWithoutPlaintext,
        A::GenerateDataKeyPair,
        A::GenerateDataKeyPairWithoutPlaintext,
        A::Sign,
        A::Verify,
        A::GenerateMac,
        A::VerifyMac,
        A::DeriveSharedSecret,
    ]
    .into_iter()
    .filter(|a| supported.contains(*a))
    .collect()
}

/// The labels (Sid or `#index`) of the key policy statements that allow in `decisions`, each once.
pub(crate) fn allowing_statements(
    policy: &crate::access::Policy,
    decisions: &[crate::access::Decision],
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for d in decisions {
        if let Some(crate::access::Source::KeyPolicy { statement }) =
            d.via.and_then(|v| v.key_statement)
            && let Some(s) = policy.statements.get(statement as usize)
        {
            let label = s.label();
            if !out.contains(&label) {
                out.push(label);
            }
        }
    }
    out
}
