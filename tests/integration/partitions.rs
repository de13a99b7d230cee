//! Partitioned target tables under `constraints = "rebuild"`: objects Postgres clones onto
//! partitions follow their parent, indexes come back on every partition and valid, FKs on
//! or to a partitioned table come back validated (also on a run after a failed one).

use crate::common::{warning_messages, TestEnv};

/// Every index (with the index it is attached to and whether it is valid) and every
/// constraint (with whether it is validated) of the public schema.
fn catalog(env: &TestEnv) -> Vec<Vec<Option<String>>> {
    env.pg_rows(
        "SELECT 'index', c.relname::text || '.' || i.relname::text, pg_get_indexdef(x.indexrelid), \
                x.indisvalid::text, \
                coalesce((SELECT h.inhparent::regclass::text FROM pg_inherits h \
                          WHERE h.inhrelid = x.indexrelid), '-') \
           FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
           JOIN pg_class c ON c.oid = x.indrelid WHERE c.relnamespace = 'public'::regnamespace \
         UNION ALL \
         SELECT 'constraint', conrelid::regclass::text || '.' || conname, pg_get_constraintdef(oid), \
                convalidated::text, (conparentid <> 0)::text \
           FROM pg_constraint WHERE connamespace = 'public'::regnamespace \
         ORDER BY 1, 2",
    )
}

/// `table:valid` of an index and of every partition index attached to it.
fn index_tree(env: &TestEnv, index: &str) -> Option<String> {
    env.pg_value(&format!(
        "WITH RECURSIVE t AS (SELECT '{index}'::regclass::oid AS oid \
           UNION ALL SELECT h.inhrelid FROM pg_inherits h JOIN t ON h.inhparent = t.oid) \
         SELECT string_agg(c.relname || ':' || x.indisvalid, ',' ORDER BY c.relname) \
         FROM t JOIN pg_index x ON x.indexrelid = t.oid JOIN pg_class c ON c.oid = x.indrelid"
    ))
}

fn recorded(env: &TestEnv) -> Vec<Vec<Option<String>>> {
    env.pg_rows(
        "SELECT table_name, kind, object_name FROM my2pg.rebuild_objects WHERE kind <> 'reloption' ORDER BY 1, 2, 3",
    )
}

#[test]
fn an_index_on_a_partitioned_table_comes_back_valid_on_every_partition() {
    let env = TestEnv::new("part_index");
    env.mysql_exec(
        "CREATE TABLE events (id int, created date, kind varchar(5), payload text, \
           PRIMARY KEY (id, created), KEY k_kind (kind)); \
         INSERT INTO events VALUES (1,'2023-05-01','a','x'),(2,'2024-02-01','b','y'),(3,'2024-12-31','a',NULL); \
         CREATE TABLE bykind (id int PRIMARY KEY, kind varchar(5) NOT NULL); \
         INSERT INTO bykind VALUES (1,'a'),(2,'b'),(3,'c')",
    );
    env.pg_exec(
        "CREATE TABLE events (id int, created date, kind varchar(5), payload text, \
           PRIMARY KEY (id, created)) PARTITION BY RANGE (created); \
         CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01'); \
         CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01'); \
         CREATE INDEX events_kind ON events (kind); \
         CREATE UNIQUE INDEX events_uidx ON events (kind, id, created); \
         CREATE TABLE bykind (id int, kind varchar(5) NOT NULL, PRIMARY KEY (id, kind)) PARTITION BY LIST (kind); \
         CREATE TABLE bykind_a PARTITION OF bykind FOR VALUES IN ('a'); \
         CREATE TABLE bykind_other PARTITION OF bykind DEFAULT; \
         CREATE INDEX bykind_kind_id ON bykind (kind, id DESC)",
    );
    let before = catalog(&env);
    env.write_config("");
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(catalog(&env), before);
    assert_eq!(
        index_tree(&env, "events_kind"),
        Some("events:true,events_2023:true,events_2024:true".into())
    );
    assert_eq!(
        index_tree(&env, "events_uidx"),
        Some("events:true,events_2023:true,events_2024:true".into())
    );
    assert_eq!(
        index_tree(&env, "bykind_kind_id"),
        Some("bykind:true,bykind_a:true,bykind_other:true".into())
    );
    assert_eq!(
        env.pg_rows("SELECT tableoid::regclass::text, id::text FROM events ORDER BY id"),
        vec![
            vec![Some("events_2023".into()), Some("1".into())],
            vec![Some("events_2024".into()), Some("2".into())],
            vec![Some("events_2024".into()), Some("3".into())],
        ]
    );
    assert!(recorded(&env).is_empty());
    // The rows read back through the rebuilt indexes equal the source.
    env.my2pg(&["verify", "--level", "full"]).assert_ok();
}

