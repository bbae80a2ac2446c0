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

/// Environment variables rollcall reads: a test starts from none of them, whatever the
/// machine running the suite has set, and adds what it means to test.
const ROLLCALL_ENVIRONMENT: &[&str] = &[
    "GOTO_ACCESS_TOKEN",
    "GOTO_CLIENT_ID",
    "GOTO_CLIENT_SECRET",
    "GOTO_PAT",
    "GOTO_REFRESH_TOKEN",
    "GOTO_REFRESH_TOKEN_FILE",
    "ROLLCALL_API_URL",
    "ROLLCALL_TOKEN_URL",
    "ROLLCALL_ACCOUNT_KEY",
    "ROLLCALL_SCIM_URL",
    "ROLLCALL_GRAPH_URL",
    "SCIM_TOKEN",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "NO_COLOR",
    "GITHUB_ACTIONS",
];

/// The one way the tests run the real binary: `rollcall` with none of the environment
/// variables it reads inherited from the machine.
pub fn rollcall() -> std::process::Command {
    let mut c = std::process::Command::new(rollcall_bin());
    for var in ROLLCALL_ENVIRONMENT {
        c.env_remove(var);
    }
    c
}

/// `rollcall()` for assert_cmd's assertions.
pub fn rollcall_assert() -> assert_cmd::Command {
    assert_cmd::Command::from_std(rollcall())
}

/// The rollcall binary the tests run: this build, or the one `ROLLCALL_BIN_UNDER_TEST` names
/// (to watch a new test fail on the code before a fix).
pub fn rollcall_bin() -> String {
    std::env::var("ROLLCALL_BIN_UNDER_TEST")
        .ok()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_rollcall").to_owned())
}

/// `rollcall ARGS` in `cwd`, to the end.
pub fn run(args: &[&str], cwd: &Path) -> std::process::Output {
    rollcall().args(args).current_dir(cwd).env("ROLLCALL_TEST", "1").output().expect("rollcall runs")
}

pub fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
