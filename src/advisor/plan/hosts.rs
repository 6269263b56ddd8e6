//! Runbooks for databases on EC2 hosts: EBS volumes re-encrypted by snapshot copy and swap, LUKS on a new data
//! volume (or re-keyed in place by key slots, never reformatted), engine TDE with its keystore or CloudHSM, and the
//! custom key stores (CloudHSM or external) that options 2 and 4 need.

use super::runbook::{
    Command, Ctx, Phase, Step, aws, host, key_arn_command, key_var, manual, sql, step,
};

/// The EC2 instance of a database, found by its `atrest:database` tag (the tag `atrest audit` selects hosts by).
fn find_instance(ctx: &Ctx<'_>) -> Command {
    aws(format!(
        "instance=$(aws ec2 describe-instances --region {r} --filters Name=tag:atrest:database,Values={n} Name=instance-state-name,Values=pending,running,stopping,stopped --query 'Reservations[0].Instances[0].InstanceId' --output text)\n[ \"$instance\" != None ] || {{ echo 'no EC2 instance tagged atrest:database={n}' >&2; exit 1; }}",
        r = ctx.r(),
        n = ctx.n()
    ))
}

fn data_dir(family: &str) -> &'static str {
    match family {
        "postgresql" => "/var/lib/pgsql",
        "mysql" | "mariadb" => "/var/lib/mysql",
        "mongodb" => "/var/lib/mongo",
        "oracle" => "/u01/app/oracle/oradata",
        "sqlserver" => "/var/opt/mssql",
        "db2" => "/db2/data",
        _ => "/var/lib/database",
    }
}

/// Encrypts every permanent tablespace not yet encrypted, online (Oracle 12.2 and later).
const ENCRYPT_TABLESPACES: &str = "BEGIN FOR t IN (SELECT tablespace_name FROM dba_tablespaces WHERE contents = 'PERMANENT' AND encrypted = 'NO') LOOP EXECUTE IMMEDIATE 'ALTER TABLESPACE \"' || t.tablespace_name || '\" ENCRYPTION ONLINE USING ''AES256'' ENCRYPT'; END LOOP; END;";

/// The systemd unit of the database server, as the engines' own packages name it; `$DB_SERVICE` (an input of the
/// script) where the engine ships none.
fn service(family: &str) -> &'static str {
    match family {
        "postgresql" => "postgresql",
        "mysql" => "mysqld",
        "mariadb" => "mariadb",
        "mongodb" => "mongod",
        "sqlserver" => "mssql-server",
        _ => "\"$DB_SERVICE\"",
    }
}

fn launch_host(ctx: &Ctx<'_>, tags: &str, why: &str) -> Step {
    let (n, r) = (ctx.n(), ctx.r());
    let size = ctx.row.size_gib.map_or(100, |s| s + s / 4);
    step(
        Phase::Prepare,
        "Launch the database host",
        format!(
            "{why} The data volume is encrypted by EBS under the Region's default key (the fleet decision); instance type, subnet and AMI come from `INSTANCE_TYPE`, `SUBNET_ID` and `AMI_ID` when set."
        ),
        vec![aws(format!(
            "aws ec2 run-instances --region {r} --image-id \"${{AMI_ID:-$(aws ssm get-parameter --region {r} --name /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64 --query Parameter.Value --output text)}}\" --instance-type \"${{INSTANCE_TYPE:-r6i.large}}\" ${{SUBNET_ID:+--subnet-id \"$SUBNET_ID\"}} --metadata-options HttpTokens=required --block-device-mappings 'DeviceName=/dev/sdf,Ebs={{VolumeSize={size},VolumeType=gp3,Encrypted=true,DeleteOnTermination=false}}' --tag-specifications 'ResourceType=instance,Tags=[{{Key=atrest:database,Value={n}}}{tags}]' 'ResourceType=volume,Tags=[{{Key=atrest:database,Value={n}}}]'"
        ))],
        &["ebs-default-encryption"],
    )
}

