//! Progress on stderr: a bar on a terminal, a plain line now and then otherwise, nothing
//! with `-q`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);
static VERBOSITY: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// `-v` (repeatable): 1 logs every HTTP request (method, URL, status, time; never a header or body).
pub fn set_verbosity(v: u8) {
    VERBOSITY.store(v, Ordering::Relaxed);
}

pub fn verbosity() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}

/// `-q`: no progress at all.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    label: String,
    total: u64,
    done: AtomicU64,
    /// Plain lines: print when `done` crosses the next step.
    step: u64,
}

impl Progress {
    pub fn new(label: &str, total: u64) -> Progress {
        let quiet = QUIET.load(Ordering::Relaxed);
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len} ({per_sec}, {eta} left)")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_message(label.to_owned());
            bar
        });
        let step = if quiet || bar.is_some() { u64::MAX } else { (total / 10).max(500) };
        Progress { bar, label: label.to_owned(), total, done: AtomicU64::new(0), step }
    }

    pub fn inc(&self, n: u64) {
        let before = self.done.fetch_add(n, Ordering::Relaxed);
        let now = before + n;
        if let Some(bar) = &self.bar {
            bar.set_position(now);
        } else if self.step != u64::MAX && (now / self.step > before / self.step || now == self.total) {
            eprintln!("{}: {now}/{}", self.label, self.total);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
