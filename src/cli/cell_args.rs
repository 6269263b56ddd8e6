//! The flags of `atrest cell ...`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use super::AwsArgs;

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
    /// Record the commitments of blind-index keys that a keyring of an earlier version stored without one
    CommitIndexRoots(CommitIndexRootsArgs),
    /// Encrypt a live PostgreSQL column in place (or into a new column), resumably; `--decrypt` restores it
    Migrate(Box<super::cell_migrate_args::MigrateArgs>),
    /// Re-encrypt a live PostgreSQL column under new data keys (or a new key source, or between AWS Encryption SDK
    /// messages and the cell format), resumably
    Rotate(Box<super::cell_migrate_args::RotateArgs>),
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
    #[command(flatten)]
    pub esdk: EsdkSource,
}

/// The ciphertext format of a value or a column and, for `--format esdk`, its raw AES key (the KMS key is `--kms-key-id`).
#[derive(Debug, Args)]
pub struct EsdkSource {
    /// Ciphertext format: atrest's, or AWS Encryption SDK messages (suite 0478; raw AES or KMS keyring)
    #[arg(long, value_enum, default_value_t = Format::Cell)]
    pub format: Format,
    /// With `--format esdk`: file of the raw AES wrapping key (hex or base64)
    #[arg(long, value_name = "FILE")]
    pub esdk_key: Option<PathBuf>,
    /// With `--format esdk`: key namespace and name of the raw AES keyring
    #[arg(long, value_name = "NAMESPACE/NAME", default_value = "atrest/atrest")]
    pub esdk_key_name: String,
}

/// The ciphertext format of `cell encrypt` and `cell decrypt`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    // atrest's cell format (self-contained, or compact with `--keyring`); no doc comments here, so the help stays
    // in its short layout.
    Cell,
    // AWS Encryption SDK messages, readable and writable by every official ESDK.
    Esdk,
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
pub struct CommitIndexRootsArgs {
    /// Keyring file to update (replaced atomically); check first that it is the one you wrote
    #[arg(long, value_name = "FILE")]
    pub keyring: PathBuf,
    #[command(flatten)]
    pub key: KeySource,
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
