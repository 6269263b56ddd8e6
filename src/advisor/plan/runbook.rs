//! Ordered runbooks: from how a database runs today to the recommended option, step by step, with the AWS CLI,
//! SQL or host commands each step needs and the facts that make the step necessary. Also the KMS keys the steps
//! create.
//!
//! AWS CLI commands are bash, executable as written: values the plan cannot know (instance classes, subnet groups,
//! volume ids) are read from the account at run time (`db_attr`, `cluster_attr`, `describe-*` queries), so a
//! database's steps run in order as one script (`plan --out`). SQL and host commands are for a person to run.

use std::collections::BTreeMap;

use serde::Serialize;

use super::hosts;
use super::inventory::DatabaseRow;
use super::overlays;
use super::policy::{KeyUse, PolicySpec, key_policy};
use super::rds;
use super::sharing;
use crate::advisor::engine::Recommendation;
use crate::catalog::Catalog;

/// Where a command runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runs {
    /// The AWS CLI (bash), executable as written.
    Aws,
    /// SQL on the database.
    Sql,
    /// A shell on the database host.
    Host,
    /// A person: a decision, a signature, a change outside AWS.
    Manual,
}

impl Runs {
    pub fn label(self) -> &'static str {
        match self {
            Runs::Aws => "aws",
            Runs::Sql => "sql",
            Runs::Host => "host",
            Runs::Manual => "manual",
        }
    }
}

/// When a step runs. Migration waves run `prepare` to `dr` in order across the fleet (primaries, then replicas,
/// then DR); `rollback` only when the cut-over must be undone; `cleanup` after the rollback window;
/// `alternative` steps replace the snapshot path when the downtime is too long.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Prepare,
    Migrate,
    Cutover,
    Replicas,
    Dr,
    Verify,
    Rollback,
    Cleanup,
    Alternative,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Prepare => "prepare",
            Phase::Migrate => "migrate",
            Phase::Cutover => "cutover",
            Phase::Replicas => "replicas",
            Phase::Dr => "dr",
            Phase::Verify => "verify",
            Phase::Rollback => "rollback",
            Phase::Cleanup => "cleanup",
            Phase::Alternative => "alternative",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Command {
    pub runs: Runs,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub title: String,
    pub detail: String,
    pub phase: Phase,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<Command>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub facts: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProposedKey {
    pub alias: String,
    pub region: String,
    pub purpose: String,
    /// standard | custom-key-store
    pub key_store: String,
    /// The key's origin as KMS names it: `AWS_KMS`, `AWS_CLOUDHSM` or `EXTERNAL_KEY_STORE`.
    pub origin: String,
    /// Databases whose steps use the key (more than one for a shared key).
    pub used_by: Vec<String>,
    pub policy: serde_json::Value,
    /// What the policy deliberately leaves out, and what the receiving side of a share needs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl ProposedKey {
    /// The file `plan --out` writes the policy to, relative to the output directory:
    /// `keys/<alias without alias/, slashes as dashes>.<region>.policy.json` (aliases repeat across Regions).
    pub fn policy_file(&self) -> String {
        format!(
            "keys/{}.{}.policy.json",
            self.alias.trim_start_matches("alias/").replace('/', "-"),
            self.region
        )
    }
}

/// Who administers and who uses keys; placeholders when the user gives none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principals {
    pub account: String,
    pub key_admin: String,
    pub db_operator: String,
    /// Writes cell-encrypted values (data keys, re-wrap).
    pub app: String,
    /// Reads cell-encrypted values (decrypt only).
    pub app_reader: String,
    /// The only role the SCP lets change key policies.
    pub break_glass: String,
    pub share_with: Vec<String>,
}

impl Principals {
    pub fn placeholders(account: &str) -> Principals {
        Principals {
            account: account.to_string(),
            key_admin: format!("arn:aws:iam::{account}:role/KeyAdministrator"),
            db_operator: format!("arn:aws:iam::{account}:role/DatabaseOperator"),
            app: format!("arn:aws:iam::{account}:role/ApplicationRole"),
            app_reader: format!("arn:aws:iam::{account}:role/ApplicationReaderRole"),
            break_glass: format!("arn:aws:iam::{account}:role/KeyPolicyBreakGlass"),
            share_with: Vec::new(),
        }
    }
}

pub(super) fn aws(text: impl Into<String>) -> Command {
    Command {
        runs: Runs::Aws,
        text: text.into(),
    }
}

