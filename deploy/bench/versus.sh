#!/usr/bin/env bash
# versus.sh: CPU per forwarded packet of Yunke against another server that
# speaks LiveKit's client protocol (a livekit-server binary built from its
# source), on the same loads, in the same run, alternating.
#
#   YUNKE_BIN=bin/yunke OTHER_BIN=/path/to/livekit-server ROUNDS=3 \
#     deploy/bench/versus.sh fan:100 fan:300 rooms:25 rooms:50
#
# Loads: fan:N is one room of one publisher (VP8 at BITRATE plus Opus) and N
# subscribers; rooms:K is K rooms of one publisher and one subscriber (a
# one-to-one tutoring room), all in one load-tool process (--rooms). For each round
# and load, both servers run in turn (the order flips every round), each
# fresh, pinned to SERVER_CORE with GOMAXPROCS=1; the load tools run on
# LOAD_CORE. Once every participant has joined (JOIN_WAIT s after the start,
# more for larger audiences) the server's CPU time is read from /proc over
# WINDOW s; the forwarded packet rate is what the subscribers received per
# second in their steady windows (which enclose that window), summed over
# the rooms. CPU per forwarded packet = CPU-s per s / packets per s.
#
# Environment: YUNKE_BIN (bin/yunke), OTHER_BIN (none: Yunke only), ROUNDS
# (3), WINDOW (12), JOIN_WAIT (6), BITRATE (1.5M), SERVER_CORE (0),
# LOAD_CORE (1), YUNKE_EXTRA (a YAML fragment merged into Yunke's rtc
# settings, e.g. "udp_batch_size: 0"), YUNKE_B_EXTRA (when set, a third
# server: Yunke with this fragment instead, e.g. to see what batching
# adds), OUT (/tmp/versus).
set -euo pipefail

BIN=${YUNKE_BIN:-bin/yunke}
OTHER=${OTHER_BIN:-}
ROUNDS=${ROUNDS:-3}
WINDOW=${WINDOW:-12}
JOIN_WAIT=${JOIN_WAIT:-6}
BITRATE=${BITRATE:-1.5M}
SERVER_CORE=${SERVER_CORE:-0}
LOAD_CORE=${LOAD_CORE:-1}
OUT=${OUT:-/tmp/versus}
EXTRA=${YUNKE_EXTRA:-}
B_EXTRA=${YUNKE_B_EXTRA-unset}
SECRET=versus-benchmark-secret-0123456789abcdef
mkdir -p "$OUT"
: >"$OUT/results.jsonl"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_udp() { python3 -c 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

server_pid= url=
lt_pids=()
cleanup() {
	for p in "${lt_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
	server_pid=
}
trap cleanup EXIT

# start NAME: a fresh server, sets server_pid and url.
start() {
	local port udp ready=/
	[ "$1" != other ] && ready=/healthz
	port=$(free_port)
	udp=$(free_udp)
	url=http://127.0.0.1:$port
	local extra=$EXTRA
	[ "$1" = yunkeb ] && extra=$B_EXTRA
	case $1 in
	yunke | yunkeb)
		GOMAXPROCS=1 taskset -c "$SERVER_CORE" "$BIN" serve --dev --port "$port" --udp-port "$udp" --tcp-port 0 \
			--config-body "{keys: {devkey: $SECRET}, limits: {connections_per_address: 0, rtc_per_address: 0}, database: {path: \"$OUT/yunke.db\"}, recording: {dir: \"$OUT/rec\"}, rtc: {$extra}}" \
			--log-level warn >"$OUT/$1.out" 2>>"$OUT/$1.log" &
		;;
	other)
		GOMAXPROCS=1 taskset -c "$SERVER_CORE" "$OTHER" --bind 127.0.0.1 --node-ip 127.0.0.1 \
			--config-body "{port: $port, rtc: {udp_port: $udp, tcp_port: 0, use_external_ip: false}, keys: {devkey: $SECRET}, logging: {level: warn}}" \
			>"$OUT/other.out" 2>>"$OUT/other.log" &
		;;
	esac
	server_pid=$!
	for _ in $(seq 150); do
		curl -fsS --max-time 1 "$url$ready" >/dev/null 2>&1 && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	echo "versus: $1 did not start" >&2
	tail -n 20 "$OUT/$1.log" >&2 || true
	return 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

