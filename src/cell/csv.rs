//! One column of a CSV file (with a header line) encrypted or decrypted into a copy, in batches of
//! [`BATCH`](super::text::BATCH) records. Each cell is bound to its table, its column and, with a row key, to the
//! raw bytes of its record's row-key field. With a blind index, a `<column>_idx` column follows the encrypted one.
//!
//! A [`ColumnJob`] is checked when made; the columns it names are found in the header before anything is written
//! (the output, a keyring entry); [`encrypt_file`] and [`decrypt_file`] create the output new and private and remove
//! it when a run fails, so a partial output never passes for a complete one.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::context::Context;
use super::encryptor::CellEncryptor;
use super::error::{CellError, Named, shown};
use super::format;
use super::index::BlindIndex;
use super::text::{BATCH, BatchError, Position};
use crate::error::Help;
use crate::fsutil;

/// How the cells of a column are sealed and opened: atrest's cell format ([`CellEncryptor`]), or another format
/// under the same contexts (the ESDK's messages, `crate::esdk::EsdkEncryptor`).
pub trait ColumnCipher {
    /// Seals each value under its context, as one line of text each.
    fn seal_batch(&self, cells: &[(&Context, &[u8])]) -> Result<Vec<String>, CellError>;
    /// Opens each text under its context; every failure of a value is [`CellError::Decrypt`].
    fn open_batch(&self, contexts: &[&Context], texts: &[&[u8]])
    -> Vec<Result<Vec<u8>, CellError>>;
    /// The blind index of a column.
    fn blind_index(&self, context: &Context, len: usize) -> Result<BlindIndex, CellError>;
}

impl ColumnCipher for CellEncryptor {
    fn seal_batch(&self, cells: &[(&Context, &[u8])]) -> Result<Vec<String>, CellError> {
        let sealed = self.encrypt_batch(cells)?;
        Ok(sealed.iter().map(|s| format::to_text(s)).collect())
    }

    fn open_batch(
        &self,
        contexts: &[&Context],
        texts: &[&[u8]],
    ) -> Vec<Result<Vec<u8>, CellError>> {
        self.decrypt_text_batch(contexts, texts)
    }

    fn blind_index(&self, context: &Context, len: usize) -> Result<BlindIndex, CellError> {
        CellEncryptor::blind_index(self, context, len)
    }
}

/// What a named column is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnRole {
    /// The column whose cells are encrypted or decrypted.
    Value,
    /// The column whose field binds each cell to its row.
    RowKey,
}

