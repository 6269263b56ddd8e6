//! What can go wrong in a migration. Bad input (a missing table or column, a type that cannot hold a ciphertext, a
//! value under another key or context, a missing privilege) is found before anything is written.

use crate::cell::CellError;
use crate::error::Help;

/// Which privilege a check found missing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Privilege {
    Select,
    Update,
    /// Creating atrest's checkpoint table (or a new column) in the table's schema.
    Create,
}

impl std::fmt::Display for Privilege {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Privilege::Select => "SELECT",
            Privilege::Update => "UPDATE",
            Privilege::Create => "CREATE",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    #[error("cannot connect to the database: {reason}")]
    Connect {
        reason: String,
        #[source]
        source: postgres::Error,
    },
    #[error("the connection settings are invalid: {source}")]
    Settings {
        #[source]
        source: postgres::Error,
    },
    #[error("cannot {action}: {reason}")]
    Query {
        action: &'static str,
        /// The server's message, or the client's.
        reason: String,
        #[source]
        source: postgres::Error,
    },
    #[error("no table `{table}` in the database")]
    NoTable { table: String },
    #[error("table `{table}` has no column `{column}`")]
    NoColumn {
        table: String,
        column: String,
        columns: Vec<String>,
    },
    #[error("table `{table}` has no primary key to bind each value to its row")]
    NoPrimaryKey { table: String },
    #[error("the row key `{column}` is the column being processed")]
    RowKeyIsColumn { column: String },
    #[error("column `{column}` is of type `{type_name}`, which cannot hold a ciphertext")]
    WrongType { column: String, type_name: String },
    #[error(
        "column `{column}` is of type `{type_name}`, which cannot hold an atrest ciphertext to decrypt"
    )]
    NotCiphertextType { column: String, type_name: String },
    #[error(
        "column `{column}` of type `{type_name}` cannot hold the plaintext of `{source_column}`"
    )]
    WrongTargetType {
        column: String,
        type_name: String,
        source_column: String,
    },
    #[error("missing the {privilege} privilege on `{object}`")]
    NoPermission {
        privilege: Privilege,
        object: String,
    },
    #[error(
        "the value of row `{row}` is an {format} ciphertext that does not decrypt under this key and context"
    )]
    ForeignCiphertext { row: String, format: &'static str },
    #[error("the value of row `{row}` is not an {format} ciphertext")]
    NotCiphertext { row: String, format: &'static str },
    #[error(
        "a blind index is made with atrest's cell format, not with AWS Encryption SDK messages"
    )]
    IndexNeedsCellFormat,
    #[error(
        "the plaintext of row `{row}` is not UTF-8 and cannot go into the text column `{column}`"
    )]
    NotUtf8 { row: String, column: String },
    #[error(
        "the value written to row `{row}` did not read back as its original, so the batch was rolled back"
    )]
    VerifyFailed { row: String },
    #[error("row `{row}` kept changing while it was being migrated")]
    KeepsChanging { row: String },
    #[error("`{given}` is not a shard: expected INDEX/COUNT with 0 <= INDEX < COUNT")]
    BadShard { given: String },
    #[error("this migration is already running as {running} shards, not {requested}")]
    ShardMismatch { running: u32, requested: u32 },
    #[error("a batch of {given} rows is outside 1 to {max}")]
    BadBatch { given: usize, max: usize },
    #[error("a rotation rewrites the column in place, not into `{into}`")]
    RotateInto { into: String },
    #[error(transparent)]
    Cell(#[from] CellError),
}

impl MigrateError {
    /// A failed statement; a missing privilege reported by the server becomes [`MigrateError::NoPermission`].
    pub(crate) fn query(
        action: &'static str,
        object: &str,
    ) -> impl FnOnce(postgres::Error) -> Self {
        move |source| {
            let denied = source.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE);
            match denied {
                true => MigrateError::NoPermission {
                    privilege: Privilege::Update,
                    object: object.to_owned(),
                },
                false => MigrateError::Query {
                    action,
                    reason: reason(&source),
                    source,
                },
            }
        }
    }
}

/// A postgres error in one line: the server's message when it sent one, else the client's with its cause.
pub(crate) fn reason(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return db.message().to_owned();
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

impl Help for MigrateError {
    fn help(&self) -> Option<String> {
        Some(match self {
            Self::Connect { .. } => "check the database URL (or the PG* variables), the server and the credentials".into(),
            Self::Settings { .. } => "pass a URL such as `postgresql://user@127.0.0.1:5432/db`".into(),
            Self::Query { .. } => "check the server's log; the run can be started again and resumes where it stopped".into(),
            Self::NoTable { .. } => "name an existing table, with its schema when it is not on the search path".into(),
            Self::NoColumn { columns, .. } => {
                let names: Vec<String> = columns.iter().map(|c| format!("`{c}`")).collect();
                format!("its columns are {}", names.join(", "))
            }
            Self::NoPrimaryKey { .. } => "name the unique, non-null columns that identify a row".into(),
            Self::RowKeyIsColumn { .. } => "bind the values to another column, such as the primary key".into(),
            Self::WrongType { .. } => "write the ciphertexts into a new column (bytea or text) instead".into(),
            Self::NotCiphertextType { .. } => "name the text or bytea column that holds the ciphertexts".into(),
            Self::WrongTargetType { .. } => "restore into a text or bytea column".into(),
            Self::NoPermission { .. } => "grant the privilege to the migrating role, or run as the table's owner".into(),
            Self::ForeignCiphertext { .. } | Self::NotCiphertext { .. } => {
                "check the key source, the keyring, the table, the column and the row key (nothing was written)".into()
            }
            Self::NotUtf8 { .. } => "restore into a bytea column".into(),
            Self::VerifyFailed { .. } => "nothing of that batch was written; report this with the column's type".into(),
            Self::KeepsChanging { .. } => "run again when the application writes less often; the run resumes".into(),
            Self::BadShard { .. } => "pass e.g. `0/4` for the first of four workers".into(),
            Self::ShardMismatch { running, .. } => {
                format!("start every worker with the same count ({running}), or wait for the running one to finish")
            }
            Self::BadBatch { .. } => "choose a batch size such as 1000".into(),
            Self::RotateInto { .. } => "rotate the column that holds the ciphertexts".into(),
            Self::IndexNeedsCellFormat => "fill the blind index in a run of the cell format".into(),
            Self::Cell(e) => return e.help(),
        })
    }

    fn is_usage(&self) -> bool {
        match self {
            Self::Connect { .. }
            | Self::Query { .. }
            | Self::VerifyFailed { .. }
            | Self::KeepsChanging { .. } => false,
            Self::Cell(e) => e.is_usage(),
            _ => true,
        }
    }
}
