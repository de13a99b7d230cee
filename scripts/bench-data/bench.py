#!/usr/bin/env python3
"""Measuring half of scripts/bench (run it through scripts/bench, which sets
the BENCH_* environment, builds my2pg and loads the source database).

Methods (selected by BENCH_ONLY): source, target, script, my2pg, verify, pgloader.
Every timed command runs under /usr/bin/time (client CPU and peak RSS); the
servers' CPU comes from /proc: mariadbd's utime+stime, and for PostgreSQL the
postmaster's utime+stime+cutime+cstime (cutime/cstime accumulate exited
backends) plus utime+stime of every live child of the postmaster.
"""

import concurrent.futures
import datetime
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time

ENV = os.environ
REPO, TMP, DATA, DB = ENV["BENCH_REPO"], ENV["BENCH_TMP"], ENV["BENCH_DATA"], ENV["BENCH_DB"]
SCALE, RUNS, VARIANT = ENV["BENCH_SCALE"], int(ENV["BENCH_RUNS"]), ENV["BENCH_VARIANT"]
ONLY = [m for m in ENV["BENCH_ONLY"].split(",") if m]
MY2PG, PG_BIN, PG_DATA = ENV["BENCH_MY2PG"], ENV["BENCH_PG_BIN"], ENV["BENCH_PG_DATA"]
MY_PORT, PG_PORT = ENV["BENCH_MY_PORT"], ENV["BENCH_PG_PORT"]
PSQL = os.path.join(PG_BIN, "psql")
CLK = os.sysconf("SC_CLK_TCK")
TIME = "/usr/bin/time"
PARALLEL = max(2, os.cpu_count() or 2)  # concurrent \copy streams in the target ceiling
LOGS = os.path.join(TMP, "logs")
os.makedirs(LOGS, exist_ok=True)

MY_CMD = ["mariadb", "--no-defaults", "--protocol=TCP", "-h127.0.0.1", "-P" + MY_PORT, "-uroot",
          "--default-character-set=utf8mb4"]
PG_CMD = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", PG_PORT, "-U", "postgres"]


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    """Run a command; raise with its stderr on failure."""
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s%s" % (
            r.returncode, " ".join(map(shlex.quote, cmd)), r.stdout[-2000:], r.stderr[-4000:]))
    return r.stdout


def pg(sql, db=DB):
    return sh(PG_CMD + ["-d", db, "-At", "-F", "\t", "-c", sql])


def qi(name):
    return '"' + name.replace('"', '""') + '"'


# ------------------------------------------------------------------ servers --

def mariadbd_pid():
    path = sh(MY_CMD + ["-N", "-B", "-e", "SELECT @@pid_file"]).strip()
    datadir = sh(MY_CMD + ["-N", "-B", "-e", "SELECT @@datadir"]).strip()
    if not path.startswith("/"):
        path = os.path.join(datadir, path)
    try:
        pid = int(open(path).read().split()[0])
        if open("/proc/%d/comm" % pid).read().strip() == "mariadbd":
            return pid
    except (OSError, ValueError, IndexError):
        pass
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and _comm(int(p)) == "mariadbd"]
    if len(pids) != 1:
        raise RuntimeError("cannot tell which mariadbd serves port %s: %s" % (MY_PORT, pids))
    return pids[0]


def _comm(pid):
    try:
        return open("/proc/%d/comm" % pid).read().strip()
    except OSError:
        return None


def _stat(pid):
    """(ppid, utime+stime, cutime+cstime) in clock ticks, or None if gone."""
    try:
        s = open("/proc/%d/stat" % pid).read()
    except OSError:
        return None
    f = s[s.rindex(")") + 2:].split()  # fields from 3 (state) on
    return int(f[1]), int(f[11]) + int(f[12]), int(f[13]) + int(f[14])


POSTMASTER = int(open(os.path.join(PG_DATA, "postmaster.pid")).readline())
MARIADBD = mariadbd_pid()


def servers_cpu():
    """(mariadbd CPU s, PG17 cluster CPU s), cumulative.

    A backend reaped between reading the postmaster's cutime and scanning its children
    would be in neither (measured: a sample taken as my2pg exited missed 8 of 25 CPU-s
    of its two loader backends), so the scan is repeated until the postmaster's cutime
    did not move during it."""
    m = _stat(MARIADBD)
    my = (m[1] + m[2]) / CLK if m else float("nan")
    for _ in range(200):
        p = _stat(POSTMASTER)
        ticks = p[1] + p[2]
        for d in os.listdir("/proc"):
            if d.isdigit():
                st = _stat(int(d))
                if st and st[0] == POSTMASTER:
                    ticks += st[1]
        if _stat(POSTMASTER)[2] == p[2]:
            break
        time.sleep(0.01)
    return my, ticks / CLK


# ---------------------------------------------------------------- measuring --

