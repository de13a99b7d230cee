//! Passwords never reach a log line: `Secret` prints as `***`, and `Dsn` keeps the
//! password out of the URL it displays.

use std::fmt;

#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How to write a password a URL cannot hold as it is.
pub const ENCODE_HINT: &str = "a user name or password in the URL holds a character URLs \
    reserve: percent-encode it (@ as %40, / as %2F, ? as %3F, # as %23, % as %25, : as %3A), \
    or give the password in MY2PG_SOURCE_PASSWORD / MY2PG_TARGET_PASSWORD or \
    password_file instead";

/// A connection URL split into the part that may be shown and the password.
#[derive(Clone)]
pub struct Dsn {
    /// The URL with any password removed: safe to print.
    shown: String,
    /// The URL as given, password included: only handed to drivers.
    full: String,
    password: Option<Secret>,
    /// Where the password came from (never the password): an access-denied error says
    /// which of several sources won, and so which one to fix.
    password_from: String,
}

impl Dsn {
    /// Parses `scheme://user[:password]@host[:port]/db[?params]`; a password given
    /// separately (env var or file) wins over one in the URL.
    pub fn parse(url: &str, password: Option<Secret>) -> Result<Dsn, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| "expected a URL like scheme://user@host:port/db".to_string())?;
        let (authority, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        // `?password=` is a password too (libpq reads it): taken out of both URLs.
        let (tail, query_password, query_bare) = take_query_password(tail);
        if query_bare {
            return Err(ENCODE_HINT.to_string());
        }
        let (userinfo, host) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        // An `@` after the host part: a password holding an unencoded `/`, `?` or `#`
        // split the URL early, and its tail would be shown as the host and database.
        let port_not_a_number = userinfo.is_none()
            && authority
                .rsplit_once(':')
                .is_some_and(|(_, p)| !p.chars().all(|c| c.is_ascii_digit()));
        if tail.contains('@') && (userinfo.is_some_and(|u| u.contains(':')) || port_not_a_number) {
            return Err(ENCODE_HINT.to_string());
        }
        let (user, url_password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((_, pw)) if holds_a_bare_percent(pw) => return Err(ENCODE_HINT.to_string()),
                Some((user, pw)) => (Some(user), Some(percent_decode(pw))),
                None => (Some(u), None),
            },
            None => (None, None),
        };
        let password_from = match (&password, &url_password, &query_password) {
            (Some(_), _, _) => "given separately",
            (None, Some(_), _) => "the URL",
            (None, None, Some(_)) => "the URL's `password` parameter",
            (None, None, None) => "",
        }
        .to_string();
        let password = password
            .or_else(|| url_password.map(Secret::new))
            .or_else(|| query_password.map(Secret::new));
        let user_part = user.map(|u| format!("{u}@")).unwrap_or_default();
        let shown = format!("{scheme}://{user_part}{host}{tail}");
        let full = match &password {
            Some(pw) => format!(
                "{scheme}://{}:{}@{host}{tail}",
                user.unwrap_or(""),
                percent_encode(pw.expose())
            ),
            None => shown.clone(),
        };
        Ok(Dsn {
            shown,
            full,
            password,
            password_from,
        })
    }

    /// Names where a password given separately came from (an env var, a file).
    pub fn password_from(mut self, source: impl Into<String>) -> Dsn {
        if self.password_from == "given separately" {
            self.password_from = source.into();
        }
        self
    }

    /// Where the password came from, for an access-denied message ("" when none was given).
    pub fn password_source(&self) -> &str {
        &self.password_from
    }

    pub fn full_url(&self) -> &str {
        &self.full
    }
    /// The user name the URL gives, decoded.
    pub fn user(&self) -> Option<String> {
        let rest = self.shown.split_once("://")?.1;
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        let at = authority.rfind('@')?;
        Some(percent_decode(&authority[..at]))
    }

    pub fn password(&self) -> Option<&Secret> {
        self.password.as_ref()
    }
}

impl fmt::Display for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dsn({})", self.shown)
    }
}

