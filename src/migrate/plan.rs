//! The checks made before anything is written: the table, its columns and their types, the row key, and the
//! privileges of the connected role. Their result, [`Plan`], holds the quoted names every statement uses.

use postgres::GenericClient;

use super::error::{MigrateError, Privilege};
use super::{Direction, Target};

/// How a column's values travel: as text, as bytes, or as the text form of another type (read only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Storage {
    Text,
    Bytea,
    /// Any other type, read as `::text` (a plaintext source of `--into`).
    Other,
}

#[derive(Clone, Debug)]
pub(crate) struct Column {
    pub name: String,
    pub type_name: String,
    pub storage: Storage,
    /// False for a destination column that the run adds.
    pub exists: bool,
}

impl Column {
    /// The column of alias `t` as a value of [`Storage`].
    pub fn read(&self) -> String {
        match self.storage {
            Storage::Other => format!("t.{}::text", ident(&self.name)),
            _ => format!("t.{}", ident(&self.name)),
        }
    }

    /// The array type of its values as parameters.
    pub fn array(&self) -> &'static str {
        match self.storage {
            Storage::Bytea => "bytea[]",
            _ => "text[]",
        }
    }
}

/// A resolved, checked migration target.
#[derive(Clone, Debug)]
pub struct Plan {
    pub(crate) direction: Direction,
    /// `"schema"."table"`.
    pub(crate) table: String,
    pub(crate) schema: String,
    /// The row key's columns and their types, in order.
    pub(crate) keys: Vec<(String, String)>,
    pub(crate) source: Column,
    pub(crate) dest: Column,
    pub(crate) index: Option<(Column, usize)>,
    /// The table and column bound to every value.
    pub(crate) context_table: String,
    pub(crate) context_column: String,
    /// The checkpoint rows of this migration are keyed by this.
    pub(crate) job_id: String,
}

impl Plan {
    pub fn in_place(&self) -> bool {
        self.source.name == self.dest.name
    }

    /// The checkpoint table, quoted.
    pub(crate) fn checkpoint_table(&self) -> String {
        format!("{}.atrest_checkpoint", ident(&self.schema))
    }

    /// `t."k1", t."k2"`.
    pub(crate) fn key_list(&self) -> String {
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|(k, _)| format!("t.{}", ident(k)))
            .collect();
        keys.join(", ")
    }

    /// `t."k1"::text, t."k2"::text`.
    pub(crate) fn key_texts(&self) -> String {
        let keys: Vec<String> = self
            .keys
            .iter()
            .map(|(k, _)| format!("t.{}::text", ident(k)))
            .collect();
        keys.join(", ")
    }

    /// `($n::text::T1, $n+1::text::T2)`: a key tuple from text parameters starting at `$first`.
    pub(crate) fn key_params(&self, first: usize) -> String {
        let keys: Vec<String> = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| format!("${}::text::{ty}", first + i))
            .collect();
        format!("({})", keys.join(", "))
    }
}

