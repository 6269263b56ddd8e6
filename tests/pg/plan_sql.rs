//! The PostgreSQL steps of `atrest plan` run as written against real servers: two private clusters (a logical
//! replication source and the "encrypted" target), so the write freeze, which alters every database of its server,
//! cannot touch the other tests' databases. The minimal-downtime path (schema copy, publication, subscription,
//! catch-up wait, sequences, clean-up) moves every row and sequence value, including writes made while it
//! replicates; the freeze makes the source refuse writes and ends open sessions; the cut-over SQL lifts it again.
//! The endpoint lookups (`aws rds describe-db-instances`) are the one part replaced, by `SOURCE_DSN` and
//! `TARGET_DSN`, which the runbook offers for tunnels.

use std::path::{Path, PathBuf};
use std::process::Command;

use postgres::{Client, NoTls};
use serde_json::Value;

use crate::support::{atrest, repo_path, run, stderr, stdout};

/// A throw-away cluster of `scripts/pg-start.sh` in a state directory of its own, stopped by PID when dropped.
struct Cluster {
    state: PathBuf,
    url: String,
}

impl Cluster {
    fn start(state: &Path, options: &str) -> Cluster {
        let out = Command::new(repo_path("scripts/pg-start.sh"))
            .env("ATREST_PG_STATE", state)
            .env("ATREST_PG_OPTIONS", options)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let url = stdout(&out)
            .trim()
            .strip_prefix("export ATREST_TEST_PG_URL=")
            .unwrap()
            .to_string();
        assert!(url.contains("@127.0.0.1:"), "{url}");
        Cluster {
            state: state.to_path_buf(),
            url,
        }
    }

    /// The user and the libpq `key=value` connection string of a database.
    fn key_value(&self, name: &str) -> (String, String) {
        let rest = self.url.strip_prefix("postgresql://").unwrap();
        let (user, rest) = rest.split_once('@').unwrap();
        let (host, rest) = rest.split_once(':').unwrap();
        let (port, _) = rest.split_once('/').unwrap();
        (
            user.to_string(),
            format!("host={host} port={port} dbname={name} user={user}"),
        )
    }

    fn database(&self, name: &str) -> String {
        let (base, _) = self.url.rsplit_once('/').unwrap();
        format!("{base}/{name}")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(repo_path("scripts/pg-stop.sh"))
            .env("ATREST_PG_STATE", &self.state)
            .status();
    }
}

