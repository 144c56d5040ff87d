#!/usr/bin/env bash
# Install what the book's browser test (tests/test_book.py) drives: Debian's headless-capable
# Chromium and its WebDriver, from the distribution's packages, when either is missing.
#
#   scripts/install_chromium.sh       # as root, or with sudo available
#
# Debian/Ubuntu only (apt-get); elsewhere install Chromium and a matching chromedriver with the
# system's package manager. Without them the browser test is skipped with the reason.
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    bash "$(dirname "$0")/apt_install.sh" chromium chromium-driver
fi
chromium --version
