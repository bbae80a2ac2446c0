//! One integration-test binary (as casey/just does): a module per topic.

mod schema;
mod validate;
