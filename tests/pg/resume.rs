//! Crashes and a busy application: `kill -9` at random points and resume, and a writer updating random rows while
//! the column is migrated.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use atrest::cell::{Context, format};

use crate::db::{self, assert_opens_to, run_ok};

/// A small xorshift generator seeded from the clock (the seed is printed, so a failure can be replayed).
struct Rng(u64);

impl Rng {
    fn new() -> Self {
        let seed = std::env::var("ATREST_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("seed {seed}");
        Rng(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn kill_nine_at_random_points_then_resume_encrypts_every_row_exactly_once() {
    let url = db::fresh("pg_kill_nine");
    let dir = tempfile::tempdir().unwrap();
    let key = db::key_file(dir.path(), "cell.key");
    let mut client = db::connect(&url);
    let original = db::users(&mut client, 50_000);
    let key_s = key.to_str().unwrap();
    let args = [
        "migrate",
        "--key-file",
        key_s,
        "--table",
        "users",
        "--column",
        "ssn",
        "--batch-size",
        "250",
    ];
    let mut rng = Rng::new();
    let mut killed = 0;
    for _ in 0..12 {
        let mut child = db::atrest(&url, &args)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(30 + rng.below(150)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
    }
    let progress: Option<i64> = client
        .query_opt(
            "SELECT rows_done FROM atrest_checkpoint WHERE state = 'running'",
            &[],
        )
        .unwrap()
        .map(|r| r.get(0));
    assert!(
        killed >= 10,
        "only {killed} runs were killed before they finished"
    );
    let out = run_ok(&url, &args);
    // Unless a run finished before a kill (a later one then started over, skipping every row), the last run
    // resumed from a checkpoint.
    let finished_early = progress.is_none();
    assert!(
        finished_early || out.contains("resumed from its checkpoint"),
        "{out}"
    );
    assert!(
        progress.is_none() || out.contains("resumed from its checkpoint"),
        "{out}"
    );
    // Once each: a value sealed twice would open to a ciphertext, not to its original.
    assert_opens_to(&mut client, &db::cells(&key), "users", "ssn", &original);
    let (done, written): (i64, i64) = client
        .query_one(
            "SELECT rows_done, rows_written FROM atrest_checkpoint WHERE state = 'done'",
            &[],
        )
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    let non_null = original.values().filter(|v| v.is_some()).count() as i64;
    if !finished_early {
        // The checkpoint counts every row written once across the killed runs and the last one.
        assert_eq!(written, non_null, "every row written once");
        assert_eq!(done, non_null, "every row done once");
    }
}

#[test]
fn a_concurrent_writer_loses_no_update() {
    let url = db::fresh("pg_writer");
    let dir = tempfile::tempdir().unwrap();
    let key = db::key_file(dir.path(), "cell.key");
    let mut client = db::connect(&url);
    let original = db::users(&mut client, 20_000);
    let expected = Arc::new(Mutex::new(original.clone()));
    let stop = Arc::new(AtomicBool::new(false));

    // The application: updates random rows, with plaintext (not yet switched) or with ciphertext (switched).
    let writer = {
        let (url, key, expected, stop) = (
            url.clone(),
            key.clone(),
            Arc::clone(&expected),
            Arc::clone(&stop),
        );
        std::thread::spawn(move || {
            let mut app = db::connect(&url);
            let cells = db::cells(&key);
            let mut rng = Rng::new();
            let mut updates = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let id = 1 + rng.below(20_000) as i64;
                let value = format!("updated {updates}");
                let stored = match updates % 2 {
                    0 => value.clone(),
                    _ => {
                        let ctx = Context::new("users", "ssn")
                            .unwrap()
                            .with_row(id.to_string())
                            .unwrap();
                        format::to_text(&cells.encrypt(&ctx, value.as_bytes()).unwrap())
                    }
                };
                app.execute("UPDATE users SET ssn = $1 WHERE id = $2", &[&stored, &id])
                    .unwrap();
                expected
                    .lock()
                    .unwrap()
                    .insert(id, Some(value.into_bytes()));
                updates += 1;
            }
            updates
        })
    };
    let key_s = key.to_str().unwrap();
    let args = [
        "migrate",
        "--key-file",
        key_s,
        "--table",
        "users",
        "--column",
        "ssn",
        "--batch-size",
        "300",
    ];
    let start = Instant::now();
    run_ok(&url, &args);
    // Keep writing a little after the run too, then stop.
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    let updates = writer.join().unwrap();
    assert!(
        updates > 100,
        "only {updates} updates in {:?}",
        start.elapsed()
    );
    // Plaintext written behind the cursor is found by a second run.
    run_ok(&url, &args);
    let expected: HashMap<i64, Option<Vec<u8>>> = expected.lock().unwrap().clone();
    assert_opens_to(&mut client, &db::cells(&key), "users", "ssn", &expected);
}
