//! FK graph -> load waves. Parents load before children. Cycles (self-references
//! included) are found with Tarjan's SCC algorithm and broken edge by edge: through a
//! nullable FK the child loads with NULLs and is filled after the last wave; a cycle only
//! through NOT NULL FKs has one constraint dropped for the load and validated afterwards.

use std::collections::{BTreeMap, BTreeSet};

use super::{Problem, ProblemKind, TablePlan};
use crate::catalog::ForeignKey;

pub struct WaveResult {
    pub wave_of: Vec<usize>,
    pub breaks: Vec<CycleBreak>,
    pub warnings: Vec<Problem>,
}

/// How a foreign-key cycle is broken so every table can load parent-first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakStrategy {
    /// The child loads with the FK columns NULL; one UPDATE fills them after the last wave.
    NullThenFill,
    /// The constraint is dropped for the load, then re-added NOT VALID and validated.
    DropAndValidate,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CycleBreak {
    pub constraint: String,
    pub schema: String,
    pub child: String,
    pub parent: String,
    /// Target FK columns of the child.
    pub columns: Vec<String>,
    pub strategy: BreakStrategy,
    /// Why a constraint is dropped rather than filled (empty for a fill).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub why_dropped: String,
}

struct Edge {
    child: usize,
    parent: usize,
    fk: usize,
    /// Every FK column of the child accepts NULL, the child has a key to fill by, and
    /// no trigger on UPDATE that the fill would fire.
    nullable: bool,
    /// The child has a user trigger on UPDATE.
    update_trigger: bool,
}

/// `update_triggered`: target tables with a user trigger on UPDATE. A cycle through such
/// a child is broken by dropping the FK, never by a fill UPDATE that would fire it.
pub fn plan_waves(
    tables: &[TablePlan],
    fks: &[ForeignKey],
    schema: &str,
    update_triggered: &BTreeSet<&str>,
) -> WaveResult {
    let index: BTreeMap<&str, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.target.name.as_str(), i))
        .collect();
    let mut warnings = Vec::new();
    let mut edges: Vec<Edge> = Vec::new();
    for (fi, fk) in fks.iter().enumerate() {
        if fk.child_schema != schema {
            continue;
        }
        let Some(&child) = index.get(fk.child.as_str()) else {
            continue;
        };
        let ct = &tables[child];
        let cols: Option<Vec<&super::ColumnPlan>> = fk
            .child_columns
            .iter()
            .map(|c| ct.columns.iter().find(|p| &p.target == c))
            .collect();
        let Some(cols) = cols else {
            continue; // FK columns not copied: they stay NULL/default, no ordering needed
        };
        match index.get(fk.parent.as_str()) {
            Some(&parent) if fk.parent_schema == schema => edges.push(Edge {
                child,
                parent,
                fk: fi,
                nullable: cols.iter().all(|c| c.target_nullable)
                    && !ct.target_key.is_empty()
                    && !update_triggered.contains(ct.target.name.as_str()),
                update_trigger: update_triggered.contains(ct.target.name.as_str()),
            }),
            _ => warnings.push(Problem {
                kind: ProblemKind::ReferencesUnloadedTable,
                table: fk.child.clone(),
                column: None,
                message: format!(
                    "{} references {}.{} (constraint {}), which my2pg does not load: those rows must already be there",
                    fk.child, fk.parent_schema, fk.parent, fk.name
                ),
            }),
        }
    }
    // Break cycles one edge at a time, nullable edges first, in a stable order, until
    // the graph is acyclic: the fewest fills and drops a greedy pass finds.
    edges.sort_by(|a, b| {
        let key = |e: &Edge| (!e.nullable, &tables[e.child].target.name, &fks[e.fk].name);
        key(a).cmp(&key(b))
    });
    let mut active = vec![true; edges.len()];
    let mut breaks = Vec::new();
    loop {
        let mut parents: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); tables.len()];
        for (e, _) in edges.iter().zip(&active).filter(|(_, a)| **a) {
            parents[e.child].insert(e.parent);
        }
        let sccs = tarjan(&parents);
        let mut comp_of = vec![0; tables.len()];
        for (ci, comp) in sccs.iter().enumerate() {
            for &t in comp {
                comp_of[t] = ci;
            }
        }
        let cyclic = |e: &Edge| comp_of[e.child] == comp_of[e.parent];
        let Some(ei) = (0..edges.len()).find(|&i| active[i] && cyclic(&edges[i])) else {
            // Acyclic: the longest path from the roots gives each table its wave.
            let mut wave_of = vec![usize::MAX; tables.len()];
            fn wave(t: usize, parents: &[BTreeSet<usize>], memo: &mut Vec<usize>) -> usize {
                if memo[t] != usize::MAX {
                    return memo[t];
                }
                let w = parents[t]
                    .iter()
                    .map(|&p| wave(p, parents, memo) + 1)
                    .max()
                    .unwrap_or(0);
                memo[t] = w;
                w
            }
            for t in 0..tables.len() {
                wave(t, &parents, &mut wave_of);
            }
            return WaveResult {
                wave_of,
                breaks,
                warnings,
            };
        };
        active[ei] = false;
        let e = &edges[ei];
        let fk = &fks[e.fk];
        breaks.push(CycleBreak {
            constraint: fk.name.clone(),
            schema: fk.child_schema.clone(),
            child: fk.child.clone(),
            parent: fk.parent.clone(),
            columns: fk.child_columns.clone(),
            strategy: if e.nullable {
                BreakStrategy::NullThenFill
            } else {
                BreakStrategy::DropAndValidate
            },
            why_dropped: match (e.nullable, e.update_trigger) {
                (true, _) => String::new(),
                (false, true) => format!(
                    "{} has a trigger on UPDATE, which filling the FK columns would fire",
                    fk.child
                ),
                (false, false) => "NOT NULL cycle".into(),
            },
        });
    }
}

