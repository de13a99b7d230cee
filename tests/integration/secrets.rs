//! A password given to my2pg never shows up in its output.

use crate::common::{TestEnv, OWNER_ROLE};

const PW: &str = "S3cr3t-pw-XYZ";

/// (description, config file, environment variables)
type Case<'a> = (&'a str, &'a std::path::Path, Vec<(&'a str, String)>);

fn assert_no_password(env: &TestEnv, out: &crate::common::TestOutput, what: &str) {
    out.check(
        !out.stdout.contains(PW),
        &format!("{what}: password in stdout"),
    );
    out.check(
        !out.stderr.contains(PW),
        &format!("{what}: password in stderr"),
    );
    // Percent-encoded or otherwise, the distinctive middle part must not leak.
    out.check(
        !out.stdout.contains("pw-XYZ") && !out.stderr.contains("pw-XYZ"),
        &format!("{what}: part of the password in output"),
    );
    // Nor in anything written to the work directory.
    for f in files(&env.workdir) {
        let data = std::fs::read(&f).unwrap_or_default();
        out.check(
            !String::from_utf8_lossy(&data).contains(PW),
            &format!("{what}: password written to {f}"),
        );
    }
}

fn files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

/// libpq also takes `?password=`: it must be treated as a password, not as a parameter.
fn with_query_password(url: &str, other_param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{other_param}&password={PW}")
}

#[test]
fn password_never_appears_in_any_output() {
    let env = TestEnv::new("secrets");
    env.mysql_exec("CREATE TABLE t (id int NOT NULL PRIMARY KEY); INSERT INTO t VALUES (1)");
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY)");
    // Trust auth ignores it; this is about redaction of what we pass in.
    env.pg_admin_exec(&format!("ALTER ROLE {OWNER_ROLE} PASSWORD '{PW}'"));

    let good = env.pg_owner_url_parts();
    let host = good
        .hostport
        .rsplit_once(':')
        .map(|(h, _)| h.to_string())
        .unwrap_or(good.hostport.clone());
    let wrong_port = crate::common::UrlParts {
        hostport: format!("{host}:1"),
        ..good.clone()
    };
    let wrong_db = good.with_db(&format!("{}_missing", env.name));
    let pw_in_url = crate::common::UrlParts {
        password: Some(PW.to_string()),
        ..wrong_port.clone()
    };
    let pw_in_url_wrong_db = crate::common::UrlParts {
        password: Some(PW.to_string()),
        ..wrong_db.clone()
    };
    let my = crate::common::UrlParts::parse(&env.mysql_url());
    let my_host = my
        .hostport
        .rsplit_once(':')
        .map(|(h, _)| h.to_string())
        .unwrap_or(my.hostport.clone());
    let my_wrong_port = crate::common::UrlParts {
        hostport: format!("{my_host}:1"),
        ..my.clone()
    };
    let my_pw_in_url = crate::common::UrlParts {
        password: Some(PW.to_string()),
        ..my.clone()
    };

    let pw_file = env.dir.join("pg-password");
    std::fs::write(&pw_file, format!("{PW}\n")).unwrap();
    let cfg = env.write_config("");
    let cfg_file = env.write_config_as("with-password-file.toml", "public", &env.workdir, "");
    // Add password_file to [target] of the second config.
    let text = std::fs::read_to_string(&cfg_file).unwrap().replacen(
        "schema = \"public\"\n",
        &format!(
            "schema = \"public\"\npassword_file = \"{}\"\n",
            pw_file.display()
        ),
        1,
    );
    std::fs::write(&cfg_file, text).unwrap();

    let cases: Vec<Case> = vec![
        (
            "target password env + unreachable port",
            &cfg,
            vec![
                ("MY2PG_TARGET_PASSWORD", PW.to_string()),
                ("MY2PG_TARGET_URL", wrong_port.render()),
            ],
        ),
        (
            "target password env + missing database",
            &cfg,
            vec![
                ("MY2PG_TARGET_PASSWORD", PW.to_string()),
                ("MY2PG_TARGET_URL", wrong_db.render()),
            ],
        ),
        (
            "target password in URL + unreachable port",
            &cfg,
            vec![("MY2PG_TARGET_URL", pw_in_url.render())],
        ),
        (
            "target password in URL + missing database",
            &cfg,
            vec![("MY2PG_TARGET_URL", pw_in_url_wrong_db.render())],
        ),
        (
            "target password in a URL query parameter + unreachable port",
            &cfg,
            vec![(
                "MY2PG_TARGET_URL",
                with_query_password(&wrong_port.render(), "application_name=my2pg"),
            )],
        ),
        (
            "source password in a URL query parameter rejected by server",
            &cfg,
            vec![(
                "MY2PG_SOURCE_URL",
                with_query_password(&my.render(), "prefer_socket=false"),
            )],
        ),
        (
            "target password_file + unreachable port",
            &cfg_file,
            vec![("MY2PG_TARGET_URL", wrong_port.render())],
        ),
        (
            "source password env + unreachable port",
            &cfg,
            vec![
                ("MY2PG_SOURCE_PASSWORD", PW.to_string()),
                ("MY2PG_SOURCE_URL", my_wrong_port.render()),
            ],
        ),
        (
            "source password env rejected by server",
            &cfg,
            vec![("MY2PG_SOURCE_PASSWORD", PW.to_string())],
        ),
        (
            "source password in URL rejected by server",
            &cfg,
            vec![("MY2PG_SOURCE_URL", my_pw_in_url.render())],
        ),
    ];
    for (what, config, vars) in &cases {
        for args in [
            &["plan", "--json", "-v"][..],
            &["run", "--json", "-v"][..],
            &["run", "-v"][..],
        ] {
            let mut cmd = env.cmd(config, args);
            for (k, v) in vars {
                cmd = cmd.env(k, v);
            }
            let out = cmd.run();
            // A database the server does not have, or a password it refuses, is a config
            // mistake; an unreachable server is not.
            let config = what.contains("missing database") || what.contains("rejected by server");
            out.assert_exit(if config { 2 } else { 1 });
            assert_no_password(&env, &out, what);
            if args.contains(&"--json") {
                let report = out.json();
                out.check(
                    report["ok"] == false,
                    &format!("{what}: report.ok must be false"),
                );
            }
        }
    }
    assert_eq!(env.pg_count("t"), 0);
    env.pg_admin_exec(&format!("ALTER ROLE {OWNER_ROLE} PASSWORD NULL"));
}

