//! RDS and Aurora runbooks: a production-shaped snapshot restore under the new key (settings read from the running
//! instance or cluster, `aws rds wait` between steps), a write freeze, rename-and-swap cut-over that keeps the
//! endpoint, rollback, clean-up of the plaintext copies, replicas re-created under new names, cross-Region DR and
//! cross-account sharing; Aurora through the cluster APIs. From on-premises or EC2: a new encrypted instance and a
//! migration.

use super::runbook::{Ctx, Phase, Step, aws, host, key_arn_command, key_var, manual, sql, step};

/// The RDS form of an engine version prefix, for engines whose RDS versions carry more than the product version:
/// Oracle `19.0.0.0.ru-…`, SQL Server `15.00.….v1`, Db2 `11.5.9.0.sb….r1`. `None` when the inventory's version is
/// already an RDS version (PostgreSQL, MySQL, MariaDB).
pub fn rds_version_prefix(family: &str, version: &str) -> Option<String> {
    let major = version.split('.').next().unwrap_or_default();
    match family {
        "oracle" => Some(format!("{major}.0.0.0.ru")),
        "sqlserver" => Some(format!("{major}.00.")),
        "db2" => Some(format!("{}.", version.trim_end_matches(".0"))),
        _ => None,
    }
}

/// The `--major-engine-version` of an option group: Oracle `19`, SQL Server `15.00`, MySQL and MariaDB `8.0`,
/// PostgreSQL `16`.
pub fn major_engine_version(family: &str, version: &str) -> String {
    let mut parts = version.split('.');
    let major = parts.next().unwrap_or_default();
    match family {
        "sqlserver" => format!("{major}.00"),
        "mysql" | "mariadb" | "db2" => match parts.next() {
            Some(minor) => format!("{major}.{minor}"),
            None => major.to_string(),
        },
        _ => major.to_string(),
    }
}

fn freeze_commands(ctx: &Ctx<'_>) -> Vec<super::runbook::Command> {
    let mut c = vec![manual(
        "stop the application's writers (maintenance mode or writers scaled to zero) and announce the window",
    )];
    match ctx.family.as_str() {
        "postgresql" => c.push(sql(
            "DO $$DECLARE d name; BEGIN FOR d IN SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'rdsadmin' LOOP EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', d); END LOOP; END$$; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid();",
        )),
        "mysql" | "mariadb" => c.push(manual(
            "set `read_only = 1` in the instance's custom DB parameter group (`aws rds modify-db-parameter-group --parameters ParameterName=read_only,ParameterValue=1,ApplyMethod=immediate`; default groups cannot be changed)",
        )),
        "oracle" => c.push(sql(
            "EXEC rdsadmin.rdsadmin_util.restricted_session(p_enable => true);",
        )),
        "sqlserver" => c.push(sql(
            "DECLARE @sql nvarchar(max) = N''; SELECT @sql += N'ALTER DATABASE ' + QUOTENAME(name) + N' SET READ_ONLY WITH ROLLBACK IMMEDIATE; ' FROM sys.databases WHERE database_id > 4 AND name <> 'rdsadmin'; EXEC sp_executesql @sql;",
        )),
        _ => {}
    }
    c
}

/// Lifts the write freeze on the instance that now carries the name: the freeze is in the snapshot (PostgreSQL and
/// SQL Server database settings) or in the shared parameter group (MySQL, MariaDB), so the restored copy starts
/// frozen too.
fn thaw_commands(ctx: &Ctx<'_>) -> Vec<super::runbook::Command> {
    let mut c = Vec::new();
    match ctx.family.as_str() {
        // The session starts read-only too: `BEGIN READ WRITE` overrides the default for this one transaction (a
        // `SET` of the default would only apply to the next one).
        "postgresql" => c.push(sql(
            "BEGIN READ WRITE; DO $$DECLARE d name; BEGIN FOR d IN SELECT datname FROM pg_database WHERE NOT datistemplate AND datname <> 'rdsadmin' LOOP EXECUTE format('ALTER DATABASE %I RESET default_transaction_read_only', d); END LOOP; END$$; COMMIT; SET default_transaction_read_only = off;",
        )),
        "mysql" | "mariadb" => c.push(manual(
            "set `read_only = 0` again in the instance's custom DB parameter group (`aws rds modify-db-parameter-group --parameters ParameterName=read_only,ParameterValue=0,ApplyMethod=immediate`)",
        )),
        "oracle" => c.push(sql(
            "EXEC rdsadmin.rdsadmin_util.restricted_session(p_enable => false);",
        )),
        "sqlserver" => c.push(sql(
            "DECLARE @sql nvarchar(max) = N''; SELECT @sql += N'ALTER DATABASE ' + QUOTENAME(name) + N' SET READ_WRITE WITH ROLLBACK IMMEDIATE; ' FROM sys.databases WHERE database_id > 4 AND name <> 'rdsadmin' AND is_read_only = 1; EXEC sp_executesql @sql;",
        )),
        _ => {}
    }
    c.push(manual("start the application's writers again"));
    c
}

fn freeze_step(ctx: &Ctx<'_>) -> Step {
    step(
        Phase::Migrate,
        "Freeze writes",
        "Everything written after the snapshot would be lost: stop writes first, and keep them stopped until the cut-over.",
        freeze_commands(ctx),
        &[],
    )
}

