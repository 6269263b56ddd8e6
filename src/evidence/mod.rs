//! The evidence pillar: compliance frameworks as data ([`framework`]), the control matrix over an audit report
//! ([`matrix`]), signed evidence bundles ([`bundle`], [`manifest`], [`signing`], [`attach`]), their verification
//! ([`verify`]) and comparison ([`diff`]), and decision records from the advisor ([`adr`]).
//!
//! Nothing here calls AWS: a bundle is built from an inventory the audit read (live or saved).

pub mod adr;
pub mod attach;
pub mod bundle;
pub mod diff;
pub mod framework;
pub mod manifest;
pub mod markdown;
pub mod matrix;
pub mod signing;
pub mod verify;
