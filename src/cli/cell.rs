//! `atrest cell ...`: field encryption from the command line.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::{AwsArgs, CliError, CliResult, Outcome};
use crate::cell::{
    BlindIndex, CellEncryptor, CellError, Context, IndexKey, KeyFileError, KeyFileProvider,
    KeyProvider, Keyring, MAX_INDEX_LEN, MIN_INDEX_LEN, format,
};

/// Rows per batch when encrypting a CSV file or standard input: one key lookup and one `getrandom` per batch.
const BATCH: usize = 1024;

#[derive(Debug, Args)]
pub struct CellArgs {
    #[command(subcommand)]
    pub command: CellCommand,
}

#[derive(Debug, Subcommand)]
pub enum CellCommand {
    /// Create a local wrapping-key file (mode 0600) for offline use; the key is never printed
    Keygen(KeygenArgs),
    /// Encrypt values (arguments, standard input lines, or a CSV column) and print them as base64
    Encrypt(EncryptArgs),
    /// Decrypt base64 values (arguments, standard input lines, or a CSV column)
    Decrypt(CryptArgs),
    /// Rewrap every data key of a keyring under a new KMS key or key file; the cells stay as they are
    Rewrap(RewrapArgs),
    /// Measure cell encryption on this machine next to raw AES-256-GCM (ring)
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Path of the new key file (never overwritten)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct KeySource {
    /// Local key file made by `atrest cell keygen`
    #[arg(long, value_name = "FILE", conflicts_with = "kms_key_id")]
    pub key_file: Option<PathBuf>,
    /// AWS KMS key (ARN, key id or alias) that wraps the data keys
    #[arg(long, value_name = "ARN")]
    pub kms_key_id: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Debug, Args)]
pub struct CryptArgs {
    /// Values to process; with none (and no `--csv`), each line of standard input is one value
    #[arg(value_name = "VALUE", conflicts_with = "csv")]
    pub values: Vec<String>,
    #[command(flatten)]
    pub key: KeySource,
    /// Keyring file for the compact form (47 bytes of overhead); created on first use
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
    /// Table the values belong to (bound to every value)
    #[arg(long, value_name = "NAME")]
    pub table: String,
    /// Column the values belong to; with `--csv`, the CSV column to process
    #[arg(long, value_name = "NAME")]
    pub column: String,
    /// Row (primary key) the values belong to
    #[arg(long, value_name = "ID", conflicts_with = "csv")]
    pub row: Option<String>,
    /// Process one column of this CSV file (with a header line) into `--out`
    #[arg(long, value_name = "FILE")]
    pub csv: Option<PathBuf>,
    /// CSV column whose value binds each cell to its row
    #[arg(long, value_name = "NAME", requires = "csv")]
    pub row_key: Option<String>,
    /// New CSV file to write (never overwritten; the input is never changed in place)
    #[arg(long, value_name = "FILE", requires = "csv")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct EncryptArgs {
    #[command(flatten)]
    pub crypt: CryptArgs,
    /// Also output a blind index of each value for equality search (hex; CSV: a `<column>_idx` column)
    #[arg(long)]
    pub blind_index: bool,
    /// Length of the blind index in bytes (1 to 32); shorter hides more and matches more false positives
    #[arg(long, value_name = "BYTES", default_value_t = crate::cell::DEFAULT_INDEX_LEN, requires = "blind_index")]
    pub index_length: usize,
}

#[derive(Debug, Args)]
pub struct RewrapArgs {
    /// Keyring file whose data keys to rewrap (replaced atomically)
    #[arg(long, value_name = "FILE")]
    pub keyring: PathBuf,
    #[command(flatten)]
    pub key: KeySource,
    /// New key file that will wrap the data keys
    #[arg(long, value_name = "FILE", conflicts_with = "to_kms_key_id")]
    pub to_key_file: Option<PathBuf>,
    /// New AWS KMS key that will wrap the data keys
    #[arg(long, value_name = "ARN")]
    pub to_kms_key_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Cell sizes in bytes
    #[arg(long, value_name = "BYTES", value_delimiter = ',', default_values_t = [16usize, 64, 256, 1024, 4096, 65536, 1048576])]
    pub sizes: Vec<usize>,
    /// Time spent on each measurement, in milliseconds
    #[arg(long, value_name = "MS", default_value_t = 300)]
    pub millis: u64,
}

