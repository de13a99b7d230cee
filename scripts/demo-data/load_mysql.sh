#!/usr/bin/env bash
# Load the generated demo dataset into MariaDB.
#
#   load_mysql.sh DB DIR
#
# (Re)creates database DB from mysql_schema.sql and loads DIR/<table>.tsv
# (written by generate.py) with LOAD DATA LOCAL INFILE, in the load order of
# DIR/manifest.json, then checks every table's row count against the manifest.
# Connects to root@127.0.0.1:${MY2PG_MARIADB_PORT:-3306} (empty password).
set -euo pipefail

if [ "$#" -ne 2 ]; then
    echo "usage: $0 DB DIR" >&2
    exit 2
fi
db="$1"
dir="$(cd "$2" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port="${MY2PG_MARIADB_PORT:-3306}"

case "$db" in
[A-Za-z_]*) ;;
*) echo "load_mysql.sh: bad database name: $db" >&2; exit 2 ;;
esac
[ -f "$dir/manifest.json" ] || { echo "load_mysql.sh: $dir/manifest.json missing (run generate.py)" >&2; exit 1; }

# --no-defaults: a stray ~/.my.cnf must not change where we connect.
my() {
    mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$port" -uroot \
        --default-character-set=utf8mb4 --local-infile=1 "$@"
}

echo "load_mysql.sh: creating database $db on 127.0.0.1:$port" >&2
my -e "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
my "$db" <"$here/mysql_schema.sql"

# One session for all loads. CHARACTER SET binary: the files are raw UTF-8
# except the blob column, which holds arbitrary bytes that must not be
# validated or converted. LOCAL loads turn data errors into warnings, so the
# warning count of every load is selected and checked below.
sql="$(python3 - "$dir" <<'EOF'
import json, sys
d = sys.argv[1]
m = json.load(open(d + "/manifest.json"))
print("SET foreign_key_checks=0; SET unique_checks=1; SET sql_mode='STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO';")
for t in m["tables"]:
    path = (d + "/" + t["file"]).replace("\\", "\\\\").replace("'", "\\'")
    cols = ", ".join("`%s`" % c for c in t["columns"])
    print("LOAD DATA LOCAL INFILE '%s' INTO TABLE `%s` CHARACTER SET binary "
          "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (%s);"
          % (path, t["name"], cols))
    print("SELECT 'load', '%s', @@warning_count;" % t["name"])
    print("SHOW WARNINGS LIMIT 5;")
print("SET foreign_key_checks=1;")
for t in m["tables"]:
    print("SELECT 'count', '%s', COUNT(*) FROM `%s`;" % (t["name"], t["name"]))
EOF
)"
start=$(date +%s)
out="$(my --batch --skip-column-names "$db" <<<"$sql")"
echo "load_mysql.sh: loaded in $(($(date +%s) - start)) s" >&2

# Fail on any load warning, then compare counts with the manifest.
check="$(cat <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
want = {t["name"]: t["rows"] for t in m["tables"]}
ok, got = True, {}
for line in sys.stdin.read().splitlines():
    f = line.split("\t")
    if f[0] == "load" and f[2] != "0":
        print("load_mysql.sh: %s: %s warnings" % (f[1], f[2]), file=sys.stderr); ok = False
    elif f[0] == "count":
        got[f[1]] = int(f[2])
    elif f[0] in ("Warning", "Error", "Note"):
        print("load_mysql.sh:   " + line, file=sys.stderr); ok = False
for t, n in want.items():
    if got.get(t) != n:
        print("load_mysql.sh: %s: %s rows, expected %d" % (t, got.get(t), n), file=sys.stderr); ok = False
if not ok:
    sys.exit(1)
print("load_mysql.sh: %d tables, %d rows, counts match the manifest" % (len(want), sum(want.values())), file=sys.stderr)
EOF
)"
printf '%s\n' "$out" | python3 -c "$check" "$dir/manifest.json"
