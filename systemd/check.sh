#!/usr/bin/env bash
# Checks systemd/tidings.service the way CI does (issue 6; ../shared/DEPENDENCIES.md trap 6):
#
# 1. `systemd-analyze --user --man=no verify` must print nothing at all. It exits 0 on unknown
#    keys and bad values and only prints "...ignoring", so any output is a failure.
# 2. `systemd-analyze --user security --offline=yes` must score the unit at 2.0 or less.
#
# The checked-in unit starts %h/.cargo/bin/tidings (where `cargo install` puts it; `tidings
# service install` substitutes the real path). That file does not exist on a CI machine, and
# verify rightly complains about a missing ExecStart binary, so both checks run on a copy whose
# ExecStart= points at the binary built in this checkout (target/debug/tidings, built by
# `cargo test`; built here if missing). Only that one line differs from the checked-in file,
# which this script asserts.
#
# Run from anywhere: `bash systemd/check.sh`. Needs systemd-analyze (Debian: systemd).
set -euo pipefail
cd "$(dirname "$0")/.."

unit=systemd/tidings.service
max_score=2.0
target_dir=${CARGO_TARGET_DIR:-target}
binary=$(realpath -m "$target_dir/debug/tidings")

if ! command -v systemd-analyze >/dev/null; then
  echo "systemd/check.sh: systemd-analyze not found (Debian: apt-get install systemd)" >&2
  exit 1
fi
if [ ! -x "$binary" ]; then
  echo "systemd/check.sh: $binary missing; building it" >&2
  cargo build --quiet --bin tidings
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# --user needs a runtime directory; a private empty one keeps the real session out of it.
mkdir -m 0700 "$work/runtime"
export XDG_RUNTIME_DIR="$work/runtime"

copy="$work/tidings.service"
sed "s|^ExecStart=%h/\.cargo/bin/tidings |ExecStart=$binary |" "$unit" >"$copy"
changed=$(diff "$unit" "$copy" | grep -c '^>' || true)
if [ "$changed" != 1 ]; then
  echo "systemd/check.sh: expected exactly one 'ExecStart=%h/.cargo/bin/tidings ...' line in $unit" >&2
  exit 1
fi

# 1. verify: any output at all is a failure.
out=$(systemd-analyze --user --man=no verify "$copy" 2>&1) || {
  echo "systemd/check.sh: verify failed:" >&2
  echo "$out" >&2
  exit 1
}
if [ -n "$out" ]; then
  echo "systemd/check.sh: verify printed output (it exits 0 on errors, so this is a failure):" >&2
  echo "$out" >&2
  exit 1
fi

# 2. security: the overall exposure must be at most $max_score.
report=$(systemd-analyze --user security --offline=yes "$copy" 2>&1) || {
  echo "systemd/check.sh: security analysis failed:" >&2
  echo "$report" >&2
  exit 1
}
score=$(printf '%s\n' "$report" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
  echo "systemd/check.sh: no exposure score in the security report:" >&2
  echo "$report" >&2
  exit 1
fi
if ! awk -v s="$score" -v m="$max_score" 'BEGIN { exit !(s <= m) }'; then
  echo "systemd/check.sh: exposure $score is above $max_score:" >&2
  echo "$report" >&2
  exit 1
fi
echo "systemd/check.sh: $unit ok (verify silent, exposure $score <= $max_score)"