/// A password my2pg never got to parse still never shows: a TOML syntax error quotes the
/// config line holding it, and unencoded `/` or `?` break the URL apart.
#[test]
fn unparsed_passwords_in_urls_never_appear() {
    let env = TestEnv::new("secrets_raw");
    let wd = env.workdir.display().to_string();
    for (what, url) in [
        (
            "toml escape error",
            "mysql://root:S3cr3t\\q-pw-XYZ@127.0.0.1:1/x".to_string(),
        ),
        (
            "slash in password",
            format!("mysql://root:S3cr3t/{PW}@127.0.0.1:1/x"),
        ),
        (
            "question mark in password",
            format!("mysql://root:S3?{PW}@127.0.0.1:1/x"),
        ),
        // Quotes and spaces end a TOML string or a URL token early.
        (
            "double quote in password",
            "mysql://root:S3cr3t\"Pw7x@127.0.0.1:1/x".to_string(),
        ),
        (
            "space and backslash in password",
            "mysql://root:S3cr3t S3cret\\plugh@127.0.0.1:1/x".to_string(),
        ),
        (
            "backslash and single quote in password",
            "mysql://root:S3cr3t\\S3cret'plugh@127.0.0.1:1/x".to_string(),
        ),
    ] {
        let cfg = env.write_raw_config(
            "raw.toml",
            &format!(
                "[source]\nurl = \"{url}\"\n[target]\nurl = \"postgres://u:{PW}?x@127.0.0.1:1/db\"\n[run]\nworkdir = \"{wd}\"\n"
            ),
        );
        for cmd in ["plan", "run"] {
            let out = env.cmd(&cfg, &[cmd, "--json"]).run();
            out.check(
                out.code != Some(0),
                &format!("{what}: {cmd} cannot succeed"),
            );
            assert_no_password(&env, &out, &format!("{what}, {cmd}"));
            out.check(
                !out.stderr.contains("S3cr3t") && !out.stdout.contains("S3cr3t"),
                &format!("{what}, {cmd}: the start of the password shows"),
            );
            for part in ["Pw7x", "S3cret", "plugh"] {
                out.check(
                    !out.stderr.contains(part) && !out.stdout.contains(part),
                    &format!("{what}, {cmd}: part of the password shows"),
                );
            }
        }
    }
}

/// The scrubbing keeps the report whole: a short password is not cut out of words or JSON
/// numbers (the `--json` document stays valid), and a password equal to its user name is
/// not scrubbed from the name the operator needs (Vendure trial: `"exit_code": ***`,
/// `e***isting_rows`, and `user '***'`, which told the password was the user name).
#[test]
fn scrubbing_a_short_password_keeps_the_report_whole() {
    let env = TestEnv::new("secrets_short");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, existing_x int); INSERT INTO t VALUES (2, 2)",
    );
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY, existing_x integer)");
    let cfg = env.write_config("");
    // Trust auth accepts any target password.
    for pw in ["2", "x"] {
        let out = env
            .cmd(&cfg, &["plan", "--json"])
            .env("MY2PG_TARGET_PASSWORD", pw)
            .run();
        out.assert_ok();
        let report = out.json();
        out.check(
            report["exit_code"] == 0 && report["tables"][0]["columns"][1]["source"] == "existing_x",
            &format!("password {pw}: the JSON report is whole"),
        );
        out.assert_stderr_contains("existing_x int(11) -> existing_x integer");
    }
    // root's password is empty here: "root" is refused, and the message names the user.
    let out = env
        .cmd(&cfg, &["plan"])
        .env("MY2PG_SOURCE_PASSWORD", "root")
        .run();
    // A config mistake (exit 2), printed as the mysql client prints it.
    out.assert_exit(2).assert_stderr_contains(
        "error: config: cannot connect to the source database mysql://root@",
    );
    out.assert_stderr_contains("ERROR 1045 (28000): Access denied for user 'root'@");
}

