//! What each row needs, decided from its values alone (so a re-run is idempotent), and the check that a written
//! value opens back to its original.

use super::batch::{Plain, Row};
use super::codec::Codec;
use super::error::MigrateError;
use super::plan::{Plan, Storage};
use super::{Direction, row_id};
use crate::cell::{CellError, Context};

/// What a row needs.
pub(crate) enum Action {
    /// Nothing: already done (a ciphertext under this context, or plaintext after a decryption).
    Skip,
    /// Seal this plaintext into the destination.
    Encrypt(Plain),
    /// Write this plaintext into the destination.
    Restore(Plain),
}

/// Whether the stored value decrypts back to `plain`.
pub(crate) fn opens_to(
    storage: Storage,
    codec: Codec<'_>,
    ctx: &Context,
    stored: &[u8],
    plain: &[u8],
) -> bool {
    codec
        .ciphertext(storage, stored)
        .and_then(|ct| codec.open(ctx, &ct).ok())
        .is_some_and(|p| p.as_slice() == plain)
}

/// Decrypts a value that is a ciphertext: `Ok(None)` when it is not one, an error when it is one this key and
/// context do not open.
fn open(
    storage: Storage,
    codec: Codec<'_>,
    ctx: &Context,
    row: &Row,
    value: &[u8],
) -> Result<Option<Plain>, MigrateError> {
    let Some(ct) = codec.ciphertext(storage, value) else {
        return Ok(None);
    };
    match codec.open(ctx, &ct) {
        Ok(p) => Ok(Some(p)),
        Err(CellError::Decrypt) => Err(MigrateError::ForeignCiphertext {
            row: row_id(&row.key),
            format: codec.name(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// What `row` needs in `plan`'s direction. `cells` opens what is there; `writer` seals the new values (the new
/// keys, or the other format, of a rotation).
pub(crate) fn decide(
    plan: &Plan,
    cells: Codec<'_>,
    writer: Codec<'_>,
    ctx: &Context,
    row: &Row,
) -> Result<Action, MigrateError> {
    let Some(src) = row.src.as_deref() else {
        return Ok(Action::Skip);
    };
    let (source, dest) = (plan.source.storage, plan.dest.storage);
    match plan.direction {
        Direction::Encrypt if plan.in_place() => match open(source, cells, ctx, row, src)? {
            Some(_) => Ok(Action::Skip),
            None => Ok(Action::Encrypt(Plain::new(src.to_vec()))),
        },
        Direction::Encrypt => {
            // The source stays the truth: a destination that opens to it is done, a stale one is sealed again.
            let current = match row.dst.as_deref() {
                Some(d) => open(dest, cells, ctx, row, d)?,
                None => None,
            };
            match current {
                Some(p) if p.as_slice() == src => Ok(Action::Skip),
                _ => Ok(Action::Encrypt(Plain::new(src.to_vec()))),
            }
        }
        Direction::Decrypt => {
            let Some(plain) = open(source, cells, ctx, row, src)? else {
                return match plan.in_place() {
                    true => Ok(Action::Skip),
                    false => Err(MigrateError::NotCiphertext {
                        row: row_id(&row.key),
                        format: cells.name(),
                    }),
                };
            };
            if dest != Storage::Bytea && std::str::from_utf8(&plain).is_err() {
                return Err(MigrateError::NotUtf8 {
                    row: row_id(&row.key),
                    column: plan.dest.name.clone(),
                });
            }
            match row.dst.as_deref() {
                Some(d) if !plan.in_place() && d == plain.as_slice() => Ok(Action::Skip),
                _ => Ok(Action::Restore(plain)),
            }
        }
        Direction::Rotate => {
            let Some(ct) = cells.ciphertext(source, src) else {
                // Already converted (a rotation into the other format, resumed without its checkpoint).
                return match open(source, writer, ctx, row, src)? {
                    Some(_) => Ok(Action::Skip),
                    None => Err(MigrateError::NotCiphertext {
                        row: row_id(&row.key),
                        format: cells.name(),
                    }),
                };
            };
            match cells.open(ctx, &ct) {
                Ok(p) => Ok(Action::Encrypt(p)),
                // Already under the new keys (a rotation resumed without its checkpoint).
                Err(CellError::Decrypt) if writer.open(ctx, &ct).is_ok() => Ok(Action::Skip),
                Err(CellError::Decrypt) => Err(MigrateError::ForeignCiphertext {
                    row: row_id(&row.key),
                    format: cells.name(),
                }),
                Err(e) => Err(e.into()),
            }
        }
    }
}