def measure(label, cmd, stdout=None, env=None):
    """Run cmd under /usr/bin/time; return wall, client CPU, peak RSS, servers' CPU, rc."""
    tf = os.path.join(LOGS, "time.txt")
    logf = os.path.join(LOGS, "%s.log" % label)
    my0, pg0 = servers_cpu()
    t0 = time.monotonic()
    with open(logf, "w") as err, (open(stdout, "w") if stdout else open(os.devnull, "w")) as out:
        rc = subprocess.run([TIME, "-f", "%e %U %S %M", "-o", tf] + cmd, stdout=out if stdout else err,
                            stderr=err, env=env).returncode
    wall = time.monotonic() - t0
    my1, pg1 = servers_cpu()
    try:
        last = open(tf).read().strip().splitlines()[-1].split()
        cpu, rss = float(last[1]) + float(last[2]), int(last[3]) * 1024
    except (OSError, IndexError, ValueError):
        cpu, rss = float("nan"), 0
    return {"wall_s": round(wall, 3), "client_cpu_s": round(cpu, 2), "peak_rss_bytes": rss,
            "mariadb_cpu_s": round(my1 - my0, 2), "pg_cpu_s": round(pg1 - pg0, 2), "rc": rc,
            # 1-minute load average at the end: > ~2.5 on this 2-core machine means
            # something else competed for the CPUs during the run.
            "loadavg_1m_after": round(os.getloadavg()[0], 2), "log": logf}


def tail(path, n=15):
    try:
        return "".join(open(path, errors="replace").readlines()[-n:])
    except OSError:
        return ""


# ------------------------------------------------------------------ targets --

PRE, POST, FULL = (os.path.join(TMP, f) for f in ("pg_pre.sql", "pg_post.sql", "pg_schema.sql"))


def recreate_target(*schema_files):
    pg("DROP DATABASE IF EXISTS %s WITH (FORCE)" % qi(DB), db="postgres")
    pg("CREATE DATABASE %s" % qi(DB), db="postgres")
    for f in schema_files:
        sh(PG_CMD + ["-d", DB, "-1", "-f", f])
    pg("CHECKPOINT")


def target_tables():
    return pg("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
              "WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1").split()


def fk_waves(tables):
    """Topological layers of the target FK graph (self-references ignored)."""
    deps = {t: set() for t in tables}
    for line in pg("SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
                   "JOIN pg_namespace n ON n.oid = c.connamespace "
                   "WHERE c.contype = 'f' AND n.nspname = 'public'").splitlines():
        a, b = (x.strip('"') for x in line.split("\t"))
        if a != b and a in deps and b in deps:
            deps[a].add(b)
    waves, done = [], set()
    while len(done) < len(tables):
        wave = sorted(t for t in tables if t not in done and deps[t] <= done)
        if not wave:
            raise RuntimeError("FK cycle in the target schema: %s" % sorted(set(tables) - done))
        waves.append(wave)
        done |= set(wave)
    return waves


def checksums(tables):
    """Per table: exact count, sum of 64-bit row hashes, per-column hash sums (UTC session)."""
    cols = {}
    for line in pg("SELECT table_name, column_name FROM information_schema.columns "
                   "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position").splitlines():
        t, c = line.split("\t")
        cols.setdefault(t, []).append(c)

    def one(t):
        parts = ["count(*)", "coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)"]
        parts += ["coalesce(sum(coalesce(hashtextextended(t.%s::text, 0), 1)::numeric), 0)" % qi(c)
                  for c in cols[t]]
        out = sh(PG_CMD + ["-d", DB, "-At", "-F", "\t", "-c", "SET TimeZone = 'UTC'",
                           "-c", "SELECT %s FROM %s t" % (", ".join(parts), qi(t))]).split("\t")
        out = [x.strip() for x in out]
        return t, {"rows": int(out[0]), "hash": out[1], "columns": dict(zip(cols[t], out[2:]))}

    with concurrent.futures.ThreadPoolExecutor(2) as ex:
        return dict(ex.map(one, tables))


def compare(got, ref):
    """List of human-readable mismatches of `got` against the reference checksums."""
    bad = []
    for t in sorted(ref):
        g, r = got.get(t), ref[t]
        if g is None:
            bad.append("%s: table missing" % t)
        elif g["rows"] != r["rows"]:
            bad.append("%s: %d rows, expected %d" % (t, g["rows"], r["rows"]))
        elif g["hash"] != r["hash"]:
            cols = [c for c in r["columns"] if g["columns"].get(c) != r["columns"][c]]
            bad.append("%s: content differs in column(s) %s" % (t, ", ".join(cols) or "? (row hash only)"))
    return bad


# ------------------------------------------------------------------- config --

def write_config(path, workdir):
    with open(path, "w") as f:
        f.write("# Written by scripts/bench (like scripts/demo).\n[source]\n"
                'url = "mysql://root@127.0.0.1:%s/%s"\n\n[target]\n'
                'url = "postgres://postgres@127.0.0.1:%s/%s"\nschema = "public"\n\n[run]\n'
                'workdir = "%s"\n' % (MY_PORT, DB, PG_PORT, DB, workdir))


