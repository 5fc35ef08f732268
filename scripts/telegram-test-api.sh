#!/usr/bin/env bash
# telegram-test-api.sh: the npm emulator telegram-test-api (pinned) on 127.0.0.1, for the
# Telegram smoke test (cmd/complaintbot/telegram_emulator_test.go).
#
#   scripts/telegram-test-api.sh start   install (first use) and start it; prints nothing else
#   scripts/telegram-test-api.sh env     prints the export line the test reads
#   scripts/telegram-test-api.sh stop    stops it
#
# It installs into $TTA_DIR (default /tmp/complaintbot-tta) with npm, needs node and npm
# (apt-get install nodejs npm when missing), and listens on $TTA_PORT (default 9770).
set -euo pipefail

VERSION=4.2.1
DIR=${TTA_DIR:-/tmp/complaintbot-tta}
PORT=${TTA_PORT:-9770}
PIDFILE=$DIR/server.pid

install() {
	if ! command -v npm >/dev/null; then
		apt-get update -qq && apt-get install -y -qq nodejs npm >/dev/null
	fi
	if [[ ! -f $DIR/node_modules/telegram-test-api/package.json ]] ||
		! grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/telegram-test-api/package.json"; then
		mkdir -p "$DIR"
		npm install --silent --no-audit --no-fund --prefix "$DIR" "telegram-test-api@$VERSION" >/dev/null
	fi
}

start() {
	install
	stop
	cd "$DIR"
	nohup node -e '
		const S = require("telegram-test-api");
		const s = new S({port: Number(process.argv[1]), host: "127.0.0.1", storeTimeout: 600});
		s.start().then(() => console.log("telegram-test-api listening"));
		process.on("SIGTERM", () => s.stop().then(() => process.exit(0)));
	' "$PORT" >"$DIR/server.log" 2>&1 &
	echo $! >"$PIDFILE"
	for _ in $(seq 50); do
		grep -q listening "$DIR/server.log" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "telegram-test-api did not start:" >&2
	cat "$DIR/server.log" >&2
	return 1
}

stop() {
	if [[ -f $PIDFILE ]]; then
		kill "$(cat "$PIDFILE")" 2>/dev/null || true
		rm -f "$PIDFILE"
	fi
}

case ${1:-} in
start) start ;;
stop) stop ;;
env) echo "export COMPLAINTBOT_TELEGRAM_TEST_API=http://127.0.0.1:$PORT" ;;
*) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