pub(super) fn sql(text: impl Into<String>) -> Command {
    Command {
        runs: Runs::Sql,
        text: text.into(),
    }
}

pub(super) fn host(text: impl Into<String>) -> Command {
    Command {
        runs: Runs::Host,
        text: text.into(),
    }
}

pub(super) fn manual(text: impl Into<String>) -> Command {
    Command {
        runs: Runs::Manual,
        text: text.into(),
    }
}

pub(super) fn step(
    phase: Phase,
    title: &str,
    detail: impl Into<String>,
    commands: Vec<Command>,
    facts: &[&str],
) -> Step {
    Step {
        title: title.to_string(),
        detail: detail.into(),
        phase,
        commands,
        facts: facts.iter().map(|f| f.to_string()).collect(),
    }
}

/// What the steps of one database need to know.
pub(super) struct Ctx<'a> {
    pub row: &'a DatabaseRow,
    pub catalog: &'a Catalog,
    pub rds_engine: String,
    pub family: String,
    pub principals: &'a Principals,
    pub option: u8,
    pub variant: String,
    pub overlays: Vec<String>,
    pub sharing: bool,
    pub custody_customer: bool,
    pub hsm_outside_aws: bool,
    /// Regions where the database uses a storage key shared with other databases (Region -> alias).
    pub shared_storage: BTreeMap<String, String>,
}

impl Ctx<'_> {
    pub fn n(&self) -> &str {
        &self.row.name
    }
    pub fn r(&self) -> &str {
        &self.row.region
    }
    pub fn aurora(&self) -> bool {
        self.row.hosting == "aurora" || self.rds_engine.starts_with("aurora")
    }
    pub fn custom_store(&self) -> bool {
        matches!(self.option, 2 | 4)
    }
    pub fn tde_overlay(&self) -> bool {
        self.overlays.iter().any(|o| o == "rds-native-tde")
    }
    pub fn storage_alias(&self, region: &str) -> String {
        if let Some(shared) = self.shared_storage.get(region) {
            shared.clone()
        } else if region == self.r() {
            format!("alias/atrest/{}-storage", self.n())
        } else {
            format!("alias/atrest/{}-storage-{region}", self.n())
        }
    }
    /// Destination Regions for copies and DR, without the home Region.
    pub fn dr_regions(&self) -> Vec<&str> {
        self.row
            .copy_regions
            .iter()
            .map(String::as_str)
            .filter(|r| *r != self.r())
            .collect()
    }
}

/// A bash variable name for a key alias (`alias/atrest/pay-ro-storage` -> `key_pay_ro_storage`).
pub(super) fn key_var(alias: &str) -> String {
    let base: String = alias
        .trim_start_matches("alias/atrest/")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("key_{base}")
}

/// Creates a key with its policy file and alias (unless the alias already exists, so a re-run is harmless), turns
/// automatic rotation on where the key store allows it, and leaves the key ARN in `$key_<alias>`.
pub(super) fn create_key_commands(
    key: &ProposedKey,
    custom_store_origin: Option<&str>,
) -> Vec<Command> {
    let (alias, region) = (&key.alias, &key.region);
    let var = key_var(alias);
    let origin = custom_store_origin.unwrap_or_default();
    let mut c = vec![aws(format!(
        "if ! aws kms describe-key --region {region} --key-id {alias} >/dev/null 2>&1; then\n  \
         new_key=$(aws kms create-key --region {region} --key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT \
         --description \"{purpose}\" --policy file://{file} --tags TagKey=atrest:plan,TagValue=managed{origin} \
         --query KeyMetadata.KeyId --output text)\n  \
         aws kms create-alias --region {region} --alias-name {alias} --target-key-id \"$new_key\"\nfi",
        purpose = key.purpose.replace(['`', '"'], ""),
        file = key.policy_file(),
    ))];
    c.push(aws(format!(
        "{var}=$(aws kms describe-key --region {region} --key-id {alias} --query KeyMetadata.Arn --output text)"
    )));
    if custom_store_origin.is_none() {
        c.push(aws(format!(
            "aws kms enable-key-rotation --region {region} --key-id \"${var}\" --rotation-period-in-days 365"
        )));
    }
    c
}

