#!/bin/sh
# Conveyor's container entrypoint: the first argument picks the role.
#
#   scheduler | worker | web | flower | standalone   a long-running process
#   migrate                                          create or upgrade the schema, then exit
#   health                                           `conveyor health` (the container probe)
#   <any other conveyor command>                     e.g. `dags list`, `db clean --older-than 30d`
#
# Long-running roles first wait (up to CONVEYOR_WAIT_SECONDS, default 120) until the store
# answers with a current schema; only the `migrate` role changes the schema, so it runs once
# however many replicas start. The role replaces this shell (exec), so SIGTERM reaches it.
set -eu

CONVEYOR="${CONVEYOR_BIN:-conveyor}"
WAIT_SECONDS="${CONVEYOR_WAIT_SECONDS:-120}"

usage() {
    echo "usage: entrypoint ROLE [ARGS...]" >&2
    echo "roles: scheduler, worker, web, flower, standalone, migrate, health," >&2
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

if [ "$#" -eq 0 ]; then
    usage
    exit 2
fi

role="$1"
shift
case "$role" in
    scheduler|worker|flower)
        wait_for --only store --only schema
        exec "$CONVEYOR" "$role" "$@"
        ;;
    web)
        wait_for --only store --only schema
        # In a container the web process must listen on every interface to be reachable.
        case " $* " in
            *" --host "*|*" --host="*) exec "$CONVEYOR" web "$@" ;;
            *) exec "$CONVEYOR" web --host 0.0.0.0 "$@" ;;
        esac
        ;;
    standalone)
        # SQLite under CONVEYOR_HOME by default: the process migrates its own store.
        exec "$CONVEYOR" standalone "$@"
        ;;
    migrate)
        wait_for --only store
        exec "$CONVEYOR" db migrate "$@"
        ;;
    health)
        exec "$CONVEYOR" health "$@"
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
