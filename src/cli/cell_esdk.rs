//! `atrest cell encrypt|decrypt --format esdk`: values in the AWS Encryption SDK's message format.

use std::io::Write;
#[cfg(feature = "esdk")]
use std::sync::Arc;

use super::CliError;
#[cfg(feature = "esdk")]
use super::cell::hint;
use super::cell_args::CryptArgs;
#[cfg(feature = "esdk")]
use crate::cell::Context;
#[cfg(feature = "esdk")]
use crate::cell::text::Values;

#[cfg(feature = "esdk")]
pub(super) fn esdk_crypt(
    args: &CryptArgs,
    encrypt: bool,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    use crate::esdk::{EsdkEncryptor, RawAesKeyring, text as esdk_text};
    if args.csv.is_some() || args.keyring.is_some() {
        return Err(CliError::usage(
            "`--format esdk` works on values, not with `--csv` or `--keyring`",
        )
        .with_help("pass the values as arguments or lines of standard input"));
    }
    let mut ctx = Context::new(&args.table, &args.column).map_err(hint(
        "name the table and the column with `--table` and `--column`, at most 8,192 bytes in all",
    ))?;
    if let Some(row) = &args.row {
        ctx = ctx.with_row(row).map_err(hint("shorten `--row`"))?;
    }
    let Some(path) = &args.esdk_key else {
        return Err(
            CliError::usage("`--format esdk` needs `--esdk-key FILE`").with_help(
                "write the raw AES wrapping key (32 bytes as hex or base64) to a private file",
            ),
        );
    };
    let Some((namespace, name)) = args.esdk_key_name.split_once('/') else {
        return Err(CliError::usage(format!(
            "`--esdk-key-name {}` is not NAMESPACE/NAME",
            args.esdk_key_name
        ))
        .with_help(
            "pass the key namespace and name the other ESDK writers use, e.g. `atrest/atrest`",
        ));
    };
    let key = esdk_text::read_wrapping_key(path)?;
    let keyring = Arc::new(RawAesKeyring::new(namespace, name, &key)?);
    let enc = EsdkEncryptor::builder(keyring).build()?;
    let (stdin, values) = (std::io::stdin(), &args.values);
    let mut lines = stdin.lock();
    let values = match values.is_empty() {
        true => Values::Lines(&mut lines),
        false => Values::Args(values),
    };
    let run = if encrypt {
        esdk_text::encrypt_values
    } else {
        esdk_text::decrypt_values
    };
    run(&enc, &ctx, values, out)?;
    Ok(())
}

#[cfg(not(feature = "esdk"))]
pub(super) fn esdk_crypt(_: &CryptArgs, _: bool, _: &mut dyn Write) -> Result<(), CliError> {
    Err(
        CliError::usage("this build has no ESDK support, so `--format esdk` cannot be used")
            .with_help("rebuild with the `esdk` feature"),
    )
}