pub fn run(args: CellArgs, out: &mut dyn Write) -> CliResult {
    match args.command {
        CellCommand::Keygen(a) => keygen(&a, out),
        CellCommand::Encrypt(a) => encrypt(&a, out),
        CellCommand::Decrypt(a) => decrypt(&a, out),
        CellCommand::Rewrap(a) => rewrap(&a, out),
        CellCommand::Bench(a) => bench(&a, out),
    }
}

fn shown(path: &Path) -> String {
    path.display().to_string()
}

fn keygen(args: &KeygenArgs, out: &mut dyn Write) -> CliResult {
    let provider = KeyFileProvider::create(&args.out).map_err(|e| match e {
        KeyFileError::Exists(p) => CliError::usage(format!(
            "`{}` already exists; choose a new path, a key file is never overwritten",
            shown(&p)
        )),
        KeyFileError::Io { path, message, .. } => CliError::failure(format!(
            "cannot create `{}`: {message}; check that its directory exists and is writable",
            shown(&path)
        )),
        other => CliError::failure(other.to_string()),
    })?;
    writeln!(
        out,
        "created key file `{}` (key id {}, mode 0600); keep it secret and back it up: without it nothing it encrypted can be decrypted",
        shown(&args.out),
        provider.key_id()
    )?;
    Ok(Outcome::Success)
}

/// Opens the provider named by the flags.
fn provider(
    key: &KeySource,
    file_flag: &str,
    kms_flag: &str,
) -> Result<Arc<dyn KeyProvider>, CliError> {
    match (&key.key_file, &key.kms_key_id) {
        (Some(path), _) => open_key_file(path, file_flag),
        (None, Some(id)) => kms_provider(&key.aws, id),
        (None, None) => Err(CliError::usage(format!(
            "no key source given; pass `{file_flag} FILE` (create one with `atrest cell keygen --out FILE`) or `{kms_flag} ARN`"
        ))),
    }
}

fn open_key_file(path: &Path, flag: &str) -> Result<Arc<dyn KeyProvider>, CliError> {
    KeyFileProvider::open(path)
        .map(|p| Arc::new(p) as Arc<dyn KeyProvider>)
        .map_err(|e| key_file_error(e, flag))
}

fn key_file_error(e: KeyFileError, flag: &str) -> CliError {
    match e {
        KeyFileError::Io { path, message, .. } => CliError::usage(format!(
            "cannot read key file `{}` given to `{flag}`: {message}; create one with `atrest cell keygen --out {}`",
            shown(&path),
            shown(&path)
        )),
        KeyFileError::Malformed(path) => CliError::usage(format!(
            "`{}` is not an atrest key file; pass the file that `atrest cell keygen` wrote",
            shown(&path)
        )),
        KeyFileError::Permissions { path, mode } => CliError::usage(format!(
            "key file `{}` may be read by other users (mode {mode:04o}); run `chmod 600 {}`",
            shown(&path),
            shown(&path)
        )),
        other => CliError::failure(other.to_string()),
    }
}

#[cfg(feature = "aws")]
fn kms_provider(aws: &AwsArgs, key_id: &str) -> Result<Arc<dyn KeyProvider>, CliError> {
    use crate::cell::{KmsProvider, KmsSetupError};
    KmsProvider::from_settings(&aws.settings(), key_id)
        .map(|p| Arc::new(p) as Arc<dyn KeyProvider>)
        .map_err(|e| match e {
            KmsSetupError::Aws(a) => CliError::usage(a.to_string()),
            other => CliError::usage(other.to_string()),
        })
}

