//! The `engine.` and `derived.` variables rules may read. Their values are computed in `advisor::context`;
//! their types live here so the catalog can type-check rules when it loads.

/// (name, type, domain) where type is `bool`, `text` or `enum`.
pub const ENGINE_VARS: &[(&str, &str, &str)] = &[
    ("known", "bool", ""),
    ("on_rds", "bool", ""),
    ("aurora", "bool", ""),
    ("rds_storage_encryption", "bool", ""),
    ("rds_custom_key_store", "bool", ""),
    ("rds_tde", "bool", ""),
    ("ec2_tde", "bool", ""),
    ("ec2_tde_hsm", "bool", ""),
    ("ec2_tde_kms", "bool", ""),
    ("ec2_tde_licence", "text", ""),
    ("tde_granularity", "enum", "granularity"),
    ("native_cell", "bool", ""),
    ("runs_on_os", "bool", ""),
    ("family", "text", ""),
    ("name", "text", ""),
    // Per variant: the variant needs no engine support, or engines.toml lists it for this engine.
    ("supports_variant", "bool", ""),
];

pub const DERIVED_VARS: &[(&str, &str, &str)] = &[
    ("client_encryption", "bool", ""),
    ("tde_licensed", "bool", ""),
    ("rds_column_tde", "bool", ""),
];