/// Splits `password=...` parameters off a URL's path-and-query part.
/// Also says whether a password parameter holds a `%` that starts no escape.
fn take_query_password(tail: &str) -> (String, Option<String>, bool) {
    let Some((path, query)) = tail.split_once('?') else {
        return (tail.to_string(), None, false);
    };
    let mut password = None;
    let mut bare = false;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|param| {
            let key = param.split_once('=').map_or(*param, |(k, _)| k);
            if percent_decode(key).eq_ignore_ascii_case("password") {
                let raw = param.split_once('=').map_or("", |(_, v)| v);
                bare |= holds_a_bare_percent(raw);
                if password.is_none() {
                    password = Some(percent_decode(raw));
                }
                false
            } else {
                true
            }
        })
        .collect();
    let tail = if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    (tail, password, bare)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        // Bytes, not a str slice: a `%` before a multi-byte character must not split it.
        if let Some(v) = escaped_byte(b, i) {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The byte `%XX` at `i` stands for.
fn escaped_byte(b: &[u8], i: usize) -> Option<u8> {
    if b.get(i) != Some(&b'%') {
        return None;
    }
    let hex = |c: u8| (c as char).to_digit(16);
    Some((hex(*b.get(i + 1)?)? * 16 + hex(*b.get(i + 2)?)?) as u8)
}

/// A `%` that does not start an escape: the password was not percent-encoded, and read
/// as it is it would be refused by the server as a wrong password (the operator-night
/// trial: `Pw%ZZ...` met "Access denied").
fn holds_a_bare_percent(s: &str) -> bool {
    let b = s.as_bytes();
    (0..b.len()).any(|i| b[i] == b'%' && escaped_byte(b, i).is_none())
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `scheme://user:password@...` anywhere in `text` loses its password, even one that was
/// never parsed (a TOML syntax error quotes the config line; an unencoded `/` or `?` in
/// a password breaks the URL apart). The password runs to the last `@` of the token.
fn scrub_url_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let token_end = tail
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '`')
            .unwrap_or(tail.len());
        let token = &tail[..token_end];
        let user_end = token.find([':', '/', '@']).unwrap_or(token.len());
        match (token[user_end..].starts_with(':'), token.rfind('@')) {
            (true, Some(at)) if at > user_end => {
                out.push_str(&token[..user_end]);
                out.push_str(":***");
                out.push_str(&token[at..]);
            }
            _ => out.push_str(token),
        }
        rest = &tail[token_end..];
    }
    out.push_str(rest);
    out
}

/// Last line of defence at the CLI edge: scrub every known secret from text. Only an
/// occurrence that stands alone counts: one inside a longer word (a letter, digit or `_`
/// right before or after it, where the secret itself begins or ends with one) is left,
/// so a short password does not cut the report's words apart (Vendure trial: password
/// `x` printed `e***isting_rows`).
pub fn redact(text: &str, secrets: &[&Secret]) -> String {
    let mut out = scrub_url_passwords(text);
    for s in secrets {
        if !s.is_empty() {
            out = replace_standalone(&out, s.expose());
            let enc = percent_encode(s.expose());
            if enc != s.expose() {
                out = replace_standalone(&out, &enc);
            }
        }
    }
    out
}

