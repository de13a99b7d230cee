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

/// A host that accepts the connection and never answers (a stuck proxy) fails the
/// command within the connect timeout, naming the side, instead of hanging it.
#[test]
fn a_server_that_never_answers_fails_the_command_within_the_connect_timeout() {
    let env = TestEnv::new("cfg_silent");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    // Accepts and holds every connection, says nothing.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let text = base_config(&env);
    let url = crate::common::UrlParts::parse(&env.mysql_url());
    let silent = format!("mysql://root@127.0.0.1:{port}/{}", url.path);
    let cfg = env.write_raw_config("silent.toml", &text.replace(&url.render(), &silent));
    let out = env
        .cmd(&cfg, &["plan"])
        .env("MY2PG_CONNECT_TIMEOUT", "2")
        .run();
    out.assert_exit(1).assert_stderr_contains(&format!(
        "mysql://root@127.0.0.1:{port}/{}: no answer within 2 s (the host is unreachable, \
         or something accepted the connection and never completed the handshake: check the \
         host and port)",
        url.path
    ));
    // A value that is not a number of seconds is said, not silently replaced.
    let ok = env.write_raw_config("ok.toml", &text);
    env.mysql_exec("CREATE TABLE t (id int NOT NULL PRIMARY KEY)");
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY)");
    env.cmd(&ok, &["plan"])
        .env("MY2PG_CONNECT_TIMEOUT", "1.5")
        .run()
        .assert_ok()
        .assert_stderr_contains(
            "MY2PG_CONNECT_TIMEOUT=\"1.5\" is not a whole number of seconds above 0: \
             connections time out after 30 s",
        );
}

/// A database name the server does not have is a config mistake (exit 2, as a wrong
/// target schema is), on either side; MySQL's error reads as its own client prints it
/// (the attack: exit 1, and the driver's text left a quote unclosed).
#[test]
fn a_database_the_server_does_not_have_is_a_config_mistake() {
    let env = TestEnv::new("cfg_no_db");
    let cfg = env.write_config("");
    let text = std::fs::read_to_string(&cfg).expect("read config");
    let from = format!("/{}\"", env.name);
    let to = format!("/{}_nope\"", env.name);
    let (source_url, target_url) = text.split_once("[target]").expect("[target] section");
    let wrong_source = format!("{}[target]{target_url}", source_url.replace(&from, &to));
    std::fs::write(&cfg, &wrong_source).expect("write config");
    env.cmd(&cfg, &["plan"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains(&format!(
            "error: config: cannot connect to the source database {}_nope: ERROR 1049 \
             (42000): Unknown database '{}_nope'",
            env.mysql_url(),
            env.name
        ));
    let wrong_target = format!("{source_url}[target]{}", target_url.replace(&from, &to));
    std::fs::write(&cfg, &wrong_target).expect("write config");
    env.cmd(&cfg, &["plan"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains(&format!(
            "error: config: cannot connect to the target database {}_nope: FATAL: database \
             \"{}_nope\" does not exist",
            env.pg_owner_url(),
            env.name
        ));
}
