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

# Create .venv if missing and (re)install the project in editable mode with
# the dev extras, but only when pyproject.toml changed since the last install:
# running pip on every invocation costs seconds and needs the network.
ensure_venv() {
    local py existed=0
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
        rm -f -- "$VENV_STAMP"
    fi

    if [[ ! -f "$VENV_STAMP" || "$REPO/pyproject.toml" -nt "$VENV_STAMP" ]]; then
        echo "==> installing conveyor[dev] into $VENV" >&2
        # Run from the repo root so '.[dev]' refers to this project.
        (cd "$REPO" && "$VENV/bin/python" -m pip install --quiet \
            --disable-pip-version-check -e '.[dev]') || {
            echo "error: pip install -e '.[dev]' failed" >&2
            return 1
        }
        # Stamp only after success so a failed install is retried next time.
        touch -- "$VENV_STAMP"
    fi
}
