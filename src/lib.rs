//! atrest: encryption of databases at rest on AWS.
//!
//! Three pillars share one small model ([`model`]):
//! - [`advisor`]: the seven encryption options as data ([`catalog`]), ranked against a user's requirements;
//! - [`audit`]: what an AWS account really runs, checked and classified into the seven options;
//! - [`cell`]: envelope encryption of single database fields (cells) with AWS KMS or a local key file.

#![deny(clippy::indexing_slicing, clippy::allow_attributes_without_reason)]

pub mod advisor;
pub mod audit;
pub mod catalog;
pub mod cell;
pub mod cli;
pub mod digest;
pub mod error;
#[cfg(feature = "esdk")]
pub mod esdk;
pub mod evidence;
pub mod fsutil;
pub mod model;
pub mod report;
pub mod suggest;
pub mod table;

#[cfg(feature = "aws")]
pub mod aws;
