//! Every integration test that talks to the local AWS endpoint (moto server on 127.0.0.1, started by
//! `scripts/test.sh`), in one binary. The endpoint is shared, so each test seeds its own regions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod access;
mod advisor_live;
mod audit;
mod audit_calls;
mod audit_throttling;
mod cell_kms;
mod credentials;
#[cfg(feature = "esdk")]
mod esdk_python;
mod evidence;
mod iam_policy;
mod org;
mod plan_exec;
mod plan_iac;
