//! The audit pillar: collectors read RDS, EC2/EBS and KMS into a plain [`inventory::Inventory`]; pure checks turn it
//! into findings; [`classify`] places every database on one of the seven encryption options; [`run`] assembles the
//! report that `crate::report` renders.
//!
//! Only [`collect`] needs the AWS SDK (feature `aws`); everything else audits a saved inventory offline.

pub mod catalog;
pub mod checks;
pub mod classify;
pub mod clock;
#[cfg(feature = "aws")]
pub mod collect;
pub mod inventory;
pub mod policy;
pub mod run;
pub mod select;
pub mod store;

#[cfg(test)]
pub(crate) mod testkit;