/// Records the running instance's production settings into `restore=(...)`.
fn instance_settings(ctx: &Ctx<'_>, id: &str) -> Vec<super::runbook::Command> {
    let r = ctx.r();
    let mut c = vec![
        aws(format!("class=$(db_attr {r} {id} DBInstanceClass)")),
        aws(format!(
            "subnet_group=$(db_attr {r} {id} DBSubnetGroup.DBSubnetGroupName)"
        )),
        aws(format!(
            "read -ra security_groups <<<\"$(db_attr {r} {id} 'VpcSecurityGroups[].VpcSecurityGroupId')\""
        )),
        aws(format!(
            "parameter_group=$(db_attr {r} {id} 'DBParameterGroups[0].DBParameterGroupName')"
        )),
        aws(format!(
            "option_group=$(db_attr {r} {id} 'OptionGroupMemberships[0].OptionGroupName')"
        )),
        aws(format!("multi_az=$(db_attr {r} {id} MultiAZ)")),
        aws(format!(
            "restore=(--db-instance-class \"$class\" --deletion-protection --copy-tags-to-snapshot --tags Key=atrest:encrypted-from,Value={id})"
        )),
        aws(
            "if [ -n \"$subnet_group\" ]; then restore+=(--db-subnet-group-name \"$subnet_group\"); fi",
        ),
        aws(
            "if [ ${#security_groups[@]} -gt 0 ]; then restore+=(--vpc-security-group-ids \"${security_groups[@]}\"); fi",
        ),
        aws(
            "if [ -n \"$parameter_group\" ]; then restore+=(--db-parameter-group-name \"$parameter_group\"); fi",
        ),
        aws(
            "if [ \"$multi_az\" = True ]; then restore+=(--multi-az); else restore+=(--no-multi-az); fi",
        ),
    ];
    if ctx.tde_overlay() {
        c.push(aws(format!(
            "restore+=(--option-group-name {})",
            tde_group(ctx.n())
        )));
    } else {
        c.push(aws(
            "case \"$option_group\" in ''|default:*) ;; *) restore+=(--option-group-name \"$option_group\") ;; esac",
        ));
    }
    c
}

pub(super) fn tde_group(n: &str) -> String {
    format!("{n}-tde")
}

fn cluster_settings(ctx: &Ctx<'_>) -> Vec<super::runbook::Command> {
    let (n, r) = (ctx.n(), ctx.r());
    vec![
        aws(format!(
            "engine_version=$(cluster_attr {r} {n} EngineVersion)"
        )),
        aws(format!(
            "subnet_group=$(cluster_attr {r} {n} DBSubnetGroup)"
        )),
        aws(format!(
            "read -ra security_groups <<<\"$(cluster_attr {r} {n} 'VpcSecurityGroups[].VpcSecurityGroupId')\""
        )),
        aws(format!(
            "cluster_parameter_group=$(cluster_attr {r} {n} DBClusterParameterGroup)"
        )),
        aws(format!(
            "read -ra members <<<\"$(cluster_attr {r} {n} 'DBClusterMembers[].DBInstanceIdentifier')\""
        )),
        aws(format!(
            "restore=(--engine-version \"$engine_version\" --deletion-protection --copy-tags-to-snapshot --tags Key=atrest:encrypted-from,Value={n})"
        )),
        aws(
            "if [ -n \"$subnet_group\" ]; then restore+=(--db-subnet-group-name \"$subnet_group\"); fi",
        ),
        aws(
            "if [ ${#security_groups[@]} -gt 0 ]; then restore+=(--vpc-security-group-ids \"${security_groups[@]}\"); fi",
        ),
        aws(
            "if [ -n \"$cluster_parameter_group\" ]; then restore+=(--db-cluster-parameter-group-name \"$cluster_parameter_group\"); fi",
        ),
    ]
}

/// Renames `from` to `to` and waits until `to` is available (a rename is asynchronous).
fn rename_instance(r: &str, from: &str, to: &str) -> Vec<super::runbook::Command> {
    vec![
        aws(format!(
            "aws rds modify-db-instance --region {r} --db-instance-identifier {from} --new-db-instance-identifier {to} --apply-immediately"
        )),
        aws(format!("wait_renamed_db {r} {to}")),
    ]
}

fn rename_cluster(r: &str, from: &str, to: &str) -> Vec<super::runbook::Command> {
    vec![
        aws(format!(
            "aws rds modify-db-cluster --region {r} --db-cluster-identifier {from} --new-db-cluster-identifier {to} --apply-immediately"
        )),
        aws(format!("wait_renamed_cluster {r} {to}")),
    ]
}

