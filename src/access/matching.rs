//! Wildcards and ARNs as IAM matches them: `*` is any run of characters (also none), `?` is one character
//! (IAM JSON policy elements: Action, Resource; condition operators StringLike and ArnLike).

/// Matches `text` against the pattern, with `*` and `?` as wildcards.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if pattern == "*" {
        return true;
    }
    if pattern.is_ascii() && text.is_ascii() {
        glob_slices(
            pattern.as_bytes(),
            text.as_bytes(),
            |a, b| {
                if ignore_case {
                    a.eq_ignore_ascii_case(b)
                } else {
                    a == b
                }
            },
            b'*',
            b'?',
        )
    } else {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        glob_slices(
            &p,
            &t,
            |a, b| {
                // `${*}` and `${?}` in a policy value are literal characters.
                let a = &match *a {
                    super::condition::LITERAL_STAR => '*',
                    super::condition::LITERAL_QUESTION => '?',
                    c => c,
                };
                if ignore_case {
                    a == b || a.to_lowercase().eq(b.to_lowercase())
                } else {
                    a == b
                }
            },
            '*',
            '?',
        )
    }
}

/// The classic linear wildcard match with one backtracking point.
fn glob_slices<T: Copy + PartialEq>(
    p: &[T],
    t: &[T],
    eq: impl Fn(&T, &T) -> bool,
    star: T,
    one: T,
) -> bool {
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut back: Option<(usize, usize)> = None;
    while let Some(tc) = t.get(ti) {
        match p.get(pi) {
            Some(c) if *c == star => {
                back = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == one || eq(c, tc) => {
                pi += 1;
                ti += 1;
            }
            _ => match back {
                Some((bp, bt)) => {
                    pi = bp + 1;
                    ti = bt + 1;
                    back = Some((bp, bt + 1));
                }
                None => return false,
            },
        }
    }
    p.iter().skip(pi).all(|c| *c == star)
}

/// True when the text has a wildcard character.
pub fn has_wildcard(text: &str) -> bool {
    text.contains(['*', '?'])
}

/// The six colon-delimited parts of an ARN: `arn`, partition, service, region, account, resource (the resource
/// keeps any further colons). `None` when the text is not an ARN.
pub fn arn_parts(arn: &str) -> Option<[&str; 6]> {
    let mut it = arn.splitn(6, ':');
    let parts = [
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
        it.next()?,
    ];
    Some(parts)
}

/// The account part of an ARN, or of a bare 12-digit account id.
pub fn account_of(arn_or_account: &str) -> Option<&str> {
    if is_account_id(arn_or_account) {
        return Some(arn_or_account);
    }
    arn_parts(arn_or_account).map(|p| p[4])
}

/// A 12-digit account id.
pub fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// ArnEquals / ArnLike: each of the six colon-delimited parts is matched on its own, case-sensitively, and may use
/// `*` and `?` within the part (IAM JSON policy elements: condition operators, ARN condition operators). A policy
/// value of `*` alone matches any ARN.
pub fn arn_like(pattern: &str, arn: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    match (arn_parts(pattern), arn_parts(arn)) {
        (Some(p), Some(a)) => p.iter().zip(a.iter()).all(|(p, a)| glob(p, a, false)),
        _ => false,
    }
}

/// The `Resource` element: the whole ARN matched with wildcards, case-sensitively.
pub fn resource_matches(pattern: &str, arn: &str) -> bool {
    glob(pattern, arn, false)
}