#[cfg(not(feature = "aws"))]
fn kms_provider(_aws: &AwsArgs, key_id: &str) -> Result<Arc<dyn KeyProvider>, CliError> {
    Err(CliError::usage(format!(
        "this build has no AWS support, so `--kms-key-id {key_id}` cannot be used; rebuild with the `aws` feature or pass `--key-file FILE`"
    )))
}

fn open_keyring(path: &Path) -> Result<Arc<Keyring>, CliError> {
    Keyring::open(path)
        .map(Arc::new)
        .map_err(|e| keyring_error(path, &e))
}

fn keyring_error(path: &Path, e: &CellError) -> CliError {
    let detail = match e {
        CellError::Keyring(m) => m.clone(),
        other => other.to_string(),
    };
    CliError::usage(format!(
        "cannot use keyring `{}`: {detail}; pass a file written by `atrest cell encrypt --keyring`",
        shown(path)
    ))
}

/// Errors of the library while encrypting, with the value's position.
fn encrypt_error(what: &str, e: CellError) -> CliError {
    match e.clone() {
        CellError::Provider(p) => CliError::failure(format!(
            "cannot get a data key for {what}: {p}; check the key id, `--region` and the credentials"
        )),
        CellError::Keyring(m) => CliError::failure(format!(
            "cannot store the data key for {what}: {m}; check that the `--keyring` file is writable"
        )),
        CellError::TooLarge { .. } => CliError::usage(format!(
            "cannot encrypt {what}: {e}; split the value or keep it outside the database",
        )),
        other => CliError::failure(format!(
            "cannot encrypt {what}: {other}; run again, and report it if it persists"
        )),
    }
}

fn decrypt_error(what: &str, e: CellError, csv: bool) -> CliError {
    match e {
        CellError::Provider(p) => CliError::failure(format!(
            "cannot unwrap the data key of {what}: {p}; check the key id, `--region` and the credentials"
        )),
        _ => CliError::failure(format!(
            "cannot decrypt {what}: wrong key, wrong context or a damaged value; check `--table`, `--column`, {}, `--keyring` and the key source",
            if csv { "`--row-key`" } else { "`--row`" }
        )),
    }
}

struct Session {
    cells: CellEncryptor,
    provider: Arc<dyn KeyProvider>,
    keyring: Option<Arc<Keyring>>,
}

fn session(args: &CryptArgs) -> Result<Session, CliError> {
    if args.table.is_empty() {
        return Err(CliError::usage(
            "`--table` is empty; name the table the values belong to",
        ));
    }
    if args.column.is_empty() {
        return Err(CliError::usage(
            "`--column` is empty; name the column the values belong to",
        ));
    }
    if args.csv.is_some() && args.out.is_none() {
        return Err(CliError::usage(
            "`--csv` needs `--out NEW.csv`; the input file is never changed in place",
        ));
    }
    let provider = provider(&args.key, "--key-file", "--kms-key-id")?;
    let keyring = args.keyring.as_deref().map(open_keyring).transpose()?;
    let mut builder = CellEncryptor::builder(Arc::clone(&provider));
    if let Some(k) = &keyring {
        builder = builder.keyring(Arc::clone(k));
    }
    let cells = builder
        .build()
        .map_err(|e| CliError::failure(e.to_string()))?;
    Ok(Session {
        cells,
        provider,
        keyring,
    })
}

fn base_context(args: &CryptArgs) -> Result<Context, CliError> {
    Context::new(&args.table, &args.column)
        .map_err(|e| CliError::usage(format!("{e}; shorten `--table` or `--column`")))
}