def workdir_chunks(workdir):
    """{table: (columns, [csv paths], rows, bytes, [sha256])} from the manifests."""
    out = {}
    for d in sorted(os.listdir(workdir)):
        mf = os.path.join(workdir, d, "manifest.json")
        if os.path.isfile(mf):
            m = json.load(open(mf))
            out[m["target_table"]] = {
                "dir": d, "columns": m["columns"],
                "files": [os.path.join(workdir, d, c["file"]) for c in m["chunks"]],
                "rows": sum(c["rows"] for c in m["chunks"]),
                "bytes": sum(c["bytes"] for c in m["chunks"]),
                "sha256": [c["sha256"] for c in m["chunks"]], "complete": m.get("complete")}
    return out


def copy_script(path, chunks, waves, post=None):
    """Bash script: \\copy every table's chunk files (one COPY per table, so a
    self-referencing table's forward references are checked at the end of its
    statement), tables of a wave PARALLEL (= CPUs) at a time, biggest first, then
    optionally the post-data SQL."""
    psql = " ".join(map(shlex.quote, PG_CMD + ["-d", DB]))
    lines = ["#!/usr/bin/env bash", "set -euo pipefail",
             "copy_one() {", '  local t="$1"; shift', '  local cols="$1"; shift',
             '  cat "$@" | %s -c "\\\\copy $t ($cols) FROM pstdin (FORMAT csv)"' % psql, "}",
             "export -f copy_one", 'stamp() { echo "$1 $(date +%s.%N)" >&2; }']
    for i, wave in enumerate(waves):
        jobs = sorted((t for t in wave if chunks.get(t) and chunks[t]["files"]),
                      key=lambda t: -chunks[t]["bytes"])
        if not jobs:
            continue
        lines.append("stamp wave%d" % i)
        # One xargs line per table: table, column list, chunk files (shell-quoted words).
        recs = []
        for t in jobs:
            c = chunks[t]
            args = [qi(t), ", ".join(qi(x) for x in c["columns"])] + c["files"]
            recs.append(" ".join(map(shlex.quote, args)))
        lines.append("printf '%%s\\n' %s | xargs -P %d -L 1 bash -c 'copy_one \"$@\"' _"
                     % (" ".join(shlex.quote(r) for r in recs), PARALLEL))
    if post:
        lines.append("stamp post")
        lines.append("%s -f %s" % (psql, shlex.quote(post)))
    lines.append("stamp end")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(path, 0o755)


def stamps(logf):
    s = {}
    for line in open(logf, errors="replace"):
        p = line.split()
        if len(p) == 2 and p[0] in ("post", "end") or (len(p) == 2 and p[0].startswith("wave")):
            try:
                s[p[0]] = float(p[1])
            except ValueError:
                pass
    return s


# ------------------------------------------------------------ hand script --

def hand_script(path, chunks, by_size, bytea_cols, outdir):
    """Bash script: what operators write by hand (issue 7's reference, 20.1 s there):
    2 workers, each taking the next-biggest table: SELECT ... INTO OUTFILE (MySQL's
    tab format is PostgreSQL's text format, except raw CRs), fix the raw CRs with sed,
    \\copy into the PK-only table; then the unique/secondary indexes and FKs. Bytea
    columns go out as '\\x' || HEX(col). The files are server-side (FILE privilege, a
    directory mariadbd can write): what a managed source would not allow."""
    psql = " ".join(map(shlex.quote, PG_CMD + ["-d", DB]))
    mycli = " ".join(map(shlex.quote, MY_CMD + [DB]))
    jobs = os.path.join(TMP, "hand-jobs")
    shutil.rmtree(jobs, ignore_errors=True)
    os.makedirs(jobs)
    names = []
    for i, t in enumerate(t for t in by_size if chunks.get(t)):
        cols = chunks[t]["columns"]
        sel = ", ".join("CONCAT('\\\\x', HEX(`%s`))" % c if (t, c) in bytea_cols else "`%s`" % c
                        for c in cols)
        f = os.path.join(outdir, "%s.txt" % t)
        job = os.path.join(jobs, "t%02d.sh" % i)
        with open(job, "w") as j:
            j.write("set -euo pipefail\nrm -f %s\n" % shlex.quote(f))
            j.write("%s -e %s\n" % (mycli, shlex.quote("SELECT %s INTO OUTFILE '%s' FROM `%s`" % (sel, f, t))))
            j.write("sed -i 's/\\r/\\\\r/g' %s\n" % shlex.quote(f))
            j.write("%s -c %s\n" % (psql, shlex.quote("\\copy %s (%s) FROM '%s'"
                                                      % (qi(t), ", ".join(qi(c) for c in cols), f))))
            j.write("rm -f %s\n" % shlex.quote(f))
        names.append(job)
    with open(path, "w") as f:
        f.write("#!/usr/bin/env bash\nset -euo pipefail\n"
                'stamp() { echo "$1 $(date +%%s.%%N)" >&2; }\nstamp wave0\n'
                "printf '%%s\\n' %s | xargs -P 2 -n 1 bash\n"
                "stamp post\n%s -f %s\nstamp end\n"
                % (" ".join(map(shlex.quote, names)), psql, shlex.quote(POST)))
    os.chmod(path, 0o755)