/// Options 3 and 4: the host's volumes under the database's key.
pub(super) fn ebs_steps(ctx: &Ctx<'_>, steps: &mut Vec<Step>) {
    let (n, r) = (ctx.n(), ctx.r());
    let alias = ctx.storage_alias(r);
    let key = format!("\"${}\"", key_var(&alias));
    let on_target = ctx.row.encryption == "ebs-kms" && !ctx.custom_store();
    if ctx.row.hosting != "ec2" {
        steps.push(launch_host(
            ctx,
            "",
            "A new host for the database, with its volumes under the database's key.",
        ));
        steps.push(step(
            Phase::Migrate,
            "Install the engine and move the data",
            "Install the same engine version, then move the data by native replication (a replica that is promoted at the cut-over) or backup and restore.",
            vec![manual("install the engine, replicate or restore the data, cut the applications over")],
            &[],
        ));
        return;
    }
    if on_target {
        steps.push(step(
            Phase::Verify,
            "Confirm the volumes' key",
            "Already on a customer managed key: confirm each volume names the planned key.",
            vec![
                find_instance(ctx),
                aws(format!("aws ec2 describe-volumes --region {r} --filters Name=attachment.instance-id,Values=\"$instance\" --query 'Volumes[].[VolumeId,Encrypted,KmsKeyId]' --output text")),
            ],
            &[],
        ));
        return;
    }
    steps.push(step(
        Phase::Migrate,
        "Re-encrypt every volume of the host under the key",
        format!("EBS cannot encrypt or re-key a volume in place (this covers unencrypted volumes and volumes under aws/ebs alike): with the database stopped, snapshot each volume, copy the snapshot under `{alias}`, create a volume from it in the same Availability Zone with the same type, and swap it in at the same device. The old volumes stay, detached and tagged, for the rollback."),
        vec![
            key_arn_command(&alias, r),
            find_instance(ctx),
            manual("stop the database cleanly on the host before the instance stops"),
            aws(format!("aws ec2 stop-instances --region {r} --instance-ids \"$instance\"")),
            aws(format!("aws ec2 wait instance-stopped --region {r} --instance-ids \"$instance\"")),
            aws(format!(
                "for vol in $(aws ec2 describe-volumes --region {r} --filters Name=attachment.instance-id,Values=\"$instance\" --query 'Volumes[].VolumeId' --output text); do\n  \
                 device=$(aws ec2 describe-volumes --region {r} --volume-ids \"$vol\" --query 'Volumes[0].Attachments[0].Device' --output text)\n  \
                 az=$(aws ec2 describe-volumes --region {r} --volume-ids \"$vol\" --query 'Volumes[0].AvailabilityZone' --output text)\n  \
                 type=$(aws ec2 describe-volumes --region {r} --volume-ids \"$vol\" --query 'Volumes[0].VolumeType' --output text)\n  \
                 snap=$(aws ec2 create-snapshot --region {r} --volume-id \"$vol\" --description \"{n} $vol pre-encryption\" --tag-specifications 'ResourceType=snapshot,Tags=[{{Key=atrest:database,Value={n}}},{{Key=atrest:pre-encryption,Value=true}}]' --query SnapshotId --output text)\n  \
                 aws ec2 wait snapshot-completed --region {r} --snapshot-ids \"$snap\"\n  \
                 enc=$(aws ec2 copy-snapshot --region {r} --source-region {r} --source-snapshot-id \"$snap\" --encrypted --kms-key-id {key} --description \"{n} $vol encrypted\" --query SnapshotId --output text)\n  \
                 aws ec2 wait snapshot-completed --region {r} --snapshot-ids \"$enc\"\n  \
                 new=$(aws ec2 create-volume --region {r} --snapshot-id \"$enc\" --availability-zone \"$az\" --volume-type \"$type\" --encrypted --kms-key-id {key} --tag-specifications \"ResourceType=volume,Tags=[{{Key=atrest:database,Value={n}}},{{Key=atrest:replaces,Value=$vol}}]\" --query VolumeId --output text)\n  \
                 aws ec2 wait volume-available --region {r} --volume-ids \"$new\"\n  \
                 aws ec2 detach-volume --region {r} --volume-id \"$vol\" --instance-id \"$instance\"\n  \
                 aws ec2 wait volume-available --region {r} --volume-ids \"$vol\"\n  \
                 aws ec2 attach-volume --region {r} --volume-id \"$new\" --instance-id \"$instance\" --device \"$device\"\n  \
                 aws ec2 wait volume-in-use --region {r} --volume-ids \"$new\"\n\
                 done"
            )),
            aws(format!("aws ec2 start-instances --region {r} --instance-ids \"$instance\"")),
            aws(format!("aws ec2 wait instance-running --region {r} --instance-ids \"$instance\"")),
        ],
        &["ebs-no-in-place-encryption"],
    ));
    steps.push(step(
        Phase::Rollback,
        "Roll back to the old volumes",
        "Stop the instance and attach each old volume (named by the new volume's `atrest:replaces` tag) at its device again.",
        vec![
            find_instance(ctx),
            aws(format!("aws ec2 stop-instances --region {r} --instance-ids \"$instance\"")),
            aws(format!("aws ec2 wait instance-stopped --region {r} --instance-ids \"$instance\"")),
            aws(format!(
                "for new in $(aws ec2 describe-volumes --region {r} --filters Name=attachment.instance-id,Values=\"$instance\" Name=tag-key,Values=atrest:replaces --query 'Volumes[].VolumeId' --output text); do\n  \
                 old=$(aws ec2 describe-volumes --region {r} --volume-ids \"$new\" --query \"Volumes[0].Tags[?Key=='atrest:replaces'].Value | [0]\" --output text)\n  \
                 device=$(aws ec2 describe-volumes --region {r} --volume-ids \"$new\" --query 'Volumes[0].Attachments[0].Device' --output text)\n  \
                 aws ec2 detach-volume --region {r} --volume-id \"$new\" --instance-id \"$instance\"\n  \
                 aws ec2 wait volume-available --region {r} --volume-ids \"$new\"\n  \
                 aws ec2 attach-volume --region {r} --volume-id \"$old\" --instance-id \"$instance\" --device \"$device\"\n  \
                 aws ec2 wait volume-in-use --region {r} --volume-ids \"$old\"\n\
                 done"
            )),
            aws(format!("aws ec2 start-instances --region {r} --instance-ids \"$instance\"")),
        ],
        &[],
    ));
    steps.push(step(
        Phase::Cleanup,
        "Delete the plaintext volumes and snapshots",
        "After the rollback window: the detached old volumes and the pre-encryption snapshots hold the data outside the key.",
        vec![
            aws(format!(
                "for new in $(aws ec2 describe-volumes --region {r} --filters Name=tag:atrest:database,Values={n} Name=tag-key,Values=atrest:replaces --query 'Volumes[].VolumeId' --output text); do\n  \
                 old=$(aws ec2 describe-volumes --region {r} --volume-ids \"$new\" --query \"Volumes[0].Tags[?Key=='atrest:replaces'].Value | [0]\" --output text)\n  \
                 aws ec2 delete-volume --region {r} --volume-id \"$old\"\n\
                 done"
            )),
            aws(format!(
                "for s in $(aws ec2 describe-snapshots --region {r} --owner-ids self --filters Name=tag:atrest:database,Values={n} Name=tag:atrest:pre-encryption,Values=true --query 'Snapshots[].SnapshotId' --output text); do\n  \
                 aws ec2 delete-snapshot --region {r} --snapshot-id \"$s\"\n\
                 done"
            )),
        ],
        &[],
    ));
}

