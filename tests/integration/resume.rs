//! The ledger: nothing is loaded twice; export + import equals run.

use crate::common::{my_bin, my_str, row, table_stats, TestEnv};

#[test]
fn import_after_run_loads_nothing_twice() {
    let env = TestEnv::new("reimport");
    env.mysql_exec("CREATE TABLE items (id int NOT NULL PRIMARY KEY, name varchar(20) NULL)");
    env.mysql_exec(&format!(
        "INSERT INTO items VALUES (1,'a'),(2,''),(3,NULL),(4,{}),(5,'e'),(6,'f'),(7,'g')",
        my_str("x\r\ny")
    ));
    // No primary key in the target: a duplicate load would not be caught by Postgres.
    env.pg_exec("CREATE TABLE items (id integer NOT NULL, name varchar(20))");
    env.write_config("[run]\nchunk_rows = 3");

    let run = env.my2pg(&["run", "--json"]);
    run.assert_ok();
    assert_eq!(
        table_stats(&run.json()),
        [("items".to_string(), (7, 3))].into()
    );
    let expected = vec![
        row(&[Some("1"), Some("a")]),
        row(&[Some("2"), Some("")]),
        row(&[Some("3"), None]),
        row(&[Some("4"), Some("x\r\ny")]),
        row(&[Some("5"), Some("e")]),
        row(&[Some("6"), Some("f")]),
        row(&[Some("7"), Some("g")]),
    ];
    assert_eq!(
        env.pg_rows("SELECT id::text AS id_text, name FROM items ORDER BY id"),
        expected
    );
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM my2pg.loaded_chunks")
            .as_deref(),
        Some("3")
    );

    for round in 1..=2 {
        let import = env.my2pg(&["import", "--json"]);
        import.assert_ok();
        let report = import.json();
        import.check(
            report["command"] == "import",
            "report.command must be \"import\"",
        );
        import.check(report["ok"] == true, "report.ok must be true");
        assert_eq!(
            env.pg_rows("SELECT id::text AS id_text, name FROM items ORDER BY id"),
            expected,
            "after import #{round}"
        );
        assert_eq!(env.pg_count("items"), 7, "after import #{round}");
        assert_eq!(
            env.pg_value("SELECT count(*)::text FROM my2pg.loaded_chunks")
                .as_deref(),
            Some("3"),
            "ledger after import #{round}"
        );
        // totals.rows counts the rows in the work directory; what was loaded now is
        // reported separately (loaded_rows / skipped_chunks).
        import.check(
            report["totals"]["loaded_rows"] == 0
                && report["tables"][0]["table"] == "items"
                && report["tables"][0]["loaded_rows"] == 0
                && report["tables"][0]["loaded_chunks"] == 0
                && report["tables"][0]["skipped_chunks"] == 3,
            &format!("import #{round} after run must report 0 loaded rows and 3 skipped chunks"),
        );
    }
    // Said in words too: the chunks are from an earlier run's export.
    env.my2pg(&["import"]).assert_ok().assert_stderr_contains(
        "nothing new was loaded: an earlier run loaded every chunk. Rows written to the source \
         after those chunks were exported are not in them: `my2pg verify --level full` \
         compares every row, `run --fresh` copies the source as it is now\n",
    );
    let export = env.my2pg(&["export"]);
    export.assert_ok();
    export.check(
        !export.stderr.contains("loaded") && export.stderr.contains("export done"),
        "an export reports no loading",
    );
}

const SOURCE: &str = "
CREATE TABLE owners (id char(36) NOT NULL PRIMARY KEY, name varchar(255) NOT NULL, active tinyint(1) NOT NULL,
  created_at datetime(6) NOT NULL, meta json NULL, avatar blob NULL, kind enum('a','b') NOT NULL,
  balance decimal(10,2) NULL, visits int unsigned NULL);
CREATE TABLE posts (id int NOT NULL PRIMARY KEY, owner_id char(36) NOT NULL, body longtext NULL,
  CONSTRAINT fk_posts_owner FOREIGN KEY (owner_id) REFERENCES owners (id));
";