fn instance_path(ctx: &Ctx<'_>, rekey: bool, steps: &mut Vec<Step>) {
    let (n, r) = (ctx.n(), ctx.r());
    let alias = ctx.storage_alias(r);
    let key = format!("\"${}\"", key_var(&alias));
    steps.push(step(
        Phase::Prepare,
        &format!("Record the production settings of `{n}`"),
        "The restored instance gets the same instance class, subnet group, security groups, parameter and option groups and Multi-AZ setting (a restore otherwise gets the default security group and parameter group, Single-AZ), plus deletion protection and tags.",
        instance_settings(ctx, n),
        &[],
    ));
    steps.push(freeze_step(ctx));
    let mut commands = vec![
        key_arn_command(&alias, r),
        aws(format!(
            "aws rds create-db-snapshot --region {r} --db-instance-identifier {n} --db-snapshot-identifier {n}-pre-encryption"
        )),
        aws(format!(
            "aws rds wait db-snapshot-available --region {r} --db-snapshot-identifier {n}-pre-encryption"
        )),
        aws(format!(
            "aws rds copy-db-snapshot --region {r} --source-db-snapshot-identifier {n}-pre-encryption --target-db-snapshot-identifier {n}-encrypted --kms-key-id {key} --copy-tags"
        )),
        aws(format!(
            "aws rds wait db-snapshot-available --region {r} --db-snapshot-identifier {n}-encrypted"
        )),
        aws(format!(
            "aws rds restore-db-instance-from-db-snapshot --region {r} --db-instance-identifier {n}-enc --db-snapshot-identifier {n}-encrypted \"${{restore[@]}}\""
        )),
        aws(format!(
            "aws rds wait db-instance-available --region {r} --db-instance-identifier {n}-enc"
        )),
    ];
    if ctx.tde_overlay() {
        commands.push(aws(format!(
            "[ \"$(db_attr {r} {n}-enc 'OptionGroupMemberships[0].OptionGroupName')\" = {} ]",
            tde_group(n)
        )));
    }
    steps.push(step(
        Phase::Migrate,
        if rekey { "Re-key through a snapshot copy" } else { "Encrypt through snapshot, copy and restore" },
        if rekey {
            "The key of an encrypted instance cannot be changed: copy a snapshot under the new key and restore it as `<name>-enc`."
        } else {
            "RDS cannot encrypt an existing instance in place: snapshot it, copy the snapshot under the key (the copy is encrypted) and restore it as `<name>-enc`."
        },
        commands,
        &["rds-encrypt-only-at-creation", "rds-key-cannot-change"],
    ));
    let mut cut = rename_instance(r, n, &format!("{n}-old"));
    cut.extend(rename_instance(r, &format!("{n}-enc"), n));
    cut.extend(thaw_commands(ctx));
    steps.push(step(
        Phase::Cutover,
        "Cut over by rename and swap",
        format!("Rename the original first (`{n}` -> `{n}-old`), then the encrypted copy to `{n}`: the endpoint DNS name follows the identifier, so clients keep their connection strings. The old instance stays, untouched, for the rollback window."),
        cut,
        &[],
    ));
    let mut back = rename_instance(r, n, &format!("{n}-enc"));
    back.extend(rename_instance(r, &format!("{n}-old"), n));
    back.push(manual("writes made to the encrypted instance after the cut-over are not on the old one: replay or reconcile them before resuming writes"));
    back.extend(thaw_commands(ctx));
    steps.push(step(
        Phase::Rollback,
        "Roll back to the original instance",
        "Swap the names back while the original still exists (before the clean-up).",
        back,
        &[],
    ));
    let cleanup = step(
        Phase::Cleanup,
        "Remove the plaintext copies",
        format!(
            "After the rollback window: delete the unencrypted `{n}-pre-encryption` snapshot, re-copy other plaintext manual snapshots of `{n}` under the key and delete the originals, then delete the old instance with its automated backups (all plaintext)."
        ),
        vec![
            key_arn_command(&alias, r),
            aws(format!(
                "aws rds delete-db-snapshot --region {r} --db-snapshot-identifier {n}-pre-encryption"
            )),
            aws(format!(
                "for s in $(aws rds describe-db-snapshots --region {r} --db-instance-identifier {n} --snapshot-type manual --query 'DBSnapshots[?!Encrypted].DBSnapshotIdentifier' --output text); do\n  aws rds copy-db-snapshot --region {r} --source-db-snapshot-identifier \"$s\" --target-db-snapshot-identifier \"$s-encrypted\" --kms-key-id {key} --copy-tags\n  aws rds wait db-snapshot-available --region {r} --db-snapshot-identifier \"$s-encrypted\"\n  aws rds delete-db-snapshot --region {r} --db-snapshot-identifier \"$s\"\ndone"
            )),
            aws(format!(
                "aws rds modify-db-instance --region {r} --db-instance-identifier {n}-old --no-deletion-protection --apply-immediately"
            )),
            aws(format!(
                "aws rds delete-db-instance --region {r} --db-instance-identifier {n}-old --skip-final-snapshot --delete-automated-backups"
            )),
            aws(format!(
                "aws rds wait db-instance-deleted --region {r} --db-instance-identifier {n}-old"
            )),
        ],
        &[],
    );
    for replica in &ctx.row.read_replicas {
        let mut c = vec![
            aws(format!(
                "aws rds create-db-instance-read-replica --region {r} --db-instance-identifier {replica}-enc --source-db-instance-identifier {n} --db-instance-class \"$(db_attr {r} {replica} DBInstanceClass)\""
            )),
            aws(format!(
                "aws rds wait db-instance-available --region {r} --db-instance-identifier {replica}-enc"
            )),
        ];
        c.extend(rename_instance(r, replica, &format!("{replica}-old")));
        c.extend(rename_instance(r, &format!("{replica}-enc"), replica));
        steps.push(step(
            Phase::Replicas,
            &format!("Re-create read replica `{replica}`"),
            format!("A replica follows its primary's key. It is created from the new `{n}` as `{replica}-enc` (the old `{replica}` still exists and still replicates from `{n}-old`), then swapped in by name."),
            c,
            &["rds-read-replica-key"],
        ));
        steps.push(step(
            Phase::Cleanup,
            &format!("Delete the old replica `{replica}-old`"),
            "It replicates from the old, unencrypted primary: promote it (which stops the replication) and delete it.",
            vec![
                aws(format!("aws rds promote-read-replica --region {r} --db-instance-identifier {replica}-old")),
                aws(format!("aws rds wait db-instance-available --region {r} --db-instance-identifier {replica}-old")),
                aws(format!("aws rds delete-db-instance --region {r} --db-instance-identifier {replica}-old --skip-final-snapshot --delete-automated-backups")),
                aws(format!("aws rds wait db-instance-deleted --region {r} --db-instance-identifier {replica}-old")),
            ],
            &[],
        ));
    }
    // Old replicas go before their old primary: deleting a primary first would promote them.
    steps.push(cleanup);
    for dest in ctx.dr_regions() {
        let dest_alias = ctx.storage_alias(dest);
        let dest_key = format!("\"${}\"", key_var(&dest_alias));
        let account = &ctx.principals.account;
        let mut c = vec![key_arn_command(&dest_alias, dest)];
        let mut og = String::new();
        if ctx.tde_overlay() {
            let major = major_engine_version(&ctx.family, &ctx.row.version);
            c.push(aws(format!("aws rds create-option-group --region {dest} --option-group-name {n}-tde --engine-name {} --major-engine-version {major} --option-group-description \"TDE for {n} in {dest}\"", ctx.rds_engine)));
            c.push(aws(format!("aws rds add-option-to-option-group --region {dest} --option-group-name {n}-tde --options OptionName=TDE --apply-immediately")));
            og = format!(" --option-group-name {n}-tde");
        }
        c.push(aws(format!("aws rds create-db-instance-read-replica --region {dest} --db-instance-identifier {n}-{dest} --source-db-instance-identifier arn:aws:rds:{r}:{account}:db:{n} --source-region {r} --kms-key-id {dest_key} --db-instance-class \"$(db_attr {r} {n} DBInstanceClass)\"{og}")));
        c.push(aws(format!(
            "aws rds wait db-instance-available --region {dest} --db-instance-identifier {n}-{dest}"
        )));
        steps.push(step(
            Phase::Dr,
            &format!("Re-create DR in {dest}"),
            format!("A cross-Region read replica of the new `{n}`, encrypted under `{dest_alias}` (a key of the destination Region). Delete the old DR copies of the unencrypted instance once this one is in sync."),
            c,
            &["rds-cross-region-copy-key", "custom-key-store-no-multi-region"],
        ));
        steps.push(step(
            Phase::Alternative,
            &format!("DR in {dest} by automated-backup replication or snapshot copies"),
            "Instead of a replica: replicate automated backups (point-in-time restore in the destination), or copy snapshots on a schedule; both name the destination key.",
            vec![
                key_arn_command(&dest_alias, dest),
                aws(format!("aws rds start-db-instance-automated-backups-replication --region {dest} --source-db-instance-arn arn:aws:rds:{r}:{account}:db:{n} --kms-key-id {dest_key} --backup-retention-period 7")),
                aws(format!("aws rds copy-db-snapshot --region {dest} --source-region {r} --source-db-snapshot-identifier arn:aws:rds:{r}:{account}:snapshot:{n}-encrypted --target-db-snapshot-identifier {n}-encrypted --kms-key-id {dest_key}{og}")),
            ],
            &["rds-cross-region-copy-key"],
        ));
    }
    if ctx.sharing {
        share_step(ctx, false, steps);
    }
    if ctx
        .row
        .size_gib
        .is_none_or(|s| s >= super::fleet::LARGE_GIB)
    {
        steps.push(minimal_downtime(ctx));
    }
}

