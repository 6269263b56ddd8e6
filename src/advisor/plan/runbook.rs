//! Ordered runbooks: from how a database runs today to the recommended option, step by step, with the AWS CLI
//! or SQL each step needs and the facts that make the step necessary. Also the KMS keys the steps create.

use serde::Serialize;

use super::inventory::DatabaseRow;
use super::policy::{KeyUse, PolicySpec, key_policy};
use crate::advisor::engine::Recommendation;
use crate::catalog::Catalog;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    pub title: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
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
    pub policy: serde_json::Value,
}

/// Who administers and who uses keys; placeholders when the user gives none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principals {
    pub account: String,
    pub key_admin: String,
    pub db_operator: String,
    pub app: String,
    pub share_with: Vec<String>,
}

impl Principals {
    pub fn placeholders(account: &str) -> Principals {
        Principals {
            account: account.to_string(),
            key_admin: format!("arn:aws:iam::{account}:role/KeyAdministrator"),
            db_operator: format!("arn:aws:iam::{account}:role/DatabaseOperator"),
            app: format!("arn:aws:iam::{account}:role/ApplicationRole"),
            share_with: Vec::new(),
        }
    }
}

fn step(title: &str, detail: impl Into<String>, commands: Vec<String>, facts: &[&str]) -> Step {
    Step {
        title: title.to_string(),
        detail: detail.into(),
        commands,
        facts: facts.iter().map(|f| f.to_string()).collect(),
    }
}

struct Ctx<'a> {
    row: &'a DatabaseRow,
    rds_engine: String,
    principals: &'a Principals,
    option: u8,
    overlays: Vec<String>,
    sharing: bool,
}

impl Ctx<'_> {
    fn n(&self) -> &str {
        &self.row.name
    }
    fn r(&self) -> &str {
        &self.row.region
    }
    fn aurora(&self) -> bool {
        self.rds_engine.starts_with("aurora")
    }
    fn custom_store(&self) -> bool {
        matches!(self.option, 2 | 4)
    }
    fn storage_alias(&self, region: &str) -> String {
        if region == self.r() {
            format!("alias/atrest/{}-storage", self.n())
        } else {
            format!("alias/atrest/{}-storage-{region}", self.n())
        }
    }
}

fn create_key_commands(
    custom_store: bool,
    alias: &str,
    region: &str,
    policy_file: &str,
) -> Vec<String> {
    let rotate = !custom_store;
    let origin = if custom_store {
        " --origin AWS_CLOUDHSM --custom-key-store-id <custom-key-store-id>  # or --origin EXTERNAL_KEY_STORE --xks-key-id <id>"
    } else {
        ""
    };
    let mut c = vec![
        format!(
            "aws kms create-key --region {region} --key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT --description \"{alias}\" --policy file://{policy_file}{origin}"
        ),
        format!(
            "aws kms create-alias --region {region} --alias-name {alias} --target-key-id <key-id>"
        ),
    ];
    if rotate {
        c.push(format!("aws kms enable-key-rotation --region {region} --key-id <key-id> --rotation-period-in-days 365"));
    }
    c
}

