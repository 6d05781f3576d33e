#!/usr/bin/env bash
# Class benchmark: one teacher to N students (default 300) in a real Yunke
# class with its controls in use. The method and the latest results are in
# docs/benchmarks.md ("A class with its controls").
#
#   deploy/bench/class.sh            # 300 students, 3 runs
#   RUNS=1 deploy/bench/class.sh 50  # a quick try
#
# One fresh dev server (SQLite in $OUT, the administrator's password set in
# its config) pinned to core $SERVER_CORE with GOMAXPROCS=1; `yunke loadtest
# --class` on core $LOAD_CORE makes the school, the teacher and the student
# accounts through the API before the first run (the later runs sign the
# same accounts in), schedules one class per run, and every account joins
# it with its token from POST /classes/{id}/join. The teacher publishes the
# camera as three VP8 simulcast layers (1/16, 1/4 and all of $BITRATE), a VP8
# screen share at $SCREEN_BITRATE (5 frames a second) and Opus; SIMULCAST=0
# sends the camera as one layer, SCREEN_BITRATE=0 no screen share (both: the
# camera-only setup of the earlier results); LAYER_SWITCH=2s has every
# student alternate between asking for the low and the high camera layer
# every 2 s. In the steady window ($DURATION) the students chat at
# $CHAT_RATE messages a second, $HANDS of them raise a hand, the teacher
# brings the first on stage and starts a poll every student answers. The
# table shows the median of the runs.
#
# Environment: YUNKE_BIN or BIN (default bin/yunke), RUNS (3), DURATION
# (20s), WARMUP (3s), BITRATE (1.5M), SIMULCAST (1), SCREEN_BITRATE (500k),
# LAYER_SWITCH (0: never), JOIN_RATE (50), HANDS (30), CHAT_RATE (1),
# SERVER_CORE (0), LOAD_CORE (1), OUT (default a new temporary directory).
set -euo pipefail

cd "$(dirname "$0")/../.."
BIN=${YUNKE_BIN:-${BIN:-bin/yunke}}
RUNS=${RUNS:-3}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-3s}
BITRATE=${BITRATE:-1.5M}
SIMULCAST=${SIMULCAST:-1}
SCREEN_BITRATE=${SCREEN_BITRATE:-500k}
LAYER_SWITCH=${LAYER_SWITCH:-0}
JOIN_RATE=${JOIN_RATE:-50}
HANDS=${HANDS:-30}
CHAT_RATE=${CHAT_RATE:-1}
SERVER_CORE=${SERVER_CORE:-0}
LOAD_CORE=${LOAD_CORE:-1}
OUT=${OUT:-$(mktemp -d -t yunke-class.XXXXXX)}
STUDENTS=${1:-300}
ADMIN_PASSWORD=Bench-admin-pass-1

die() { echo "class: $*" >&2; exit 1; }
for tool in taskset jq curl timeout; do
	command -v "$tool" >/dev/null || die "$tool is required"
done
[[ $STUDENTS =~ ^[0-9]+$ ]] || die "bad student count $STUDENTS"
media=(--simulcast=true)
[ "$SIMULCAST" = 1 ] || media=(--simulcast=false)
if [ "$SCREEN_BITRATE" = 0 ]; then media+=(--screen=false); else media+=(--screen=true --screen-bitrate "$SCREEN_BITRATE"); fi
[ "$LAYER_SWITCH" = 0 ] || media+=(--layer-switch "$LAYER_SWITCH")
[ -x "$BIN" ] || make build
"$BIN" loadtest -h 2>&1 | grep -q -- '--layer-switch' || die "$BIN is older than its loadtest --layer-switch flag; rebuild it (make build)"
mkdir -p "$OUT"
: >"$OUT/results.jsonl"

server_pid=
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$server_pid" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

banner=$OUT/banner.txt
GOMAXPROCS=1 taskset -c "$SERVER_CORE" "$BIN" serve --dev --port 0 --udp-port 0 --tcp-port 0 \
	--database-path "$OUT/yunke.db" \
	--config-body "{limits: {connections_per_address: 0, rtc_per_address: 0}, auth: {admin_password: \"$ADMIN_PASSWORD\"}}" \
	--log-level warn >"$banner" 2>>"$OUT/server.log" &
server_pid=$!
url=
for _ in $(seq 100); do
	url=$(sed -n 's/^ *Open: *\(http[^ ]*\).*/\1/p' "$banner" | sed -n 1p)
	[ -n "$url" ] && grep -q 'WebRTC UDP:' "$banner" && break
	url=
	kill -0 "$server_pid" 2>/dev/null || break
	sleep 0.1
done
[ -n "$url" ] && curl -fsS --max-time 5 "$url/healthz" >/dev/null || { cat "$banner" "$OUT/server.log" >&2; die "the server did not start"; }
url=${url%/}

for run in $(seq "$RUNS"); do
	echo "run $run of $RUNS: $STUDENTS students" >&2
	taskset -c "$LOAD_CORE" timeout 900 "$BIN" loadtest --url "$url" --class --admin-password "$ADMIN_PASSWORD" \
		--subscribers "$STUDENTS" --hands "$HANDS" --chat-rate "$CHAT_RATE" --video-bitrate "$BITRATE" "${media[@]}" \
		--duration "$DURATION" --warmup "$WARMUP" --join-rate "$JOIN_RATE" --ice-loopback \
		--server-pid "$server_pid" --json 2>>"$OUT/loadtest.log" >>"$OUT/results.jsonl" || die "run $run failed (see $OUT/loadtest.log)"
done

echo "results: $OUT/results.jsonl" >&2
jq -rs '
	def median(f): (map(f) | sort) as $v | $v[(($v | length) - 1) / 2 | floor];
	"| students | runs | setup s (first run) | steady loss % | server CPU % of its core | stage p50 / p95 / max ms | poll start p50 / p95 / max ms | poll answers (record) | chat delivered | data dropped |",
	"|---|---|---|---|---|---|---|---|---|---|",
	"| \(.[0].class.students) | \(length) | \(.[0].class.setup_seconds | . * 10 | round / 10) | \(median(.steady_loss_percent)) | \(median(.server_cpu_percent) | . * 10 | round / 10) | \(median(.class.stage_p50_ms)) / \(median(.class.stage_p95_ms)) / \(median(.class.stage_max_ms)) | \(median(.class.poll_p50_ms)) / \(median(.class.poll_p95_ms)) / \(median(.class.poll_max_ms)) | \(median(.class.poll_answered)) (\(median(.class.record_poll_answers))) | \(median(.class.chat_received)) of \(median(.class.chat_expected)) | \(median(.class.data_dropped)) |"
' "$OUT/results.jsonl"