const PART2_SOURCE: &str = "
CREATE TABLE acct (id int PRIMARY KEY, name varchar(10));
INSERT INTO acct VALUES (1,'a'),(2,'b');
CREATE TABLE events (id int, created date, acct_id int, seq int NOT NULL, kind varchar(5),
  PRIMARY KEY (id, created), UNIQUE KEY us (seq, created));
INSERT INTO events VALUES (1,'2023-05-01',1,10,'a'),(2,'2024-02-01',2,20,'b'),(3,'2024-12-31',NULL,30,'a');
";

const PART2_TARGET: &str = "
CREATE TABLE acct (id int PRIMARY KEY, name varchar(10));
CREATE TABLE events (id int, created date, acct_id int REFERENCES acct(id), seq int NOT NULL, kind varchar(5),
  PRIMARY KEY (id, created), CONSTRAINT us UNIQUE (seq, created)) PARTITION BY RANGE (created);
CREATE TABLE events_2023 PARTITION OF events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE INDEX ev_kind ON events (kind);
CREATE UNIQUE INDEX ev_uidx ON events (seq, created, kind);
";

#[test]
fn an_fk_on_a_partitioned_table_comes_back_validated() {
    let env = TestEnv::new("part_fk");
    env.mysql_exec(PART2_SOURCE);
    env.pg_exec(PART2_TARGET);
    let before = catalog(&env);
    env.write_config("");
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(catalog(&env), before);
    assert_eq!(
        env.pg_rows(
            "SELECT conrelid::regclass::text, convalidated::text FROM pg_constraint \
             WHERE conname = 'events_acct_id_fkey' ORDER BY 1"
        ),
        vec![
            vec![Some("events".into()), Some("true".into())],
            vec![Some("events_2023".into()), Some("true".into())],
            vec![Some("events_2024".into()), Some("true".into())],
        ]
    );
    assert_eq!(
        index_tree(&env, "us"),
        Some("events:true,events_2023:true,events_2024:true".into())
    );
    assert!(recorded(&env).is_empty());
    // A second run finds nothing to load and leaves it all as it is.
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(catalog(&env), before);
}

#[test]
fn an_fk_on_a_partitioned_table_that_fails_is_re_added_by_the_next_run() {
    let env = TestEnv::new("part_fk_orphan");
    env.mysql_exec(PART2_SOURCE);
    env.mysql_exec("UPDATE events SET acct_id = 9 WHERE id = 2");
    env.pg_exec(PART2_TARGET);
    let before = catalog(&env);
    env.write_config("");
    let out = env.my2pg(&["run"]);
    out.assert_exit(1);
    out.assert_stderr_contains("re-add foreign key events_acct_id_fkey");
    out.assert_stderr_contains("Key (acct_id)=(9) is not present in table \"acct\"");
    // The FK could not come back; it is kept in the record, everything else is back.
    assert_eq!(
        recorded(&env),
        vec![vec![
            Some("events".into()),
            Some("fk".into()),
            Some("events_acct_id_fkey".into())
        ]]
    );
    let without_fk = |rows: Vec<Vec<Option<String>>>| -> Vec<Vec<Option<String>>> {
        rows.into_iter()
            .filter(|r| {
                !r[1]
                    .as_deref()
                    .unwrap_or("")
                    .ends_with(".events_acct_id_fkey")
            })
            .collect()
    };
    assert_eq!(without_fk(catalog(&env)), without_fk(before.clone()));
    // Every later run re-adds it until the rows satisfy it: the missing account is
    // written into the target (the copied rows are already loaded), and the next run
    // brings the FK back validated on the table and both partitions.
    env.my2pg(&["run"]).assert_exit(1);
    env.pg_exec("INSERT INTO acct VALUES (9, 'late')");
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(catalog(&env), before);
    assert!(recorded(&env).is_empty());
}

