//! Monthly cost of an option's key infrastructure, per key-protection variant, from the dated prices in
//! `decision/prices/`. Every line names its price, date, source and confidence; a cost that rests on a price
//! that is not verified says so. Pure: no I/O.
//!
//! [`per_database`] is the entry point for a per-database figure (one database, its own key and, where the
//! variant needs one, its own HSM cluster; a cluster shared by several databases costs less per database).

use serde::Serialize;

use crate::catalog::expr::Value;
use crate::catalog::{Catalog, VariantDef};

use super::context::EngineFacts;

/// One priced line: quantity x unit price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CostLine {
    pub price: String,
    pub item: String,
    pub quantity: String,
    pub unit: String,
    pub unit_usd: String,
    pub cents: u64,
    pub basis: String,
    pub date: String,
    pub source: String,
    pub confidence: &'static str,
}

/// The monthly cost of one variant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cost {
    pub monthly_cents: u64,
    pub lines: Vec<CostLine>,
    /// Costs the catalog cannot price (your own HSM, an engine licence), in words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
    /// Some line rests on a price that is not verified.
    pub unverified: bool,
}

/// `1234567` cents as `$12,345.67`.
pub fn usd(cents: u64) -> String {
    let dollars = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("${grouped}.{:02}", cents % 100)
}

impl Cost {
    /// `$2.00/month`, with `(unverified price)` and `+ unpriced` where they apply.
    pub fn summary(&self) -> String {
        let mut s = format!("{}/month", usd(self.monthly_cents));
        if self.unverified {
            s.push_str(" (rests on an unverified price)");
        }
        if !self.unpriced.is_empty() {
            s.push_str(" + not priced: ");
            s.push_str(&self.unpriced.join("; "));
        }
        s
    }
}

fn quantity_text(q: f64) -> String {
    if q.fract() == 0.0 {
        format!("{q:.0}")
    } else {
        format!("{q}")
    }
}

/// The monthly cost of `variant` for the requested engine: its priced items, plus an engine TDE licence that is
/// not held (named, not priced).
pub fn monthly(catalog: &Catalog, variant: &VariantDef, engine: &EngineFacts) -> Cost {
    let mut lines = Vec::new();
    let mut unverified = false;
    let mut total: f64 = 0.0;
    for item in &variant.file.cost {
        let Some(price) = catalog.price(&item.price) else {
            continue;
        };
        let amount = price.usd * item.quantity * 100.0;
        total += amount;
        unverified |= price.confidence != crate::catalog::schema::Confidence::Verified;
        lines.push(CostLine {
            price: price.id.clone(),
            item: price.item.clone(),
            quantity: quantity_text(item.quantity),
            unit: price.unit.clone(),
            unit_usd: format!("${}", price.usd),
            cents: cents(amount),
            basis: item.basis.clone(),
            date: price.date.clone(),
            source: price.source.clone(),
            confidence: price.confidence.as_str(),
        });
    }
    let mut unpriced = variant.file.unpriced.clone();
    let database_layer = variant.attributes.get("layer") == Some(&Value::Text("database".into()));
    let value = |name: &str| engine.values.get(name);
    if database_layer
        && value("ec2_tde") == Some(&Value::Bool(true))
        && value("derived.tde_licensed") == Some(&Value::Bool(false))
    {
        let engine_name = match value("name") {
            Some(Value::Text(n)) => n.clone(),
            _ => String::new(),
        };
        unpriced.push(format!(
            "a commercial TDE licence for {engine_name}, which your licences do not include"
        ));
    }
    Cost {
        monthly_cents: cents(total),
        lines,
        unpriced,
        unverified,
    }
}

fn cents(amount: f64) -> u64 {
    if amount.is_finite() && amount > 0.0 {
        // Prices are small positive numbers; rounding to whole cents is the intent.
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            reason = "a finite, positive amount of cents well below u64::MAX"
        )]
        let c = amount.round() as u64;
        c
    } else {
        0
    }
}

/// The monthly cost of one database on option `option_id` with variant `variant_id` (the planner's entry point);
/// `None` when either id is unknown.
pub fn per_database(
    catalog: &Catalog,
    option_id: &str,
    variant_id: &str,
    engine: &EngineFacts,
) -> Option<Cost> {
    let variant = catalog.option(option_id)?.variant(variant_id)?;
    Some(monthly(catalog, variant, engine))
}

#[cfg(test)]
mod tests {
    use super::usd;

    #[test]
    fn dollars_are_grouped() {
        assert_eq!(usd(0), "$0.00");
        assert_eq!(usd(200), "$2.00");
        assert_eq!(usd(211_700), "$2,117.00");
        assert_eq!(usd(123_456_789), "$1,234,567.89");
    }
}
