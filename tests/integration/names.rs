//! Hostile identifiers: quotes, backticks, semicolons, spaces, unicode, path pieces and
//! mixed case in table and column names go through every command quoted, and table
//! directories never escape the work directory.

use crate::common::{row, TestEnv};

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn hostile_table_and_column_names_move_exactly() {
    let env = TestEnv::new("names");
    env.mysql_exec(
        "CREATE TABLE `Ordér \"Items\"; --` (`Id` int NOT NULL PRIMARY KEY, `Sélect \"x\"` varchar(20) NULL, \
           `back``tick` int NULL, `../etc/passwd` text NULL); \
         CREATE TABLE `../child tbl` (`id` int NOT NULL PRIMARY KEY, `Parent Id` int NOT NULL, \
           CONSTRAINT `fk ;` FOREIGN KEY (`Parent Id`) REFERENCES `Ordér \"Items\"; --` (`Id`)); \
         INSERT INTO `Ordér \"Items\"; --` VALUES (1, 'a\"b', 7, 'x'), (2, NULL, NULL, ''); \
         INSERT INTO `../child tbl` VALUES (10, 2), (11, 1); \
         CREATE TABLE `legacy\nnot copied: forged` (id int)",
    );
    env.pg_exec(
        "CREATE TABLE \"Ordér \"\"Items\"\"; --\" (\"Id\" integer PRIMARY KEY, \"Sélect \"\"x\"\"\" varchar(20), \
           \"back`tick\" integer, \"../etc/passwd\" text); \
         CREATE TABLE \"../child tbl\" (id integer PRIMARY KEY, \"Parent Id\" integer NOT NULL \
           CONSTRAINT \"fk ;\" REFERENCES \"Ordér \"\"Items\"\"; --\" (\"Id\")); \
         CREATE INDEX \"idx \"\"q\"\"\" ON \"../child tbl\" (\"Parent Id\")",
    );
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    assert_eq!(
        crate::common::waves(&plan.json()),
        vec![vec![
            "../child tbl".to_string(),
            "Ordér \"Items\"; --".to_string()
        ]]
    );
    // A name cannot split a report's lines (the Kallithea trial: a newline printed raw).
    let shown = "legacy\\nnot copied: forged (~";
    let out = env.my2pg(&["plan"]);
    out.assert_ok()
        .assert_stderr_contains(&format!("  {shown}"));
    out.check(
        !out.stderr
            .lines()
            .any(|l| l.starts_with("not copied: forged")),
        "no line begins inside a name",
    );
    env.my2pg(&["check"]).assert_ok();
    let out = env.my2pg(&["run", "--json"]);
    out.assert_ok()
        .assert_stderr_contains(&format!("  not copied: {shown}"));
    assert_eq!(
        env.pg_rows(
            "SELECT \"Id\"::text, \"Sélect \"\"x\"\"\", \"back`tick\"::text, \"../etc/passwd\" \
             FROM \"Ordér \"\"Items\"\"; --\" ORDER BY 1"
        ),
        vec![
            vec![s("1"), s("a\"b"), s("7"), s("x")],
            vec![s("2"), None, None, s("")]
        ]
    );
    assert_eq!(
        env.pg_rows("SELECT id::text, \"Parent Id\"::text FROM \"../child tbl\" ORDER BY 1"),
        vec![vec![s("10"), s("2")], vec![s("11"), s("1")]]
    );
    // The FK and the index came back under their hostile names, validated.
    assert_eq!(
        env.pg_rows(
            "SELECT conname::text, convalidated::text FROM pg_constraint WHERE contype = 'f' \
             UNION ALL SELECT relname::text, 'index' FROM pg_class WHERE relname = 'idx \"q\"'"
        ),
        vec![vec![s("fk ;"), s("true")], vec![s("idx \"q\""), s("index")]]
    );
    env.my2pg(&["verify"]).assert_ok();
    // Every table directory is a plain child of the work directory.
    let mut dirs: Vec<String> = std::fs::read_dir(&env.workdir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    for d in &dirs {
        assert!(!d.contains('/') && !d.starts_with('.'), "{d}");
    }
    assert!(dirs[0].starts_with("Ord_r__Items_____-"), "{dirs:?}");
    assert!(dirs[1].starts_with("___child_tbl-"), "{dirs:?}");
    assert!(!env.workdir.parent().unwrap().join("etc").exists());
}

fn plan_messages(report: &serde_json::Value, field: &str) -> Vec<(String, String)> {
    report[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Exact names bind first; a case-insensitive match (Unicode, not only ASCII) is used
/// only when it is the only one on both sides.
#[test]
fn exact_table_names_win_and_unicode_case_folds() {
    let env = TestEnv::new("names_exact");
    env.mysql_exec(
        "CREATE TABLE `Users` (`id` int PRIMARY KEY, `name` varchar(10)); \
         INSERT INTO `Users` VALUES (1,'upper'); \
         CREATE TABLE `users` (`id` int PRIMARY KEY, `name` varchar(10)); \
         INSERT INTO `users` VALUES (1,'lower'),(2,'lower2'); \
         CREATE TABLE `Клиенты` (`Имя` varchar(10) PRIMARY KEY); \
         INSERT INTO `Клиенты` VALUES ('Ёж')",
    );
    env.pg_exec(
        "CREATE TABLE users (id int PRIMARY KEY, name varchar(10)); \
         CREATE TABLE \"клиенты\" (\"имя\" varchar(10) PRIMARY KEY)",
    );
    env.write_config("");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let report = plan.json();
    let tables: Vec<(String, String)> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["source"].as_str().unwrap().to_string(),
                t["target"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        tables,
        vec![
            ("users".to_string(), "users".to_string()),
            ("Клиенты".to_string(), "клиенты".to_string())
        ]
    );
    let skipped: Vec<(&str, &str)> = report["skipped_tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["table"].as_str().unwrap(), t["reason"].as_str().unwrap()))
        .collect();
    assert_eq!(
        skipped,
        vec![(
            "Users",
            "target table \"users\" is matched exactly by another source table; \
             names that differ only in case are never guessed"
        )]
    );
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, name FROM users ORDER BY id"),
        vec![vec![s("1"), s("lower")], vec![s("2"), s("lower2")]]
    );
    assert_eq!(
        env.pg_rows("SELECT \"имя\" FROM \"клиенты\""),
        vec![vec![s("Ёж")]]
    );
}

/// Several tables or columns that match only case-insensitively block the plan, naming
/// every candidate; nothing is loaded.
#[test]
fn ambiguous_case_insensitive_names_block_with_every_candidate() {
    let env = TestEnv::new("names_ambiguous");
    env.mysql_exec(
        "CREATE TABLE `Users` (`Id` int PRIMARY KEY, `UserId` int); \
         INSERT INTO `Users` VALUES (1,10),(2,20); \
         CREATE TABLE `users` (`id` int PRIMARY KEY, `userid` int); \
         INSERT INTO `users` VALUES (1,1000); \
         CREATE TABLE `amb` (`id` int PRIMARY KEY, `UserId` int); \
         INSERT INTO `amb` VALUES (1,5)",
    );
    env.pg_exec(
        "CREATE TABLE \"USERS\" (\"ID\" int PRIMARY KEY, \"USERID\" int); \
         CREATE TABLE amb (id int PRIMARY KEY, userid int, \"USERID\" int)",
    );
    env.write_config("");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_exit(2);
    let report = plan.json();
    assert_eq!(
        crate::common::problems(&report),
        vec![
            ("ambiguous_name".to_string(), "Users".to_string(), None),
            (
                "ambiguous_name".to_string(),
                "amb".to_string(),
                Some("UserId".to_string())
            ),
        ]
    );
    assert_eq!(
        plan_messages(&report, "problems"),
        vec![
            (
                "ambiguous_name".to_string(),
                "ambiguous table names: source tables \"Users\", \"users\" and target table \
                 \"USERS\" match only case-insensitively; none is copied (rename one side, or \
                 exclude the extra source tables with run.exclude)"
                    .to_string()
            ),
            (
                "ambiguous_name".to_string(),
                "amb.UserId: ambiguous column names: source column \"UserId\" and target columns \
                 \"userid\", \"USERID\" of table \"amb\" match only case-insensitively; none is \
                 copied (rename one side)"
                    .to_string()
            ),
        ]
    );
    // USERS is part of the ambiguity, not a target-only table.
    assert_eq!(report["target_only_tables"], serde_json::json!([]));
    env.my2pg(&["run"]).assert_exit(2);
    assert_eq!(env.pg_count("\"USERS\""), 0);
    assert_eq!(env.pg_count("amb"), 0);

    // Excluding one of the two source tables leaves one candidate: it is copied.
    env.pg_exec("ALTER TABLE amb DROP COLUMN \"USERID\"");
    env.write_config("[run]\nexclude = [\"users\"]");
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT \"ID\"::text, \"USERID\"::text FROM \"USERS\" ORDER BY 1"),
        vec![vec![s("1"), s("10")], vec![s("2"), s("20")]]
    );
    assert_eq!(
        env.pg_rows("SELECT id::text, userid::text FROM amb"),
        vec![vec![s("1"), s("5")]]
    );
}

/// Postgres keeps 63 bytes of a name (cut at a character boundary): longer source names
/// match the truncated target name, with a note in the plan.
#[test]
fn names_longer_than_63_bytes_match_as_postgres_truncates_them() {
    let env = TestEnv::new("names_long");
    let t64 = "t".repeat(64);
    let a63 = "a".repeat(63);
    let b64 = "b".repeat(64);
    let ya40 = "я".repeat(40); // 80 bytes; Postgres keeps 31 characters (62 bytes)
    env.mysql_exec(&format!(
        "CREATE TABLE `{t64}` (`id` int PRIMARY KEY, `{a63}` int, `{b64}` int, `{ya40}` varchar(10)); \
         INSERT INTO `{t64}` VALUES (1,2,3,'x'),(2,NULL,4,'y')"
    ));
    // Postgres truncates the names as it creates them.
    env.pg_exec(&format!(
        "CREATE TABLE \"{t64}\" (id int PRIMARY KEY, \"{a63}\" int, \"{b64}\" int, \"{ya40}\" varchar(10))"
    ));
    let (t63, b63, ya31) = (&t64[..63], &b64[..63], "я".repeat(31));
    assert_eq!(
        env.pg_value(&format!(
            "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute \
             WHERE attrelid = '\"{t63}\"'::regclass AND attnum > 0"
        )),
        Some(format!("id,{a63},{b63},{ya31}"))
    );
    env.write_config("");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let report = plan.json();
    assert_eq!(report["skipped_tables"], serde_json::json!([]));
    assert_eq!(
        plan_messages(&report, "warnings"),
        vec![
            (
                "truncated_name".to_string(),
                format!(
                    "source table \"{t64}\" is longer than 63 bytes: copied into target table \
                     \"{t63}\", the name as Postgres truncates it"
                )
            ),
            (
                "truncated_name".to_string(),
                format!(
                    "{t64}.{b64}: source column is longer than 63 bytes: copied into target \
                     column \"{b63}\", the name as Postgres truncates it"
                )
            ),
            (
                "truncated_name".to_string(),
                format!(
                    "{t64}.{ya40}: source column is longer than 63 bytes: copied into target \
                     column \"{ya31}\", the name as Postgres truncates it"
                )
            ),
        ]
    );
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows(&format!(
            "SELECT id::text, \"{a63}\"::text, \"{b63}\"::text, \"{ya31}\" FROM \"{t63}\" ORDER BY id"
        )),
        vec![
            vec![s("1"), s("2"), s("3"), s("x")],
            vec![s("2"), None, s("4"), s("y")]
        ]
    );
    env.my2pg(&["verify", "--level", "full"]).assert_ok();
}

