#!/usr/bin/env bash
# The checks that only a CUDA GPU can run, grouped so that a machine held for a short time runs
# them all in two commands of under 10 minutes each:
#
#   bash scripts/gpu_checks.sh all      (about 9 minutes: tests, bench, notebooks, mpi, pipeline)
#   bash scripts/gpu_checks.sh fmnist   (about 8 minutes: full Fashion-MNIST runs)
#
# `all` runs its stages in that order, each under its own time limit and within ALL_SECONDS
# (default 540) for the lot; it goes on past a stage that fails or runs out of time, prints each
# stage's last lines, and writes each stage's whole log and summary.txt (stage, exit status,
# seconds; 124 = out of time) to $OUT (default /tmp/tinyconv-gpu-checks). One stage alone:
#
#   bash scripts/gpu_checks.sh STAGE    STAGE: tests | bench | pipeline | notebooks | mpi | fmnist
#
# tests      every test that takes the `device` fixture, on cuda:0 (pytest -m gpu): the ops, the
#            fast versions (fused kernels) against their references, the models, SplitAlexNet on
#            ("cuda:0", "cuda:0"); on 8 processes where pytest-xdist is installed, slowest listed
#            (limit 240 s)
# bench      benchmarks/gpu_alexnet.py: AlexNet 227x227, batch 128, fp32 and TF32, against
#            PyTorch/cuDNN (limit 150 s)
# notebooks  the chapters with GPU cells (00, 08) in a real Jupyter kernel; the book runs them on
#            the CPU (limit 60 s)
# mpi        data parallelism with GPU arrays: MPI staged through the host, and NCCL (limit 60 s)
# pipeline   the training program on real JPEGs at 227 px (§2, §4.1 on the CPU, training on the
#            GPU): two epochs of imagenette-mini with images per second, one more with
#            --augment-on-gpu; then benchmarks/feed_vs_train.py: does the loader keep up with
#            AlexNet's training step (fp32 and TF32; crops on the CPU and on the GPU) (limit 150 s)
# fmnist     full Fashion-MNIST on alexnet-28 with the CPU's best recipe (the accuracy of
#            docs/results.md, and the GPU's training time): seed 0, then seeds 1, 2, ... while
#            another run still fits in FMNIST_SECONDS (default 480), then examples/evaluate.py on
#            every net and their average (§6). Options after the stage name go to the training
#            program (e.g. --epochs 60)
#
# It needs CuPy and PyTorch installed and uses this checkout through PYTHONPATH. A machine without
# network reads what it cannot download from gpu_carry/ (ignored by git; fill it on a machine with
# network and copy it along with the checkout):
#   gpu_carry/imagenette-mini/   ILSVRC-layout JPEGs for `pipeline` (a copy of ../shared/data/imagenette-mini,
#                                1,100 JPEGs, 14 MB)
#   gpu_carry/fashion-mnist/     the four official .gz files for `fmnist` (31 MB; Debian's
#                                dataset-fashion-mnist package has them in /usr/share/datasets/fashion-mnist)
#   gpu_carry/wheels/            nbclient, ipykernel and nbformat wheels for `notebooks`:
#                                pip download nbclient ipykernel nbformat -d gpu_carry/wheels
#                                --python-version 3.12 --only-binary=:all: --platform manylinux2014_x86_64
#                                --platform manylinux_2_17_x86_64 --platform any   (17 MB)
# If the files copied along are limited in size, carry imagenette-mini and wheels for `all` and
# fashion-mnist for `fmnist`. Checkpoints and figures go to /tmp/tinyconv-gpu-checks; only logs go
# to $OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
CARRY=gpu_carry
RUNS_DIR=/tmp/tinyconv-gpu-checks
LOG_DIR=${OUT:-$RUNS_DIR}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$RUNS_DIR" "$LOG_DIR"

need() {
    [ -e "$1" ] || { echo "gpu_checks: $1 is missing; $2" >&2; exit 2; }
}

# all: each stage and its own limit in seconds, in the order they run (the short ones before the
# pipeline, so that a long stage cannot keep them from running)
ALL_STAGES=(tests:240 bench:150 notebooks:60 mpi:60 pipeline:150)

