//! Decisions taken once for the fleet rather than per database: the EBS encryption-by-default key of each account
//! and Region (one shared key whose policy serves every EC2 user, Auto Scaling included), the SCP that confines
//! key-policy changes to a break-glass role, the migration waves (primaries, then replicas, then DR), and each
//! database's downtime class with an estimate from its size.

use serde::Serialize;

use super::DatabasePlan;
use super::policy::{KeyUse, PolicySpec, key_policy, scp};
use super::runbook::{
    Phase, Principals, ProposedKey, Step, aws, create_key_commands, key_var, step,
};
use super::sharing::SharedStorageKey;

/// From this size the snapshot path's downtime is long enough that the plan leads with a replication cut-over.
pub const LARGE_GIB: u64 = 500;

/// The alias of the shared EBS default key (aliases are per Region, so the name is the same in each).
pub const EBS_DEFAULT_ALIAS: &str = "alias/atrest/ebs-default";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DowntimeClass {
    /// Nothing moves: already on the target, or a step outside the database (a key policy).
    None,
    /// Snapshot, copy under the key, restore, rename-and-swap: writes stop for the whole copy.
    SnapshotRestore,
    /// EC2 stopped while each volume is snapshotted, copied and swapped.
    VolumeSwap,
    /// A new encrypted target catches up by replication; writes stop only at the cut-over point.
    ReplicationCutover,
    /// In-host work (LUKS data copy, TDE): a service window on the host.
    HostWindow,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Downtime {
    pub class: DowntimeClass,
    /// Rough write-freeze estimate in minutes, from the inventory's `size_gib` (none without it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate_minutes: Option<u64>,
    pub basis: String,
}

/// Planning figures, not measurements: snapshot + copy + restore move about 100 GiB an hour end to end, plus a
/// fixed 20 minutes for waits and the rename-and-swap.
fn copy_minutes(gib: u64) -> u64 {
    20 + gib * 60 / 100
}

pub fn downtime(d: &DatabasePlan, size_gib: Option<u64>) -> Downtime {
    let phases: Vec<Phase> = d.runbook.iter().map(|s| s.phase).collect();
    let moves = phases
        .iter()
        .any(|p| matches!(p, Phase::Migrate | Phase::Cutover));
    let option = d
        .recommendation
        .recommended
        .as_ref()
        .map_or(0, |r| r.option);
    let none = |basis: &str| Downtime {
        class: DowntimeClass::None,
        estimate_minutes: None,
        basis: basis.into(),
    };
    if !moves {
        return none("no data moves");
    }
    let titles = |needle: &str| d.runbook.iter().any(|s| s.title.contains(needle));
    if titles("Create the encrypted target") || d.current_hosting == "on-prem" {
        return Downtime {
            class: DowntimeClass::ReplicationCutover,
            estimate_minutes: Some(15),
            basis:
                "a new target loaded while the source runs; writes stop only for the final catch-up"
                    .into(),
        };
    }
    match option {
        1 | 2 => match size_gib {
            Some(g) if g >= LARGE_GIB => Downtime {
                class: DowntimeClass::ReplicationCutover,
                estimate_minutes: Some(15),
                basis: format!(
                    "{g} GiB: the snapshot path would freeze writes for about {} minutes; the minimal-downtime path replicates into the encrypted copy instead",
                    copy_minutes(g)
                ),
            },
            Some(g) => Downtime {
                class: DowntimeClass::SnapshotRestore,
                estimate_minutes: Some(copy_minutes(g)),
                basis: format!("{g} GiB at about 100 GiB an hour for snapshot, copy and restore"),
            },
            None => Downtime {
                class: DowntimeClass::SnapshotRestore,
                estimate_minutes: None,
                basis: "size unknown: add `size_gib` to the inventory for an estimate".into(),
            },
        },
        3 | 4 => Downtime {
            class: DowntimeClass::VolumeSwap,
            estimate_minutes: size_gib.map(copy_minutes),
            basis: size_gib.map_or_else(
                || "size unknown: add `size_gib` to the inventory for an estimate".into(),
                |g| format!("{g} GiB of volumes at about 100 GiB an hour"),
            ),
        },
        _ => Downtime {
            class: DowntimeClass::HostWindow,
            estimate_minutes: size_gib.map(copy_minutes),
            basis: "the data copy onto the encrypted volume or keystore change, in a host window"
                .into(),
        },
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Wave {
    pub number: u8,
    pub name: String,
    /// The phases of each database's runbook that run in this wave.
    pub phases: Vec<String>,
    pub databases: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fleet {
    /// Keys used by more than one database or by the whole account (the EBS default key).
    pub shared_keys: Vec<ProposedKey>,
    /// Steps run once in the workload account before the waves.
    pub steps: Vec<Step>,
    /// Steps run once in the organization's management account.
    pub organization_steps: Vec<Step>,
    pub waves: Vec<Wave>,
    /// Confines `kms:PutKeyPolicy` to the break-glass role.
    pub scp: serde_json::Value,
}

fn uses_ec2(d: &DatabasePlan) -> bool {
    d.recommendation
        .recommended
        .as_ref()
        .is_some_and(|r| r.option >= 3)
}

/// The shared storage keys, and the fleet step that creates them once (before any database's runbook).
fn shared_storage(
    shared: &[SharedStorageKey],
    principals: &Principals,
) -> (Vec<ProposedKey>, Option<Step>) {
    let mut keys = Vec::new();
    let mut commands = Vec::new();
    for s in shared {
        let on_rds = s.scope.services.iter().any(|s| s == "rds");
        let names: Vec<String> = s.databases.iter().map(|d| format!("`{d}`")).collect();
        let regimes = if s.scope.regimes.is_empty() {
            "no compliance regime".to_string()
        } else {
            s.scope.regimes.join(", ")
        };
        let key = ProposedKey {
            alias: s.alias.clone(),
            region: s.region.clone(),
            purpose: format!(
                "{} storage encryption shared by {} databases in {} ({regimes})",
                if on_rds { "RDS" } else { "EBS" },
                s.databases.len(),
                s.region
            ),
            key_store: "standard".into(),
            origin: "AWS_KMS".into(),
            used_by: s.databases.clone(),
            policy: key_policy(&PolicySpec {
                account: principals.account.clone(),
                admin_principals: vec![principals.key_admin.clone()],
                user_principals: vec![principals.db_operator.clone()],
                reader_principals: Vec::new(),
                key_use: KeyUse::Service {
                    services: s.scope.services.clone(),
                    region: s.region.clone(),
                },
                share_with_accounts: Vec::new(),
            }),
            notes: vec![
                format!(
                    "shared by {} because their requirements allow it (storage granularity `volume`, no cross-account sharing, a standard KMS key) and they have the same service, regimes ({regimes}), rotation and separation of duties: every storage key of the plan has the same administrators and the same user, so sharing takes no access away; a database whose requirements change (e.g. `data.granularity = database`) gets its own key at the next plan",
                    names.join(", ")
                ),
                format!(
                    "only `{}` uses this key (through {}): a CI/CD role, AWS Backup's role or any other principal that creates, restores, copies or backs up these databases must be added to `KeyUsersOnlyThroughTheService` and `ServiceGrantsForAttachedResourcesOnly`, or its calls are denied",
                    principals.db_operator,
                    s.scope.services.join(" and ")
                ),
                "never schedule this key's deletion while any of its databases, snapshots or copies exist: a rollback or clean-up of one database leaves the key in place".into(),
            ],
        };
        commands.extend(create_key_commands(&key, None));
        keys.push(key);
    }
    if keys.is_empty() {
        return (keys, None);
    }
    let list: Vec<String> = keys
        .iter()
        .map(|k| format!("`{}` ({}: {})", k.alias, k.region, k.used_by.join(", ")))
        .collect();
    let step = step(
        Phase::Prepare,
        "Create the shared storage keys",
        format!(
            "Databases of the same service and compliance scope whose requirements allow it share one storage key per Region instead of one each: {}. Created once here, before the waves; each database's runbook reads the key's ARN. Policies in `keys/`.",
            list.join("; ")
        ),
        commands,
        &["kms-auto-rotation-scope"],
    );
    (keys, Some(step))
}

pub fn build(
    databases: &[DatabasePlan],
    shared: &[SharedStorageKey],
    principals: &Principals,
) -> Fleet {
    let mut regions: Vec<&str> = databases
        .iter()
        .filter(|d| uses_ec2(d))
        .map(|d| d.region.as_str())
        .collect();
    regions.sort_unstable();
    regions.dedup();
    let mut shared_keys = Vec::new();
    let mut steps = Vec::new();
    for region in regions {
        let users: Vec<String> = databases
            .iter()
            .filter(|d| uses_ec2(d) && d.region == region)
            .map(|d| d.name.clone())
            .collect();
        let key = ProposedKey {
            alias: EBS_DEFAULT_ALIAS.into(),
            region: region.into(),
            purpose: format!("EBS encryption by default for the whole account in {region}"),
            key_store: "standard".into(),
        origin: "AWS_KMS".into(),
            used_by: users,
            policy: key_policy(&PolicySpec {
                account: principals.account.clone(),
                admin_principals: vec![principals.key_admin.clone()],
                user_principals: Vec::new(),
                reader_principals: Vec::new(),
                key_use: KeyUse::EbsDefault {
                    region: region.into(),
                },
                share_with_accounts: Vec::new(),
            }),
            notes: vec![
                "a standard KMS key even where databases use a custom key store: every new volume in the Region depends on the default key, so it must not depend on an HSM cluster or an external key manager".into(),
                "databases keep their own keys on their own volumes; this key only covers volumes created without a key".into(),
            ],
        };
        let mut commands = create_key_commands(&key, None);
        commands.push(aws(format!(
            "aws ec2 enable-ebs-encryption-by-default --region {region}"
        )));
        commands.push(aws(format!(
            "aws ec2 modify-ebs-default-kms-key-id --region {region} --kms-key-id \"${}\"",
            key_var(EBS_DEFAULT_ALIAS)
        )));
        steps.push(step(
            Phase::Prepare,
            &format!("Decide EBS encryption by default in {region}"),
            format!("An account-and-Region setting, decided once: every volume anyone creates in {region} is then encrypted, under one shared key whose policy lets every principal of the account use it through EC2 and lets the Auto Scaling service-linked role launch instances with it. Check before switching that no launch template or team relies on unencrypted volumes."),
            commands,
            &["ebs-default-encryption", "ebs-default-key"],
        ));
        shared_keys.push(key);
    }
    let (storage_keys, storage_step) = shared_storage(shared, principals);
    shared_keys.extend(storage_keys);
    steps.extend(storage_step);
    let organization_steps = vec![step(
        Phase::Prepare,
        "Confine key-policy changes to the break-glass role",
        format!(
            "A key policy cannot stop an IAM administrator (or the key administrator) from rewriting it to grant itself use. This SCP (`scp.json`) denies `kms:PutKeyPolicy` to everyone but `{}`, which makes the separation of duties a control. Run in the organization's management account.",
            principals.break_glass
        ),
        vec![
            aws(
                "scp_id=$(aws organizations create-policy --type SERVICE_CONTROL_POLICY --name atrest-key-policy-break-glass --description \"Only the break-glass role changes KMS key policies\" --content file://scp.json --query Policy.PolicySummary.Id --output text)",
            ),
            aws(format!(
                "aws organizations attach-policy --policy-id \"$scp_id\" --target-id {}",
                principals.account
            )),
        ],
        &[],
    )];
    let names = |pred: &dyn Fn(&DatabasePlan) -> bool| -> Vec<String> {
        databases
            .iter()
            .filter(|d| pred(d))
            .map(|d| d.name.clone())
            .collect()
    };
    // A database no option fits has nothing to migrate: its one step is to revisit the requirements.
    let has = |d: &DatabasePlan, phase: Phase| {
        d.recommendation.recommended.is_some() && d.runbook.iter().any(|s| s.phase == phase)
    };
    let mut waves = vec![Wave {
        number: 1,
        name: "primaries".into(),
        phases: vec!["prepare".into(), "migrate".into(), "cutover".into()],
        databases: names(&|d| has(d, Phase::Prepare) || has(d, Phase::Migrate)),
    }];
    let replicas = names(&|d| has(d, Phase::Replicas));
    if !replicas.is_empty() {
        waves.push(Wave {
            number: 2,
            name: "replicas".into(),
            phases: vec!["replicas".into()],
            databases: replicas,
        });
    }
    let dr = names(&|d| has(d, Phase::Dr));
    if !dr.is_empty() {
        waves.push(Wave {
            number: waves.len() as u8 + 1,
            name: "dr".into(),
            phases: vec!["dr".into()],
            databases: dr,
        });
    }
    Fleet {
        shared_keys,
        steps,
        organization_steps,
        waves,
        scp: scp(&principals.break_glass),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_grow_with_size() {
        assert_eq!(copy_minutes(0), 20);
        assert_eq!(copy_minutes(100), 80);
    }
}
