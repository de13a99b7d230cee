//! FK graph -> load waves. Parents load before children; a cycle (including a
//! self-reference) is detected with Tarjan's SCC algorithm and reported by name.

use std::collections::{BTreeMap, BTreeSet};

use super::{Problem, ProblemKind, TablePlan};
use crate::catalog::ForeignKey;

pub struct WaveResult {
    pub wave_of: Vec<usize>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

pub fn plan_waves(tables: &[TablePlan], fks: &[ForeignKey], schema: &str) -> WaveResult {
    let index: BTreeMap<&str, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.target.name.as_str(), i))
        .collect();
    let mut problems = Vec::new();
    let mut warnings = Vec::new();
    // parents[child] = set of parent table indexes; edge constraint names for messages.
    let mut parents: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); tables.len()];
    let mut edge_names: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    for fk in fks {
        if fk.child_schema != schema {
            continue;
        }
        let Some(&child) = index.get(fk.child.as_str()) else {
            continue;
        };
        match index.get(fk.parent.as_str()) {
            Some(&parent) if fk.parent_schema == schema => {
                parents[child].insert(parent);
                edge_names.entry((child, parent)).or_default().push(fk.name.clone());
            }
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
    let sccs = tarjan(&parents);
    let mut comp_of = vec![0; tables.len()];
    for (ci, comp) in sccs.iter().enumerate() {
        for &t in comp {
            comp_of[t] = ci;
        }
    }
    for comp in &sccs {
        let self_ref = comp.len() == 1 && parents[comp[0]].contains(&comp[0]);
        if comp.len() > 1 || self_ref {
            let mut names: Vec<&str> = comp
                .iter()
                .map(|&t| tables[t].target.name.as_str())
                .collect();
            names.sort();
            let mut constraints: Vec<String> = Vec::new();
            for (&(c, p), n) in &edge_names {
                if comp.contains(&c) && comp.contains(&p) {
                    constraints.extend(n.iter().map(|n| {
                        format!(
                            "{} -> {} ({n})",
                            tables[c].target.name, tables[p].target.name
                        )
                    }));
                }
            }
            let what = if self_ref {
                "references itself"
            } else {
                "form a foreign-key cycle"
            };
            problems.push(Problem {
                kind: ProblemKind::FkCycle,
                table: names[0].to_string(),
                column: None,
                message: format!(
                    "table(s) {} {what}: {}; loading cycles is not supported yet",
                    names.join(", "),
                    constraints.join(", ")
                ),
            });
        }
    }
    // Longest path from the roots over the condensed graph gives each table its wave.
    let mut comp_wave = vec![usize::MAX; sccs.len()];
    fn wave(
        c: usize,
        sccs: &[Vec<usize>],
        parents: &[BTreeSet<usize>],
        comp_of: &[usize],
        memo: &mut Vec<usize>,
    ) -> usize {
        if memo[c] != usize::MAX {
            return memo[c];
        }
        let mut w = 0;
        for &t in &sccs[c] {
            for &p in &parents[t] {
                let pc = comp_of[p];
                if pc != c {
                    w = w.max(wave(pc, sccs, parents, comp_of, memo) + 1);
                }
            }
        }
        memo[c] = w;
        w
    }
    for c in 0..sccs.len() {
        wave(c, &sccs, &parents, &comp_of, &mut comp_wave);
    }
    WaveResult {
        wave_of: (0..tables.len()).map(|t| comp_wave[comp_of[t]]).collect(),
        problems,
        warnings,
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
    use crate::ident::PgName;

    fn table(name: &str) -> TablePlan {
        TablePlan {
            source: name.into(),
            target: PgName {
                schema: "public".into(),
                name: name.into(),
            },
            dir: name.into(),
            columns: vec![],
            extra_key_columns: vec![],
            key: vec![],
            key_positions: vec![],
            ordered_by_all: false,
            wave: 0,
            sequences: vec![],
            est_rows: 0,
            est_bytes: 0,
            target_key: vec![],
            existing_rows: Default::default(),
            merge_existing: false,
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
        }
    }

    #[test]
    fn waves_chain_loads_parent_first() {
        let t = [
            table("a_child"),
            table("mid"),
            table("zeta_root"),
            table("free"),
        ];
        let r = plan_waves(
            &t,
            &[fk("c1", "a_child", "mid"), fk("c2", "mid", "zeta_root")],
            "public",
        );
        assert_eq!(r.wave_of, vec![2, 1, 0, 0]);
        assert!(r.problems.is_empty());
    }

    #[test]
    fn waves_cycle_and_self_reference_are_reported() {
        let t = [table("a"), table("b"), table("tree")];
        let r = plan_waves(
            &t,
            &[
                fk("ab", "a", "b"),
                fk("ba", "b", "a"),
                fk("parent", "tree", "tree"),
            ],
            "public",
        );
        let msgs: Vec<&str> = r.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(msgs, vec![
            "table(s) a, b form a foreign-key cycle: a -> b (ab), b -> a (ba); loading cycles is not supported yet",
            "table(s) tree references itself: tree -> tree (parent); loading cycles is not supported yet",
        ]);
    }
}
