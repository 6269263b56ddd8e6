//! The accounts progress line of an organisation audit.

use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

use crate::audit::collect::Progress;

/// `[####....] 12/31 accounts, ETA 0:42` on stderr (only when stderr is a terminal).
pub struct AccountBar {
    state: Mutex<(usize, usize)>,
    started: Instant,
}

impl AccountBar {
    pub fn new() -> Self {
        AccountBar {
            state: Mutex::new((0, 0)),
            started: Instant::now(),
        }
    }

    fn draw(&self) {
        let Ok(state) = self.state.lock() else { return };
        let (done, total) = *state;
        const WIDTH: usize = 24;
        let filled = (done * WIDTH).checked_div(total).unwrap_or(0).min(WIDTH);
        let eta = match done {
            0 => "ETA --:--".to_string(),
            _ => {
                let per = self.started.elapsed().as_secs_f64() / done as f64;
                let left = (per * total.saturating_sub(done) as f64).round() as u64;
                format!("ETA {}:{:02}", left / 60, left % 60)
            }
        };
        let _ = write!(
            std::io::stderr(),
            "\r\x1b[2K[{}{}] {done}/{total} accounts, {eta}",
            "#".repeat(filled),
            ".".repeat(WIDTH - filled)
        );
    }

    pub fn clear(&self) {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
}

impl Progress for AccountBar {
    fn add(&self, units: usize) {
        if let Ok(mut state) = self.state.lock() {
            state.1 += units;
        }
        self.draw();
    }

    fn done(&self, _label: &str) {
        if let Ok(mut state) = self.state.lock() {
            state.0 += 1;
        }
        self.draw();
    }
}
