#!/bin/sh
# Conveyor's container entrypoint: the first argument picks the role; without arguments,
# CONVEYOR_ROLE does (default: standalone).
#
#   scheduler | worker | triggerer | web | flower | standalone
#                                                    a long-running process
#   migrate                                          create or upgrade the schema, then exit
#   health                                           `conveyor health`; without arguments, the
#                                                    checks the running role depends on (the
#                                                    image's HEALTHCHECK)
#   <any other conveyor command>                     e.g. `dags list`, `db clean --older-than 30d`
#   conveyor <command>                               the same, named in full (a try's pod)
#
# Long-running roles first wait (up to CONVEYOR_WAIT_SECONDS, default 120) until the store
# answers with a current schema; only the `migrate` role changes the schema, so it runs once
# however many replicas start. The role replaces this shell (exec), so SIGTERM reaches it.
set -eu

CONVEYOR="${CONVEYOR_BIN:-conveyor}"
WAIT_SECONDS="${CONVEYOR_WAIT_SECONDS:-120}"
# Where the running role is noted for the health probe, which starts as a separate process
# and cannot see the command the container was started with.
ROLE_FILE="${CONVEYOR_ROLE_FILE:-/tmp/conveyor-role}"

usage() {
    echo "usage: entrypoint [ROLE [ARGS...]]  (no ROLE: \$CONVEYOR_ROLE, else standalone)" >&2
    echo "roles: scheduler, worker, triggerer, web, flower, standalone, migrate, health," >&2
    echo "       or any conveyor command (see: entrypoint --help)" >&2
}

# Wait until `conveyor health --only ...` passes for the given checks.
wait_for() {
    deadline=$(( $(date +%s) + WAIT_SECONDS ))
    while ! out=$("$CONVEYOR" health "$@" 2>&1); do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            echo "entrypoint: gave up after ${WAIT_SECONDS}s waiting for the store:" >&2
            echo "$out" >&2
            exit 1
        fi
        sleep 2
    done
}

# The checks a role depends on: a worker needs no scheduler to be healthy, nor the web a broker,
# nor a scheduler a triggerer (a lost triggerer must not restart the schedulers).
probe() {
    running=$(cat "$ROLE_FILE" 2>/dev/null || echo "${CONVEYOR_ROLE:-}")
    case "$running" in
        scheduler) exec "$CONVEYOR" health --only store --only schema --only broker --only schedulers ;;
        triggerer) exec "$CONVEYOR" health --only store --only triggerers ;;
        worker) exec "$CONVEYOR" health --only store --only broker ;;
        web|standalone) exec "$CONVEYOR" health --only store --only schema ;;
        flower) exec "$CONVEYOR" health --only broker ;;
        "") exec "$CONVEYOR" health ;;
        *) exec "$CONVEYOR" health --only store ;;
    esac
}

# A role listening for connections listens on every interface unless --host is given.
listen_everywhere() {
    name="$1"
    shift
    case " $* " in
        *" --host "*|*" --host="*) exec "$CONVEYOR" "$name" "$@" ;;
        *) exec "$CONVEYOR" "$name" --host 0.0.0.0 "$@" ;;
    esac
}

if [ "$#" -eq 0 ]; then
    role="${CONVEYOR_ROLE:-standalone}"
else
    role="$1"
    shift
fi
case "$role" in
    scheduler|worker|triggerer|flower|web|standalone) echo "$role" >"$ROLE_FILE" 2>/dev/null || true ;;
esac
case "$role" in
    scheduler|worker|triggerer|flower)
        wait_for --only store --only schema
        exec "$CONVEYOR" "$role" "$@"
        ;;
    web)
        wait_for --only store --only schema
        listen_everywhere web "$@"
        ;;
    standalone)
        # SQLite under CONVEYOR_HOME by default: the process migrates its own store.
        listen_everywhere standalone "$@"
        ;;
    migrate)
        wait_for --only store
        exec "$CONVEYOR" db migrate "$@"
        ;;
    health)
        if [ "$#" -eq 0 ]; then
            probe
        fi
        exec "$CONVEYOR" health "$@"
        ;;
    conveyor)
        # A whole command line, as the Kubernetes executor's pods are given one.
        exec "$CONVEYOR" "$@"
        ;;
    -h|--help|help)
        usage
        exec "$CONVEYOR" --help
        ;;
    *)
        # Any other conveyor command; refuse what conveyor does not know, with the roles.
        if ! "$CONVEYOR" "$role" --help >/dev/null 2>&1; then
            echo "entrypoint: unknown role or command '$role'" >&2
            usage
            exit 2
        fi
        exec "$CONVEYOR" "$role" "$@"
        ;;
esac