/// Tables whose names differ only in case on both sides load each into its own, and
/// their work directories differ in more than case (a case-insensitive filesystem would
/// otherwise merge them).
#[test]
fn tables_differing_only_in_case_get_distinct_work_directories() {
    let env = TestEnv::new("names_case_dirs");
    env.mysql_exec(
        "CREATE TABLE `Users` (`id` int PRIMARY KEY, `name` varchar(10)); \
         INSERT INTO `Users` VALUES (1,'upper'); \
         CREATE TABLE `users` (`id` int PRIMARY KEY, `name` varchar(10)); \
         INSERT INTO `users` VALUES (1,'lower'),(2,'lower2'); \
         CREATE TABLE `plain` (`id` int PRIMARY KEY); INSERT INTO `plain` VALUES (7)",
    );
    env.pg_exec(
        "CREATE TABLE \"Users\" (id int PRIMARY KEY, name varchar(10)); \
         CREATE TABLE users (id int PRIMARY KEY, name varchar(10)); \
         CREATE TABLE plain (id int PRIMARY KEY)",
    );
    env.write_config("");
    env.my2pg(&["run"]).assert_ok();
    let mut dirs: Vec<String> = std::fs::read_dir(&env.workdir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    assert_eq!(dirs.len(), 3, "{dirs:?}");
    assert!(dirs[0].starts_with("Users-"), "{dirs:?}");
    assert_eq!(dirs[1], "plain");
    assert!(dirs[2].starts_with("users-"), "{dirs:?}");
    assert_ne!(dirs[0].to_lowercase(), dirs[2].to_lowercase());
    assert_eq!(
        env.pg_rows("SELECT id::text, name FROM \"Users\" ORDER BY id"),
        vec![row(&[Some("1"), Some("upper")])]
    );
    assert_eq!(
        env.pg_rows("SELECT id::text, name FROM users ORDER BY id"),
        vec![
            row(&[Some("1"), Some("lower")]),
            row(&[Some("2"), Some("lower2")])
        ]
    );
    env.my2pg(&["verify", "--level", "full"])
        .assert_ok()
        .assert_stderr_contains("verify (full): equal");
}
