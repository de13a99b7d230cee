//! Large tables read in key ranges by several readers (`split_tables_larger_than`): the
//! chunk files are the same bytes as an unsplit export, whatever the split and however
//! wrong the table statistics; a resume reads only the missing chunks.

use std::path::Path;

use crate::common::{my_str, write_edited_manifest, TestEnv};
use crate::durability::{
    age_chunk_files, count_tmp_files, csv_files, kept_chunk_files, my2pg_in, read_manifest,
    workdir_hashes,
};

type Rows = Vec<Vec<Option<String>>>;

/// A composite integer key and a char(36) UUID key (mixed case, ordered by the
/// column's case-insensitive collation), with values that stress the CSV encoder.
/// STATS_AUTO_RECALC=0 keeps the statistics exactly as the test leaves them.
const SOURCE: &str = "
CREATE TABLE events (tenant int NOT NULL, seq int NOT NULL, note varchar(100) NULL,
  PRIMARY KEY (tenant, seq)) STATS_PERSISTENT=1 STATS_AUTO_RECALC=0;
CREATE TABLE docs (id char(36) NOT NULL PRIMARY KEY, body text NULL)
  STATS_PERSISTENT=1 STATS_AUTO_RECALC=0;
";
const TARGET: &str = "
CREATE TABLE events (tenant integer NOT NULL, seq integer NOT NULL, note varchar(100),
  PRIMARY KEY (tenant, seq));
CREATE TABLE docs (id uuid PRIMARY KEY, body text);
";

fn insert_events(env: &TestEnv, tenants: std::ops::Range<i32>, per_tenant: i32) {
    let mut rows = Vec::new();
    for t in tenants {
        for s in 1..=per_tenant {
            let note = match s % 4 {
                0 => "NULL".to_string(),
                1 => my_str(""),
                2 => my_str(&format!("line {t}/{s}\r\nquote \" comma , \\.")),
                _ => my_str(&format!("e{t}-{s} 😀")),
            };
            rows.push(format!("({t}, {s}, {note})"));
        }
    }
    for part in rows.chunks(500) {
        env.mysql_exec(&format!("INSERT INTO events VALUES {}", part.join(",")));
    }
}

