//! `atrest cell migrate` and `cell rotate` end to end on a real PostgreSQL server (a throw-away cluster on
//! 127.0.0.1 started by `scripts/test.sh` through `scripts/pg-start.sh`, its URL in `ATREST_TEST_PG_URL`). Each
//! test makes its own database, so they run in parallel; `plan_sql` starts two clusters of its own, because its
//! write freeze alters every database of its server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

#[path = "../../examples/pg_app.rs"]
#[allow(dead_code, reason = "the example's main is not called here")]
mod pg_app;

mod db;
mod errors;
#[cfg(feature = "esdk")]
mod esdk;
mod migrate;
mod plan_sql;
mod resume;
