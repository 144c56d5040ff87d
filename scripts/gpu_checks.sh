#!/usr/bin/env bash
# The checks that only a CUDA GPU can run, in stages that each fit in a 10-minute call.
#
#   bash scripts/gpu_checks.sh STAGE        STAGE: tests | bench | pipeline | fmnist | notebooks | mpi
#
# tests      every test that takes the `device` fixture, on cuda:0 (pytest -m gpu): the ops, the
#            fused kernels against their xp versions, the models, SplitAlexNet on ("cuda:0", "cuda:0")
# bench      benchmarks/gpu_alexnet.py: AlexNet 227x227, batch 128, fp32 and TF32, against PyTorch/cuDNN
# pipeline   the training program on real JPEGs at 227 px (§2, §4.1 on the CPU, training on the GPU),
#            two epochs of imagenette-mini with images per second, one more with --augment-on-gpu; then
#            benchmarks/feed_vs_train.py: does the loader keep up with AlexNet's training step (fp32 and
#            TF32; crops on the CPU and on the GPU), both measured in one run
# fmnist     full Fashion-MNIST on alexnet-28 (issue 5's accuracy figure and its GPU training time);
#            options after the stage name go to the training program (e.g. --epochs 60 --patience 4)
# notebooks  the chapters with GPU cells (00, 04) in a real Jupyter kernel
# mpi        data parallelism with GPU arrays: MPI staged through the host, and NCCL
#
# It runs on a machine with CuPy and PyTorch installed (the device tool's machines have both) and
# uses this checkout through PYTHONPATH. What such a machine cannot download is read from
# gpu_carry/ (ignored by git; fill it on a machine with network and carry it along):
#   gpu_carry/imagenette-mini/   a copy of ../shared/data/imagenette-mini (ILSVRC layout, 1,100 JPEGs)
#   gpu_carry/fashion-mnist/     the four official .gz files (cp /usr/share/datasets/fashion-mnist/*.gz)
#   gpu_carry/wheels/            pip download nbclient ipykernel nbformat -d gpu_carry/wheels
#                                --python-version 3.12 --only-binary=:all: --platform manylinux2014_x86_64
#                                --platform manylinux_2_17_x86_64 --platform any
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
CARRY=gpu_carry
OUT_DIR=${OUT:-/tmp/tinyconv-gpu-checks}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

need() {
    [ -e "$1" ] || { echo "gpu_checks: $1 is missing; $2" >&2; exit 2; }
}

case "${1:-}" in
tests)
    nvidia-smi -L
    "$PY" -c "import cupy, numpy, torch; print('CuPy', cupy.__version__, 'NumPy', numpy.__version__, 'torch', torch.__version__)"
    "$PY" -m pytest -m gpu -q -p no:cacheprovider --ignore=tests/test_notebooks.py --ignore=tests/test_distributed_mpi.py
    ;;
bench)
    "$PY" -m benchmarks.gpu_alexnet --repeat 20
    ;;
pipeline)
    need "$CARRY/imagenette-mini/train" "copy ../shared/data/imagenette-mini there (see the top of this script)"
    "$PY" examples/train_alexnet.py --dataset folder --data-dir "$CARRY/imagenette-mini" --model alexnet \
        --backend cupy --epochs 2 --no-progress --out "$OUT_DIR/imagenette-mini"
    "$PY" examples/train_alexnet.py --dataset folder --data-dir "$CARRY/imagenette-mini" --model alexnet \
        --backend cupy --epochs 1 --no-progress --no-figures --augment-on-gpu --out "$OUT_DIR/imagenette-mini-gpu-crops"
    "$PY" -m benchmarks.feed_vs_train --workers 4 8 12 --data-dir "$CARRY/imagenette-mini/train"
    "$PY" -m benchmarks.feed_vs_train --workers 4 8 12
    "$PY" -m benchmarks.feed_vs_train --workers 4 8 12 --tf32
    ;;
fmnist)
    need "$CARRY/fashion-mnist/train-images-idx3-ubyte.gz" "copy the official files there (see the top of this script)"
    shift
    "$PY" examples/train_alexnet.py --dataset fashion-mnist --data-dir "$CARRY/fashion-mnist" --model alexnet-28 \
        --backend cupy --epochs 40 --patience 3 --no-progress --out "$OUT_DIR/fashion-mnist" "$@"
    ;;
notebooks)
    need "$CARRY/wheels" "download nbclient, ipykernel and nbformat there (see the top of this script)"
    "$PY" -m pip install --quiet --no-index --find-links "$CARRY/wheels" nbclient ipykernel nbformat
    "$PY" -m pytest -q -p no:cacheprovider tests/test_notebooks.py -k "00_ or 04_"
    ;;
mpi)
    "$PY" -m pytest -m gpu -q -p no:cacheprovider tests/test_distributed_mpi.py
    ;;
*)
    echo "usage: bash scripts/gpu_checks.sh tests|bench|pipeline|fmnist|notebooks|mpi" >&2
    exit 2
    ;;
esac
