//! The variables a rule reads while judging one option: `req.*` (requirements), `opt.*` (option attributes),
//! `engine.*` (what is known about the requested engine) and `derived.*`, defined here:
//!
//! - `derived.client_encryption`: fields can be encrypted before they reach the database: the application may
//!   change (`app_changes = ok`), or only its driver may and the engine has a native client-side feature.
//! - `derived.tde_licensed`: engine TDE on EC2 is free, or a listed licence grants it (`[licence_grants]`).
//! - `derived.rds_column_tde`: RDS offers TDE for this engine and version, at column granularity.

use std::collections::BTreeMap;

use crate::catalog::expr::{Env, Scope, Value, Var};
use crate::catalog::schema::EngineDef;
use crate::catalog::{Catalog, OptionDef, VariantDef};

use super::requirements::Requirements;

/// The `engine.*` and `derived.*` values for one set of requirements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineFacts {
    pub values: BTreeMap<String, Value>,
}

/// Compares dotted versions numerically, part by part (`15.00.4073.23` >= `15.00`). An empty version means
/// "the current one" and satisfies any minimum.
pub fn version_at_least(version: &str, minimum: &str) -> bool {
    if version.trim().is_empty() {
        return true;
    }
    let parts = |v: &str| -> Vec<u64> {
        v.split(['.', '-', '_'])
            .map_while(|p| {
                let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .collect()
    };
    let (have, want) = (parts(version), parts(minimum));
    for (i, w) in want.iter().enumerate() {
        let h = have.get(i).copied().unwrap_or(0);
        if h != *w {
            return h > *w;
        }
    }
    true
}

impl EngineFacts {
    pub fn compute(
        catalog: &Catalog,
        req: &Requirements,
        engine: Option<&EngineDef>,
    ) -> EngineFacts {
        let version = req.text("database.version");
        let os = req.text("database.os");
        let app_changes = req.text("operations.app_changes");
        let mut v = BTreeMap::new();
        let b = |x: bool| Value::Bool(x);
        let t = |x: &str| Value::Text(x.to_string());
        let rds_tde = engine
            .and_then(|e| e.rds_tde.as_ref())
            .is_some_and(|t| version_at_least(version, &t.min_version));
        let ec2_tde = engine.and_then(|e| e.ec2_tde.as_ref()).filter(|t| {
            t.min_version
                .as_deref()
                .is_none_or(|m| version_at_least(version, m))
        });
        let granularity = engine
            .and_then(|e| e.tde_granularity.clone())
            .unwrap_or_else(|| "database".into());
        let native_cell = engine.is_some_and(|e| e.native_cell.is_some());
        v.insert("known".into(), b(engine.is_some()));
        v.insert(
            "on_rds".into(),
            b(engine.is_some_and(|e| e.rds_engine.is_some())),
        );
        v.insert("aurora".into(), b(engine.is_some_and(|e| e.aurora)));
        v.insert(
            "rds_storage_encryption".into(),
            b(engine.is_some_and(|e| e.rds_storage_encryption)),
        );
        v.insert(
            "rds_custom_key_store".into(),
            b(engine.is_some_and(|e| e.rds_custom_key_store)),
        );
        v.insert("rds_tde".into(), b(rds_tde));
        v.insert("ec2_tde".into(), b(ec2_tde.is_some()));
        v.insert("ec2_tde_hsm".into(), b(ec2_tde.is_some_and(|t| t.hsm_keys)));
        v.insert("ec2_tde_kms".into(), b(ec2_tde.is_some_and(|t| t.kms_keys)));
        v.insert(
            "ec2_tde_licence".into(),
            t(ec2_tde.map_or("none", |t| t.licence.as_str())),
        );
        v.insert("tde_granularity".into(), t(&granularity));
        v.insert("native_cell".into(), b(native_cell));
        // An unknown engine is assumed to run anywhere; only self-managed options apply to it anyway.
        v.insert(
            "runs_on_os".into(),
            b(engine.is_none_or(|e| e.os.iter().any(|o| o == os))),
        );
        v.insert(
            "family".into(),
            t(engine.map_or("other", |e| e.family.as_str())),
        );
        v.insert(
            "name".into(),
            t(engine.map_or(req.text("database.engine"), |e| e.name.as_str())),
        );

        let engine_id = req.text("database.engine");
        let licensed_by_grant = req.list("operations.licences").iter().any(|l| {
            catalog
                .criteria
                .licence_grants
                .get(l)
                .is_some_and(|ids| ids.iter().any(|id| id == engine_id))
        });
        let column_rank = catalog.criteria.rank("granularity", "column");
        let rds_column =
            rds_tde && catalog.criteria.rank("granularity", &granularity) >= column_rank;
        v.insert(
            "derived.client_encryption".into(),
            b(app_changes == "ok" || (app_changes == "driver-only" && native_cell)),
        );
        v.insert(
            "derived.tde_licensed".into(),
            b(
                ec2_tde.is_some_and(|t| t.licence == "free" || t.licence == "included")
                    || (ec2_tde.is_some() && licensed_by_grant),
            ),
        );
        v.insert("derived.rds_column_tde".into(), b(rds_column));
        EngineFacts { values: v }
    }
}

/// The environment for one rule evaluation: requirements, engine facts and (except for warnings) an option
/// with one of its key-protection variants.
pub struct RuleEnv<'a> {
    pub catalog: &'a Catalog,
    pub req: &'a Requirements,
    pub engine: &'a EngineFacts,
    pub option: Option<&'a OptionDef>,
    /// The variant judged; its attributes are the option's with its own on top.
    pub variant: Option<&'a VariantDef>,
    /// `engine.supports_variant`: the variant needs no engine support, or the engine lists it.
    pub variant_supported: bool,
}

/// Whether `engine` can use `variant` (variants that need no engine support always can).
pub fn engine_supports(variant: &VariantDef, engine: Option<&EngineDef>) -> bool {
    !variant.file.engine_listed
        || engine.is_some_and(|e| e.key_variant.iter().any(|k| k.variant == variant.id()))
}

impl Env for RuleEnv<'_> {
    fn value(&self, var: &Var) -> Option<Value> {
        match var.scope {
            Scope::Req => self.req.get(&var.name).cloned(),
            Scope::Opt => match self.variant {
                Some(v) => v.attributes.get(&var.name).cloned(),
                None => self.option?.attributes.get(&var.name).cloned(),
            },
            Scope::Engine if var.name == "supports_variant" => {
                Some(Value::Bool(self.variant_supported))
            }
            Scope::Engine => self.engine.values.get(&var.name).cloned(),
            Scope::Derived => self
                .engine
                .values
                .get(&format!("derived.{}", var.name))
                .cloned(),
        }
    }

    fn rank(&self, domain: &str, value: &str) -> Option<usize> {
        self.catalog.criteria.rank(domain, value)
    }
}

