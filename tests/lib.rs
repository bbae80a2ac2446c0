//! One integration-test binary (as casey/just does): a module per topic.

mod cli;
mod goto;
mod schema;
mod validate;
