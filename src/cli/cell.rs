//! `atrest cell ...`: field encryption from the command line. Flags become a checked job, then one library call
//! (`cell::text`, `cell::csv`, `Keyring::rewrap`, `cell::bench`) does the work; this file adds the flag names to hints.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use super::cell_args::*;
use super::cell_esdk::esdk_crypt;
use super::{CliError, CliResult, ErrorKind, Outcome};
use crate::cell::bench::{self, BenchConfig};
use crate::cell::csv::{self, ColumnJob, ColumnRole, CsvError};
use crate::cell::format::MAX_PLAINTEXT_LEN;
use crate::cell::text::{self, BatchError, TextJob, Values};
use crate::cell::{
    BlindIndex, CellEncryptor, CellError, Context, KeyFileError, KeyFileProvider, KeyProvider,
    Keyring, KeyringError,
};
use crate::error::Help;

pub fn run(args: CellArgs, out: &mut dyn Write) -> CliResult {
    match args.command {
        CellCommand::Keygen(a) => {
            let provider = KeyFileProvider::create(&a.out)?;
            writeln!(
                out,
                "created key file `{}` (key id {}, mode 0600); keep it secret and back it up: without it nothing it encrypted can be decrypted",
                a.out.display(),
                provider.key_id()
            )?;
        }
        CellCommand::Encrypt(a) => crypt(&a.crypt, Some(&a), out)?,
        CellCommand::Decrypt(a) => crypt(&a, None, out)?,
        CellCommand::Rewrap(a) => rewrap(&a, out)?,
        CellCommand::CommitIndexRoots(a) => commit_index_roots(&a, out)?,
        #[cfg(feature = "postgres")]
        CellCommand::Migrate(a) => return super::cell_migrate::migrate(&a, out),
        #[cfg(feature = "postgres")]
        CellCommand::Rotate(a) => return super::cell_migrate::rotate(&a, out),
        #[cfg(not(feature = "postgres"))]
        CellCommand::Migrate(_) | CellCommand::Rotate(_) => {
            return Err(CliError::usage("this build has no PostgreSQL support")
                .with_help("rebuild with the `postgres` feature"));
        }
        CellCommand::Bench(a) => {
            let max = MAX_PLAINTEXT_LEN;
            let config = BenchConfig::new(a.sizes, Duration::from_millis(a.millis)).map_err(hint(format!(
                "pass `--millis` above 0 and `--sizes` between 0 and {max} bytes, e.g. `--sizes 64,1024 --millis 300`"
            )))?;
            write!(out, "{}", bench::run(&config)?)?;
        }
    }
    Ok(Outcome::Success)
}

/// A library error with a flag-specific hint in place of its own, when there is one.
fn hinted<E: Help + 'static>(e: E, hint: Option<String>) -> CliError {
    let err = CliError::from(e);
    match hint {
        Some(h) => err.with_help(h),
        None => err,
    }
}

/// The same, as a `map_err` argument.
pub(super) fn hint<E: Help + 'static>(hint: impl Into<String>) -> impl FnOnce(E) -> CliError {
    move |e| CliError::from(e).with_help(hint)
}