fn share_step(ctx: &Ctx<'_>, cluster: bool, steps: &mut Vec<Step>) {
    let (n, r) = (ctx.n(), ctx.r());
    let accounts = &ctx.principals.share_with;
    if accounts.is_empty() {
        steps.push(step(
            Phase::Dr,
            "Share snapshots with the other account",
            "Cross-account sharing is required but no receiving account was named: name it and plan again.",
            vec![manual("name the receiving account id(s)")],
            &[],
        ));
        return;
    }
    let list = accounts.join(" ");
    let account = &ctx.principals.account;
    let (create, wait, modify, kind, copy) = if cluster {
        (
            format!(
                "aws rds create-db-cluster-snapshot --region {r} --db-cluster-identifier {n} --db-cluster-snapshot-identifier {n}-share"
            ),
            format!(
                "aws rds wait db-cluster-snapshot-available --region {r} --db-cluster-snapshot-identifier {n}-share"
            ),
            format!(
                "aws rds modify-db-cluster-snapshot-attribute --region {r} --db-cluster-snapshot-identifier {n}-share --attribute-name restore --values-to-add {list}"
            ),
            "cluster-snapshot",
            "copy-db-cluster-snapshot --source-db-cluster-snapshot-identifier",
        )
    } else {
        (
            format!(
                "aws rds create-db-snapshot --region {r} --db-instance-identifier {n} --db-snapshot-identifier {n}-share"
            ),
            format!(
                "aws rds wait db-snapshot-available --region {r} --db-snapshot-identifier {n}-share"
            ),
            format!(
                "aws rds modify-db-snapshot-attribute --region {r} --db-snapshot-identifier {n}-share --attribute-name restore --values-to-add {list}"
            ),
            "snapshot",
            "copy-db-snapshot --source-db-snapshot-identifier",
        )
    };
    let cells = if ctx
        .overlays
        .iter()
        .any(|o| o == "app-layer-cell-encryption")
    {
        " The cell key is not shared: values encrypted in the application stay unreadable in the receiving account, by design; share it (a grant to a named role) only if that account must read them."
    } else {
        ""
    };
    steps.push(step(
        Phase::Dr,
        "Share a snapshot with the receiving account",
        format!("The storage key's policy already lets the receiving account use it through RDS; sharing the snapshot is the second half. The receiving account then copies it under a key of its own, with the identity policy in `keys/receiving-account.policy.json`.{cells}"),
        vec![
            aws(create),
            aws(wait),
            aws(modify),
            manual(format!("in the receiving account: aws rds {copy} arn:aws:rds:{r}:{account}:{kind}:{n}-share --target-db-{}snapshot-identifier {n}-copy --kms-key-id \"$RECEIVING_ACCOUNT_KEY_ARN\" --region {r}", if cluster { "cluster-" } else { "" })),
        ],
        &["rds-snapshot-share-default-key"],
    ));
}

