//! Every integration test that needs no AWS endpoint, in one binary: the CLI end to end, the catalog, the
//! properties, the cell vectors, the evidence bundle, and the snapshots of every output.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../support/mod.rs"]
mod support;

mod access_cli;
mod advisor_cli;
mod advisor_properties;
mod advisor_scenarios;
mod audit_catalog;
mod audit_cli;
mod audit_example;
mod audit_properties;
mod catalog;
mod cell_cache;
mod cell_cli;
mod cell_fuzz;
mod cell_keyring;
mod cell_props;
mod cell_roundtrip;
mod cell_vectors;
mod cli_output;
#[cfg(feature = "esdk")]
mod esdk_cli;
#[cfg(feature = "esdk")]
mod esdk_props;
#[cfg(feature = "esdk")]
mod esdk_vectors;
mod evidence_cli;
mod evidence_frameworks;
mod evidence_html;
mod evidence_ocsf;
mod evidence_tamper;
mod layering;
mod plan_runbooks;
mod snapshots;
