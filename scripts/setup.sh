#!/usr/bin/env bash
# Prepare this checkout: Debian packages (when root), then the virtual environment.
# Idempotent and quick when nothing changed. Usage: scripts/setup.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# pcscd + vpcd: the real PC/SC stack for card tests; libpcsclite-dev + swig: pyscard
# builds from source; postgresql: the private server the ledger tests start;
# fonts-wqy-microhei: CJK glyphs for receipts and the kiosk screen; fonts-noto-cjk: the
# rare characters (CJK Extension A, e.g. 䶮 in a demo name) WenQuanYi lacks; fontconfig: how the
# kiosk screen finds it; libgl1-mesa-dri: Mesa's llvmpipe, which draws the kiosk screen
# offscreen (no display, tests, the demo without one); chromium: the staff console's browser
# tests (Playwright drives Debian's chromium; it never downloads a browser);
# rime-data-luna-pinyin: the pinyin keyboard's dictionary (Rime's Luna Pinyin table with its
# corpus frequencies, as text).
APT_PACKAGES=(pcscd vsmartcard-vpcd libpcsclite-dev swig fonts-wqy-microhei fonts-noto-cjk postgresql
              libgl1 libegl1 libgles2 libmtdev1 xclip fontconfig libgl1-mesa-dri chromium
              rime-data-luna-pinyin espeak-ng)

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        echo "setup: installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: these Debian packages are missing; run as root:" >&2
        echo "  sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi
# The Debian package starts a machine-wide pcscd; civicard's tests run their own.
if [[ $(id -u) -eq 0 ]] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now pcscd.socket pcscd.service >/dev/null 2>&1 || true
fi

PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
if [[ ! -x $VENV/bin/python ]]; then
    echo "setup: creating $VENV with $($PY --version)"
    $PY -m venv "$VENV"
fi
stamp=$VENV/.civicard-installed
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
    echo "setup: installing civicard and its dependencies into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -e '.[dev,pcsc,postgres,ui]'
    echo "$want" > "$stamp"
fi

# The blind-signature interop test runs @cloudflare/blindrsa-ts under node, installed
# exactly from its lockfile (tests/polls/node).
# The staff console serves htmx as published (backend_sync/central/console/static/vendor).
if command -v npm >/dev/null 2>&1; then
    for node_dir in tests/polls/node backend_sync/central/console/static/vendor; do
        node_stamp=$node_dir/node_modules/.civicard-lock
        node_want=$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)
        if [[ ! -f $node_stamp || $(cat "$node_stamp") != "$node_want" ]]; then
            echo "setup: npm ci in $node_dir"
            (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
            echo "$node_want" > "$node_stamp"
        fi
    done
else
    echo "setup: npm not found; the polls interop test needs Node.js and npm" >&2
fi
