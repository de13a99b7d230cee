#!/usr/bin/env python3
"""Deterministic generator for the "Alkemio-shaped" my2pg demo dataset.

    generate.py --scale N --out DIR

Writes DIR/<table>.tsv for every table of mysql_schema.sql, in MariaDB
`LOAD DATA` format:

    FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'

(NULL is \\N; backslash, tab, LF, CR and NUL are backslash-escaped), plus
DIR/manifest.json (load order, column lists, row counts). The manifest is
written last, so its presence means the files are complete (used as a cache
marker by scripts/demo).

Determinism: every table draws from its own random.Random seeded with a fixed
string (sha512-based seeding, independent of PYTHONHASHSEED, time and host);
dates are offsets from a fixed base. Primary keys that other tables reference
are derived from (table, row index) with a keyed BLAKE2 hash whose key comes
from the seeded RNG, so child rows can point at parents without keeping any
parent rows in memory: everything streams row by row, so large scales only
cost time and disk.

Scale 1 is ~100k rows in total, 70% of them in the narrow `activity` table;
row counts grow linearly with N (N may be fractional, e.g. 0.1, for tests).
The data is deliberately nasty but valid for both MariaDB and PostgreSQL:
multi-line markdown with LF/CRLF/CR, blank lines and runs of spaces, tabs and
backslashes inside text, emoji (incl. ZWJ sequences), CJK, combining marks,
RTL, quotes and commas, both NULL and '' in nullable text columns, the literal
text "\\N" and "NULL", JSON with nested unicode and escapes, datetime(6) with
microseconds and edge dates, and blobs with arbitrary bytes (incl. NUL).
PostgreSQL text cannot hold NUL, so NUL only appears in the blob column.
"""

import argparse
import hashlib
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta

SEED = "my2pg-demo-v1"
BASE = datetime(2021, 1, 1, 0, 0, 0)
SPAN_SECONDS = 4 * 365 * 24 * 3600  # dates fall in 2021..2024

# Column lists, in mysql_schema.sql order. Tables listed in FK (load) order.
TABLES = {
    "account": ["id", "createdDate", "updatedDate", "version", "type",
                "externalSubscriptionID", "baselineLicensePlan"],
    "profile": ["id", "createdDate", "updatedDate", "version", "displayName",
                "tagline", "description", "type"],
    "user": ["id", "rowId", "createdDate", "updatedDate", "version", "nameID",
             "firstName", "lastName", "email", "phone", "serviceProfile",
             "communicationID", "settings", "profileId", "accountId"],
    "space": ["id", "rowId", "createdDate", "updatedDate", "version", "nameID",
              "level", "visibility", "sortOrder", "settings", "profileId",
              "accountId"],
    "tagset": ["id", "createdDate", "updatedDate", "version", "name", "type",
               "tags", "profileId"],
    "reference": ["id", "createdDate", "updatedDate", "version", "name", "uri",
                  "description", "profileId"],
    "visual": ["id", "createdDate", "updatedDate", "version", "name", "uri",
               "minWidth", "maxWidth", "aspectRatio", "alternativeText",
               "fileSize", "thumbnail", "profileId"],
    "callout": ["id", "createdDate", "updatedDate", "version", "nameID", "type",
                "sortOrder", "activity", "isTemplate", "framing",
                "publishedDate", "createdBy", "spaceId"],
    "post": ["id", "createdDate", "updatedDate", "version", "nameID", "type",
             "createdBy", "viewCount", "profileId", "calloutId"],
    "activity": ["id", "rowId", "createdDate", "updatedDate", "version",
                 "triggeredBy", "collaborationID", "resourceID", "type",
                 "visibility", "description"],
    "migrations_typeorm": ["id", "timestamp", "name"],
    "legacy_audit": ["id", "entity", "entityId", "payload", "at"],
}

# Rows per table at scale 1 (profile is derived: one per user, space, post).
BASE_COUNTS = {
    "account": 400, "user": 2000, "space": 200, "tagset": 5000,
    "reference": 4000, "visual": 1500, "callout": 1600, "post": 6000,
    "activity": 70000, "legacy_audit": 1000,
}
MIGRATIONS = 120  # a fixed ledger; does not scale

