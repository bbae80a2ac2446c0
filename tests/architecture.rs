//! The layering of docs/ARCHITECTURE.md, enforced: every `crate::…` path in `src/` must
//! point to a lower layer than the module it is written in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// module name -> (layer number, layer line) from the "## Layers" list of ARCHITECTURE.md.
fn layers(doc: &str) -> BTreeMap<String, usize> {
    let section = doc.split("## Layers").nth(1).expect("ARCHITECTURE.md has a `## Layers` section");
    let section = section.split("\n## ").next().unwrap();
    let mut out = BTreeMap::new();
    for line in section.lines() {
        let Some((number, rest)) = line.split_once(". ") else { continue };
        let Ok(number) = number.trim().parse::<usize>() else { continue };
        // `a`, `b` — what they own: the modules are the backticked names before the dash.
        let names = rest.split(" — ").next().unwrap();
        for name in names.split('`').skip(1).step_by(2) {
            assert!(out.insert(name.to_owned(), number).is_none(), "`{name}` is listed in two layers");
        }
    }
    assert!(!out.is_empty(), "no layers found in ARCHITECTURE.md");
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Test code: may use anything.
fn is_test_file(rel: &Path) -> bool {
    let stem = rel.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    stem == "tests" || stem == "proptests" || rel.components().any(|c| c.as_os_str() == "tests")
}

/// The top-level modules named by the `crate::` paths of `code`, with their line numbers.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                // `crate::{a::X, b}`: the first segment of each path in the group.
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    let name: String =
                        item.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                    if !name.is_empty() {
                        out.push((i + 1, name));
                    }
                }
            } else {
                let name: String = after.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !name.is_empty() {
                    out.push((i + 1, name));
                }
            }
            rest = after;
        }
    }
    out
}

/// Every edge of `src/` that the layers do not allow, in words.
fn violations(src: &Path, layers: &BTreeMap<String, usize>) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut bad = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let module = rel.components().next().unwrap().as_os_str().to_str().unwrap().trim_end_matches(".rs");
        if matches!(module, "lib" | "main") || is_test_file(rel) {
            continue;
        }
        let Some(&own) = layers.get(module) else {
            bad.push(format!("src/{}: module `{module}` is in no layer of docs/ARCHITECTURE.md", rel.display()));
            continue;
        };
        let code = std::fs::read_to_string(&file).unwrap();
        // Inline test modules may use anything.
        let code = code.split("#[cfg(test)]\nmod tests").next().unwrap();
        for (line, used) in crate_paths(code) {
            if used == module {
                continue;
            }
            match layers.get(&used) {
                None => bad.push(format!(
                    "src/{}:{line}: uses `crate::{used}`, which is in no layer of docs/ARCHITECTURE.md",
                    rel.display()
                )),
                Some(&theirs) if theirs >= own => bad.push(format!(
                    "src/{}:{line}: `{module}` (layer {own}) uses `crate::{used}` (layer {theirs}): a module may use only lower layers",
                    rel.display()
                )),
                Some(_) => {}
            }
        }
    }
    bad
}

#[test]
fn modules_use_only_lower_layers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap();
    let bad = violations(&root.join("src"), &layers(&doc));
    assert!(bad.is_empty(), "edges that docs/ARCHITECTURE.md does not allow:\n  {}", bad.join("\n  "));
}

#[test]
fn an_upward_edge_is_caught_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("plan")).unwrap();
    std::fs::write(src.join("live.rs"), "use crate::vocab::Key;\n").unwrap();
    std::fs::write(src.join("plan/mod.rs"), "use crate::{live::Key, render};\n").unwrap();
    std::fs::write(src.join("plan/tests.rs"), "use crate::render;\n").unwrap();
    let layers = layers("## Layers\n\n1. `vocab` — words.\n2. `live`, `plan` — x.\n3. `render` — y.\n");
    assert_eq!(
        violations(&src, &layers),
        [
            "src/plan/mod.rs:1: `plan` (layer 2) uses `crate::live` (layer 2): a module may use only lower layers",
            "src/plan/mod.rs:1: `plan` (layer 2) uses `crate::render` (layer 3): a module may use only lower layers",
        ]
    );
}

/// Functions in `src/` longer than `limit` lines, from the `fn` line to its closing brace (the
/// first line after it that is only `}` at the `fn`'s indentation), as `path:line name (n lines)`.
fn long_functions(src: &Path, limit: usize) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut long = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let indent = &line[..line.len() - line.trim_start().len()];
            let mut words = line.trim_start();
            for prefix in ["pub(crate) ", "pub(super) ", "pub ", "async ", "const ", "unsafe "] {
                words = words.strip_prefix(prefix).unwrap_or(words);
            }
            let Some(rest) = words.strip_prefix("fn ") else { continue };
            if line.trim_end().ends_with(';') {
                continue;
            }
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let close = format!("{indent}}}");
            let end = lines[i..].iter().position(|l| l.trim_end() == close).map_or(lines.len(), |n| i + n);
            let n = end - i + 1;
            if n > limit {
                let rel = file.strip_prefix(src.parent().unwrap()).unwrap().display().to_string();
                long.push(format!("{rel}:{} {name} ({n} lines)", i + 1));
            }
        }
    }
    long
}

#[test]
fn no_function_in_src_is_over_120_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let long = long_functions(&src, 120);
    assert!(long.is_empty(), "functions over 120 lines: split them into named steps:\n  {}", long.join("\n  "));
}

#[test]
fn a_long_function_is_caught_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    let body = "    let x = 1;\n".repeat(5);
    std::fs::write(
        src.join("lib.rs"),
        format!("pub fn short() {{\n}}\n\nimpl A {{\n    pub(crate) fn long() {{\n{body}    }}\n}}\nfn decl();\n"),
    )
    .unwrap();
    assert_eq!(long_functions(&src, 6), ["src/lib.rs:5 long (7 lines)"]);
    assert!(long_functions(&src, 7).is_empty());
}
