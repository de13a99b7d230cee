#!/usr/bin/env python3
"""Deterministic generator for the my2pg benchmark dataset (scripts/bench).

    generate.py --scale N|prod --out DIR [--sizes]

Writes DIR/<table>.tsv for every table of scripts/bench-data/mysql_schema.sql
in MariaDB `LOAD DATA` format (the same format, escaping and manifest as
scripts/demo-data/generate.py, whose generators and helpers it reuses), plus
DIR/manifest.json (load order, column lists, row counts), written last as the
cache marker.

Tables: the ten Alkemio-shaped demo tables (account, profile, user, space,
tagset, reference, visual, callout, post and the large narrow `activity`),
produced by the demo generator's own functions (so row i of a demo table is
the same here and in the demo), plus two bench-only tables:

  in_app_notification  wide and JSON-heavy: ~3 KB of JSON `payload` per row,
                       three enums, three user/space FKs (the production
                       table of 1.67 M rows this stands in for);
  message              wide, multi-KB markdown `body`, and a SELF-REFERENCE:
                       nullable `parentId` -> message(id). Parents are random
                       earlier rows, so in key (UUID) order about half of the
                       children come before their parent.

Scale: row counts grow linearly with N (N may be fractional); scale 1 is
1.38 M rows / ~0.63 GB of my2pg CSV, 72% of the rows in `activity`.
`--scale prod` is a fixed preset shaped like the production database:
3.49 M rows, 1.67 M of them in in_app_notification (~2.8 KB of JSON, ~3.2 KB
of CSV per row: ~5.3 GB), ~6.1 GB of CSV in total.

Determinism: every table draws from its own random.Random seeded with a
fixed string; dates are offsets from a fixed base; referenced keys are the
demo generator's keyed hashes of (table, row index). Everything streams row
by row (the JSON and markdown bodies are assembled from seeded, pre-escaped
fragment pools), so memory stays flat at any scale. No time, host or
PYTHONHASHSEED dependence.
"""

import argparse
import importlib.util
import json
import os
import random
import sys
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "demo_generate", os.path.join(_HERE, "..", "demo-data", "generate.py"))
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)

SEED = "my2pg-bench-v1"
NULL, esc, ref_uuid, rand_dt, tsv = demo.NULL, demo.esc, demo.ref_uuid, demo.rand_dt, demo.tsv

DEMO_TABLES = ["account", "profile", "user", "space", "tagset", "reference", "visual",
               "callout", "post", "activity"]

TABLES = {t: demo.TABLES[t] for t in DEMO_TABLES}
TABLES["in_app_notification"] = [
    "id", "createdDate", "updatedDate", "version", "type", "state", "category",
    "receiverID", "triggeredByID", "triggeredAt", "spaceID", "sourceEntityID",
    "emailSent", "payload"]
TABLES["message"] = [
    "id", "createdDate", "updatedDate", "version", "threadID", "parentId",
    "senderId", "calloutId", "sortIndex", "isEdited", "reactions", "body"]

# Rows per table at scale 1 (profile is derived: one per user, space, post).
BASE_COUNTS = {
    "account": 4000, "user": 20000, "space": 2000, "tagset": 50000, "reference": 40000,
    "visual": 15000, "callout": 16000, "post": 60000, "activity": 1000000,
    "in_app_notification": 60000, "message": 30000,
}
# Shaped like production: ~3.5 M rows, 1.67 M rows x ~3 KB JSON.
PROD_COUNTS = {
    "account": 10000, "user": 50000, "space": 5000, "tagset": 125000, "reference": 100000,
    "visual": 37500, "callout": 40000, "post": 150000, "activity": 1000000,
    "in_app_notification": 1670000, "message": 100000,
}

