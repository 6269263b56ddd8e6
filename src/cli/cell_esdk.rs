//! `atrest cell encrypt|decrypt --format esdk`: values, or one CSV column, in the AWS Encryption SDK's message
//! format, with a raw AES keyring (`--esdk-key`), the AWS KMS keyring (`--kms-key-id`), or both.

use std::io::Write;
#[cfg(feature = "esdk")]
use std::sync::Arc;

use super::CliError;
#[cfg(feature = "esdk")]
use super::cell::{csv_hint, hint};
use super::cell_args::{CryptArgs, EncryptArgs};
#[cfg(feature = "esdk")]
use crate::cell::Context;
#[cfg(feature = "esdk")]
use crate::cell::csv::{self, ColumnJob, CsvError};
#[cfg(feature = "esdk")]
use crate::cell::text::BatchError;
#[cfg(feature = "esdk")]
use crate::cell::text::Values;
#[cfg(feature = "esdk")]
use crate::esdk::Keyring;

/// The flags of the compact form that ESDK messages have no use for.
#[cfg(feature = "esdk")]
fn refuse_cell_flags(args: &CryptArgs, enc: Option<&EncryptArgs>) -> Result<(), CliError> {
    let flag = if args.keyring.is_some() {
        "--keyring"
    } else if args.key.key_file.is_some() {
        "--key-file"
    } else if enc.is_some_and(|e| e.blind_index) {
        "--blind-index"
    } else {
        return Ok(());
    };
    Err(
        CliError::usage(format!("`--format esdk` cannot be used with `{flag}`")).with_help(
            "ESDK messages are wrapped by `--esdk-key FILE` (raw AES) or `--kms-key-id ARN`, and have no blind index",
        ),
    )
}

/// The raw AES keyring of a key file, under the NAMESPACE/NAME of `name_flag`.
#[cfg(feature = "esdk")]
fn raw_aes(
    path: &std::path::Path,
    key_name: &str,
    name_flag: &str,
) -> Result<Arc<dyn Keyring>, CliError> {
    use crate::esdk::{RawAesKeyring, text as esdk_text};
    let Some((namespace, name)) = key_name.split_once('/') else {
        return Err(
            CliError::usage(format!("`{name_flag} {key_name}` is not NAMESPACE/NAME")).with_help(
                "pass the key namespace and name the other ESDK writers use, e.g. `atrest/atrest`",
            ),
        );
    };
    let key = esdk_text::read_wrapping_key(path)?;
    Ok(Arc::new(RawAesKeyring::new(namespace, name, &key)?))
}

/// The AWS KMS keyring of a key ARN (strict: it decrypts what its key wrapped, nothing else).
#[cfg(all(feature = "esdk", feature = "aws"))]
fn kms(aws: &super::aws_args::AwsArgs, id: &str) -> Result<Arc<dyn Keyring>, CliError> {
    let settings = aws.settings();
    let keyring = crate::esdk::AwsKmsKeyring::from_settings(&settings, vec![id.to_owned()])
        .map_err(|e| match e {
            crate::cell::KmsSetupError::Aws(a) => super::inventory::endpoint_help(a),
            other => other.into(),
        })?;
    Ok(Arc::new(keyring))
}

#[cfg(all(feature = "esdk", not(feature = "aws")))]
fn kms(_: &super::aws_args::AwsArgs, id: &str) -> Result<Arc<dyn Keyring>, CliError> {
    Err(CliError::usage(format!(
        "this build has no AWS support, so `--kms-key-id {id}` cannot be used"
    ))
    .with_help("rebuild with the `aws` feature or pass `--esdk-key FILE`"))
}

/// Where an ESDK keyring comes from, and the names of its flags for messages.
#[cfg(feature = "esdk")]
pub(super) struct EsdkKeys<'a> {
    pub kms_key_id: Option<&'a str>,
    pub esdk_key: Option<&'a std::path::Path>,
    pub key_name: &'a str,
    pub aws: &'a super::aws_args::AwsArgs,
    /// `--esdk-key`, `--esdk-key-name` and `--kms-key-id`, or their `--to-` forms.
    pub flags: [&'static str; 3],
    /// The flag that asked for ESDK messages, e.g. `--format esdk`.
    pub asked_by: &'static str,
}

