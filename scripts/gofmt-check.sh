#!/usr/bin/env bash
# gofmt-check.sh: make lint's gofmt step. Lists the Go files gofmt would
# change and exits 1 if there are any, or if gofmt cannot read one (a
# syntax error). It checks the files git knows of and the untracked ones
# not ignored (a new file not yet added), outside git every .go file; a
# tracked file deleted in the work tree is not a file to check, nor are
# testdata and vendor directories, which the go command (vet, build) skips
# too: a test's input may be unformatted on purpose.
set -euo pipefail

if files=$(git ls-files --cached --others --exclude-standard -- '*.go' ':!:**/testdata/**' ':!:testdata/**' ':!:vendor/**' 2>/dev/null); then
	:
else
	files=$(find . \( -name testdata -o -path ./vendor \) -prune -o -name '*.go' -print)
fi
present=()
while IFS= read -r f; do
	if [ -n "$f" ] && [ -e "$f" ]; then
		present+=("$f")
	fi
done <<<"$files"
[ ${#present[@]} -gt 0 ] || exit 0
if ! out=$(gofmt -l "${present[@]}"); then
	echo "gofmt failed (above)" >&2
	exit 1
fi
if [ -n "$out" ]; then
	echo "gofmt needed:"
	echo "$out"
	exit 1
fi
