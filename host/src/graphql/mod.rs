//! The public API: `POST /graphql`, GraphiQL on `GET /graphql`,
//! subscriptions on `/graphql/ws`, and signed artifact downloads.
//!
//! This layer authenticates (API key → [`crate::jobs::Caller`]), turns GraphQL input into
//! service calls and service results into GraphQL objects, and maps errors
//! through [`crate::error`]. It holds no business rules: everything a
//! generation is or costs is decided in `jobs`.

pub mod bare_selection;
mod http;
mod schema;
mod socket;
pub mod types;

pub use http::router;
pub use schema::{DoitongSchema, build_schema};
