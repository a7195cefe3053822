//! The `minimax-image` offering: MiniMax's image-01 models through the same
//! API, key and error codes as the video offering.
//!
//! A generation is one synchronous exchange, `POST /v1/image_generation`,
//! whose answer links every image; the links go back to the host as `url`
//! artifacts, which it downloads and re-hosts at once (they expire after
//! 24 h). There is no task, so nothing to poll or cancel.
//!
//! - [`catalogue`]: the models, options, prices and the combination rules
//!   `quote` enforces: pure and unit-tested;
//! - [`api`]: the wire format, the images in the answer, the exchange.

pub mod api;
pub mod catalogue;

pub use catalogue::OFFERING;
