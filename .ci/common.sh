# Shared set-up for the CI scripts; sourced by .ci/run and .ci/main, not run on its own.
#
# After `source .ci/common.sh`:
#   ROOT                 the repository root (the current directory as well)
#   find_python          prints the path of a Python >= 3.12, or fails with a clear message
#   install_system_packages
#                        operating-system packages the tests need (Debian's chromium)
#   ensure_venv          creates .venv with that Python if missing (or too old) and installs
#                        the project with its test extra into it
#   NUMBA_CACHE_DIR, MPLBACKEND are exported.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# Compiled numba kernels are cached here, so each new process (every pytest worker, every
# `carry-unwind run`) loads them instead of compiling again. The directory is git-ignored.
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$ROOT/.numba_cache}"
# Figures render without a display.
export MPLBACKEND="${MPLBACKEND:-Agg}"

MIN_PYTHON="3.12"   # Mesa >= 3.4 needs it; under 3.11 pip silently installs Mesa 3.3

log() { printf '[ci] %s\n' "$*" >&2; }
die() { printf '[ci] error: %s\n' "$*" >&2; exit 1; }

# true if "$1" runs and is at least MIN_PYTHON
python_ok() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1
}

find_python() {
    local candidate
    local -a candidates=()
    # an explicit choice wins: PYTHON=/path/to/python3.12 bash .ci/run
    if [[ -n "${PYTHON:-}" ]]; then
        candidates+=("$PYTHON")
    fi
    candidates+=(python3.12)
    # pyenv installs (the project machines have 3.12.1 there, while python3 is 3.11)
    for candidate in "$HOME"/.pyenv/versions/3.12*/bin/python /root/.pyenv/versions/3.12*/bin/python; do
        if [[ -x "$candidate" ]]; then
            candidates+=("$candidate")
        fi
    done
    candidates+=(python3)
    for candidate in "${candidates[@]}"; do
        if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
            command -v "$candidate"
            return 0
        fi
    done
    die "no Python >= $MIN_PYTHON found (tried: ${candidates[*]}). Install one (e.g. 'pyenv install 3.12'," \
        "or apt-get install python3.12 python3.12-venv) or point PYTHON at it: PYTHON=/path/to/python3.12 bash $0"
}

# -- system packages ------------------------------------------------------------------------------
# Operating-system packages needed by the tests: Debian's `chromium`, which the real-browser test
# of the app (tests/experiments/test_app_browser.py) drives through Playwright (never `playwright install`:
# it downloads a browser of its own). Installed only when missing, so a second run does nothing;
# without root (or sudo) and apt-get it says so and goes on, and that test then fails saying why.
install_system_packages() {
    if [[ -x /usr/bin/chromium ]]; then
        return 0
    fi
    local sudo=()
    if [[ "$(id -u)" -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo=(sudo -n)
        else
            log "chromium is not installed and this user cannot install it: the browser test will fail" \
                "(as root: apt-get install -y chromium)"
            return 0
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        log "chromium is not installed and apt-get is not available: the browser test will fail"
        return 0
    fi
    log "installing Debian's chromium for the browser test (apt-get)"
    local apt_log
    apt_log="$(mktemp)"
    if ! { "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq chromium; } \
        >"$apt_log" 2>&1; then
        tail -n 20 "$apt_log" >&2
        rm -f "$apt_log"
        die "could not install chromium with apt-get (output above)"
    fi
    rm -f "$apt_log"
}

# -- the virtual environment ----------------------------------------------------------------------
ensure_venv() {
    if [[ -x .venv/bin/python ]] && ! python_ok .venv/bin/python; then
        log ".venv has $(.venv/bin/python -V 2>&1); this project needs Python >= $MIN_PYTHON: recreating it"
        rm -rf .venv
    fi
    if [[ ! -x .venv/bin/python ]]; then
        local python
        python="$(find_python)"
        log "creating .venv with $("$python" -V 2>&1) ($python)"
        "$python" -m venv .venv || die "could not create .venv with $python (on Debian/Ubuntu: apt-get install python3.12-venv)"
    fi
    log "installing the project and its test extra into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
}
