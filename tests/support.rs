//! Helpers shared by the test modules.

use std::path::Path;

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The rollcall binary the tests run: this build, or the one `ROLLCALL_BIN_UNDER_TEST` names
/// (to watch a new test fail on the code before a fix).
pub fn rollcall_bin() -> String {
    std::env::var("ROLLCALL_BIN_UNDER_TEST")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_rollcall").to_owned())
}
