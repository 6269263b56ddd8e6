//! Remaining conditions in disjunctive normal form: a verdict is allowed if any term holds, a term holds when all
//! its atoms hold. An atom is a policy condition (possibly negated, when it comes from a Deny), a grant constraint,
//! or an input the audit could not read.

use std::fmt;

/// Where a statement or a grant comes from, by position in the inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// A key policy statement.
    KeyPolicy { statement: u32 },
    /// A statement of the principal's `policy`-th identity policy.
    Identity { policy: u32, statement: u32 },
    /// A statement of the principal's permissions boundary.
    Boundary { statement: u32 },
    /// A statement of an SCP: `level` (root first), `policy` within the level.
    Scp {
        level: u32,
        policy: u32,
        statement: u32,
    },
    /// A statement of an RCP.
    Rcp {
        level: u32,
        policy: u32,
        statement: u32,
    },
    /// The `index`-th grant on the key.
    Grant { index: u32 },
}

/// An input the evaluation needed and did not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Missing {
    KeyPolicy,
    Grants,
    IdentityPolicies,
    Scps,
    Rcps,
    /// The remaining conditions grew past what the evaluator keeps.
    TooComplex,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Missing::KeyPolicy => "the key policy",
            Missing::Grants => "the key's grants",
            Missing::IdentityPolicies => "the principal's IAM policies",
            Missing::Scps => "the service control policies",
            Missing::Rcps => "the resource control policies",
            Missing::TooComplex => "a simpler set of conditions",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Atom {
    /// Condition `condition` of the statement at `source` holds (or, when negated, does not).
    Condition {
        source: Source,
        condition: u32,
        negated: bool,
    },
    /// The request's encryption context satisfies the constraint of grant `index`.
    GrantConstraint { index: u32 },
    /// The input, had it been read, allows (and does not deny).
    Missing(Missing),
}

/// The most terms a formula keeps; past it the formula becomes `Missing::TooComplex`.
const MAX_TERMS: usize = 128;

/// A formula in disjunctive normal form. No terms: false; one empty term: true.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Dnf(pub Vec<Vec<Atom>>);

impl Dnf {
    pub fn falsum() -> Self {
        Dnf(Vec::new())
    }

    pub fn truth() -> Self {
        Dnf(vec![Vec::new()])
    }

    pub fn atom(a: Atom) -> Self {
        Dnf(vec![vec![a]])
    }

    pub fn term(atoms: Vec<Atom>) -> Self {
        Dnf(vec![atoms]).simplified()
    }

    pub fn is_false(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_true(&self) -> bool {
        self.0.iter().any(Vec::is_empty)
    }

    pub fn or(mut self, other: Dnf) -> Dnf {
        if self.is_true() || other.is_false() {
            return self;
        }
        if other.is_true() || self.is_false() {
            return other;
        }
        self.0.extend(other.0);
        self.simplified()
    }

    pub fn and(self, other: &Dnf) -> Dnf {
        if self.is_false() || other.is_true() {
            return self;
        }
        if other.is_false() {
            return Dnf::falsum();
        }
        if self.is_true() {
            return other.clone();
        }
        let mut out = Vec::with_capacity(self.0.len() * other.0.len());
        for a in &self.0 {
            for b in &other.0 {
                let mut t = a.clone();
                t.extend_from_slice(b);
                out.push(t);
            }
        }
        Dnf(out).simplified()
    }

    /// The negation of one term, as a DNF of single negated atoms. Missing-input atoms never occur negated: the
    /// caller folds an unread input's Deny into its positive atom.
    pub fn not_term(term: &[Atom]) -> Dnf {
        if term.is_empty() {
            return Dnf::falsum();
        }
        Dnf(term
            .iter()
            .filter_map(|a| match *a {
                Atom::Condition {
                    source,
                    condition,
                    negated,
                } => Some(vec![Atom::Condition {
                    source,
                    condition,
                    negated: !negated,
                }]),
                _ => None,
            })
            .collect())
        .simplified()
    }

    /// Not (any term holds) = and over terms of (not term).
    pub fn not(&self) -> Dnf {
        self.0
            .iter()
            .fold(Dnf::truth(), |acc, t| acc.and(&Dnf::not_term(t)))
    }

    fn simplified(mut self) -> Dnf {
        for t in &mut self.0 {
            t.sort_unstable();
            t.dedup();
        }
        // A term with a condition and its negation never holds.
        self.0.retain(|t| {
            !t.windows(2).any(|w| match w {
                [
                    Atom::Condition {
                        source: s1,
                        condition: c1,
                        ..
                    },
                    Atom::Condition {
                        source: s2,
                        condition: c2,
                        ..
                    },
                ] => s1 == s2 && c1 == c2,
                _ => false,
            })
        });
        if self.is_true() {
            return Dnf::truth();
        }
        self.0.sort();
        self.0.dedup();
        // Absorption: drop a term that contains another term.
        let terms = std::mem::take(&mut self.0);
        let mut kept: Vec<Vec<Atom>> = Vec::with_capacity(terms.len());
        let mut by_len = terms;
        by_len.sort_by_key(Vec::len);
        for t in by_len {
            if !kept
                .iter()
                .any(|k| k.iter().all(|a| t.binary_search(a).is_ok()))
            {
                kept.push(t);
            }
        }
        if kept.len() > MAX_TERMS {
            return Dnf::atom(Atom::Missing(Missing::TooComplex));
        }
        Dnf(kept)
    }

    /// The missing inputs every term depends on, when no term is free of them.
    pub fn missing(&self) -> Vec<Missing> {
        let mut all: Vec<Missing> = self
            .0
            .iter()
            .flatten()
            .filter_map(|a| match a {
                Atom::Missing(m) => Some(*m),
                _ => None,
            })
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}
