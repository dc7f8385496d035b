# shellcheck shell=bash
# Sourced helper shared by scripts/test and scripts/standalone: one place that
# knows how the project's virtualenv is built, so both commands always run the
# same interpreter and the same installed dependencies.
#
# Defines REPO (repo root), VENV ($REPO/.venv) and the function ensure_venv.

REPO="${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
VENV="$REPO/.venv"
# Touched after a successful install; pyproject.toml newer than it => reinstall.
VENV_STAMP="$VENV/.conveyor-install-stamp"

# Pick the interpreter: $PYTHON if given, else python3.11 (the version CI
# targets), else python3 as a last resort for developer machines.
_venv_python() {
    if [[ -n "${PYTHON:-}" ]]; then
        printf '%s\n' "$PYTHON"
    elif command -v python3.11 >/dev/null 2>&1; then
        printf '%s\n' python3.11
    else
        printf '%s\n' python3
    fi
}

# Create .venv if missing and (re)install the project in editable mode, with the extras
# named by $1 (`ensure_venv dev` for the tests; no argument for what running needs), but
# only when pyproject.toml changed since the last install of those extras: running pip on
# every invocation costs seconds and needs the network. The dev extras include everything
# running needs, so a fresh dev install also serves `ensure_venv` without extras.
ensure_venv() {
    local extras="${1:-}" py existed=0 target="." stamp="$VENV_STAMP"
    if [[ -n "$extras" ]]; then
        target=".[$extras]"
        stamp="$VENV_STAMP-$extras"
    fi
    if [[ ! -x "$VENV/bin/python" ]]; then
        py="$(_venv_python)"
        [[ -d "$VENV" ]] && existed=1
        echo "==> creating virtualenv $VENV with $py" >&2
        if ! "$py" -m venv "$VENV"; then
            # Don't leave a half-built venv behind that the next run would trust.
            [[ $existed -eq 0 ]] && rm -rf -- "$VENV"
            echo "error: '$py -m venv' failed (on Debian install the python3.11-venv package)" >&2
            return 1
        fi
        rm -f -- "$VENV_STAMP" "$VENV_STAMP"-*
    fi

    if ! _venv_fresh "$stamp" && ! { [[ -z "$extras" ]] && _venv_fresh "$VENV_STAMP-dev"; }; then
        _venv_install "$extras" "$target" "$stamp" || return 1
    fi
    # Bytecode for the project's own sources, which an editable install leaves uncompiled:
    # where PYTHONDONTWRITEBYTECODE is set, every `conveyor` process (each CLI command, worker,
    # scheduler and the tests' hundreds of them) would otherwise compile all of it again, about
    # a third of its start. Up-to-date files are skipped; a stale file is recompiled in memory.
    "$VENV/bin/python" -m compileall -q -j 0 "$REPO/src" >/dev/null || true
}

_venv_install() {
    local extras="$1" target="$2" stamp="$3"
    echo "==> installing conveyor$([[ -n "$extras" ]] && printf '[%s]' "$extras") into $VENV" >&2
    # Run from the repo root so '.' refers to this project.
    (cd "$REPO" && "$VENV/bin/python" -m pip install --quiet \
        --disable-pip-version-check -e "$target") || {
        echo "error: pip install -e '$target' failed" >&2
        return 1
    }
    # Stamp only after success so a failed install is retried next time.
    touch -- "$stamp"
}

# Whether the install that left this stamp is newer than pyproject.toml.
_venv_fresh() {
    [[ -f "$1" && ! "$REPO/pyproject.toml" -nt "$1" ]]
}
