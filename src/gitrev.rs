//! Manifests at a git revision, read straight from the object database (git2): no checkout,
//! no network. `RevisionTree` is a `ManifestFs`, so the ordinary loader reads from it.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::diag::{Code, Problem};
use crate::manifest::files::ManifestFs;

/// The repository that holds a manifest directory.
pub struct Repo {
    repo: git2::Repository,
    /// The work tree's root, canonical.
    root: PathBuf,
}

fn git_problem(message: String, e: &git2::Error) -> Problem {
    Problem::new(Code::Git, format!("{message}: {}", e.message()))
}

impl Repo {
    /// The repository `dir` is in (searching upwards, as git does).
    pub fn discover(dir: &Path) -> Result<Repo, Problem> {
        let start = existing_ancestor(dir);
        let repo = git2::Repository::discover(&start).map_err(|e| {
            git_problem(format!("{} is not in a git repository", dir.display()), &e)
                .help("`rollcall diff` compares the manifests at two revisions of the git repository they are in")
        })?;
        let root = repo
            .workdir()
            .ok_or_else(|| Problem::new(Code::Git, "the repository is bare: rollcall diff needs a work tree"))?;
        let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
        Ok(Repo { repo, root })
    }

    /// Where `dir` (as the user wrote it) is inside the repository, with `/` separators.
    pub fn relative(&self, dir: &Path) -> Result<PathBuf, Problem> {
        let absolute = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            let cwd = std::env::current_dir()
                .map_err(|e| Problem::new(Code::Io, format!("cannot read the current directory: {e}")))?;
            std::fs::canonicalize(&cwd).unwrap_or(cwd).join(dir)
        };
        // Canonicalise the part that exists (symlinks such as /tmp), keep the rest as written.
        let existing = existing_ancestor(&absolute);
        let canonical = std::fs::canonicalize(&existing).unwrap_or_else(|_| existing.clone());
        let rest = absolute.strip_prefix(&existing).unwrap_or(Path::new(""));
        let full = normalize(&canonical.join(rest));
        full.strip_prefix(&self.root).map(Path::to_path_buf).map_err(|_| {
            Problem::new(Code::Git, format!("{} is outside the repository at {}", dir.display(), self.root.display()))
        })
    }

    /// The manifest directory `dir` as it is at revision `rev` (anything `git rev-parse` takes).
    pub fn tree(&self, rev: &str, dir: &Path) -> Result<RevisionTree<'_>, Problem> {
        let object = self.repo.revparse_single(rev).map_err(|e| {
            git_problem(format!("unknown revision `{rev}`"), &e)
                .help("name a branch, a tag or a commit, e.g. `--base main` or `--base HEAD~1`")
        })?;
        let tree = object.peel_to_tree().map_err(|e| git_problem(format!("`{rev}` does not name a tree"), &e))?;
        let mut files = BTreeMap::new();
        let mut dirs = BTreeSet::from([PathBuf::new()]);
        tree.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
            let path = Path::new(parent).join(entry.name().unwrap_or(""));
            match entry.kind() {
                Some(git2::ObjectType::Tree) => {
                    dirs.insert(path);
                }
                Some(git2::ObjectType::Blob) => {
                    files.insert(path, entry.id());
                }
                _ => {}
            }
            git2::TreeWalkResult::Ok
        })
        .map_err(|e| git_problem(format!("cannot read the tree of `{rev}`"), &e))?;
        Ok(RevisionTree {
            repo: &self.repo,
            rev: rev.to_owned(),
            dir: dir.to_path_buf(),
            prefix: self.relative(dir)?,
            files,
            dirs,
        })
    }
}

/// What a plan records of the work tree a manifest directory is in.
pub struct WorkTree {
    /// The work tree's root, as git2 names it (not canonicalised).
    pub root: PathBuf,
    /// The commit checked out and whether `dir` holds changes not committed; None before the
    /// first commit.
    pub head: Option<(String, bool)>,
}

/// The git work tree `dir` (an existing, canonical directory) is in, if any.
pub fn work_tree(dir: &Path) -> Option<WorkTree> {
    let repo = git2::Repository::discover(dir).ok()?;
    let root = repo.workdir()?.to_path_buf();
    let commit = repo.head().and_then(|h| h.peel_to_commit()).ok().map(|c| c.id().to_string());
    let canonical = std::fs::canonicalize(&root).unwrap_or_else(|_| root.clone());
    let inside = dir.strip_prefix(&canonical).unwrap_or(Path::new(""));
    Some(WorkTree { head: commit.map(|c| (c, dirty(&repo, inside))), root })
}