NOTIFICATION_TYPES = ["USER_MENTIONED", "COLLABORATION_CALLOUT_PUBLISHED",
                      "COLLABORATION_POST_CREATED", "COLLABORATION_POST_COMMENT_CREATED",
                      "SPACE_COMMUNITY_NEW_MEMBER", "SPACE_COMMUNICATION_UPDATE",
                      "USER_COMMENT_REPLY", "PLATFORM_FORUM_DISCUSSION_CREATED"]
NOTIFICATION_STATES = ["unread", "read", "archived"]
NOTIFICATION_CATEGORIES = ["self", "member", "admin", "platform"]


def counts_for(scale):
    if scale == "prod":
        c = dict(PROD_COUNTS)
    else:
        c = {t: max(1, int(round(v * scale))) for t, v in BASE_COUNTS.items()}
    c["profile"] = c["user"] + c["space"] + c["post"]
    return c


def _json_fragment_pool(rng, k):
    """k pre-escaped JSON texts (~0.5-1.5 KB each): nested objects, unicode, escapes."""
    pool = []
    for j in range(k):
        doc = {
            "id": demo.rand_uuid(rng),
            "nameID": "entity-%d" % j,
            "displayName": demo.display_name(rng, j),
            "description": demo.markdown(rng, 6),
            "tags": rng.sample(["climate", "\u6c34", "a,b", "caf\u00e9", "\U0001F331", "x\\y",
                                "tab\there", "quote\"d"], rng.randint(0, 5)),
            "visual": {"uri": "https://alkem.io/api/private/rest/storage/document/%s"
                              % demo.rand_uuid(rng),
                       "aspectRatio": rng.choice([1, 1.5, 0.25, 3]), "alt": None},
            "settings": json.loads(demo.json_doc(rng, j)),
        }
        text = json.dumps(doc, ensure_ascii=rng.random() < 0.3,
                          separators=rng.choice([(",", ":"), (", ", ": ")]))
        pool.append(esc(text))
    return pool


def gen_in_app_notification(n, c, out):
    rng = random.Random(SEED + ":in_app_notification")
    frags = _json_fragment_pool(rng, 512)
    nf = len(frags)
    users = [ref_uuid("user", i) for i in range(c["user"])]
    spaces = [ref_uuid("space", i) for i in range(c["space"])]
    nu, ns = len(users), len(spaces)
    randrange, rnd, getrandbits = rng.randrange, rng.random, rng.getrandbits
    for i in range(n):
        cd, ud = rand_dt(rng)
        h = "%032x" % getrandbits(128)
        s = "%032x" % getrandbits(128)
        typ = NOTIFICATION_TYPES[randrange(8)]
        receiver = users[randrange(nu)]
        trig = NULL if rnd() < 0.05 else users[randrange(nu)]
        space = NULL if rnd() < 0.1 else spaces[randrange(ns)]
        # ~2.8 KB of JSON (~3.2 KB per CSV row): space, callout, triggeredBy, and
        # sometimes a contribution and a comment.
        payload = ('{"type":"%s","version":%d,"receiverID":"%s","space":%s,"callout":%s,'
                   '"contribution":%s,"triggeredBy":%s,"comment":%s,"seq":%d}' % (
                       typ, 1 + (i & 7), receiver, frags[randrange(nf)], frags[randrange(nf)],
                       frags[randrange(nf)] if rnd() < 0.4 else "null", frags[randrange(nf)],
                       frags[randrange(nf)] if rnd() < 0.1 else "null", i))
        out.row("%s-%s-4%s-8%s-%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n" % (
            h[:8], h[8:12], h[13:16], h[17:20], h[20:32], cd, ud, 1 + (i & 3), typ,
            NOTIFICATION_STATES[randrange(3)], NOTIFICATION_CATEGORIES[randrange(4)],
            receiver, trig, cd, space,
            NULL if rnd() < 0.3 else "%s-%s-4%s-9%s-%s" % (s[:8], s[8:12], s[13:16], s[17:20], s[20:32]),
            1 if rnd() < 0.4 else 0, payload))