run_all() {
    local deadline=$((SECONDS + ${ALL_SECONDS:-540})) entry stage limit left started rc
    echo "stage exit_status seconds" > "$LOG_DIR/summary.txt"
    for entry in "${ALL_STAGES[@]}"; do
        stage=${entry%%:*} limit=${entry##*:} left=$((deadline - SECONDS))
        (( left < limit )) && limit=$left
        if (( limit < 20 )); then
            echo "$stage not-run 0" >> "$LOG_DIR/summary.txt"
            continue
        fi
        echo "=== $stage (at most ${limit} s)"
        started=$SECONDS rc=0
        timeout --signal=INT --kill-after=15 "$limit" bash "$0" "$stage" > "$LOG_DIR/$stage.log" 2>&1 || rc=$?
        echo "$stage $rc $((SECONDS - started))" >> "$LOG_DIR/summary.txt"
        tail -n 12 "$LOG_DIR/$stage.log"
    done
    echo "=== summary"
    cat "$LOG_DIR/summary.txt"
}

run_fmnist() {
    local deadline=$((SECONDS + ${FMNIST_SECONDS:-480})) seed started took checkpoints=()
    for seed in 0 1 2 3 4; do
        started=$SECONDS
        "$PY" examples/train_alexnet.py --dataset fashion-mnist --data-dir "$CARRY/fashion-mnist" --model alexnet-28 \
            --backend cupy --pad 1 --patience 4 --epochs 45 --seed "$seed" --no-progress --no-figures \
            --out "$RUNS_DIR/fashion-mnist-seed$seed" --overwrite "$@"
        checkpoints+=("$RUNS_DIR/fashion-mnist-seed$seed/checkpoint.npz")
        took=$((SECONDS - started))
        echo "gpu_checks: seed $seed trained in $took s"
        (( SECONDS + took + 60 < deadline )) || break                   # another net, and time to evaluate them all
    done
    "$PY" examples/evaluate.py "${checkpoints[@]}" --no-progress                # auto: CuPy where a GPU answers
}

case "${1:-}" in
all)
    run_all
    ;;
tests)
    nvidia-smi -L
    "$PY" -c "import cupy, numpy, torch; print('CuPy', cupy.__version__, 'NumPy', numpy.__version__, 'torch', torch.__version__)"
    parallel=()
    "$PY" -c "import xdist" 2>/dev/null && parallel=(-n 8)
    "$PY" -m pytest -m gpu -q -rs -p no:cacheprovider "${parallel[@]}" --durations=15 \
        --ignore=tests/test_notebooks.py --ignore=tests/test_book.py --ignore=tests/test_distributed_mpi.py
    ;;
bench)
    "$PY" -m benchmarks.gpu_alexnet --repeat 20
    ;;
pipeline)
    need "$CARRY/imagenette-mini/train" "copy ../shared/data/imagenette-mini there (see the top of this script)"
    "$PY" examples/train_alexnet.py --dataset folder --data-dir "$CARRY/imagenette-mini" --model alexnet \
        --backend cupy --epochs 2 --no-progress --out "$RUNS_DIR/imagenette-mini" --overwrite
    "$PY" examples/train_alexnet.py --dataset folder --data-dir "$CARRY/imagenette-mini" --model alexnet \
        --backend cupy --epochs 1 --no-progress --no-figures --augment-on-gpu --out "$RUNS_DIR/imagenette-mini-gpu-crops" \
        --overwrite
    "$PY" -m benchmarks.feed_vs_train --workers 4 8 12 --data-dir "$CARRY/imagenette-mini/train"
    "$PY" -m benchmarks.feed_vs_train --workers 4 8 12
    "$PY" -m benchmarks.feed_vs_train --workers 4 8 12 --tf32
    ;;
notebooks)
    need "$CARRY/wheels" "download nbclient, ipykernel and nbformat there (see the top of this script)"
    "$PY" -m pip install --quiet --no-index --find-links "$CARRY/wheels" nbclient ipykernel nbformat
    "$PY" -m pytest -m gpu -q -rs -p no:cacheprovider tests/test_notebooks.py
    ;;
mpi)
    "$PY" -m pytest -m gpu -q -rs -p no:cacheprovider tests/test_distributed_mpi.py
    ;;
fmnist)
    need "$CARRY/fashion-mnist/train-images-idx3-ubyte.gz" "copy the official files there (see the top of this script)"
    shift
    run_fmnist "$@"
    ;;
*)
    echo "usage: bash scripts/gpu_checks.sh all|tests|bench|pipeline|notebooks|mpi|fmnist" >&2
    exit 2
    ;;
esac