impl RuleEnv<'_> {
    /// Fills `{scope.name}` and `{option.*}` placeholders of a reason template.
    pub fn render(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            let name = &after[..end];
            let value = match (name, self.option) {
                ("option.number", Some(o)) => o.file.number.map(|n| n.to_string()),
                ("option.title", Some(o)) => Some(o.file.title.clone()),
                ("option.id", Some(o)) => Some(o.id().to_string()),
                ("variant.title", _) => self.variant.map(|v| v.file.title.clone()),
                ("variant.id", _) => self.variant.map(|v| v.id().to_string()),
                _ => Var::parse(name)
                    .and_then(|v| self.value(&v))
                    .map(|v| v.render()),
            };
            out.push_str(&value.unwrap_or_else(|| format!("{{{name}}}")));
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::version_at_least;

    #[test]
    fn versions_compare_numerically() {
        assert!(version_at_least("15.00.4073.23.v1", "15.00"));
        assert!(version_at_least("16.00", "15.00"));
        assert!(!version_at_least("14.00.3465.1", "15.00"));
        assert!(version_at_least("19.0.0.0.ru-2024-10", "19"));
        assert!(version_at_least("", "15.00"));
        assert!(!version_at_least("9.6", "10"));
        assert!(version_at_least("10", "9.6"));
    }
}