impl fmt::Display for ColumnRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnRole::Value => "column",
            ColumnRole::RowKey => "row key column",
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CsvError {
    /// A row key equal to the column would bind each cell to its own plaintext, which decryption does not have.
    #[error("the row key `{}` is the column being processed", shown(column.as_bytes()))]
    RowKeyIsColumn { column: String },
    #[error("cannot read `{}`: {source}", super::error::shown_path(path))]
    Open {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the header line of {}: {source}", Named(input.as_deref(), "the CSV input"))]
    Header {
        input: Option<PathBuf>,
        #[source]
        source: csv::Error,
    },
    #[error("{role} `{}` is not in {}", shown(name.as_bytes()), Named(input.as_deref(), "the CSV header"))]
    MissingColumn {
        role: ColumnRole,
        name: String,
        input: Option<PathBuf>,
        /// The header's names, as bytes.
        columns: Vec<Vec<u8>>,
    },
    #[error("cannot read {}: {source}", Named(input.as_deref(), "the CSV input"))]
    Read {
        input: Option<PathBuf>,
        #[source]
        source: csv::Error,
    },
    #[error("`{}` already exists", super::error::shown_path(path))]
    OutputExists { path: PathBuf },
    #[error("cannot create `{}`: {source}", super::error::shown_path(path))]
    Create {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write {}: {source}", Named(output.as_deref(), "the CSV output"))]
    Write {
        output: Option<PathBuf>,
        #[source]
        source: csv::Error,
    },
    #[error(transparent)]
    Batch(#[from] BatchError),
}

impl From<CellError> for CsvError {
    fn from(e: CellError) -> Self {
        CsvError::Batch(BatchError::Cell(e))
    }
}

impl Help for CsvError {
    fn help(&self) -> Option<String> {
        Some(match self {
            Self::RowKeyIsColumn { .. } => {
                "bind the cells to another column, such as the primary key".into()
            }
            Self::Open { .. } => "check the path of the CSV file".into(),
            Self::Header { .. } => "the first line must name the columns".into(),
            Self::MissingColumn { columns, .. } => {
                let names: Vec<String> =
                    columns.iter().map(|c| format!("`{}`", shown(c))).collect();
                format!("its columns are {}", names.join(", "))
            }
            Self::Read { .. } => "fix the CSV and run again".into(),
            Self::OutputExists { .. } => "choose a new path, outputs are never overwritten".into(),
            Self::Create { .. } => "check that its directory exists and is writable".into(),
            Self::Write { .. } => "check that the output's disk has room and is writable".into(),
            Self::Batch(e) => return e.help(),
        })
    }

    fn is_usage(&self) -> bool {
        match self {
            Self::Create { .. } | Self::Write { .. } => false,
            Self::Batch(e) => e.is_usage(),
            _ => true,
        }
    }
}

impl CsvError {
    /// Names the files in the errors that concern them.
    fn in_files(mut self, input_path: &Path, output_path: &Path) -> Self {
        match &mut self {
            Self::Header { input, .. }
            | Self::MissingColumn { input, .. }
            | Self::Read { input, .. } => *input = Some(input_path.to_owned()),
            Self::Write { output, .. } => *output = Some(output_path.to_owned()),
            _ => {}
        }
        self
    }
}

/// Which column to process and how, checked before any I/O.
#[derive(Clone, Debug)]
pub struct ColumnJob {
    /// The table and the column, without a row (each record sets its own).
    context: Context,
    row_key: Option<String>,
    blind_index: Option<usize>,
}

impl ColumnJob {
    /// A job over the column of `context` (its table and column name; a row is ignored), each cell bound to the
    /// field of `row_key` in its record, with a blind index of that many bytes when encrypting.
    pub fn new(
        context: Context,
        row_key: Option<String>,
        blind_index: Option<usize>,
    ) -> Result<Self, CsvError> {
        if row_key.as_deref() == Some(context.column()) {
            return Err(CsvError::RowKeyIsColumn {
                column: context.column().to_owned(),
            });
        }
        blind_index.map(BlindIndex::check_len).transpose()?;
        let mut context = context;
        context.set_row(None)?;
        Ok(ColumnJob {
            context,
            row_key,
            blind_index,
        })
    }

    pub fn column(&self) -> &str {
        self.context.column()
    }

    /// Reads the header and finds the job's columns in it.
    fn locate<R: Read>(&self, reader: &mut csv::Reader<R>) -> Result<Located, CsvError> {
        let headers = reader
            .byte_headers()
            .map_err(|source| CsvError::Header {
                input: None,
                source,
            })?
            .clone();
        let find = |name: &str, role| {
            headers
                .iter()
                .position(|h| h == name.as_bytes())
                .ok_or_else(|| CsvError::MissingColumn {
                    role,
                    name: name.to_owned(),
                    input: None,
                    columns: headers.iter().map(<[u8]>::to_vec).collect(),
                })
        };
        let column = find(self.column(), ColumnRole::Value)?;
        let row_key = self
            .row_key
            .as_deref()
            .map(|r| find(r, ColumnRole::RowKey))
            .transpose()?;
        Ok(Located {
            headers,
            column,
            row_key,
        })
    }
}

struct Located {
    headers: csv::ByteRecord,
    column: usize,
    row_key: Option<usize>,
}

enum Mode {
    Encrypt(Option<BlindIndex>),
    Decrypt,
}

/// Copies the records of `reader` to `writer` with the job's column encrypted (as base64). Returns how many
/// records were written.
pub fn encrypt_column<R: Read, W: Write>(
    job: &ColumnJob,
    cells: &dyn ColumnCipher,
    reader: &mut csv::Reader<R>,
    writer: &mut csv::Writer<W>,
) -> Result<usize, CsvError> {
    let located = job.locate(reader)?;
    let index = job
        .blind_index
        .map(|len| cells.blind_index(&job.context, len))
        .transpose()?;
    run(job, cells, &located, &Mode::Encrypt(index), reader, writer)
}

/// Copies the records of `reader` to `writer` with the job's column decrypted. Stops at the first cell that fails.
pub fn decrypt_column<R: Read, W: Write>(
    job: &ColumnJob,
    cells: &dyn ColumnCipher,
    reader: &mut csv::Reader<R>,
    writer: &mut csv::Writer<W>,
) -> Result<usize, CsvError> {
    let located = job.locate(reader)?;
    run(job, cells, &located, &Mode::Decrypt, reader, writer)
}

/// [`encrypt_column`] from the file `input` into the new private file `output` (never overwritten; removed if the
/// run fails). The input is never changed.
pub fn encrypt_file(
    job: &ColumnJob,
    cells: &dyn ColumnCipher,
    input: &Path,
    output: &Path,
) -> Result<usize, CsvError> {
    file(job, input, output, |reader, writer| {
        encrypt_column(job, cells, reader, writer)
    })
}

/// [`decrypt_column`] from the file `input` into the new private file `output` (never overwritten; removed if the
/// run fails): a decrypted file holds plaintext.
pub fn decrypt_file(
    job: &ColumnJob,
    cells: &dyn ColumnCipher,
    input: &Path,
    output: &Path,
) -> Result<usize, CsvError> {
    file(job, input, output, |reader, writer| {
        decrypt_column(job, cells, reader, writer)
    })
}

type FileReader = csv::Reader<File>;
type FileWriter = csv::Writer<BufWriter<File>>;

fn file(
    job: &ColumnJob,
    input: &Path,
    output: &Path,
    body: impl FnOnce(&mut FileReader, &mut FileWriter) -> Result<usize, CsvError>,
) -> Result<usize, CsvError> {
    let opened = File::open(input).map_err(|source| CsvError::Open {
        path: input.to_owned(),
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(opened);
    // The columns exist before anything is created.
    job.locate(&mut reader)
        .map_err(|e| e.in_files(input, output))?;
    let out = fsutil::create_private(output).map_err(|source| match source.kind() {
        io::ErrorKind::AlreadyExists => CsvError::OutputExists {
            path: output.to_owned(),
        },
        _ => CsvError::Create {
            path: output.to_owned(),
            source,
        },
    })?;
    let mut writer = csv::Writer::from_writer(BufWriter::new(out));
    let result = body(&mut reader, &mut writer).and_then(|rows| {
        let file = writer
            .into_inner()
            .map_err(|e| e.into_error())
            .and_then(|buffered| buffered.into_inner().map_err(|e| e.into_error()))
            .and_then(|file| file.sync_all());
        file.map(|()| rows).map_err(|e| CsvError::Write {
            output: None,
            source: e.into(),
        })
    });
    result.map_err(|e| {
        // Best effort: a partial output must not pass for a complete one.
        let _ = std::fs::remove_file(output);
        e.in_files(input, output)
    })
}

fn run<R: Read, W: Write>(
    job: &ColumnJob,
    cells: &dyn ColumnCipher,
    located: &Located,
    mode: &Mode,
    reader: &mut csv::Reader<R>,
    writer: &mut csv::Writer<W>,
) -> Result<usize, CsvError> {
    let write = |source| CsvError::Write {
        output: None,
        source,
    };
    let &Located {
        ref headers,
        column,
        row_key,
    } = located;
    let index = match mode {
        Mode::Encrypt(index) => index.as_ref(),
        Mode::Decrypt => None,
    };
    let idx_name = format!("{}_idx", job.column());
    writer
        .write_byte_record(&with_column(
            headers,
            column,
            None,
            index.map(|_| idx_name.as_bytes()),
        ))
        .map_err(write)?;
    let mut rows = 0usize;
    let mut batch: Vec<csv::ByteRecord> = Vec::with_capacity(BATCH);
    let mut records = reader.byte_records();
    loop {
        let next = records
            .next()
            .transpose()
            .map_err(|source| CsvError::Read {
                input: None,
                source,
            })?;
        let done = next.is_none();
        batch.extend(next);
        // Go on with a full batch, or the last one.
        if batch.is_empty() || (batch.len() < BATCH && !done) {
            if done {
                break;
            }
            continue;
        }
        let first = rows;
        let at = |i: usize| Position::Record {
            record: first + i + 1,
            line: batch
                .get(i)
                .and_then(|r| r.position())
                .map_or((first + i + 2) as u64, csv::Position::line),
        };
        let mut contexts = Vec::with_capacity(batch.len());
        for (i, record) in batch.iter().enumerate() {
            let mut c = job.context.clone();
            let row = row_key.map(|k| record.get(k).unwrap_or_default());
            c.set_row_bytes(row)
                .map_err(|source| BatchError::Row { at: at(i), source })?;
            contexts.push(c);
        }
        let values = batch.iter().map(|r| r.get(column).unwrap_or_default());
        match mode {
            Mode::Encrypt(_) => {
                let pairs: Vec<(&Context, &[u8])> = contexts.iter().zip(values).collect();
                let at = Position::Records {
                    first: first + 1,
                    last: first + batch.len(),
                };
                let sealed = cells
                    .seal_batch(&pairs)
                    .map_err(|e| BatchError::encrypting(at, e))?;
                for ((record, text), (_, value)) in batch.iter().zip(sealed).zip(&pairs) {
                    let idx = index.map(|i| i.compute_hex(value));
                    writer
                        .write_byte_record(&with_column(
                            record,
                            column,
                            Some(text.as_bytes()),
                            idx.as_deref().map(str::as_bytes),
                        ))
                        .map_err(write)?;
                }
            }
            Mode::Decrypt => {
                let contexts: Vec<&Context> = contexts.iter().collect();
                let texts: Vec<&[u8]> = values.collect();
                let plains = cells.open_batch(&contexts, &texts);
                for (i, (record, plain)) in batch.iter().zip(plains).enumerate() {
                    let plain = plain.map_err(|e| BatchError::decrypting(at(i), e))?;
                    writer
                        .write_byte_record(&with_column(record, column, Some(&plain), None))
                        .map_err(write)?;
                }
            }
        }
        rows += batch.len();
        batch.clear();
        if done {
            break;
        }
    }
    writer.flush().map_err(|e| write(e.into()))?;
    Ok(rows)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::cell::{KeyFileProvider, Keyring};

    fn context() -> Context {
        Context::new("users", "ssn").unwrap()
    }

    fn cells(keyring: Option<Arc<Keyring>>) -> CellEncryptor {
        let provider = Arc::new(KeyFileProvider::ephemeral().unwrap());
        let builder = CellEncryptor::builder(provider);
        match keyring {
            Some(k) => builder.keyring(k),
            None => builder,
        }
        .build()
        .unwrap()
    }

    fn encrypt(job: &ColumnJob, cells: &CellEncryptor, input: &[u8]) -> Result<Vec<u8>, CsvError> {
        let mut reader = csv::Reader::from_reader(input);
        let mut writer = csv::Writer::from_writer(Vec::new());
        encrypt_column(job, cells, &mut reader, &mut writer)?;
        Ok(writer.into_inner().unwrap())
    }

    fn decrypt(job: &ColumnJob, cells: &CellEncryptor, input: &[u8]) -> Result<Vec<u8>, CsvError> {
        let mut reader = csv::Reader::from_reader(input);
        let mut writer = csv::Writer::from_writer(Vec::new());
        decrypt_column(job, cells, &mut reader, &mut writer)?;
        Ok(writer.into_inner().unwrap())
    }

    #[test]
    fn a_column_round_trips_through_csv_readers_and_writers() {
        let cells = cells(None);
        let job = ColumnJob::new(context(), Some("id".into()), Some(8)).unwrap();
        let input = b"id,ssn,note\n1,078-05-1120,\"a, b\"\n2,,x\n";
        let sealed = encrypt(&job, &cells, input).unwrap();
        let mut reader = csv::Reader::from_reader(sealed.as_slice());
        assert_eq!(
            reader.headers().unwrap(),
            vec!["id", "ssn", "ssn_idx", "note"]
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][3], "a, b");
        assert_eq!(rows[0][2].len(), 16);
        let plain = decrypt(
            &ColumnJob::new(context(), Some("id".into()), None).unwrap(),
            &cells,
            &sealed,
        )
        .unwrap();
        let want = format!(
            "id,ssn,ssn_idx,note\n1,078-05-1120,{},\"a, b\"\n2,,{},x\n",
            &rows[0][2], &rows[1][2]
        );
        assert_eq!(String::from_utf8(plain).unwrap(), want);
    }

    #[test]
    fn a_row_key_equal_to_the_column_is_refused_when_the_job_is_made() {
        let e = ColumnJob::new(context(), Some("ssn".into()), None).unwrap_err();
        assert!(matches!(e, CsvError::RowKeyIsColumn { .. }));
        assert_eq!(
            e.to_string(),
            "the row key `ssn` is the column being processed"
        );
        assert_eq!(
            e.help().unwrap(),
            "bind the cells to another column, such as the primary key"
        );
    }

    #[test]
    fn row_keys_that_are_not_utf8_bind_distinctly() {
        let cells = cells(None);
        let job = ColumnJob::new(context(), Some("id".into()), None).unwrap();
        // Two Latin-1 row keys that a lossy conversion would both turn into U+FFFD.
        let sealed = encrypt(&job, &cells, b"id,ssn\n\xe9,a\n\xe8,b\n").unwrap();
        let records: Vec<csv::ByteRecord> = csv::Reader::from_reader(sealed.as_slice())
            .into_byte_records()
            .map(Result::unwrap)
            .collect();
        let swapped = [
            b"id,ssn\n\xe9,".as_slice(),
            &records[1][1],
            b"\n\xe8,",
            &records[0][1],
            b"\n",
        ]
        .concat();
        let e = decrypt(&job, &cells, &swapped).unwrap_err();
        assert!(
            matches!(
                e,
                CsvError::Batch(BatchError::Decrypt {
                    at: Position::Record { record: 1, line: 2 }
                })
            ),
            "{e:?}"
        );
        assert_eq!(
            decrypt(&job, &cells, &sealed).unwrap(),
            b"id,ssn\n\xe9,a\n\xe8,b\n"
        );
    }

    #[test]
    fn header_names_are_escaped_in_errors() {
        let cells = cells(None);
        let job = ColumnJob::new(context(), None, None).unwrap();
        let e = encrypt(&job, &cells, b"id,\"\x1b[31mssn\nx\",caf\xe9\n1,2,3\n").unwrap_err();
        assert_eq!(e.to_string(), "column `ssn` is not in the CSV header");
        assert_eq!(
            e.help().unwrap(),
            "its columns are `id`, `\\u{1b}[31mssn\\nx`, `caf\\xe9`"
        );
    }

    #[test]
    fn a_refused_run_writes_no_output_and_no_keyring() {
        let dir = tempfile::tempdir().unwrap();
        let ring = dir.path().join("ring.json");
        let input = dir.path().join("in.csv");
        let output = dir.path().join("out.csv");
        std::fs::write(&input, "id,ssn\n1,a\n").unwrap();
        let cells = cells(Some(Arc::new(Keyring::open(&ring).unwrap())));
        for (column, row_key) in [("email", None), ("ssn", Some("uid"))] {
            let ctx = Context::new("users", column).unwrap();
            let job = ColumnJob::new(ctx, row_key.map(str::to_owned), Some(16)).unwrap();
            let e = encrypt_file(&job, &cells, &input, &output).unwrap_err();
            assert!(matches!(e, CsvError::MissingColumn { .. }), "{e:?}");
            assert!(!ring.exists() && !output.exists());
        }
        let job = ColumnJob::new(context(), Some("id".into()), Some(16)).unwrap();
        assert_eq!(encrypt_file(&job, &cells, &input, &output).unwrap(), 1);
        assert!(ring.exists() && output.exists());
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_output_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        let output = dir.path().join("out.csv");
        let target = dir.path().join("target");
        std::fs::write(&input, "id,ssn\n1,a\n").unwrap();
        std::os::unix::fs::symlink(&target, &output).unwrap();
        let job = ColumnJob::new(context(), None, None).unwrap();
        let e = encrypt_file(&job, &cells(None), &input, &output).unwrap_err();
        assert!(matches!(e, CsvError::OutputExists { .. }), "{e:?}");
        assert!(!target.exists());
        assert!(
            std::fs::symlink_metadata(&output)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn a_failed_run_removes_its_partial_output() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        let output = dir.path().join("out.csv");
        std::fs::write(&input, "id,ssn\n1,a\n2,b,c\n").unwrap();
        let job = ColumnJob::new(context(), None, None).unwrap();
        let e = encrypt_file(&job, &cells(None), &input, &output).unwrap_err();
        assert!(matches!(e, CsvError::Read { input: Some(_), .. }), "{e:?}");
        assert!(!output.exists());
    }
}
