//! The advisor: ranks the seven encryption options against a user's requirements (`evaluate`), explains every
//! decision with rule ids and dated facts, and turns a fleet inventory into per-database plans (`plan`).

pub mod compare;
pub mod conflict;
pub mod context;
pub mod cost;
pub mod engine;
#[cfg(feature = "aws")]
pub mod live;
pub mod plan;
pub mod render;
pub mod requirements;
pub mod scenario;

pub use engine::{EngineSupport, Recommendation, evaluate};
pub use requirements::{Requirements, RequirementsError};
