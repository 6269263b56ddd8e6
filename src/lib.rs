//! atrest: encryption of databases at rest on AWS.
//!
//! Three pillars share one small model ([`model`]):
//! - [`advisor`]: the seven encryption options as data ([`catalog`]), ranked against a user's requirements;
//! - [`audit`]: what an AWS account really runs, checked and classified into the seven options;
//! - [`cell`]: envelope encryption of single database fields (cells) with AWS KMS or a local key file.
//!
//! Data flows one way, `catalog -> audit -> report -> evidence`: [`catalog`] loads and validates all of
//! `decision/`; [`audit`] turns an inventory into a report, a control matrix and a provenance; [`report`] renders
//! what it is given (it reads no embedded data and no clock); [`evidence`] signs and checks bundles and is imported
//! by the CLI alone. [`advisor`] reads the catalog and feeds [`report`]'s decision records. Library errors are
//! structured and implement [`error::Help`], which keeps the hint apart from the message; the command line
//! (`cli`, not part of the library's API) adds flag names. `tests/offline/layering.rs` enforces these rules.

#![deny(clippy::indexing_slicing, clippy::allow_attributes_without_reason)]

pub mod access;
pub mod advisor;
pub mod audit;
pub mod catalog;
pub mod cell;
#[doc(hidden)]
pub mod cli;
pub mod digest;
pub mod error;
#[cfg(feature = "esdk")]
pub mod esdk;
pub mod evidence;
pub mod fsutil;
#[cfg(feature = "postgres")]
pub mod migrate;
pub mod model;
pub mod report;
pub mod suggest;
pub mod table;

#[cfg(feature = "aws")]
pub mod aws;
