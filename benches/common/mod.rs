//! Shared by the benchmarks: each bench target includes this as `mod common;`.

// `gen` is a reserved word in edition 2024.
#[allow(dead_code)]
pub mod floor;
#[path = "gen.rs"]
pub mod generate;
#[allow(dead_code)]
pub mod measure;
