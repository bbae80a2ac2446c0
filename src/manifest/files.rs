//! Where manifest files are read from: the working tree (`WorkTree`), or a git revision
//! (`gitrev::RevisionTree`, for `diff`). Loading goes through this seam and nothing else.

use std::io;
use std::path::{Path, PathBuf};

pub trait ManifestFs {
    /// The file's text (UTF-8).
    fn read(&self, path: &Path) -> io::Result<String>;
    fn is_file(&self, path: &Path) -> bool;
    fn is_dir(&self, path: &Path) -> bool;
    /// The files a glob pattern (a path with `*`, `?`, `[..]`) names, sorted.
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, glob::PatternError>;
    /// How a path is named in diagnostics.
    fn display(&self, path: &Path) -> String;
    /// Whether `path`, symbolic links resolved, is inside `dir`.
    fn inside(&self, _dir: &Path, _path: &Path) -> bool {
        true
    }
}

/// The file system as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkTree;

impl ManifestFs for WorkTree {
    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }
    fn is_file(&self, path: &Path) -> bool {
        path.is_file()
    }
    fn is_dir(&self, path: &Path) -> bool {
        path.is_dir()
    }
    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, glob::PatternError> {
        let mut files: Vec<PathBuf> = glob::glob(pattern)?.filter_map(Result::ok).filter(|p| p.is_file()).collect();
        files.sort();
        Ok(files)
    }
    fn display(&self, path: &Path) -> String {
        path.to_string_lossy().trim_start_matches("./").to_owned()
    }
    fn inside(&self, dir: &Path, path: &Path) -> bool {
        match (std::fs::canonicalize(dir), std::fs::canonicalize(path)) {
            (Ok(dir), Ok(path)) => path.starts_with(dir),
            _ => false,
        }
    }
}
