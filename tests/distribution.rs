//! The Python wheel (pyproject.toml, maturin `bindings = "bin"`): built by ./test.sh from the
//! binary cargo already compiled (tests/tools/build-wheel.sh), installed into a fresh
//! virtualenv, and run as a user would run it after `pipx install rollcall`. maturin comes
//! pinned from tests/tools/requirements.txt.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A tool from target/tools-venv; the suite fails, saying how to install it, when it is missing.
pub fn tool(name: &str) -> PathBuf {
    let path = root().join("target/tools-venv/bin").join(name);
    assert!(path.is_file(), "{} is missing: run tests/tools/install.sh (./test.sh does)", path.display());
    path
}

fn ok(o: &Output, what: &str) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{what} failed ({}):\n{text}", o.status);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn run(cmd: &mut Command, what: &str) -> String {
    ok(&cmd.output().unwrap_or_else(|e| panic!("{what}: {e}")), what)
}

/// The wheel ./test.sh built (tests/tools/build-wheel.sh) before the suite started; when the
/// suite runs without it, the wheel is built here in a target dir of its own, so that cargo
/// never relinks the binary the other tests are running.
fn wheel() -> PathBuf {
    let built = root().join("target/wheels");
    let find = |dir: &std::path::Path| -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "whl")).collect())
            .unwrap_or_default()
    };
    let mut wheels = find(&built);
    if wheels.is_empty() {
        let out = root().join("target/wheel-build/wheels");
        run(
            Command::new(tool("maturin"))
                .args(["build", "--locked", "--profile", "dev", "--quiet", "--target-dir"])
                .arg(root().join("target/wheel-build"))
                .arg("--out")
                .arg(&out)
                .current_dir(root()),
            "maturin build",
        );
        wheels = find(&out);
    }
    assert_eq!(wheels.len(), 1, "one wheel: {wheels:?}");
    wheels.remove(0)
}

#[test]
fn the_wheel_installs_into_a_fresh_venv_and_runs_the_example_plan() {
    let wheel = wheel();
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("rollcall-{}-py3-none-", env!("CARGO_PKG_VERSION"))), "{name}");
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("venv");
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv), "python3 -m venv");
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "--no-index", "--disable-pip-version-check"])
            .arg(&wheel),
        "pip install the wheel",
    );
    let rollcall = venv.join("bin/rollcall");
    let version = run(Command::new(&rollcall).arg("--version"), "rollcall --version");
    assert_eq!(version.trim(), format!("rollcall {}", env!("CARGO_PKG_VERSION")));
    let plan = run(Command::new(&rollcall).args(["plan", "examples/acme"]).current_dir(root()), "rollcall plan");
    assert!(plan.contains("Plan: 3 to create, 6 to update, 4 to disable"), "{plan}");
}

/// The container image runs the static release binary as a non-root user on an image with no
/// shell or package manager.
#[test]
fn the_container_image_is_minimal_and_non_root() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let instructions: Vec<&str> =
        dockerfile.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    let from: Vec<&&str> = instructions.iter().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(from, [&"FROM gcr.io/distroless/static-debian12:nonroot"], "one distroless stage");
    let user = instructions.iter().rev().find(|l| l.starts_with("USER ")).expect("a USER");
    assert!(!user.contains("root") && !user.ends_with(" 0") && !user.contains(" 0:"), "{user}");
    assert!(!instructions.iter().any(|l| l.starts_with("RUN ")), "nothing runs at build time: {instructions:?}");
    assert!(instructions.contains(&"ENTRYPOINT [\"/usr/local/bin/rollcall\"]"));
    // The release workflow builds it from the musl binaries it built, for both architectures.
    let release = std::fs::read_to_string(root().join(".github/workflows/release.yml")).unwrap();
    assert!(release.contains("--platform linux/amd64,linux/arm64") && release.contains("dist/linux-"), "release.yml");
}