fn index_for(
    args: &EncryptArgs,
    s: &Session,
    ctx: &Context,
) -> Result<Option<BlindIndex>, CliError> {
    if !args.blind_index {
        return Ok(None);
    }
    if !(MIN_INDEX_LEN..=MAX_INDEX_LEN).contains(&args.index_length) {
        return Err(CliError::usage(format!(
            "`--index-length {}` is out of range; use {MIN_INDEX_LEN} to {MAX_INDEX_LEN} bytes",
            args.index_length
        )));
    }
    // A keyring keeps the index root through key rotation; without one, a key file derives it.
    let root: IndexKey = match (&s.keyring, &args.crypt.key.key_file) {
        (Some(keyring), _) => keyring
            .index_root(s.provider.as_ref(), &ctx.scope())
            .map_err(|e| keyring_error(keyring.path().unwrap_or(Path::new("-")), &e))?,
        (None, Some(path)) => {
            let file = KeyFileProvider::open(path).map_err(|e| key_file_error(e, "--key-file"))?;
            file.index_root().clone()
        }
        (None, None) => {
            return Err(CliError::usage(
                "`--blind-index` with `--kms-key-id` needs `--keyring FILE` to hold the index key",
            ));
        }
    };
    BlindIndex::new(&root, ctx, args.index_length)
        .map(Some)
        .map_err(|e| CliError::usage(e.to_string()))
}

fn encrypt(args: &EncryptArgs, out: &mut dyn Write) -> CliResult {
    let s = session(&args.crypt)?;
    let mut ctx = base_context(&args.crypt)?;
    let index = index_for(args, &s, &ctx)?;
    if let Some(csv) = &args.crypt.csv {
        return csv_file(
            &args.crypt,
            csv,
            &s,
            &ctx,
            Mode::Encrypt(index.as_ref()),
            out,
        );
    }
    if let Some(row) = &args.crypt.row {
        ctx.set_row(Some(row))
            .map_err(|e| CliError::usage(format!("{e}; shorten `--row`")))?;
    }
    let mut emit =
        |values: &[Vec<u8>], first: usize, out: &mut dyn Write| -> Result<(), CliError> {
            let cells: Vec<(&Context, &[u8])> =
                values.iter().map(|v| (&ctx, v.as_slice())).collect();
            let what = || format!("values {} to {}", first + 1, first + values.len());
            let sealed = s
                .cells
                .encrypt_batch(&cells)
                .map_err(|e| encrypt_error(&what(), e))?;
            for (value, sealed) in values.iter().zip(sealed) {
                match &index {
                    Some(index) => writeln!(
                        out,
                        "{} {}",
                        format::to_text(&sealed),
                        index.compute_hex(value)
                    )?,
                    None => writeln!(out, "{}", format::to_text(&sealed))?,
                }
            }
            Ok(())
        };
    for_each_batch(&args.crypt.values, out, &mut emit)?;
    Ok(Outcome::Success)
}

fn decrypt(args: &CryptArgs, out: &mut dyn Write) -> CliResult {
    let s = session(args)?;
    let mut ctx = base_context(args)?;
    if let Some(csv) = &args.csv {
        return csv_file(args, csv, &s, &ctx, Mode::Decrypt, out);
    }
    if let Some(row) = &args.row {
        ctx.set_row(Some(row))
            .map_err(|e| CliError::usage(format!("{e}; shorten `--row`")))?;
    }
    let mut emit =
        |values: &[Vec<u8>], first: usize, out: &mut dyn Write| -> Result<(), CliError> {
            let contexts = vec![&ctx; values.len()];
            let what = |i: usize| format!("value {}", first + i + 1);
            for (i, plain) in decrypt_texts(&s, &contexts, values).into_iter().enumerate() {
                let plain = plain.map_err(|e| decrypt_error(&what(i), e, false))?;
                out.write_all(&plain)?;
                out.write_all(b"\n")?;
            }
            Ok(())
        };
    for_each_batch(&args.values, out, &mut emit)?;
    Ok(Outcome::Success)
}

