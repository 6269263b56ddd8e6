//! The ciphertext side of `cell migrate` and `cell rotate`: atrest's cell format (a key file or KMS key, and a
//! keyring for the compact form) or AWS Encryption SDK messages (a raw AES key file, a KMS key, or both).

use std::path::Path;
use std::sync::Arc;

use super::CliError;
use super::aws_args::AwsArgs;
use super::cell::{hint, provider};
use super::cell_args::{Format, KeySource};
use crate::cell::{CellEncryptor, Keyring};
#[cfg(feature = "esdk")]
use crate::esdk::EsdkEncryptor;
use crate::migrate::Codec;

/// An encryptor of either format, owned by the command.
pub(super) enum Sealer {
    Cell(CellEncryptor),
    #[cfg(feature = "esdk")]
    Esdk(EsdkEncryptor),
}

impl Sealer {
    pub(super) fn codec(&self) -> Codec<'_> {
        match self {
            Sealer::Cell(c) => Codec::Cell(c),
            #[cfg(feature = "esdk")]
            Sealer::Esdk(e) => Codec::Esdk(e),
        }
    }
}

/// One side's key flags, with their names for messages.
pub(super) struct Side<'a> {
    pub format: Format,
    pub key_file: Option<&'a Path>,
    pub kms_key_id: Option<&'a str>,
    pub esdk_key: Option<&'a Path>,
    #[cfg_attr(not(feature = "esdk"), allow(dead_code, reason = "ESDK messages only"))]
    pub esdk_key_name: &'a str,
    /// `--key-file`, `--kms-key-id`, `--esdk-key`, `--esdk-key-name`, or their `--to-` forms.
    pub flags: [&'static str; 4],
    /// The flag that chose the format, e.g. `--format` or `--to-format`.
    pub format_flag: &'static str,
}

/// The sealer of one side: the cell format's key and `keyring` (compact form), or the ESDK's keyring.
pub(super) fn sealer(
    side: &Side<'_>,
    keyring: Option<Arc<Keyring>>,
    aws: &AwsArgs,
) -> Result<Sealer, CliError> {
    let [file_flag, kms_flag, esdk_flag, name_flag] = side.flags;
    match side.format {
        Format::Cell => {
            if side.esdk_key.is_some() {
                return Err(CliError::usage(format!(
                    "`{esdk_flag}` is a key of ESDK messages, and `{} cell` writes atrest's cell format",
                    side.format_flag
                ))
                .with_help(format!(
                    "pass `{file_flag}` or `{kms_flag}` for the cell format, or `{} esdk`",
                    side.format_flag
                )));
            }
            let source = KeySource {
                key_file: side.key_file.map(Path::to_path_buf),
                kms_key_id: side.kms_key_id.map(str::to_owned),
                aws: aws.clone(),
            };
            let mut builder = CellEncryptor::builder(provider(&source, [file_flag, kms_flag])?);
            if let Some(keyring) = keyring {
                builder = builder.keyring(keyring);
            }
            Ok(Sealer::Cell(builder.build()?))
        }
        Format::Esdk => esdk(
            side,
            keyring.is_some(),
            aws,
            [esdk_flag, name_flag, kms_flag],
        ),
    }
}

#[cfg(feature = "esdk")]
fn esdk(
    side: &Side<'_>,
    has_keyring: bool,
    aws: &AwsArgs,
    flags: [&'static str; 3],
) -> Result<Sealer, CliError> {
    let refused = match (side.key_file.is_some(), has_keyring) {
        (true, _) => Some(side.flags[0]),
        (false, true) => Some("--keyring"),
        (false, false) => None,
    };
    if let Some(flag) = refused {
        return Err(CliError::usage(format!(
            "`{} esdk` cannot be used with `{flag}`",
            side.format_flag
        ))
        .with_help(format!(
            "ESDK messages are wrapped by `{} FILE` (raw AES) or `{} ARN`, and need no keyring",
            flags[0], flags[2]
        )));
    }
    let keyring = super::cell_esdk::esdk_keyring(&super::cell_esdk::EsdkKeys {
        kms_key_id: side.kms_key_id,
        esdk_key: side.esdk_key,
        key_name: side.esdk_key_name,
        aws,
        flags,
        asked_by: match side.format_flag {
            "--to-format" => "--to-format esdk",
            "--from-format" => "--from-format esdk",
            _ => "--format esdk",
        },
    })?;
    Ok(Sealer::Esdk(EsdkEncryptor::builder(keyring).build()?))
}

#[cfg(not(feature = "esdk"))]
fn esdk(side: &Side<'_>, _: bool, _: &AwsArgs, _: [&'static str; 3]) -> Result<Sealer, CliError> {
    Err(CliError::usage(format!(
        "this build has no ESDK support, so `{} esdk` cannot be used",
        side.format_flag
    ))
    .with_help("rebuild with the `esdk` feature"))
}

/// The keyring file of `--keyring`, when given.
pub(super) fn keyring(path: Option<&Path>) -> Result<Option<Arc<Keyring>>, CliError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let keyring = Keyring::open(path).map_err(hint(
        "pass a file written by `atrest cell encrypt --keyring`",
    ))?;
    Ok(Some(Arc::new(keyring)))
}