/// Opens the key file or KMS key named by a pair of flags (`flags`: their names).
pub(super) fn provider(
    key: &KeySource,
    flags: [&str; 2],
) -> Result<Arc<dyn KeyProvider>, CliError> {
    let [file_flag, kms_flag] = flags;
    match (&key.key_file, &key.kms_key_id) {
        (Some(path), _) => {
            let shown = path.display();
            let hint = match KeyFileProvider::open(path) {
                Ok(p) => return Ok(Arc::new(p)),
                Err(e @ KeyFileError::Io { .. }) => hint(format!(
                    "check the path given to `{file_flag}`, or create a key file with `atrest cell keygen --out {shown}`"
                ))(e),
                Err(e @ KeyFileError::Malformed { .. }) => {
                    hint("pass the file that `atrest cell keygen` wrote")(e)
                }
                Err(e) => e.into(),
            };
            Err(hint)
        }
        #[cfg(feature = "aws")]
        (None, Some(id)) => {
            let settings = key.aws.settings();
            let provider = crate::cell::KmsProvider::from_settings(&settings, id).map_err(|e| match e {
                crate::cell::KmsSetupError::Aws(a) => super::inventory::endpoint_help(a),
                other => other.into(),
            })?;
            Ok(Arc::new(provider))
        }
        #[cfg(not(feature = "aws"))]
        (None, Some(id)) => Err(CliError::usage(format!(
            "this build has no AWS support, so `{kms_flag} {id}` cannot be used"
        ))
        .with_help("rebuild with the `aws` feature or pass `--key-file FILE`")),
        (None, None) => Err(CliError::usage("no key source given").with_help(format!(
            "pass `{file_flag} FILE` (create one with `atrest cell keygen --out FILE`) or `{kms_flag} ARN`"
        ))),
    }
}

pub(super) const MAIN_FLAGS: [&str; 2] = ["--key-file", "--kms-key-id"];
const KEYRING_HINT: &str = "pass a file written by `atrest cell encrypt --keyring`";

/// What `encrypt` or `decrypt` does, every flag checked before any file is opened or key fetched.
enum Job {
    Values(TextJob),
    Csv(ColumnJob, PathBuf, PathBuf),
}

impl TryFrom<(&CryptArgs, Option<usize>)> for Job {
    type Error = CliError;

    fn try_from((args, blind_index): (&CryptArgs, Option<usize>)) -> Result<Self, CliError> {
        let mut ctx = Context::new(&args.table, &args.column).map_err(hint(
            "name the table and the column with `--table` and `--column`, at most 8,192 bytes in all",
        ))?;
        if let Some(row) = &args.row {
            ctx = ctx.with_row(row).map_err(hint("shorten `--row`"))?;
        }
        let len = blind_index.map(BlindIndex::check_len).transpose();
        len.map_err(hint("pass `--index-length` between 1 and 32"))?;
        let kms_only = args.key.key_file.is_none() && args.key.kms_key_id.is_some();
        if blind_index.is_some() && kms_only && args.keyring.is_none() {
            return Err(CliError::usage("`--blind-index` with `--kms-key-id` needs `--keyring FILE` to hold the index key")
                .with_help("pass `--keyring FILE`, or use `--key-file FILE`, whose key also derives blind indexes"));
        }
        let Some(input) = &args.csv else {
            return Ok(Job::Values(TextJob::new(ctx, blind_index)?));
        };
        let Some(output) = &args.out else {
            return Err(CliError::usage("`--csv` needs `--out NEW.csv`")
                .with_help("the input file is never changed in place"));
        };
        let job = ColumnJob::new(ctx, args.row_key.clone(), blind_index).map_err(hint(
            "pass another column to `--row-key`, such as the primary key",
        ))?;
        Ok(Job::Csv(job, input.clone(), output.clone()))
    }
}

fn crypt(args: &CryptArgs, enc: Option<&EncryptArgs>, out: &mut dyn Write) -> Result<(), CliError> {
    if args.esdk.format == Format::Esdk {
        return esdk_crypt(args, enc, out);
    }
    let blind_index = enc.filter(|e| e.blind_index).map(|e| e.index_length);
    let job = Job::try_from((args, blind_index))?;
    let mut builder = CellEncryptor::builder(provider(&args.key, MAIN_FLAGS)?);
    if let Some(path) = &args.keyring {
        let keyring = Keyring::open(path).map_err(hint(KEYRING_HINT))?;
        builder = builder.keyring(Arc::new(keyring));
    }
    let cells = builder.build()?;
    match job {
        Job::Values(job) => {
            let (stdin, values) = (std::io::stdin(), &args.values);
            let mut lines = stdin.lock();
            let values = match values.is_empty() {
                true => Values::Lines(&mut lines),
                false => Values::Args(values),
            };
            let run = match enc {
                Some(_) => text::encrypt_values,
                None => text::decrypt_values,
            };
            run(&job, &cells, values, out).map_err(|e| batch_hint(e, "`--row`"))?;
        }
        Job::Csv(job, input, output) => {
            let (verb, rows) = match enc {
                Some(_) => (
                    "encrypted",
                    csv::encrypt_file(&job, &cells, &input, &output),
                ),
                None => (
                    "decrypted",
                    csv::decrypt_file(&job, &cells, &input, &output),
                ),
            };
            let rows = rows.map_err(csv_hint)?;
            let (column, output) = (job.column(), output.display());
            writeln!(
                out,
                "{verb} column `{column}` of {rows} rows into `{output}`"
            )?;
        }
    }
    Ok(())
}

