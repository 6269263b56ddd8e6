//! An application's view of a migrated column: `customers.email` encrypted into `email_enc` with a blind index in
//! `email_idx` (composite primary key `(tenant, id)`), then read, written and searched through the library.
//!
//! Run against any PostgreSQL database you may create a table in:
//! `DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres cargo run --example pg_app -- cell.key`
//! (the key file is created when missing).

use std::error::Error;
use std::path::Path;
use std::sync::Arc;

use atrest::cell::{CellEncryptor, Context, KeyFileProvider};
use atrest::migrate::{self, Codec, Direction, Options, Target, row_id};
use postgres::{Client, NoTls};

fn main() -> Result<(), Box<dyn Error>> {
    let url = std::env::var("DATABASE_URL").map_err(|_| "set DATABASE_URL")?;
    let key = std::env::args().nth(1).unwrap_or_else(|| "cell.key".into());
    run(&url, Path::new(&key))
}

/// Sets the table up, migrates it, and reads, writes and searches it as an application would.
pub fn run(url: &str, key: &Path) -> Result<(), Box<dyn Error>> {
    let mut db = Client::connect(url, NoTls)?;
    db.batch_execute(
        "DROP TABLE IF EXISTS customers;
         CREATE TABLE customers (tenant int, id text, email text, PRIMARY KEY (tenant, id));
         INSERT INTO customers SELECT g % 3, 'c' || g, 'user' || g || '@example.com' FROM generate_series(1, 300) g;",
    )?;
    if !key.exists() {
        KeyFileProvider::create(key)?;
    }
    let cells = CellEncryptor::builder(Arc::new(KeyFileProvider::open(key)?)).build()?;

    // The migration (what `atrest cell migrate --table customers --column email --into email_enc
    // --blind-index email_idx` does).
    let target = Target {
        table: "customers".into(),
        column: "email".into(),
        into: Some("email_enc".into()),
        blind_index: Some(("email_idx".into(), 16)),
        ..Target::default()
    };
    let plan = migrate::resolve(&mut db, &target, Direction::Encrypt)?;
    let summary = migrate::migrate(
        &mut db,
        &plan,
        Codec::Cell(&cells),
        None,
        &Options::default(),
        &mut |_| {},
    )?;
    assert_eq!(summary.written, 300);

    // Reading: the context is the table, the plaintext column's name and the row: a composite key's text forms
    // as a JSON array (`row_id`).
    let row = db.query_one(
        "SELECT email_enc FROM customers WHERE tenant = $1 AND id = $2",
        &[&1i32, &"c7"],
    )?;
    let ctx = Context::new("customers", "email")?.with_row(row_id(&["1".into(), "c7".into()]))?;
    let email = cells.decrypt(&ctx, row.get::<_, &[u8]>(0))?;
    assert_eq!(email, b"user7@example.com");

    // Writing a new row: seal the value under its row's context, and its blind index.
    let index = cells.blind_index(&Context::new("customers", "email")?, 16)?;
    let ctx = Context::new("customers", "email")?.with_row(row_id(&["2".into(), "new".into()]))?;
    let sealed = cells.encrypt(&ctx, b"new@example.com")?;
    db.execute(
        "INSERT INTO customers (tenant, id, email_enc, email_idx) VALUES (2, 'new', $1, $2)",
        &[&sealed, &index.compute(b"new@example.com")],
    )?;

    // Equality search: look the blind index up, then decrypt the candidates (a short index may match others).
    let wanted = b"user42@example.com";
    let mut found = Vec::new();
    for r in db.query(
        "SELECT tenant::text, id, email_enc FROM customers WHERE email_idx = $1",
        &[&index.compute(wanted)],
    )? {
        let key = [r.get::<_, String>(0), r.get::<_, String>(1)];
        let ctx = Context::new("customers", "email")?.with_row(row_id(&key))?;
        if cells.decrypt(&ctx, r.get::<_, &[u8]>(2))? == wanted {
            found.push(key);
        }
    }
    assert_eq!(found, [["0".to_string(), "c42".to_string()]]);
    let n: i64 = db
        .query_one(
            "SELECT count(*) FROM customers WHERE email_idx = $1",
            &[&index.compute(b"new@example.com")],
        )?
        .get(0);
    assert_eq!(n, 1);
    println!("read, wrote and searched `customers.email_enc` through the library");
    Ok(())
}