/// Reads an existing key's ARN into `$key_<alias>` (for steps that use a key another step or script created).
pub(super) fn key_arn_command(alias: &str, region: &str) -> Command {
    aws(format!(
        "{}=$(aws kms describe-key --region {region} --key-id {alias} --query KeyMetadata.Arn --output text)",
        key_var(alias)
    ))
}

fn storage_keys(ctx: &Ctx<'_>, keys: &mut Vec<ProposedKey>, steps: &mut Vec<Step>) {
    let on_rds = ctx.option <= 2;
    let mut regions = vec![ctx.r().to_string()];
    regions.extend(ctx.dr_regions().iter().map(|r| r.to_string()));
    // Managed master-user secrets of a new RDS instance are encrypted under the same key, through Secrets Manager.
    let services = sharing::storage_services(ctx.option, &ctx.row.hosting);
    let mut notes = vec![format!(
        "only `{}` uses this key (through {}): a CI/CD role, AWS Backup's role or any other principal that creates, restores, copies or backs up `{}` must be added to `KeyUsersOnlyThroughTheService` and `ServiceGrantsForAttachedResourcesOnly`, or its calls are denied",
        ctx.principals.db_operator,
        services.join(" and "),
        ctx.n()
    )];
    for s in &ctx.row.trusted_services {
        notes.push(untrusted_service_note(s));
    }
    if ctx.sharing && !ctx.principals.share_with.is_empty() {
        notes.push(format!("the receiving account copies the shared snapshot under its own key: its copying role needs the identity policy in `keys/receiving-account.{}.policy.json` (use of this key through RDS only)", ctx.r()));
    }
    let own_regions: Vec<&String> = regions
        .iter()
        .filter(|r| !ctx.shared_storage.contains_key(*r))
        .collect();
    for region in own_regions {
        let alias = ctx.storage_alias(region);
        let spec = PolicySpec {
            account: ctx.principals.account.clone(),
            admin_principals: vec![ctx.principals.key_admin.clone()],
            user_principals: vec![ctx.principals.db_operator.clone()],
            reader_principals: Vec::new(),
            key_use: KeyUse::Service {
                services: services.clone(),
                region: region.clone(),
            },
            share_with_accounts: if ctx.sharing {
                ctx.principals.share_with.clone()
            } else {
                Vec::new()
            },
        };
        keys.push(ProposedKey {
            alias: alias.clone(),
            region: region.clone(),
            purpose: format!(
                "{} storage encryption of `{}`",
                if on_rds { "RDS" } else { "EBS" },
                ctx.n()
            ),
            key_store: if ctx.custom_store() {
                "custom-key-store".into()
            } else {
                "standard".into()
            },
            origin: if !ctx.custom_store() {
                "AWS_KMS".into()
            } else if ctx.hsm_outside_aws || ctx.variant == "xks" {
                "EXTERNAL_KEY_STORE".into()
            } else {
                "AWS_CLOUDHSM".into()
            },
            used_by: vec![ctx.n().to_string()],
            policy: key_policy(&spec),
            notes: notes.clone(),
        });
    }
    if ctx.custom_store() {
        for region in &regions {
            steps.push(hosts::custom_key_store_step(ctx, region));
        }
    }
    let origin = if !ctx.custom_store() {
        None
    } else if ctx.hsm_outside_aws || ctx.variant == "xks" {
        Some(
            " --origin EXTERNAL_KEY_STORE --custom-key-store-id \"$custom_key_store_id\" --xks-key-id \"$xks_key_id\"",
        )
    } else {
        Some(" --origin AWS_CLOUDHSM --custom-key-store-id \"$custom_key_store_id\"")
    };
    let mut commands = Vec::new();
    for key in keys.iter().filter(|k| k.purpose.contains("storage")) {
        commands.extend(create_key_commands(key, origin));
    }
    // Shared keys are created once, by the fleet script (00-fleet.sh); this database only reads their ARNs.
    for (region, alias) in &ctx.shared_storage {
        commands.push(key_arn_command(alias, region));
    }
    let shared = if ctx.shared_storage.is_empty() {
        String::new()
    } else {
        let list: Vec<String> = ctx
            .shared_storage
            .iter()
            .map(|(r, a)| format!("`{a}` in {r}"))
            .collect();
        format!(
            " Where the requirements allow it, databases of the same service and compliance scope share one key: this database uses the shared key {}, created once by the fleet steps (run `00-fleet.sh` first).",
            list.join(", ")
        )
    };
    let rotation = if ctx.custom_store() {
        " Custom-key-store keys cannot rotate automatically: rotate by creating a new key and pointing the alias at it (`aws kms update-alias`), then re-encrypting through the same snapshot path."
    } else {
        ""
    };
    let title = if regions.len() == ctx.shared_storage.len() {
        "Use the shared customer managed storage key(s)"
    } else {
        "Create the customer managed storage key(s)"
    };
    steps.push(step(
        Phase::Prepare,
        title,
        format!(
            "One key per Region ({}), with the policy in `keys/`: administrators manage but never use it, the database operator uses it only through {} (`kms:ViaService`). A customer managed key (not aws/{}) keeps snapshots shareable and the key policy yours.{rotation}{shared}",
            regions.join(", "),
            services.join(" and "),
            if on_rds { "rds" } else { "ebs" },
        ),
        commands,
        &["rds-snapshot-share-default-key", "kms-auto-rotation-scope", "rds-cross-region-copy-key"],
    ));
}

