# shellcheck shell=bash
# Sourced helper shared by scripts/test and scripts/standalone: one place that
# knows how the project's virtualenv is built, so both commands always run the
# same interpreter and the same installed dependencies.
#
# Defines REPO (repo root), VENV ($REPO/.venv) and the functions ensure_venv and
# newest_python. Set VENV (and PYTHON) before a call of ensure_venv to build another one.

REPO="${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
VENV="$REPO/.venv"

# The interpreters the project supports (pyproject.toml's requires-python), newest first.
SUPPORTED_PYTHONS=(3.13 3.12 3.11)
# The one the whole test suite runs on (scripts/test builds the project's .venv with it when
# $PYTHON does not say): the oldest supported, the floor every user has. scripts/test also
# runs the unit and loading tests on the newest one present (newest_python) when it differs.
SUITE_PYTHON=3.11

# A command that runs Python $1 (3.13), or nothing (status 1). pyenv's shims answer only for
# the versions pyenv is set to use, so its installed versions are looked at too.
python_that_runs() {
    local version="$1" found
    if "python$version" -c '' >/dev/null 2>&1; then
        printf '%s\n' "python$version"
        return 0
    fi
    for found in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/"python$version"; do
        if [[ -x "$found" ]] && "$found" -c '' >/dev/null 2>&1; then
            printf '%s\n' "$found"
            return 0
        fi
    done
    return 1
}

# The newest supported interpreter present (3.13, then 3.12, then 3.11), or nothing.
newest_python() {
    local version
    for version in "${SUPPORTED_PYTHONS[@]}"; do
        python_that_runs "$version" && return 0
    done
    return 1
}

# Pick the interpreter: $PYTHON if given, else the newest supported one present (what
# scripts/standalone runs on), else python3 as a last resort for developer machines.
_venv_python() {
    if [[ -n "${PYTHON:-}" ]]; then
        printf '%s\n' "$PYTHON"
    elif newest_python; then
        :
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
    # Touched after a successful install; pyproject.toml newer than it => reinstall.
    local VENV_STAMP="$VENV/.conveyor-install-stamp"
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
    # VENV_COMPILE=0 leaves it to the caller (a build beside running tests: see scripts/test).
    [[ "${VENV_COMPILE:-1}" == 0 ]] || compile_sources
}

compile_sources() {
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