/// Strongly connected components of the graph `edges[v] = successors of v`.
fn tarjan(edges: &[BTreeSet<usize>]) -> Vec<Vec<usize>> {
    struct St<'a> {
        edges: &'a [BTreeSet<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        out: Vec<Vec<usize>>,
    }
    fn visit(s: &mut St, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        let succ: Vec<usize> = s.edges[v].iter().copied().collect();
        for w in succ {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                _ => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                comp.push(w);
                if w == v {
                    break;
                }
            }
            comp.sort();
            s.out.push(comp);
        }
    }
    let n = edges.len();
    let mut s = St {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::Converter;
    use crate::plan::ColumnPlan;

    fn table(name: &str, nullable_fk: bool) -> TablePlan {
        let col = |n: &str, nullable: bool| ColumnPlan {
            source: n.into(),
            source_type: "int".into(),
            target: n.into(),
            target_type: "integer".into(),
            target_base: String::new(),
            converter: Converter::Bool,
            rule: None,
            target_nullable: nullable,
            read: crate::plan::ReadAs::Column,
            null_default: None,
            target_default: None,
        };
        TablePlan {
            key: vec!["id".into()],
            key_positions: vec![0],
            target_key: vec!["id".into()],
            ..TablePlan::test_table(name, vec![col("id", false), col("x", nullable_fk)])
        }
    }

    fn fk(name: &str, child: &str, parent: &str) -> ForeignKey {
        ForeignKey {
            name: name.into(),
            child_schema: "public".into(),
            child: child.into(),
            child_columns: vec!["x".into()],
            parent_schema: "public".into(),
            parent: parent.into(),
            parent_columns: vec!["id".into()],
            deferrable: false,
            match_full: false,
        }
    }

    #[test]
    fn waves_chain_loads_parent_first() {
        let t = [
            table("a_child", true),
            table("mid", true),
            table("zeta_root", true),
            table("free", true),
        ];
        let r = plan_waves(
            &t,
            &[fk("c1", "a_child", "mid"), fk("c2", "mid", "zeta_root")],
            "public",
            &BTreeSet::new(),
        );
        assert_eq!(r.wave_of, vec![2, 1, 0, 0]);
        assert!(r.breaks.is_empty());
    }

    #[test]
    fn waves_self_reference_and_nullable_cycle_null_then_fill() {
        let t = [table("a", true), table("b", true), table("tree", true)];
        let r = plan_waves(
            &t,
            &[
                fk("ab", "a", "b"),
                fk("ba", "b", "a"),
                fk("parent", "tree", "tree"),
            ],
            "public",
            &BTreeSet::new(),
        );
        let got: Vec<(&str, BreakStrategy)> = r
            .breaks
            .iter()
            .map(|b| (b.constraint.as_str(), b.strategy))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ab", BreakStrategy::NullThenFill),
                ("parent", BreakStrategy::NullThenFill)
            ]
        );
        assert_eq!(r.wave_of, vec![0, 1, 0]); // b waits for a; a's FK to b is filled later
    }

    #[test]
    fn waves_not_null_cycle_edge_is_dropped_and_validated() {
        // c -> d is NOT NULL, d -> e NOT NULL, e -> c nullable: only the nullable edge breaks.
        let t = [table("c", false), table("d", false), table("e", true)];
        let r = plan_waves(
            &t,
            &[fk("cd", "c", "d"), fk("de", "d", "e"), fk("ec", "e", "c")],
            "public",
            &BTreeSet::new(),
        );
        let got: Vec<(&str, BreakStrategy)> = r
            .breaks
            .iter()
            .map(|b| (b.constraint.as_str(), b.strategy))
            .collect();
        assert_eq!(got, vec![("ec", BreakStrategy::NullThenFill)]);
        assert_eq!(r.wave_of, vec![2, 1, 0]);
        // All NOT NULL: the constraint is dropped and validated after the load.
        let t = [table("c", false), table("d", false)];
        let r = plan_waves(
            &t,
            &[fk("cd", "c", "d"), fk("dc", "d", "c")],
            "public",
            &BTreeSet::new(),
        );
        let got: Vec<(&str, BreakStrategy)> = r
            .breaks
            .iter()
            .map(|b| (b.constraint.as_str(), b.strategy))
            .collect();
        assert_eq!(got, vec![("cd", BreakStrategy::DropAndValidate)]);
    }
}