def gen_message(n, c, out):
    rng = random.Random(SEED + ":message")
    # Multi-KB markdown bodies: pre-escaped pool of ~1-2 KB texts, 1-3 per row.
    bodies = [esc(demo.markdown(rng, 40)) for _ in range(256)]
    seps = [esc(s) for s in ("\n\n", "\r\n\r\n", "\n---\n")]
    reactions = [esc(json.dumps({"\U0001F44D": rng.randrange(50), "\u2764\ufe0f": rng.randrange(9),
                                 "by": [demo.rand_uuid(rng) for _ in range(rng.randrange(4))]},
                                ensure_ascii=rng.random() < 0.5)) for _ in range(64)]
    users = [ref_uuid("user", i) for i in range(c["user"])]
    callouts = [ref_uuid("callout", i) for i in range(c["callout"])]
    nb, nr, nu, nc = len(bodies), len(reactions), len(users), len(callouts)
    randrange, rnd = rng.randrange, rng.random
    for i in range(n):
        cd, ud = rand_dt(rng)
        x = rnd()
        if i < 10 or x < 0.3:
            parent, thread = NULL, ref_uuid("message", i)
        else:
            j = randrange(i)
            parent, thread = ref_uuid("message", j), ref_uuid("message", j - j % 7)
        body = bodies[randrange(nb)]
        for _ in range(randrange(3)):
            body += seps[randrange(3)] + bodies[randrange(nb)]
        out.row(tsv([ref_uuid("message", i), cd, ud, str(1 + (i & 3)), thread, parent,
                     NULL if rnd() < 0.03 else users[randrange(nu)],
                     NULL if rnd() < 0.05 else callouts[randrange(nc)],
                     str(randrange(-1000, 1000000)), "1" if rnd() < 0.1 else "0",
                     NULL if rnd() < 0.4 else reactions[randrange(nr)], body]))


GENERATORS = {t: demo.GENERATORS[t] for t in DEMO_TABLES}
GENERATORS["in_app_notification"] = gen_in_app_notification
GENERATORS["message"] = gen_message


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", default="1", help="a positive number (1 = 1.38 M rows) or 'prod'")
    ap.add_argument("--out", help="output directory")
    ap.add_argument("--counts", action="store_true", help="print the row counts as JSON and exit")
    args = ap.parse_args()
    if args.scale != "prod":
        try:
            args.scale = float(args.scale)
        except ValueError:
            ap.error("--scale must be a number or 'prod'")
        if args.scale <= 0:
            ap.error("--scale must be > 0")
    counts = counts_for(args.scale)
    if args.counts:
        print(json.dumps({t: counts[t] for t in TABLES}))
        return
    if not args.out:
        ap.error("--out is required")
    os.makedirs(args.out, exist_ok=True)
    manifest_path = os.path.join(args.out, "manifest.json")
    if os.path.exists(manifest_path):
        os.remove(manifest_path)  # invalid until we finish

    t0 = time.time()
    tables = []
    for table, columns in TABLES.items():
        t1 = time.time()
        out = demo.Out(os.path.join(args.out, table + ".tsv"), binary=(table == "visual"))
        GENERATORS[table](counts[table], counts, out)
        rows = out.close()
        dt = time.time() - t1
        print("bench generate.py: %-20s %9d rows %7.2fs %9.0f rows/s"
              % (table, rows, dt, rows / max(dt, 1e-9)), file=sys.stderr)
        tables.append({"name": table, "file": table + ".tsv", "columns": columns, "rows": rows})

    manifest = {"seed": SEED, "scale": args.scale, "tables": tables,
                "total_rows": sum(t["rows"] for t in tables)}
    with open(manifest_path + ".tmp", "w") as f:
        json.dump(manifest, f, indent=1)
    os.replace(manifest_path + ".tmp", manifest_path)
    print("bench generate.py: %d rows in %.1fs -> %s" % (manifest["total_rows"], time.time() - t0,
                                                         args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