/// The root of the git work tree `dir` is in, if any (`git rev-parse --show-toplevel`).
pub fn work_tree_root(dir: &Path) -> Option<PathBuf> {
    git2::Repository::discover(dir).ok()?.workdir().map(Path::to_path_buf)
}

/// As `git status --porcelain -- DIR` is non-empty: a file under `inside` (relative to the
/// root) changed, staged or untracked and not ignored. Unknown (status unreadable): false.
fn dirty(repo: &git2::Repository, inside: &Path) -> bool {
    let prefix: Vec<String> = inside.iter().map(|c| c.to_string_lossy().into_owned()).collect();
    let prefix = prefix.join("/");
    // git status hides untracked files when the repository's config says so; libgit2 does not read it.
    let untracked = repo.config().and_then(|c| c.get_string("status.showUntrackedFiles")).map_or(true, |v| v != "no");
    let mut options = git2::StatusOptions::new();
    options.include_untracked(untracked).recurse_untracked_dirs(untracked).include_ignored(false);
    if !prefix.is_empty() {
        options.pathspec(&prefix);
    }
    let Ok(statuses) = repo.statuses(Some(&mut options)) else { return false };
    statuses.iter().any(|e| {
        let path = String::from_utf8_lossy(e.path_bytes());
        prefix.is_empty() || path == prefix || path.starts_with(&format!("{prefix}/"))
    })
}

/// The nearest ancestor of `path` (or itself) that exists.
fn existing_ancestor(path: &Path) -> PathBuf {
    let mut p = path.to_path_buf();
    while !p.as_os_str().is_empty() && !p.exists() {
        if !p.pop() {
            break;
        }
    }
    if p.as_os_str().is_empty() { PathBuf::from(".") } else { p }
}

/// `a/./b/../c` -> `a/c`, without touching the file system.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The files of one revision; blobs are read when the loader asks for them.
pub struct RevisionTree<'r> {
    repo: &'r git2::Repository,
    rev: String,
    /// The manifest directory as the user wrote it: loader paths start with it.
    dir: PathBuf,
    /// The manifest directory inside the repository.
    prefix: PathBuf,
    files: BTreeMap<PathBuf, git2::Oid>,
    dirs: BTreeSet<PathBuf>,
}

impl RevisionTree<'_> {
    pub fn rev(&self) -> &str {
        &self.rev
    }

    /// A loader path (under `dir`) as a path inside the repository.
    fn in_repo(&self, path: &Path) -> PathBuf {
        let rel = path.strip_prefix(&self.dir).unwrap_or(path);
        normalize(&self.prefix.join(rel))
    }
}

impl ManifestFs for RevisionTree<'_> {
    fn read(&self, path: &Path) -> io::Result<String> {
        let id = self
            .files
            .get(&self.in_repo(path))
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("not in revision {}", self.rev)))?;
        let blob = self.repo.find_blob(*id).map_err(|e| io::Error::other(e.message().to_owned()))?;
        String::from_utf8(blob.content().to_vec()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    fn is_file(&self, path: &Path) -> bool {
        self.files.contains_key(&self.in_repo(path))
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.dirs.contains(&self.in_repo(path))
    }

    fn glob(&self, pattern: &str) -> Result<Vec<PathBuf>, glob::PatternError> {
        let pattern = glob::Pattern::new(&self.in_repo(Path::new(pattern)).to_string_lossy())?;
        let options = glob::MatchOptions { require_literal_separator: true, ..glob::MatchOptions::new() };
        Ok(self
            .files
            .keys()
            .filter(|f| pattern.matches_path_with(f, options))
            .filter_map(|f| f.strip_prefix(&self.prefix).ok().map(|rel| self.dir.join(rel)))
            .collect())
    }

    fn display(&self, path: &Path) -> String {
        let p = self.in_repo(path);
        format!("{}:{}", self.rev, if p.as_os_str().is_empty() { ".".into() } else { p.to_string_lossy() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_is_lexical() {
        assert_eq!(normalize(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalize(Path::new("./x")), PathBuf::from("x"));
    }
}