/// The minimal-downtime path. Credentials come from the environment (`REPLICATION_USER`, `REPLICATION_PASSWORD`,
/// `PGDATABASE`, `DMS_USER`, `DMS_PASSWORD`, `DMS_DATABASE`); endpoints are read from the account.
fn minimal_downtime(ctx: &Ctx<'_>) -> Step {
    let (n, r) = (ctx.n(), ctx.r());
    let commands = match ctx.family.as_str() {
        "postgresql" => {
            let endpoint = |id: &str| {
                format!(
                    "host=$(aws rds describe-db-instances --region {r} --db-instance-identifier {id} --query DBInstances[0].Endpoint.Address --output text) dbname=$PGDATABASE"
                )
            };
            vec![
                manual(format!(
                    "set `rds.logical_replication = 1` in `{n}`'s parameter group and reboot it once"
                )),
                manual(format!(
                    "create the encrypted target `{n}-enc` empty (same settings and key as above, with `create-db-instance --storage-encrypted --kms-key-id`)"
                )),
                // SOURCE_DSN / TARGET_DSN override the endpoints, e.g. through a bastion's tunnel.
                host(format!(
                    "src=\"${{SOURCE_DSN:-{}}}\"; dst=\"${{TARGET_DSN:-{}}}\"",
                    endpoint(n),
                    endpoint(&format!("{n}-enc"))
                )),
                host(
                    "pg_dump --schema-only --no-publications --no-subscriptions \"$src\" | psql -q -v ON_ERROR_STOP=1 \"$dst\"",
                ),
                host(
                    "psql -v ON_ERROR_STOP=1 \"$src\" -c \"CREATE PUBLICATION atrest_migration FOR ALL TABLES;\"",
                ),
                host(
                    "psql -v ON_ERROR_STOP=1 \"$dst\" -c \"CREATE SUBSCRIPTION atrest_migration CONNECTION '$src user=$REPLICATION_USER password=$REPLICATION_PASSWORD' PUBLICATION atrest_migration;\"",
                ),
                manual(
                    "cut-over point: freeze writes on the source (the SQL of the write-freeze step), then run the next commands",
                ),
                // Caught up: every table copied, and the apply worker past the source's last write.
                host(
                    "lsn=$(psql -Atc \"SELECT pg_current_wal_lsn()\" \"$src\"); until [ \"$(psql -Atc \"SELECT (SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r') = 0 AND bool_and(latest_end_lsn >= '$lsn') FROM pg_stat_subscription WHERE subname = 'atrest_migration' AND relid IS NULL\" \"$dst\")\" = t ]; do sleep 2; done",
                ),
                // Logical replication does not carry sequences: set each from the frozen source. The publication is
                // dropped in a session that overrides the freeze.
                host(
                    "psql -Atc \"SELECT format('SELECT setval(%L, %s, true);', format('%I.%I', schemaname, sequencename), last_value) FROM pg_sequences WHERE last_value IS NOT NULL\" \"$src\" | psql -q -v ON_ERROR_STOP=1 \"$dst\"",
                ),
                host(
                    "psql -v ON_ERROR_STOP=1 \"$dst\" -c \"DROP SUBSCRIPTION atrest_migration;\" && PGOPTIONS=\"-c default_transaction_read_only=off\" psql -v ON_ERROR_STOP=1 \"$src\" -c \"DROP PUBLICATION atrest_migration;\"",
                ),
            ]
        }
        "mysql" | "mariadb" => vec![
            sql("CALL mysql.rds_set_configuration('binlog retention hours', 48);"),
            manual(
                "run the snapshot, copy and restore steps above without freezing writes; read the binlog file and position the restored instance reports in its RDS events",
            ),
            host(format!(
                "binlog=$(aws rds describe-events --region {r} --source-type db-instance --source-identifier {n}-enc --duration 1440 --query \"Events[?contains(Message, 'Binlog position')].Message | [-1]\" --output text)  # 'Binlog position from crash recovery is mysql-bin-changelog.000123 4567'"
            )),
            host(format!(
                "mysql -h \"$(aws rds describe-db-instances --region {r} --db-instance-identifier {n}-enc --query DBInstances[0].Endpoint.Address --output text)\" -u \"$REPLICATION_USER\" -p\"$REPLICATION_PASSWORD\" -e \"CALL mysql.rds_set_external_source('$(aws rds describe-db-instances --region {r} --db-instance-identifier {n} --query DBInstances[0].Endpoint.Address --output text)', $(aws rds describe-db-instances --region {r} --db-instance-identifier {n} --query DBInstances[0].Endpoint.Port --output text), '$REPLICATION_USER', '$REPLICATION_PASSWORD', '$(echo \"$binlog\" | awk '{{print $(NF-1)}}')', $(echo \"$binlog\" | awk '{{print $NF}}'), 1); CALL mysql.rds_start_replication;\""
            )),
            sql(
                "-- cut-over point: SHOW REPLICA STATUS shows Seconds_Behind_Source = 0 after writes are frozen; then CALL mysql.rds_stop_replication; and swap names as above",
            ),
        ],
        _ => vec![
            manual(format!(
                "create the encrypted target `{n}-enc` empty with the same settings and key"
            )),
            aws(format!(
                "replication_instance_arn=$(aws dms create-replication-instance --region {r} --replication-instance-identifier {n}-reencrypt --replication-instance-class dms.r6i.large --allocated-storage 100 --kms-key-id \"$(aws kms describe-key --region {r} --key-id {alias} --query KeyMetadata.Arn --output text)\" --no-publicly-accessible --query ReplicationInstance.ReplicationInstanceArn --output text)",
                alias = ctx.storage_alias(r)
            )),
            aws(format!(
                "aws dms wait replication-instance-available --region {r} --filters Name=replication-instance-arn,Values=\"$replication_instance_arn\""
            )),
            aws(format!(
                "source_endpoint_arn=$(aws dms create-endpoint --region {r} --endpoint-identifier {n}-source --endpoint-type source --engine-name {engine} --server-name \"$(aws rds describe-db-instances --region {r} --db-instance-identifier {n} --query DBInstances[0].Endpoint.Address --output text)\" --port \"$(aws rds describe-db-instances --region {r} --db-instance-identifier {n} --query DBInstances[0].Endpoint.Port --output text)\" --username \"$DMS_USER\" --password \"$DMS_PASSWORD\" --database-name \"$DMS_DATABASE\" --ssl-mode require --query Endpoint.EndpointArn --output text)",
                engine = dms_engine(&ctx.family)
            )),
            aws(format!(
                "target_endpoint_arn=$(aws dms create-endpoint --region {r} --endpoint-identifier {n}-target --endpoint-type target --engine-name {engine} --server-name \"$(aws rds describe-db-instances --region {r} --db-instance-identifier {n}-enc --query DBInstances[0].Endpoint.Address --output text)\" --port \"$(aws rds describe-db-instances --region {r} --db-instance-identifier {n}-enc --query DBInstances[0].Endpoint.Port --output text)\" --username \"$DMS_USER\" --password \"$DMS_PASSWORD\" --database-name \"$DMS_DATABASE\" --ssl-mode require --query Endpoint.EndpointArn --output text)",
                engine = dms_engine(&ctx.family)
            )),
            aws(format!(
                "task_arn=$(aws dms create-replication-task --region {} --replication-task-identifier {n}-reencrypt --migration-type full-load-and-cdc --source-endpoint-arn \"$source_endpoint_arn\" --target-endpoint-arn \"$target_endpoint_arn\" --replication-instance-arn \"$replication_instance_arn\" --table-mappings '{{\"rules\":[{{\"rule-type\":\"selection\",\"rule-id\":\"1\",\"rule-name\":\"all\",\"object-locator\":{{\"schema-name\":\"%\",\"table-name\":\"%\"}},\"rule-action\":\"include\"}}]}}' --query ReplicationTask.ReplicationTaskArn --output text)",
                ctx.r()
            )),
            aws(format!(
                "aws dms wait replication-task-ready --region {r} --filters Name=replication-task-arn,Values=\"$task_arn\""
            )),
            aws(format!(
                "aws dms start-replication-task --region {r} --replication-task-arn \"$task_arn\" --start-replication-task-type start-replication"
            )),
            manual(
                "cut-over point: the task's CDC latency is zero after writes are frozen; stop the task and swap names as above",
            ),
        ],
    };
    step(
        Phase::Alternative,
        "Minimal-downtime path: replicate into the encrypted copy",
        "For a large database the snapshot path's downtime is the snapshot, copy and restore time. Instead, keep the source writable while a new encrypted instance catches up by replication, and freeze writes only for the last seconds before the rename-and-swap. Credentials come from the environment (`REPLICATION_USER`, `REPLICATION_PASSWORD` and `PGDATABASE`, or `DMS_USER`, `DMS_PASSWORD` and `DMS_DATABASE`); endpoints are read from the account (for PostgreSQL, `SOURCE_DSN` and `TARGET_DSN` override them, e.g. through a tunnel).",
        commands,
        &["rds-encrypt-only-at-creation"],
    )
}

