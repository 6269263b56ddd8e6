//! Overlay steps: application-layer cell encryption (its own key, confined to the listed columns), RDS-native TDE
//! (an option group copied from the instance's own, with TDE added, on the new instance, and the SQL that encrypts),
//! and SQL Server Always Encrypted.

use super::policy::{KeyUse, PolicySpec, key_policy};
use super::rds::{major_engine_version, tde_group};
use super::runbook::{
    Ctx, Phase, ProposedKey, Step, aws, create_key_commands, host, manual, sql, step,
};

/// `table.column` values as pairs.
fn columns(ctx: &Ctx<'_>) -> Vec<(String, String)> {
    ctx.row
        .sensitive_columns
        .iter()
        .filter_map(|c| c.split_once('.'))
        .map(|(t, c)| (t.to_string(), c.to_string()))
        .collect()
}

fn cell_key(ctx: &Ctx<'_>, keys: &mut Vec<ProposedKey>, steps: &mut Vec<Step>) {
    let (n, r) = (ctx.n(), ctx.r());
    let alias = format!("alias/atrest/{n}-cells");
    let cols = columns(ctx);
    if cols.is_empty() {
        // A cell key's policy is confined to named columns: without them no key is proposed, rather than one with
        // placeholders that would be created with a policy nobody can use.
        steps.push(step(
            Phase::Prepare,
            "Name the columns to protect with cell encryption",
            format!(
                "The inventory names no `sensitive_columns` for `{n}`, and the cell key's policy allows data keys only for named table and column values. Add them as `table.column` (e.g. `sensitive_columns = \"users.ssn,cards.pan\"`) and run `atrest plan` again: the plan then creates `{alias}` with a policy confined to those columns, and the back-fill commands."
            ),
            vec![manual(format!(
                "add `sensitive_columns` for `{n}` to the inventory and re-run atrest plan"
            ))],
            &["pci-3-5-1-2", "app-layer-encryption-sdk"],
        ));
        return;
    }
    let spec = PolicySpec {
        account: ctx.principals.account.clone(),
        admin_principals: vec![ctx.principals.key_admin.clone()],
        user_principals: vec![ctx.principals.app.clone()],
        reader_principals: vec![ctx.principals.app_reader.clone()],
        key_use: KeyUse::AppDataKeys {
            region: r.to_string(),
            columns: cols.clone(),
        },
        share_with_accounts: Vec::new(),
    };
    let mut notes = Vec::new();
    if ctx.sharing {
        notes.push("not shared with the receiving account: cell-encrypted values stay unreadable there unless a grant names a role of that account".to_string());
    }
    let key = ProposedKey {
        alias: alias.clone(),
        region: r.to_string(),
        purpose: format!("application-layer data keys for sensitive fields of `{n}`"),
        key_store: "standard".into(),
        origin: "AWS_KMS".into(),
        used_by: vec![n.to_string()],
        policy: key_policy(&spec),
        notes,
    };
    steps.push(step(
        Phase::Prepare,
        "Create the cell-encryption key",
        "A separate KMS key for data keys: the application writer may generate, unwrap and re-wrap them, the reader may only unwrap, and both only with an encryption context naming one of the protected tables and columns.",
        create_key_commands(&key, None),
        &["pci-3-5-1-2", "app-layer-encryption-sdk"],
    ));
    keys.push(key);
    // PostgreSQL columns are encrypted in place, batch by batch, resumably; other engines through an export.
    let live = ctx.family == "postgresql";
    let mut backfill = Vec::new();
    for (table, column) in &cols {
        backfill.push(host(if live {
            format!(
                "atrest cell migrate --table {table} --column {column} --kms-key-id {alias} --region {r} --keyring {n}.keyring.json --dry-run\natrest cell migrate --table {table} --column {column} --kms-key-id {alias} --region {r} --keyring {n}.keyring.json"
            )
        } else {
            format!(
                "atrest cell encrypt --kms-key-id {alias} --region {r} --keyring {n}.keyring.json --table {table} --csv {table}.csv --column {column} --row-key \"$ROW_KEY_COLUMN\" --out {table}.encrypted.csv"
            )
        }));
    }
    let how = if live {
        "Encrypt on write, decrypt on read; back-fill the existing rows in place with `atrest cell migrate` (DATABASE_URL names the database; batches of 1,000 rows, each verified before it commits, resumable after an interruption; `--dry-run` first reports rows, data keys and duration)."
    } else {
        "Encrypt on write, decrypt on read; back-fill existing rows in batches (export with the row's key column as ROW_KEY_COLUMN, encrypt, load), then drop the plaintext columns."
    };
    steps.push(step(
        Phase::Cutover,
        "Encrypt sensitive fields in the application",
        how,
        backfill,
        &["pci-3-5-1-2", "app-layer-encryption-sdk"],
    ));
}