NULL = "\\N"
_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r", "\0": "\\0"})


def esc(s):
    """Escape one text field for LOAD DATA (None -> \\N)."""
    return NULL if s is None else s.translate(_ESC)


def esc_bytes(b):
    if b is None:
        return NULL.encode()
    return (b.replace(b"\\", b"\\\\").replace(b"\0", b"\\0").replace(b"\t", b"\\t")
            .replace(b"\n", b"\\n").replace(b"\r", b"\\r"))


_KEY = random.Random(SEED + ":uuid-key").getrandbits(128).to_bytes(16, "big")


def _fmt_uuid(h):
    # Stamp version 4 / RFC 4122 variant so the values look like real UUIDs.
    return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[int(h[16], 16) & 3],
                                  h[17:20], h[20:32])


def ref_uuid(table, i):
    """Stable UUID of row i of a referenced table."""
    return _fmt_uuid(hashlib.blake2b(b"%s:%d" % (table.encode(), i), digest_size=16,
                                     key=_KEY).hexdigest())


def rand_uuid(rng):
    return _fmt_uuid("%032x" % rng.getrandbits(128))


# Edge datetimes, used for the first rows of some tables.
EDGE_DATES = [
    "1000-01-01 00:00:00.000000", "1970-01-01 00:00:00.000000",
    "1999-12-31 23:59:59.999999", "2024-02-29 12:00:00.000001",
    "2038-01-19 03:14:08.000000", "2021-03-28 02:30:00.500000",
    "9999-12-31 23:59:59.999999",
]


def rand_dt(rng):
    """(created, updated) datetime(6) strings, updated >= created."""
    s = rng.randrange(SPAN_SECONDS)
    r = rng.random()
    us = 0 if r < 0.05 else (999999 if r < 0.07 else rng.randrange(1000000))
    c = BASE + timedelta(seconds=s, microseconds=us)
    u = c + timedelta(seconds=rng.randrange(90 * 86400), microseconds=rng.randrange(1000000)) \
        if rng.random() < 0.7 else c
    return c.isoformat(" ", "microseconds"), u.isoformat(" ", "microseconds")


LINES = [
    "# Welcome to the space",
    "## Challenge: *reduce* food waste by 50 %",
    "Plain sentence, with commas, and \"double quotes\" and 'single quotes'.",
    "Trailing spaces   ",
    "    indented code block",
    "Runs of     spaces     inside",
    "Tabs\tinside\ttext\t",
    "Windows path C:\\Users\\alkemio\\notes.md and a lone backslash \\",
    "Literal \\N is not NULL, and neither is NULL",
    "Emoji \U0001F680\U0001F389 family \U0001F469\u200d\U0001F469\u200d\U0001F467\u200d\U0001F466 "
    "flag \U0001F1F3\U0001F1F1 thumbs \U0001F44D\U0001F3FD",
    "CJK \u4e2d\u6587\u5b57\u7b26 \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 "
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    "Combining: e\u0301 a\u0308 n\u0303 Z\u0324\u0354\u0367a\u0308\u0356l\u036eg\u030c\u0317o\u0319",
    "RTL: \u05e2\u05d1\u05e8\u05d9\u05ea \u0627\u0644\u0639\u0631\u0628\u064a\u0629 mixed with LTR",
    "Zero\u200bwidth\u200dstuff, BOM \ufeff and NBSP\u00a0here",
    "- [x] done item",
    "- [ ] open item with `code` and **bold**",
    "> quoted *markdown* with a [link](https://alkem.io/?a=1&b=%22x%22#frag)",
    "| col | col |",
    "|-----|-----|",
    "| a,b | c;d |",
    "SQL-ish: '; DROP TABLE users; --",
    "CSV-ish: \"a\",\"b\",,\"\"",
    "Math \u2211 \u222b \u2260 \u2264 \u2265 and money \u20ac \u00a3 \u00a5 \u20bf",
    "Old Mac line\rbreak inside one line",
    "Unicode line sep\u2028and paragraph sep\u2029end",
    "ANSI \x1b[31mred\x1b[0m and a bell \x07 and form feed \x0c",
    "Astral private use \U0010fffd and replacement \ufffd",
    "",
    "   ",
]
SEPS = ["\n", "\n", "\r\n", "\n\n", "\r\n\r\n", "\n   \n"]