fn storage_keys(ctx: &Ctx<'_>, keys: &mut Vec<ProposedKey>, steps: &mut Vec<Step>) {
    let service = if ctx.option <= 2 { "rds" } else { "ec2" };
    let mut regions = vec![ctx.r().to_string()];
    regions.extend(
        ctx.row
            .copy_regions
            .iter()
            .filter(|r| r.as_str() != ctx.r())
            .cloned(),
    );
    for region in &regions {
        let alias = ctx.storage_alias(region);
        let spec = PolicySpec {
            account: ctx.principals.account.clone(),
            admin_principals: vec![ctx.principals.key_admin.clone()],
            user_principals: vec![ctx.principals.db_operator.clone()],
            key_use: KeyUse::Service {
                service: service.into(),
                region: region.clone(),
            },
            share_with_accounts: if ctx.sharing {
                ctx.principals.share_with.clone()
            } else {
                Vec::new()
            },
            service_principals: ctx.row.trusted_services.clone(),
        };
        keys.push(ProposedKey {
            alias: alias.clone(),
            region: region.clone(),
            purpose: format!(
                "{} storage encryption of `{}`",
                service.to_uppercase(),
                ctx.n()
            ),
            key_store: if ctx.custom_store() {
                "custom-key-store".into()
            } else {
                "standard".into()
            },
            policy: key_policy(&spec),
        });
    }
    if ctx.custom_store() {
        steps.push(step(
            "Prepare the custom key store",
            "CloudHSM key store: an active FIPS-mode hsm2m.medium cluster with at least two HSMs in two AZs, a `kmsuser` crypto user and the trust anchor certificate; or an external key store: an XKS proxy in front of your key manager. Custom-key-store keys cannot rotate automatically and cannot be multi-Region, so every Region gets its own key.",
            vec![
                "aws cloudhsmv2 create-cluster --hsm-type hsm2m.medium --mode FIPS --subnet-ids <subnet-az1> <subnet-az2>".into(),
                "aws kms create-custom-key-store --custom-key-store-name atrest-store --cloud-hsm-cluster-id <cluster-id> --trust-anchor-certificate file://customerCA.crt --key-store-password <kmsuser-password>".into(),
                "aws kms connect-custom-key-store --custom-key-store-id <custom-key-store-id>".into(),
            ],
            &["cloudhsm-key-store-prerequisites", "custom-key-store-key-limits", "cloudhsm-fips-mode"],
        ));
    }
    let mut commands = Vec::new();
    for key in keys.iter().filter(|k| k.purpose.contains("storage")) {
        let file = format!(
            "{}.policy.json",
            key.alias.trim_start_matches("alias/").replace('/', "-")
        );
        commands.extend(create_key_commands(
            ctx.custom_store(),
            &key.alias,
            &key.region,
            &file,
        ));
    }
    steps.push(step(
        "Create the customer managed storage key(s)",
        format!(
            "One key per Region ({}), with the least-privilege key policy below: administrators manage but never use it, the database role uses it only through {} (`kms:ViaService`). A customer managed key (not aws/{service}) keeps snapshots shareable and the key policy yours.",
            regions.join(", "),
            service.to_uppercase()
        ),
        commands,
        &["rds-snapshot-share-default-key", "kms-auto-rotation-scope", "rds-cross-region-copy-key"],
    ));
}

