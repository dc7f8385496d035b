# shellcheck shell=bash
# Sourced helper: make sure the local services the test-suite talks to are up
# (PostgreSQL, Redis, RabbitMQ on 127.0.0.1) and (re)create the test database.
#
# A missing binary is only a warning: tests needing that service skip locally
# (and fail on their own in CI). A service that is installed but does not come
# up is an error in CI (CI=true) and a warning elsewhere.

# Seconds to wait for a started service to answer.
SERVICES_WAIT_SECONDS="${SERVICES_WAIT_SECONDS:-60}"
CONVEYOR_TEST_DB="${CONVEYOR_TEST_DB:-conveyor_test}"

_svc_warn() { echo "warning: $*" >&2; }
_svc_have() { command -v "$1" >/dev/null 2>&1; }

# --- health checks (each bounded by a timeout so a hung server can't block) --
_pg_up() {
    timeout 10 pg_isready -q -h 127.0.0.1 -p 5432 >/dev/null 2>&1
}
_redis_up() {
    [[ "$(timeout 5 redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == PONG ]]
}
_rabbit_up() {
    # The AMQP listener opens only once the broker has booted, so a TCP
    # connect is a fast, good-enough readiness check (rabbitmq-diagnostics
    # ping spends seconds starting an Erlang VM on every call).
    timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672' >/dev/null 2>&1
}

# --- start commands ---------------------------------------------------------
_pg_start() {
    # No systemd in containers/CI, hence the redirect skip. Assumes the one
    # cluster version the Debian package installs under /etc/postgresql.
    # shellcheck disable=SC2046
    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
}
_redis_start() {
    # Throw-away instance: no persistence, so nothing accumulates on disk.
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
}
_rabbit_start() {
    rabbitmq-server -detached
}

# ensure_services: check all three, start every one that is down, then wait
# for each started one. Starting them all before waiting lets the slow
# RabbitMQ boot overlap with the others.
ensure_services() {
    local name check start bins bin missing pending=() failed=0
    local -A label=([pg]=PostgreSQL [redis]=Redis [rabbit]=RabbitMQ)
    local -A check_bins=([pg]="pg_isready" [redis]="redis-cli" [rabbit]="")
    local -A start_bins=([pg]="pg_ctlcluster" [redis]="redis-server" [rabbit]="rabbitmq-server")

    for name in pg redis rabbit; do
        check="_${name}_up"
        start="_${name}_start"
        missing=""
        for bin in ${check_bins[$name]}; do
            _svc_have "$bin" || missing="$bin"
        done
        if [[ -n "$missing" ]]; then
            _svc_warn "${label[$name]}: '$missing' not found, not checking/starting ${label[$name]}"
            continue
        fi
        if "$check"; then
            echo "==> ${label[$name]} is up" >&2
            continue
        fi
        bins="${start_bins[$name]}"
        if ! _svc_have "$bins"; then
            _svc_warn "${label[$name]} is down and '$bins' is not installed, not starting it"
            continue
        fi
        if [[ $name == pg && ! -d /etc/postgresql ]]; then
            _svc_warn "PostgreSQL is down and /etc/postgresql is missing (no cluster to start)"
            continue
        fi
        echo "==> ${label[$name]} is down, starting it" >&2
        # A non-zero exit (e.g. "already starting") is not final: the wait
        # below decides whether the service is usable.
        "$start" >&2 || _svc_warn "${label[$name]}: start command exited with $?"
        pending+=("$name")
    done

    local deadline=$((SECONDS + SERVICES_WAIT_SECONDS))
    for name in "${pending[@]}"; do
        check="_${name}_up"
        until "$check"; do
            if ((SECONDS >= deadline)); then
                break
            fi
            sleep 1
        done
        if "$check"; then
            echo "==> ${label[$name]} is up" >&2
        else
            echo "error: ${label[$name]} did not answer within ${SERVICES_WAIT_SECONDS}s" >&2
            failed=1
        fi
    done

    if ((failed)); then
        [[ "${CI:-}" == true ]] && return 1
        _svc_warn "continuing; tests needing the missing services will skip"
    fi
    return 0
}

# ensure_test_database: drop (forcibly, kicking leftover connections from an
# earlier run) and recreate the test database, so every run starts clean.
ensure_test_database() {
    if ! _svc_have psql; then
        _svc_warn "'psql' not found, not creating database $CONVEYOR_TEST_DB"
        return 0
    fi
    if ! _svc_have pg_isready || ! _pg_up; then
        if [[ "${CI:-}" == true ]]; then
            echo "error: PostgreSQL is not reachable on 127.0.0.1:5432" >&2
            return 1
        fi
        _svc_warn "PostgreSQL not reachable, not creating database $CONVEYOR_TEST_DB"
        return 0
    fi
    echo "==> recreating database $CONVEYOR_TEST_DB" >&2
    # Separate -c commands run outside a transaction block, which DROP/CREATE
    # DATABASE require. The SET hides the "does not exist, skipping" notice.
    PGCONNECT_TIMEOUT=10 psql -X -q -v ON_ERROR_STOP=1 \
        -h 127.0.0.1 -p 5432 -U postgres -d postgres \
        -c 'SET client_min_messages = warning' \
        -c "DROP DATABASE IF EXISTS \"$CONVEYOR_TEST_DB\" WITH (FORCE)" \
        -c "CREATE DATABASE \"$CONVEYOR_TEST_DB\"" || {
        echo "error: could not recreate database $CONVEYOR_TEST_DB" >&2
        return 1
    }
}

# ensure_chromium: the web UI's browser tests (tests/browser) drive Debian's
# headless chromium through Playwright (Playwright's own download is not used).
# Installs it with apt-get when it is missing; without it those tests skip
# locally and fail in CI.
ensure_chromium() {
    [[ -x /usr/bin/chromium ]] && return 0
    local sudo=""
    if [[ $(id -u) -ne 0 ]] && _svc_have sudo; then
        sudo="sudo -n"
    fi
    if _svc_have apt-get && [[ $(id -u) -eq 0 || -n "$sudo" ]]; then
        echo "==> chromium is missing, installing it (apt-get install chromium)" >&2
        export DEBIAN_FRONTEND=noninteractive
        # A stale package index is the usual reason for a failed install: refresh once.
        $sudo apt-get install -y --no-install-recommends chromium >&2 ||
            { $sudo apt-get update >&2 &&
                $sudo apt-get install -y --no-install-recommends chromium >&2; } ||
            _svc_warn "apt-get could not install chromium"
    fi
    if [[ ! -x /usr/bin/chromium ]]; then
        if [[ "${CI:-}" == true ]]; then
            echo "error: /usr/bin/chromium is missing; the browser tests need it" >&2
            return 1
        fi
        _svc_warn "/usr/bin/chromium is missing: the browser tests will skip"
    fi
    return 0
}

# ensure_podman: the container tests (tests/deploy) build Conveyor's image and run it with
# podman and runc; without registry access the image's base is made with mmdebstrap, and
# catatonit is the small init (`--init`) the containers run under; busybox-static is the whole
# of the small image the container providers' tests run (tests/integration/container_engine.py).
# Installs what is missing
# with apt-get and writes the engine settings these hosts need when containers.conf has none.
# Quick when everything is there; without it the container tests skip locally and fail in CI.
ensure_podman() {
    local sudo="" missing=() pkg
    if [[ $(id -u) -ne 0 ]] && _svc_have sudo; then
        sudo="sudo -n"
    fi
    for pkg in podman runc uidmap mmdebstrap catatonit busybox-static; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
            missing+=("$pkg")
    done
    if ((${#missing[@]})) && _svc_have apt-get && [[ $(id -u) -eq 0 || -n "$sudo" ]]; then
        echo "==> installing ${missing[*]} (apt-get) for the container tests" >&2
        export DEBIAN_FRONTEND=noninteractive
        # Other apt users on the machine: wait for the lock rather than fail.
        $sudo apt-get -o DPkg::Lock::Timeout=300 update -q >&2 &&
            $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
                "${missing[@]}" >&2 ||
            _svc_warn "apt-get could not install ${missing[*]}"
    fi
    if ! _svc_have podman; then
        if [[ "${CI:-}" == true ]]; then
            echo "error: podman is missing; the container tests need it" >&2
            return 1
        fi
        _svc_warn "podman is missing: the container tests will skip"
        return 0
    fi
    # No systemd to delegate cgroups to, and no raised ulimits allowed: the engine settings
    # that work here (docs/deploy.md). An existing file is the administrator's: left alone.
    local conf=/etc/containers/containers.conf
    if [[ ! -e $conf && ( $(id -u) -eq 0 || -n "$sudo" ) ]]; then
        echo "==> writing $conf (cgroupfs, no default ulimits)" >&2
        $sudo mkdir -p /etc/containers
        printf '%s\n' '[containers]' 'default_ulimits = []' '' '[engine]' \
            'cgroup_manager = "cgroupfs"' | $sudo tee "$conf" >/dev/null
    fi
    return 0
}

# ensure_mariadb: the MySQL provider's tests (tests/integration/test_sql_providers*.py) talk
# to a real MariaDB on 127.0.0.1:3306 as root without a password, in the database
# $CONVEYOR_TEST_MYSQL_DB. Installs Debian's mariadb-server with apt-get when the server is
# missing, starts it when it is down (no systemd here: the socket's folder is made by hand),
# then, through the local socket as the system's root, creates the database and lets root
# in over TCP from 127.0.0.1 (a fresh install admits root on the socket only). Without it
# those tests skip locally and fail in CI.
CONVEYOR_TEST_MYSQL_DB="${CONVEYOR_TEST_MYSQL_DB:-test}"
_mariadb_up() {
    timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/3306' >/dev/null 2>&1
}
_mariadb_start() {
    local sudo="$1"
    $sudo install -d -o mysql -g mysql /run/mysqld
    $sudo start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
}
_mariadb_fail() {
    if [[ "${CI:-}" == true ]]; then
        echo "error: $*" >&2
        return 1
    fi
    _svc_warn "$*: the MySQL provider tests will skip"
    return 0
}
ensure_mariadb() {
    local sudo=""
    if [[ $(id -u) -ne 0 ]] && _svc_have sudo; then
        sudo="sudo -n"
    fi
    if [[ ! -x /usr/sbin/mariadbd ]] && _svc_have apt-get && [[ $(id -u) -eq 0 || -n "$sudo" ]]; then
        echo "==> MariaDB is missing, installing it (apt-get install mariadb-server)" >&2
        export DEBIAN_FRONTEND=noninteractive
        $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
            mariadb-server >&2 ||
            { $sudo apt-get -o DPkg::Lock::Timeout=300 update -q >&2 &&
                $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
                    mariadb-server >&2; } ||
            _svc_warn "apt-get could not install mariadb-server"
    fi
    if [[ ! -x /usr/sbin/mariadbd ]]; then
        _mariadb_fail "/usr/sbin/mariadbd is missing"
        return
    fi
    if _mariadb_up; then
        echo "==> MariaDB is up" >&2
    else
        echo "==> MariaDB is down, starting it" >&2
        _mariadb_start "$sudo" >&2 || _svc_warn "MariaDB: start command exited with $?"
        local deadline=$((SECONDS + SERVICES_WAIT_SECONDS))
        until _mariadb_up || ((SECONDS >= deadline)); do
            sleep 1
        done
        if ! _mariadb_up; then
            _mariadb_fail "MariaDB did not answer on 127.0.0.1:3306 within ${SERVICES_WAIT_SECONDS}s"
            return
        fi
        echo "==> MariaDB is up" >&2
    fi
    # The socket answers a little after the TCP port on a fresh start: a few tries.
    local try
    for try in 1 2 3 4 5; do
        if $sudo timeout 20 mariadb -u root --protocol=socket -e "
            CREATE DATABASE IF NOT EXISTS \`$CONVEYOR_TEST_MYSQL_DB\`;
            CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
            GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;" >&2; then
            return 0
        fi
        sleep "$try"
    done
    _mariadb_fail "could not create the MariaDB database $CONVEYOR_TEST_MYSQL_DB"
}

# ensure_sshd: the ssh and sftp providers' tests start their own OpenSSH server
# (/usr/sbin/sshd, on a private port with a throw-away config and keys) and stop
# it after, so only the package is needed: install openssh-server when missing.
# Its package scripts may start a system sshd on port 22; the tests do not use it.
# As root, sshd also wants its privilege separation folder, which only the
# init system makes.
ensure_sshd() {
    local sudo=""
    if [[ $(id -u) -ne 0 ]] && _svc_have sudo; then
        sudo="sudo -n"
    fi
    if [[ ! -x /usr/sbin/sshd ]] && _svc_have apt-get && [[ $(id -u) -eq 0 || -n "$sudo" ]]; then
        echo "==> sshd is missing, installing it (apt-get install openssh-server)" >&2
        export DEBIAN_FRONTEND=noninteractive
        $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
            openssh-server >&2 ||
            { $sudo apt-get -o DPkg::Lock::Timeout=300 update -q >&2 &&
                $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
                    openssh-server >&2; } ||
            _svc_warn "apt-get could not install openssh-server"
    fi
    if [[ ! -x /usr/sbin/sshd ]]; then
        if [[ "${CI:-}" == true ]]; then
            echo "error: /usr/sbin/sshd is missing; the ssh and sftp provider tests need it" >&2
            return 1
        fi
        _svc_warn "/usr/sbin/sshd is missing: the ssh and sftp provider tests will skip"
        return 0
    fi
    if [[ $(id -u) -eq 0 && ! -d /run/sshd ]]; then
        mkdir -p -m 0755 /run/sshd
    fi
    echo "==> sshd is installed" >&2
}

# _tools_dir: where the test tools that live outside the project's own virtualenv are kept
# (bqemulator's and the OpenID Connect provider's virtualenvs, Airflow's REST API spec): in
# the user's cache, not in the checkout, so a fresh clone on the same machine (as CI's) finds
# them built. CONVEYOR_TEST_TOOLS chooses another folder.
_tools_dir() {
    echo "${CONVEYOR_TEST_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/conveyor-test-tools}"
}

# ensure_bqemulator: the google provider's tests run BigQuery on bqemulator (DuckDB inside), in
# a virtualenv of its own ($(_tools_dir)/venv-bqemulator): its FastAPI, Starlette, gRPC and sqlglot
# pins are its own, and they must not move the project's. At start it loads DuckDB's spatial
# extension, which it would download; the extension comes from PyPI instead
# (duckdb-extension-spatial, the same DuckDB version) and is copied into the HOME the tests
# give the emulator ($(_tools_dir)/venv-bqemulator/home). Exports CONVEYOR_TEST_BQEMULATOR and
# CONVEYOR_TEST_BQEMULATOR_HOME for the tests (tests/integration/gcp_servers.py).
ensure_bqemulator() {
    local venv="$(_tools_dir)/venv-bqemulator" duckdb_version="1.5.5"
    local home="$venv/home" stamp="$venv/.conveyor-bqemulator-$duckdb_version"
    if [[ ! -f "$stamp" ]]; then
        echo "==> installing bqemulator into $venv" >&2
        # The interpreter its pins were measured on (3.11), whatever the project's .venv has.
        "$(python_that_runs "$SUITE_PYTHON" || _venv_python)" -m venv "$venv" &&
            "$venv/bin/pip" install -q "bqemulator==1.4.0" "duckdb==$duckdb_version" \
                "duckdb-extension-spatial==$duckdb_version" numpy >&2 || {
            _svc_warn "could not install bqemulator: the google provider tests will fail"
            return 0
        }
        local ext
        ext="$("$venv/bin/python" - <<'PY'
import pathlib, duckdb_extension_spatial as m
print(next(pathlib.Path(m.__file__).parent.rglob("spatial.duckdb_extension")))
PY
)" || { _svc_warn "no spatial.duckdb_extension in duckdb-extension-spatial"; return 0; }
        mkdir -p "$home/.duckdb/extensions/v$duckdb_version/linux_amd64"
        cp "$ext" "$home/.duckdb/extensions/v$duckdb_version/linux_amd64/"
        touch "$stamp"
    fi
    export CONVEYOR_TEST_BQEMULATOR="$venv/bin/bqemulator"
    export CONVEYOR_TEST_BQEMULATOR_HOME="$home"
    echo "==> bqemulator is installed" >&2
}

# _apt_ensure PATH PACKAGE WHAT: install Debian's PACKAGE with apt-get when PATH is missing
# (an update first only when the plain install fails). Without it the tests of WHAT skip
# locally and fail in CI.
_apt_ensure() {
    local path="$1" package="$2" what="$3" sudo=""
    if [[ $(id -u) -ne 0 ]] && _svc_have sudo; then
        sudo="sudo -n"
    fi
    if [[ ! -e "$path" ]] && _svc_have apt-get && [[ $(id -u) -eq 0 || -n "$sudo" ]]; then
        echo "==> $path is missing, installing it (apt-get install $package)" >&2
        export DEBIAN_FRONTEND=noninteractive
        $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
            "$package" >&2 ||
            { $sudo apt-get -o DPkg::Lock::Timeout=300 update -q >&2 &&
                $sudo apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends \
                    "$package" >&2; } ||
            _svc_warn "apt-get could not install $package"
    fi
    if [[ ! -e "$path" ]]; then
        if [[ "${CI:-}" == true ]]; then
            echo "error: $path is missing; the $what tests need it" >&2
            return 1
        fi
        _svc_warn "$path is missing: the $what tests will skip"
        return 0
    fi
    echo "==> $path is installed" >&2
}

# ensure_postgresql_jdbc: the jdbc provider's tests and the Spark job's --jars use Debian's
# PostgreSQL JDBC driver, /usr/share/java/postgresql.jar (Java itself is on the machine).
ensure_postgresql_jdbc() {
    _apt_ensure /usr/share/java/postgresql.jar libpostgresql-jdbc-java "jdbc and Spark"
}

# ensure_smbd: the samba provider's tests start their own smbd (a throw-away config, passdb
# and share under a temp folder, on a private port) and stop it after: only the package is
# needed. Its package scripts may start a system smbd on port 445; the tests do not use it.
ensure_smbd() {
    _apt_ensure /usr/sbin/smbd samba "samba provider"
}

# ensure_slapd: the LDAP sign-in tests (tests/integration/test_ldap_*.py) start their own
# OpenLDAP server (Debian's slapd, a throw-away config and database under a temp folder, on a
# private port) and load its directory with ldapadd (ldap-utils); only the packages are
# needed. Debian's package scripts may start a system slapd on port 389; the tests do not use it.
ensure_slapd() {
    _apt_ensure /usr/sbin/slapd slapd "LDAP sign-in" || return 1
    _apt_ensure /usr/bin/ldapadd ldap-utils "LDAP sign-in"
}

# ensure_oidc_provider: the OpenID Connect sign-in tests run a real provider, PyPI's
# oidc-provider-mock (Authlib's authorization server behind discovery, JWKS and a sign-in
# form), in a virtualenv of its own ($(_tools_dir)/venv-oidc) so its Flask and pins stay out of the
# project's. Exports CONVEYOR_TEST_OIDC_PROVIDER, the command the tests start it with
# (tests/integration/oidc_servers.py).
ensure_oidc_provider() {
    local venv="$(_tools_dir)/venv-oidc" version="0.3.4"
    local stamp="$venv/.conveyor-oidc-provider-$version"
    if [[ ! -f "$stamp" ]]; then
        echo "==> installing oidc-provider-mock into $venv" >&2
        "$(python_that_runs "$SUITE_PYTHON" || _venv_python)" -m venv "$venv" &&
            "$venv/bin/pip" install -q "oidc-provider-mock==$version" >&2 || {
            _svc_warn "could not install oidc-provider-mock: the OpenID Connect tests will skip"
            return 0
        }
        touch "$stamp"
    fi
    export CONVEYOR_TEST_OIDC_PROVIDER="$venv/bin/oidc-provider-mock"
    echo "==> oidc-provider-mock is installed" >&2
}

# ensure_airflow_spec: Airflow's published OpenAPI spec of its REST API (/api/v2) and its
# registry of metric names, taken from the released apache-airflow-core wheel (never copied into
# the repository) into the gitignored $(_tools_dir)/airflow-spec. Exports
# CONVEYOR_TEST_AIRFLOW_SPEC, the spec's path, for the tests that compare what Conveyor serves at
# /api/v2 with it (tests/api/airflow_v2/), and CONVEYOR_TEST_AIRFLOW_METRICS, the registry's, for
# those that hold docs/metrics.md and Conveyor's legacy metric names to it.
ensure_airflow_spec() {
    local version="3.3.2" cache="$(_tools_dir)/airflow-spec"
    local spec="$cache/$version/v2-rest-api-generated.yaml"
    local metrics="$cache/$version/metrics_template.yaml"
    if [[ ! -s "$spec" || ! -s "$metrics" ]]; then
        echo "==> fetching Airflow $version's REST API spec and metric names into $cache" >&2
        mkdir -p "$cache/$version"
        "$VENV/bin/python" -m pip download -q --no-deps -d "$cache/$version" \
            "apache-airflow-core==$version" >&2 &&
            "$VENV/bin/python" - "$cache/$version" <<'PY' || {
import pathlib, sys, zipfile
folder = pathlib.Path(sys.argv[1])
wheel = next(folder.glob("apache_airflow_core-*.whl"))
members = {
    "v2-rest-api-generated.yaml": "airflow/api_fastapi/core_api/openapi/v2-rest-api-generated.yaml",
    "metrics_template.yaml": "airflow/_shared/observability/metrics/metrics_template.yaml",
}
with zipfile.ZipFile(wheel) as archive:
    for name, member in members.items():
        (folder / name).write_bytes(archive.read(member))
wheel.unlink()
PY
            _svc_warn "could not fetch Airflow's spec: the /api/v2 spec and metric name tests will fail"
            return 0
        }
    fi
    export CONVEYOR_TEST_AIRFLOW_SPEC="$spec"
    export CONVEYOR_TEST_AIRFLOW_METRICS="$metrics"
}