/// The keyring of the flags: KMS, raw AES, or both (KMS generates the data key, raw AES wraps it too).
#[cfg(feature = "esdk")]
pub(super) fn esdk_keyring(keys: &EsdkKeys<'_>) -> Result<Arc<dyn Keyring>, CliError> {
    let [key_flag, name_flag, kms_flag] = keys.flags;
    let mut children = Vec::new();
    if let Some(id) = keys.kms_key_id {
        children.push(kms(keys.aws, id)?);
    }
    if let Some(path) = keys.esdk_key {
        children.push(raw_aes(path, keys.key_name, name_flag)?);
    }
    match children.len() {
        0 => Err(CliError::usage(format!(
            "`{}` needs `{key_flag} FILE` or `{kms_flag} ARN`",
            keys.asked_by
        ))
        .with_help(
            "write the raw AES wrapping key (32 bytes as hex or base64) to a private file, or name a KMS key",
        )),
        1 => Ok(children.remove(0)),
        _ => Ok(Arc::new(crate::esdk::MultiKeyring::new(children))),
    }
}

#[cfg(feature = "esdk")]
fn keyring(args: &CryptArgs) -> Result<Arc<dyn Keyring>, CliError> {
    esdk_keyring(&EsdkKeys {
        kms_key_id: args.key.kms_key_id.as_deref(),
        esdk_key: args.esdk.esdk_key.as_deref(),
        key_name: &args.esdk.esdk_key_name,
        aws: &args.key.aws,
        flags: ["--esdk-key", "--esdk-key-name", "--kms-key-id"],
        asked_by: "--format esdk",
    })
}

#[cfg(feature = "esdk")]
pub(super) fn esdk_crypt(
    args: &CryptArgs,
    enc: Option<&EncryptArgs>,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    use crate::esdk::{EsdkEncryptor, text as esdk_text};
    refuse_cell_flags(args, enc)?;
    let mut ctx = Context::new(&args.table, &args.column).map_err(hint(
        "name the table and the column with `--table` and `--column`, at most 8,192 bytes in all",
    ))?;
    if let Some(row) = &args.row {
        ctx = ctx.with_row(row).map_err(hint("shorten `--row`"))?;
    }
    let csv_job = match (&args.csv, &args.out) {
        (Some(input), Some(output)) => {
            let job = ColumnJob::new(ctx.clone(), args.row_key.clone(), None).map_err(hint(
                "pass another column to `--row-key`, such as the primary key",
            ))?;
            Some((job, input, output))
        }
        (Some(_), None) => {
            return Err(CliError::usage("`--csv` needs `--out NEW.csv`")
                .with_help("the input file is never changed in place"));
        }
        (None, _) => None,
    };
    let esdk = EsdkEncryptor::builder(keyring(args)?).build()?;
    if let Some((job, input, output)) = csv_job {
        let (verb, rows) = match enc {
            Some(_) => ("encrypted", csv::encrypt_file(&job, &esdk, input, output)),
            None => ("decrypted", csv::decrypt_file(&job, &esdk, input, output)),
        };
        let rows = rows.map_err(|e| match e {
            CsvError::Batch(BatchError::Decrypt { .. }) => CliError::from(e).with_help(
                "check `--table`, `--column`, `--row-key` and the keys (`--esdk-key`, `--esdk-key-name`, `--kms-key-id`)",
            ),
            e => csv_hint(e),
        })?;
        let (column, output) = (job.column(), output.display());
        writeln!(
            out,
            "{verb} column `{column}` of {rows} rows into `{output}`"
        )?;
        return Ok(());
    }
    let (stdin, values) = (std::io::stdin(), &args.values);
    let mut lines = stdin.lock();
    let values = match values.is_empty() {
        true => Values::Lines(&mut lines),
        false => Values::Args(values),
    };
    let run = match enc {
        Some(_) => esdk_text::encrypt_values,
        None => esdk_text::decrypt_values,
    };
    run(&esdk, &ctx, values, out)?;
    Ok(())
}

#[cfg(not(feature = "esdk"))]
pub(super) fn esdk_crypt(
    _: &CryptArgs,
    _: Option<&EncryptArgs>,
    _: &mut dyn Write,
) -> Result<(), CliError> {
    Err(
        CliError::usage("this build has no ESDK support, so `--format esdk` cannot be used")
            .with_help("rebuild with the `esdk` feature"),
    )
}
