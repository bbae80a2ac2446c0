//! One integration-test binary (as casey/just does): a module per topic.

mod architecture;
mod bad_input;
mod cli;
mod crash;
mod desired;
mod emulated;
mod faults;
mod goto;
mod import;
mod nolost;
mod revdiff;
mod schema;
mod scim;
mod support;
mod validate;
mod workflows;