fn target_ddl(schema: &str) -> String {
    format!(
        "CREATE SCHEMA IF NOT EXISTS {schema};
         CREATE TABLE {schema}.owners (id uuid PRIMARY KEY, name varchar(255) NOT NULL, active boolean NOT NULL,
           created_at timestamp(6) NOT NULL, meta jsonb, avatar bytea, kind text NOT NULL,
           balance numeric(10,2), visits bigint);
         CREATE TABLE {schema}.posts (id integer PRIMARY KEY, owner_id uuid NOT NULL REFERENCES {schema}.owners (id), body text);"
    )
}

#[test]
fn export_then_import_matches_run() {
    let env = TestEnv::new("split");
    env.mysql_exec(SOURCE);
    let all: Vec<u8> = (0..=255u8).collect();
    env.mysql_exec(&format!(
        "INSERT INTO owners VALUES \
         ('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', {}, 1, '2024-02-29 23:59:59.999999', {}, {}, 'a', '-12345678.90', 4294967295), \
         ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '', 0, '1000-01-01 00:00:00', NULL, X'', 'b', NULL, NULL), \
         ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', {}, 1, '1970-01-01 00:00:00.000001', 'null', NULL, 'a', '0.01', 0); \
         INSERT INTO posts VALUES \
         (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', {}), (2, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', ''), \
         (3, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', NULL), (4, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', {}), \
         (5, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', {})",
        my_str("Zoë \"Z\" 😀, \\."),
        my_str(r#"{"a":{"b":"é\n\"x\" \u00e9 😀"},"arr":[1,2.5,null,true]}"#),
        my_bin(&all),
        my_str("line1\r\nline2\n\\.\n"),
        my_str("# Post\n\n- a  \n- b\r\n"),
        my_str("\\.\n"),
        my_str("👩\u{200D}💻 \"q\", 'q'\ttab"),
    ));
    env.pg_exec(&target_ddl("via_run"));
    env.pg_exec(&target_ddl("public"));

    // One pass with `run` into schema via_run.
    let run_cfg = env.write_config_as(
        "run.toml",
        "via_run",
        &env.dir.join("work_run"),
        "[run]\nchunk_rows = 2",
    );
    let run = env.cmd(&run_cfg, &["run", "--json"]).run();
    run.assert_ok();
    let run_stats = table_stats(&run.json());

    // export, then import, into schema public; workdir from --workdir.
    let split_cfg = env.write_config("[run]\nchunk_rows = 2");
    let split_dir = env.dir.join("work_split");
    let split_dir_s = split_dir.display().to_string();
    let export = env
        .cmd(&split_cfg, &["export", "--json", "--workdir", &split_dir_s])
        .run();
    export.assert_ok();
    let export_report = export.json();
    export.check(
        export_report["command"] == "export",
        "report.command must be \"export\"",
    );
    assert_eq!(
        table_stats(&export_report),
        run_stats,
        "export vs run table stats"
    );
    assert_eq!(env.pg_count("public.owners"), 0, "export must not load");
    assert_eq!(env.pg_count("public.posts"), 0, "export must not load");
    export.check(
        split_dir.join("owners").join("000001.csv").exists(),
        "export wrote no chunk into --workdir",
    );
    export.check(
        split_dir.join("owners").join("manifest.json").exists(),
        "export wrote no manifest",
    );
    export.check(
        !env.workdir.exists(),
        "--workdir must replace the configured workdir",
    );

    let import = env
        .cmd(&split_cfg, &["import", "--json", "--workdir", &split_dir_s])
        .run();
    import.assert_ok();
    let import_report = import.json();
    import.check(
        import_report["command"] == "import",
        "report.command must be \"import\"",
    );
    assert_eq!(
        table_stats(&import_report),
        run_stats,
        "import vs run table stats"
    );

    let owners_sql = |schema: &str| {
        format!(
            "SET DateStyle = 'ISO, YMD'; SELECT id::text AS id_text, name, active::text, created_at::text, meta::text, \
             encode(avatar, 'hex'), kind, balance::text, visits::text FROM {schema}.owners ORDER BY id"
        )
    };
    let posts_sql = |schema: &str| {
        format!("SELECT id::text AS id_text, owner_id::text, encode(convert_to(body, 'UTF8'), 'hex') FROM {schema}.posts ORDER BY id")
    };
    let owners = env.pg_rows(&owners_sql("public"));
    assert_eq!(
        owners,
        env.pg_rows(&owners_sql("via_run")),
        "owners: export+import vs run"
    );
    assert_eq!(
        env.pg_rows(&posts_sql("public")),
        env.pg_rows(&posts_sql("via_run")),
        "posts: export+import vs run"
    );
    // And both are right.
    assert_eq!(
        owners,
        vec![
            row(&[
                Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                Some("Zoë \"Z\" 😀, \\."),
                Some("true"),
                Some("2024-02-29 23:59:59.999999"),
                Some(r#"{"a": {"b": "é\n\"x\" é 😀"}, "arr": [1, 2.5, null, true]}"#),
                Some(&crate::common::hex(&all)),
                Some("a"),
                Some("-12345678.90"),
                Some("4294967295")
            ]),
            row(&[
                Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"),
                Some(""),
                Some("false"),
                Some("1000-01-01 00:00:00"),
                None,
                Some(""),
                Some("b"),
                None,
                None
            ]),
            row(&[
                Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13"),
                Some("line1\r\nline2\n\\.\n"),
                Some("true"),
                Some("1970-01-01 00:00:00.000001"),
                Some("null"),
                None,
                Some("a"),
                Some("0.01"),
                Some("0")
            ]),
        ]
    );
    assert_eq!(env.pg_count("public.posts"), 5);
    assert_eq!(
        env.pg_value("SELECT body FROM public.posts WHERE id = 5")
            .as_deref(),
        Some("👩\u{200D}💻 \"q\", 'q'\ttab")
    );
}

/// A resumed run says that chunks an earlier run loaded were kept, and how to check that
/// the source did not change meanwhile.
#[test]
fn a_resumed_run_says_which_chunks_it_kept() {
    let env = TestEnv::new("resume_kept");
    env.mysql_exec(
        "CREATE TABLE items (id int NOT NULL PRIMARY KEY, name varchar(10) NOT NULL); \
         INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd'), (5, 'e'), (6, 'f')",
    );
    // Rows load in key order, one chunk at a time: the CHECK stops the third chunk.
    env.pg_exec(
        "CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL \
           CONSTRAINT not_e CHECK (name <> 'e'))",
    );
    env.write_config("[run]\nchunk_rows = 2\n\n[workers]\nreaders = 1\nloaders = 1\n");
    env.my2pg(&["run"])
        .assert_exit(1)
        .assert_stderr_contains("not_e");
    env.my2pg(&["status"]).assert_ok().assert_stderr_contains(
        "  items                            exported      3 chunks /          6 rows (complete)  \
         loaded      2 chunks /          4 rows\n",
    );
    assert_eq!(env.pg_count("items"), 4);
    env.pg_exec("ALTER TABLE items DROP CONSTRAINT not_e");
    env.my2pg(&["run"]).assert_ok().assert_stderr_contains(
        "resumed: 2 chunk(s) an earlier run loaded were kept and 1 chunk(s) an earlier export \
         wrote were loaded. Rows written to the source after those chunks were exported are \
         not in them: `my2pg verify --level full` compares every row\n",
    );
    assert_eq!(env.pg_count("items"), 6);

    // A run after an export says the same of the chunks it found; an import, whose files
    // always come from an earlier export, does not.
    for (command, says) in [("run", true), ("import", false)] {
        let env = TestEnv::new("resume_after_export");
        env.mysql_exec(
            "CREATE TABLE items (id int NOT NULL PRIMARY KEY, name varchar(10) NOT NULL); \
             INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c')",
        );
        env.pg_exec("CREATE TABLE items (id integer PRIMARY KEY, name text NOT NULL)");
        env.write_config("[run]\nchunk_rows = 2\n");
        env.my2pg(&["export"]).assert_ok();
        let out = env.my2pg(&[command]);
        out.assert_ok();
        out.check(
            out.stderr.contains(
                "resumed: 2 chunk(s) an earlier export wrote were loaded. Rows written to the \
                 source after those chunks were exported are not in them: `my2pg verify \
                 --level full` compares every row\n",
            ) == says,
            &format!("{command} after export: the resumed notice is {says}"),
        );
        assert_eq!(env.pg_count("items"), 3);
    }
}

/// An import before its export finished loads nothing and says what to do, as a config
/// refusal (exit 2, nothing changed; django-oscar trial: exit 1, a runtime failure).
#[test]
fn import_before_the_export_finished_is_refused() {
    let env = TestEnv::new("import_early");
    env.mysql_exec(
        "CREATE TABLE a (id int NOT NULL PRIMARY KEY); INSERT INTO a VALUES (1); \
         CREATE TABLE b (id int NOT NULL PRIMARY KEY); INSERT INTO b VALUES (2)",
    );
    env.pg_exec("CREATE TABLE a (id integer PRIMARY KEY); CREATE TABLE b (id integer PRIMARY KEY)");
    env.write_config("");
    env.my2pg(&["export"]).assert_ok();
    // As an export stopped before it reached b.
    std::fs::remove_dir_all(env.workdir.join("b")).expect("remove b's files");
    env.my2pg(&["import"])
        .assert_exit(2)
        .assert_stderr_contains(
            "error: refused: table b has not been exported: run `my2pg export` first",
        );
    assert_eq!(env.pg_count("a") + env.pg_count("b"), 0);
}

/// Files of a table the plan no longer copies (its target table was dropped after the
/// export) stop `import` and `run`: loading the rest exited 0 with that table's rows left
/// behind, and `verify --level full` said equal (the attack). Leaving the table out with
/// run.exclude is the operator's choice, and then the rest loads.
#[test]
fn files_of_a_table_the_plan_no_longer_copies_are_refused() {
    let env = TestEnv::new("orphan_files");
    env.mysql_exec(
        "CREATE TABLE big (id int NOT NULL PRIMARY KEY); INSERT INTO big VALUES (1), (2); \
         CREATE TABLE child (id int NOT NULL PRIMARY KEY); INSERT INTO child VALUES (7)",
    );
    env.pg_exec(
        "CREATE TABLE big (id integer PRIMARY KEY); CREATE TABLE child (id integer PRIMARY KEY)",
    );
    env.write_config("");
    env.my2pg(&["export"]).assert_ok();
    env.pg_exec("DROP TABLE child");
    let refusal = format!(
        "error: refused: the files in {} hold table `child` (1 rows exported, in child; no \
         table of that name in target schema \"public\"), which this plan does not copy: they \
         were exported when it did. Create the target table, remove the directory, or leave \
         the table out (run.exclude) to import without it; nothing was changed in the target",
        env.workdir.display()
    );
    // A copy of a copied table's directory (an operator's backup) is not such a table.
    let copy = env.workdir.join("big.bak");
    std::fs::create_dir(&copy).expect("backup directory");
    for f in ["manifest.json", "000001.csv"] {
        std::fs::copy(env.workdir.join("big").join(f), copy.join(f)).expect("copy a file");
    }
    env.my2pg(&["import"])
        .assert_exit(2)
        .assert_stderr_contains(&refusal);
    env.my2pg(&["run"])
        .assert_exit(2)
        .assert_stderr_contains(&format!(
            "{}, or `run --fresh` to export and load everything again; nothing was changed in the \
         target",
            refusal
                .replace("to import without it", "to run without it")
                .trim_end_matches("; nothing was changed in the target")
        ));
    assert_eq!(env.pg_count("big"), 0);
    // verify reads the files as they are: the missing table is named as one.
    env.my2pg(&["verify", "--level", "load"])
        .assert_exit(1)
        .assert_stderr_contains(
            "target table \"public\".\"child\" of the chunk files does not exist",
        );
    env.write_config("[run]\nexclude = [\"child\"]\n");
    env.my2pg(&["import"]).assert_ok();
    assert_eq!(env.pg_count("big"), 2);
    // `run --fresh` starts over without them, so the next run does not refuse them again
    // (the attack); the operator's copy stays.
    env.write_config("");
    env.my2pg(&["run", "--fresh", "--yes"])
        .assert_ok()
        .assert_stderr_contains(&format!(
            "--fresh: removing {}: the files of table `child`, which this plan no longer copies",
            env.workdir.join("child").display()
        ));
    assert!(
        !env.workdir.join("child").exists(),
        "child's files are gone"
    );
    assert!(copy.join("manifest.json").exists(), "the backup copy stays");
    env.my2pg(&["run"]).assert_ok();
    env.my2pg(&["verify", "--level", "load"]).assert_ok();
}