/// The commands of the first step of `database` whose title starts with `title`, as they are in the plan.
fn step_commands(plan: &Value, database: &str, title: &str) -> Vec<(String, String)> {
    let db = plan["databases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == database)
        .unwrap();
    let step = db["runbook"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["title"].as_str().unwrap().starts_with(title))
        .unwrap_or_else(|| panic!("no step `{title}` for {database}"));
    step["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["runs"].as_str().unwrap().to_string(),
                c["text"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn sql_of(commands: &[(String, String)]) -> String {
    let sql: Vec<&str> = commands
        .iter()
        .filter(|(runs, _)| runs == "sql")
        .map(|(_, t)| t.as_str())
        .collect();
    assert_eq!(sql.len(), 1, "{commands:?}");
    sql[0].to_string()
}

/// Runs host commands in one bash, in order, stopping at the first failure.
fn bash(commands: &[&str], env: &[(&str, &str)]) {
    let script = format!("set -euo pipefail\n{}\n", commands.join("\n"));
    // The catch-up wait loops until the target has caught up: bound it, so a regression fails instead of hanging.
    let mut cmd = Command::new("timeout");
    cmd.args(["300", "bash", "-c"]).arg(&script);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{script}\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
}

fn count(client: &mut Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).unwrap().get(0)
}

#[test]
fn the_postgresql_steps_of_a_plan_migrate_every_row_and_freeze_writes() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("fleet.csv");
    std::fs::write(
        &inventory,
        "name,engine,version,hosting,encryption,region,size_gib\nshop,postgres,15.4,rds,none,eu-west-2,800\n",
    )
    .unwrap();
    let planned = run(atrest()
        .arg("plan")
        .arg("-i")
        .arg(&inventory)
        .args(["--format", "json"]));
    assert!(planned.status.success(), "{}", stderr(&planned));
    let plan: Value = serde_json::from_str(&stdout(&planned)).unwrap();

    let source = Cluster::start(&dir.path().join("source"), "-c wal_level=logical");
    let target = Cluster::start(&dir.path().join("target"), "");
    for cluster in [&source, &target] {
        let mut admin = Client::connect(&cluster.url, NoTls).unwrap();
        admin.batch_execute("CREATE DATABASE shop").unwrap();
    }
    let (src, dst) = (source.database("shop"), target.database("shop"));
    let mut app = Client::connect(&src, NoTls).unwrap();
    app.batch_execute(
        "CREATE TABLE orders (id bigserial PRIMARY KEY, item text NOT NULL);
         INSERT INTO orders (item) SELECT 'item ' || g FROM generate_series(1, 1000) g;",
    )
    .unwrap();

    let path = step_commands(&plan, "shop", "Minimal-downtime path");
    let host: Vec<&str> = path
        .iter()
        .filter(|(runs, _)| runs == "host")
        .map(|(_, t)| t.as_str())
        .collect();
    let catch_up = host
        .iter()
        .position(|c| c.contains("pg_current_wal_lsn"))
        .expect("a catch-up wait");
    // libpq key=value form for the source, because the target's subscription appends `user=` and `password=`.
    let (user, source_kv) = source.key_value("shop");
    let env = [
        ("SOURCE_DSN", source_kv.as_str()),
        ("TARGET_DSN", dst.as_str()),
        ("REPLICATION_USER", user.as_str()),
        ("REPLICATION_PASSWORD", "unused-with-trust"),
        ("PGDATABASE", "shop"),
    ];
    // Endpoints, schema, publication, subscription; the application keeps writing meanwhile.
    bash(&host[..catch_up], &env);
    app.batch_execute(
        "INSERT INTO orders (item) SELECT 'late ' || g FROM generate_series(1, 500) g",
    )
    .unwrap();

    // The cut-over point: freeze the source with the plan's SQL, then wait, copy sequences, clean up.
    let freeze = sql_of(&step_commands(&plan, "shop", "Freeze writes"));
    let mut dba = Client::connect(&src, NoTls).unwrap();
    dba.batch_execute(&freeze).unwrap();
    assert!(
        app.batch_execute("SELECT 1").is_err(),
        "the freeze ends the application's open session"
    );
    let mut late = Client::connect(&src, NoTls).unwrap();
    let refused = late
        .batch_execute("INSERT INTO orders (item) VALUES ('after the freeze')")
        .unwrap_err();
    assert!(
        refused.to_string().contains("read-only") || format!("{refused:?}").contains("read-only"),
        "{refused:?}"
    );
    let mut tail: Vec<&str> = vec![host[0]];
    tail.extend(&host[catch_up..]);
    bash(&tail, &env);

    let mut new = Client::connect(&dst, NoTls).unwrap();
    assert_eq!(count(&mut new, "SELECT count(*) FROM orders"), 1500);
    assert_eq!(
        count(
            &mut new,
            "SELECT count(*) FROM orders WHERE item LIKE 'late %'"
        ),
        500
    );
    // The sequence continues after the source's last value, so the first write on the new side does not collide.
    let next: i64 = new
        .query_one(
            "INSERT INTO orders (item) VALUES ('first on the new side') RETURNING id",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(next, 1501);
    assert_eq!(count(&mut new, "SELECT count(*) FROM pg_subscription"), 0);
    assert_eq!(count(&mut late, "SELECT count(*) FROM pg_publication"), 0);

    // Rolling back to the source lifts the freeze with the plan's SQL.
    let lift = sql_of(&step_commands(
        &plan,
        "shop",
        "Roll back to the original instance",
    ));
    late.batch_execute(&lift).unwrap();
    let mut again = Client::connect(&src, NoTls).unwrap();
    again
        .batch_execute("INSERT INTO orders (item) VALUES ('after the rollback')")
        .unwrap();
}