/// A refused password says where it came from (env var, file, URL, or none), never what
/// it was: with three places to give one, the operator must know which one won.
#[test]
fn a_refused_password_names_where_it_came_from() {
    let env = TestEnv::new("secrets_source");
    env.mysql_exec("CREATE TABLE t (id int NOT NULL PRIMARY KEY)");
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY)");
    let url = crate::common::UrlParts::parse(&env.mysql_url());
    let user = format!("m2p_pwsrc_{}", std::process::id());
    env.mysql_exec(&format!(
        "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'Right9pw'; \
         GRANT SELECT ON `{db}`.* TO '{user}'@'%'",
        db = url.path
    ));
    let pw_file = env.dir.join("source.pw");
    std::fs::write(&pw_file, "Wrong7file\n").unwrap();
    let config = |name: &str, password: Option<&str>, file: bool| {
        let src = crate::common::UrlParts {
            user: Some(user.clone()),
            password: password.map(str::to_string),
            ..url.clone()
        };
        let file_line = if file {
            format!("password_file = \"{}\"\n", pw_file.display())
        } else {
            String::new()
        };
        env.write_raw_config(
            name,
            &format!(
                "[source]\nurl = \"{}\"\n{file_line}[target]\nurl = \"{}\"\n[run]\nworkdir = \"{}\"\n",
                src.render(),
                env.pg_owner_url(),
                env.workdir.display()
            ),
        )
    };
    let denied = format!("ERROR 1045 (28000): Access denied for user '{user}'@");
    let cases: [(&str, std::path::PathBuf, Option<&str>, &str); 5] = [
        (
            "url",
            config("url.toml", Some("Wrong1url"), false),
            None,
            "(using password: YES) (the password came from the URL)",
        ),
        (
            "file beats the URL",
            config("file.toml", Some("Right9pw"), true),
            None,
            &format!(
                "(using password: YES) (the password came from source.password_file {})",
                pw_file.display()
            ),
        ),
        (
            "env beats the file",
            config("env.toml", None, true),
            Some("Wrong3env"),
            "(using password: YES) (the password came from MY2PG_SOURCE_PASSWORD)",
        ),
        (
            "none",
            config("none.toml", None, false),
            None,
            "(using password: NO) (no password was given: set MY2PG_SOURCE_PASSWORD or \
             source.password_file)",
        ),
        (
            "env right, url wrong",
            config("ok.toml", Some("Wrong1url"), false),
            Some("Right9pw"),
            "",
        ),
    ];
    let mut outs = Vec::new();
    for (what, cfg, env_pw, _) in &cases {
        let mut cmd = env.cmd(cfg, &["plan"]);
        if let Some(pw) = env_pw {
            cmd = cmd.env("MY2PG_SOURCE_PASSWORD", pw);
        }
        outs.push((*what, cmd.run()));
    }
    env.mysql_exec(&format!("DROP USER IF EXISTS '{user}'@'%'"));
    for ((what, out), (_, _, _, want)) in outs.iter().zip(&cases) {
        if want.is_empty() {
            out.assert_ok();
            continue;
        }
        out.assert_exit(2);
        out.assert_stderr_contains(&denied);
        out.assert_stderr_contains(want);
        for pw in ["Wrong1url", "Wrong7file", "Wrong3env", "Right9pw"] {
            out.check(
                !out.stderr.contains(pw) && !out.stdout.contains(pw),
                &format!("{what}: a password shows"),
            );
        }
    }
}

/// A password file that is empty is refused (it would log in without a password, and the
/// server's refusal would not say why); one other users can read is named with the fix
/// (the operator-night trial: both went without a word).
#[test]
fn an_empty_or_readable_password_file_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new("secrets_pwfile");
    env.mysql_exec("CREATE TABLE t (id int NOT NULL PRIMARY KEY)");
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY)");
    let pw = env.dir.join("target.pw");
    let cfg = env.write_raw_config(
        "pwfile.toml",
        &format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\npassword_file = \"{}\"\n[run]\nworkdir = \"{}\"\n",
            env.mysql_url(),
            env.pg_owner_url(),
            pw.display(),
            env.workdir.display()
        ),
    );
    std::fs::write(&pw, "\n").unwrap();
    env.cmd(&cfg, &["plan"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains(&format!(
            "error: config: target.password_file: {} is empty: put the password in it",
            pw.display()
        ));
    // Trust auth accepts any password: the plan goes on, with the warning.
    std::fs::write(&pw, "Readable5pw\n").unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.cmd(&cfg, &["plan"]).run();
    out.assert_ok().assert_stderr_contains(&format!(
        "target.password_file: {} can be read by other users (mode 644): `chmod 600` it",
        pw.display()
    ));
    out.check(!out.stderr.contains("Readable5pw"), "the password shows");
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = env.cmd(&cfg, &["plan"]).run();
    out.assert_ok();
    out.check(
        !out.stderr.contains("can be read by other users"),
        "a 0600 file is not warned about",
    );
}