fn batch_hint(e: BatchError, row_flag: &str) -> CliError {
    let hint = match &e {
        BatchError::DataKey { .. } | BatchError::UnwrapKey { .. } => {
            Some("check the key id, `--region` and the credentials".into())
        }
        BatchError::Decrypt { .. } => Some(format!(
            "check `--table`, `--column`, {row_flag}, `--keyring` and the key source"
        )),
        BatchError::Row { .. } => Some(format!("the {row_flag} values must be shorter")),
        _ => None,
    };
    hinted(e, hint)
}

pub(super) fn csv_hint(e: CsvError) -> CliError {
    let hint = match e {
        CsvError::Batch(b) => return batch_hint(b, "`--row-key`"),
        CsvError::Open { .. } => Some("check the path given to `--csv`".into()),
        CsvError::MissingColumn { role, .. } => e.help().map(|h| {
            let flag = if role == ColumnRole::Value {
                "--column"
            } else {
                "--row-key"
            };
            format!("{h}; pass one of them to `{flag}`")
        }),
        CsvError::OutputExists { .. } => {
            Some("choose a new `--out` path, outputs are never overwritten".into())
        }
        _ => None,
    };
    hinted(e, hint)
}

fn rewrap(args: &RewrapArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let from = provider(&args.key, MAIN_FLAGS)?;
    if args.to_key_file.is_none() && args.to_kms_key_id.is_none() {
        return Err(CliError::usage("rewrap needs the new key")
            .with_help("pass `--to-key-file FILE` or `--to-kms-key-id ARN`"));
    }
    let to = KeySource {
        key_file: args.to_key_file.clone(),
        kms_key_id: args.to_kms_key_id.clone(),
        aws: args.key.aws.clone(),
    };
    let to = provider(&to, ["--to-key-file", "--to-kms-key-id"])?;
    let keyring = Keyring::open_existing(&args.keyring).map_err(hint(KEYRING_HINT))?;
    let count = keyring.rewrap(from.as_ref(), to.as_ref()).map_err(|e| {
        let unwritable = matches!(e, CellError::Keyring(KeyringError::Write { .. } | KeyringError::Lock { .. }));
        let hint = "check that `--key-file` or `--kms-key-id` names the key the keyring was written with (nothing was changed)";
        // Nothing was changed, whatever failed: a failure to run, not bad input.
        CliError {
            kind: ErrorKind::Failure,
            ..hinted(e, (!unwritable).then(|| hint.into()))
        }
    })?;
    let (keyring, id) = (args.keyring.display(), to.id());
    writeln!(out, "rewrapped {count} keys in `{keyring}` under `{id}`")?;
    Ok(())
}

fn commit_index_roots(args: &CommitIndexRootsArgs, out: &mut dyn Write) -> Result<(), CliError> {
    let provider = provider(&args.key, MAIN_FLAGS)?;
    let keyring = Keyring::open_existing(&args.keyring).map_err(hint(KEYRING_HINT))?;
    let count = keyring.commit_index_roots(provider.as_ref()).map_err(|e| {
        hinted(e, Some("check that `--key-file` or `--kms-key-id` names the key the keyring was written with (nothing was changed)".into()))
    })?;
    let keyring = args.keyring.display();
    writeln!(
        out,
        "recorded {count} blind-index commitments in `{keyring}`"
    )?;
    Ok(())
}
