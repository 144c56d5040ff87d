#!/usr/bin/env bash
# The checks that only a CUDA GPU can run. A task lent a GPU has 15 minutes of device time in all,
# the machine's start included, and 10 minutes a call; the machine stays warm 30 s after a call.
# So the checks come as two calls, the second made at once after the first:
#
#   bash scripts/gpu_checks.sh all      carry ["gpu_carry/imagenette-mini", "gpu_carry/wheels"], timeout_s 600
#   bash scripts/gpu_checks.sh fmnist   carry ["gpu_carry/fashion-mnist"], timeout_s 600
#
# (all of gpu_carry/ with the working tree is over the 64 MiB a call may carry, hence two calls).
# `all` runs tests, bench, notebooks, mpi and pipeline in that order, each under its own time limit
# and within ALL_SECONDS (default 540) for the lot; it goes on past a stage that fails or runs out
# of time, prints each stage's last lines, and writes each stage's whole log and summary.txt (stage,
# exit status, seconds; 124 = out of time) to $OUT, which the device tool brings back. One stage:
#
#   bash scripts/gpu_checks.sh STAGE    STAGE: tests | bench | pipeline | notebooks | mpi | fmnist
#
# tests      every test that takes the `device` fixture, on cuda:0 (pytest -m gpu): the ops, the
#            fast versions (fused kernels) against their references, the models, SplitAlexNet on ("cuda:0", "cuda:0");
#            on 8 processes where pytest-xdist is installed, with the slowest tests listed
# bench      benchmarks/gpu_alexnet.py: AlexNet 227x227, batch 128, fp32 and TF32, against PyTorch/cuDNN
# pipeline   the training program on real JPEGs at 227 px (§2, §4.1 on the CPU, training on the GPU),
#            two epochs of imagenette-mini with images per second, one more with --augment-on-gpu; then
#            benchmarks/feed_vs_train.py: does the loader keep up with AlexNet's training step (fp32 and
#            TF32; crops on the CPU and on the GPU), both measured in one run
# notebooks  the chapters with GPU cells (00, 08) in a real Jupyter kernel (the book runs them on the CPU)
# mpi        data parallelism with GPU arrays: MPI staged through the host, and NCCL
# fmnist     full Fashion-MNIST on alexnet-28 with the CPU's best recipe (issue 5's accuracy figure and
#            its GPU training time): seed 0, then seeds 1, 2, ... while another run still fits in
#            FMNIST_SECONDS (default 480), then examples/evaluate.py on every net and their average (§6).
#            Options after the stage name go to the training program (e.g. --epochs 60)
#
# It runs on a machine with CuPy and PyTorch installed (the device tool's machines have both) and
# uses this checkout through PYTHONPATH. What such a machine cannot download is read from
# gpu_carry/ (ignored by git; fill it on a machine with network and carry it along):
#   gpu_carry/imagenette-mini/   a copy of ../shared/data/imagenette-mini (ILSVRC layout, 1,100 JPEGs, 14 MB)
#   gpu_carry/fashion-mnist/     the four official .gz files (cp /usr/share/datasets/fashion-mnist/*.gz; 31 MB)
#   gpu_carry/wheels/            pip download nbclient ipykernel nbformat -d gpu_carry/wheels
#                                --python-version 3.12 --only-binary=:all: --platform manylinux2014_x86_64
#                                --platform manylinux_2_17_x86_64 --platform any   (17 MB)
# Runs' checkpoints and figures go to /tmp/tinyconv-gpu-checks, not to $OUT: only logs come back.
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