# ----------------------------------------------------------------- pgloader --

def pgloader_file(path, enum_cols):
    casts = ["type char when (= precision 36) to uuid drop typemod",
             "type tinyint when (= precision 1) to boolean drop typemod using tinyint-to-boolean",
             "type datetime to \"timestamp without time zone\" drop default drop not null using zero-dates-to-null",
             "type json to jsonb drop typemod"]
    casts += ["column %s.%s to %s drop not null" % (t, c, typ) for t, c, typ in enum_cols]
    text = """LOAD DATABASE
     FROM mysql://root@127.0.0.1:{my}/{db}
     INTO postgresql://postgres@127.0.0.1:{pg}/{db}

 WITH data only, create no tables, create no indexes, no foreign keys,
      disable triggers, quote identifiers, workers = 2, concurrency = 1,
      prefetch rows = 10000, reset no sequences

 SET PostgreSQL PARAMETERS timezone = 'UTC'

 CAST {casts}

 ALTER SCHEMA '{db}' RENAME TO 'public'
;
""".format(my=MY_PORT, pg=PG_PORT, db=DB, casts=",\n      ".join(casts))
    with open(path, "w") as f:
        f.write(text)


# --------------------------------------------------------------------- main --

def fmt_bytes(n):
    return "%.0f MB" % (n / 1e6) if n else "-"


