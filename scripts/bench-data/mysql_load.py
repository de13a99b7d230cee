#!/usr/bin/env python3
"""Load the generated bench dataset into MariaDB, fast at any scale.

    mysql_load.py SCHEMA.sql DATA_DIR DB

(Re)creates database DB and loads DATA_DIR/<table>.tsv (generate.py output,
sorted by primary key by scripts/bench) with LOAD DATA LOCAL INFILE. To stay
fast with a small InnoDB buffer pool (the machine's MariaDB runs with the
128 MB default), tables are created with their primary key only (plus the
unique key an AUTO_INCREMENT column needs), rows arrive in primary-key order,
and the secondary/unique keys and foreign keys of SCHEMA.sql are added
afterwards with one ALTER TABLE per table (sorted index builds; with
foreign_key_checks=0 the FKs are added in place, as the application's data is
trusted to be consistent, like a restored dump). The resulting tables have
exactly the definitions of SCHEMA.sql. Any load warning is an error; row counts
are checked against DATA_DIR/manifest.json.

Connects to root@127.0.0.1:$BENCH_MY_PORT (empty password).
"""

import json
import os
import re
import subprocess
import sys
import time


def split_schema(text):
    """(pre-data SQL, post-data SQL): tables with PK (+ AUTO_INCREMENT keys) only, then
    ALTER TABLE ... ADD every other key and constraint, then the other statements."""
    pre, post_tables, post_other = [], [], []
    stmts = [s.strip() for s in re.split(r";\s*(?:--[^\n]*)?\n", text + "\n")]
    for st in stmts:
        body = "\n".join(l for l in st.splitlines() if not l.strip().startswith("--")).strip()
        if not body:
            continue
        m = re.match(r"CREATE TABLE `([^`]+)` \((.*)\)([^()]*)$", body, re.S)
        if not m:
            (pre if body.upper().startswith("SET ") else post_other).append(body + ";")
            continue
        name, inner, tail = m.groups()
        lines = [l.strip().rstrip(",") for l in inner.strip().splitlines() if l.strip()]
        autoinc = {re.match(r"`([^`]+)`", l).group(1) for l in lines if "AUTO_INCREMENT" in l}
        keep, move = [], []
        for l in lines:
            if l.startswith("`") or l.startswith("PRIMARY KEY"):
                keep.append(l)
            elif l.startswith("UNIQUE KEY") and set(re.findall(r"`([^`]+)`", l.split("(", 1)[1])) <= autoinc \
                    and autoinc:
                keep.append(l)
            elif l.startswith(("KEY", "UNIQUE KEY", "CONSTRAINT", "INDEX", "FULLTEXT")):
                move.append(l)
            else:
                keep.append(l)
        pre.append("CREATE TABLE `%s` (\n  %s\n)%s;" % (name, ",\n  ".join(keep), tail))
        if move:
            post_tables.append("ALTER TABLE `%s` %s;" % (name, ", ".join("ADD " + l for l in move)))
    return "\n".join(pre), post_tables + post_other


def main():
    schema, data, db = sys.argv[1:4]
    port = os.environ.get("BENCH_MY_PORT", "3306")
    cli = ["mariadb", "--no-defaults", "--protocol=TCP", "-h127.0.0.1", "-P" + port, "-uroot",
           "--default-character-set=utf8mb4", "--local-infile=1", "--batch", "--skip-column-names",
           "--unbuffered"]
    manifest = json.load(open(os.path.join(data, "manifest.json")))
    pre, post = split_schema(open(schema).read())

    sql = ["DROP DATABASE IF EXISTS `%s`;" % db,
           "CREATE DATABASE `%s` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;" % db,
           "USE `%s`;" % db, pre,
           "SET foreign_key_checks=0; SET unique_checks=1; "
           "SET sql_mode='STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO';"]
    for t in manifest["tables"]:
        path = os.path.join(os.path.abspath(data), t["file"]).replace("\\", "\\\\").replace("'", "\\'")
        cols = ", ".join("`%s`" % c for c in t["columns"])
        sql.append("SELECT 'step', 'load %s (%d rows)';" % (t["name"], t["rows"]))
        sql.append("LOAD DATA LOCAL INFILE '%s' INTO TABLE `%s` CHARACTER SET binary "
                   "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (%s);"
                   % (path, t["name"], cols))
        sql.append("SELECT 'load', '%s', @@warning_count;" % t["name"])
        sql.append("SHOW WARNINGS LIMIT 5;")
    for st in post:
        sql.append("SELECT 'step', %s;" % ("'" + st.split(" ADD ")[0].replace("'", "") + " (keys, FKs)'"
                                            if st.startswith("ALTER TABLE") else "'post-data statement'"))
        sql.append(st)
        sql.append("SHOW WARNINGS LIMIT 5;")
    sql.append("SET foreign_key_checks=1;")
    for t in manifest["tables"]:
        sql.append("SELECT 'count', '%s', COUNT(*) FROM `%s`;" % (t["name"], t["name"]))
    p = subprocess.Popen(cli, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    p.stdin.write("\n".join(sql) + "\n")
    p.stdin.close()
    t0 = time.time()
    ok, got = True, {}
    for line in p.stdout:
        f = line.rstrip("\n").split("\t")
        if f[0] == "step":
            print("  t+%4.0fs %s" % (time.time() - t0, f[1]), file=sys.stderr, flush=True)
        elif f[0] == "load" and f[2] != "0":
            print("mysql_load.py: %s: %s load warnings" % (f[1], f[2]), file=sys.stderr)
            ok = False
        elif f[0] in ("Warning", "Error", "Note"):
            print("mysql_load.py:   " + line.rstrip(), file=sys.stderr)
            ok = False
        elif f[0] == "count":
            got[f[1]] = int(f[2])
    if p.wait() != 0:
        sys.exit("mysql_load.py: the mariadb client failed (exit %d)" % p.returncode)
    for t in manifest["tables"]:
        if got.get(t["name"]) != t["rows"]:
            print("mysql_load.py: %s: %s rows, expected %d" % (t["name"], got.get(t["name"]), t["rows"]),
                  file=sys.stderr)
            ok = False
    if not ok:
        sys.exit(1)
    print("mysql_load.py: %d tables, %d rows in %.0f s, counts match the manifest"
          % (len(got), sum(got.values()), time.time() - t0), file=sys.stderr)


if __name__ == "__main__":
    main()
