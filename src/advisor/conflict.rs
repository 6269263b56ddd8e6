//! When every option is excluded: the smallest set of stated requirements that together exclude every option,
//! and, for each option, the cheapest single change of one requirement that makes it feasible. Pure: it only
//! re-runs the rules on modified requirements.

use serde::Serialize;

use crate::catalog::Catalog;
use crate::catalog::expr::{Type, Value};

use super::engine::{EngineSupport, feasible};
use super::requirements::Requirements;

/// Keys that describe the database rather than a requirement; they are never relaxed.
const FIXED: [&str; 2] = ["database.engine", "database.version"];
/// The largest conflicting set searched for; beyond it every stated requirement is named.
const MAX_SET: usize = 4;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stated {
    pub key: String,
    pub value: String,
}

/// The cheapest single change that makes one option feasible.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Relaxation {
    pub option: u8,
    pub title: String,
    /// `None` when no single change makes the option feasible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The variant that becomes feasible.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// The smallest set of stated requirements that, with every other requirement at its default, already
    /// excludes every option.
    pub requirements: Vec<Stated>,
    pub text: String,
    pub relaxations: Vec<Relaxation>,
}

fn any_feasible(catalog: &Catalog, req: &Requirements, support: &EngineSupport) -> bool {
    catalog
        .numbered_options()
        .any(|o| feasible(catalog, req, support, o).is_some())
}

/// Requirement keys whose value differs from the default, in criteria order.
fn stated(catalog: &Catalog, req: &Requirements) -> Vec<String> {
    catalog
        .criteria
        .criteria
        .iter()
        .filter(|c| !FIXED.contains(&c.key.as_str()))
        .filter(|c| req.get(&c.key).is_some_and(|v| *v != c.default))
        .map(|c| c.key.clone())
        .collect()
}

/// Subsets of `0..n` of size `k`, in lexicographic order.
fn combinations(n: usize, k: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    let mut current = Vec::with_capacity(k);
    fn go(start: usize, n: usize, k: usize, current: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if current.len() == k {
            out.push(current.clone());
            return;
        }
        for i in start..n {
            current.push(i);
            go(i + 1, n, k, current, out);
            current.pop();
        }
    }
    go(0, n, k, &mut current, &mut out);
    out
}

fn smallest_set(catalog: &Catalog, req: &Requirements, support: &EngineSupport) -> Vec<String> {
    let keys = stated(catalog, req);
    let mut base = Requirements::defaults(catalog);
    for key in FIXED {
        if let Some(v) = req.get(key) {
            base = base.with_value(key, v.clone());
        }
    }
    for size in 1..=keys.len().min(MAX_SET) {
        for combo in combinations(keys.len(), size) {
            let mut trial = base.clone();
            for key in combo.iter().filter_map(|&i| keys.get(i)) {
                if let Some(v) = req.get(key) {
                    trial = trial.with_value(key, v.clone());
                }
            }
            if !any_feasible(catalog, &trial, support) {
                return combo.iter().filter_map(|&i| keys.get(i).cloned()).collect();
            }
        }
    }
    keys
}

/// Every single change of one requirement, with its size: steps along an ordered domain, one for a flipped
/// boolean or a list item removed.
fn changes(catalog: &Catalog, req: &Requirements) -> Vec<(usize, String, Value)> {
    let mut out = Vec::new();
    for c in &catalog.criteria.criteria {
        if FIXED.contains(&c.key.as_str()) {
            continue;
        }
        let Some(current) = req.get(&c.key) else {
            continue;
        };
        match (&c.ty, current) {
            (Type::Bool, Value::Bool(b)) => out.push((1, c.key.clone(), Value::Bool(!b))),
            (Type::Enum(domain), Value::Text(now)) => {
                let values = catalog
                    .criteria
                    .domains
                    .get(domain)
                    .cloned()
                    .unwrap_or_default();
                let here = values.iter().position(|v| v == now).unwrap_or_default();
                for (i, v) in values.iter().enumerate() {
                    if i != here {
                        out.push((i.abs_diff(here), c.key.clone(), Value::Text(v.clone())));
                    }
                }
            }
            (Type::List(_), Value::List(items)) => {
                for (i, _) in items.iter().enumerate() {
                    let rest: Vec<String> = items
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .map(|(_, s)| s.clone())
                        .collect();
                    out.push((1, c.key.clone(), Value::List(rest)));
                }
            }
            _ => {}
        }
    }
    // Smallest change first; the criteria order breaks ties (sort is stable).
    out.sort_by_key(|(size, _, _)| *size);
    out
}

fn describe_change(current: Option<&Value>, to: &Value) -> (String, String) {
    let from = current.map(Value::render).unwrap_or_default();
    match (current, to) {
        (Some(Value::List(before)), Value::List(after)) => {
            let removed = before
                .iter()
                .find(|b| !after.contains(b))
                .cloned()
                .unwrap_or_default();
            (from, format!("without `{removed}`"))
        }
        _ => (from, to.render()),
    }
}

/// Explains why no option fits `req`.
pub fn explain(catalog: &Catalog, req: &Requirements, support: &EngineSupport) -> Conflict {
    let set = smallest_set(catalog, req, support);
    let requirements: Vec<Stated> = set
        .iter()
        .map(|k| Stated {
            key: k.clone(),
            value: req.get(k).map(Value::render).unwrap_or_default(),
        })
        .collect();
    let named: Vec<String> = requirements
        .iter()
        .map(|s| format!("`{} = {}`", s.key, s.value))
        .collect();
    let text = match named.len() {
        0 => "the engine alone leaves no option".to_string(),
        1 => format!("{} alone excludes every option", named.join("")),
        _ => format!("{} together exclude every option", named.join(" and ")),
    };
    let candidates = changes(catalog, req);
    let relaxations = catalog
        .numbered_options()
        .map(|option| {
            let number = option.file.number.unwrap_or_default();
            let found = candidates.iter().find_map(|(_, key, value)| {
                let trial = req.with_value(key, value.clone());
                feasible(catalog, &trial, support, option).map(|v| (key, value, v))
            });
            match found {
                Some((key, value, variant)) => {
                    let (from, to) = describe_change(req.get(key), value);
                    let variant_title = option
                        .variant(&variant)
                        .map(|v| v.file.title.clone())
                        .unwrap_or_default();
                    Relaxation {
                        option: number,
                        title: option.file.title.clone(),
                        text: format!(
                            "option {number} becomes feasible with `{key}` {} (now `{from}`), as {variant_title}",
                            if to.starts_with("without") { to.clone() } else { format!("= `{to}`") }
                        ),
                        key: Some(key.clone()),
                        from: Some(from),
                        to: Some(to),
                        variant: Some(variant),
                    }
                }
                None => Relaxation {
                    option: number,
                    title: option.file.title.clone(),
                    key: None,
                    from: None,
                    to: None,
                    variant: None,
                    text: format!("no single change of one requirement makes option {number} feasible"),
                },
            }
        })
        .collect();
    Conflict {
        requirements,
        text,
        relaxations,
    }
}

#[cfg(test)]
mod tests {
    use super::combinations;

    #[test]
    fn combinations_are_lexicographic() {
        assert_eq!(combinations(3, 2), vec![vec![0, 1], vec![0, 2], vec![1, 2]]);
        assert_eq!(combinations(2, 3), Vec::<Vec<usize>>::new());
    }
}
