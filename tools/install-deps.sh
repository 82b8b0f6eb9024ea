#!/usr/bin/env bash
# Install the Debian 12 packages npswatch needs (build, tests, fuzzing). Idempotent and quick when
# everything is already there. Runs apt-get as root, or through sudo when not root.
set -euo pipefail
pkgs=(build-essential cmake pkg-config git python3 python3-numpy groff-base
      libhdf5-dev libfftw3-dev libpng-dev libssl-dev libcjson-dev zlib1g-dev libxml2-dev
      libsqlite3-dev libfreetype-dev fonts-dejavu-core libmicrohttpd-dev openssl
      libcmocka-dev clang libclang-rt-14-dev libomp-dev
      libopenmpi-dev openmpi-bin chromium python3-websocket)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "npswatch: installing Debian packages: ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
