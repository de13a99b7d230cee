//! `constraints = "rebuild"` (the default): secondary indexes and FKs are dropped for the
//! load and rebuilt after it; the target catalog ends identical to before, also after a
//! failure mid-load, an orphan value, and a killed run that is resumed.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::{waves, TestEnv};

const SOURCE: &str = "
CREATE TABLE org (id int NOT NULL PRIMARY KEY, name varchar(40) NOT NULL, region varchar(10) NOT NULL);
CREATE TABLE team (org_id int NOT NULL, team_no int NOT NULL, label varchar(40) NULL,
  PRIMARY KEY (org_id, team_no));
CREATE TABLE member (id int NOT NULL PRIMARY KEY, org_id int NOT NULL, team_no int NULL,
  email varchar(80) NOT NULL, active tinyint(1) NOT NULL, score int NOT NULL);
";

const TARGET: &str = "
CREATE TABLE org (id integer PRIMARY KEY, name varchar(40) NOT NULL, region varchar(10) NOT NULL,
  CONSTRAINT org_name_uq UNIQUE (name)) WITH (autovacuum_enabled = true);
CREATE TABLE team (org_id integer NOT NULL REFERENCES org (id) ON DELETE CASCADE, team_no integer NOT NULL,
  label varchar(40), PRIMARY KEY (org_id, team_no));
CREATE TABLE member (id integer PRIMARY KEY, org_id integer NOT NULL, team_no integer,
  email text NOT NULL, active boolean NOT NULL, score integer NOT NULL CHECK (score >= 0),
  CONSTRAINT member_team_fk FOREIGN KEY (org_id, team_no) REFERENCES team (org_id, team_no)
    ON UPDATE CASCADE DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT member_org_fk FOREIGN KEY (org_id) REFERENCES org (id))
  WITH (toast.autovacuum_enabled = off, fillfactor = 90);
CREATE INDEX org_region_idx ON org (region DESC);
CREATE INDEX member_email_lower_idx ON member (lower(email));
CREATE INDEX member_active_idx ON member (org_id, score) WHERE active;
CREATE UNIQUE INDEX member_email_uq ON member (email);
CREATE INDEX team_label_idx ON team USING hash (label);
";

/// Every index and constraint of the public schema, exactly as Postgres prints them,
/// and each table's storage options and its TOAST table's (org and team have none) (autovacuum is switched off
/// during the load and must come back exactly).
fn catalog(env: &TestEnv) -> Vec<Vec<Option<String>>> {
    env.pg_rows(
        "SELECT 'index', c.relname::text, pg_get_indexdef(x.indexrelid), '', '' \
           FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
           JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' \
         UNION ALL \
         SELECT 'options', c.relname::text, coalesce(array_to_string(c.reloptions, ','), '-'), \
                coalesce(array_to_string(t.reloptions, ','), '-'), '' \
           FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid \
           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' \
         UNION ALL \
         SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid), \
                convalidated::text, COALESCE(NULLIF(conindid, 0)::regclass::text, '-') \
           FROM pg_constraint WHERE connamespace = 'public'::regnamespace \
         ORDER BY 1, 2",
    )
}

fn seed(env: &TestEnv, rows: usize) {
    env.mysql_exec(SOURCE);
    let mut sql =
        String::from("INSERT INTO org VALUES (1,'one','eu'),(2,'two','us'),(3,'three','eu');");
    sql.push_str("INSERT INTO team VALUES (1,1,'a'),(1,2,NULL),(2,1,'b'),(3,7,'c');");
    let mut vals = Vec::new();
    for i in 1..=rows {
        let (org, team) = match i % 4 {
            0 => (1, "1"),
            1 => (1, "2"),
            2 => (2, "NULL"),
            _ => (3, "7"),
        };
        vals.push(format!(
            "({i},{org},{team},'user{i}@example.org',{},{})",
            i % 2,
            i * 3
        ));
    }
    sql.push_str(&format!("INSERT INTO member VALUES {};", vals.join(",")));
    env.mysql_exec(&sql);
    env.pg_exec(TARGET);
}

fn member_digest(env: &TestEnv) -> Option<String> {
    env.pg_value(
        "SELECT count(*)::text || ':' || encode(sha256(convert_to(string_agg(m::text, '|' ORDER BY id), 'UTF8')), 'hex') FROM member m",
    )
}

fn source_digest(rows: usize) -> String {
    // The same rows as Postgres prints them: (id,org_id,team_no,email,active,score).
    let mut parts = Vec::new();
    for i in 1..=rows {
        let (org, team) = match i % 4 {
            0 => (1, "1"),
            1 => (1, "2"),
            2 => (2, ""),
            _ => (3, "7"),
        };
        let active = if i % 2 == 1 { "t" } else { "f" };
        parts.push(format!(
            "({i},{org},{team},user{i}@example.org,{active},{})",
            i * 3
        ));
    }
    let joined = parts.join("|");
    format!("{rows}:{}", crate::common::sha256_hex(joined.as_bytes()))
}

#[test]
fn rebuild_loads_everything_in_one_wave_and_leaves_the_catalog_identical() {
    let env = TestEnv::new("rb_ok");
    seed(&env, 200);
    let before = catalog(&env);
    env.write_config("[run]\nchunk_rows = 17\n");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    assert_eq!(
        waves(&plan.json()),
        vec![vec![
            "member".to_string(),
            "org".to_string(),
            "team".to_string()
        ]]
    );
    let out = env.my2pg(&["run", "--json"]);
    out.assert_ok();
    out.assert_stderr_contains("dropped for the load (constraints = rebuild) indexes=4 fks=3");
    assert_eq!(catalog(&env), before);
    // The options the test set (and only those) are back.
    let options: Vec<Vec<Option<String>>> = before
        .iter()
        .filter(|r| r[0].as_deref() == Some("options"))
        .cloned()
        .collect();
    let opt = |t: &str, own: &str, toast: &str| {
        vec![
            Some("options".to_string()),
            Some(t.to_string()),
            Some(own.to_string()),
            Some(toast.to_string()),
            Some(String::new()),
        ]
    };
    assert_eq!(
        options,
        vec![
            opt("member", "fillfactor=90", "autovacuum_enabled=off"),
            opt("org", "autovacuum_enabled=true", "-"),
            opt("team", "-", "-"),
        ]
    );
    // ANALYZE ran: the planner's row counts are exact.
    assert_eq!(
        env.pg_rows(
            "SELECT relname::text, reltuples::bigint::text FROM pg_class \
             WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1"
        ),
        vec![
            vec![Some("member".to_string()), Some("200".to_string())],
            vec![Some("org".to_string()), Some("3".to_string())],
            vec![Some("team".to_string()), Some("4".to_string())],
        ]
    );
    assert_eq!(member_digest(&env), Some(source_digest(200)));
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM my2pg.rebuild_objects"),
        Some("0".into())
    );
}