def markdown(rng, max_lines=8):
    parts = [rng.choice(LINES) for _ in range(rng.randint(1, max_lines))]
    sep = rng.choice(SEPS)
    text = sep.join(parts)
    r = rng.random()
    if r < 0.1:
        text += sep  # trailing newline
    elif r < 0.15:
        text = sep + text  # leading blank line
    return text


def nullable_text(rng, max_lines=8):
    """NULL, '', the literal \\N / NULL, or multi-line markdown."""
    r = rng.random()
    if r < 0.10:
        return None
    if r < 0.15:
        return ""
    if r < 0.16:
        return "\\N"
    if r < 0.17:
        return "NULL"
    return markdown(rng, max_lines)


def one_line(rng, limit):
    s = rng.choice(LINES) or "x"
    return s[:limit]


NAMES = ["Ana", "Bj\u00f6rn", "Zo\u00eb", "Jos\u00e9", "\u674e\u96f7", "\u0410\u043b\u0451\u043d\u0430",
         "O'Brien", "Smith, Jr.", "M\u00fcller", "\u00c9lodie", "Nguy\u1ec5n", "\u05e9\u05e8\u05d4",
         "\U0001F600 Emoji", "Back\\slash", "Tab\tName", "Ren\u00e9e"]
WORDS = ["green", "city", "challenge", "open", "innovation", "water", "\u6c34", "\u00e9nergie",
         "\U0001F331", "data", "commons", "m\u00f8de", "hub", "\u043b\u0430\u0431"]


def display_name(rng, i):
    return "%s %s %d" % (rng.choice(WORDS).capitalize(), rng.choice(WORDS), i)


def json_doc(rng, i):
    doc = {
        "id": i,
        "features": rng.sample(["whiteboard", "calendar", "\u00e9dition", "\U0001F4ca stats", "ai"],
                               rng.randint(0, 4)),
        "seats": rng.choice([0, 1, 25, 2147483647, 12345678901234567890]),
        "ratio": rng.choice([0.5, 1e-7, -3.25, 1.0]),
        "enabled": rng.random() < 0.5,
        "note": rng.choice(["plain", "quote \" and backslash \\ and slash /",
                            "line1\nline2\r\nline3\ttab", "\u65e5\u672c\u8a9e \U0001F680 na\u00efve",
                            "control \x01\x1f chars", ""]),
        "nested": {"\u65e5\u672c": [1, 2.5, None, True, {"deep": {"\u00e9": "\u00e8"}}],
                   "empty": {}, "list": []},
    }
    if rng.random() < 0.2:
        doc["nested"]["extra"] = markdown(rng, 3)
    # Mix raw UTF-8 and \uXXXX escapes (incl. surrogate pairs for emoji).
    return json.dumps(doc, ensure_ascii=rng.random() < 0.3, separators=rng.choice([(",", ":"), (", ", ": ")]))


def maybe(rng, p_null, value):
    return None if rng.random() < p_null else value


class Out:
    """Buffered TSV writer: rows are str (or bytes for binary tables)."""

    def __init__(self, path, binary=False):
        self.tmp = path + ".tmp"
        self.path = path
        self.f = open(self.tmp, "wb", buffering=1 << 20)
        self.binary = binary
        self.buf = []
        self.rows = 0

    def row(self, line):
        self.buf.append(line)
        self.rows += 1
        if len(self.buf) >= 2000:
            self.flush()

    def flush(self):
        if self.buf:
            if self.binary:
                self.f.write(b"".join(self.buf))
            else:
                self.f.write("".join(self.buf).encode("utf-8"))
            self.buf = []

    def close(self):
        self.flush()
        self.f.close()
        os.replace(self.tmp, self.path)
        return self.rows


def tsv(fields):
    return "\t".join(fields) + "\n"


# ---------------------------------------------------------------- tables ----

def gen_account(n, c, out):
    rng = random.Random(SEED + ":account")
    for i in range(n):
        cd, ud = rand_dt(rng)
        out.row(tsv([ref_uuid("account", i), cd, ud, str(rng.randint(1, 9)),
                     esc(rng.choice(["user", "organization", None])),
                     esc(maybe(rng, 0.6, "sub_%08x" % rng.getrandbits(32))),
                     esc(json_doc(rng, i))]))


