#!/usr/bin/env bash
# Issue 13's checks on a CUDA GPU, in one go, printing what the closing note needs.
#
#     bash bench/gpu_check.sh [DATA]
#
# DATA: CIFAR-10 (folder or archive); default $LABREPORT_DATA, else shared/cifar10-jpeg.tar.gz.
# Run from the repository root; PYTHON (default python3) must have torch with CUDA, typer,
# rich, pandas, jinja2, matplotlib, torchvision and pytest (WeasyPrint is not needed: no PDF).
# Logs go to $OUT (default /tmp/gpu_check). About 6-8 minutes on one H200:
#   1. pytest -m cuda                             (the GPU tests: graph = eager, bitwise resume)
#   2. labreport run --only cifar --device cuda   (first run: decodes the data once; wall time)
#   3. the same with --force                      (data cached: the <= 10 s target; CUDA graph)
#   4. the same with LABREPORT_CIFAR_STEP=compile (torch.compile reduce-overhead: graph vs compile)
#   5. the same, killed (SIGKILL) after epoch 5's checkpoint, then run again: resumes, and its
#      numbers must equal run 3's exactly
#   6. bench/cifar_epoch.py --device cuda --epochs 10: course loop vs project loop in turns
# A smoke test of the script itself on a CPU, on tiny data: DEVICE=cpu SKIP_BENCH=1.
#
# Every step runs even when an earlier one failed (one GPU session should bring back all
# of it), and the script exits 1 at the end when any step failed: a failing pytest (its
# own status, not tee's), a run that exits non-zero, a resume whose numbers differ from
# the uninterrupted run's, or a bench that fails. The failed steps are listed last.
set -euo pipefail

FAILED=()
failed() { FAILED+=("$1"); echo "FAILED: $1"; }

DATA=${1:-${LABREPORT_DATA:-shared/cifar10-jpeg.tar.gz}}
PYTHON=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
LOGS=${OUT:-/tmp/gpu_check}
WORK=$(mktemp -d)
STORE=$WORK/reports/runs
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 COLUMNS=200
mkdir -p "$LOGS"

section() { printf '\n==== %s ====\n' "$*"; }
labreport() { "$PYTHON" -m lab.cli "$@"; }
cifar_run() {  # cifar_run LOGNAME [extra options]: one timed run, its wall time printed
    local name=$1; shift
    local started=$SECONDS code=0
    labreport run --only cifar --device "$DEVICE" --data "$DATA" --no-download --store "$STORE" "$@" \
        >"$LOGS/$name.log" 2>&1 || code=$?
    echo "$name: exit $code, wall $((SECONDS - started)) s (whole seconds; the epoch lines give finer times)"
    grep -E "epoch [0-9]+/|resum|ResNet-20|error" "$LOGS/$name.log" | tail -n 14 || true
    [ "$code" -eq 0 ] || failed "$name (exit $code, see $LOGS/$name.log)"
}
epochs_csv() { ls -t "$STORE"/cifar/*/epochs.csv 2>/dev/null | head -n 1; }

section "machine"
nvidia-smi -L || echo "no nvidia-smi"
"$PYTHON" -c "import torch; print('torch', torch.__version__, '| cuda', torch.cuda.is_available())
if torch.cuda.is_available(): print('GPU', torch.cuda.get_device_name(), '| bf16', torch.cuda.is_bf16_supported())"
echo "data: $DATA; logs: $LOGS; store: $STORE"

section "1. pytest -m cuda"
# No addopts (-n 2 needs pytest-xdist, which the GPU machine may lack; the cuda tests are few).
code=0
"$PYTHON" -m pytest -q -o addopts= -m cuda -p no:cacheprovider tests >"$LOGS/pytest_cuda.log" 2>&1 || code=$?
tail -n 25 "$LOGS/pytest_cuda.log"
[ "$code" -eq 0 ] || failed "pytest -m cuda (exit $code, see $LOGS/pytest_cuda.log)"

section "2. first run (decodes CIFAR-10 into the cache)"
cifar_run run1_first

section "3. cached data, CUDA graph step (the <= 10 s target)"
cifar_run run2_cached_graph --force
cp "$(epochs_csv)" "$WORK/graph_epochs.csv" || failed "run2_cached_graph wrote no epochs.csv"

section "4. cached data, torch.compile(mode=reduce-overhead) step"
export LABREPORT_CIFAR_STEP=compile
cifar_run run3_cached_compile --force
unset LABREPORT_CIFAR_STEP

section "5. killed after epoch 5's checkpoint, then resumed"
env LABREPORT_FAULT_HOLD=cifar:checkpoint:5 "$PYTHON" -m lab.cli run --only cifar --device "$DEVICE" --data "$DATA" \
    --no-download --store "$STORE" --force >"$LOGS/run4_killed.log" 2>&1 &
RUN_PID=$!
HELD=""
for _ in $(seq 1200); do  # until the run says it is held (at most 10 minutes): never a guess at a duration
    HELD=$(grep -m1 "LABREPORT_FAULT held at" "$LOGS/run4_killed.log" || true)
    [ -n "$HELD" ] && break
    kill -0 "$RUN_PID" 2>/dev/null || break
    sleep 0.5
done
echo "held: ${HELD:-never (see $LOGS/run4_killed.log)}"
if [ -z "$HELD" ]; then
    failed "run4_killed never reached its hold point"
    kill -9 "$RUN_PID" 2>/dev/null || true
else
    HELD_PID=${HELD##*pid }; HELD_PID=${HELD_PID%)}
    kill -9 "$HELD_PID" "$RUN_PID" 2>/dev/null || true
    wait "$RUN_PID" 2>/dev/null || true
    echo "killed (SIGKILL) pid $HELD_PID after epoch 5's checkpoint"
    cifar_run run5_resumed
    "$PYTHON" - "$WORK/graph_epochs.csv" "$(epochs_csv)" <<'EOF' || failed "resume: numbers differ from the uninterrupted run's"
import sys

import pandas as pd

numbers = ["epoch", "phase", "lr", "train_loss", "train_acc", "test_loss", "test_acc"]
whole, resumed = (pd.read_csv(path)[numbers] for path in sys.argv[1:])
same = whole.equals(resumed)
print("resumed run's numbers equal the uninterrupted graph run's exactly:", same)
if not same:
    print(pd.concat({"uninterrupted": whole, "resumed": resumed}, axis=1).to_string())
    sys.exit(1)
EOF
fi

section "6. bench: course loop vs project loop on the same GPU, in turns"
if [ -z "${SKIP_BENCH:-}" ]; then
    code=0  # with pipefail, the pipe's status is the bench's unless tee itself fails
    "$PYTHON" bench/cifar_epoch.py "$DATA" --device "$DEVICE" --epochs 10 --cache-dir "$WORK/reports/cache" 2>&1 \
        | tee "$LOGS/bench_cuda.log" || code=$?
    [ "$code" -eq 0 ] || failed "bench/cifar_epoch.py (exit $code)"
fi

section "final test accuracy of each run"
for log in "$LOGS"/run*.log; do
    printf '%s: %s\n' "$(basename "$log" .log)" "$(grep -E "epoch 10/10" "$log" | tail -n 1 || true)"
done

section "result"
if [ "${#FAILED[@]}" -gt 0 ]; then
    printf 'FAILED step: %s\n' "${FAILED[@]}"
    exit 1
fi
echo "every step passed"
