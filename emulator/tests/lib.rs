//! Tests of the emulator itself against the GoTo reference (shared/reference/goto-api.md).
//! Everything runs on 127.0.0.1 with bounded loops.

mod common;

mod auth;
mod binary;
mod endpoints;
mod faults;
mod keys;
mod paging;
mod scale;
mod switches;