def gen_profile(n, c, out):
    rng = random.Random(SEED + ":profile")
    u, s = c["user"], c["space"]
    for i in range(n):
        cd, ud = rand_dt(rng)
        if i < len(EDGE_DATES):
            cd = ud = EDGE_DATES[i]
        kind = "user" if i < u else ("space" if i < u + s else "post")
        tagline = rng.random()
        tagline = None if tagline < 0.2 else ("" if tagline < 0.25 else one_line(rng, 255))
        out.row(tsv([ref_uuid("profile", i), cd, ud, str(rng.randint(1, 5)),
                     esc(display_name(rng, i)), esc(tagline),
                     esc(nullable_text(rng)), kind]))


def gen_user(n, c, out):
    rng = random.Random(SEED + ":user")
    for i in range(n):
        cd, ud = rand_dt(rng)
        first, last = rng.choice(NAMES), rng.choice(NAMES)
        settings = json.dumps({"privacy": {"contributionRolesPubliclyVisible": rng.random() < 0.5},
                               "communication": {"allowOtherUsersToSendMessages": True},
                               "locale": rng.choice(["en", "nl", "\u65e5\u672c\u8a9e", "de-CH"])},
                              ensure_ascii=False)
        phone = rng.random()
        phone = None if phone < 0.4 else ("" if phone < 0.5 else "+31 6 %08d" % rng.randrange(10**8))
        out.row(tsv([ref_uuid("user", i), str(i + 1), cd, ud, str(rng.randint(1, 20)),
                     "user-%d" % i, esc(first), esc(last),
                     esc("%s.%d@example.org" % (rng.choice(["user", "\u00fcser", "o'neil", "a+b"]), i)),
                     esc(phone), "1" if rng.random() < 0.02 else "0",
                     esc("" if rng.random() < 0.3 else "@u%d:matrix.alkem.io" % i),
                     esc(settings),
                     NULL if rng.random() < 0.03 else ref_uuid("profile", i),
                     NULL if rng.random() < 0.05 else ref_uuid("account", rng.randrange(c["account"]))]))


def gen_space(n, c, out):
    rng = random.Random(SEED + ":space")
    u = c["user"]
    for i in range(n):
        cd, ud = rand_dt(rng)
        sort_order = 4294967295 if i == 0 else rng.randrange(1000)  # int unsigned max
        out.row(tsv([ref_uuid("space", i), str(i + 1), cd, ud, str(rng.randint(1, 9)),
                     "space-%d" % i, str(rng.choice([0, 0, 1, 2])),
                     rng.choice(["active", "active", "active", "archived", "demo"]),
                     str(sort_order), esc(json_doc(rng, i)),
                     ref_uuid("profile", u + i),
                     NULL if rng.random() < 0.05 else ref_uuid("account", rng.randrange(c["account"]))]))


def gen_tagset(n, c, out):
    rng = random.Random(SEED + ":tagset")
    tags = ["climate", "\u6c34", "open source", "a,b", "caf\u00e9", "\U0001F331", "tab\there", "x\\y"]
    for i in range(n):
        cd, ud = rand_dt(rng)
        # TypeORM simple-array: comma-joined; may be empty.
        out.row(tsv([ref_uuid("tagset", i), cd, ud, str(rng.randint(1, 3)),
                     esc(rng.choice(["default", "skills", "keywords", "capabilities"])),
                     rng.choice(["freeform", "select-one", "select-many"]),
                     esc(",".join(rng.sample(tags, rng.randint(0, 4)))),
                     NULL if rng.random() < 0.01 else ref_uuid("profile", rng.randrange(c["profile"]))]))


def gen_reference(n, c, out):
    rng = random.Random(SEED + ":reference")
    for i in range(n):
        cd, ud = rand_dt(rng)
        uri = rng.choice(["https://alkem.io/space/%d" % i, "https://example.org/a?b=1&c=%%20d#e",
                          "https://\u4f8b\u3048.jp/\u30d1\u30b9", "", "mailto:o'neil@example.org"])
        out.row(tsv([ref_uuid("reference", i), cd, ud, str(rng.randint(1, 3)),
                     esc(rng.choice(["LinkedIn", "GitHub", "docs", "\u8cc7\u6599", "notes, misc"])),
                     esc(uri), esc(nullable_text(rng, 4)),
                     NULL if rng.random() < 0.02 else ref_uuid("profile", rng.randrange(c["profile"]))]))