fn rds_steps(ctx: &Ctx<'_>, steps: &mut Vec<Step>) {
    let (n, r) = (ctx.n(), ctx.r());
    let alias = ctx.storage_alias(r);
    let encrypted = ctx.row.encryption.starts_with("rds-");
    let needs_rekey = encrypted && (ctx.row.encryption != "rds-kms" || ctx.custom_store());
    match ctx.row.hosting.as_str() {
        "rds" | "aurora" if ctx.row.encryption == "none" || needs_rekey => {
            let why = if needs_rekey {
                "The key of an encrypted instance cannot be changed: copy a snapshot under the new key and restore it."
            } else {
                "RDS cannot encrypt an existing instance in place: snapshot it, copy the snapshot with the key (the copy is encrypted), restore, and cut over. Plan the write freeze and downtime."
            };
            let commands = if ctx.aurora() || ctx.row.hosting == "aurora" {
                vec![
                    format!("aws rds create-db-cluster-snapshot --region {r} --db-cluster-identifier {n} --db-cluster-snapshot-identifier {n}-pre-encryption"),
                    format!("aws rds restore-db-cluster-from-snapshot --region {r} --db-cluster-identifier {n}-enc --snapshot-identifier {n}-pre-encryption --engine {} --kms-key-id {alias}", ctx.rds_engine),
                    format!("aws rds create-db-instance --region {r} --db-cluster-identifier {n}-enc --db-instance-identifier {n}-enc-1 --engine {} --db-instance-class <class>", ctx.rds_engine),
                ]
            } else {
                vec![
                    format!("aws rds create-db-snapshot --region {r} --db-instance-identifier {n} --db-snapshot-identifier {n}-pre-encryption"),
                    format!("aws rds copy-db-snapshot --region {r} --source-db-snapshot-identifier {n}-pre-encryption --target-db-snapshot-identifier {n}-encrypted --kms-key-id {alias}"),
                    format!("aws rds restore-db-instance-from-db-snapshot --region {r} --db-instance-identifier {n}-enc --db-snapshot-identifier {n}-encrypted"),
                ]
            };
            steps.push(step(
                if needs_rekey { "Re-key through a snapshot copy" } else { "Encrypt through snapshot, copy and restore" },
                why,
                commands,
                &["rds-encrypt-only-at-creation", "rds-key-cannot-change", "aurora-encrypt-on-restore"],
            ));
        }
        "rds" | "aurora" => steps.push(step(
            "Confirm the current encryption",
            "Already encrypted with a customer managed KMS key: confirm the key's policy and rotation match the proposal below; no data move is needed.",
            vec![format!("aws rds describe-db-instances --region {r} --db-instance-identifier {n} --query 'DBInstances[0].[StorageEncrypted,KmsKeyId]'")],
            &[],
        )),
        _ => steps.push(step(
            "Create the encrypted target and migrate",
            "Create the RDS database encrypted from the start, then move the data with AWS DMS (full load plus change data capture) or native dump/restore, and cut over.",
            vec![
                format!(
                    "aws rds create-db-instance --region {r} --db-instance-identifier {n} --engine {} {}--storage-encrypted --kms-key-id {alias} --db-instance-class <class> --allocated-storage <GiB> --master-username <user> --manage-master-user-password",
                    ctx.rds_engine,
                    if ctx.row.version.is_empty() { String::new() } else { format!("--engine-version {} ", ctx.row.version) }
                ),
                format!("aws dms create-replication-task --region {r} --replication-task-identifier {n}-migration --migration-type full-load-and-cdc --source-endpoint-arn <source> --target-endpoint-arn <target> --replication-instance-arn <instance> --table-mappings file://mappings.json"),
            ],
            &["rds-encryption-scope"],
        )),
    }
    let target = if ctx.row.hosting == "rds" || ctx.row.hosting == "aurora" {
        format!("{n}-enc")
    } else {
        n.to_string()
    };
    for replica in &ctx.row.read_replicas {
        steps.push(step(
            &format!("Recreate read replica `{replica}`"),
            "Replicas follow the primary: same encryption state, and in the same Region the same key.",
            vec![format!("aws rds create-db-instance-read-replica --region {r} --db-instance-identifier {replica} --source-db-instance-identifier {target}")],
            &["rds-read-replica-key"],
        ));
    }
    for dest in ctx.row.copy_regions.iter().filter(|d| d.as_str() != r) {
        steps.push(step(
            &format!("Cross-Region copies to {dest}"),
            format!("Copies and replicas in {dest} must name a key in {dest}: {}.", ctx.storage_alias(dest)),
            vec![format!(
                "aws rds copy-db-snapshot --region {dest} --source-db-snapshot-identifier arn:aws:rds:{r}:{}:snapshot:<snapshot> --target-db-snapshot-identifier <copy> --kms-key-id {}",
                ctx.principals.account,
                ctx.storage_alias(dest)
            )],
            &["rds-cross-region-copy-key", "custom-key-store-no-multi-region"],
        ));
    }
}

