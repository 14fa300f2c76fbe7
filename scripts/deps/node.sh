#!/usr/bin/env bash
# Installs Node.js and npm (Debian packages) when node is missing: the
# JavaScript example subscriber and the JSON Schema check in
# examples/js-subscriber need them, and so do their Go tests. Safe to run
# again: with node on PATH it only reports the versions.
set -euo pipefail

if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
	echo "node $(node --version), npm $(npm --version 2>/dev/null)"
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends nodejs npm
echo "node $(node --version), npm $(npm --version 2>/dev/null)"