/// `redact` for a JSON document: each string value is decoded, scrubbed and written
/// again, so the document stays valid whatever the password holds (a quote or a
/// backslash is escaped in the text: the attack's `"***\",`; Vendure trial's
/// `"exit_code": ***`); object keys are left as they are, so `ok` stays `ok`.
pub fn redact_json(json: &str, secrets: &[&Secret]) -> String {
    let mut out = String::with_capacity(json.len());
    let mut rest = json;
    while let Some(open) = rest.find('"') {
        out.push_str(&rest[..open]);
        let body = &rest[open + 1..];
        // The closing quote: the first one no backslash escapes.
        let mut close = None;
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    close = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(close) = close else {
            // Not JSON after all: scrubbed as text.
            out.push_str(&redact(&rest[open..], secrets));
            return out;
        };
        let literal = &rest[open..open + close + 2];
        rest = &rest[open + close + 2..];
        let is_key = rest.trim_start().starts_with(':');
        match serde_json::from_str::<String>(literal) {
            Ok(_) if is_key => out.push_str(literal),
            Ok(value) => {
                let scrubbed = redact(&value, secrets);
                if scrubbed == value {
                    out.push_str(literal);
                } else {
                    out.push_str(
                        &serde_json::to_string(&scrubbed).unwrap_or_else(|_| "\"***\"".into()),
                    );
                }
            }
            Err(_) => out.push_str(&redact(literal, secrets)),
        }
    }
    out.push_str(rest);
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Replaces each occurrence of `needle` in `text` that is not part of a longer word.
fn replace_standalone(text: &str, needle: &str) -> String {
    let starts_word = needle.chars().next().is_some_and(is_word);
    let ends_word = needle.chars().next_back().is_some_and(is_word);
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    let mut search = 0;
    while let Some(pos) = text[search..].find(needle) {
        let start = search + pos;
        let end = start + needle.len();
        let joined_before = starts_word && text[..start].chars().next_back().is_some_and(is_word);
        let joined_after = ends_word && text[end..].chars().next().is_some_and(is_word);
        if joined_before || joined_after {
            // Go on one character later: an overlapping occurrence may stand alone.
            search = start + text[start..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        out.push_str(&text[from..start]);
        out.push_str("***");
        from = end;
        search = end;
    }
    out.push_str(&text[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsn_with_url_password_never_shows_it() {
        let d = Dsn::parse("mysql://app:pa%40ss@db:3306/app?x=1", None).unwrap();
        assert_eq!(d.to_string(), "mysql://app@db:3306/app?x=1");
        assert_eq!(format!("{d:?}"), "Dsn(mysql://app@db:3306/app?x=1)");
        assert_eq!(d.password().unwrap().expose(), "pa@ss");
        assert_eq!(d.full_url(), "mysql://app:pa%40ss@db:3306/app?x=1");
    }

    #[test]
    fn dsn_query_password_is_taken_out_of_the_url() {
        let d = Dsn::parse(
            "postgres://app@db:5432/main?sslmode=disable&password=S3%26cr&application_name=x",
            None,
        )
        .unwrap();
        assert_eq!(
            d.to_string(),
            "postgres://app@db:5432/main?sslmode=disable&application_name=x"
        );
        assert_eq!(d.password().unwrap().expose(), "S3&cr");
        assert_eq!(
            d.full_url(),
            "postgres://app:S3%26cr@db:5432/main?sslmode=disable&application_name=x"
        );
        let only = Dsn::parse("mysql://root@h/db?PASSWORD=pw", None).unwrap();
        assert_eq!(only.to_string(), "mysql://root@h/db");
        assert_eq!(only.full_url(), "mysql://root:pw@h/db");
        let userinfo_wins = Dsn::parse("mysql://root:a@h/db?password=b", None).unwrap();
        assert_eq!(userinfo_wins.password().unwrap().expose(), "a");
        assert_eq!(userinfo_wins.to_string(), "mysql://root@h/db");
    }

    /// A `%` that starts no escape is refused as unencoded (libpq does the same), not sent
    /// as it is (the operator-night trial: `Pw%ZZ` met "Access denied"); a `%` before a
    /// multi-byte character no longer splits it (a panic).
    #[test]
    fn a_bare_percent_in_a_url_password_is_refused() {
        for url in [
            "mysql://u:Pw%ZZx@h/db",
            "mysql://u:a%\u{e9}b@h/db",
            "mysql://u:100%@h/db",
            "mysql://u@h/db?password=pa%zz",
            "postgres://u@h/db?sslmode=disable&password=pa%2",
        ] {
            assert_eq!(
                Dsn::parse(url, None).err().as_deref(),
                Some(ENCODE_HINT),
                "{url}"
            );
        }
        let d = Dsn::parse("mysql://u:100%25%C3%A9@h/db", None).unwrap();
        assert_eq!(d.password().unwrap().expose(), "100%\u{e9}");
        assert_eq!(percent_decode("%a\u{e9}%41"), "%a\u{e9}A");
    }

    /// Superset trial: `pg@Secret/x` unencoded showed `postgres@Secret/x@127.0.0.1...`.
    #[test]
    fn an_unencoded_slash_in_a_url_password_is_refused_without_showing_it() {
        for url in [
            "postgres://postgres:pg@Secret/x@127.0.0.1:54017/db",
            "mysql://app:a?b@c@db:3306/app",
        ] {
            assert_eq!(Dsn::parse(url, None).err().as_deref(), Some(ENCODE_HINT));
        }
        // An @ in the database name alone, without a password, is left as given.
        let d = Dsn::parse("postgres://app@db:5432/x@y", None).unwrap();
        assert_eq!(d.to_string(), "postgres://app@db:5432/x@y");
    }

    #[test]
    fn dsn_separate_password_wins_and_is_encoded() {
        let d = Dsn::parse("postgres://o@h:5/db", Some(Secret::new("a b/c"))).unwrap();
        assert_eq!(d.to_string(), "postgres://o@h:5/db");
        assert_eq!(d.full_url(), "postgres://o:a%20b%2Fc@h:5/db");
    }

    #[test]
    fn url_passwords_are_scrubbed_even_unparsed() {
        let r = |t: &str| redact(t, &[]);
        assert_eq!(
            r("line 2: url = \"mysql://app:Zq9SECRET\\q7x@db:3306/app\" invalid escape"),
            "line 2: url = \"mysql://app:***@db:3306/app\" invalid escape"
        );
        assert_eq!(
            r("source.url mysql://h5_pw:Zq9SECRET/e3@127.0.0.1:3306/h5_src: Parse"),
            "source.url mysql://h5_pw:***@127.0.0.1:3306/h5_src: Parse"
        );
        assert_eq!(
            r("postgres://postgres:PG?SEC@RET@h:5/db&sslmode=prefer"),
            "postgres://postgres:***@h:5/db&sslmode=prefer"
        );
        // No password, a port, a path with @: left alone.
        assert_eq!(r("mysql://app@db:3306/a"), "mysql://app@db:3306/a");
        assert_eq!(r("postgres://db:5432/x"), "postgres://db:5432/x");
        assert_eq!(
            r("see https://example.org/a@b"),
            "see https://example.org/a@b"
        );
        assert_eq!(
            r("two mysql://a:x@h and pg://b:y@k"),
            "two mysql://a:***@h and pg://b:***@k"
        );
    }

    #[test]
    fn redact_removes_plain_and_encoded_forms() {
        let s = Secret::new("p w");
        assert_eq!(redact("x p w y p%20w", &[&s]), "x *** y ***");
        assert_eq!(format!("{s:?} {s}"), "*** ***");
    }

    /// A short password does not cut words apart; standing alone it is still scrubbed,
    /// and so is one beginning or ending with a character that is not a letter.
    #[test]
    fn redact_scrubs_only_occurrences_that_stand_alone() {
        let x = Secret::new("x");
        assert_eq!(
            redact("set existing_rows, x, run.exclude: x", &[&x]),
            "set existing_rows, ***, run.exclude: ***"
        );
        let s = Secret::new("s3cret");
        assert_eq!(
            redact("pw=s3cret; s3crets s3cret_x (s3cret)", &[&s]),
            "pw=***; s3crets s3cret_x (***)"
        );
        let p = Secret::new("!pa");
        assert_eq!(redact("x!pa !pay", &[&p]), "x*** !pay");
        // An occurrence inside a longer word, then one standing alone after it.
        let a = Secret::new("aa");
        assert_eq!(redact("aaa aa", &[&a]), "aaa ***");
    }

    /// In a JSON document only strings are scrubbed, in their escaped form too: numbers,
    /// keys' syntax and literals stay valid.
    #[test]
    fn redact_json_keeps_the_document_valid() {
        let two = Secret::new("2");
        let doc = r#"{"exit_code": 2, "rows": [2, 22], "message": "wave 2 of 2x", "ok": true}"#;
        let out = redact_json(doc, &[&two]);
        assert_eq!(
            out,
            r#"{"exit_code": 2, "rows": [2, 22], "message": "wave *** of 2x", "ok": true}"#
        );
        assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
        // Quotes and backslashes, escaped in the document: scrubbed in the value, and the
        // document stays valid (the attack: a password ending in a backslash).
        for pw in [r#"a"b\c"#, r"Secret\", r"\", "\"", "\t"] {
            let q = Secret::new(pw);
            let doc = serde_json::json!({
                "error": format!("denied for {pw}"),
                "n": 1,
                "source": format!("x{pw}y"),
            })
            .to_string();
            let out = redact_json(&doc, &[&q]);
            let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
            assert_eq!(v["error"], "denied for ***", "{pw:?}: {out}");
            assert_eq!(v["n"], 1);
        }
        // A password that is also a key leaves the key alone.
        let ok = Secret::new("ok");
        let out = redact_json(r#"{"ok": true, "message": "ok then"}"#, &[&ok]);
        assert_eq!(out, r#"{"ok": true, "message": "*** then"}"#);
    }

    #[test]
    fn the_user_name_is_read_from_the_url() {
        let d = Dsn::parse("mysql://app%40x:pw@db:3306/app", None).unwrap();
        assert_eq!(d.user().as_deref(), Some("app@x"));
        let d = Dsn::parse("postgres://db/app", None).unwrap();
        assert_eq!(d.user(), None);
    }
}
