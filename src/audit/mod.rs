//! The audit pillar: collectors read RDS, EC2/EBS and KMS into a plain [`inventory::Inventory`]; pure checks turn it
//! into findings; [`classify`] places every database on one of the seven encryption options; [`run`] assembles the
//! [`report::Report`]; [`controls`] judges the catalog's compliance controls over it; [`provenance`] says where it
//! came from. The report writers render these, and evidence bundles sign them.
//!
//! Only [`collect`] needs the AWS SDK (feature `aws`); everything else audits a saved inventory offline.

pub mod access;
pub mod calls;
pub mod checks;
pub mod classify;
pub mod clock;
#[cfg(feature = "aws")]
pub mod collect;
pub mod controls;
pub mod inventory;
pub mod org;
/// The collectors' read-only actions, also in a build without the collectors (for `atrest iam-policy`).
#[cfg(feature = "aws")]
pub use collect::permissions;
#[cfg(not(feature = "aws"))]
#[path = "collect/permissions.rs"]
pub mod permissions;
pub mod policy;
pub mod provenance;
pub mod report;
pub mod role;
pub mod run;
pub mod select;
pub mod store;

#[cfg(test)]
pub(crate) mod testkit;