/// Quotes an identifier.
pub(crate) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `schema.table` or `table` as a quoted, qualified name (the schema's `.` is the first one).
fn qualified(table: &str) -> String {
    match table.split_once('.') {
        Some((schema, name)) => format!("{}.{}", ident(schema), ident(name)),
        None => ident(table),
    }
}

/// Checks the target against the database: nothing is written.
pub fn resolve(
    client: &mut impl GenericClient,
    target: &Target,
    direction: Direction,
) -> Result<Plan, MigrateError> {
    let q = |action| MigrateError::query(action, &target.table);
    let rel = client
        .query_opt(
            "SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')",
            &[&qualified(&target.table)],
        )
        .map_err(q("look the table up"))?
        .ok_or_else(|| MigrateError::NoTable {
            table: target.table.clone(),
        })?;
    let (schema, relname): (String, String) = (rel.get(0), rel.get(1));
    let table = format!("{}.{}", ident(&schema), ident(&relname));
    let columns: Vec<(String, String, String, i32)> = client
        .query(
            "SELECT attname::text, format_type(atttypid, atttypmod), atttypid::regtype::text, atttypmod \
             FROM pg_attribute WHERE attrelid = $1::text::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            &[&table],
        )
        .map_err(q("read the table's columns"))?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let names: Vec<String> = columns.iter().map(|c| c.0.clone()).collect();
    let find = |name: &str| {
        columns
            .iter()
            .find(|c| c.0 == name)
            .map(|(n, full, base, typmod)| Column {
                name: n.clone(),
                type_name: full.clone(),
                storage: match (base.as_str(), *typmod) {
                    ("text", _) | ("character varying", -1) => Storage::Text,
                    ("bytea", _) => Storage::Bytea,
                    _ => Storage::Other,
                },
                exists: true,
            })
    };
    let missing = |column: &str| MigrateError::NoColumn {
        table: target.table.clone(),
        column: column.to_owned(),
        columns: names.clone(),
    };
    let source = find(&target.column).ok_or_else(|| missing(&target.column))?;

    let keys: Vec<String> = match target.row_key.is_empty() {
        false => target.row_key.clone(),
        true => client
            .query(
                "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid \
                 AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::text::regclass AND i.indisprimary \
                 ORDER BY array_position(i.indkey::int2[], a.attnum)",
                &[&table],
            )
            .map_err(q("read the primary key"))?
            .iter()
            .map(|r| r.get(0))
            .collect(),
    };
    if keys.is_empty() {
        return Err(MigrateError::NoPrimaryKey {
            table: target.table.clone(),
        });
    }
    let mut key_types = Vec::new();
    for k in &keys {
        let c = find(k).ok_or_else(|| missing(k))?;
        if c.name == source.name || target.into.as_deref() == Some(k.as_str()) {
            return Err(MigrateError::RowKeyIsColumn { column: k.clone() });
        }
        key_types.push((c.name, c.type_name));
    }

    let dest = match &target.into {
        None => source.clone(),
        Some(into) if direction == Direction::Rotate => {
            return Err(MigrateError::RotateInto { into: into.clone() });
        }
        Some(into) => find(into).unwrap_or(Column {
            name: into.clone(),
            type_name: match direction {
                Direction::Decrypt => "text".into(),
                _ => "bytea".into(),
            },
            storage: match direction {
                Direction::Decrypt => Storage::Text,
                _ => Storage::Bytea,
            },
            exists: false,
        }),
    };
    // Ciphertexts are read and written as text (base64) or bytes; plaintext restored into text must be text.
    let holds = |c: &Column| c.storage != Storage::Other;
    match direction {
        Direction::Encrypt | Direction::Rotate if !holds(&dest) => {
            return Err(MigrateError::WrongType {
                column: dest.name.clone(),
                type_name: dest.type_name.clone(),
            });
        }
        Direction::Decrypt if !holds(&source) => {
            return Err(MigrateError::NotCiphertextType {
                column: source.name.clone(),
                type_name: source.type_name.clone(),
            });
        }
        Direction::Decrypt if !holds(&dest) => {
            return Err(MigrateError::WrongTargetType {
                column: dest.name.clone(),
                type_name: dest.type_name.clone(),
                source_column: source.name.clone(),
            });
        }
        Direction::Rotate if !holds(&source) => {
            return Err(MigrateError::NotCiphertextType {
                column: source.name.clone(),
                type_name: source.type_name.clone(),
            });
        }
        _ => {}
    }
    let index = match (&target.blind_index, direction) {
        (Some((name, len)), Direction::Encrypt) => {
            let col = find(name).unwrap_or(Column {
                name: name.clone(),
                type_name: "bytea".into(),
                storage: Storage::Bytea,
                exists: false,
            });
            if !holds(&col) || col.name == source.name || keys.contains(&col.name) {
                return Err(MigrateError::WrongType {
                    column: col.name.clone(),
                    type_name: col.type_name.clone(),
                });
            }
            Some((col, *len))
        }
        _ => None,
    };

    check_privileges(client, &table, &schema, &dest, index.as_ref().map(|i| &i.0))?;
    let context_column = target
        .context_column
        .clone()
        .unwrap_or_else(|| match direction {
            // The context names the plaintext column.
            Direction::Decrypt if target.into.is_some() => dest.name.clone(),
            _ => source.name.clone(),
        });
    let job_id = format!(
        "{}:{}.{}->{}",
        direction.name(),
        table,
        ident(&source.name),
        ident(&dest.name)
    );
    Ok(Plan {
        direction,
        table,
        schema,
        keys: key_types,
        source,
        dest,
        index,
        context_table: target.table.clone(),
        context_column,
        job_id,
    })
}

fn check_privileges(
    client: &mut impl GenericClient,
    table: &str,
    schema: &str,
    dest: &Column,
    index: Option<&Column>,
) -> Result<(), MigrateError> {
    let q = |action| MigrateError::query(action, table);
    let denied = |privilege, object: &str| MigrateError::NoPermission {
        privilege,
        object: object.to_owned(),
    };
    let row = client
        .query_one(
            "SELECT has_table_privilege($1::text::regclass, 'SELECT'), pg_has_role(c.relowner, 'USAGE'), \
             has_schema_privilege($2, 'CREATE'), to_regclass(quote_ident($2) || '.atrest_checkpoint') IS NOT NULL \
             FROM pg_class c WHERE c.oid = $1::text::regclass",
            &[&table, &schema],
        )
        .map_err(q("check the privileges"))?;
    let (select, owner, create, checkpoint): (bool, bool, bool, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if !select {
        return Err(denied(Privilege::Select, table));
    }
    for col in [Some(dest), index].into_iter().flatten() {
        let object = format!("{table}.{}", ident(&col.name));
        if !col.exists {
            if !owner {
                return Err(denied(Privilege::Create, &object));
            }
            continue;
        }
        let update: bool = client
            .query_one(
                "SELECT has_column_privilege($1::text::regclass, $2, 'UPDATE')",
                &[&table, &col.name],
            )
            .map_err(q("check the privileges"))?
            .get(0);
        if !update {
            return Err(denied(Privilege::Update, &object));
        }
    }
    let cp = format!("{}.atrest_checkpoint", ident(schema));
    if checkpoint {
        let ok: bool = client
            .query_one("SELECT has_table_privilege($1::text::regclass, 'INSERT') AND has_table_privilege($1::text::regclass, 'UPDATE') \
                 AND has_table_privilege($1::text::regclass, 'DELETE') AND has_table_privilege($1::text::regclass, 'SELECT')", &[&cp])
            .map_err(q("check the privileges"))?
            .get(0);
        if !ok {
            return Err(denied(Privilege::Update, &cp));
        }
    } else if !create {
        return Err(denied(Privilege::Create, &ident(schema)));
    }
    Ok(())
}