/// How LUKS unlocks at boot: Tang on premises when the keys must be customer-held (NitroTPM is AWS-provided),
/// NitroTPM otherwise.
fn luks_binding(ctx: &Ctx<'_>) -> (&'static str, String, &'static str) {
    if ctx.custody_customer || ctx.variant == "luks-network-bound" {
        (
            "Tang",
            "clevis luks bind -d \"$dev\" tang \"{\\\"url\\\":\\\"$TANG_URL\\\"}\"".into(),
            "luks,_netdev",
        )
    } else {
        (
            "NitroTPM",
            "clevis luks bind -d \"$dev\" tpm2 '{\"pcr_ids\":\"7\"}'".into(),
            "luks",
        )
    }
}

/// Option 5.
pub(super) fn luks_steps(ctx: &Ctx<'_>, steps: &mut Vec<Step>) {
    let (n, r) = (ctx.n(), ctx.r());
    let (binding, bind, options) = luks_binding(ctx);
    let header = format!(
        "cryptsetup luksHeaderBackup \"$dev\" --header-backup-file /run/{n}-luks-header.img"
    );
    let off_host = format!(
        "scp /run/{n}-luks-header.img \"$HEADER_ESCROW\":{n}-luks-header-$(date +%F).img && shred -u /run/{n}-luks-header.img"
    );
    let dev =
        "dev=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_$(echo \"$data_volume\" | tr -d -)";
    if ctx.row.encryption == "luks" {
        let dir = data_dir(&ctx.family);
        steps.push(step(
            Phase::Migrate,
            "Re-key LUKS by key slots, without touching the data",
            format!("The volume already holds LUKS data: never `luksFormat` it (that wipes it). Add the new unlock secret ({binding}) in a free key slot, remove the old slot, and re-encrypt the volume key online with `cryptsetup reencrypt` when the volume key itself must change. Back the header up before and after, off the host."),
            vec![
                host(format!("dev=$(cryptsetup status \"$(findmnt -n -o SOURCE --target {dir})\" | awk '$1 == \"device:\" {{print $2}}')   # the LUKS volume under the data directory")),
                host(header.clone()),
                host(off_host.clone()),
                host("old_slots=$(cryptsetup luksDump \"$dev\" | awk '/^Keyslots:/ {k = 1; next} /^[^ \\t]/ {k = 0} k && $2 == \"luks2\" {sub(\":\", \"\", $1); print $1}')   # the slots of the old secrets".to_string()),
                host(bind.clone()),
                host("cryptsetup luksAddKey \"$dev\"   # a new recovery passphrase, into escrow".to_string()),
                host("for slot in $old_slots; do cryptsetup luksKillSlot \"$dev\" \"$slot\"; done".to_string()),
                host("cryptsetup reencrypt \"$dev\"   # online LUKS2 volume-key rotation, when required".to_string()),
                host(header),
                host(off_host),
            ],
            &["luks-defaults", "luks-unattended-unlock"],
        ));
        return;
    }
    if ctx.row.hosting == "ec2" {
        steps.push(step(
            Phase::Prepare,
            "Add an empty data volume",
            "LUKS is formatted on a new, empty volume; the data is copied onto it, never formatted in place.",
            vec![
                find_instance(ctx),
                aws(format!("az=$(aws ec2 describe-instances --region {r} --instance-ids \"$instance\" --query 'Reservations[0].Instances[0].Placement.AvailabilityZone' --output text)")),
                aws(format!("data_volume=$(aws ec2 create-volume --region {r} --availability-zone \"$az\" --size {} --volume-type gp3 --encrypted --tag-specifications 'ResourceType=volume,Tags=[{{Key=atrest:database,Value={n}}},{{Key=atrest:role,Value=luks-data}}]' --query VolumeId --output text)", ctx.row.size_gib.map_or(100, |s| s + s / 4))),
                aws(format!("aws ec2 wait volume-available --region {r} --volume-ids \"$data_volume\"")),
                aws(format!("aws ec2 attach-volume --region {r} --volume-id \"$data_volume\" --instance-id \"$instance\" --device /dev/sdp")),
                aws(format!("aws ec2 create-tags --region {r} --resources \"$instance\" --tags Key=atrest:encryption,Value=luks")),
            ],
            &["ebs-default-encryption"],
        ));
    } else {
        steps.push(launch_host(
            ctx,
            ",{Key=atrest:encryption,Value=luks}",
            "A new host with an empty data volume for LUKS.",
        ));
    }
    let dir = data_dir(&ctx.family);
    steps.push(step(
        Phase::Migrate,
        "Format the new data volume with LUKS2 and back its header up off the host",
        "On the new, empty volume only (addressed by its stable by-id path: NVMe device names change across reboots). PBKDF2 for key slots on a FIPS-mode kernel (argon2id is not FIPS-approved). The header backup goes off the host: without it a damaged header loses the volume.",
        vec![
            host(format!("data_volume=$(aws ec2 describe-volumes --region {r} --filters Name=tag:atrest:database,Values={n} Name=tag:atrest:role,Values=luks-data --query 'Volumes[0].VolumeId' --output text); {dev}")),
            host("cryptsetup luksFormat --type luks2 --pbkdf pbkdf2 --cipher aes-xts-plain64 --key-size 512 \"$dev\"".to_string()),
            host(header),
            host(off_host),
        ],
        &["luks-defaults", "luks-fips-pbkdf2"],
    ));
    steps.push(step(
        Phase::Migrate,
        &format!("Unlock at boot with {binding}"),
        format!("Bind a key slot with Clevis ({binding}; keep the recovery passphrase in escrow), name the volume by `UUID=` in crypttab, mount it by its mapper name, and enable the Clevis askpass unit so systemd unlocks it at boot."),
        vec![
            host(bind),
            host(format!("echo \"{n}-data UUID=$(cryptsetup luksUUID \"$dev\") none {options}\" >> /etc/crypttab")),
            host("systemctl enable clevis-luks-askpass.path".to_string()),
            host(format!("cryptsetup open \"$dev\" {n}-data && mkfs.xfs /dev/mapper/{n}-data")),
            host(format!("mkdir -p {dir}.new && echo '/dev/mapper/{n}-data {dir} xfs defaults,nofail 0 2' >> /etc/fstab")),
        ],
        &["luks-unattended-unlock"],
    ));
    steps.push(step(
        Phase::Cutover,
        "Copy the data and prove a reboot",
        "With the database stopped, copy its data directory onto the LUKS volume, mount it in place, start the database and reboot once to prove the unlock path.",
        vec![
            host(format!("systemctl stop {unit} && mount /dev/mapper/{n}-data {dir}.new && rsync -aHAX {dir}/ {dir}.new/ && umount {dir}.new && mv {dir} {dir}.plain && mkdir {dir} && mount {dir}", unit = service(&ctx.family))),
            host(format!("systemctl start {} && systemctl reboot", service(&ctx.family))),
        ],
        &[],
    ));
    steps.push(step(
        Phase::Cleanup,
        "Remove the plaintext copy",
        "After the rollback window (until then, `mv` the plaintext directory back to roll back).",
        vec![host(format!("rm -rf {dir}.plain"))],
        &[],
    ));
}

