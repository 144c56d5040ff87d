#!/usr/bin/env bash
# Install what data-parallel training (tinyconv.distributed) needs on a fresh machine:
# OpenMPI from the distribution's packages when `mpirun` is missing, then mpi4py from PyPI.
#
#   scripts/install_mpi.sh            # as root, or with sudo available
#
# Debian/Ubuntu only (apt-get); elsewhere install an MPI library with the system's package manager
# (e.g. `dnf install openmpi-devel`, `brew install open-mpi`) and run `pip install mpi4py`.
# Under OpenMPI, root must add --allow-run-as-root to mpirun (or export OMPI_ALLOW_RUN_AS_ROOT=1
# OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1), and more ranks than cores need --oversubscribe.
set -euo pipefail

if ! command -v mpirun >/dev/null 2>&1; then
    bash "$(dirname "$0")/apt_install.sh" openmpi-bin libopenmpi-dev
fi
mpirun --version | head -n 1
python3 -m pip install --quiet --disable-pip-version-check "mpi4py>=3.1"
python3 -c "from mpi4py import MPI; print('mpi4py', MPI.Get_library_version().splitlines()[0])"
