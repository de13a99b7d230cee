//! Memory stays bounded by batch bytes and queue depths, not by row width or table size.

use crate::common::TestEnv;

/// 48 rows of 3 MiB blobs (144 MiB of source, 288 MiB of hex CSV) with the default
/// batch of 1,000 rows: cut by rows only, the whole table was one batch in memory (as
/// values and again as CSV): 1,071 MiB peak for 64 such rows (release build), 201 MiB
/// with batches cut at 4 MiB.
#[test]
fn wide_rows_do_not_multiply_memory() {
    let env = TestEnv::new("mem_wide");
    env.mysql_exec(
        "CREATE TABLE docs (id int NOT NULL PRIMARY KEY, body longblob NOT NULL); \
         INSERT INTO docs SELECT seq, REPEAT(CHAR(65 + seq % 26, 0, 255, 34), 786432) \
         FROM seq_1_to_48",
    );
    env.pg_exec("CREATE TABLE docs (id integer PRIMARY KEY, body bytea NOT NULL)");
    let out = env.my2pg(&["run", "--json"]);
    out.assert_ok();
    let rss_mib = out.peak_rss_kb / 1024;
    out.check(
        rss_mib < 400,
        &format!("peak RSS {rss_mib} MiB for 144 MiB of 3 MiB rows (bound: 400 MiB)"),
    );
    assert_eq!(env.pg_count("docs"), 48);
    let my = env.mysql_rows(
        "SELECT SUM(LENGTH(body)), MD5(GROUP_CONCAT(MD5(body) ORDER BY id SEPARATOR '')) FROM docs",
    );
    let pg = env.pg_rows(
        "SELECT sum(length(body))::text, md5(string_agg(md5(body), '' ORDER BY id)) FROM docs",
    );
    assert_eq!(my[0][0].as_deref(), Some("150994944"));
    assert_eq!(pg, my, "sizes and per-row digests");
}