NASTY_BYTES = b"\x00\\\t\n\r\x1a'\"\\N\xff\xfe\x00\x00"


def gen_visual(n, c, out):
    rng = random.Random(SEED + ":visual")
    for i in range(n):
        cd, ud = rand_dt(rng)
        r = rng.random()
        if r < 0.1:
            thumb = None
        elif r < 0.13:
            thumb = b""
        else:
            thumb = rng.randbytes(rng.randrange(1, 2048))
            if rng.random() < 0.3:
                thumb = NASTY_BYTES + thumb
        text = tsv([ref_uuid("visual", i), cd, ud, str(rng.randint(1, 3)),
                    rng.choice(["avatar", "banner", "card"]),
                    esc("https://alkem.io/api/private/rest/storage/document/%s" % rand_uuid(rng)),
                    str(rng.choice([190, 384, 410])), str(rng.choice([410, 768, 1536])),
                    rng.choice(["1", "1.5", "0.25", "3", "0.75", "2.5"]),
                    esc(maybe(rng, 0.3, one_line(rng, 120))),
                    NULL if rng.random() < 0.2 else str(rng.choice(
                        [0, rng.randrange(1 << 40), 9223372036854775807])),
                    "\x00BLOB\x00",
                    NULL if rng.random() < 0.02 else ref_uuid("profile", rng.randrange(c["profile"]))])
        head, tail = text.encode("utf-8").split(b"\x00BLOB\x00")
        out.row(head + esc_bytes(thumb) + tail)


def gen_callout(n, c, out):
    rng = random.Random(SEED + ":callout")
    for i in range(n):
        cd, ud = rand_dt(rng)
        framing = maybe(rng, 0.1, json_doc(rng, i))
        published = None if rng.random() < 0.3 else cd
        out.row(tsv([ref_uuid("callout", i), cd, ud, str(rng.randint(1, 9)),
                     "callout-%d" % i,
                     rng.choice(["post", "whiteboard", "link_collection", "post_collection"]),
                     str(rng.randrange(-5, 100)), str(rng.randrange(500)),
                     "1" if rng.random() < 0.05 else "0", esc(framing), esc(published),
                     NULL if rng.random() < 0.1 else ref_uuid("user", rng.randrange(c["user"])),
                     NULL if rng.random() < 0.01 else ref_uuid("space", rng.randrange(c["space"]))]))


def gen_post(n, c, out):
    rng = random.Random(SEED + ":post")
    base = c["user"] + c["space"]
    for i in range(n):
        cd, ud = rand_dt(rng)
        views = 4294967295 if i == 0 else rng.randrange(100000)
        out.row(tsv([ref_uuid("post", i), cd, ud, str(rng.randint(1, 9)),
                     "post-%d" % i, rng.choice(["idea", "contribution", "knowledge"]),
                     ref_uuid("user", rng.randrange(c["user"])), str(views),
                     NULL if rng.random() < 0.02 else ref_uuid("profile", base + i),
                     ref_uuid("callout", rng.randrange(c["callout"]))]))


ACTIVITY_TYPES = ["CALLOUT_PUBLISHED", "POST_CREATED", "POST_COMMENT", "MEMBER_JOINED",
                  "DISCUSSION_COMMENT", "UPDATE_SENT", "CALENDAR_EVENT_CREATED"]


