//! One integration-test binary (as casey/just does): a module per topic.

mod architecture;
mod bad_input;
mod cli;
mod crash;
mod desired;
mod distribution;
mod docs;
mod emulated;
mod explain;
mod faults;
mod first_use;
mod goto;
mod gotoreal;
mod graph;
mod import;
mod nolost;
mod redact;
mod revdiff;
mod review;
mod saved_plans;
mod schema;
mod scim;
mod ship;
mod support;
mod validate;
mod workflows;