fn rds_tde(ctx: &Ctx<'_>, steps: &mut Vec<Step>) {
    let (n, r) = (ctx.n(), ctx.r());
    let group = tde_group(n);
    let major = major_engine_version(&ctx.family, &ctx.row.version);
    let engine = &ctx.rds_engine;
    let create = format!(
        "aws rds create-option-group --region {r} --option-group-name {group} --engine-name {engine} --major-engine-version {major} --option-group-description \"TDE for {n}\""
    );
    let mut commands = Vec::new();
    if ctx.row.hosting == "rds" {
        commands.push(aws(format!(
            "case \"$(db_attr {r} {n} 'OptionGroupMemberships[0].OptionGroupName')\" in\n  ''|default:*) {create} ;;\n  *) aws rds copy-option-group --region {r} --source-option-group-identifier \"$(db_attr {r} {n} 'OptionGroupMemberships[0].OptionGroupName')\" --target-option-group-identifier {group} --target-option-group-description \"TDE for {n}, with the options of its current group\" ;;\nesac"
        )));
    } else {
        commands.push(aws(create));
    }
    commands.push(aws(format!(
        "aws rds add-option-to-option-group --region {r} --option-group-name {group} --options OptionName=TDE --apply-immediately"
    )));
    steps.push(step(
        Phase::Prepare,
        "Prepare the TDE option group",
        "A copy of the instance's current option group (so its other options, e.g. Oracle TIMEZONE, which is permanent, stay) with TDE added. It is attached to the new, encrypted instance only, at its restore: on Oracle TDE is permanent, and the old instance is being retired.",
        commands,
        &["rds-oracle-tde", "rds-sqlserver-tde", "rds-snapshot-share-tde"],
    ));
    let cols = ctx
        .row
        .sensitive_columns
        .iter()
        .filter_map(|c| c.split_once('.'))
        .collect::<Vec<_>>();
    let sql_steps = if ctx.family == "sqlserver" {
        vec![
            sql(
                "SELECT name, start_date FROM master.sys.certificates WHERE name LIKE 'RDSTDECertificate%';",
            ),
            sql(
                "DECLARE @cert sysname = (SELECT TOP 1 name FROM master.sys.certificates WHERE name LIKE 'RDSTDECertificate%' ORDER BY start_date DESC); DECLARE @sql nvarchar(max) = N''; SELECT @sql += N'USE ' + QUOTENAME(name) + N'; CREATE DATABASE ENCRYPTION KEY WITH ALGORITHM = AES_256 ENCRYPTION BY SERVER CERTIFICATE ' + QUOTENAME(@cert) + N'; ALTER DATABASE ' + QUOTENAME(name) + N' SET ENCRYPTION ON; ' FROM sys.databases WHERE database_id > 4 AND name <> 'rdsadmin'; EXEC sp_executesql @sql;",
            ),
            sql(
                "SELECT DB_NAME(database_id), encryption_state FROM sys.dm_database_encryption_keys;  -- 3 = encrypted",
            ),
        ]
    } else if cols.is_empty() {
        vec![
            sql(
                "CREATE TABLESPACE atrest_enc DATAFILE SIZE 10G AUTOEXTEND ON ENCRYPTION USING 'AES256' DEFAULT STORAGE (ENCRYPT);",
            ),
            sql(
                "BEGIN FOR t IN (SELECT owner, table_name FROM dba_tables WHERE owner IN (SELECT username FROM dba_users WHERE oracle_maintained = 'N' AND username <> 'RDSADMIN') AND tablespace_name IS NOT NULL AND tablespace_name <> 'ATREST_ENC') LOOP EXECUTE IMMEDIATE 'ALTER TABLE \"' || t.owner || '\".\"' || t.table_name || '\" MOVE ONLINE TABLESPACE atrest_enc'; END LOOP; FOR i IN (SELECT owner, index_name FROM dba_indexes WHERE owner IN (SELECT username FROM dba_users WHERE oracle_maintained = 'N' AND username <> 'RDSADMIN') AND index_type <> 'LOB' AND tablespace_name IS NOT NULL AND tablespace_name <> 'ATREST_ENC') LOOP EXECUTE IMMEDIATE 'ALTER INDEX \"' || i.owner || '\".\"' || i.index_name || '\" REBUILD ONLINE TABLESPACE atrest_enc'; END LOOP; END;",
            ),
        ]
    } else {
        cols.iter()
            .map(|(t, c)| {
                sql(format!(
                    "ALTER TABLE {t} MODIFY ({c} ENCRYPT USING 'AES256' NO SALT);"
                ))
            })
            .collect()
    };
    steps.push(step(
        Phase::Migrate,
        "Encrypt with TDE on the new instance",
        "The option only makes TDE available; the SQL encrypts. On Oracle: the sensitive columns (or an encrypted tablespace the tables move into); on SQL Server: a database encryption key under the RDS TDE certificate. TDE databases' snapshots cannot be shared with other accounts.",
        sql_steps,
        &["rds-oracle-tde", "rds-sqlserver-tde", "oracle-tde-column-encryption"],
    ));
}