fn insert_docs(env: &TestEnv, n: u32) {
    let rows: Vec<String> = (0..n)
        .map(|i| {
            // Deterministic pseudo-random UUIDs; every third one upper case.
            let h = (u64::from(i) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let id = format!(
                "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                h >> 32,
                (h >> 16) & 0xffff,
                h & 0xfff,
                (h >> 20) & 0xfff,
                h.rotate_left(17) & 0xffff_ffff_ffff
            );
            let id = if i % 3 == 0 { id.to_uppercase() } else { id };
            format!(
                "({}, {})",
                my_str(&id),
                my_str(&format!("doc {i}\n# title\n"))
            )
        })
        .collect();
    for part in rows.chunks(500) {
        env.mysql_exec(&format!("INSERT INTO docs VALUES {}", part.join(",")));
    }
}

/// Rows as text, sorted here (the two servers' collations need not agree).
fn sorted(mut rows: Rows) -> Rows {
    rows.sort();
    rows
}

fn source_rows(env: &TestEnv) -> (Rows, Rows) {
    (
        sorted(env.mysql_rows("SELECT CAST(tenant AS char), CAST(seq AS char), note FROM events")),
        sorted(env.mysql_rows("SELECT LOWER(id), body FROM docs")),
    )
}

fn target_rows(env: &TestEnv) -> (Rows, Rows) {
    (
        sorted(env.pg_rows("SELECT tenant::text AS t, seq::text AS s, note FROM events")),
        sorted(env.pg_rows("SELECT id::text AS i, body FROM docs")),
    )
}

/// Number of key ranges my2pg logged for `table` ("split into key ranges").
fn ranges_logged(stderr: &str, table: &str) -> Option<u32> {
    stderr
        .lines()
        .find(|l| l.contains("split into key ranges") && l.contains(&format!("table={table} ")))
        .and_then(|l| l.split("ranges=").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// 400 events in chunks 1-8 of 50 and 5 docs, exported by one reader.
fn exported_events(hint: &str) -> (TestEnv, std::path::PathBuf, std::path::PathBuf) {
    let env = TestEnv::new(hint);
    env.mysql_exec(SOURCE);
    insert_events(&env, 1..9, 50); // 400 rows, chunks 1-8
    insert_docs(&env, 5);
    env.pg_exec(TARGET);
    let cfg = env.write_config("[run]\nchunk_rows = 50\n\n[workers]\nreaders = 1\n");
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    (env, cfg, wd)
}

/// An interrupted export as it is left on disk: these chunks gone from `table`'s
/// manifest and directory, the manifest no longer complete.
fn lose_chunks(wd: &Path, table: &str, gone: std::ops::RangeInclusive<u64>) {
    let path = wd.join(table).join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["chunks"]
        .as_array_mut()
        .unwrap()
        .retain(|c| !gone.contains(&c["chunk"].as_u64().unwrap()));
    m["complete"] = serde_json::Value::Bool(false);
    write_edited_manifest(&path, &mut m);
    for c in gone {
        std::fs::remove_file(wd.join(table).join(format!("{c:06}.csv"))).unwrap();
    }
}

fn chunk_rows_in_manifest(wd: &Path, table: &str) -> Vec<(u64, u64)> {
    read_manifest(wd, table).unwrap()["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["chunk"].as_u64().unwrap(), c["rows"].as_u64().unwrap()))
        .collect()
}

#[test]
fn split_export_is_byte_identical_and_loads_every_row() {
    let env = TestEnv::new("split_same");
    env.mysql_exec(SOURCE);
    insert_events(&env, 1..22, 50); // 1,050 rows: 21 chunks of 50
    insert_docs(&env, 777); // 16 chunks, the last one of 27 rows
    env.mysql_exec("ANALYZE TABLE events, docs");
    env.pg_exec(TARGET);
    let cfg = env.write_config("[run]\nchunk_rows = 50\n\n[workers]\nreaders = 3\n");

    let plain = env.dir.join("work_plain");
    let out = my2pg_in(
        &cfg,
        &plain,
        &["export", "--split-tables-larger-than", "off"],
    );
    out.assert_ok();
    assert_eq!(ranges_logged(&out.stderr, "events"), None);

    let split = env.dir.join("work_split");
    let out = my2pg_in(&cfg, &split, &["export", "--split-tables-larger-than", "1"]);
    out.assert_ok();
    assert_eq!(
        ranges_logged(&out.stderr, "events"),
        Some(3),
        "events split in 3"
    );
    assert_eq!(
        ranges_logged(&out.stderr, "docs"),
        Some(3),
        "docs split in 3"
    );
    assert_eq!(
        workdir_hashes(&split),
        workdir_hashes(&plain),
        "chunk files and manifests must not depend on the split"
    );
    assert_eq!(csv_files(&split, "events").len(), 21);
    let docs = chunk_rows_in_manifest(&split, "docs");
    assert_eq!(docs.len(), 16);
    assert_eq!(docs.last(), Some(&(16, 27)));
    assert!(docs[..15].iter().all(|&(_, rows)| rows == 50));

    // The same split through `run`: every row arrives exactly once.
    let out = my2pg_in(
        &cfg,
        &env.dir.join("work_run"),
        &["run", "--json", "--split-tables-larger-than", "1KB"],
    );
    out.assert_ok();
    assert_eq!(ranges_logged(&out.stderr, "events"), Some(3));
    assert_eq!(target_rows(&env), source_rows(&env));
    assert_eq!(env.pg_count("events"), 1050);
    assert_eq!(env.pg_count("docs"), 777);
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM my2pg.loaded_chunks")
            .as_deref(),
        Some("37")
    );
}

#[test]
fn split_is_exact_when_the_statistics_are_wrong() {
    let env = TestEnv::new("split_stats");
    env.mysql_exec(SOURCE);
    insert_events(&env, 1..3, 50);
    env.mysql_exec("INSERT INTO events VALUES (3, 1, 'x')");
    insert_docs(&env, 700);
    env.pg_exec(TARGET);
    // Statistics that lie, as MySQL 8's cached information_schema figures can: an open
    // transaction's uncommitted rows move InnoDB's estimate but are not in any snapshot.
    // events: estimated ~1,000 rows, 101 committed (ranges 2 and 3 find no start row).
    // docs: estimated ~60 rows, 700 committed (the last range reads far past its share).
    let liar = env.mysql_uncommitted(
        "INSERT INTO events SELECT 100 + seq DIV 50, seq MOD 50 + 1, NULL FROM seq_0_to_898; \
         DELETE FROM docs WHERE body NOT REGEXP '^doc [1-6][0-9]\n';",
    );
    let est: Vec<Vec<Option<String>>> = env.mysql_rows(
        "SELECT table_name, CAST(table_rows AS char) FROM information_schema.tables \
         WHERE table_schema = DATABASE() ORDER BY table_name",
    );
    let est_rows = |t: &str| -> u64 {
        est.iter()
            .find(|r| r[0].as_deref() == Some(t))
            .and_then(|r| r[1].as_deref()?.parse().ok())
            .unwrap()
    };
    assert!(est_rows("events") >= 900, "estimate for events: {est:?}");
    assert!(
        (51..=100).contains(&est_rows("docs")),
        "estimate for docs: {est:?}"
    );
    let cfg = env.write_config("[run]\nchunk_rows = 50\n\n[workers]\nreaders = 3\n");

    let plain = env.dir.join("work_plain");
    my2pg_in(
        &cfg,
        &plain,
        &["export", "--split-tables-larger-than", "off"],
    )
    .assert_ok();
    let split = env.dir.join("work_split");
    let out = my2pg_in(
        &cfg,
        &split,
        &["export", "--json", "--split-tables-larger-than", "1"],
    );
    env.mysql_rollback(liar);
    out.assert_ok();
    assert_eq!(ranges_logged(&out.stderr, "events"), Some(3));
    assert_eq!(ranges_logged(&out.stderr, "docs"), Some(2));
    assert_eq!(workdir_hashes(&split), workdir_hashes(&plain));
    assert_eq!(
        chunk_rows_in_manifest(&split, "events"),
        [(1, 50), (2, 50), (3, 1)]
    );
    assert_eq!(chunk_rows_in_manifest(&split, "docs").len(), 14);
    let report = out.json();
    let rows = |t: &str| {
        report["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["table"] == t)
            .map(|r| r["rows"].as_u64().unwrap())
    };
    assert_eq!((rows("events"), rows("docs")), (Some(101), Some(700)));
}

#[test]
fn resume_of_a_split_export_reads_only_the_missing_chunks() {
    let env = TestEnv::new("split_gaps");
    env.mysql_exec(SOURCE);
    insert_events(&env, 1..22, 50);
    insert_docs(&env, 10);
    env.mysql_exec("ANALYZE TABLE events, docs");
    env.pg_exec(TARGET);
    let cfg = env.write_config(
        "[run]\nchunk_rows = 50\nsplit_tables_larger_than = 1\n\n[workers]\nreaders = 3\n",
    );
    let reference = env.dir.join("work_ref");
    my2pg_in(&cfg, &reference, &["export"]).assert_ok();
    let want = workdir_hashes(&reference);

    // An interrupted split export: ranges finish in any order, so the manifest can list
    // chunks with holes. Here: chunks 4-5 and 12 missing, 9 damaged, 19-21 never
    // written (the last range stopped after chunk 18), a .tmp left behind.
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    let path = wd.join("events").join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let gone = [4u64, 5, 12, 19, 20, 21];
    m["chunks"]
        .as_array_mut()
        .unwrap()
        .retain(|c| !gone.contains(&c["chunk"].as_u64().unwrap()));
    m["complete"] = serde_json::Value::Bool(false);
    write_edited_manifest(&path, &mut m);
    for c in gone {
        std::fs::remove_file(wd.join("events").join(format!("{c:06}.csv"))).unwrap();
    }
    std::fs::write(wd.join("events").join("000019.csv.tmp"), b"1,2,\"par").unwrap();
    let p9 = wd.join("events").join("000009.csv");
    let mut bytes = std::fs::read(&p9).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    std::fs::write(&p9, bytes).unwrap();
    age_chunk_files(&wd, "events");
    age_chunk_files(&wd, "docs");

    let out = my2pg_in(&cfg, &wd, &["export"]);
    out.assert_ok();
    out.assert_stderr_contains("chunk file missing or changed: exporting that chunk again");
    assert_eq!(
        ranges_logged(&out.stderr, "events"),
        None,
        "a resume fills gaps, it does not split again"
    );
    assert_eq!(workdir_hashes(&wd), want, "resumed export byte-identical");
    assert_eq!(count_tmp_files(&wd), 0);
    let kept: Vec<String> = (1..=21u64)
        .filter(|c| !gone.contains(c) && *c != 9)
        .map(|c| format!("{c:06}.csv"))
        .collect();
    assert_eq!(
        kept_chunk_files(&wd, "events"),
        kept,
        "only missing chunks are read again"
    );
    assert_eq!(kept_chunk_files(&wd, "docs"), csv_files(&wd, "docs"));

    // The source changed since: the gap where chunk 7 was now holds 49 of its rows (the
    // 50th read would be chunk 8's first row). That is refused, not papered over with a
    // chunk that overlaps the next one.
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["chunks"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["chunk"].as_u64() != Some(7));
    m["complete"] = serde_json::Value::Bool(false);
    write_edited_manifest(&path, &mut m);
    // Chunk 7 holds rows 301-350 in key order: tenant 7, seq 1-50.
    env.mysql_exec("DELETE FROM events WHERE tenant = 7 AND seq = 20");
    let out = my2pg_in(&cfg, &wd, &["export"]);
    out.assert_exit(2);
    out.assert_stderr_contains(
        "error: refused: table `events` changed in the source since its earlier export: \
         the key range of chunk 7 no longer holds the same 50 rows; export it again from \
         scratch: `run --fresh` (with `export` alone, remove the table's directory)",
    );
    assert!(!csv_files(&wd, "events").contains(&"000007.csv".to_string()));
}

/// Rows inserted into a gap's key range since the first export: the gap still reads its
/// exact row count, but the row after it is not the next chunk's first row. The gap's
/// last chunk is never written, so every later run refuses again until a fresh export.
#[test]
fn resume_refuses_a_gap_that_gained_rows_and_leaves_its_last_chunk_unwritten() {
    let (env, cfg, wd) = exported_events("split_grow");
    lose_chunks(&wd, "events", 3..=4);
    // Chunks 3-4 held tenants 3 and 4; five more rows now sort into that range.
    env.mysql_exec(
        "INSERT INTO events VALUES (3,51,'n'),(3,52,'n'),(3,53,'n'),(3,54,'n'),(3,55,'n')",
    );
    for round in 1..=2 {
        let out = my2pg_in(&cfg, &wd, &["export"]);
        out.assert_exit(2);
        // Chunk 3 may or may not have been written before the run stopped (the writer
        // races the cancellation), so the gap is chunks 3-4 or chunk 4.
        let gap_3_4 = "table `events` changed in the source since its earlier export: the key \
                       range of chunks 3-4 no longer holds the same 100 rows";
        let gap_4 = "table `events` changed in the source since its earlier export: the key \
                     range of chunk 4 no longer holds the same 50 rows";
        // The second time it is the refusal recorded by the first (the h22 attack: it
        // was not recorded, and status said to run again).
        let sticky = "error: refused: table `events`: an earlier run refused its files (the \
                      key range of chunk";
        out.check(
            if round == 1 {
                out.stderr.contains(gap_3_4) || out.stderr.contains(gap_4)
            } else {
                out.stderr.contains(sticky)
                    && out.stderr.contains(
                        "rows: the source changed since the earlier export), and they stay \
                         refused",
                    )
            },
            &format!("round {round}: the gap must be refused"),
        );
        let refused = read_manifest(&wd, "events").unwrap()["refused"].clone();
        assert!(
            refused
                .as_str()
                .is_some_and(|r| r.ends_with("rows: the source changed since the earlier export")),
            "round {round}: {refused}"
        );
        assert!(
            !csv_files(&wd, "events").contains(&"000004.csv".to_string()),
            "round {round}: the gap's last chunk must not be written"
        );
        let listed: Vec<u64> = read_manifest(&wd, "events").unwrap()["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["chunk"].as_u64().unwrap())
            .collect();
        assert!(
            !listed.contains(&4),
            "round {round}: manifest lists {listed:?}"
        );
    }
}

/// A manifest written before chunks carried their first key cannot bound a gap: the
/// export continues after the gap instead, rewriting the chunks behind it.
#[test]
fn a_gap_before_a_chunk_without_first_key_is_exported_again_from_there() {
    let env = TestEnv::new("split_oldman");
    env.mysql_exec(SOURCE);
    insert_events(&env, 1..7, 50); // chunks 1-6
    insert_docs(&env, 5);
    env.pg_exec(TARGET);
    let cfg = env.write_config("[run]\nchunk_rows = 50\n");
    let reference = env.dir.join("work_ref");
    my2pg_in(&cfg, &reference, &["export"]).assert_ok();
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    let path = wd.join("events").join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for c in m["chunks"].as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("first_key");
    }
    write_edited_manifest(&path, &mut m);
    std::fs::remove_file(wd.join("events").join("000003.csv")).unwrap();
    age_chunk_files(&wd, "events");
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    assert_eq!(
        kept_chunk_files(&wd, "events"),
        ["000001.csv", "000002.csv"]
    );
    // Same chunk files; the manifest differs only in the first keys the old one lacked
    // (and so in its checksum).
    let files = |dir: &Path| {
        let mut h = workdir_hashes(dir);
        h.retain(|k, _| k.ends_with(".csv"));
        h
    };
    assert_eq!(files(&wd), files(&reference));
    let strip = |dir: &Path| {
        let mut m = read_manifest(dir, "events").unwrap();
        for c in m["chunks"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("first_key");
        }
        m.as_object_mut().unwrap().remove("checksum");
        m
    };
    assert_eq!(strip(&wd), strip(&reference));
}

/// Without a shared snapshot each reader would count its range in a different state of
/// the table: nothing is split.
#[test]
fn no_split_without_a_snapshot() {
    let env = TestEnv::new("split_nosnap");
    env.mysql_exec(SOURCE);
    insert_events(&env, 1..5, 50);
    insert_docs(&env, 120);
    env.mysql_exec("ANALYZE TABLE events, docs");
    env.pg_exec(TARGET);
    let cfg = env.write_config(
        "[run]\nchunk_rows = 50\nsource_consistency = \"none\"\nsplit_tables_larger_than = 1\n\n[workers]\nreaders = 3\n",
    );
    let out = my2pg_in(&cfg, &env.workdir, &["run"]);
    out.assert_ok();
    assert_eq!(ranges_logged(&out.stderr, "events"), None);
    assert_eq!(ranges_logged(&out.stderr, "docs"), None);
    assert_eq!(target_rows(&env), source_rows(&env));
}

/// Enum, set and bit keys: MySQL sorts them by number (enum index, set bitmask, bit
/// value) but compares a string or bytes bound as a string. Every key range, gap and
/// resume must still read each row exactly once, in the same order as an unsplit read.
#[test]
fn enum_set_and_bit_keys_split_and_resume_without_duplicates() {
    let env = TestEnv::new("split_oddkeys");
    env.mysql_exec(
        "CREATE TABLE ek (e enum('zeta','alpha','mid','beta') NOT NULL PRIMARY KEY, v int NOT NULL); \
         INSERT INTO ek VALUES ('zeta',1),('alpha',2),('mid',3),('beta',4); \
         CREATE TABLE sk (s set('b','a','c') NOT NULL PRIMARY KEY, v int NOT NULL); \
         INSERT INTO sk VALUES ('b',1),('a',2),('a,b',3),('c',4),('',5); \
         CREATE TABLE bk (b bit(12) NOT NULL PRIMARY KEY, v int NOT NULL); \
         INSERT INTO bk VALUES (b'0',1),(b'1',2),(b'111111111111',3),(b'100000000000',4),(b'000100000000',5); \
         CREATE TABLE ck (e enum('zeta','alpha') NOT NULL, n int NOT NULL, v int NOT NULL, PRIMARY KEY (e, n)); \
         INSERT INTO ck VALUES ('zeta',2,1),('alpha',1,2),('zeta',1,3),('alpha',2,4),('zeta',3,5),('alpha',3,6)",
    );
    // ek has no primary key in the target: a duplicated row would load silently there.
    env.pg_exec(
        "CREATE TYPE ekt AS ENUM ('zeta','alpha','mid','beta'); \
         CREATE TABLE ek (e ekt NOT NULL, v integer NOT NULL); \
         CREATE TABLE sk (s text PRIMARY KEY, v integer NOT NULL); \
         CREATE TABLE bk (b bit(12) PRIMARY KEY, v integer NOT NULL); \
         CREATE TABLE ck (e text NOT NULL, n integer NOT NULL, v integer NOT NULL, PRIMARY KEY (e, n))",
    );
    let cfg = env.write_config("[run]\nchunk_rows = 1\nbatch_rows = 1\n\n[workers]\nreaders = 3\n");
    let plain = env.dir.join("work_plain");
    my2pg_in(
        &cfg,
        &plain,
        &["export", "--split-tables-larger-than", "off"],
    )
    .assert_ok();
    let want = workdir_hashes(&plain);
    assert_eq!(csv_files(&plain, "ek").len(), 4);
    assert_eq!(csv_files(&plain, "sk").len(), 5);
    assert_eq!(csv_files(&plain, "bk").len(), 5);
    assert_eq!(csv_files(&plain, "ck").len(), 6);
    // Rows leave MySQL in its own key order: enum index, set bitmask, bit value.
    let first_fields = |t: &str| -> Vec<String> {
        csv_files(&plain, t)
            .iter()
            .map(|f| std::fs::read_to_string(plain.join(t).join(f)).unwrap())
            // Quotes dropped: only the order of the values matters here.
            .map(|l| l.trim_end().replace('"', ""))
            .collect()
    };
    assert_eq!(first_fields("ek"), ["zeta,1", "alpha,2", "mid,3", "beta,4"]);
    assert_eq!(first_fields("sk"), [",5", "b,1", "a,2", "b,a,3", "c,4"]);
    assert_eq!(
        first_fields("ck"),
        [
            "zeta,1,3",
            "zeta,2,1",
            "zeta,3,5",
            "alpha,1,2",
            "alpha,2,4",
            "alpha,3,6"
        ]
    );

    let split = env.dir.join("work_split");
    let out = my2pg_in(&cfg, &split, &["export", "--split-tables-larger-than", "1"]);
    out.assert_ok();
    for t in ["ek", "sk", "bk", "ck"] {
        assert_eq!(ranges_logged(&out.stderr, t), Some(3), "{t} split in 3");
    }
    assert_eq!(workdir_hashes(&split), want, "split export byte-identical");

    // Resume: chunks 2 and 3 of every table gone; the gaps are read again from the
    // bound of chunk 1 and checked against chunk 4's first key.
    for t in ["ek", "sk", "bk", "ck"] {
        let path = split.join(t).join("manifest.json");
        let mut m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        m["chunks"]
            .as_array_mut()
            .unwrap()
            .retain(|c| !matches!(c["chunk"].as_u64(), Some(2 | 3)));
        m["complete"] = serde_json::Value::Bool(false);
        write_edited_manifest(&path, &mut m);
        for c in [2, 3] {
            std::fs::remove_file(split.join(t).join(format!("{c:06}.csv"))).unwrap();
        }
        age_chunk_files(&split, t);
    }
    let out = my2pg_in(&cfg, &split, &["export"]);
    out.assert_ok();
    assert_eq!(
        workdir_hashes(&split),
        want,
        "resumed export byte-identical"
    );
    for t in ["ek", "sk", "bk", "ck"] {
        assert_eq!(
            kept_chunk_files(&split, t).len(),
            csv_files(&split, t).len() - 2
        );
    }

    let out = my2pg_in(
        &cfg,
        &env.dir.join("work_run"),
        &["run", "--split-tables-larger-than", "1"],
    );
    out.assert_ok();
    let s = |v: &str| Some(v.to_string());
    let rows = |sql: &str| env.pg_rows(sql);
    assert_eq!(
        rows("SELECT e::text, v::text FROM ek ORDER BY v"),
        vec![
            vec![s("zeta"), s("1")],
            vec![s("alpha"), s("2")],
            vec![s("mid"), s("3")],
            vec![s("beta"), s("4")]
        ]
    );
    assert_eq!(
        rows("SELECT s, v::text FROM sk ORDER BY v"),
        vec![
            vec![s("b"), s("1")],
            vec![s("a"), s("2")],
            vec![s("b,a"), s("3")],
            vec![s("c"), s("4")],
            vec![s(""), s("5")]
        ]
    );
    assert_eq!(
        rows("SELECT b::text, v::text FROM bk ORDER BY v"),
        vec![
            vec![s("000000000000"), s("1")],
            vec![s("000000000001"), s("2")],
            vec![s("111111111111"), s("3")],
            vec![s("100000000000"), s("4")],
            vec![s("000100000000"), s("5")]
        ]
    );
    assert_eq!(
        rows("SELECT e, n::text, v::text FROM ck ORDER BY v"),
        vec![
            vec![s("zeta"), s("2"), s("1")],
            vec![s("alpha"), s("1"), s("2")],
            vec![s("zeta"), s("1"), s("3")],
            vec![s("alpha"), s("2"), s("4")],
            vec![s("zeta"), s("3"), s("5")],
            vec![s("alpha"), s("3"), s("6")]
        ]
    );
}

/// MariaDB keeps a long UNIQUE key (text, blob, a long varchar) as a hash index, which
/// has no order: the server sorts each read by a prefix of the values only, while
/// `key > bound` compares whole values (the attacks: rows lost and duplicated at split
/// and resume bounds, exit 0; raising max_sort_length only moved the limit, and ran
/// keyless JSON tables out of sort memory). Such a key is not a read key: the table is
/// read in one go, in the order of all its columns, and never split.
#[test]
fn a_long_unique_key_kept_as_a_hash_is_not_a_read_key() {
    let env = TestEnv::new("split_hash_key");
    env.mysql_exec(
        "CREATE TABLE lu (id text NOT NULL, v int NULL, UNIQUE KEY (id)); \
         INSERT INTO lu SELECT CONCAT(REPEAT('p', 1100), LPAD(seq * 7919 % 2000, 5, '0')), seq \
         FROM seq_1_to_2000; \
         CREATE TABLE ev (a int NULL, payload json NULL); \
         INSERT INTO ev VALUES (1, '{\"x\": 1}'), (2, NULL)",
    );
    let using: Vec<Vec<Option<String>>> = env.mysql_rows(
        "SELECT index_type FROM information_schema.statistics \
         WHERE table_schema = DATABASE() AND table_name = 'lu'",
    );
    assert_eq!(using, vec![vec![Some("HASH".to_string())]], "a hash key");
    env.pg_exec(
        "CREATE TABLE lu (id text NOT NULL, v integer); CREATE TABLE ev (a integer, payload jsonb)",
    );
    let cfg = env.write_config("[run]\nchunk_rows = 100\n\n[workers]\nreaders = 2\n");
    let out = my2pg_in(&cfg, &env.workdir, &["plan", "--json"]);
    out.assert_ok();
    let warned: Vec<String> = out.json()["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "no_primary_key")
        .map(|w| w["table"].as_str().unwrap_or("?").to_string())
        .collect();
    assert_eq!(warned, ["ev", "lu"]);
    let plain = env.dir.join("work_plain");
    my2pg_in(
        &cfg,
        &plain,
        &["export", "--split-tables-larger-than", "off"],
    )
    .assert_ok();
    let want = workdir_hashes(&plain);
    let wd = env.workdir.clone();
    let out = my2pg_in(&cfg, &wd, &["export", "--split-tables-larger-than", "1"]);
    out.assert_ok();
    assert_eq!(ranges_logged(&out.stderr, "lu"), None, "never split");
    assert_eq!(workdir_hashes(&wd), want, "the same bytes");

    // An interrupted export of it starts over (chunks 6-20 lost).
    lose_chunks(&wd, "lu", 6..=20);
    age_chunk_files(&wd, "lu");
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    assert_eq!(workdir_hashes(&wd), want, "exported again, the same bytes");
    my2pg_in(&cfg, &wd, &["import"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT count(*)::text, count(DISTINCT id)::text, sum(v)::text FROM lu"),
        vec![vec![
            Some("2000".to_string()),
            Some("2000".to_string()),
            Some("2001000".to_string())
        ]]
    );
    assert_eq!(env.pg_count("ev"), 2);
}

/// A resume reads after the last chunk on disk, assuming the source did not change since
/// (the attacks and the Kallithea trial: rows deleted from the exported range stayed in
/// the target, exit 0). A table read in pieces is counted in the snapshot at the end.
#[test]
fn a_resumed_table_whose_source_lost_rows_is_refused() {
    let (env, cfg, wd) = exported_events("split_recount");
    lose_chunks(&wd, "events", 5..=8);
    // Two rows of chunk 1, already on disk, are deleted before the resume.
    env.mysql_exec("DELETE FROM events WHERE tenant = 1 AND seq IN (3, 4)");
    let refusal = "error: refused: table `events`: 400 rows were exported in key order, but \
                   the source holds 398 in this run's snapshot: the source changed since the \
                   earlier export of its first chunks (a resume assumes it did not); export it \
                   again from scratch: `run --fresh` (with `export` alone, remove the table's \
                   directory)";
    let again = "error: refused: table `events`: an earlier run refused its files (400 rows \
                 were exported in key order, but the source holds 398 in this run's snapshot: \
                 the source changed since the earlier export of its first chunks (a resume \
                 assumes it did not)), and they stay refused: export it again from scratch: \
                 `run --fresh` (with `export` alone, remove the table's directory)";
    for (round, want) in [(1, refusal), (2, again)] {
        let out = my2pg_in(&cfg, &wd, &["export"]);
        out.assert_exit(2);
        out.assert_stderr_contains(want);
        assert_eq!(
            read_manifest(&wd, "events").unwrap()["complete"],
            serde_json::Value::Bool(false),
            "round {round}: never marked complete"
        );
    }
    // The advice works: a fresh run exports and loads the source as it is now.
    my2pg_in(&cfg, &wd, &["run", "--fresh", "--yes"]).assert_ok();
    let (src_events, _) = source_rows(&env);
    let (pg_events, _) = target_rows(&env);
    assert_eq!(pg_events.len(), 398);
    assert_eq!(pg_events, src_events);
}

/// A run stopped after a table's last chunk, before counting the table in its snapshot,
/// leaves a short last chunk that once ended the table. The next run reads on after it
/// (nothing) and counts; a refusal is recorded in the manifest and stays until the table
/// is exported from scratch (Neutron trial: the run after the refusal found nothing left
/// to read, marked the table complete, and exited 0 without the changed row; `status`
/// advised that plain run).
#[test]
fn a_table_left_uncounted_is_counted_and_a_refused_one_stays_refused() {
    let (env, cfg, wd) = exported_events("split_refused_sticky");
    // docs: 5 rows in one short chunk, written; the run stopped before counting them.
    let path = wd.join("docs").join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["complete"] = serde_json::Value::Bool(false);
    write_edited_manifest(&path, &mut m);
    assert_eq!(chunk_rows_in_manifest(&wd, "docs"), [(1, 5)]);
    env.mysql_exec("DELETE FROM docs ORDER BY id LIMIT 1");
    let first = "error: refused: table `docs`: 5 rows were exported in key order, but the source \
                 holds 4 in this run's snapshot: the source changed since the earlier export of \
                 its first chunks (a resume assumes it did not); export it again from scratch: \
                 `run --fresh` (with `export` alone, remove the table's directory)";
    let out = my2pg_in(&cfg, &wd, &["export"]);
    out.assert_exit(2);
    out.assert_stderr_contains(first);
    let why = "5 rows were exported in key order, but the source holds 4 in this run's \
               snapshot: the source changed since the earlier export of its first chunks (a \
               resume assumes it did not)";
    let manifest = read_manifest(&wd, "docs").unwrap();
    assert_eq!(manifest["refused"], serde_json::json!(why));
    assert_eq!(manifest["complete"], serde_json::Value::Bool(false));
    let again = format!(
        "error: refused: table `docs`: an earlier run refused its files ({why}), and they stay \
         refused: export it again from scratch: `run --fresh` (with `export` alone, remove the \
         table's directory)"
    );
    for cmd in ["export", "run", "import", "export"] {
        let out = my2pg_in(&cfg, &wd, &[cmd]);
        out.assert_exit(2);
        out.assert_stderr_contains(&again);
        assert_eq!(
            read_manifest(&wd, "docs").unwrap()["complete"],
            serde_json::Value::Bool(false),
            "{cmd}: never marked complete"
        );
    }
    // With another table's export unfinished too, `import` names the refusal first,
    // not "export it again", which would be refused (the h16 attack).
    lose_chunks(&wd, "events", 8..=8);
    let out = my2pg_in(&cfg, &wd, &["import"]);
    out.assert_exit(2);
    out.assert_stderr_contains(&again);
    // `run` and `import` refused before the target was touched.
    assert_eq!(env.pg_count("events"), 0);
    assert_eq!(
        env.pg_value("SELECT to_regclass('my2pg.last_run') IS NULL")
            .as_deref(),
        Some("t")
    );
    let status = my2pg_in(&cfg, &wd, &["status", "--json"]);
    status.assert_ok();
    let tables = status.json()["tables"].as_array().unwrap().clone();
    let refused: Vec<(String, String)> = tables
        .iter()
        .filter(|t| !t["refused"].is_null())
        .map(|t| {
            (
                t["table"].as_str().unwrap().to_string(),
                t["refused"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(refused, [("docs".to_string(), why.to_string())]);
    my2pg_in(&cfg, &wd, &["status"]).assert_stderr_contains(&format!(
        "Refused by an earlier run; their files stay refused until exported again from scratch \
         (`run --fresh`; with `export` alone, remove the table's directory):\n  docs: {why}\n"
    ));
    // The advice works: a fresh run loads the source as it is now.
    my2pg_in(&cfg, &wd, &["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(env.pg_count("docs"), 4);
    assert_eq!(env.pg_count("events"), 400);
    let (src_events, src_docs) = source_rows(&env);
    assert_eq!(target_rows(&env), (src_events, src_docs));
}

/// A resume reads on after the kept chunks in the key's order: a collation changed in
/// between reorders the rows across the chunks' bounds (the attack: 13 rows lost). The
/// manifest records the key's collation, and a resume under another one is refused
/// before anything is read.
#[test]
fn a_resume_under_another_key_collation_is_refused() {
    let env = TestEnv::new("split_collation");
    // In utf8mb4_bin every 'B' sorts before every 'a'; in utf8mb4_general_ci they mix.
    env.mysql_exec(
        "CREATE TABLE words (w varchar(20) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, \
         n int NOT NULL); \
         INSERT INTO words SELECT CONCAT(IF(seq % 2 = 0, 'B', 'a'), LPAD(seq, 4, '0')), seq \
         FROM seq_1_to_200",
    );
    env.pg_exec("CREATE TABLE words (w varchar(20) PRIMARY KEY, n integer NOT NULL)");
    let cfg = env.write_config("[run]\nchunk_rows = 50\n\n[workers]\nreaders = 1\n");
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    let recorded = |wd: &Path| read_manifest(wd, "words").unwrap()["key_collations"].clone();
    assert_eq!(recorded(&wd), serde_json::json!([["w", "utf8mb4_bin"]]));
    lose_chunks(&wd, "words", 2..=4);
    let interrupted = std::fs::read(wd.join("words").join("manifest.json")).unwrap();
    env.mysql_exec("ALTER TABLE words MODIFY w varchar(20) COLLATE utf8mb4_general_ci NOT NULL");
    let refusal = "error: refused: table `words`: the collation of its key changed since the \
                   earlier export of its first chunks (`w` from utf8mb4_bin to \
                   utf8mb4_general_ci): the rest would be read in another order, losing or \
                   repeating rows; export it again from scratch: `run --fresh` (with `export` \
                   alone, remove the table's directory)";
    for cmd in ["export", "run"] {
        let out = my2pg_in(&cfg, &wd, &[cmd]);
        out.assert_exit(2);
        out.assert_stderr_contains(refusal);
        assert_eq!(
            std::fs::read(wd.join("words").join("manifest.json")).unwrap(),
            interrupted,
            "{cmd}: the manifest is left as it was"
        );
    }
    assert_eq!(env.pg_count("words"), 0);
    assert_eq!(
        env.pg_value("SELECT to_regnamespace('my2pg') IS NULL")
            .as_deref(),
        Some("t"),
        "run refused before touching the target"
    );
    // The advice works: a fresh run reads the table in its new order, all 200 rows.
    my2pg_in(&cfg, &wd, &["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(
        recorded(&wd),
        serde_json::json!([["w", "utf8mb4_general_ci"]])
    );
    let query = "SELECT w, n FROM words ORDER BY n";
    let want = env.mysql_rows(query);
    assert_eq!(want.len(), 200);
    assert_eq!(
        env.pg_rows("SELECT w::text, n::text FROM words ORDER BY words.n"),
        want
    );
}

/// A set key whose set defines '' as a member: MySQL's text of a value can leave that
/// member out, so the bound sent back for it is another value (the attack: rows
/// duplicated and lost, exit 0). Such a key does not bound reads: the table is read in
/// one go, and every member loads.
#[test]
fn a_set_key_with_an_empty_member_is_not_a_read_key() {
    let env = TestEnv::new("split_set_key");
    env.mysql_exec(
        "CREATE TABLE sk (k set('a','','b') NOT NULL PRIMARY KEY, n int NULL); \
         INSERT INTO sk SELECT seq - 1, seq FROM seq_1_to_8",
    );
    env.pg_exec("CREATE TABLE sk (k text[] NOT NULL, n integer)");
    let cfg = env.write_config(
        "[run]\nchunk_rows = 3\nsplit_tables_larger_than = 1\n\n[workers]\nreaders = 3\n",
    );
    let out = my2pg_in(&cfg, &env.workdir, &["run", "--json"]);
    out.assert_ok();
    assert_eq!(ranges_logged(&out.stderr, "sk"), None, "never split");
    let got = env.pg_rows("SELECT n::text, k::text FROM sk ORDER BY sk.n");
    let want: Vec<Vec<Option<String>>> = [
        "{}",
        "{a}",
        "{\"\"}",
        "{a,\"\"}",
        "{b}",
        "{a,b}",
        "{\"\",b}",
        "{a,\"\",b}",
    ]
    .iter()
    .enumerate()
    .map(|(i, k)| vec![Some((i + 1).to_string()), Some(k.to_string())])
    .collect();
    assert_eq!(got, want);
    my2pg_in(&cfg, &env.workdir, &["verify", "--level", "full"]).assert_ok();
}

/// A table that ends on a batch boundary (here 20 rows in batches of 10, and a table of
/// one row too big for a batch's byte budget after a small one) keeps its last chunk's
/// last key, so a resume after that chunk goes on (the h20 trial: `last_key: null`, and
/// every later run failed with "no last key to continue after"); a manifest an earlier
/// version wrote that way reads the chunk again, with the same bytes.
#[test]
fn a_table_ending_on_a_batch_boundary_keeps_its_last_key() {
    let env = TestEnv::new("split_batch_end");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, v varchar(20) NOT NULL); \
         CREATE TABLE wide (k varchar(10) NOT NULL PRIMARY KEY, b longblob NOT NULL)",
    );
    let rows: Vec<String> = (1..=20).map(|i| format!("({i}, 'v{i}')")).collect();
    env.mysql_exec(&format!("INSERT INTO t VALUES {}", rows.join(",")));
    // The second row passes the 4 MiB batch budget: the batch ends with it.
    env.mysql_exec("INSERT INTO wide VALUES ('a', x'00'), ('b', REPEAT('x', 5 * 1024 * 1024))");
    env.pg_exec(
        "CREATE TABLE t (id integer PRIMARY KEY, v varchar(20) NOT NULL); \
         CREATE TABLE wide (k varchar(10) PRIMARY KEY, b bytea NOT NULL)",
    );
    let cfg = env.write_config("[run]\nchunk_rows = 50\nbatch_rows = 10\n");
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    let last_key =
        |table: &str| read_manifest(&wd, table).unwrap()["chunks"][0]["last_key"].clone();
    assert_eq!(last_key("t"), serde_json::json!([{ "int": 20 }]));
    assert_eq!(
        last_key("wide"),
        serde_json::json!([{ "hex": hex_of("b") }])
    );
    let before = workdir_hashes(&wd);
    // Stopped after the last chunk was written, before the table was counted: the next
    // run reads on after it.
    for table in ["t", "wide"] {
        let path = wd.join(table).join("manifest.json");
        let mut m = read_manifest(&wd, table).unwrap();
        m["complete"] = serde_json::Value::Bool(false);
        write_edited_manifest(&path, &mut m);
    }
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    assert_eq!(env.pg_count("t"), 20);
    assert_eq!(
        env.pg_rows("SELECT k, length(b)::text FROM wide ORDER BY k"),
        vec![
            vec![Some("a".to_string()), Some("1".to_string())],
            vec![Some("b".to_string()), Some((5 * 1024 * 1024).to_string())],
        ]
    );
    // An earlier version's manifest: the last key lost, the table not yet counted.
    let path = wd.join("t").join("manifest.json");
    let mut m = read_manifest(&wd, "t").unwrap();
    m["complete"] = serde_json::Value::Bool(false);
    m["chunks"][0]["last_key"] = serde_json::Value::Null;
    write_edited_manifest(&path, &mut m);
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    assert_eq!(last_key("t"), serde_json::json!([{ "int": 20 }]));
    assert_eq!(
        read_manifest(&wd, "t").unwrap()["complete"],
        serde_json::json!(true)
    );
    assert_eq!(workdir_hashes(&wd), before);
    // Loaded already, the same bytes: nothing to load again.
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    assert_eq!(env.pg_count("t"), 20);
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}