/// The DMS `--engine-name` of an engine family.
fn dms_engine(family: &str) -> &str {
    match family {
        "postgresql" => "postgres",
        f => f,
    }
}

fn aurora_path(ctx: &Ctx<'_>, steps: &mut Vec<Step>) {
    let (n, r) = (ctx.n(), ctx.r());
    let alias = ctx.storage_alias(r);
    let key = format!("\"${}\"", key_var(&alias));
    let engine = &ctx.rds_engine;
    steps.push(step(
        Phase::Prepare,
        &format!("Record the production settings of cluster `{n}`"),
        "The restored cluster gets the same engine version, subnet group, security groups and cluster parameter group, plus deletion protection and tags; each member instance is re-created with its own instance class.",
        cluster_settings(ctx),
        &[],
    ));
    steps.push(freeze_step(ctx));
    steps.push(step(
        Phase::Migrate,
        "Restore the cluster snapshot under the new key",
        "Aurora cannot encrypt or re-key a cluster in place, and a cluster snapshot copy cannot encrypt an unencrypted snapshot: restore the cluster snapshot with the new key into `<name>-enc`, then add its instances (`create-db-instance --db-cluster-identifier`).",
        vec![
            key_arn_command(&alias, r),
            aws(format!("aws rds create-db-cluster-snapshot --region {r} --db-cluster-identifier {n} --db-cluster-snapshot-identifier {n}-pre-encryption")),
            aws(format!("aws rds wait db-cluster-snapshot-available --region {r} --db-cluster-snapshot-identifier {n}-pre-encryption")),
            aws(format!("aws rds restore-db-cluster-from-snapshot --region {r} --db-cluster-identifier {n}-enc --snapshot-identifier {n}-pre-encryption --engine {engine} --kms-key-id {key} \"${{restore[@]}}\"")),
            aws(format!("aws rds wait db-cluster-available --region {r} --db-cluster-identifier {n}-enc")),
            aws(format!("for m in \"${{members[@]}}\"; do\n  aws rds create-db-instance --region {r} --db-cluster-identifier {n}-enc --db-instance-identifier \"$m-enc\" --engine {engine} --db-instance-class \"$(db_attr {r} \"$m\" DBInstanceClass)\"\n  aws rds wait db-instance-available --region {r} --db-instance-identifier \"$m-enc\"\ndone")),
        ],
        &["aurora-encrypt-on-restore", "rds-key-cannot-change"],
    ));
    let mut cut = rename_cluster(r, n, &format!("{n}-old"));
    cut.extend(rename_cluster(r, &format!("{n}-enc"), n));
    cut.push(manual("the cluster (writer) and reader endpoints follow the cluster identifier; instance endpoints of the new members end in `-enc`"));
    cut.extend(thaw_commands(ctx));
    steps.push(step(
        Phase::Cutover,
        "Cut over by renaming the clusters",
        format!("Rename `{n}` to `{n}-old` first, then `{n}-enc` to `{n}`, so the cluster endpoints keep their names."),
        cut,
        &[],
    ));
    let mut back = rename_cluster(r, n, &format!("{n}-enc"));
    back.extend(rename_cluster(r, &format!("{n}-old"), n));
    back.extend(thaw_commands(ctx));
    steps.push(step(
        Phase::Rollback,
        "Roll back to the original cluster",
        "Swap the cluster names back while the original still exists; reconcile writes made after the cut-over.",
        back,
        &[],
    ));
    steps.push(step(
        Phase::Cleanup,
        "Remove the plaintext cluster and snapshot",
        "After the rollback window: delete the old cluster's instances, the old cluster (without a final snapshot: it would be plaintext) and the pre-encryption cluster snapshot.",
        vec![
            aws(format!("for m in $(cluster_attr {r} {n}-old 'DBClusterMembers[].DBInstanceIdentifier'); do\n  aws rds delete-db-instance --region {r} --db-instance-identifier \"$m\" --skip-final-snapshot\n  aws rds wait db-instance-deleted --region {r} --db-instance-identifier \"$m\"\ndone")),
            aws(format!("aws rds modify-db-cluster --region {r} --db-cluster-identifier {n}-old --no-deletion-protection --apply-immediately")),
            aws(format!("aws rds delete-db-cluster --region {r} --db-cluster-identifier {n}-old --skip-final-snapshot")),
            aws(format!("aws rds delete-db-cluster-snapshot --region {r} --db-cluster-snapshot-identifier {n}-pre-encryption")),
        ],
        &[],
    ));
    for replica in &ctx.row.read_replicas {
        steps.push(step(
            Phase::Replicas,
            &format!("Add reader `{replica}-enc`"),
            "Aurora readers are instances of the cluster, not read replicas: they share the cluster's storage and key.",
            vec![
                aws(format!("aws rds create-db-instance --region {r} --db-cluster-identifier {n} --db-instance-identifier {replica}-enc --engine {engine} --db-instance-class \"$(db_attr {r} {replica} DBInstanceClass)\"")),
                aws(format!("aws rds wait db-instance-available --region {r} --db-instance-identifier {replica}-enc")),
            ],
            &["rds-read-replica-key"],
        ));
    }
    let account = &ctx.principals.account;
    for dest in ctx.dr_regions() {
        let dest_alias = ctx.storage_alias(dest);
        let dest_key = format!("\"${}\"", key_var(&dest_alias));
        steps.push(step(
            Phase::Dr,
            &format!("Re-create the Global Database secondary in {dest}"),
            format!("A secondary cluster in {dest}, encrypted under `{dest_alias}`. If the old cluster was in a Global Database, remove its secondaries first (`aws rds describe-global-clusters`; `remove-from-global-cluster`), as they hold plaintext."),
            vec![
                key_arn_command(&dest_alias, dest),
                aws(format!("aws rds create-global-cluster --region {r} --global-cluster-identifier {n}-global --source-db-cluster-identifier \"$(cluster_attr {r} {n} DBClusterArn)\"")),
                aws(format!("aws rds create-db-cluster --region {dest} --db-cluster-identifier {n}-{dest} --global-cluster-identifier {n}-global --engine {engine} --engine-version \"$(cluster_attr {r} {n} EngineVersion)\" --kms-key-id {dest_key}")),
                aws(format!("aws rds create-db-instance --region {dest} --db-cluster-identifier {n}-{dest} --db-instance-identifier {n}-{dest}-1 --engine {engine} --db-instance-class \"$(db_attr {r} \"$(cluster_attr {r} {n} 'DBClusterMembers[0].DBInstanceIdentifier')\" DBInstanceClass)\"")),
            ],
            &["rds-cross-region-copy-key", "custom-key-store-no-multi-region"],
        ));
        steps.push(step(
            Phase::Alternative,
            &format!("DR in {dest} by cluster snapshot copies"),
            "Instead of a Global Database: copy cluster snapshots to the destination Region under its key (a `cluster-snapshot` ARN).",
            vec![
                key_arn_command(&dest_alias, dest),
                aws(format!("aws rds create-db-cluster-snapshot --region {r} --db-cluster-identifier {n} --db-cluster-snapshot-identifier {n}-dr-seed")),
                aws(format!("aws rds wait db-cluster-snapshot-available --region {r} --db-cluster-snapshot-identifier {n}-dr-seed")),
                aws(format!("aws rds copy-db-cluster-snapshot --region {dest} --source-region {r} --source-db-cluster-snapshot-identifier arn:aws:rds:{r}:{account}:cluster-snapshot:{n}-dr-seed --target-db-cluster-snapshot-identifier {n}-dr-seed --kms-key-id {dest_key}")),
            ],
            &["rds-cross-region-copy-key"],
        ));
    }
    if ctx.sharing {
        share_step(ctx, true, steps);
    }
}

