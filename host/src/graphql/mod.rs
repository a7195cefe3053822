//! The public API: `POST /graphql`, GraphiQL on `GET /graphql`,
//! subscriptions on `/graphql/ws`, and signed artifact downloads.
//!
//! This layer adapts transports to [`crate::admission`] (which decides who
//! the caller is and whether the request may run) and turns its typed
//! outcome into HTTP responses or socket messages; it turns GraphQL input
//! into service calls and service results into GraphQL objects, and maps
//! errors through [`crate::error`]. It holds no business rules: whether a
//! request runs is decided in `admission`, what a generation is or costs
//! in `jobs`.

mod assets;
pub mod bare_selection;
mod http;
mod schema;
mod socket;
pub mod types;

pub use http::router;
pub use schema::{DoitongSchema, build_schema, sdl};
