//! API tests: the real application on port 0, a fresh database per test, HTTP from
//! the outside. Every test runs on SQLite and on PostgreSQL.

#![expect(
    clippy::expect_used,
    reason = "a test fails by panicking; helpers are plain functions, which clippy's test allowances do not cover"
)]

mod audit;
mod auth;
mod authz;
mod browser;
mod cli;
mod conditional;
mod connections;
mod copy;
mod current;
mod errors;
mod events;
mod helpers;
mod idempotency;
mod limits;
mod listing;
mod metrics;
mod nats;
mod openapi;
mod outage;
mod probes;
mod redis;
mod relay_instances;
mod sessions;
mod shutdown;
mod throttle;
mod tokens;
mod transfer;
mod users;