/// Why a service named in `trusted_services` gets no statement in a storage key's policy.
fn untrusted_service_note(service: &str) -> String {
    let why = match service {
        "dms.amazonaws.com" => {
            "AWS DMS talks SQL to the database and never calls its storage key; DMS encrypts its own storage with a key of its own through a grant"
        }
        "backup.amazonaws.com" => {
            "AWS Backup copies RDS and EBS backups through the storage service, with the caller's grants, not as a principal of the key"
        }
        "export.rds.amazonaws.com" => {
            "snapshot export uses the export task's IAM role and the key named for the export, not the storage key's policy"
        }
        _ => {
            "RDS and EBS use the storage key through grants on the caller's behalf; a direct service principal would widen the key for no function"
        }
    };
    format!("`{service}` is not a principal of this key: {why}")
}

fn verify_step(row: &DatabaseRow) -> Step {
    step(
        Phase::Verify,
        "Verify and keep evidence",
        "Audit the account after the cut-over: the database must classify as the target option with the proposed key, and every check must pass.",
        vec![aws(format!(
            "atrest audit --regions {} --format markdown > {}-audit.md",
            row.region, row.name
        ))],
        &[],
    )
}

/// The runbook and the keys it creates for one database.
pub fn build(
    row: &DatabaseRow,
    rec: &Recommendation,
    catalog: &Catalog,
    principals: &Principals,
    shared_storage: BTreeMap<String, String>,
) -> (Vec<Step>, Vec<ProposedKey>) {
    let mut steps = Vec::new();
    let mut keys = Vec::new();
    let Some(target) = &rec.recommended else {
        let reasons: Vec<String> = rec
            .excluded
            .iter()
            .map(|e| format!("option {}: {}", e.option, e.rules.join(", ")))
            .collect();
        steps.push(step(
            Phase::Prepare,
            "Revisit the requirements",
            format!("No option meets them; exclusions: {}.", reasons.join("; ")),
            Vec::new(),
            &[],
        ));
        return (steps, keys);
    };
    let engine = catalog.engine(&row.engine);
    let text = |key: &str| {
        rec.requirements
            .get(key)
            .map(|v| v.render())
            .unwrap_or_default()
    };
    let ctx = Ctx {
        row,
        catalog,
        rds_engine: engine
            .and_then(|e| e.rds_engine.clone())
            .unwrap_or_else(|| row.engine.clone()),
        family: engine.map(|e| e.family.clone()).unwrap_or_default(),
        principals,
        option: target.option,
        variant: target.variant.clone(),
        overlays: rec.overlays.iter().map(|o| o.id.clone()).collect(),
        sharing: text("data.snapshot_sharing") == "cross-account",
        custody_customer: text("keys.custody") == "customer-held",
        hsm_outside_aws: text("keys.hsm") == "outside-aws",
        shared_storage,
    };
    if matches!(target.option, 1..=4) {
        storage_keys(&ctx, &mut keys, &mut steps);
    }
    match target.option {
        1 | 2 => rds::steps(&ctx, &mut steps),
        3 | 4 => hosts::ebs_steps(&ctx, &mut steps),
        5 => hosts::luks_steps(&ctx, &mut steps),
        _ => hosts::tde_steps(&ctx, &mut steps),
    }
    overlays::steps(&ctx, &mut keys, &mut steps);
    steps.push(verify_step(row));
    steps.sort_by_key(|s| s.phase);
    (steps, keys)
}