fn create_new(ctx: &Ctx<'_>, steps: &mut Vec<Step>) {
    let (n, r) = (ctx.n(), ctx.r());
    let alias = ctx.storage_alias(r);
    let key = format!("\"${}\"", key_var(&alias));
    let engine = &ctx.rds_engine;
    let version = match rds_version_prefix(&ctx.family, &ctx.row.version) {
        Some(prefix) => aws(format!(
            "engine_version=$(aws rds describe-db-engine-versions --region {r} --engine {engine} --query \"DBEngineVersions[?starts_with(EngineVersion, '{prefix}')].EngineVersion | [-1]\" --output text)"
        )),
        None if ctx.row.version.is_empty() => aws(format!(
            "engine_version=$(aws rds describe-db-engine-versions --region {r} --engine {engine} --default-only --query 'DBEngineVersions[0].EngineVersion' --output text)"
        )),
        None => aws(format!("engine_version={}", ctx.row.version)),
    };
    let storage = ctx.row.size_gib.unwrap_or(100);
    let db2 = if ctx.family == "db2" {
        " RDS for Db2 also needs the IBM customer and site ids (`rds.ibm_customer_id`, `rds.ibm_site_id`) in a custom parameter group, and data usually arrives by native restore from S3 rather than DMS."
    } else {
        ""
    };
    let og = if ctx.tde_overlay() {
        format!(" --option-group-name {}", tde_group(n))
    } else {
        String::new()
    };
    let mut commands = vec![key_arn_command(&alias, r), version];
    if ctx.aurora() {
        commands.push(aws(format!("aws rds create-db-cluster --region {r} --db-cluster-identifier {n} --engine {engine} --engine-version \"$engine_version\" --storage-encrypted --kms-key-id {key} --master-username \"${{MASTER_USERNAME:-dbadmin}}\" --manage-master-user-password --master-user-secret-kms-key-id {key} --deletion-protection")));
        commands.push(aws(format!(
            "aws rds wait db-cluster-available --region {r} --db-cluster-identifier {n}"
        )));
        commands.push(aws(format!("aws rds create-db-instance --region {r} --db-cluster-identifier {n} --db-instance-identifier {n}-1 --engine {engine} --db-instance-class \"${{DB_INSTANCE_CLASS:-db.r6g.large}}\"")));
        commands.push(aws(format!(
            "aws rds wait db-instance-available --region {r} --db-instance-identifier {n}-1"
        )));
    } else {
        commands.push(aws(format!("aws rds create-db-instance --region {r} --db-instance-identifier {n} --engine {engine} --engine-version \"$engine_version\" --db-instance-class \"${{DB_INSTANCE_CLASS:-db.r6g.large}}\" --allocated-storage {storage} --storage-type gp3 --storage-encrypted --kms-key-id {key} --master-username \"${{MASTER_USERNAME:-dbadmin}}\" --manage-master-user-password --master-user-secret-kms-key-id {key} --multi-az --deletion-protection --copy-tags-to-snapshot --tags Key=atrest:database,Value={n}{og}")));
        commands.push(aws(format!(
            "aws rds wait db-instance-available --region {r} --db-instance-identifier {n}"
        )));
    }
    steps.push(step(
        Phase::Migrate,
        "Create the encrypted target",
        format!("Encrypted from the start under the plan's key, with the master-user secret in Secrets Manager under the same key (not aws/secretsmanager). The engine version is looked up in its RDS form. Instance class and user name come from `DB_INSTANCE_CLASS` and `MASTER_USERNAME` when set.{db2}"),
        commands,
        &["rds-encryption-scope"],
    ));
    steps.push(step(
        Phase::Migrate,
        "Move the data and cut over",
        "Full load plus change data capture (AWS DMS, or the engine's native replication), then a short write freeze at the source while the last changes apply, and the applications switch to the new endpoint.",
        vec![
            manual("create the DMS replication instance and the source and target endpoints (the source's connection details are outside the inventory), then:"),
            aws(format!("aws dms create-replication-task --region {r} --replication-task-identifier {n}-migration --migration-type full-load-and-cdc --source-endpoint-arn \"$source_endpoint_arn\" --target-endpoint-arn \"$target_endpoint_arn\" --replication-instance-arn \"$replication_instance_arn\" --table-mappings '{{\"rules\":[{{\"rule-type\":\"selection\",\"rule-id\":\"1\",\"rule-name\":\"all\",\"object-locator\":{{\"schema-name\":\"%\",\"table-name\":\"%\"}},\"rule-action\":\"include\"}}]}}'")),
            manual("cut-over point: CDC latency zero after the source's writes are frozen; stop the task and switch the applications"),
        ],
        &[],
    ));
}