# one NAME LOAD ROUND: one measured run.
one() {
	local name=$1 load=$2 round=$3 kind=${2%%:*} n=${2##*:} rooms subs wait dur i
	if [ "$kind" = fan ]; then rooms=1 subs=$n; else rooms=$n subs=1; fi
	wait=$((JOIN_WAIT + (rooms * (1 + subs)) / 40))
	dur=$((wait + WINDOW + 4))
	start "$name"
	taskset -c "$LOAD_CORE" "$BIN" loadtest --url "$url" --api-key devkey --api-secret "$SECRET" \
		--room "v-$kind-$n-$round" --rooms "$rooms" --publishers 1 --subscribers "$subs" --join-rate 50 \
		--connect-timeout 20s --duration "${dur}s" --video-bitrate "$BITRATE" --ice-loopback --json \
		>"$OUT/lt.json" 2>"$OUT/lt.log" &
	lt_pids=($!)
	sleep "$wait"
	local l0 t0 c0 t1 c1
	l0=$(cut -d' ' -f1 /proc/loadavg)
	t0=$(date +%s.%N) c0=$(cpu_ticks)
	sleep "$WINDOW"
	t1=$(date +%s.%N) c1=$(cpu_ticks)
	for p in "${lt_pids[@]}"; do wait "$p" || true; done
	lt_pids=()
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=
	local tck
	tck=$(getconf CLK_TCK)
	jq -s -c --arg name "$name" --arg load "$load" --argjson round "$round" --argjson rooms "$rooms" \
		--argjson cpu "$(echo "($c1 - $c0) / $tck / ($t1 - $t0)" | bc -l)" --argjson la "$l0" '
		{name: $name, load: $load, round: $round, rooms: $rooms, loadavg: $la,
		 joined: (map(.subscribers_connected) | add), expected: ($rooms * (.[0].subscribers // 0)),
		 pps: (map(if .steady_seconds > 0 then .steady_packets_received / .steady_seconds else 0 end) | add),
		 loss: (map(.steady_loss_percent) | max),
		 cpu: $cpu}
		| . + {us_per_pkt: (if .pps > 0 then .cpu * 1e6 / .pps else null end)}' "$OUT/lt.json" \
		| tee -a "$OUT/results.jsonl"
	rm -f "$OUT/lt.json"
}

for r in $(seq "$ROUNDS"); do
	for load in "$@"; do
		order=(yunke)
		[ -n "$OTHER" ] && order+=(other)
		[ "$B_EXTRA" != unset ] && order+=(yunkeb)
		# Rotate the order every round, so that drift hits each alike.
		for ((k = 1; k < r; k++)); do order=("${order[@]:1}" "${order[0]}"); done
		for name in "${order[@]}"; do one "$name" "$load" "$r"; done
	done
done

# Medians per load and server, and the ratio of the medians.
jq -s -r '
	def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	def f(d): if . == null then "–" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
	group_by(.load)[] as $g
	| ($g | map(select(.name == "yunke")) | map(.us_per_pkt) | median) as $y
	| ($g | map(select(.name == "other")) | map(.us_per_pkt) | median) as $o
	| ($g | map(select(.name == "yunkeb")) | map(.us_per_pkt) | median) as $b
	| "\($g[0].load): yunke \($y | f(2)) µs/pkt (\($g | map(select(.name == "yunke") | .us_per_pkt | f(2)) | join(", "))), other \($o | f(2)) (\($g | map(select(.name == "other") | .us_per_pkt | f(2)) | join(", "))), ratio \(if $y and $o then $y / $o | f(2) else "–" end)\(if $b then ", yunke-b \($b | f(2)) (\($g | map(select(.name == "yunkeb") | .us_per_pkt | f(2)) | join(", "))), yunke / yunke-b \($y / $b | f(2))" else "" end); load avg \($g | map(.loadavg) | min)–\($g | map(.loadavg) | max)"
' "$OUT/results.jsonl"