/// Decodes base64 texts and decrypts them in one batch (one key lookup per run of cells under the same data key).
fn decrypt_texts<T: AsRef<[u8]>>(
    s: &Session,
    contexts: &[&Context],
    texts: &[T],
) -> Vec<Result<Vec<u8>, CellError>> {
    let bytes: Vec<Result<Vec<u8>, CellError>> = texts
        .iter()
        .map(|t| {
            std::str::from_utf8(t.as_ref())
                .map_err(|_| CellError::Decrypt)
                .and_then(format::from_text)
        })
        .collect();
    let cells: Vec<(&Context, &[u8])> = contexts
        .iter()
        .zip(&bytes)
        .filter_map(|(c, b)| b.as_ref().ok().map(|b| (*c, b.as_slice())))
        .collect();
    let mut opened = s.cells.decrypt_batch(&cells).into_iter();
    bytes
        .into_iter()
        .map(|b| b.and_then(|_| opened.next().unwrap_or(Err(CellError::Decrypt))))
        .collect()
}

type Emit<'a> = dyn FnMut(&[Vec<u8>], usize, &mut dyn Write) -> Result<(), CliError> + 'a;

/// Feeds the argument values, or else standard input's lines, to `emit` in batches.
fn for_each_batch(
    values: &[String],
    out: &mut dyn Write,
    emit: &mut Emit<'_>,
) -> Result<(), CliError> {
    if !values.is_empty() {
        let bytes: Vec<Vec<u8>> = values.iter().map(|v| v.as_bytes().to_vec()).collect();
        for (n, chunk) in bytes.chunks(BATCH).enumerate() {
            emit(chunk, n * BATCH, out)?;
        }
        return Ok(());
    }
    let stdin = std::io::stdin();
    let mut lines = stdin.lock();
    let mut batch = Vec::with_capacity(BATCH);
    let mut first = 0;
    loop {
        let mut line = Vec::new();
        let read = lines.read_until(b'\n', &mut line)?;
        if read > 0 {
            if line.last() == Some(&b'\n') {
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
            }
            batch.push(line);
        }
        if batch.len() == BATCH || (read == 0 && !batch.is_empty()) {
            emit(&batch, first, out)?;
            first += batch.len();
            batch.clear();
        }
        if read == 0 {
            return Ok(());
        }
    }
}

enum Mode<'a> {
    Encrypt(Option<&'a BlindIndex>),
    Decrypt,
}

