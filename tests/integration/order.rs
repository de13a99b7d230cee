//! Foreign-key load order, chunking, file modes and manifest checksums.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::common::{row, sha256_hex, table_stats, waves, TestEnv, TestOutput};

/// Names chosen so that alphabetical order is the wrong load order.
const SOURCE_DDL: &str = "
CREATE TABLE zeta_root (id int NOT NULL PRIMARY KEY, name varchar(50) NOT NULL);
CREATE TABLE mid_parent (id int NOT NULL PRIMARY KEY, zeta_root_id int NOT NULL, label varchar(50) NULL,
  CONSTRAINT fk_mid_root FOREIGN KEY (zeta_root_id) REFERENCES zeta_root (id));
CREATE TABLE a_child (id int NOT NULL PRIMARY KEY, mid_parent_id int NOT NULL, note text NULL,
  CONSTRAINT fk_child_mid FOREIGN KEY (mid_parent_id) REFERENCES mid_parent (id));
INSERT INTO zeta_root VALUES (1,'r1'),(2,'r2'),(3,'r3'),(4,'r4'),(5,'r5');
INSERT INTO mid_parent VALUES (10,5,'m10'),(11,4,NULL),(12,3,'m12'),(13,1,'m13'),(14,1,'');
INSERT INTO a_child VALUES (100,14,'c100'),(101,13,'c,101'),(102,10,NULL),(103,10,'c\"103'),(104,12,'c\\n104');
";

const TARGET_DDL: &str = "
CREATE TABLE zeta_root (id integer PRIMARY KEY, name varchar(50) NOT NULL);
CREATE TABLE mid_parent (id integer PRIMARY KEY, zeta_root_id integer NOT NULL REFERENCES zeta_root (id), label varchar(50));
CREATE TABLE a_child (id integer PRIMARY KEY, mid_parent_id integer NOT NULL REFERENCES mid_parent (id), note text);
";

fn expected_waves() -> Vec<Vec<String>> {
    vec![
        vec!["zeta_root".to_string()],
        vec!["mid_parent".to_string()],
        vec!["a_child".to_string()],
    ]
}

/// One chunk entry of a manifest: (file name, rows, bytes, sha256).
type ChunkEntry = (String, u64, u64, String);

