//! The flags of `atrest cell migrate` and `atrest cell rotate` (in every build, so the help is the same; without
//! the `postgres` feature the commands say so).

use std::path::PathBuf;

use clap::Args;

use super::cell_args::{EsdkSource, Format, KeySource};

#[derive(Debug, Args)]
pub struct DbArgs {
    /// PostgreSQL URL, e.g. `postgresql://app@127.0.0.1:5432/shop`; without it, the PG* variables (PGHOST, ...)
    #[arg(long, value_name = "URL", env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ColumnArgs {
    /// Table (`schema.table` when not on the search path), bound to every value
    #[arg(long, value_name = "NAME")]
    pub table: String,
    /// Column to process
    #[arg(long, value_name = "NAME")]
    pub column: String,
    /// Columns whose values bind each cell to its row (default: the primary key)
    #[arg(long, value_name = "COLUMN", value_delimiter = ',')]
    pub row_key: Vec<String>,
    /// Column name bound to every value (default: the plaintext column's name)
    #[arg(long, value_name = "NAME")]
    pub context_column: Option<String>,
    /// Keyring file for the compact form (47 bytes per cell); created on first use
    #[arg(long, value_name = "FILE")]
    pub keyring: Option<PathBuf>,
    /// Rows per batch (one transaction each)
    #[arg(long, value_name = "ROWS", default_value_t = 1000)]
    pub batch_size: usize,
    /// This worker's part of the table, by row-key range: INDEX/COUNT, from 0 (e.g. `$JOB_COMPLETION_INDEX/4`)
    #[arg(long, value_name = "INDEX/COUNT", default_value = "0/1")]
    pub shard: String,
    /// Print the estimate (rows, bytes added, KMS calls and cost, duration at the measured rate) and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// No progress bar, even on a terminal
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub key: KeySource,
    #[command(flatten)]
    pub column: ColumnArgs,
    #[command(flatten)]
    pub esdk: EsdkSource,
    /// Write into this column (added as bytea when missing) instead of in place; the source stays as it is
    #[arg(long, value_name = "COLUMN")]
    pub into: Option<String>,
    /// Restore the plaintext: decrypt the column (in place, or into `--into`)
    #[arg(long)]
    pub decrypt: bool,
    /// Also fill this column (added as bytea when missing) with a blind index of each value for equality search
    #[arg(long, value_name = "COLUMN", conflicts_with = "decrypt")]
    pub blind_index: Option<String>,
    /// Length of the blind index in bytes (1 to 32)
    #[arg(long, value_name = "BYTES", default_value_t = crate::cell::DEFAULT_INDEX_LEN, requires = "blind_index")]
    pub index_length: usize,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub key: KeySource,
    #[command(flatten)]
    pub column: ColumnArgs,
    /// New key file for the new data keys (default: the same key source)
    #[arg(long, value_name = "FILE", conflicts_with = "to_kms_key_id")]
    pub to_key_file: Option<PathBuf>,
    /// New AWS KMS key for the new data keys
    #[arg(long, value_name = "ARN")]
    pub to_kms_key_id: Option<String>,
    /// Keyring file for the new data keys (compact form); needed with `--keyring` when the key source changes, as a
    /// keyring is wrapped by one key (created on first use)
    #[arg(long, value_name = "FILE")]
    pub to_keyring: Option<PathBuf>,
    /// Format the column is in: atrest's, or AWS Encryption SDK messages (`--esdk-key`, `--kms-key-id`)
    #[arg(long, value_enum, default_value_t = Format::Cell)]
    pub from_format: Format,
    /// Format to write (default: `--from-format`); `cell` with `--from-format esdk` converts ESDK messages to
    /// atrest's cell format, and `esdk` converts back
    #[arg(long, value_enum)]
    pub to_format: Option<Format>,
    /// With `--from-format esdk`: file of the raw AES wrapping key (hex or base64)
    #[arg(long, value_name = "FILE")]
    pub esdk_key: Option<PathBuf>,
    /// With `--from-format esdk`: key namespace and name of the raw AES keyring
    #[arg(long, value_name = "NAMESPACE/NAME", default_value = "atrest/atrest")]
    pub esdk_key_name: String,
    /// With `--to-format esdk`: file of the new raw AES wrapping key
    #[arg(long, value_name = "FILE")]
    pub to_esdk_key: Option<PathBuf>,
    /// With `--to-format esdk`: key namespace and name of the new raw AES keyring
    #[arg(long, value_name = "NAMESPACE/NAME", default_value = "atrest/atrest")]
    pub to_esdk_key_name: String,
}
