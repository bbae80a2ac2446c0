//! One integration-test binary (as casey/just does): a module per topic.

mod cli;
mod schema;
mod validate;