#[test]
fn rebuild_failure_mid_load_restores_every_definition_and_resume_finishes() {
    let env = TestEnv::new("rb_fail");
    seed(&env, 200);
    // A value that cannot convert in a later chunk of member: the run fails mid-load.
    env.mysql_exec("UPDATE member SET active = 2 WHERE id = 150");
    let before = catalog(&env);
    env.write_config("[run]\nchunk_rows = 17\n");
    let out = env.my2pg(&["run"]);
    out.assert_exit(1);
    out.assert_stderr_contains(
        "table `member`, column `active`, primary key (id)=(150): cannot convert 2",
    );
    // status leads with the rows, not with "run it again" (the h22 attack).
    let hint = env.my2pg(&["status", "--json"]).json()["last_run"]["hint"].clone();
    assert!(
        hint.as_str().is_some_and(|h| h.contains(
            "the last `my2pg run` stopped on rows the target refused or my2pg could not convert"
        )),
        "{hint}"
    );
    // Every index is back exactly; every FK is back (validated when the partial data
    // allows it; otherwise NOT VALID and recorded for the next run).
    let after = catalog(&env);
    let strip = |rows: &Vec<Vec<Option<String>>>| -> Vec<(Option<String>, Option<String>)> {
        rows.iter()
            .map(|r| {
                (
                    r[1].clone(),
                    r[2].as_ref()
                        .map(|d| d.trim_end_matches(" NOT VALID").to_string()),
                )
            })
            .collect()
    };
    assert_eq!(strip(&after), strip(&before));
    let not_valid: Vec<String> = after
        .iter()
        .filter(|r| r[3].as_deref() == Some("false"))
        .map(|r| r[1].clone().unwrap())
        .collect();
    let recorded: Vec<String> = env
        .pg_rows("SELECT table_name || '.' || object_name FROM my2pg.rebuild_objects ORDER BY 1")
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    assert_eq!(
        not_valid, recorded,
        "exactly the unvalidated FKs stay recorded"
    );
    // Fix the source, resume: the catalog ends identical, the data exact.
    env.mysql_exec("UPDATE member SET active = 0 WHERE id = 150");
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(catalog(&env), before);
    assert_eq!(member_digest(&env), Some(source_digest(200)));
}

#[test]
fn rebuild_orphan_fails_at_validate_naming_constraint_and_key() {
    let env = TestEnv::new("rb_orphan");
    seed(&env, 40);
    env.mysql_exec("UPDATE member SET org_id = 9, team_no = NULL WHERE id = 13");
    env.pg_exec("COMMENT ON CONSTRAINT member_org_fk ON member IS 'each member''s org'");
    let before = catalog(&env);
    let out = env.my2pg(&["run"]);
    out.assert_exit(1);
    out.assert_stderr_contains("validate constraint member_org_fk on \"public\".\"member\"");
    // Back NOT VALID, with its comment.
    assert_eq!(
        env.pg_value(
            "SELECT obj_description(oid, 'pg_constraint') FROM pg_constraint \
             WHERE conname = 'member_org_fk'"
        ),
        Some("each member's org".to_string())
    );
    out.assert_stderr_contains("Key (org_id)=(9) is not present in table \"org\"");
    let after = catalog(&env);
    let orphan_fk: Vec<&Vec<Option<String>>> = after
        .iter()
        .filter(|r| r[1].as_deref() == Some("member.member_org_fk"))
        .collect();
    assert_eq!(orphan_fk[0][3].as_deref(), Some("false"));
    // Everything else is exactly as before.
    let others = |rows: &Vec<Vec<Option<String>>>| -> Vec<Vec<Option<String>>> {
        rows.iter()
            .filter(|r| r[1].as_deref() != Some("member.member_org_fk"))
            .cloned()
            .collect()
    };
    assert_eq!(others(&after), others(&before));
}

/// An FK the target declares NOT VALID (its own rows need not satisfy it) checks every
/// new row, so the loaded rows are checked as `keep` would, and it stays NOT VALID (the
/// attack: it came back validated, the catalog no longer the target's own).
#[test]
fn a_not_valid_fk_is_checked_against_the_loaded_rows_and_stays_not_valid() {
    let env = TestEnv::new("rb_not_valid");
    seed(&env, 40);
    env.pg_exec(
        "ALTER TABLE member DROP CONSTRAINT member_org_fk; \
         ALTER TABLE member ADD CONSTRAINT member_org_fk FOREIGN KEY (org_id) REFERENCES org (id) \
           NOT VALID; \
         COMMENT ON CONSTRAINT member_org_fk ON member IS 'not valid on purpose'",
    );
    let before = catalog(&env);
    assert!(
        before
            .iter()
            .any(|r| r[1].as_deref() == Some("member.member_org_fk")
                && r[3].as_deref() == Some("false")),
        "{before:?}"
    );
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(catalog(&env), before);
    assert_eq!(member_digest(&env), Some(source_digest(40)));
    // A loaded row that breaks it fails the run, as it would under keep.
    env.mysql_exec("UPDATE member SET org_id = 9, team_no = NULL WHERE id = 13");
    let out = env.my2pg(&["run", "--fresh", "--yes"]);
    out.assert_exit(1)
        .assert_stderr_contains("validate constraint member_org_fk on \"public\".\"member\"");
    out.assert_stderr_contains("Key (org_id)=(9) is not present in table \"org\"");
    assert_eq!(catalog(&env), before);
}

