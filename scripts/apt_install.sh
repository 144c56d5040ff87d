#!/usr/bin/env bash
# Install Debian/Ubuntu packages with apt-get, as root or through sudo:
#
#   scripts/apt_install.sh PACKAGE...
#
# Used by install_mpi.sh and install_chromium.sh when what they need is missing. Elsewhere (no
# apt-get) it says which packages to install with the system's package manager, and fails.
set -euo pipefail

if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt_install.sh: this is not a Debian/Ubuntu system (no apt-get): install the equivalent of" >&2
    echo "  $* with your package manager" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "$@"