/// Writes a copy of `input` with one column encrypted or decrypted. The output is created new; on failure the
/// partial output is removed.
fn csv_file(
    args: &CryptArgs,
    input: &Path,
    s: &Session,
    ctx: &Context,
    mode: Mode<'_>,
    out: &mut dyn Write,
) -> CliResult {
    let Some(out_path) = &args.out else {
        return Err(CliError::usage(
            "`--csv` needs `--out NEW.csv`; the input file is never changed in place",
        ));
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(input)
        .map_err(|e| {
            CliError::usage(format!(
                "cannot read `{}`: {}; check the path given to `--csv`",
                shown(input),
                csv_message(&e)
            ))
        })?;
    let headers = reader
        .byte_headers()
        .map_err(|e| {
            CliError::usage(format!(
                "cannot read the header line of `{}`: {}; the first line must name the columns",
                shown(input),
                csv_message(&e)
            ))
        })?
        .clone();
    let find = |name: &str, flag: &str| -> Result<usize, CliError> {
        headers
            .iter()
            .position(|h| h == name.as_bytes())
            .ok_or_else(|| {
                let names: Vec<String> = headers
                    .iter()
                    .map(|h| format!("`{}`", String::from_utf8_lossy(h)))
                    .collect();
                CliError::usage(format!(
                    "column `{name}` given to `{flag}` is not in `{}`; its columns are {}",
                    shown(input),
                    names.join(", ")
                ))
            })
    };
    let column = find(&args.column, "--column")?;
    let row_key = args
        .row_key
        .as_deref()
        .map(|r| find(r, "--row-key"))
        .transpose()?;
    // Created new (never overwriting) and private: a decrypted file holds plaintext.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(out_path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::usage(format!(
                "`{}` already exists; choose a new `--out` path, outputs are never overwritten",
                shown(out_path)
            ))
        } else {
            CliError::failure(format!(
                "cannot create `{}`: {e}; check that its directory exists and is writable",
                shown(out_path)
            ))
        }
    })?;
    let result = write_csv(
        &mut reader,
        &headers,
        column,
        row_key,
        file,
        s,
        ctx,
        &mode,
        input,
    );
    match result {
        Ok(rows) => {
            let verb = if matches!(mode, Mode::Decrypt) {
                "decrypted"
            } else {
                "encrypted"
            };
            writeln!(
                out,
                "{verb} column `{}` of {rows} rows into `{}`",
                args.column,
                shown(out_path)
            )?;
            Ok(Outcome::Success)
        }
        Err(e) => {
            // Best effort: a partial output must not pass for a complete one.
            let _ = std::fs::remove_file(out_path);
            Err(e)
        }
    }
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(io) => io.to_string(),
        _ => e.to_string(),
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "the CSV writer takes each of its settings"
)]
fn write_csv(
    reader: &mut csv::Reader<std::fs::File>,
    headers: &csv::ByteRecord,
    column: usize,
    row_key: Option<usize>,
    file: std::fs::File,
    s: &Session,
    ctx: &Context,
    mode: &Mode<'_>,
    input: &Path,
) -> Result<usize, CliError> {
    let mut writer = csv::Writer::from_writer(std::io::BufWriter::new(file));
    let index = match mode {
        Mode::Encrypt(index) => *index,
        Mode::Decrypt => None,
    };
    let idx_name = format!(
        "{}_idx",
        String::from_utf8_lossy(headers.get(column).unwrap_or_default())
    );
    writer.write_byte_record(&with_column(
        headers,
        column,
        None,
        index.map(|_| idx_name.as_bytes()),
    ))?;
    let mut rows = 0usize;
    let mut batch: Vec<csv::ByteRecord> = Vec::with_capacity(BATCH);
    let mut records = reader.byte_records();
    loop {
        let next = records.next().transpose().map_err(|e| {
            CliError::usage(format!(
                "cannot read `{}`: {}; fix the CSV and run again",
                shown(input),
                csv_message(&e)
            ))
        })?;
        let done = next.is_none();
        if let Some(record) = next {
            batch.push(record);
        }
        if batch.len() == BATCH || (done && !batch.is_empty()) {
            let contexts = batch
                .iter()
                .map(|r| {
                    let mut c = ctx.clone();
                    let row = row_key.map(|k| {
                        String::from_utf8_lossy(r.get(k).unwrap_or_default()).into_owned()
                    });
                    c.set_row(row.as_deref()).map(|()| c)
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| {
                    CliError::usage(format!("{e}; the `--row-key` values must be shorter"))
                })?;
            let first = rows;
            let what = |i: usize| format!("CSV record {} (line {})", first + i + 1, first + i + 2);
            match mode {
                Mode::Encrypt(_) => {
                    let cells: Vec<(&Context, &[u8])> = contexts
                        .iter()
                        .zip(&batch)
                        .map(|(c, r)| (c, r.get(column).unwrap_or_default()))
                        .collect();
                    let what_all = format!("CSV records {} to {}", first + 1, first + batch.len());
                    let sealed = s
                        .cells
                        .encrypt_batch(&cells)
                        .map_err(|e| encrypt_error(&what_all, e))?;
                    for (record, sealed) in batch.iter().zip(sealed) {
                        let value = record.get(column).unwrap_or_default();
                        let idx = index.map(|i| i.compute_hex(value));
                        let text = format::to_text(&sealed);
                        writer.write_byte_record(&with_column(
                            record,
                            column,
                            Some(text.as_bytes()),
                            idx.as_deref().map(str::as_bytes),
                        ))?;
                    }
                }
                Mode::Decrypt => {
                    let contexts: Vec<&Context> = contexts.iter().collect();
                    let texts: Vec<&[u8]> = batch
                        .iter()
                        .map(|r| r.get(column).unwrap_or_default())
                        .collect();
                    let plains = decrypt_texts(s, &contexts, &texts);
                    for (i, (record, plain)) in batch.iter().zip(plains).enumerate() {
                        let plain =
                            plain.map_err(|e| decrypt_error(&what(i), e, row_key.is_some()))?;
                        writer.write_byte_record(&with_column(
                            record,
                            column,
                            Some(&plain),
                            None,
                        ))?;
                    }
                }
            }
            rows += batch.len();
            batch.clear();
        }
        if done {
            break;
        }
    }
    writer.flush()?;
    writer
        .into_inner()
        .map_err(|e| CliError::failure(e.to_string()))?
        .into_inner()
        .map_err(|e| CliError::failure(e.to_string()))?
        .sync_all()?;
    Ok(rows)
}

impl From<csv::Error> for CliError {
    fn from(e: csv::Error) -> Self {
        match e.into_kind() {
            csv::ErrorKind::Io(io) => CliError::from(io),
            other => CliError::failure(format!("cannot write the CSV output: {other:?}")),
        }
    }
}

/// A copy of `record` with field `column` replaced (if `value`) and `extra` inserted after it.
fn with_column(
    record: &csv::ByteRecord,
    column: usize,
    value: Option<&[u8]>,
    extra: Option<&[u8]>,
) -> csv::ByteRecord {
    let mut out = csv::ByteRecord::with_capacity(record.as_slice().len() + 64, record.len() + 1);
    for (i, field) in record.iter().enumerate() {
        out.push_field(if i == column {
            value.unwrap_or(field)
        } else {
            field
        });
        if let (true, Some(extra)) = (i == column, extra) {
            out.push_field(extra);
        }
    }
    out
}

fn rewrap(args: &RewrapArgs, out: &mut dyn Write) -> CliResult {
    let from = provider(&args.key, "--key-file", "--kms-key-id")?;
    let to = match (&args.to_key_file, &args.to_kms_key_id) {
        (Some(path), _) => open_key_file(path, "--to-key-file")?,
        (None, Some(id)) => kms_provider(&args.key.aws, id)?,
        (None, None) => {
            return Err(CliError::usage(
                "rewrap needs the new key; pass `--to-key-file FILE` or `--to-kms-key-id ARN`",
            ));
        }
    };
    if !args.keyring.exists() {
        return Err(CliError::usage(format!(
            "keyring `{}` does not exist; pass the file written by `atrest cell encrypt --keyring`",
            shown(&args.keyring)
        )));
    }
    let keyring = open_keyring(&args.keyring)?;
    let count = keyring.rewrap(from.as_ref(), to.as_ref()).map_err(|e| {
        let detail = match e {
            CellError::Keyring(m) => m,
            other => other.to_string(),
        };
        CliError::failure(format!(
            "cannot rewrap `{}`: {detail}; check that `--key-file` or `--kms-key-id` names the key the keyring was written with (nothing was changed)",
            shown(&args.keyring)
        ))
    })?;
    writeln!(
        out,
        "rewrapped {count} keys in `{}` under `{}`",
        shown(&args.keyring),
        to.id()
    )?;
    Ok(Outcome::Success)
}

fn bench(args: &BenchArgs, out: &mut dyn Write) -> CliResult {
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use ring::rand::{SecureRandom, SystemRandom};

    if args.millis == 0
        || args.sizes.is_empty()
        || args.sizes.iter().any(|&s| s > format::MAX_PLAINTEXT_LEN)
    {
        return Err(CliError::usage(format!(
            "`--millis` must be above 0 and `--sizes` between 0 and {} bytes; try `atrest cell bench --sizes 64,1024`",
            format::MAX_PLAINTEXT_LEN
        )));
    }
    let fail = |e: CellError| CliError::failure(format!("benchmark failed: {e}"));
    let provider = Arc::new(KeyFileProvider::ephemeral().map_err(fail)?);
    let cells = CellEncryptor::builder(provider)
        .keyring(Arc::new(Keyring::in_memory()))
        .build()
        .map_err(fail)?;
    let ctx = Context::new("users", "ssn")
        .and_then(|c| c.with_row("42"))
        .map_err(fail)?;
    let rng = SystemRandom::new();
    let mut raw_key = [0u8; 32];
    rng.fill(&mut raw_key)
        .map_err(|_| fail(CellError::Random))?;
    let raw = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, &raw_key).map_err(|_| fail(CellError::Random))?,
    );
    let budget = Duration::from_millis(args.millis);

    writeln!(
        out,
        "cell encryption (compact form, cached data key) vs raw ring AES-256-GCM without associated data, in alternating rounds (medians); both take a fresh 96-bit nonce from the OS per call"
    )?;
    writeln!(
        out,
        "{:>9}  {:<7}  {:>12}  {:>10}  {:>12}  {:>10}  {:>6}",
        "size", "op", "cell ops/s", "cell MB/s", "ring ops/s", "ring MB/s", "ratio"
    )?;
    for &size in &args.sizes {
        let plain = vec![0x5au8; size];
        let sealed = cells.encrypt(&ctx, &plain).map_err(fail)?;
        let mut nonce = [0u8; 12];
        rng.fill(&mut nonce).map_err(|_| fail(CellError::Random))?;
        let mut raw_sealed = plain.clone();
        raw.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(b"aad"),
            &mut raw_sealed,
        )
        .map_err(|_| fail(CellError::Random))?;

        let seal_raw = || {
            let mut n = [0u8; 12];
            let _ = rng.fill(&mut n);
            let mut buf = Vec::with_capacity(plain.len() + 16);
            buf.extend_from_slice(&plain);
            let _ = raw.seal_in_place_append_tag(
                Nonce::assume_unique_for_key(n),
                Aad::empty(),
                &mut buf,
            );
            buf.len()
        };
        let open_raw = || {
            let mut buf = raw_sealed.clone();
            raw.open_in_place(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut buf)
                .map(|p| p.len())
                .unwrap_or(0)
        };
        let encrypt = paired(
            budget,
            || cells.encrypt(&ctx, &plain).map(|v| v.len()).unwrap_or(0),
            seal_raw,
        );
        let decrypt = paired(
            budget,
            || cells.decrypt(&ctx, &sealed).map(|v| v.len()).unwrap_or(0),
            open_raw,
        );
        for (op, (cell, ring, ratio)) in [("encrypt", encrypt), ("decrypt", decrypt)] {
            let mbs = |ops: f64| ops * size as f64 / 1e6;
            writeln!(
                out,
                "{size:>9}  {op:<7}  {cell:>12.0}  {:>10.1}  {ring:>12.0}  {:>10.1}  {:>6.2}",
                mbs(cell),
                mbs(ring),
                ratio
            )?;
        }
    }
    Ok(Outcome::Success)
}