fn ec2_ebs_steps(ctx: &Ctx<'_>, steps: &mut Vec<Step>) {
    let r = ctx.r();
    let alias = ctx.storage_alias(r);
    steps.push(step(
        "Turn on EBS encryption by default",
        "New volumes and snapshot copies in the Region are then encrypted with the storage key; existing volumes are not changed by it.",
        vec![
            format!("aws ec2 enable-ebs-encryption-by-default --region {r}"),
            format!("aws ec2 modify-ebs-default-kms-key-id --region {r} --kms-key-id {alias}"),
        ],
        &["ebs-default-encryption", "ebs-default-key"],
    ));
    if ctx.row.hosting == "ec2" && ctx.row.encryption == "none" {
        steps.push(step(
            "Encrypt the existing volumes",
            "EBS cannot encrypt a volume in place: snapshot each database volume, copy the snapshot encrypted with the key, create a volume from it, and swap it in while the database is stopped.",
            vec![
                format!("aws ec2 create-snapshot --region {r} --volume-id <volume-id> --description \"{} pre-encryption\"", ctx.n()),
                format!("aws ec2 copy-snapshot --region {r} --source-region {r} --source-snapshot-id <snapshot-id> --encrypted --kms-key-id {alias}"),
                format!("aws ec2 create-volume --region {r} --snapshot-id <encrypted-snapshot-id> --availability-zone <az> --encrypted --kms-key-id {alias}"),
                format!("aws ec2 detach-volume --region {r} --volume-id <volume-id> && aws ec2 attach-volume --region {r} --volume-id <new-volume-id> --instance-id <instance-id> --device <device>"),
            ],
            &["ebs-no-in-place-encryption"],
        ));
    } else if ctx.row.hosting != "ec2" {
        steps.push(step(
            "Launch the database host with encrypted volumes and migrate",
            "Launch the EC2 host with encrypted data volumes, install the engine, and move the data with native replication or backup and restore.",
            vec![format!(
                "aws ec2 run-instances --region {r} --image-id <ami> --instance-type <type> --block-device-mappings 'DeviceName=/dev/sdf,Ebs={{VolumeSize=<GiB>,VolumeType=gp3,Encrypted=true,KmsKeyId={alias}}}' --tag-specifications 'ResourceType=instance,Tags=[{{Key=atrest:database,Value={}}}]'",
                ctx.n()
            )],
            &["ebs-default-encryption"],
        ));
    }
}

fn luks_steps(ctx: &Ctx<'_>, steps: &mut Vec<Step>) {
    steps.push(step(
        "Format the data volume with LUKS2 (FIPS-friendly)",
        "Use PBKDF2 for key slots on a FIPS-mode kernel (argon2id is not FIPS-approved). Keep a header backup apart from the data: without it a damaged header loses the volume.",
        vec![
            "cryptsetup luksFormat --type luks2 --pbkdf pbkdf2 --cipher aes-xts-plain64 --key-size 512 /dev/nvme1n1".into(),
            format!("cryptsetup luksHeaderBackup /dev/nvme1n1 --header-backup-file /root/{}-luks-header.img", ctx.n()),
        ],
        &["luks-defaults", "luks-fips-pbkdf2"],
    ));
    steps.push(step(
        "Set up unattended unlock",
        "Bind a key slot to NitroTPM (Clevis tpm2) or to a Tang server so the host unlocks at boot without a person typing a passphrase; keep a recovery passphrase in escrow.",
        vec![
            "clevis luks bind -d /dev/nvme1n1 tpm2 '{\"pcr_ids\":\"7\"}'".into(),
            format!("echo '{}-data /dev/nvme1n1 none luks,_netdev' >> /etc/crypttab", ctx.n()),
        ],
        &["luks-unattended-unlock"],
    ));
    steps.push(step(
        "Move the data and test a reboot",
        "Open the volume, create the file system, stop the database, copy the data, switch the data directory, and reboot once to prove the unlock path.",
        vec![
            format!("cryptsetup open /dev/nvme1n1 {}-data && mkfs.xfs /dev/mapper/{}-data", ctx.n(), ctx.n()),
        ],
        &[],
    ));
}

