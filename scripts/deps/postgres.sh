#!/usr/bin/env bash
# Installs the PostgreSQL server binaries the sink tests run
# (internal/testpg: initdb and pg_ctl under /usr/lib/postgresql/*/bin),
# with Debian's apt-get, when they are missing. Idempotent: does nothing
# when they are there.
set -euo pipefail

have() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[[ -x $d/initdb && -x $d/pg_ctl ]] && return 0
	done
	return 1
}

if have; then
	exit 0
fi
if ! command -v apt-get >/dev/null; then
	echo "postgres.sh: PostgreSQL (initdb, pg_ctl) is missing and there is no apt-get to install it" >&2
	exit 1
fi
sudo=()
if [[ $(id -u) -ne 0 ]]; then
	sudo=(sudo)
fi
echo "postgres.sh: installing PostgreSQL with apt-get" >&2
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# Debian's package starts a cluster of its own; the tests run theirs.
if have; then
	exit 0
fi
echo "postgres.sh: apt-get installed postgresql but no initdb/pg_ctl under /usr/lib/postgresql/*/bin" >&2
exit 1