/// Measures `a` and `b` in 15 alternating rounds within about `budget` each, so that a change in the machine's load
/// hits both alike. Returns the median calls per second of each and the median of the per-round ratios `a / b`.
fn paired(
    budget: Duration,
    mut a: impl FnMut() -> usize,
    mut b: impl FnMut() -> usize,
) -> (f64, f64, f64) {
    const ROUNDS: u32 = 15;
    let slice = budget / ROUNDS;
    let (mut ra, mut rb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    rate(slice / 4, &mut a);
    rate(slice / 4, &mut b);
    for _ in 0..ROUNDS {
        let x = rate(slice, &mut a);
        let y = rate(slice, &mut b);
        ra.push(x);
        rb.push(y);
        ratios.push(x / y);
    }
    (median(ra), median(rb), median(ratios))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Calls `op` repeatedly for about `budget` and returns calls per second.
fn rate(budget: Duration, op: &mut impl FnMut() -> usize) -> f64 {
    let start = Instant::now();
    let mut calls = 0u64;
    let mut sink = 0usize;
    while start.elapsed() < budget {
        for _ in 0..8 {
            sink = sink.wrapping_add(std::hint::black_box(op()));
        }
        calls += 8;
    }
    std::hint::black_box(sink);
    calls as f64 / start.elapsed().as_secs_f64()
}
