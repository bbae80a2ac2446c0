//! rollcall: provisions and de-provisions GoToMeeting accounts from YAML kept in git.
//!
//! Data flows one way: manifests -> desired state -> plan -> render / apply.

pub mod apply;
pub mod cli;
pub mod commands;
pub mod config;
pub mod desired;
pub mod diag;
pub mod directory;
pub mod expr;
pub mod gitrev;
pub mod import;
pub mod live;
pub mod manifest;
pub mod plan;
pub mod planfile;
pub mod progress;
pub mod render;
pub mod revdiff;
pub mod schema;
pub mod targets;
pub mod vocab;
