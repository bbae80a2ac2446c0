//! The parse floor (benches/common/floor.rs) of each manifest directory given: what merely
//! parsing the files `rollcall plan` reads costs, with no rollcall code at all. Prints one
//! JSON line per directory (milliseconds, median of 3). The performance benchmark measures
//! the same floor beside its plans; this runs it alone:
//!
//! `cargo bench --bench parse_floor -- DIR...`

mod common;

use std::path::PathBuf;

fn main() {
    let dirs: Vec<PathBuf> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).map(PathBuf::from).collect();
    assert!(!dirs.is_empty(), "usage: parse_floor DIR...");
    for dir in dirs {
        let f = common::floor::measure(&dir);
        println!(
            "{}",
            serde_json::json!({
                "dir": dir,
                "bytes": f.bytes,
                "yaml_events_ms": f.yaml_events_ms,
                "yaml_typed_ms": f.yaml_typed_ms,
                "json_ms": f.json_ms,
                "csv_ms": f.csv_ms,
                "snapshot_ms": f.snapshot_ms,
                "floor_ms": f.total_ms(),
            })
        );
    }
}
