//! A local AWS endpoint of a test's own (moto server on a free 127.0.0.1 port, started by `scripts/moto-start.sh`
//! with its own state directory and stopped by PID with `scripts/moto-stop.sh` when dropped): for tests that create
//! an organisation or turn IAM enforcement on, which would change what every other test sees on the shared one.

use std::path::PathBuf;
use std::process::Command;

use super::repo_path;

pub struct PrivateMoto {
    pub endpoint: String,
    state: tempfile::TempDir,
}

impl PrivateMoto {
    /// Starts a fresh server; `env` reaches the server (e.g. `MOTO_IAM_LOAD_MANAGED_POLICIES`).
    pub fn start(env: &[(&str, &str)]) -> PrivateMoto {
        let state = tempfile::tempdir().unwrap_or_else(|e| panic!("no temp dir: {e}"));
        let mut cmd = Command::new(repo_path("scripts/moto-start.sh"));
        cmd.env("ATREST_MOTO_STATE", state.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run moto-start.sh: {e}"));
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let endpoint = text
            .lines()
            .find_map(|l| l.strip_prefix("export ATREST_TEST_ENDPOINT="))
            .map(str::to_string)
            .unwrap_or_else(|| {
                panic!(
                    "moto-start.sh printed no endpoint:\n{text}\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
        PrivateMoto { endpoint, state }
    }

    /// Turns IAM enforcement on from now: every later request is authorised against IAM policies
    /// (moto's `INITIAL_NO_AUTH_ACTION_COUNT`, reset through its `/moto-api/reset-auth`).
    pub fn enforce_iam(&self) {
        let status = Command::new("python3")
            .arg("-c")
            .arg(
                "import sys, urllib.request; \
                 urllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/moto-api/reset-auth', data=b'0', method='POST', headers={'Content-Type': 'text/plain'}), timeout=10)",
            )
            .arg(&self.endpoint)
            .status()
            .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
        assert!(status.success(), "reset-auth failed");
    }

    pub fn log(&self) -> PathBuf {
        self.state.path().join("log")
    }
}

impl Drop for PrivateMoto {
    fn drop(&mut self) {
        let _ = Command::new(repo_path("scripts/moto-stop.sh"))
            .env("ATREST_MOTO_STATE", self.state.path())
            .status();
    }
}