def main():
    t_start = float(ENV["BENCH_T_START"])
    log("mariadbd pid %d, postmaster pid %d" % (MARIADBD, POSTMASTER))

    # Source row counts (exact).
    my_tables = sh(MY_CMD + ["-N", "-B", "-e", "SELECT table_name FROM information_schema.tables "
                             "WHERE table_schema = '%s' AND table_type = 'BASE TABLE' ORDER BY 1" % DB]).split()
    my_counts = {}
    for t in my_tables:
        my_counts[t] = int(sh(MY_CMD + ["-N", "-B", DB, "-e", "SELECT COUNT(*) FROM `%s`" % t]).strip())
    manifest = json.load(open(os.path.join(DATA, "manifest.json")))
    for t in manifest["tables"]:
        if my_counts.get(t["name"]) != t["rows"]:
            raise RuntimeError("MariaDB %s has %s rows, the generator wrote %d"
                               % (t["name"], my_counts.get(t["name"]), t["rows"]))
    total_rows = sum(my_counts.values())
    log("source: %d tables, %d rows" % (len(my_tables), total_rows))

    # Warm-up + reference chunk files: one untimed my2pg export.
    refdir = os.path.join(TMP, "ref-work")
    refcfg = os.path.join(TMP, "ref.toml")
    write_config(refcfg, refdir)
    recreate_target(FULL)
    plan = subprocess.run([MY2PG, "plan", "--config", refcfg, "--json"], capture_output=True, text=True)
    plan_json = json.loads(plan.stdout) if plan.stdout.strip().startswith("{") else {}
    problems = plan_json.get("problems", [])
    if plan.returncode != 0:
        log("my2pg plan exit %d; problems: %s" % (plan.returncode, json.dumps(problems)))
        if VARIANT == "selfref" and any(p.get("kind") == "fk_cycle" for p in problems):
            log("this my2pg rejects the self-reference (fk_cycle): re-run with --no-self-ref")
        raise SystemExit(1)
    log("untimed warm-up: my2pg export -> %s" % refdir)
    t0 = time.monotonic()
    r = subprocess.run([MY2PG, "export", "--config", refcfg, "--json"], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("my2pg export failed (%d): %s%s" % (r.returncode, r.stdout[-2000:], r.stderr[-2000:]))
    ref_chunks = workdir_chunks(refdir)
    total_bytes = sum(c["bytes"] for c in ref_chunks.values())
    log("export: %d tables, %d rows, %.1f MB CSV in %.1f s" % (
        len(ref_chunks), sum(c["rows"] for c in ref_chunks.values()), total_bytes / 1e6, time.monotonic() - t0))
    for t, c in ref_chunks.items():
        if c["rows"] != my_counts.get(t):
            raise RuntimeError("my2pg exported %d rows of %s, MariaDB has %s" % (c["rows"], t, my_counts.get(t)))

    tables = target_tables()
    waves = fk_waves(tables)
    log("FK waves: %s" % waves)
    enum_cols = [tuple(l.split("\t")) for l in pg(
        "SELECT c.table_name, c.column_name, c.udt_name FROM information_schema.columns c "
        "WHERE c.table_schema = 'public' AND c.data_type = 'USER-DEFINED'").splitlines()]

    # Scripts for the ceilings and pgloader.
    by_size = sorted(my_tables, key=lambda t: -(ref_chunks.get(t, {}).get("bytes", 0)))
    mycli = " ".join(map(shlex.quote, MY_CMD + ["--quick", "--batch", "--skip-column-names", DB]))
    src1 = os.path.join(TMP, "source1.sh")
    src2 = os.path.join(TMP, "source2.sh")
    with open(src1, "w") as f:
        f.write("set -euo pipefail\n" + "".join(
            "%s -e %s >/dev/null\n" % (mycli, shlex.quote("SELECT * FROM `%s`" % t)) for t in by_size))
    with open(src2, "w") as f:
        f.write("set -euo pipefail\nprintf '%%s\\n' %s | xargs -P 2 -I{} %s -e 'SELECT * FROM `{}`' >/dev/null\n"
                % (" ".join(by_size), mycli))
    tgt_full = os.path.join(TMP, "target_full.sh")
    tgt_pk = os.path.join(TMP, "target_pk.sh")
    copy_script(tgt_full, ref_chunks, waves)
    copy_script(tgt_pk, ref_chunks, [tables], post=POST)
    pgl = os.path.join(TMP, "pgloader.load")
    pgloader_file(pgl, enum_cols)
    # mariadbd writes the hand script's files: a directory it can enter, outside TMP (0700).
    hand_dir = "/var/tmp/my2pg-bench-outfile-%d" % os.getpid()
    os.makedirs(hand_dir, exist_ok=True)
    os.chmod(hand_dir, 0o1777)
    bytea_cols = {tuple(l.split("\t")) for l in pg(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' AND data_type = 'bytea'").splitlines()}
    hand = os.path.join(TMP, "hand_script.sh")
    hand_script(hand, ref_chunks, by_size, bytea_cols, hand_dir)

    results = {k: [] for k in ("source_1", "source_2", "target_full", "target_pk", "script", "my2pg", "verify",
                               "pgloader")}
    reference = None
    ref_from = None
    failures = []

    def gate(label, method, res, got):
        res["mismatches"] = compare(got, reference) if reference else None
        if res["mismatches"]:
            res["ok"] = False
            failures.append("%s: %s" % (label, "; ".join(res["mismatches"])))
        return res

    def set_reference(got, source):
        nonlocal reference, ref_from
        bad = ["%s: %d rows in PostgreSQL, %s in MariaDB" % (t, got[t]["rows"], my_counts.get(t))
               for t in got if t in my_counts and got[t]["rows"] != my_counts[t]]
        bad += ["%s: missing in PostgreSQL" % t for t in my_counts if t not in got]
        if bad:
            raise RuntimeError("reference load disagrees with MariaDB row counts: " + "; ".join(bad))
        reference, ref_from = got, source
        log("reference checksums from %s; row counts match MariaDB" % source)

    def fresh_my2pg(label):
        wd = os.path.join(TMP, "work-" + label)
        shutil.rmtree(wd, ignore_errors=True)
        cfg = os.path.join(TMP, label + ".toml")
        write_config(cfg, wd)
        recreate_target(FULL)
        return cfg, wd

    if "target" not in ONLY and set(ONLY) & {"my2pg", "verify", "pgloader"}:
        # The reference still comes from a \copy of my2pg's CSV (untimed).
        recreate_target(FULL)
        res = measure("reference-load", ["bash", tgt_full])
        if res["rc"] != 0:
            raise RuntimeError("reference load failed:\n" + tail(res["log"]))
        set_reference(checksums(tables), "an untimed \\copy of my2pg's chunk files (full schema)")

    for rnd in range(1, RUNS + 1):
        tag = "[%d/%d]" % (rnd, RUNS)
        if "source" in ONLY:
            for key, script in (("source_1", src1), ("source_2", src2)):
                res = measure("%s-%d" % (key, rnd), ["bash", script])
                res["ok"] = res["rc"] == 0
                if not res["ok"]:
                    failures.append("%s run %d: exit %d\n%s" % (key, rnd, res["rc"], tail(res["log"])))
                results[key].append(res)
                log("%s %s: %.2f s" % (tag, key, res["wall_s"]))
        if "target" in ONLY:
            for key, script, schema in (("target_full", tgt_full, [FULL]), ("target_pk", tgt_pk, [PRE])):
                recreate_target(*schema)
                res = measure("%s-%d" % (key, rnd), ["bash", script])
                st = stamps(res["log"])
                if "post" in st and "end" in st:
                    res["post_data_s"] = round(st["end"] - st["post"], 2)
                    res["load_s"] = round(st["post"] - min(v for k, v in st.items() if k.startswith("wave")), 2)
                res["ok"] = res["rc"] == 0
                if not res["ok"]:
                    failures.append("%s run %d: exit %d\n%s" % (key, rnd, res["rc"], tail(res["log"])))
                else:
                    got = checksums(tables)
                    if reference is None:
                        set_reference(got, "the \\copy of my2pg's chunk files into the full schema (%s run 1)" % key)
                    gate("%s run %d" % (key, rnd), key, res, got)
                results[key].append(res)
                log("%s %s: %.2f s%s%s" % (tag, key, res["wall_s"],
                                           " (load %.2f s + indexes/FKs %.2f s)" % (res["load_s"], res["post_data_s"])
                                           if "post_data_s" in res else "", "" if res["ok"] else " FAILED"))
        if "script" in ONLY:
            recreate_target(PRE)
            res = measure("script-%d" % rnd, ["bash", hand])
            st = stamps(res["log"])
            if "post" in st and "end" in st:
                res["post_data_s"] = round(st["end"] - st["post"], 2)
                res["load_s"] = round(st["post"] - st["wave0"], 2)
            res["ok"] = res["rc"] == 0
            if not res["ok"]:
                failures.append("script run %d: exit %d\n%s" % (rnd, res["rc"], tail(res["log"])))
            elif reference is None:
                res["_pending"] = checksums(tables)
            else:
                gate("script run %d" % rnd, "script", res, checksums(tables))
            results["script"].append(res)
            log("%s hand script: %.2f s%s" % (tag, res["wall_s"], "" if res["ok"] else " FAILED"))
        if "my2pg" in ONLY or "verify" in ONLY:
            cfg, wd = fresh_my2pg("run-%d" % rnd)
            res = measure("my2pg-%d" % rnd, [MY2PG, "run", "--config", cfg, "--json"],
                          stdout=os.path.join(LOGS, "my2pg-%d.json" % rnd))
            try:
                report = json.load(open(os.path.join(LOGS, "my2pg-%d.json" % rnd)))
            except (OSError, ValueError):
                report = {}
            res["ok"] = res["rc"] == 0 and report.get("ok") is True
            if not res["ok"]:
                failures.append("my2pg run %d: exit %d: %s\n%s" % (rnd, res["rc"], report.get("error"), tail(res["log"])))
            else:
                run_chunks = workdir_chunks(wd)
                res["deterministic_chunks"] = all(
                    run_chunks.get(t, {}).get("sha256") == c["sha256"] for t, c in ref_chunks.items())
            if "verify" in ONLY and res["ok"]:
                vres = measure("verify-%d" % rnd, [MY2PG, "verify", "--level", "full", "--config", cfg, "--json"],
                               stdout=os.path.join(LOGS, "verify-%d.json" % rnd))
                try:
                    vrep = json.load(open(os.path.join(LOGS, "verify-%d.json" % rnd)))
                except (OSError, ValueError):
                    vrep = {}
                if vres["rc"] == 0:
                    vres["ok"], vres["status"] = True, "ok"
                elif isinstance(vrep.get("error"), dict) or not vrep:
                    msg = (vrep.get("error") or {}).get("message") or tail(vres["log"], 3).strip()
                    vres["ok"], vres["status"] = None, "unavailable: " + msg
                else:
                    vres["ok"], vres["status"] = False, "reported differences"
                    failures.append("verify run %d: exit %d, differences reported (see %s)"
                                    % (rnd, vres["rc"], os.path.join(LOGS, "verify-%d.json" % rnd)))
                results["verify"].append(vres)
                log("%s verify: %.2f s, %s" % (tag, vres["wall_s"], vres["status"]))
            if res["ok"]:
                got = checksums(tables)
                if reference is not None:
                    gate("my2pg run %d" % rnd, "my2pg", res, got)
                else:
                    res["_pending"] = got
            if "my2pg" in ONLY:
                results["my2pg"].append(res)
                log("%s my2pg run: %.2f s, peak RSS %s%s" % (tag, res["wall_s"], fmt_bytes(res["peak_rss_bytes"]),
                                                             "" if res["ok"] else " FAILED"))
            shutil.rmtree(wd, ignore_errors=True)
        if "pgloader" in ONLY:
            recreate_target(FULL)
            res = measure("pgloader-%d" % rnd, ["timeout", "-k", "30", ENV.get("BENCH_PGLOADER_TIMEOUT", "3600"),
                                                "pgloader", "--dynamic-space-size", "4096", "--root-dir", os.path.join(TMP, "pgloader"),
                                                         "--summary", os.path.join(LOGS, "pgloader-%d.summary" % rnd), pgl])
            got = checksums(tables)
            # pgloader exits 0 even when it could not connect or rejected rows:
            # its ERROR lines and its summary's per-table error counts are kept.
            errs = [l.strip()[:400] for l in open(res["log"], errors="replace") if " ERROR " in l or " FATAL " in l]
            tab_errs = {}
            for l in open(res["log"], errors="replace"):
                f = l.split()
                if len(f) >= 3 and f[0].startswith('public."') and f[1].isdigit() and f[1] != "0":
                    tab_errs[f[0][8:-1]] = int(f[1])
            res["pgloader_error_lines"], res["pgloader_table_errors"] = errs[:20], tab_errs
            res["ok"] = res["rc"] == 0 and not errs
            if not res["ok"]:
                failures.append("pgloader run %d: exit %d, %d ERROR line(s), table errors %s; first: %s"
                                % (rnd, res["rc"], len(errs), tab_errs or "none", errs[:3] or tail(res["log"], 5)))
            gate("pgloader run %d" % rnd, "pgloader", res, got)
            if res["mismatches"]:
                res["ok"] = False
            results["pgloader"].append(res)
            log("%s pgloader: %.2f s%s" % (tag, res["wall_s"], "" if res["ok"] else
                                           " FAILED: " + "; ".join(res.get("mismatches") or ["exit %d" % res["rc"]])))

    shutil.rmtree(hand_dir, ignore_errors=True)
    for key in ("my2pg", "script"):
        for r in results[key]:
            got = r.pop("_pending", None)
            if got is not None:
                if reference is None:
                    r["ok"] = False
                    failures.append("%s: no reference to check against (the target ceiling load failed)" % key)
                else:
                    gate(key, key, r, got)

    # ------------------------------------------------------------- report --
    def summary(key):
        rs = results[key]
        if not rs:
            return None
        walls = [r["wall_s"] for r in rs]
        s = {"runs": len(rs), "ok": all(r.get("ok") for r in rs),
             "wall_median_s": round(statistics.median(walls), 3), "wall_min_s": min(walls),
             "wall_max_s": max(walls), "all_runs": rs}
        for f in ("client_cpu_s", "peak_rss_bytes", "mariadb_cpu_s", "pg_cpu_s", "load_s", "post_data_s"):
            v = [r[f] for r in rs if f in r]
            if v:
                s[f] = statistics.median(v)
        s["rows_per_s"] = round(total_rows / s["wall_median_s"]) if s["wall_median_s"] else None
        s["mb_per_s"] = round(total_bytes / 1e6 / s["wall_median_s"], 1) if s["wall_median_s"] else None
        if key == "verify":
            s["status"] = rs[0].get("status")
            s["ok"] = all(r.get("ok") is not False for r in rs)
        return s

    summ = {k: summary(k) for k in results}
    c1 = min([summ[k]["wall_median_s"] for k in ("source_1", "source_2") if summ[k] and summ[k]["ok"]] or [0])
    c2 = summ["target_pk"]["wall_median_s"] if summ["target_pk"] and summ["target_pk"]["ok"] else 0
    ceiling = max(c1, c2) or None
    ratios = {}
    if summ["my2pg"] and summ["my2pg"]["ok"]:
        m = summ["my2pg"]["wall_median_s"]
        if summ["pgloader"] and summ["pgloader"]["ok"]:
            ratios["my2pg_over_pgloader"] = round(m / summ["pgloader"]["wall_median_s"], 3)
        if summ["script"] and summ["script"]["ok"]:
            ratios["my2pg_over_script"] = round(m / summ["script"]["wall_median_s"], 3)
        if ceiling and c1 and c2:
            ratios["my2pg_over_ceiling"] = round(m / ceiling, 3)

    labels = [("source_1", "source ceiling: mariadb --quick, 1 stream"),
              ("source_2", "source ceiling: mariadb --quick, 2 streams"),
              ("target_full", "target ceiling: \\copy CSV, full schema"),
              ("target_pk", "target ceiling: \\copy CSV PK-only + idx/FK"),
              ("script", "hand script: 2x INTO OUTFILE+\\copy, idx/FK"),
              ("my2pg", "my2pg run"),
              ("pgloader", "pgloader (data only)"),
              ("verify", "my2pg verify --level full")]
    head = ["method", "wall s median (min-max)", "rows/s", "MB/s", "peak RSS", "client CPU s",
            "servers CPU s (my+pg)", "ratio"]
    rows = []
    for key, label in labels:
        s = summ[key]
        if not s:
            continue
        if key == "verify" and s.get("status", "").startswith("unavailable"):
            rows.append([label, "unavailable", "-", "-", "-", "-", "-", "-"])
            continue
        wall = "%.2f (%.2f-%.2f)" % (s["wall_median_s"], s["wall_min_s"], s["wall_max_s"])
        if not s["ok"]:
            wall = "FAILED " + wall
        ratio = "%.2fx ceil" % (s["wall_median_s"] / ceiling) if ceiling and c1 and c2 else "-"
        if key == "my2pg" and "my2pg_over_pgloader" in ratios:
            ratio += ", %.2fx pgl" % ratios["my2pg_over_pgloader"]
        if key == "my2pg" and "my2pg_over_script" in ratios:
            ratio += ", %.2fx scr" % ratios["my2pg_over_script"]
        rows.append([label, wall, "%d" % s["rows_per_s"], "%.1f" % s["mb_per_s"],
                     fmt_bytes(s.get("peak_rss_bytes", 0)), "%.1f" % s.get("client_cpu_s", float("nan")),
                     "%.1f (%.1f+%.1f)" % (s.get("mariadb_cpu_s", 0) + s.get("pg_cpu_s", 0),
                                           s.get("mariadb_cpu_s", 0), s.get("pg_cpu_s", 0)), ratio])
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    lines = [" | ".join(h.ljust(w) for h, w in zip(head, widths)),
             "-+-".join("-" * w for w in widths)]
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    wall_total = time.time() - t_start
    meta = ("scale %s (%s), %d run(s), %d tables, %d rows, %.1f MB of my2pg CSV; my2pg %s; %s"
            % (SCALE, VARIANT, RUNS, len(tables), total_rows, total_bytes / 1e6, ENV["BENCH_MY2PG_VERSION"],
               sh(["pgloader", "--version"]).splitlines()[0]))
    notes = []
    if summ["script"] and "post_data_s" in summ["script"]:
        notes.append("hand script: export+\\copy %.2f s + unique/secondary indexes and FKs %.2f s (medians)"
                     % (summ["script"]["load_s"], summ["script"]["post_data_s"]))
    if summ["target_pk"] and "post_data_s" in summ["target_pk"]:
        notes.append("target ceiling PK-only: load %.2f s + unique/secondary indexes and FKs %.2f s (medians)"
                     % (summ["target_pk"]["load_s"], summ["target_pk"]["post_data_s"]))
    if ceiling and c1 and c2:
        notes.append("ceiling = max(source %.2f s [best of 1/2 streams], target PK-only+idx/FK %.2f s) = %.2f s"
                     % (c1, c2, ceiling))
    for k, v in ratios.items():
        notes.append("%s = %.3f" % (k.replace("_over_", "/"), v))
    if summ["verify"] and summ["verify"].get("status", "").startswith("unavailable"):
        notes.append("verify " + summ["verify"]["status"])
    if summ["my2pg"]:
        det = [r.get("deterministic_chunks") for r in results["my2pg"] if r.get("ok")]
        if det:
            notes.append("my2pg chunk files byte-identical to the warm-up export in every run: %s" % all(det))
    notes.append("correctness reference: %s" % ref_from)
    la = [r["loadavg_1m_after"] for rs in results.values() for r in rs if "loadavg_1m_after" in r]
    if la and max(la) > 2.5:
        notes.append("WARNING: 1-min load average reached %.1f on %d CPUs during the runs: other work "
                     "competed for the machine, timings are noisy" % (max(la), os.cpu_count()))
    notes.append("total bench time %.0f s" % wall_total)

    print()
    print("my2pg bench: " + meta)
    print("\n".join(lines))
    for n in notes:
        print("  " + n)
    if failures:
        print("\nFAILURES (a wrong or failed run is not a time):")
        for f in failures:
            print("  - " + f)

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    outdir = os.path.join(REPO, "bench", "results")
    os.makedirs(outdir, exist_ok=True)
    path = os.path.join(outdir, "%s-scale%s.json" % (stamp, SCALE))
    for rs in results.values():
        for r in rs:
            r.pop("_pending", None)
            r.pop("log", None)
    doc = {"scale": SCALE, "variant": VARIANT, "runs": RUNS, "methods": ONLY, "utc": stamp,
           "my2pg": ENV["BENCH_MY2PG_VERSION"], "pgloader": sh(["pgloader", "--version"]).splitlines()[0],
           "machine": {"cpus": os.cpu_count(), "kernel": os.uname().release,
                       "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                       "mariadb": sh(MY_CMD + ["-N", "-B", "-e", "SELECT @@version"]).strip(),
                       "mariadb_innodb_buffer_pool_bytes": int(sh(MY_CMD + ["-N", "-B", "-e",
                                                                            "SELECT @@innodb_buffer_pool_size"])),
                       "postgres": pg("SHOW server_version", db="postgres").strip()},
           "dataset": {"tables": len(tables), "rows": total_rows, "csv_bytes": total_bytes,
                       "per_table": {t: {"rows": c["rows"], "csv_bytes": c["bytes"]} for t, c in ref_chunks.items()}},
           "reference": ref_from, "ceiling_s": ceiling, "ratios": ratios,
           "methods_summary": summ, "table": lines, "notes": notes, "failures": failures,
           "total_seconds": round(wall_total)}
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(path + ".tmp", path)
    print("\nresults: %s" % os.path.relpath(path, REPO))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    try:
        main()
    except RuntimeError as e:
        log("ERROR: %s" % e)
        sys.exit(1)