/// Options 6 and 7: engine TDE on EC2.
pub(super) fn tde_steps(ctx: &Ctx<'_>, steps: &mut Vec<Step>) {
    let products = ctx
        .catalog
        .engine(&ctx.row.engine)
        .and_then(|e| e.ec2_tde.as_ref())
        .map(|t| t.products.join(", "))
        .unwrap_or_else(|| "the engine's TDE".into());
    if ctx.row.hosting != "ec2" {
        steps.push(launch_host(
            ctx,
            &format!(
                ",{{Key=atrest:encryption,Value=tde}},{{Key=atrest:tde-keys,Value={}}}",
                if ctx.option == 7 {
                    "cloudhsm"
                } else {
                    "wallet"
                }
            ),
            "A new host for the database.",
        ));
    }
    if ctx.option == 7 {
        steps.push(cloudhsm_cluster_step(ctx, ctx.r()));
        steps.push(step(
            Phase::Prepare,
            "Install the CloudHSM PKCS#11 library on the database host",
            "Client SDK 5 PKCS#11, pointed at the cluster, with the library where Oracle looks for HSM libraries.",
            vec![
                host("yum install -y ./cloudhsm-pkcs11-latest.el9.x86_64.rpm && /opt/cloudhsm/bin/configure-pkcs11 -a <an HSM's ENI IP>".to_string()),
                host("mkdir -p /opt/oracle/extapi/64/hsm/aws && cp /opt/cloudhsm/lib/libcloudhsm_pkcs11.so /opt/oracle/extapi/64/hsm/aws/ && chown -R oracle:oinstall /opt/oracle/extapi".to_string()),
            ],
            &["cloudhsm-oracle-tde-pkcs11"],
        ));
    }
    let existing = ctx.row.encryption == "tde";
    let (title, commands): (&str, Vec<Command>) = match (ctx.family.as_str(), ctx.option) {
        ("oracle", 7) => (
            "Put the TDE master key in CloudHSM",
            vec![
                sql(
                    "ALTER SYSTEM SET WALLET_ROOT = '/opt/oracle/admin/&&oracle_sid/wallet' SCOPE = SPFILE;  -- then restart",
                ),
                sql(
                    "ALTER SYSTEM SET TDE_CONFIGURATION = 'KEYSTORE_CONFIGURATION=HSM|FILE' SCOPE = BOTH;",
                ),
                sql(
                    "ADMINISTER KEY MANAGEMENT SET KEYSTORE OPEN IDENTIFIED BY \"&&hsm_crypto_user:&&hsm_crypto_password\" CONTAINER = ALL;",
                ),
                sql(if existing {
                    "ADMINISTER KEY MANAGEMENT SET ENCRYPTION KEY IDENTIFIED BY \"&&hsm_crypto_user:&&hsm_crypto_password\" MIGRATE USING \"&&wallet_password\" WITH BACKUP CONTAINER = ALL;  -- moves the master key from the existing wallet"
                } else {
                    "ADMINISTER KEY MANAGEMENT SET ENCRYPTION KEY IDENTIFIED BY \"&&hsm_crypto_user:&&hsm_crypto_password\" CONTAINER = ALL;"
                }),
                sql(ENCRYPT_TABLESPACES),
            ],
        ),
        ("oracle", _) => {
            let mut c = vec![
                sql(
                    "ALTER SYSTEM SET WALLET_ROOT = '/opt/oracle/admin/&&oracle_sid/wallet' SCOPE = SPFILE;  -- 19c: then restart",
                ),
                sql(
                    "ALTER SYSTEM SET TDE_CONFIGURATION = 'KEYSTORE_CONFIGURATION=FILE' SCOPE = BOTH;",
                ),
            ];
            if existing {
                c.extend([
                    sql("-- on the source: ADMINISTER KEY MANAGEMENT EXPORT ENCRYPTION KEYS WITH SECRET \"&&export_secret\" TO '/tmp/tde_keys.exp' FORCE KEYSTORE IDENTIFIED BY \"&&source_keystore_password\";"),
                    host("scp \"$SOURCE_HOST\":/tmp/tde_keys.exp /tmp/  # or copy ewallet.p12 and cwallet.sso into $WALLET_ROOT/tde"),
                    sql("ADMINISTER KEY MANAGEMENT CREATE KEYSTORE IDENTIFIED BY \"&&keystore_password\";"),
                    sql("ADMINISTER KEY MANAGEMENT SET KEYSTORE OPEN IDENTIFIED BY \"&&keystore_password\" CONTAINER = ALL;"),
                    sql("ADMINISTER KEY MANAGEMENT IMPORT ENCRYPTION KEYS WITH SECRET \"&&export_secret\" FROM '/tmp/tde_keys.exp' FORCE KEYSTORE IDENTIFIED BY \"&&keystore_password\" WITH BACKUP;"),
                    sql("ADMINISTER KEY MANAGEMENT CREATE AUTO_LOGIN KEYSTORE FROM KEYSTORE IDENTIFIED BY \"&&keystore_password\";"),
                    manual("restore the datafiles (RMAN duplicate or Data Guard standby, then switchover): they open only with the imported keys"),
                ]);
            } else {
                c.extend([
                    sql("ADMINISTER KEY MANAGEMENT CREATE KEYSTORE IDENTIFIED BY \"&&keystore_password\";"),
                    sql("ADMINISTER KEY MANAGEMENT SET KEYSTORE OPEN IDENTIFIED BY \"&&keystore_password\" CONTAINER = ALL;"),
                    sql("ADMINISTER KEY MANAGEMENT SET KEY IDENTIFIED BY \"&&keystore_password\" WITH BACKUP CONTAINER = ALL;"),
                    sql("ADMINISTER KEY MANAGEMENT CREATE AUTO_LOGIN KEYSTORE FROM KEYSTORE IDENTIFIED BY \"&&keystore_password\";"),
                    sql(ENCRYPT_TABLESPACES),
                ]);
            }
            ("Configure the keystore and encrypt", c)
        }
        ("sqlserver", _) => (
            "Create the TDE keys and encrypt the database",
            vec![
                sql("USE master;"),
                sql(
                    "CREATE MASTER KEY ENCRYPTION BY PASSWORD = '$(TDE_MASTER_KEY_PASSWORD)';  -- sqlcmd takes $(...) from the environment",
                ),
                sql("CREATE CERTIFICATE TdeCert WITH SUBJECT = 'TDE certificate';"),
                sql(
                    "BACKUP CERTIFICATE TdeCert TO FILE = '/var/opt/mssql/backup/TdeCert.cer' WITH PRIVATE KEY (FILE = '/var/opt/mssql/backup/TdeCert.pvk', ENCRYPTION BY PASSWORD = '$(TDE_CERTIFICATE_BACKUP_PASSWORD)');  -- then copy both files off the host",
                ),
                sql(
                    "DECLARE @sql nvarchar(max) = N''; SELECT @sql += N'USE ' + QUOTENAME(name) + N'; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE TdeCert; ALTER DATABASE ' + QUOTENAME(name) + N' SET ENCRYPTION ON; ' FROM sys.databases WHERE database_id > 4; EXEC sp_executesql @sql;",
                ),
            ],
        ),
        ("mongodb", _) => (
            "Turn on the encrypted storage engine and re-sync",
            vec![
                host(
                    "mongod --enableEncryption --kmipServerName \"$KMIP_SERVER\" --kmipServerCAFile /etc/mongo/kmip-ca.pem --kmipClientCertificateFile /etc/mongo/kmip-client.pem  # or --encryptionKeyFile for a local key",
                ),
                manual(
                    "add the encrypted node to the replica set, let the initial sync finish, step the old primary down and remove the unencrypted members one by one (existing data files cannot be encrypted in place)",
                ),
            ],
        ),
        ("mysql", _) => (
            "Turn on InnoDB encryption with a keyring",
            vec![
                host(
                    "configure the keyring component (component_keyring_aws, or keyring_okv for a KMIP server) in the manifest and restart mysqld",
                ),
                sql(
                    "SET PERSIST default_table_encryption = ON; SET PERSIST binlog_encryption = ON;",
                ),
                host(
                    "mysql -N -e \"SELECT CONCAT('ALTER TABLE \\`', table_schema, '\\`.\\`', table_name, '\\` ENCRYPTION = ''Y'';') FROM information_schema.tables WHERE engine = 'InnoDB' AND table_schema NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema') AND create_options NOT LIKE '%ENCRYPTION=''Y''%'\" | mysql  # rebuilds each table",
                ),
                sql("ALTER INSTANCE ROTATE INNODB MASTER KEY;"),
            ],
        ),
        ("mariadb", _) => (
            "Turn on data-at-rest encryption with a key management plugin",
            vec![
                host(
                    "add to my.cnf: plugin_load_add = aws_key_management (or file_key_management), innodb_encrypt_tables = ON, innodb_encrypt_log = ON, encrypt_binlog = ON, innodb_encryption_threads = 4; restart",
                ),
                sql(
                    "SELECT NAME, ENCRYPTION_SCHEME, CURRENT_KEY_VERSION FROM information_schema.INNODB_TABLESPACES_ENCRYPTION;  -- wait until every tablespace is encrypted",
                ),
            ],
        ),
        ("postgresql", _) => (
            "Create a TDE cluster and move the data into it",
            vec![
                host(
                    "EDB Postgres Advanced Server: initdb --data-encryption ...; Percona: CREATE EXTENSION pg_tde; and tables USING tde_heap",
                ),
                manual(
                    "move the data by logical replication (publication on the source, subscription on the TDE cluster) and cut over when the subscription has caught up",
                ),
            ],
        ),
        ("db2", _) => (
            "Encrypt the database with Db2 native encryption",
            vec![
                host(
                    "db2 update dbm cfg using keystore_type pkcs12 keystore_location /db2/keystore/keystore.p12",
                ),
                host(
                    "db2 restore db \"$DB2_DATABASE\" from \"$DB2_BACKUP_DIR\" encrypt  # a backup restored into an encrypted database",
                ),
            ],
        ),
        _ => (
            "Turn on the engine's TDE",
            vec![manual(format!(
                "configure {products}, with the master key outside the data volume"
            ))],
        ),
    };
    steps.push(step(
        Phase::Migrate,
        title,
        format!("With {products}. Back the keystore or certificate up apart from the data: backups and snapshots are useless without it."),
        commands,
        &["oracle-tde-ec2-hsm", "rds-snapshot-share-tde"],
    ));
}

