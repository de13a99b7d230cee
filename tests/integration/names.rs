//! Hostile identifiers: quotes, backticks, semicolons, spaces, unicode, path pieces and
//! mixed case in table and column names go through every command quoted, and table
//! directories never escape the work directory.

use crate::common::TestEnv;

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
         INSERT INTO `../child tbl` VALUES (10, 2), (11, 1)",
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
    env.my2pg(&["check"]).assert_ok();
    env.my2pg(&["run", "--json"]).assert_ok();
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