def gen_activity(n, c, out):
    # The hot loop: keep it lean (pre-escaped pools, few RNG calls per row).
    rng = random.Random(SEED + ":activity")
    users = [ref_uuid("user", i) for i in range(c["user"])]
    spaces = [ref_uuid("space", i) for i in range(c["space"])]
    pool = [esc(one_line(rng, 512) + (" #%d" % k if k % 3 else "")) for k in range(256)]
    pool += ["", "", NULL, NULL, NULL, NULL, esc("multi\r\nline\n\ndescription\t\\")]
    types = ACTIVITY_TYPES
    randrange, rnd, getrandbits = rng.randrange, rng.random, rng.getrandbits
    nu, ns, npool = len(users), len(spaces), len(pool)
    base, td = BASE, timedelta
    for i in range(n):
        if i < len(EDGE_DATES):
            cd = ud = EDGE_DATES[i]
        else:
            c_dt = base + td(seconds=randrange(SPAN_SECONDS), microseconds=randrange(1000000))
            cd = c_dt.isoformat(" ", "microseconds")
            ud = cd if rnd() < 0.8 else (c_dt + td(seconds=randrange(86400))).isoformat(" ", "microseconds")
        h = "%032x" % getrandbits(128)
        r = "%032x" % getrandbits(128)
        x = rnd()
        out.row("%s-%s-4%s-a%s-%s\t%d\t%s\t%s\t%d\t%s\t%s\t%s-%s-4%s-b%s-%s\t%s\t%d\t%s\n" % (
            h[:8], h[8:12], h[13:16], h[17:20], h[20:32], i + 1, cd, ud, 1 + (i & 3),
            NULL if x < 0.02 else users[randrange(nu)],
            NULL if x > 0.99 else spaces[randrange(ns)],
            r[:8], r[8:12], r[13:16], r[17:20], r[20:32],
            types[randrange(7)], 1 if x < 0.7 else 0, pool[randrange(npool)]))


def gen_migrations(n, c, out):
    for i in range(n):
        ts = 1600000000000 + i * 86400000
        out.row(tsv([str(i + 1), str(ts), "Migration%d%s" % (ts, "Baseline" if i == 0 else "")]))


def gen_legacy_audit(n, c, out):
    rng = random.Random(SEED + ":legacy_audit")
    for i in range(n):
        at = (BASE + timedelta(seconds=rng.randrange(SPAN_SECONDS))).isoformat(" ", "seconds")
        out.row(tsv([str(i + 1), rng.choice(["user", "space", "callout"]),
                     NULL if rng.random() < 0.1 else ref_uuid("user", rng.randrange(c["user"])),
                     esc(nullable_text(rng, 20)), at]))


GENERATORS = {
    "account": gen_account, "profile": gen_profile, "user": gen_user, "space": gen_space,
    "tagset": gen_tagset, "reference": gen_reference, "visual": gen_visual,
    "callout": gen_callout, "post": gen_post, "activity": gen_activity,
    "migrations_typeorm": gen_migrations, "legacy_audit": gen_legacy_audit,
}


def counts_for(scale):
    c = {t: max(1, int(round(v * scale))) for t, v in BASE_COUNTS.items()}
    c["profile"] = c["user"] + c["space"] + c["post"]
    c["migrations_typeorm"] = MIGRATIONS
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=float, default=1.0, help="1 ~= 100k rows (default 1)")
    ap.add_argument("--out", required=True, help="output directory")
    args = ap.parse_args()
    if args.scale <= 0:
        ap.error("--scale must be > 0")
    os.makedirs(args.out, exist_ok=True)
    manifest_path = os.path.join(args.out, "manifest.json")
    if os.path.exists(manifest_path):
        os.remove(manifest_path)  # invalid until we finish

    counts = counts_for(args.scale)
    t0 = time.time()
    tables = []
    for table, columns in TABLES.items():
        t1 = time.time()
        path = os.path.join(args.out, table + ".tsv")
        out = Out(path, binary=(table == "visual"))
        GENERATORS[table](counts[table], counts, out)
        rows = out.close()
        dt = time.time() - t1
        print("generate.py: %-20s %9d rows %7.2fs %9.0f rows/s" % (table, rows, dt, rows / max(dt, 1e-9)),
              file=sys.stderr)
        tables.append({"name": table, "file": table + ".tsv", "columns": columns, "rows": rows})

    manifest = {"seed": SEED, "scale": args.scale, "tables": tables,
                "total_rows": sum(t["rows"] for t in tables)}
    with open(manifest_path + ".tmp", "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(manifest_path + ".tmp", manifest_path)
    print("generate.py: %d rows in %.1fs -> %s" % (manifest["total_rows"], time.time() - t0, args.out),
          file=sys.stderr)


if __name__ == "__main__":
    main()