pub(super) fn steps(ctx: &Ctx<'_>, steps: &mut Vec<Step>) {
    let (n, r) = (ctx.n(), ctx.r());
    let encrypted = ctx.row.encryption.starts_with("rds-");
    let rekey = encrypted && (ctx.row.encryption != "rds-kms" || ctx.custom_store());
    match ctx.row.hosting.as_str() {
        "aurora" if ctx.row.encryption == "none" || rekey => aurora_path(ctx, steps),
        "rds" if ctx.row.encryption == "none" || rekey => instance_path(ctx, rekey, steps),
        "aurora" => steps.push(step(
            Phase::Verify,
            "Confirm the current encryption",
            "Already encrypted with a customer managed KMS key: confirm the key's policy and rotation match the proposal; no data move is needed.",
            vec![aws(format!("aws rds describe-db-clusters --region {r} --db-cluster-identifier {n} --query 'DBClusters[0].[StorageEncrypted,KmsKeyId]' --output text"))],
            &[],
        )),
        "rds" => steps.push(step(
            Phase::Verify,
            "Confirm the current encryption",
            "Already encrypted with a customer managed KMS key: confirm the key's policy and rotation match the proposal; no data move is needed.",
            vec![aws(format!("aws rds describe-db-instances --region {r} --db-instance-identifier {n} --query 'DBInstances[0].[StorageEncrypted,KmsKeyId]' --output text"))],
            &[],
        )),
        _ => create_new(ctx, steps),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_versions_take_their_rds_form() {
        assert_eq!(
            rds_version_prefix("oracle", "19.0.0.0").as_deref(),
            Some("19.0.0.0.ru")
        );
        assert_eq!(
            rds_version_prefix("sqlserver", "15.0.4").as_deref(),
            Some("15.00.")
        );
        assert_eq!(
            rds_version_prefix("db2", "11.5.9").as_deref(),
            Some("11.5.9.")
        );
        assert_eq!(rds_version_prefix("postgresql", "16.4"), None);
        assert_eq!(major_engine_version("sqlserver", "15.0.4"), "15.00");
        assert_eq!(major_engine_version("oracle", "19.0.0.0"), "19");
        assert_eq!(major_engine_version("mysql", "8.0.39"), "8.0");
    }
}