fn always_encrypted(ctx: &Ctx<'_>, steps: &mut Vec<Step>) {
    let mut columns: Vec<String> = ctx
        .row
        .sensitive_columns
        .iter()
        .filter(|c| c.contains('.'))
        .map(|c| format!("dbo.{c}"))
        .collect();
    if columns.is_empty() {
        columns.push("$env:AE_COLUMN".into());
    }
    let settings: Vec<String> = columns
        .iter()
        .map(|c| format!("(New-SqlColumnEncryptionSettings -ColumnName {c} -EncryptionType Deterministic -EncryptionKey CEK1)"))
        .collect();
    steps.push(step(
        Phase::Cutover,
        "Encrypt columns with Always Encrypted",
        "Choose the column master key store (Windows certificate store, or an HSM through a CNG/KSP provider), create the keys with client tooling (a column encryption key's encrypted value is produced by the client, never typed in SQL), choose deterministic encryption for columns used in equality lookups or joins and randomized for the rest, and encrypt. Encrypting existing columns moves their data through the client: plan the window, or use the online approach. Applications then connect with `Column Encryption Setting=Enabled`.",
        vec![
            host("$db = Get-SqlDatabase -ServerInstance $env:SQL_SERVER -Name $env:SQL_DATABASE"),
            host("$cmk = New-SqlCertificateStoreColumnMasterKeySettings -CertificateStoreLocation CurrentUser -Thumbprint $env:CMK_THUMBPRINT"),
            host("New-SqlColumnMasterKey -Name CMK1 -InputObject $db -ColumnMasterKeySettings $cmk"),
            host("New-SqlColumnEncryptionKey -Name CEK1 -InputObject $db -ColumnMasterKeyName CMK1"),
            host(format!("Set-SqlColumnEncryption -InputObject $db -ColumnEncryptionSettings @({}) -LogFileDirectory .", settings.join(", "))),
            manual("switch the applications' connection strings to Column Encryption Setting=Enabled"),
        ],
        &["sqlserver-always-encrypted"],
    ));
}

pub(super) fn steps(ctx: &Ctx<'_>, keys: &mut Vec<ProposedKey>, steps: &mut Vec<Step>) {
    for overlay in &ctx.overlays {
        match overlay.as_str() {
            "app-layer-cell-encryption" => cell_key(ctx, keys, steps),
            "rds-native-tde" => rds_tde(ctx, steps),
            "native-column-encryption" => always_encrypted(ctx, steps),
            _ => {}
        }
    }
}