/// Rows that violate several FKs after a complete load: one error names every violated
/// constraint and the way out (fix the source, `run --fresh`), no message calls the load
/// partial, and `status` says the same.
#[test]
fn rows_violating_several_fks_after_the_load_are_all_named_with_the_way_out() {
    let env = TestEnv::new("rb_orphans");
    seed(&env, 40);
    env.mysql_exec(
        "UPDATE member SET org_id = 9, team_no = NULL WHERE id = 13; \
         UPDATE member SET org_id = 1, team_no = 5 WHERE id = 14",
    );
    let before = catalog(&env);
    let out = env.my2pg(&["run"]);
    out.assert_exit(1)
        .assert_stderr_contains(
            "the load finished, but the rows violate 2 constraint(s), left NOT VALID or not \
             rebuilt (`my2pg status` lists them):\n  - target (PostgreSQL) query failed \
             (validate constraint member_org_fk on \"public\".\"member\"): ",
        )
        .assert_stderr_contains("Key (org_id)=(9) is not present in table \"org\"")
        .assert_stderr_contains(
            "\n  - target (PostgreSQL) query failed (validate constraint member_team_fk on \
             \"public\".\"member\"): ",
        )
        .assert_stderr_contains("Key (org_id, team_no)=(1, 5) is not present in table \"team\"")
        .assert_stderr_contains(
            "Fix those rows in the source (`my2pg check` finds orphan FK values), then load a \
             new export: `my2pg run --fresh --yes` (with export and import: export into an \
             empty work directory, then `import --fresh --yes`). Running the same command again \
             loads nothing new: the chunks already exported hold the same rows",
        );
    out.check(
        !out.stderr.contains("partially loaded"),
        "a complete load is not called partial",
    );
    let st = env.my2pg(&["status", "--json"]);
    st.assert_ok();
    let hint = st.json()["last_run"]["hint"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // It leads with the violation, not with "run it again" (which fails the same way).
    assert_eq!(
        hint,
        "The target is not ready for the cut-over (restore indexes and constraints (and \
         fill the columns of any broken FK cycle), ANALYZE the tables, set the sequences still to \
         do): the last `my2pg run` stopped on rows the target refused or my2pg could not \
         convert (they violate a constraint, hold a value a column cannot take, or differ from \
         a row existing_rows = \"keep-identical\" keeps; its error named them). Fix those rows in the source and run `my2pg run --fresh --yes`: chunks \
         already exported may hold the old rows, so running `my2pg run` again as it is fails \
         the same way. Where the target's constraint is what is wrong, change it and run `my2pg \
         run` again; a column whose type changed needs --fresh too (the files were exported for \
         the old type)."
    );
    // Run again as it is, it fails the same way, and status still says so.
    env.my2pg(&["run"]).assert_exit(1);
    let again = env.my2pg(&["status", "--json"]).json()["last_run"]["hint"].clone();
    assert_eq!(again, serde_json::json!(hint));
    env.mysql_exec("UPDATE member SET org_id = 1, team_no = NULL WHERE id IN (13, 14)");
    env.my2pg(&["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(catalog(&env), before);
}

/// A deferred unique key the rows violate (a target trigger changed them) fails first, an FK after it, and an index
/// fails for another reason: the steps after the first violation still run, and one
/// error names both violations and the other failure; nothing calls the load partial.
#[test]
fn a_violated_unique_key_an_fk_and_a_failing_index_are_named_together() {
    let env = TestEnv::new("rb_mixed");
    env.mysql_exec(
        "CREATE TABLE u (id int NOT NULL PRIMARY KEY, n int NOT NULL, UNIQUE KEY u_n (n)); \
         INSERT INTO u VALUES (1, 1), (2, 11), (3, 3); \
         CREATE TABLE p (id int NOT NULL PRIMARY KEY); INSERT INTO p VALUES (1), (2); \
         CREATE TABLE c (id int NOT NULL PRIMARY KEY, p_id int NOT NULL, x int NOT NULL); \
         INSERT INTO c VALUES (1, 1, 5), (2, 9, 0)",
    );
    env.pg_exec(
        "CREATE TABLE u (id integer PRIMARY KEY, n integer NOT NULL CONSTRAINT u_n_key UNIQUE); \
         CREATE FUNCTION last_digit() RETURNS trigger LANGUAGE plpgsql \
           AS $$BEGIN NEW.n := NEW.n % 10; RETURN NEW; END$$; \
         CREATE TRIGGER u_last_digit BEFORE INSERT ON u FOR EACH ROW EXECUTE FUNCTION last_digit(); \
         CREATE TABLE p (id integer PRIMARY KEY); \
         CREATE TABLE c (id integer PRIMARY KEY, p_id integer NOT NULL CONSTRAINT c_p_fk REFERENCES p (id), \
           x integer NOT NULL); \
         CREATE INDEX c_inverse ON c ((100 / x))",
    );
    let out = env.my2pg(&["run"]);
    out.assert_exit(1)
        .assert_stderr_contains(
            "the load finished, but the rows violate 2 constraint(s), left NOT VALID or not \
             rebuilt (`my2pg status` lists them):\n  - target (PostgreSQL) query failed (rebuild \
             unique constraint \"u_n_key\" on \"public\".\"u\" after the load): ",
        )
        .assert_stderr_contains("Key (n)=(1) is duplicated.")
        .assert_stderr_contains(
            "\n  - target (PostgreSQL) query failed (validate constraint c_p_fk on \
             \"public\".\"c\"): ",
        )
        .assert_stderr_contains(
            "\nAlso failed:\n  - target (PostgreSQL) query failed (rebuild index c_inverse on \
             public.c): ERROR: division by zero",
        )
        .assert_stderr_contains(
            "every import/run tries it again: fix the rows (then `run --fresh --yes`), or give \
             the index up with DELETE FROM my2pg.rebuild_objects WHERE schema_name = E'public' \
             AND table_name = E'c' AND kind = 'index' AND object_name = E'c_inverse'",
        )
        .assert_stderr_contains("then load a new export: `my2pg run --fresh --yes`");
    out.check(
        !out.stderr.contains("partially loaded") && !out.stderr.contains("not satisfy them"),
        "a complete load is not called partial",
    );
    // Everything else came back: the violated FK NOT VALID, the two indexes recorded.
    assert_eq!(
        env.pg_rows(
            "SELECT conname::text, convalidated::text FROM pg_constraint \
             WHERE contype = 'f' AND connamespace = 'public'::regnamespace"
        ),
        vec![vec![Some("c_p_fk".to_string()), Some("false".to_string())]]
    );
    assert_eq!(
        env.pg_rows("SELECT object_name::text FROM my2pg.rebuild_objects WHERE kind <> 'reloption' ORDER BY 1"),
        vec![
            vec![Some("c_inverse".to_string())],
            vec![Some("c_p_fk".to_string())],
            vec![Some("u_n_key".to_string())]
        ]
    );
    // The next run tries them again, and builds the violated unique key once: the
    // clean-up pass after the violations does not build it a second time.
    let again = env.my2pg(&["-v", "run"]);
    again
        .assert_exit(1)
        .assert_stderr_contains("Key (n)=(1) is duplicated.");
    assert_eq!(
        again.stderr.matches("Key (n)=(1) is duplicated.").count(),
        1,
        "{}",
        again.stderr
    );
}

/// Starts `my2pg run` and SIGKILLs it once objects are dropped (recorded) and the first
/// chunks are loaded; fails the test if the run ends first.
fn kill_mid_load(env: &TestEnv, cfg: &std::path::Path) {
    let mut child = crate::common::my2pg_command(&["run"], cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start my2pg");
    let start = Instant::now();
    let mut killed = false;
    while start.elapsed() < Duration::from_secs(60) {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        let ready = env.pg_value(
            "SELECT (to_regclass('my2pg.rebuild_objects') IS NOT NULL \
                     AND to_regclass('my2pg.loaded_chunks') IS NOT NULL)::text",
        );
        let count = |sql: &str| env.pg_value(sql).unwrap_or_default();
        if ready.as_deref() == Some("true")
            && count("SELECT count(*)::text FROM my2pg.rebuild_objects") != "0"
            && count("SELECT count(*)::text FROM my2pg.loaded_chunks") != "0"
        {
            child.kill().expect("SIGKILL my2pg");
            killed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.wait();
    assert!(
        killed,
        "the run finished before it could be killed mid-load"
    );
}

#[test]
fn rebuild_killed_run_is_resumed_to_an_identical_catalog() {
    let env = TestEnv::new("rb_kill");
    seed(&env, 3000);
    let before = catalog(&env);
    let cfg = env.write_config("[run]\nchunk_rows = 50\n[workers]\nloaders = 1\n");
    kill_mid_load(&env, &cfg);
    // The kill left the indexes dropped, but their definitions are in the target.
    assert_ne!(catalog(&env), before);
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM my2pg.rebuild_objects"),
        Some("11".into())
    );
    // Autovacuum is off on every copied table (and its TOAST table) until the end.
    assert_eq!(
        env.pg_rows(
            "SELECT c.relname::text, array_to_string(c.reloptions, ','), \
                    array_to_string(t.reloptions, ',') \
             FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid \
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1"
        ),
        vec![
            vec![
                Some("member".to_string()),
                Some("fillfactor=90,autovacuum_enabled=false".to_string()),
                Some("autovacuum_enabled=false".to_string())
            ],
            vec![
                Some("org".to_string()),
                Some("autovacuum_enabled=false".to_string()),
                None
            ],
            vec![
                Some("team".to_string()),
                Some("autovacuum_enabled=false".to_string()),
                None
            ],
        ]
    );
    // `status` tells the operator what waits to be restored.
    let status = env.my2pg(&["status", "--json"]);
    status.assert_ok();
    let pending: Vec<String> = status.json()["pending_restore"]
        .as_array()
        .expect("pending_restore")
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        pending,
        vec![
            "fk member_org_fk on public.member (dropped)",
            "fk member_team_fk on public.member (dropped)",
            "fk team_org_id_fkey on public.team (dropped)",
            "index member_active_idx on public.member (dropped)",
            "index member_email_lower_idx on public.member (dropped)",
            "index org_region_idx on public.org (dropped)",
            "index team_label_idx on public.team (dropped)",
            "reloption autovacuum_enabled on public.member",
            "reloption autovacuum_enabled on public.org",
            "reloption autovacuum_enabled on public.team",
            "reloption toast.autovacuum_enabled on public.member",
        ]
    );
    env.my2pg(&["status"])
        .assert_ok()
        .assert_stderr_contains(
            "Recorded by an unfinished load (the next import/run restores what is dropped and \
             validates what is NOT VALID):\n  fk member_org_fk on public.member (dropped)",
        )
        // Autovacuum has no step of its own in the hint (the h25 trial).
        .assert_stderr_contains(
            " Autovacuum is still off for the load on 3 table(s) (listed above): running \
             `my2pg run` again puts it back; setting the sequences by hand does not.\n",
        );
    // While a run holds the lock, the same list is that run's (the h23 attack: a healthy
    // run's drops read as a failure's leftovers).
    let holder = env.pg_session("SELECT pg_advisory_lock(1836659312, 1)");
    env.my2pg(&["status"]).assert_ok().assert_stderr_contains(
        "Dropped for the load that is running (it restores them when it finishes):\n  fk \
         member_org_fk on public.member (dropped)",
    );
    env.pg_session_exec(&holder, "SELECT pg_advisory_unlock(1836659312, 1)");
    // A refusal is true of its own run, and says what the killed one left (the h24 trial:
    // "nothing was changed in the target", and the operator gave up on a broken schema).
    env.my2pg(&["run", "--fresh"])
        .assert_exit(2)
        .assert_stderr_contains(&format!(
            "error: refused: --fresh was not confirmed, nothing was truncated (pass --yes when \
             stdin is not a terminal). The target still lacks {} index(es), constraint(s) or \
             autovacuum setting(s) an interrupted run took away for its load (`my2pg status` \
             lists them): the next import or run that starts loading puts them back\n",
            pending.len()
        ));
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(catalog(&env), before);
    assert_eq!(member_digest(&env), Some(source_digest(3000)));
}

/// Directus trial: a rebuild run interrupted with its FKs dropped, then a run with
/// `constraints = "keep"`. Planned without the dropped FKs, every table went into one
/// wave, the FKs came back before the load, and the child's first chunk failed on them.
/// The FKs now come back first and the plan is made with them.
#[test]
fn keep_after_an_interrupted_rebuild_run_plans_with_the_fks_it_puts_back() {
    let env = TestEnv::new("rb_keep_after");
    seed(&env, 3000);
    let before = catalog(&env);
    let cfg = env.write_config("[run]\nchunk_rows = 50\n[workers]\nloaders = 1\n");
    kill_mid_load(&env, &cfg);
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM my2pg.rebuild_objects WHERE kind = 'fk'"),
        Some("3".into())
    );
    env.write_config("[run]\nchunk_rows = 50\nconstraints = \"keep\"\n[workers]\nloaders = 1\n");
    // plan reads the graph as it is, and says what it leaves out.
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let left: Vec<String> = plan.json()["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| w["kind"] == "fks_left_dropped")
        .map(|w| w["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        left,
        vec![
            "3 foreign key(s) an interrupted rebuild run left dropped (`my2pg status` lists \
             them) are not in the waves shown: import and run put them back first and plan \
             again with them"
                .to_string()
        ]
    );
    let out = env.my2pg(&["run", "--fresh", "--yes"]);
    out.assert_ok().assert_stderr_contains(
        "putting back the indexes and FKs an interrupted rebuild run left dropped, then \
         planning again with them",
    );
    assert_eq!(catalog(&env), before);
    assert_eq!(member_digest(&env), Some(source_digest(3000)));
}

// ---- unique keys the source enforces ------------------------------------------------

const UQ_SOURCE: &str = "
CREATE TABLE acct (id int NOT NULL PRIMARY KEY, row_id int NOT NULL, handle varchar(40) NOT NULL,
  ext char(36) COLLATE utf8mb4_bin NOT NULL, stamp datetime(6) NOT NULL, nick varchar(40) NULL,
  tenant int NOT NULL, code varchar(20) NOT NULL,
  UNIQUE KEY uq_row (row_id), UNIQUE KEY uq_handle (handle), UNIQUE KEY uq_ext (ext),
  UNIQUE KEY uq_stamp (stamp), UNIQUE KEY uq_tenant_code (tenant, code));
CREATE TABLE badge (id int NOT NULL PRIMARY KEY, acct_handle varchar(40) NULL);
";

/// Which unique key is deferred, and why:
/// - \"Acct Row UQ\" (int), acct_code_uq (a superset of the source's (tenant, code)) and
///   the partial unique index acct_tenant_code_idx: the source enforces them, values
///   arrive exact: rebuilt after the load;
/// - acct_handle_uq: an FK references it; acct_ext_uq: uuid from text (with a binary
///   collation `A…` and `a…` are two source values and one uuid); acct_stamp_uq:
///   datetime(6) rounded to timestamp(3); acct_nick_uq: the source does not enforce it;
///   acct_handle_ci: an expression: all kept during the load.
const UQ_TARGET: &str = "
CREATE TABLE acct (id integer PRIMARY KEY, row_id integer NOT NULL, handle varchar(40) NOT NULL,
  ext uuid NOT NULL, stamp timestamp(3) NOT NULL, nick text, tenant integer NOT NULL,
  code varchar(20) NOT NULL,
  CONSTRAINT \"Acct Row UQ\" UNIQUE (row_id) WITH (fillfactor = 70) DEFERRABLE INITIALLY DEFERRED,
  CONSTRAINT acct_handle_uq UNIQUE (handle),
  CONSTRAINT acct_ext_uq UNIQUE (ext),
  CONSTRAINT acct_stamp_uq UNIQUE (stamp),
  CONSTRAINT acct_nick_uq UNIQUE (nick),
  CONSTRAINT acct_code_uq UNIQUE (code, tenant, handle));
CREATE UNIQUE INDEX acct_tenant_code_idx ON acct (tenant, code) WHERE tenant > 0;
CREATE UNIQUE INDEX acct_handle_ci ON acct (lower(handle));
CREATE TABLE badge (id integer PRIMARY KEY, acct_handle varchar(40) REFERENCES acct (handle));
";

fn uq_seed(env: &TestEnv, rows: usize) {
    env.mysql_exec(UQ_SOURCE);
    let mut vals = Vec::new();
    for i in 1..=rows {
        vals.push(format!(
            "({i},{},'h{i}','{:08x}-0000-4000-8000-000000000000',\
             TIMESTAMP('2024-01-01') + INTERVAL {i} SECOND,{},{},'c{}')",
            1000 + i,
            i,
            if i % 3 == 0 {
                "NULL".to_string()
            } else {
                format!("'n{i}'")
            },
            i % 5,
            i / 5
        ));
    }
    env.mysql_exec(&format!("INSERT INTO acct VALUES {};", vals.join(",")));
    env.mysql_exec("INSERT INTO badge VALUES (1,'h1'),(2,NULL),(3,'h3');");
    env.pg_exec(UQ_TARGET);
}

fn acct_digest(env: &TestEnv) -> Option<String> {
    env.pg_value(
        "SELECT count(*)::text || ':' || sum(row_id)::text || ':' || \
         md5(string_agg(a::text, '|' ORDER BY id)) FROM acct a",
    )
}

#[test]
fn unique_keys_the_source_enforces_are_rebuilt_after_the_load_exactly() {
    let env = TestEnv::new("rb_uq");
    uq_seed(&env, 300);
    let before = catalog(&env);
    env.write_config("[run]\nchunk_rows = 40\n");
    let out = env.my2pg(&["run"]);
    out.assert_ok();
    out.assert_stderr_contains("indexes=3 fks=1 autovacuum_off=3 deferred_unique=3");
    assert_eq!(catalog(&env), before);
    assert_eq!(
        acct_digest(&env),
        env.pg_value(
            "SELECT '300:' || (300 * 1000 + 300 * 301 / 2)::text || ':' || md5(string_agg(a::text, '|' ORDER BY id)) \
             FROM (SELECT i AS id, 1000 + i AS row_id, 'h' || i AS handle, \
                     (lpad(to_hex(i), 8, '0') || '-0000-4000-8000-000000000000')::uuid AS ext, \
                     timestamp '2024-01-01' + make_interval(secs => i) AS stamp, \
                     CASE WHEN i % 3 = 0 THEN NULL ELSE 'n' || i END AS nick, i % 5 AS tenant, \
                     'c' || (i / 5) AS code FROM generate_series(1, 300) i) a"
        )
    );
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM my2pg.rebuild_objects"),
        Some("0".into())
    );

    // `defer_unique = false` keeps every unique key during the load.
    let env = TestEnv::new("rb_uq_off");
    uq_seed(&env, 50);
    env.write_config("[run]\ndefer_unique = false\n");
    let out = env.my2pg(&["run"]);
    out.assert_ok();
    out.assert_stderr_contains("indexes=0 fks=1 autovacuum_off=3 deferred_unique=0");
}

#[test]
fn a_unique_key_kept_during_the_load_fails_its_chunk_at_once() {
    // Two source values, one uuid: acct_ext_uq must not be deferred, and is not.
    let env = TestEnv::new("rb_uq_kept");
    uq_seed(&env, 60);
    env.mysql_exec(
        "UPDATE acct SET ext = '0000002A-0000-4000-8000-000000000000' WHERE id = 7; \
         UPDATE acct SET ext = '0000002a-0000-4000-8000-000000000000' WHERE id = 42;",
    );
    env.write_config("[run]\nchunk_rows = 10\n");
    let out = env.my2pg(&["run"]);
    out.assert_exit(1);
    out.assert_stderr_contains("acct_ext_uq");
    out.assert_stderr_contains("Key (ext)=(0000002a-0000-4000-8000-000000000000) already exists");
    // Binary COPY counts tuples, not lines: the row is still named.
    out.assert_stderr_contains("row with primary key (id)=(42)");
    // The failing chunk (rows 41-50) left nothing behind, and what did load is whole
    // chunks recorded in the ledger (the other loader may have committed some).
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM acct WHERE id BETWEEN 41 AND 50"),
        Some("0".into())
    );
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM acct"),
        env.pg_value(
            "SELECT (coalesce(sum(rows), 0))::text FROM my2pg.loaded_chunks \
             WHERE table_name = 'acct'"
        )
    );
    assert!(
        !out.stderr.contains("exported by an earlier run"),
        "this run wrote the chunk itself: {}",
        out.stderr
    );

    // The operator fixes the source and runs again: the chunk on disk still holds the
    // old value, and the error says so and how to export again.
    env.mysql_exec("UPDATE acct SET ext = 'ffffffff-0000-4000-8000-000000000042' WHERE id = 42");
    let out = env.my2pg(&["run"]);
    out.assert_exit(1);
    out.assert_stderr_contains("Key (ext)=(0000002a-0000-4000-8000-000000000000) already exists");
    out.assert_stderr_contains(
        "was exported by an earlier run: after fixing the source, export again (`my2pg run \
         --fresh`, or `export` into a new work directory, then `import --fresh`)",
    );
    env.my2pg(&["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(
        env.pg_value("SELECT ext::text FROM acct WHERE id = 42"),
        Some("ffffffff-0000-4000-8000-000000000042".into())
    );
}

#[test]
fn a_duplicate_written_into_a_deferred_unique_key_fails_its_rebuild_naming_the_key() {
    let env = TestEnv::new("rb_uq_dup");
    uq_seed(&env, 3000);
    let before = catalog(&env);
    let cfg = env.write_config("[run]\nchunk_rows = 50\n[workers]\nloaders = 1\n");
    let child = crate::common::my2pg_command(&["run"], &cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start my2pg");
    // While the load runs (the unique keys dropped), another session writes a row
    // whose row_id a source row holds.
    let start = Instant::now();
    let mut written = false;
    while start.elapsed() < Duration::from_secs(60) && !written {
        let ready = env.pg_value(
            "SELECT (to_regclass('my2pg.rebuild_objects') IS NOT NULL \
                     AND to_regclass('my2pg.loaded_chunks') IS NOT NULL)::text",
        );
        if ready.as_deref() == Some("true") {
            let deferred = env.pg_rows(
                "SELECT kind || ' ' || object_name FROM my2pg.rebuild_objects \
                 WHERE kind IN ('unique', 'index') ORDER BY 1",
            );
            if !deferred.is_empty() {
                assert_eq!(
                    deferred,
                    vec![
                        vec![Some("index acct_tenant_code_idx".to_string())],
                        vec![Some("unique Acct Row UQ".to_string())],
                        vec![Some("unique acct_code_uq".to_string())],
                    ]
                );
                env.pg_exec(
                    "INSERT INTO acct VALUES (900000, 1007, 'intruder', \
                     'ffffffff-0000-4000-8000-000000000000', '2030-01-01', NULL, 0, 'zz')",
                );
                written = true;
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().expect("wait for my2pg");
    assert!(written, "the load ended before the row could be written");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "rebuild unique constraint \"Acct Row UQ\" on \"public\".\"acct\" after the load"
        ) && stderr.contains("Key (row_id)=(1007) is duplicated"),
        "{stderr}"
    );
    // Only that key is missing and it stays recorded for the next run.
    assert_eq!(
        env.pg_rows("SELECT kind, object_name FROM my2pg.rebuild_objects ORDER BY 1, 2"),
        vec![vec![
            Some("unique".to_string()),
            Some("Acct Row UQ".to_string())
        ]]
    );
    env.pg_exec("DELETE FROM acct WHERE id = 900000");
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(catalog(&env), before);
}

#[test]
fn a_killed_run_whose_resume_defers_a_key_an_fk_references_ends_identical() {
    // The first run keeps acct_handle_uq (badge's FK references it) and drops that FK.
    // Killed, the resumed run no longer sees the FK, so it may defer the key too: the key
    // must come back before the FK that needs it.
    let env = TestEnv::new("rb_uq_kill");
    uq_seed(&env, 3000);
    let before = catalog(&env);
    let cfg = env.write_config("[run]\nchunk_rows = 50\n[workers]\nloaders = 1\n");
    kill_mid_load(&env, &cfg);
    assert_eq!(
        env.pg_value(
            "SELECT count(*)::text FROM pg_constraint WHERE conname = 'badge_acct_handle_fkey'"
        ),
        Some("0".into()),
        "the kill left the FK dropped"
    );
    // The recorded FK still names acct_handle_uq: the resumed run keeps it too.
    let out = env.my2pg(&["run"]);
    out.assert_ok();
    out.assert_stderr_contains("deferred_unique=0");
    assert_eq!(catalog(&env), before);
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM my2pg.rebuild_objects"),
        Some("0".into())
    );
}

/// n8n: an FK bound to a unique index made before the primary key on the same column.
/// Re-adding the FK after the index was rebuilt would bind it to the primary key (the
/// older index), so a resumed run must not defer an index a recorded FK is bound to.
#[test]
fn a_resumed_run_keeps_the_unique_index_a_dropped_fk_was_bound_to() {
    let env = TestEnv::new("rb_fk_index");
    let mut rows = Vec::new();
    for i in 1..=3000 {
        rows.push(format!("({i}, {})", i % 7 + 1));
    }
    env.mysql_exec(&format!(
        "CREATE TABLE wf (id int NOT NULL PRIMARY KEY, name varchar(20) NOT NULL); \
         INSERT INTO wf SELECT seq, CONCAT('w', seq) FROM seq_1_to_7; \
         CREATE TABLE hist (id int NOT NULL PRIMARY KEY, wf_id int NOT NULL, \
           FOREIGN KEY (wf_id) REFERENCES wf (id)); \
         INSERT INTO hist VALUES {}",
        rows.join(", ")
    ));
    env.pg_exec(
        "CREATE TABLE wf (id integer NOT NULL, name varchar(20) NOT NULL); \
         CREATE UNIQUE INDEX \"pk wf id\" ON wf (id); \
         ALTER TABLE wf ADD CONSTRAINT wf_pkey PRIMARY KEY (id); \
         CREATE TABLE hist (id integer PRIMARY KEY, wf_id integer NOT NULL \
           CONSTRAINT hist_wf_fk REFERENCES wf (id))",
    );
    let bound = "SELECT conindid::regclass::text FROM pg_constraint WHERE conname = 'hist_wf_fk'";
    assert_eq!(env.pg_value(bound), Some("\"pk wf id\"".into()));
    let before = catalog(&env);
    let cfg = env.write_config("[run]\nchunk_rows = 50\n[workers]\nloaders = 1\n");
    kill_mid_load(&env, &cfg);
    assert_eq!(
        env.pg_value(
            "SELECT referenced_index_schema || '.' || referenced_index \
             FROM my2pg.rebuild_objects WHERE object_name = 'hist_wf_fk'"
        ),
        Some("public.pk wf id".into())
    );
    let out = env.my2pg(&["run"]);
    out.assert_ok();
    assert_eq!(env.pg_value(bound), Some("\"pk wf id\"".into()));
    assert_eq!(catalog(&env), before);
    assert_eq!(env.pg_count("hist"), 3000);
}

/// A source user without RELOAD cannot take the global read lock that lines up several
/// readers' snapshots: `run` opens the source first, so it stops before the target is
/// touched (nothing dropped, nothing to rebuild).
#[test]
fn a_refused_global_read_lock_stops_the_run_before_the_target_is_touched() {
    let env = TestEnv::new("rb_noreload");
    seed(&env, 200);
    let before = catalog(&env);
    let url = crate::common::UrlParts::parse(&env.mysql_url());
    let user = format!("m2p_noreload_{}", std::process::id());
    env.mysql_exec(&format!(
        "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'; \
         GRANT SELECT ON `{}`.* TO '{user}'@'%'",
        url.path
    ));
    let restricted = crate::common::UrlParts {
        user: Some(user.clone()),
        password: Some("pw".into()),
        ..url.clone()
    };
    let cfg = env.write_raw_config(
        "noreload.toml",
        &format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[run]\nworkdir = \"{}\"\n[workers]\nreaders = 2\n",
            restricted.render(),
            env.pg_owner_url(),
            env.workdir.display()
        ),
    );
    let out = env.cmd(&cfg, &["run"]).run();
    env.mysql_exec(&format!("DROP USER IF EXISTS '{user}'@'%'"));
    out.assert_exit(2)
        .assert_stderr_contains("which the source did not grant")
        .check(
            !out.stderr.contains("dropped for the load"),
            "the target was prepared before the source refused",
        );
    assert_eq!(catalog(&env), before);
    assert_eq!(env.pg_count("member"), 0);
}

/// A run that fails mid-load puts every dropped object back; each one that cannot come
/// back is named (not only the first), and each stays recorded for the next run.
#[test]
fn every_object_that_cannot_come_back_after_a_failure_is_named() {
    let env = TestEnv::new("rb_fail_two");
    env.mysql_exec(
        "CREATE TABLE p (id int NOT NULL PRIMARY KEY, x int NOT NULL); \
         INSERT INTO p VALUES (1, 0), (2, 5), (3, 7)",
    );
    env.pg_exec(
        "CREATE TABLE p (id integer PRIMARY KEY, x integer NOT NULL); \
         CREATE INDEX p_hundred ON p ((100 / x)); CREATE INDEX p_thousand ON p ((1000 / x))",
    );
    // One loader, one row per chunk: chunk 1 (x = 0) commits before chunk 3 fails.
    env.write_config("[run]\nchunk_rows = 1\n[workers]\nloaders = 1\n");
    env.my2pg(&["export"]).assert_ok();
    let file = env.workdir.join("p").join("000003.csv");
    let mut bytes = std::fs::read(&file).expect("chunk file");
    bytes[0] = b'9';
    std::fs::write(&file, bytes).expect("rewrite chunk");
    let out = env.my2pg(&["import"]);
    out.assert_exit(1)
        .assert_stderr_contains("chunk 000003 failed: chunk file ");
    for index in ["p_hundred", "p_thousand"] {
        out.assert_stderr_contains(&format!(
            "(rebuild index {index} on public.p): ERROR: division by zero"
        ));
    }
    assert_eq!(env.pg_count("p"), 2);
    assert_eq!(
        env.pg_rows(
            "SELECT object_name::text FROM my2pg.rebuild_objects WHERE kind = 'index' ORDER BY 1"
        ),
        vec![
            vec![Some("p_hundred".to_string())],
            vec![Some("p_thousand".to_string())]
        ]
    );
}

/// An index that fails to build for a reason other than the rows (here a definition that
/// names a column the table lacks; in practice a lost connection, a shutdown, a missing
/// privilege) is not offered up for deletion: running again once the cause is fixed
/// builds it.
#[test]
fn an_index_failing_for_another_reason_than_the_rows_is_not_offered_up() {
    let env = TestEnv::new("rb_not_rows");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, v int NOT NULL); \
         INSERT INTO t VALUES (1, 1), (2, 70000)",
    );
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY, v smallint NOT NULL)");
    env.write_config("[run]\nchunk_rows = 1\n");
    env.my2pg(&["run"])
        .assert_exit(1)
        .assert_stderr_contains("cannot convert 70000");
    env.mysql_exec("UPDATE t SET v = 2 WHERE id = 2");
    // As a crashed run could have left it: recorded, not in the catalog.
    env.pg_exec(
        "INSERT INTO my2pg.rebuild_objects VALUES ('public', 't', 'index', 't_gone', \
         'CREATE INDEX t_gone ON public.t USING btree (gone)')",
    );
    let out = env.my2pg(&["run"]);
    out.assert_exit(1).assert_stderr_contains(
        "(rebuild index t_gone on public.t): ERROR: column \"gone\" does not exist (SQLSTATE \
         42703); its definition stays in my2pg.rebuild_objects: run again once the cause is \
         fixed, and the run builds it",
    );
    out.check(
        !out.stderr.contains("DELETE FROM my2pg.rebuild_objects"),
        "giving the index up is not suggested",
    );
}

