// Integration tests: real MariaDB source, real PostgreSQL target, the real my2pg binary.

// Shared fixtures: per-test databases, SQL helpers, config writer, my2pg runner.
mod common;

// Text columns: NULL vs '', multi-line Markdown, unicode, CSV/COPY special characters.
mod text;
// json -> json (exact text) and json -> jsonb (semantic equality).
mod json;
// blob/varbinary/binary -> bytea with every byte value.
mod binary;
// datetime(6)/date/timestamp(6) -> timestamp/date/timestamptz.
mod temporal;
// tinyint(1) -> boolean, integer extremes, decimal and floating point.
mod numeric;
// char(36) -> uuid, enum -> Postgres enum/text/varchar.
mod uuid_enum;
// MariaDB's own uuid, inet6 and inet4 types.
mod mariadb_types;
// Non-UTF-8 source charsets: bytes as stored, bytes with no character refused.
mod charsets;
// FK load order (waves), chunk files, file modes and manifest checksums.
mod order;
// Identity and serial sequences continue past the loaded ids.
mod sequences;
// Blocking plan problems, exit code 2, skipped and excluded tables.
mod plan;
// FK cycles: self-references, nullable and NOT NULL cycles, other schemas, orphans.
mod cycles;
// constraints = "rebuild": identical catalog after success, failure, orphan, kill + resume.
mod rebuild;
// Partitioned targets: indexes and FKs on and to partitioned tables under rebuild.
mod partitions;
// Hostile table and column names through every command; work directory containment.
mod names;
// Config validation: unknown keys and bad values.
mod config;
// Passwords never appear in any output.
mod secrets;
// Ledger: import after run loads nothing twice; export + import equals run.
mod resume;
// Conversion matrix: edge values per (MySQL type, Postgres type) row, and the failures.
mod matrix;
// Policies and per-column rules (zero_dates, base64, hex, empty_to_null, strip_nul, ...).
mod policies;
// `my2pg check`: every problem class counted with sample keys; writes nothing.
mod check;
// `my2pg verify`: count / load / full levels, every kind of difference found by key.
mod verify;
// Durability: deterministic exports, resume, exactly-once, SIGKILL/SIGTERM, lock, disk, snapshot.
mod durability;
// Large tables read in key ranges by several readers: identical files, resume of gaps.
mod split;
// Rows already in the target: existing_rows policies, resumed runs, no CASCADE, --fresh.
mod existing;
// Peak memory bounded by batch bytes, whatever the row width.
mod memory;
// load_format: binary COPY against CSV, identical results; fallbacks; encoder errors.
mod load_format;
