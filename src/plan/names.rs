//! Matching source names (tables, or the columns of one table) to target names.
//!
//! Passes, each over the names still unmatched: byte-equal names; names equal after
//! Unicode lower-casing; and for source names longer than Postgres keeps, the name cut
//! the way Postgres cuts it (exactly, then lower-cased). A pass binds a group only when
//! it holds one source and one target; a larger group is ambiguous and none of its
//! names is matched later, so a guess never decides which rows go where.

use std::collections::BTreeMap;

/// Postgres keeps NAMEDATALEN-1 bytes of an identifier.
pub const PG_MAX_IDENT_BYTES: usize = 63;

/// `name` as Postgres stores it: at most 63 bytes, never splitting a UTF-8 character
/// (what `truncate_identifier` does in a UTF-8 database).
pub fn pg_truncate(name: &str) -> &str {
    if name.len() <= PG_MAX_IDENT_BYTES {
        return name;
    }
    let mut end = PG_MAX_IDENT_BYTES;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// The comparison used for case-insensitive matches (Unicode, not only ASCII).
pub fn fold(name: &str) -> String {
    name.to_lowercase()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    Exact,
    CaseInsensitive,
    /// The source name is longer than 63 bytes and matches once cut to 63.
    Truncated,
}

/// Several names on one side (or both) that match only the same way: nothing is bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ambiguity {
    pub sources: Vec<usize>,
    pub targets: Vec<usize>,
    pub how: How,
}

#[derive(Debug, Clone, Default)]
pub struct Matching {
    /// Per source name: the target it is bound to, and how.
    pub bound: Vec<Option<(usize, How)>>,
    pub ambiguous: Vec<Ambiguity>,
}

impl Matching {
    /// The ambiguity a source name is part of, if any.
    pub fn ambiguity_of(&self, source: usize) -> Option<&Ambiguity> {
        self.ambiguous.iter().find(|a| a.sources.contains(&source))
    }

    pub fn target_is_bound(&self, target: usize) -> bool {
        self.bound.iter().flatten().any(|&(t, _)| t == target)
    }
}

pub fn match_names(sources: &[&str], targets: &[&str]) -> Matching {
    let mut m = Matching {
        bound: vec![None; sources.len()],
        ambiguous: Vec::new(),
    };
    let mut src_done = vec![false; sources.len()];
    let mut tgt_done = vec![false; targets.len()];
    type Key = fn(&str, bool) -> Option<String>;
    let passes: [(How, Key); 4] = [
        (How::Exact, |n, _| Some(n.to_string())),
        (How::CaseInsensitive, |n, _| Some(fold(n))),
        // Target names are never longer than 63 bytes: only source names are cut.
        (How::Truncated, |n, is_src| {
            if !is_src {
                Some(n.to_string())
            } else {
                (n.len() > PG_MAX_IDENT_BYTES).then(|| pg_truncate(n).to_string())
            }
        }),
        (How::Truncated, |n, is_src| {
            if !is_src {
                Some(fold(n))
            } else {
                (n.len() > PG_MAX_IDENT_BYTES).then(|| fold(pg_truncate(n)))
            }
        }),
    ];
    for (how, key) in passes {
        let mut groups: BTreeMap<String, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
        for (i, n) in sources.iter().enumerate() {
            if let (false, Some(k)) = (src_done[i], key(n, true)) {
                groups.entry(k).or_default().0.push(i);
            }
        }
        for (i, n) in targets.iter().enumerate() {
            if let (false, Some(k)) = (tgt_done[i], key(n, false)) {
                if let Some(g) = groups.get_mut(&k) {
                    g.1.push(i);
                }
            }
        }
        for (_, (s, t)) in groups {
            if t.is_empty() {
                continue;
            }
            s.iter().for_each(|&i| src_done[i] = true);
            t.iter().for_each(|&i| tgt_done[i] = true);
            if let ([one_s], [one_t]) = (s.as_slice(), t.as_slice()) {
                m.bound[*one_s] = Some((*one_t, how));
            } else {
                m.ambiguous.push(Ambiguity {
                    sources: s,
                    targets: t,
                    how,
                });
            }
        }
    }
    m
}

/// `"a", "b"` for messages.
pub fn quoted_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_names_bind_first_and_folding_must_be_unique() {
        let m = match_names(&["Users", "users"], &["users"]);
        assert_eq!(m.bound, vec![None, Some((0, How::Exact))]);
        assert!(m.ambiguous.is_empty());
        let m = match_names(&["Users", "users"], &["USERS"]);
        assert_eq!(m.bound, vec![None, None]);
        assert_eq!(
            m.ambiguous,
            vec![Ambiguity {
                sources: vec![0, 1],
                targets: vec![0],
                how: How::CaseInsensitive
            }]
        );
        let m = match_names(&["UserId"], &["userid", "USERID"]);
        assert_eq!(m.bound, vec![None]);
        assert_eq!(m.ambiguous[0].targets, vec![0, 1]);
        let m = match_names(&["Клиенты"], &["клиенты"]);
        assert_eq!(m.bound, vec![Some((0, How::CaseInsensitive))]);
    }

    #[test]
    fn long_names_match_as_postgres_truncates_them() {
        let t64 = "t".repeat(64);
        assert_eq!(pg_truncate(&t64), &t64[..63]);
        // 'я' is 2 bytes: 32 of them are 64 bytes, cut to 31 characters (62 bytes).
        let ya = "я".repeat(32);
        assert_eq!(pg_truncate(&ya), "я".repeat(31));
        let m = match_names(&[&t64, "x"], &[&t64[..63], "X"]);
        assert_eq!(
            m.bound,
            vec![Some((0, How::Truncated)), Some((1, How::CaseInsensitive))]
        );
        let a = format!("{}a", "t".repeat(63));
        let b = format!("{}b", "t".repeat(63));
        let m = match_names(&[&a, &b], &[&t64[..63]]);
        assert_eq!(m.bound, vec![None, None]);
        assert_eq!(m.ambiguous[0].how, How::Truncated);
    }
}
