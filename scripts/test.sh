#!/usr/bin/env bash
# test.sh: the one command that runs every test of complaintbot, as CI does.
#
# It starts the real mail stack (scripts/mailstack.sh: Dovecot and Postfix on 127.0.0.1;
# needs root, installs them on first use) and the npm Telegram emulator
# (scripts/telegram-test-api.sh: telegram-test-api on 127.0.0.1), then runs go vet, all tests with the race
# detector, and every fuzz target for a short while. Integration tests fail rather than
# skip when the stack or the emulator is missing (COMPLAINTBOT_REQUIRE_MAILSTACK=1).
# Exits non-zero if any phase fails; prints the time each phase took.
#
#   FUZZTIME      time per fuzz target (default 15s; 0 skips fuzzing)
#   TEST_TIMEOUT  go test -timeout (default 20m)
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-15s}
TEST_TIMEOUT=${TEST_TIMEOUT:-20m}
export COMPLAINTBOT_REQUIRE_MAILSTACK=1

failed=()
timings=()

# phase NAME CMD...: runs CMD, records its duration and whether it failed.
phase() {
	local name=$1 start rc=0
	shift
	printf '\n=== %s\n' "$name"
	start=$(date +%s.%N)
	"$@" || rc=$?
	timings+=("$(printf '%-12s %6.1fs  %s' "$name" "$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{print e-s}')" \
		"$([[ $rc == 0 ]] && echo ok || echo "FAILED (exit $rc)")")")
	[[ $rc == 0 ]] || failed+=("$name")
	return 0
}

summary() {
	printf '\n=== timing\n'
	printf '%s\n' "${timings[@]}"
	if ((${#failed[@]})); then
		printf 'FAILED: %s\n' "${failed[*]}"
		exit 1
	fi
	echo "all phases passed"
}

# fuzz_all runs each Fuzz target of each package for FUZZTIME. `go test -list` prints a
# package's target names, then the package's "ok" line.
fuzz_all() {
	[[ $FUZZTIME != 0 ]] || { echo "FUZZTIME=0: skipped"; return 0; }
	local listing line names=() rc=0 n=0
	# A package that does not build fails the phase; the others are still fuzzed.
	listing=$(go test -list '^Fuzz' ./... 2>&1) || { echo "$listing" | grep -v '^Fuzz'; rc=1; }
	while IFS= read -r line; do
		case $line in
		Fuzz*) names+=("$line") ;;
		ok*)
			local pkg name
			pkg=$(awk '{print $2}' <<<"$line")
			for name in "${names[@]}"; do
				echo "--- $pkg $name ($FUZZTIME)"
				go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" "$pkg" || rc=1
				n=$((n + 1))
			done
			names=()
			;;
		esac
	done <<<"$listing"
	((n > 0)) || echo "no fuzz targets"
	return $rc
}

abort_unless_ok() {
	if [[ " ${failed[*]} " == *" $1 "* ]]; then
		echo "cannot go on without $1"
		summary
	fi
}

phase download go mod download
abort_unless_ok download
phase mailstack scripts/mailstack.sh start
abort_unless_ok mailstack
eval "$(scripts/mailstack.sh env)"
# The npm Telegram emulator (telegram-test-api, pinned) for the Telegram smoke test.
phase tgemulator scripts/telegram-test-api.sh start
trap 'scripts/telegram-test-api.sh stop' EXIT
eval "$(scripts/telegram-test-api.sh env)"
phase vet go vet ./...
phase test go test -race -count=1 -timeout "$TEST_TIMEOUT" ./...
phase fuzz fuzz_all
summary
