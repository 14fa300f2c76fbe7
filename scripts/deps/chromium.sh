#!/usr/bin/env bash
# Installs Debian's chromium, which the dashboard's browser test (ui/) drives
# headless. Idempotent: does nothing when /usr/bin/chromium is there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	sudo=sudo
else
	sudo=
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version