const REFPART_TARGET: &str = "
CREATE TABLE ev (id int, created date, PRIMARY KEY (id, created)) PARTITION BY RANGE (created);
CREATE TABLE ev_2023 PARTITION OF ev FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE ev_2024 PARTITION OF ev FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE note (id int PRIMARY KEY, ev_id int, ev_created date,
  FOREIGN KEY (ev_id, ev_created) REFERENCES ev(id, created));
";

#[test]
fn an_fk_referencing_a_partitioned_table_is_handled_through_its_parent_only() {
    let env = TestEnv::new("part_ref");
    env.mysql_exec(
        "CREATE TABLE ev (id int, created date NOT NULL, PRIMARY KEY (id, created)); \
         INSERT INTO ev VALUES (1,'2024-01-01'),(2,'2023-02-01'); \
         CREATE TABLE note (id int PRIMARY KEY, ev_id int, ev_created date); \
         INSERT INTO note VALUES (1,1,'2024-01-01'),(2,2,'2023-02-01'),(3,NULL,NULL)",
    );
    env.pg_exec(REFPART_TARGET);
    let before = catalog(&env);
    env.write_config("");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    assert_eq!(
        warning_messages(&plan.json(), "references_unloaded_table"),
        Vec::<String>::new()
    );
    env.my2pg(&["run"]).assert_ok();
    // The FK and its clones per referenced partition, all validated, as created.
    assert_eq!(catalog(&env), before);
    assert_eq!(
        env.pg_rows(
            "SELECT conname::text, convalidated::text FROM pg_constraint \
             WHERE conrelid = 'note'::regclass AND contype = 'f' ORDER BY 1"
        ),
        vec![
            vec![
                Some("note_ev_id_ev_created_fkey".into()),
                Some("true".into())
            ],
            vec![
                Some("note_ev_id_ev_created_fkey1".into()),
                Some("true".into())
            ],
            vec![
                Some("note_ev_id_ev_created_fkey2".into()),
                Some("true".into())
            ],
        ]
    );
    assert!(recorded(&env).is_empty());
    env.my2pg(&["verify", "--level", "full"]).assert_ok();

    // An orphan still fails the run, naming the FK and the key.
    let env = TestEnv::new("part_ref_orphan");
    env.mysql_exec(
        "CREATE TABLE ev (id int, created date NOT NULL, PRIMARY KEY (id, created)); \
         INSERT INTO ev VALUES (1,'2024-01-01'); \
         CREATE TABLE note (id int PRIMARY KEY, ev_id int, ev_created date); \
         INSERT INTO note VALUES (1,1,'2024-01-01'),(2,5,'2023-02-01')",
    );
    env.pg_exec(REFPART_TARGET);
    env.write_config("");
    let out = env.my2pg(&["run"]);
    out.assert_exit(1);
    out.assert_stderr_contains("re-add foreign key note_ev_id_ev_created_fkey");
    out.assert_stderr_contains(
        "Key (ev_id, ev_created)=(5, 2023-02-01) is not present in table \"ev\"",
    );
}