/// A CloudHSM cluster with two HSMs in two Availability Zones, initialised, activated and with the crypto users
/// it needs. Inputs outside the inventory come from the environment (`SUBNET_AZ1`, `SUBNET_AZ2`, `AZ1`, `AZ2`).
fn cloudhsm_cluster_commands(region: &str, kmsuser: bool) -> Vec<Command> {
    let r = region;
    let mut c = vec![
        aws(format!("cluster_id=$(aws cloudhsmv2 create-cluster --region {r} --hsm-type hsm2m.medium --mode FIPS --subnet-ids \"$SUBNET_AZ1\" \"$SUBNET_AZ2\" --query Cluster.ClusterId --output text)")),
        aws(format!("until [ \"$(aws cloudhsmv2 describe-clusters --region {r} --filters clusterIds=\"$cluster_id\" --query 'Clusters[0].State' --output text)\" = UNINITIALIZED ]; do sleep 30; done")),
        aws(format!("aws cloudhsmv2 create-hsm --region {r} --cluster-id \"$cluster_id\" --availability-zone \"$AZ1\"")),
        aws(format!("until [ \"$(aws cloudhsmv2 describe-clusters --region {r} --filters clusterIds=\"$cluster_id\" --query 'Clusters[0].Hsms[0].State' --output text)\" = ACTIVE ]; do sleep 30; done")),
        aws(format!("aws cloudhsmv2 describe-clusters --region {r} --filters clusterIds=\"$cluster_id\" --query 'Clusters[0].Certificates.ClusterCsr' --output text > \"$cluster_id\"_ClusterCsr.csr")),
        manual("sign the cluster CSR with your issuing CA: the signed cluster certificate and the CA certificate (customerCA.crt, the trust anchor)"),
        aws(format!("aws cloudhsmv2 initialize-cluster --region {r} --cluster-id \"$cluster_id\" --signed-cert file://\"$cluster_id\"_CustomerHsmCertificate.crt --trust-anchor file://customerCA.crt")),
        aws(format!("until [ \"$(aws cloudhsmv2 describe-clusters --region {r} --filters clusterIds=\"$cluster_id\" --query 'Clusters[0].State' --output text)\" = INITIALIZED ]; do sleep 30; done")),
        host("cloudhsm-cli cluster activate   # sets the admin password (from a client instance with customerCA.crt)".to_string()),
    ];
    if kmsuser {
        c.push(host("cloudhsm-cli user create --username kmsuser --role crypto-user   # the user AWS KMS logs in as; its password is the key store password".to_string()));
    } else {
        c.push(host(
            "cloudhsm-cli user create --username \"$HSM_CRYPTO_USER\" --role crypto-user"
                .to_string(),
        ));
    }
    c.push(aws(format!("aws cloudhsmv2 create-hsm --region {r} --cluster-id \"$cluster_id\" --availability-zone \"$AZ2\"")));
    c
}