/// Finds the chunk entries in a manifest: objects carrying `sha256` plus a
/// file name (`file`, `path` or `name`), `rows` and `bytes`.
fn manifest_chunks(manifest: &serde_json::Value) -> Vec<ChunkEntry> {
    fn walk(v: &serde_json::Value, out: &mut Vec<ChunkEntry>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(sha) = m.get("sha256").and_then(|s| s.as_str()) {
                    let file = ["file", "path", "name"]
                        .iter()
                        .find_map(|k| m.get(*k).and_then(|f| f.as_str()))
                        .map(|f| {
                            Path::new(f)
                                .file_name()
                                .unwrap()
                                .to_string_lossy()
                                .into_owned()
                        });
                    if let (Some(file), Some(rows), Some(bytes)) = (
                        file,
                        m.get("rows").and_then(|r| r.as_u64()),
                        m.get("bytes").and_then(|b| b.as_u64()),
                    ) {
                        out.push((file, rows, bytes, sha.to_lowercase()));
                        return;
                    }
                }
                for v in m.values() {
                    walk(v, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(manifest, &mut out);
    out.sort();
    out
}

/// Checks `<workdir>/<table>/`: chunk files 000001.csv..00000N.csv (mode 0600,
/// directory 0700), CSV record counts, and manifest rows/bytes/sha256.
fn check_table_dir(out: &TestOutput, workdir: &Path, table: &str, expected_rows: &[u64]) {
    let dir = workdir.join(table);
    let dir_mode = std::fs::metadata(&dir)
        .unwrap_or_else(|e| out.fail(&format!("{}: {e}", dir.display())))
        .permissions()
        .mode()
        & 0o777;
    out.check(
        dir_mode == 0o700,
        &format!("{} has mode {dir_mode:o}, expected 700", dir.display()),
    );
    let mut csvs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    csvs.sort();
    let expected_files: Vec<String> = (1..=expected_rows.len())
        .map(|i| format!("{i:06}.csv"))
        .collect();
    out.check(
        csvs == expected_files,
        &format!("{table}: chunk files {csvs:?}, expected {expected_files:?}"),
    );

    let manifest_path = dir.join("manifest.json");
    let manifest_text = std::fs::read_to_string(&manifest_path)
        .unwrap_or_else(|e| out.fail(&format!("{}: {e}", manifest_path.display())));
    let manifest: serde_json::Value = serde_json::from_str(&manifest_text)
        .unwrap_or_else(|e| out.fail(&format!("{} is not JSON: {e}", manifest_path.display())));
    let mode = std::fs::metadata(&manifest_path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    out.check(
        mode == 0o600,
        &format!(
            "{} has mode {mode:o}, expected 600",
            manifest_path.display()
        ),
    );
    let entries = manifest_chunks(&manifest);
    out.check(
        entries.len() == expected_files.len(),
        &format!("{table}: manifest chunk entries {entries:?} do not match files {expected_files:?}:\n{manifest_text}"),
    );
    for ((file, rows, bytes, sha), (expected_file, expected_rows)) in
        entries.iter().zip(expected_files.iter().zip(expected_rows))
    {
        let path = dir.join(file);
        out.check(
            file == expected_file,
            &format!("manifest names {file}, expected {expected_file}"),
        );
        let data = std::fs::read(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        out.check(
            mode == 0o600,
            &format!("{} has mode {mode:o}, expected 600", path.display()),
        );
        out.check(
            *bytes == data.len() as u64,
            &format!(
                "{}: manifest bytes {bytes}, file has {}",
                path.display(),
                data.len()
            ),
        );
        out.check(
            *sha == sha256_hex(&data),
            &format!(
                "{}: manifest sha256 {sha}, file has {}",
                path.display(),
                sha256_hex(&data)
            ),
        );
        let records = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(false)
            .from_reader(&data[..])
            .records()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| out.fail(&format!("{} is not valid CSV: {e}", path.display())));
        out.check(
            *rows == *expected_rows && records.len() as u64 == *rows,
            &format!(
                "{}: manifest rows {rows}, CSV records {}, expected {expected_rows}",
                path.display(),
                records.len()
            ),
        );
    }
}

#[test]
fn fk_chain_loads_parent_first_in_several_chunks() {
    let env = TestEnv::new("fk_chain");
    env.mysql_exec(SOURCE_DDL);
    env.pg_exec(TARGET_DDL);
    env.write_config("[run]\nchunk_rows = 2\nconstraints = \"keep\"");

    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let report = plan.json();
    assert_eq!(report["command"], "plan");
    assert_eq!(report["ok"], true);
    assert_eq!(waves(&report), expected_waves(), "plan waves");
    let table_waves: std::collections::BTreeMap<String, u64> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap().to_string(),
                t["wave"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        table_waves,
        [
            ("a_child".to_string(), 2),
            ("mid_parent".to_string(), 1),
            ("zeta_root".to_string(), 0)
        ]
        .into(),
        "plan table waves"
    );
    assert_eq!(report["problems"], serde_json::json!([]));
    // plan loads nothing.
    assert_eq!(env.pg_count("zeta_root"), 0);

    let run = env.my2pg(&["run", "--json"]);
    run.assert_ok();
    let report = run.json();
    assert_eq!(report["command"], "run");
    assert_eq!(report["ok"], true);
    assert_eq!(waves(&report), expected_waves(), "run waves");
    assert_eq!(
        table_stats(&report),
        [
            ("a_child".to_string(), (5, 3)),
            ("mid_parent".to_string(), (5, 3)),
            ("zeta_root".to_string(), (5, 3))
        ]
        .into(),
        "run tables (rows, chunks)"
    );
    assert_eq!(report["totals"]["tables"], 3);
    assert_eq!(report["totals"]["rows"], 15);
    assert!(report["run_id"].is_string(), "run_id: {report:#}");

    assert_eq!(
        env.pg_rows("SELECT id::text AS id_text, name FROM zeta_root ORDER BY id"),
        (1..=5)
            .map(|i| row(&[Some(&i.to_string()), Some(&format!("r{i}"))]))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        env.pg_rows(
            "SELECT id::text AS id_text, zeta_root_id::text, label FROM mid_parent ORDER BY id"
        ),
        vec![
            row(&[Some("10"), Some("5"), Some("m10")]),
            row(&[Some("11"), Some("4"), None]),
            row(&[Some("12"), Some("3"), Some("m12")]),
            row(&[Some("13"), Some("1"), Some("m13")]),
            row(&[Some("14"), Some("1"), Some("")]),
        ]
    );
    assert_eq!(
        env.pg_rows(
            "SELECT id::text AS id_text, mid_parent_id::text, note FROM a_child ORDER BY id"
        ),
        vec![
            row(&[Some("100"), Some("14"), Some("c100")]),
            row(&[Some("101"), Some("13"), Some("c,101")]),
            row(&[Some("102"), Some("10"), None]),
            row(&[Some("103"), Some("10"), Some("c\"103")]),
            row(&[Some("104"), Some("12"), Some("c\n104")]),
        ]
    );

    let workdir_mode = std::fs::metadata(&env.workdir)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    run.check(
        workdir_mode == 0o700,
        &format!("workdir has mode {workdir_mode:o}, expected 700"),
    );
    for table in ["zeta_root", "mid_parent", "a_child"] {
        check_table_dir(&run, &env.workdir, table, &[2, 2, 1]);
    }
}

/// A table keyed by DOUBLE: each chunk's last key is written into the manifest and read
/// back as the next chunk's lower bound and into the manifest's own checksum. A float
/// read back one bit off (serde_json's default fast parser) would re-read or skip a row
/// at the bound and fail the checksum; every value must make the round trip exactly.
#[test]
fn double_keys_round_trip_through_the_manifest_exactly() {
    let env = TestEnv::new("double_keys");
    env.mysql_exec("CREATE TABLE m (x double NOT NULL PRIMARY KEY, n int NOT NULL)");
    // Values whose shortest decimal form the fast parser misreads, plus extremes.
    let mut values: Vec<String> = (0..400)
        .map(|i| {
            format!(
                "{:e}",
                (i as f64 + 0.0342718892493) * 2.390085679723123 + 956.0
            )
        })
        .collect();
    values.extend(
        [
            "956.0342718892493",
            "1e-300",
            "-1.7976931348623157e308",
            "5e-324",
            "0.1",
            "0.30000000000000004",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let rows: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("({v}, {i})"))
        .collect();
    env.mysql_exec(&format!("INSERT INTO m VALUES {}", rows.join(",")));
    env.pg_exec("CREATE TABLE m (x double precision PRIMARY KEY, n integer NOT NULL)");
    env.write_config("[run]\nchunk_rows = 7\n[workers]\nreaders = 1\n");
    env.my2pg(&["export"]).assert_ok();
    // Interrupted after 3 chunks, as a crash would leave it: the resume reads on from
    // the third chunk's last key.
    let path = env.workdir.join("m").join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    m["chunks"].as_array_mut().unwrap().truncate(3);
    m["complete"] = serde_json::json!(false);
    crate::common::write_edited_manifest(&path, &mut m);
    env.my2pg(&["export"]).assert_ok();
    env.my2pg(&["import"]).assert_ok();
    env.my2pg(&["status"]).assert_ok();
    assert_eq!(env.pg_count("m"), values.len() as i64);
    env.my2pg(&["verify", "--level", "full"])
        .assert_ok()
        .assert_stderr_contains("verify (full): equal");
}
