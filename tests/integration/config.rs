//! Config validation happens before anything touches the databases.

use crate::common::TestEnv;

fn base_config(env: &TestEnv) -> String {
    format!(
        "[source]\nurl = \"{}\"\n\n[target]\nurl = \"{}\"\nschema = \"public\"\n",
        env.mysql_url(),
        env.pg_owner_url()
    )
}

#[test]
fn config_unknown_key_rejected_with_exit_2_naming_key() {
    let env = TestEnv::new("cfg_unknown");
    env.mysql_exec("CREATE TABLE t (id int NOT NULL PRIMARY KEY); INSERT INTO t VALUES (1)");
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY)");
    let workdir = env.workdir.display().to_string();
    let cases = [
        (format!("{}\n[run]\nworkdir = \"{workdir}\"\nchunk_rowz = 5\n", base_config(&env)), "chunk_rowz"),
        (
            format!(
                "[source]\nurl = \"{}\"\n\n[target]\nurl = \"{}\"\nschema = \"public\"\npasswrd = \"x\"\n\n[run]\nworkdir = \"{workdir}\"\n",
                env.mysql_url(),
                env.pg_owner_url()
            ),
            "passwrd",
        ),
        (format!("{}\n[run]\nworkdir = \"{workdir}\"\n\n[workerz]\nreaders = 1\n", base_config(&env)), "workerz"),
        (format!("{}\n[run]\nworkdir = \"{workdir}\"\n\n[workers]\nreader = 1\n", base_config(&env)), "reader"),
    ];
    for (i, (text, key)) in cases.iter().enumerate() {
        let cfg = env.write_raw_config(&format!("bad{i}.toml"), text);
        for cmd in ["plan", "run"] {
            let out = env.cmd(&cfg, &[cmd]).run();
            out.assert_exit(2);
            out.assert_stderr_contains(key);
            let out = env.cmd(&cfg, &[cmd, "--json"]).run();
            out.assert_exit(2);
            out.assert_stderr_contains(key);
            let report = out.json();
            out.check(report["ok"] == false, "report.ok must be false");
            out.check(
                report["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(key)),
                &format!("error.message must contain {key:?}"),
            );
        }
    }
    assert_eq!(env.pg_count("t"), 0);
    assert!(
        !env.workdir.join("t").exists(),
        "a rejected config must not export anything"
    );
}

#[test]
fn config_unknown_key_message_names_full_key_path() {
    // docs/CONTRACT.md: "unknown config key `run.chunk_rowz`".
    let env = TestEnv::new("cfg_keypath");
    let workdir = env.workdir.display().to_string();
    let cases = [
        (
            format!(
                "{}\n[run]\nworkdir = \"{workdir}\"\nchunk_rowz = 5\n",
                base_config(&env)
            ),
            "unknown config key `run.chunk_rowz`",
        ),
        (
            format!(
                "{}\n[run]\nworkdir = \"{workdir}\"\n\n[workers]\nreader = 1\n",
                base_config(&env)
            ),
            "unknown config key `workers.reader`",
        ),
    ];
    for (i, (text, msg)) in cases.iter().enumerate() {
        let cfg = env.write_raw_config(&format!("bad{i}.toml"), text);
        let out = env.cmd(&cfg, &["plan", "--json"]).run();
        out.assert_exit(2);
        out.assert_stderr_contains(msg);
        let report = out.json();
        out.check(
            report["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains(msg)),
            &format!("error.message must contain {msg:?}"),
        );
    }
}

#[test]
fn config_bad_value_type_rejected_with_exit_2() {
    let env = TestEnv::new("cfg_badval");
    let workdir = env.workdir.display().to_string();
    let cfg = env.write_raw_config(
        "bad.toml",
        &format!(
            "{}\n[run]\nworkdir = \"{workdir}\"\nchunk_rows = \"ten\"\n",
            base_config(&env)
        ),
    );
    let out = env.cmd(&cfg, &["plan", "--json"]).run();
    out.assert_exit(2);
    out.assert_stderr_contains("chunk_rows");
    let out = env
        .cmd(
            &env.write_raw_config("broken.toml", "[source\nurl = 1\n"),
            &["plan"],
        )
        .run();
    out.assert_exit(2);
}

#[test]
fn cli_overrides_workers_and_chunk_rows() {
    let env = TestEnv::new("cli_over");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY); INSERT INTO t VALUES (1),(2),(3),(4),(5)",
    );
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY)");
    let out = env.my2pg(&["plan", "--loaders", "0"]);
    out.assert_exit(2)
        .assert_stderr_contains("--loaders must be between 1 and 64, not 0");
    let out = env.my2pg(&[
        "run",
        "--json",
        "--chunk-rows",
        "2",
        "--readers",
        "1",
        "--loaders",
        "1",
    ]);
    out.assert_ok();
    let report = out.json();
    assert_eq!(report["tables"][0]["chunks"], 3, "5 rows in chunks of 2");
    assert_eq!(env.pg_count("t"), 5);
}
