//! The evidence pillar, the last stage of `catalog -> audit -> report -> evidence`: signed evidence bundles
//! ([`bundle`], [`manifest`], [`signing`], [`attach`]), their verification ([`verify`]) and comparison ([`diff`]).
//! The control matrix and the provenance are the audit's (`crate::audit::{controls, provenance}`); the pages a
//! bundle holds are written by `crate::report`. Only the CLI imports this module.
//!
//! Nothing here calls AWS: a bundle is built from an inventory the audit read (live or saved).

pub mod attach;
pub mod bundle;
pub mod diff;
pub mod manifest;
pub mod org;
pub mod signing;
pub mod verify;