fn cloudhsm_cluster_step(ctx: &Ctx<'_>, region: &str) -> Step {
    let _ = ctx;
    step(
        Phase::Prepare,
        &format!("Create the CloudHSM cluster in {region}"),
        "A FIPS-mode hsm2m.medium cluster with two HSMs in two AZs: create, sign the CSR, initialise, activate, create the crypto user, add the second HSM.",
        cloudhsm_cluster_commands(region, false),
        &["cloudhsm-hsm2m-fips-140-3-l3", "cloudhsm-fips-mode"],
    )
}

/// The custom key store of options 2 and 4 in one Region: CloudHSM, or an external key store (XKS) when the keys
/// must be outside AWS. Leaves `$custom_key_store_id`.
pub(super) fn custom_key_store_step(ctx: &Ctx<'_>, region: &str) -> Step {
    let r = region;
    let connect = vec![
        aws(format!(
            "aws kms connect-custom-key-store --region {r} --custom-key-store-id \"$custom_key_store_id\""
        )),
        aws(format!(
            "until [ \"$(aws kms describe-custom-key-stores --region {r} --custom-key-store-id \"$custom_key_store_id\" --query 'CustomKeyStores[0].ConnectionState' --output text)\" = CONNECTED ]; do sleep 30; done"
        )),
    ];
    if ctx.hsm_outside_aws || ctx.variant == "xks" {
        let mut c = vec![
            manual(
                "run an XKS proxy in front of the external key manager, reachable over TLS, and create the key there; export XKS_PROXY_URI, XKS_ACCESS_KEY_ID, XKS_SECRET_ACCESS_KEY and XKS_KEY_ID",
            ),
            aws(format!(
                "custom_key_store_id=$(aws kms create-custom-key-store --region {r} --custom-key-store-name atrest-xks-{r} --custom-key-store-type EXTERNAL_KEY_STORE --xks-proxy-uri-endpoint \"$XKS_PROXY_URI\" --xks-proxy-uri-path /kms/xks/v1 --xks-proxy-connectivity PUBLIC_ENDPOINT --xks-proxy-authentication-credential AccessKeyId=\"$XKS_ACCESS_KEY_ID\",RawSecretAccessKey=\"$XKS_SECRET_ACCESS_KEY\" --query CustomKeyStoreId --output text)"
            )),
            aws("xks_key_id=\"$XKS_KEY_ID\""),
        ];
        c.extend(connect);
        return step(
            Phase::Prepare,
            &format!("Create the external key store in {r}"),
            "An external key store (XKS): the key material stays in your key manager outside AWS, behind an XKS proxy. Every use of the key depends on that proxy and key manager, with no AWS SLA. Keys cannot rotate automatically: rotate by a new key and `aws kms update-alias`.",
            c,
            &[
                "xks-key-outside-aws",
                "kms-custom-store-no-sla",
                "custom-key-store-key-limits",
            ],
        );
    }
    let mut c = cloudhsm_cluster_commands(r, true);
    c.push(aws(format!("custom_key_store_id=$(aws kms create-custom-key-store --region {r} --custom-key-store-name atrest-{r} --cloud-hsm-cluster-id \"$cluster_id\" --trust-anchor-certificate file://customerCA.crt --key-store-password \"$KMSUSER_PASSWORD\" --query CustomKeyStoreId --output text)")));
    c.extend(connect);
    step(
        Phase::Prepare,
        &format!("Create the CloudHSM key store in {r}"),
        "An AWS CloudHSM key store: an active FIPS-mode hsm2m.medium cluster with two HSMs in two AZs, initialised and activated, with the `kmsuser` crypto user. Its keys cannot rotate automatically and cannot be multi-Region: rotate by creating a new key and `aws kms update-alias`, then re-encrypting.",
        c,
        &[
            "cloudhsm-key-store-prerequisites",
            "custom-key-store-key-limits",
            "cloudhsm-fips-mode",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_directories_follow_the_engine() {
        assert_eq!(data_dir("postgresql"), "/var/lib/pgsql");
        assert_eq!(data_dir("unknown"), "/var/lib/database");
    }
}