fn tde_steps(ctx: &Ctx<'_>, catalog: &Catalog, steps: &mut Vec<Step>) {
    let family = catalog
        .engine(&ctx.row.engine)
        .map(|e| e.family.clone())
        .unwrap_or_default();
    let products = catalog
        .engine(&ctx.row.engine)
        .and_then(|e| e.ec2_tde.as_ref())
        .map(|t| t.products.join(", "))
        .unwrap_or_else(|| "the engine's TDE".into());
    if ctx.option == 7 {
        steps.push(step(
            "Create the CloudHSM cluster and connect the database hosts",
            "A FIPS-mode hsm2m.medium cluster with at least two HSMs in two AZs; install CloudHSM Client SDK 5 (PKCS#11) on every database host and create a crypto user for the database.",
            vec![
                "aws cloudhsmv2 create-cluster --hsm-type hsm2m.medium --mode FIPS --subnet-ids <subnet-az1> <subnet-az2>".into(),
                "aws cloudhsmv2 create-hsm --cluster-id <cluster-id> --availability-zone <az1>".into(),
                "aws cloudhsmv2 create-hsm --cluster-id <cluster-id> --availability-zone <az2>".into(),
            ],
            &["cloudhsm-hsm2m-fips-140-3-l3", "cloudhsm-fips-mode", "cloudhsm-oracle-tde-pkcs11"],
        ));
    }
    let (title, commands): (&str, Vec<String>) = match (family.as_str(), ctx.option) {
        ("oracle", 7) => (
            "Put the TDE master key in CloudHSM",
            vec![
                "# sqlnet.ora: ENCRYPTION_WALLET_LOCATION=(SOURCE=(METHOD=HSM))".into(),
                "ADMINISTER KEY MANAGEMENT SET KEYSTORE OPEN IDENTIFIED BY \"<crypto-user>:<password>\";".into(),
                "ADMINISTER KEY MANAGEMENT SET ENCRYPTION KEY IDENTIFIED BY \"<crypto-user>:<password>\";  -- add MIGRATE USING <wallet-password> when moving from a wallet".into(),
                "ALTER TABLESPACE <tablespace> ENCRYPTION ONLINE USING 'AES256' ENCRYPT;".into(),
            ],
        ),
        ("oracle", _) => (
            "Create the TDE keystore and encrypt",
            vec![
                "ADMINISTER KEY MANAGEMENT CREATE KEYSTORE '<wallet-dir>' IDENTIFIED BY <password>;".into(),
                "ADMINISTER KEY MANAGEMENT SET KEYSTORE OPEN IDENTIFIED BY <password>;".into(),
                "ADMINISTER KEY MANAGEMENT SET KEY IDENTIFIED BY <password> WITH BACKUP;".into(),
                "ALTER TABLESPACE <tablespace> ENCRYPTION ONLINE USING 'AES256' ENCRYPT;".into(),
                "ALTER TABLE <table> MODIFY (<column> ENCRYPT USING 'AES256');  -- column-level, where needed".into(),
            ],
        ),
        ("sqlserver", _) => (
            "Create the TDE keys and encrypt the database",
            vec![
                "CREATE MASTER KEY ENCRYPTION BY PASSWORD = '<password>';".into(),
                "CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE certificate';".into(),
                "BACKUP CERTIFICATE TdeCert TO FILE = '<path>' WITH PRIVATE KEY (FILE = '<path>.pvk', ENCRYPTION BY PASSWORD = '<password>');".into(),
                format!("USE [{}]; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TdeCert; ALTER DATABASE [{}] SET ENCRYPTION ON;", ctx.n(), ctx.n()),
            ],
        ),
        _ => ("Turn on the engine's TDE", vec![format!("# follow the vendor procedure for {products}")]),
    };
    steps.push(step(
        title,
        format!("With {products}. Back the keystore or certificate up apart from the data: backups and snapshots are useless without it."),
        commands,
        &["oracle-tde-ec2-hsm", "rds-snapshot-share-tde"],
    ));
}