/// Indexes and constraints dropped for the load come back in their own tablespace
/// (pg_get_indexdef leaves it out) and with their comments.
#[test]
fn rebuilt_objects_keep_their_tablespace_and_comments() {
    let env = TestEnv::new("rb_tablespace");
    let ts = format!("{}_ts", env.name);
    // An in-place tablespace (PostgreSQL 15+): no directory for the test to own.
    env.pg_admin_exec(&format!(
        "ALTER DATABASE \"{}\" SET allow_in_place_tablespaces = on",
        env.name
    ));
    env.pg_admin_exec(&format!("DROP TABLESPACE IF EXISTS \"{ts}\""));
    env.pg_admin_exec(&format!("CREATE TABLESPACE \"{ts}\" LOCATION ''"));
    env.pg_admin_exec(&format!(
        "GRANT CREATE ON TABLESPACE \"{ts}\" TO {}",
        crate::common::OWNER_ROLE
    ));
    env.mysql_exec(
        "CREATE TABLE p (id int NOT NULL PRIMARY KEY); INSERT INTO p VALUES (1), (2); \
         CREATE TABLE c (id int NOT NULL PRIMARY KEY, p_id int NOT NULL, \
           email varchar(50) NOT NULL, name varchar(50) NOT NULL, UNIQUE KEY c_email (email), \
           CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id)); \
         INSERT INTO c VALUES (1, 1, 'a@x', 'Ann'), (2, 2, 'b@x', 'Bob')",
    );
    env.pg_exec(&format!(
        "CREATE TABLE p (id integer PRIMARY KEY); \
         CREATE TABLE c (id integer PRIMARY KEY, \
           p_id integer NOT NULL CONSTRAINT c_p REFERENCES p (id), \
           email varchar(50) NOT NULL CONSTRAINT c_email UNIQUE USING INDEX TABLESPACE \"{ts}\", \
           name varchar(50) NOT NULL); \
         CREATE INDEX c_name ON c (name) TABLESPACE \"{ts}\"; \
         CREATE INDEX c_p_id ON c (p_id); \
         COMMENT ON INDEX c_name IS 'by name, the user''s'; \
         COMMENT ON CONSTRAINT c_email ON c IS 'one account per address'; \
         COMMENT ON CONSTRAINT c_p ON c IS 'the parent'"
    ));
    let catalog = || {
        env.pg_rows(
            "SELECT i.relname::text, COALESCE(t.spcname::text, '(default)'), \
               obj_description(i.oid, 'pg_class') \
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
             LEFT JOIN pg_tablespace t ON t.oid = i.reltablespace \
             WHERE x.indrelid = 'c'::regclass \
             UNION ALL \
             SELECT conname::text, contype::text, obj_description(oid, 'pg_constraint') \
             FROM pg_constraint WHERE conrelid = 'c'::regclass ORDER BY 1, 2",
        )
    };
    let before = catalog();
    assert_eq!(before.len(), 7, "{before:?}");
    // Without CREATE on the tablespace neither index could come back: refused up front,
    // for the deferred unique key alone too.
    let refused = format!(
        "constraints = \"rebuild\" creates indexes of \"public\".\"c\" again in tablespace(s) \
         {ts}, which needs CREATE on them; target user \"{}\" lacks it: grant it, or use \
         constraints = \"keep\"",
        crate::common::OWNER_ROLE
    );
    let revoke = format!(
        "REVOKE CREATE ON TABLESPACE \"{ts}\" FROM {}",
        crate::common::OWNER_ROLE
    );
    env.pg_admin_exec(&revoke);
    for only_unique in [false, true] {
        if only_unique {
            env.pg_admin_exec("ALTER INDEX c_name SET TABLESPACE pg_default");
        }
        let plan = env.my2pg(&["plan", "--json"]);
        plan.assert_exit(2);
        let messages: Vec<String> = plan.json()["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["message"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(messages, vec![refused.clone()]);
    }
    assert_eq!(catalog().len(), 7, "nothing was dropped");
    env.pg_admin_exec(&format!(
        "ALTER INDEX c_name SET TABLESPACE \"{ts}\"; GRANT CREATE ON TABLESPACE \"{ts}\" TO {}",
        crate::common::OWNER_ROLE
    ));
    let out = env.my2pg(&["run"]);
    out.assert_ok()
        .assert_stderr_contains("indexes=2 fks=1")
        .assert_stderr_contains("deferred_unique=1");
    assert_eq!(catalog(), before);
    assert_eq!(env.pg_count("c"), 2);
    env.pg_exec("DROP TABLE c, p");
    env.pg_admin_exec(&format!("DROP TABLESPACE \"{ts}\""));
}

/// `idle_session_timeout` set on the target database (or role) ends every session idle
/// that long: loaders that wait for a slow table of their wave went with it, and the run
/// failed with a bare "connection closed" (operator-night trial). Every my2pg session
/// turns it off for itself. A trigger makes one table of the first wave slow.
#[test]
fn loaders_waiting_for_a_slow_table_outlive_idle_session_timeout() {
    let env = TestEnv::new("idle_timeout");
    env.mysql_exec(
        "CREATE TABLE slow (id int NOT NULL PRIMARY KEY); \
         INSERT INTO slow SELECT seq FROM seq_1_to_6; \
         CREATE TABLE quick (id int NOT NULL PRIMARY KEY); INSERT INTO quick VALUES (1); \
         CREATE TABLE child (id int NOT NULL PRIMARY KEY, q int NOT NULL, \
           FOREIGN KEY (q) REFERENCES quick (id)); INSERT INTO child VALUES (1, 1)",
    );
    env.pg_exec(
        "CREATE TABLE slow (id integer PRIMARY KEY); \
         CREATE TABLE quick (id integer PRIMARY KEY); \
         CREATE TABLE child (id integer PRIMARY KEY, q integer NOT NULL REFERENCES quick (id)); \
         CREATE FUNCTION slow_down() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN PERFORM pg_sleep(0.5); RETURN NEW; END $$; \
         CREATE TRIGGER slow_down BEFORE INSERT ON slow FOR EACH ROW EXECUTE FUNCTION slow_down(); \
         DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET idle_session_timeout = ''700ms''', \
           current_database()); END $$",
    );
    let cfg = env.write_config("[run]\nconstraints = \"keep\"\n\n[workers]\nloaders = 2\n");
    let out = env.cmd(&cfg, &["run"]).run();
    out.assert_ok();
    assert_eq!(
        env.pg_rows("SELECT (SELECT count(*) FROM slow)::text, (SELECT count(*) FROM child)::text"),
        vec![vec![Some("6".to_string()), Some("1".to_string())]]
    );
}
