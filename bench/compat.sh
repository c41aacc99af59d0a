#!/usr/bin/env bash
# The supported PyTorch range, proven at both ends: a virtual environment with the oldest
# supported torch (pinned below) and one with the newest pip offers, each with the student's
# order of installs (torch first, then `pip install -e '.[test]'`, which must keep that torch),
# then the default test suite in each.
#
#   bash bench/compat.sh [VENVS_DIR] [-- PYTEST_ARGS...]     (default VENVS_DIR: ../compat-venvs)
#
# A venv that already holds the wanted torch is reused. Each torch wheel from PyPI is a
# CUDA build with its CUDA libraries (about 3 GB per venv): delete VENVS_DIR afterwards.
# Prints one line per end (torch, torchvision, pytest's closing line) and exits 1 when
# either end fails or pip replaced the torch it was given.
set -uo pipefail
cd "$(dirname "$0")/.."

OLDEST_TORCH="2.5.1" OLDEST_VISION="0.20.1"  # keep in step with pyproject.toml's torch>= and torchvision>=
VENVS="$(realpath -m "${1:-../compat-venvs}")"
shift $(($# > 0 ? 1 : 0))
[[ "${1:-}" == "--" ]] && shift
PYTEST_ARGS=("$@")
PYTHON="${PYTHON:-python3}"
mkdir -p "$VENVS"

torch_of() { "$1/bin/python" -c "import torch, torchvision; print(torch.__version__.split('+')[0], torchvision.__version__.split('+')[0])"; }

prepare() {  # prepare NAME TORCH_SPEC VISION_SPEC: a venv with that torch, then this project on top
    local venv="$VENVS/$1"
    if [[ ! -x "$venv/bin/python" ]]; then
        "$PYTHON" -m venv "$venv" && "$venv/bin/python" -m pip install -q --upgrade pip || return 1
    fi
    "$venv/bin/python" -m pip install -q "$2" "$3" || return 1
    local before after
    before="$(torch_of "$venv")"
    "$venv/bin/python" -m pip install -q -e '.[test]' || return 1
    after="$(torch_of "$venv")"
    if [[ "$before" != "$after" ]]; then
        echo "pip replaced torch/torchvision $before with $after" >&2
        return 1
    fi
}

declare -A RESULT
STATUS=0
for end in oldest newest; do
    if [[ $end == oldest ]]; then
        name="torch-$OLDEST_TORCH" torch="torch==$OLDEST_TORCH" vision="torchvision==$OLDEST_VISION"
    else
        name="torch-newest" torch="torch" vision="torchvision"
    fi
    echo "== $end: $torch $vision in $VENVS/$name"
    if ! prepare "$name" "$torch" "$vision"; then
        RESULT[$end]="install failed"
        STATUS=1
        continue
    fi
    versions="$(torch_of "$VENVS/$name")"
    log="$VENVS/$name-pytest.log"
    started=$SECONDS
    "$VENVS/$name/bin/python" -m pytest "${PYTEST_ARGS[@]}" 2>&1 | tee "$log" | tail -n 25
    code=${PIPESTATUS[0]}
    closing="$(grep -E '^=+ .*(passed|failed|error).* in ' "$log" | tail -n 1 | tr -d '=' | xargs)"
    RESULT[$end]="torch ${versions% *}, torchvision ${versions#* }: pytest exit $code ($closing), $((SECONDS - started)) s"
    [[ $code -eq 0 ]] || STATUS=1
done

echo
echo "== compat summary (CPU: $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2 | xargs))"
for end in oldest newest; do
    echo "$end: ${RESULT[$end]}"
done
exit $STATUS