fn overlay_steps(ctx: &Ctx<'_>, keys: &mut Vec<ProposedKey>, steps: &mut Vec<Step>) {
    let (n, r) = (ctx.n(), ctx.r());
    for overlay in &ctx.overlays {
        match overlay.as_str() {
            "app-layer-cell-encryption" => {
                let alias = format!("alias/atrest/{n}-cells");
                let spec = PolicySpec {
                    account: ctx.principals.account.clone(),
                    admin_principals: vec![ctx.principals.key_admin.clone()],
                    user_principals: vec![ctx.principals.app.clone()],
                    key_use: KeyUse::AppDataKeys { region: r.to_string() },
                    share_with_accounts: Vec::new(),
                    service_principals: Vec::new(),
                };
                keys.push(ProposedKey {
                    alias: alias.clone(),
                    region: r.to_string(),
                    purpose: format!("application-layer data keys for sensitive fields of `{n}`"),
                    key_store: "standard".into(),
                    policy: key_policy(&spec),
                });
                let file = format!("{}.policy.json", alias.trim_start_matches("alias/").replace('/', "-"));
                let mut commands = create_key_commands(false, &alias, r, &file);
                commands.push(format!(
                    "atrest cell encrypt --kms-key-id {alias} --region {r} --keyring {n}.keyring.json --table <table> --csv export.csv --column <column> --row-key <id-column> --out encrypted.csv"
                ));
                steps.push(step(
                    "Encrypt sensitive fields in the application",
                    "A separate KMS key for data keys, usable only by the application role and only with an encryption context naming table and column. Encrypt on write, decrypt on read; backfill existing rows in batches, then drop the plaintext columns.",
                    commands,
                    &["pci-3-5-1-2", "app-layer-encryption-sdk"],
                ));
            }
            "rds-native-tde" => {
                let major = ctx.row.version.split('.').next().unwrap_or_default();
                steps.push(step(
                    "Turn on RDS-native TDE",
                    "Add the TDE option to an option group and attach it. On Oracle the option is permanent; snapshots of TDE databases cannot be shared with other accounts; the TDE keys are managed by RDS.",
                    vec![
                        format!("aws rds create-option-group --region {r} --option-group-name {n}-tde --engine-name {} --major-engine-version {major} --option-group-description \"TDE for {n}\"", ctx.rds_engine),
                        format!("aws rds add-option-to-option-group --region {r} --option-group-name {n}-tde --options OptionName=TDE --apply-immediately"),
                        format!("aws rds modify-db-instance --region {r} --db-instance-identifier {n} --option-group-name {n}-tde --apply-immediately"),
                    ],
                    &["rds-oracle-tde", "rds-sqlserver-tde", "rds-snapshot-share-tde"],
                ));
            }
            "native-column-encryption" => steps.push(step(
                "Encrypt columns with Always Encrypted",
                "Create a column master key outside the database (certificate store, key vault or HSM), column encryption keys, encrypt the columns, and enable `Column Encryption Setting=Enabled` in the application's connection strings.",
                vec![
                    "CREATE COLUMN MASTER KEY CMK1 WITH (KEY_STORE_PROVIDER_NAME = '<provider>', KEY_PATH = '<path>');".into(),
                    "CREATE COLUMN ENCRYPTION KEY CEK1 WITH VALUES (COLUMN_MASTER_KEY = CMK1, ALGORITHM = 'RSA_OAEP', ENCRYPTED_VALUE = <value>);".into(),
                ],
                &["sqlserver-always-encrypted"],
            )),
            _ => {}
        }
    }
}

/// The runbook and the keys it creates for one database.
pub fn build(
    row: &DatabaseRow,
    rec: &Recommendation,
    catalog: &Catalog,
    principals: &Principals,
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
            "Revisit the requirements",
            format!("No option meets them; exclusions: {}.", reasons.join("; ")),
            Vec::new(),
            &[],
        ));
        return (steps, keys);
    };
    let engine = catalog.engine(&row.engine);
    let ctx = Ctx {
        row,
        rds_engine: engine
            .and_then(|e| e.rds_engine.clone())
            .unwrap_or_else(|| row.engine.clone()),
        principals,
        option: target.option,
        overlays: rec.overlays.iter().map(|o| o.id.clone()).collect(),
        sharing: rec
            .requirements
            .get("data.snapshot_sharing")
            .is_some_and(|v| v.render() == "cross-account"),
    };
    if matches!(target.option, 1..=4) {
        storage_keys(&ctx, &mut keys, &mut steps);
    }
    match target.option {
        1 | 2 => rds_steps(&ctx, &mut steps),
        3 | 4 => ec2_ebs_steps(&ctx, &mut steps),
        5 => luks_steps(&ctx, &mut steps),
        _ => tde_steps(&ctx, catalog, &mut steps),
    }
    overlay_steps(&ctx, &mut keys, &mut steps);
    steps.push(step(
        "Verify and keep evidence",
        "Audit the account after cut-over: the database must classify as the target option with the proposed key, and every check must pass.",
        vec![format!("atrest audit --regions {} --format markdown > {}-audit.md", row.region, row.name)],
        &[],
    ));
    (steps, keys)
}
