#!/usr/bin/env bash
# Fan-out benchmark: what one class costs the server as its audience grows.
# The method and the latest results are in docs/benchmarks.md.
#
#   deploy/bench/fanout.sh                 # subscribers 1, 10, 100 and the maximum
#   deploy/bench/fanout.sh 1 10 50         # chosen counts (add "max" to search)
#   RUNS=1 DURATION=5s deploy/bench/fanout.sh 10    # a quick try
#
# Method. Every run starts a fresh server pinned to one core (taskset -c
# $SERVER_CORE, GOMAXPROCS=1); `yunke loadtest` runs on another ($LOAD_CORE)
# with one publisher (VP8 at $BITRATE plus Opus) and N subscribers, all real
# Pion peer connections over loopback (ICE, DTLS, SRTP, NACK, RTCP, TWCC).
# Once every subscriber has joined and $WARMUP has passed, the load tool
# starts its steady window of $DURATION; this script then samples the server
# at both ends of the window:
#   CPU time         utime + stime from /proc/PID/stat
#   forwarded        yunke_rtp_packets_total{direction="out"} from /metrics
#                    (the metrics listener the banner names)
#   allocations      go_memstats_mallocs_total from /metrics (the whole
#                    process: Pion's allocations as well as the SFU's)
#   memory           VmRSS from /proc/PID/status at the end of the window
#                    (and the Go heap and stacks in use, from /metrics)
# and the load tool reports loss and latency (from the send time and counter
# each payload carries) of the packets sent in its window. Memory per
# subscriber is (RSS with N − RSS with 0 subscribers) / N, where the
# 0-subscriber baseline (the publisher alone) is always measured first. Each
# count runs $RUNS times; the table shows the median of each column.
#
# "max" is the largest audience the server sustains on its core: counts grow
# by half from $MAX_START until a run fails the criteria (steady-window loss
# of $MAX_LOSS % or more, a failed join or a missing track, server CPU above
# $MAX_CPU % of its core, or steady-window p99 latency above $MAX_P99_MS ms if
# that is set), then $MAX_BISECT bisection steps narrow the gap; the largest
# passing count is run $RUNS times in all for the table. If the load tool
# used more than $LOAD_SATURATED % of its core, larger counts would measure
# the load tool: growth stops there, and if that happened at the largest
# passing count or the first failing one, the table marks the count with "*"
# (the server may sustain more).
#
# RECORD=1 records every room while it forwards: the rooms are named like
# the app's class rooms (s1-fanout-N) and the publisher joins as account 1
# with the role "teacher" (`yunke loadtest --teacher u1`), so the server
# starts recording the class by itself, as it would a real one (recording
# files go to $OUT/rec, removed after each run). The figures then include
# yunke_recorder_recordings (recordings in progress) and the bytes written
# per second. ROOMS=K runs K such rooms at once, each with one publisher
# and N subscribers (K load processes on the load core; loss and latency
# are the worst room's, counts and the load tool's CPU the sum). An
# identity holds at most 4 sessions on a server (and a publisher that
# reconnects holds two for a moment), so each recorded room has a teacher
# account of its own: the script imports them (`yunke import`) into its own
# database, $OUT/yunke.db, which every run of the script uses, and reads
# their ids with sqlite3.
#
# Every step is bounded: server start, the wait for the steady window, each
# load run (timeout), each scrape (curl --max-time) and the server's stop.
#
# Environment: YUNKE_BIN or BIN (default bin/yunke, built if missing),
# DURATION (20s), WARMUP (3s), RUNS (3), BITRATE (1.5M), JOIN_RATE (50 per
# second), SERVER_CORE (0), LOAD_CORE (1), MAX_START (200), MAX_STEPS (6),
# MAX_BISECT (1), MAX_LOSS (1), MAX_CPU (95), MAX_P99_MS (0: no limit),
# LOAD_SATURATED (90), RECORD (0), ROOMS (1), CONNECT_TIMEOUT (15, seconds
# per peer connection), OUT (directory for results.jsonl, the logs and the
# table; default a new temporary directory).
set -euo pipefail

cd "$(dirname "$0")/../.."
BIN=${YUNKE_BIN:-${BIN:-bin/yunke}}
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-3s}
RUNS=${RUNS:-3}
BITRATE=${BITRATE:-1.5M}
JOIN_RATE=${JOIN_RATE:-50}
SERVER_CORE=${SERVER_CORE:-0}
LOAD_CORE=${LOAD_CORE:-1}
MAX_START=${MAX_START:-200}
MAX_STEPS=${MAX_STEPS:-6}
MAX_BISECT=${MAX_BISECT:-1}
MAX_LOSS=${MAX_LOSS:-1}
MAX_CPU=${MAX_CPU:-95}
MAX_P99_MS=${MAX_P99_MS:-0}
LOAD_SATURATED=${LOAD_SATURATED:-90}
RECORD=${RECORD:-0}
CONNECT_TIMEOUT=${CONNECT_TIMEOUT:-15}
ROOMS=${ROOMS:-1}
[[ $RECORD == 0 || $RECORD == 1 ]] || { echo "fanout: RECORD must be 0 or 1" >&2; exit 1; }
[[ $ROOMS =~ ^[0-9]+$ && $ROOMS -ge 1 ]] || { echo "fanout: ROOMS must be a positive number" >&2; exit 1; }
OUT=${OUT:-$(mktemp -d -t yunke-fanout.XXXXXX)}
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1 10 100 max)

die() { echo "fanout: $*" >&2; exit 1; }
for tool in taskset jq curl timeout awk; do
	command -v "$tool" >/dev/null || die "$tool is required"
done
[ -r /proc/self/stat ] || die "needs Linux /proc"
[ "$(nproc)" -ge 2 ] || die "needs two cores (one for the server, one for the load tool)"
for n in "${COUNTS[@]}"; do
	[[ $n == max || $n =~ ^[0-9]+$ ]] || die "bad count $n (want a number or max)"
done
secs() { # secs 20s|1m|20 → whole seconds
	case $1 in
	*ms) echo 1 ;; *m) echo $((${1%m} * 60)) ;; *s) echo "${1%s}" ;; *) echo "$1" ;;
	esac
}
DURATION_S=$(secs "$DURATION")
WARMUP_S=$(secs "$WARMUP")
[[ $DURATION_S =~ ^[0-9]+$ && $DURATION_S -ge 1 ]] || die "DURATION must be whole seconds, e.g. 20s"
[[ $WARMUP_S =~ ^[0-9]+$ ]] || die "WARMUP must be whole seconds, e.g. 3s"
awk -v r="$JOIN_RATE" 'BEGIN { exit !(r + 0 > 0) }' || die "JOIN_RATE must be a positive number"
[ -x "$BIN" ] || make build
"$BIN" loadtest -h 2>&1 | grep -q -- '--warmup' || die "$BIN is older than its loadtest --warmup flag; rebuild it (make build)"
mkdir -p "$OUT"
: >"$OUT/results.jsonl"

# The teacher accounts of recorded rooms (see RECORD and ROOMS above).
teachers=()
if [ "$RECORD" = 1 ]; then
	command -v sqlite3 >/dev/null || die "sqlite3 is required for RECORD=1"
	need=$ROOMS
	printf 'code,name,kind\nB001,Bench school,primary\n' >"$OUT/schools.csv"
	{
		echo "school_code,staff_no,name,subjects,grades,trainee"
		for i in $(seq "$need"); do echo "B001,B$i,Bench teacher $i,,,no"; done
	} >"$OUT/teachers.csv"
	for kind in schools teachers; do
		YUNKE_IMPORT_PASSWORD=Bench-teacher-2026 "$BIN" import --kind "$kind" --file "$OUT/$kind.csv" \
			--database-path "$OUT/yunke.db" --district BENCH --district-name Bench >>"$OUT/import.log" 2>&1 || die "import of the bench $kind failed; see $OUT/import.log"
	done
	mapfile -t teachers < <(sqlite3 "$OUT/yunke.db" "SELECT id FROM users WHERE staff_no LIKE 'B%' ORDER BY id LIMIT $need")
	[ "${#teachers[@]}" -eq "$need" ] || die "found ${#teachers[@]} bench teachers of $need"
fi

server_pid= lt_pids=() url= udp_port= metrics_url=
stop_pid() { # stop_pid PID: SIGTERM, then SIGKILL after 10 s
	local pid=$1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	local p
	for p in "${lt_pids[@]}"; do stop_pid "$p"; done
	stop_pid "$server_pid"
	lt_pids=() server_pid=
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# start_server starts a fresh server and sets server_pid, url, udp_port and
# metrics_url. Every subscriber connects from 127.0.0.1, so the per-address
# connection limits are off.
start_server() {
	local log=$OUT/server.log
	echo "--- server start $(date -u +%FT%TZ)" >>"$log"
	local banner=$OUT/banner.txt
	GOMAXPROCS=1 taskset -c "$SERVER_CORE" "$BIN" serve --dev --port 0 --udp-port 0 --tcp-port 0 \
		--config-body "{limits: {connections_per_address: 0, rtc_per_address: 0}, database: {path: \"$OUT/yunke.db\"}, recording: {dir: \"$OUT/rec\"}}" \
		--log-level warn >"$banner" 2>>"$log" &
	server_pid=$!
	url=
	for _ in $(seq 100); do
		url=$(sed -n 's/^ *Open: *\(http[^ ]*\).*/\1/p' "$banner" | sed -n 1p)
		[ -n "$url" ] && grep -q 'WebRTC UDP:' "$banner" && grep -q 'Metrics:' "$banner" && break
		url=
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$url" ] || ! curl -fsS --max-time 5 "$url/healthz" >/dev/null; then
		cat "$banner" >&2
		tail -n 20 "$log" >&2
		echo "fanout: the server did not start (within 10 s)" >&2
		stop_server_now
		return 1
	fi
	url=${url%/}
	udp_port=$(sed -n 's/^ *WebRTC UDP: *[^ ]*:\([0-9]*\).*/\1/p' "$banner" | sed -n 1p)
	metrics_url=$(sed -n 's/^ *Metrics: *\(http[^ ]*\).*/\1/p' "$banner" | sed -n 1p)
	[ -n "$metrics_url" ] || echo "fanout: the banner names no metrics listener; counters will be empty" >&2
}

# sample prints one JSON object of the server's counters now.
sample() {
	local t stat status metrics
	t=$(date +%s.%N)
	stat=$(sed 's/^.*) //' "/proc/$server_pid/stat") # field 1 is now stat's field 3
	status=$(cat "/proc/$server_pid/status")
	metrics=$(curl -fsS --max-time 5 "$metrics_url") || metrics=
	jq -nc --arg t "$t" --arg stat "$stat" --arg status "$status" --arg m "$metrics" '
		def metric($name): ($m | split("\n") | map(select(startswith($name + " ")))
			| if length > 0 then (.[0] | split(" ") | .[1] | tonumber) else null end);
		def kb($key): ($status | split("\n") | map(select(startswith($key + ":"))) | .[0]
			| capture("(?<v>[0-9]+)").v | tonumber);
		($stat | split(" ")) as $f
		| {t: ($t | tonumber),
		   cpu_s: ((($f[11] | tonumber) + ($f[12] | tonumber)) / 100),
		   out: metric("yunke_rtp_packets_total{direction=\"out\"}"),
		   in: metric("yunke_rtp_packets_total{direction=\"in\"}"),
		   mallocs: metric("go_memstats_mallocs_total"),
		   recordings: metric("yunke_recorder_recordings"),
		   rec_bytes: metric("yunke_recorder_bytes_total"),
		   rec_dropped: metric("yunke_recorder_packets_dropped_total"),
		   nacks: metric("yunke_nacks_total{result=\"received\"}"),
		   dropped: ($m | split("\n") | map(select(startswith("yunke_rtp_packets_dropped_total{")) | split(" ") | .[1] | tonumber) | add),
		   heap_inuse: metric("go_memstats_heap_inuse_bytes"),
		   stack_inuse: metric("go_memstats_stack_inuse_bytes"),
		   goroutines: metric("go_goroutines"),
		   rss_kb: kb("VmRSS"), threads: kb("Threads")}'
}

# server_warnings: warning and error lines the server logged since it last started.
server_warnings() {
	awk '/^--- server start/ { n = 0; next } / level=(WARN|ERROR) | (WARN|ERROR): / { n++ } END { print n + 0 }' "$OUT/server.log"
}
udp_rcvbuf_errors() { awk '/^Udp:/ && $2 ~ /^[0-9]/ { print $6; exit }' /proc/net/snmp; }
# server_socket_drops: the drops column of /proc/net/udp for the server's UDP port.
server_socket_drops() {
	local hex
	hex=$(printf ':%04X' "$udp_port")
	awk -v p="$hex" '$2 ~ p"$" { d += $NF } END { print d + 0 }' /proc/net/udp
}

# run_once N LABEL: one run on a fresh server; appends its JSON line to
# results.jsonl and prints it. Fails if the run produced no figures.
run_once() {
	local n=$1 label=$2 tag lt_json lt_log limit waited s0 s1 rss0 rcv0 line
	tag=$(date +%s%N)
	lt_json=$OUT/run-$tag.json
	lt_log=$OUT/loadtest.log
	start_server || return 1
	rss0=$(awk '/^VmRSS:/ { print $2 }' "/proc/$server_pid/status")
	rcv0=$(udp_rcvbuf_errors)
	echo "--- $n subscribers ($label) $(date -u +%FT%TZ)" >>"$lt_log"
	# The load tool's steady window is a second longer than ours, so ours,
	# which starts when it logs the start of its own, lies inside it.
	local connect=$CONNECT_TIMEOUT
	limit=$((connect + $(awk -v n="$n" -v r="$JOIN_RATE" 'BEGIN { printf "%d", n / r + 1 }') + WARMUP_S + DURATION_S + 60))
	local room=fanout teacher=() i logs=()
	[ "$RECORD" = 1 ] && room=s1-fanout
	lt_pids=()
	for i in $(seq "$ROOMS"); do
		local name=$room-$n
		[ "$ROOMS" -gt 1 ] && name=$room-$n-r$i
		[ "$RECORD" = 1 ] && teacher=(--teacher "u${teachers[$((i - 1))]}")
		timeout -k 5 "$limit" taskset -c "$LOAD_CORE" "$BIN" loadtest --url "$url" --room "$name" "${teacher[@]}" \
			--publishers 1 --subscribers "$n" --join-rate "$JOIN_RATE" --connect-timeout "${connect}s" \
			--warmup "$WARMUP" --duration "$((DURATION_S + 1 + (ROOMS > 1 ? 2 : 0)))s" --video-bitrate "$BITRATE" \
			--server-pid "$server_pid" --json >"$lt_json.$i" 2>"$OUT/lt-$tag.$i.log" &
		lt_pids+=($!)
		logs+=("$OUT/lt-$tag.$i.log")
	done
	# Every load process is in its steady window (or one gave up).
	steady() { local f; for f in "${logs[@]}"; do grep -q 'msg="steady window"' "$f" 2>/dev/null || return 1; done; }
	alive() { local p; for p in "${lt_pids[@]}"; do kill -0 "$p" 2>/dev/null || return 1; done; }
	waited=0
	until steady; do
		if ! alive || [ "$waited" -gt $(((limit - DURATION_S) * 10)) ]; then
			break
		fi
		sleep 0.1
		waited=$((waited + 1))
	done
	s0= s1=
	if steady; then
		s0=$(sample)
		sleep "$DURATION_S"
		s1=$(sample)
	fi
	for i in "${!lt_pids[@]}"; do
		wait "${lt_pids[$i]}" 2>/dev/null || echo "fanout: load run $((i + 1)) of $ROOMS ($n subscribers) exited with status $?" >&2
	done
	lt_pids=()
	local drops rcv1 warnings
	drops=$(server_socket_drops)
	rcv1=$(udp_rcvbuf_errors)
	stop_server_now
	warnings=$(server_warnings)
	cat "${logs[@]}" >>"$lt_log"
	rm -f "${logs[@]}"
	rm -rf "$OUT/rec"
	# One summary for all rooms: counts and the load tool's CPU summed,
	# loss and latency the worst room's.
	local ok=1
	for i in $(seq "$ROOMS"); do jq -e . "$lt_json.$i" >/dev/null 2>&1 || ok=0; done
	if [ "$ok" = 1 ]; then
		jq -s '(.[0] | keys) as $ks | . as $all | reduce $ks[] as $k (.[0];
			if (.[$k] | type) != "number" then .
			elif ($k | test("percent|_ms$|mbps|seconds|server_cpu")) and ($k != "load_cpu_percent") then .[$k] = ($all | map(.[$k]) | max)
			else .[$k] = ($all | map(.[$k]) | add) end)' "$lt_json".* >"$lt_json"
	fi
	rm -f "$lt_json".*
	if [ -z "$s0" ] || [ -z "$s1" ] || ! jq -e . "$lt_json" >/dev/null 2>&1; then
		echo "fanout: $n subscribers: the run produced no figures (see $lt_log)" >&2
		rm -f "$lt_json"
		return 1
	fi
	line=$(jq -c --argjson n "$n" --arg lbl "$label" --argjson s0 "$s0" --argjson s1 "$s1" \
		--argjson rss0 "$rss0" --argjson drops "$drops" --argjson rcv "$((rcv1 - rcv0))" --argjson warnings "$warnings" '
		def r($d): (. * pow(10; $d) | round) / pow(10; $d);
		($s1.t - $s0.t) as $w | ($s1.cpu_s - $s0.cpu_s) as $cpu
		| (if $s1.out != null then $s1.out - $s0.out else null end) as $fwd
		| . + {n: $n, label: $lbl, rooms: '"$ROOMS"', record: '"$RECORD"',
		   recordings: $s1.recordings,
		   rec_kb_per_s: (if $s1.rec_bytes != null then ($s1.rec_bytes - $s0.rec_bytes) / 1024 / $w | r(1) else null end),
		   rec_dropped: (if $s1.rec_dropped != null then $s1.rec_dropped - $s0.rec_dropped else null end),
		   window_s: ($w | r(3)),
		   srv_cpu_s: ($cpu | r(2)),
		   srv_cpu_pct: ($cpu / $w * 100 | r(1)),
		   fwd_packets: $fwd,
		   fwd_pps: (if $fwd != null then $fwd / $w | r(0) else null end),
		   in_packets: (if $s1.in != null then $s1.in - $s0.in else null end),
		   us_per_pkt: (if ($fwd // 0) > 0 then $cpu * 1e6 / $fwd | r(2) else null end),
		   cpu_s_per_1k: (if ($fwd // 0) > 0 then $cpu * 1e3 / $fwd | r(4) else null end),
		   allocs_per_pkt: (if ($fwd // 0) > 0 and $s1.mallocs != null then ($s1.mallocs - $s0.mallocs) / $fwd | r(2) else null end),
		   mallocs_per_s: (if $s1.mallocs != null then ($s1.mallocs - $s0.mallocs) / $w | r(0) else null end),
		   nacks_received: (if $s1.nacks != null then $s1.nacks - $s0.nacks else null end),
		   srv_dropped: (if $s1.dropped != null then $s1.dropped - $s0.dropped else null end),
		   rss_idle_kb: $rss0, rss_kb: $s1.rss_kb, threads: $s1.threads, goroutines: $s1.goroutines,
		   heap_inuse_kb: (if $s1.heap_inuse != null then $s1.heap_inuse / 1024 | floor else null end),
		   stack_inuse_kb: (if $s1.stack_inuse != null then $s1.stack_inuse / 1024 | floor else null end),
		   server_socket_drops: $drops, udp_rcvbuf_errors: $rcv, server_warnings: $warnings}' "$lt_json")
	rm -f "$lt_json"
	echo "$line" >>"$OUT/results.jsonl"
	echo "$line"
}

stop_server_now() {
	stop_pid "$server_pid"
	server_pid=
}

passes() {
	jq -e --argjson loss "$MAX_LOSS" --argjson p99 "$MAX_P99_MS" --argjson cpu "$MAX_CPU" \
		'.subscribers_failed == 0 and .tracks_received == .tracks_expected
		 and .steady_loss_percent < $loss and .srv_cpu_pct <= $cpu
		 and ($p99 <= 0 or .steady_latency_p99_ms <= $p99)' >/dev/null <<<"$1"
}
saturated() { jq -e --argjson s "$LOAD_SATURATED" '.load_cpu_percent > $s' >/dev/null <<<"$1"; }
brief() {
	jq -r '"  \(.n) subscribers: \(.subscribers_connected) joined, server \(.srv_cpu_pct) % (\(.us_per_pkt // "-") µs/packet, \(.allocs_per_pkt // "-") allocs/packet), loss \(.steady_loss_percent) % (whole run \(.loss_percent) %), p50 \(.steady_latency_p50_ms) ms, p99 \(.steady_latency_p99_ms) ms, RSS \(.rss_kb / 1024 | floor) MB, load tool \(.load_cpu_percent) %; server socket drops \(.server_socket_drops), server warnings \(.server_warnings)"' <<<"$1" >&2
}

# runs N LABEL COUNT: COUNT runs of N subscribers; a run that produced no
# figures is reported and skipped.
runs() {
	local n=$1 label=$2 k=$3 r line
	for r in $(seq "$k"); do
		echo "$n subscribers, run $r of $k" >&2
		if line=$(run_once "$n" "$label"); then
			brief "$line"
		fi
		sleep 1
	done
}

# median over the runs with label L of a field; null if none has it.
medians() { # medians LABEL → one JSON object of medians
	jq -sc --arg l "$1" '
		def median: map(select(. != null)) | sort
			| if length == 0 then null
			  elif length % 2 == 1 then .[(length - 1) / 2]
			  else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		map(select(.label == $l)) as $rs
		| if ($rs | length) == 0 then null else
		  ($rs[0] | keys) as $ks
		  | reduce $ks[] as $k ({runs: ($rs | length)};
			if ($rs[0][$k] | type) == "number" then .[$k] = ($rs | map(.[$k]) | median) else . end)
		  end' "$OUT/results.jsonl"
}

machine() {
	local cpu mhz virt
	cpu=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | sed -n 1p)
	mhz=$(awk -F': *' '/^cpu MHz/ { printf "%.0f MHz", $2; exit }' /proc/cpuinfo)
	virt=$(grep -qw hypervisor /proc/cpuinfo && echo ", virtual machine" || true)
	echo "date:    $(date -u +'%F %H:%M UTC')"
	echo "machine: $cpu${mhz:+ at $mhz}, $(nproc) cores (/proc/cpuinfo)$virt, $(awk '/MemTotal/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo) RAM, Linux $(uname -r)"
	echo "build:   $("$BIN" version 2>/dev/null | sed -n 1p); tree at $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- 2>/dev/null || echo ', with uncommitted changes')"
	echo "method:  server on core $SERVER_CORE (GOMAXPROCS=1), load tool on core $LOAD_CORE; $ROOMS room(s) of 1 publisher, VP8 $BITRATE + Opus;"
	echo "         $([ "$RECORD" = 1 ] && echo "every room recorded by the server (RECORD=1)" || echo "not recorded")"
	echo "         joins at $JOIN_RATE/s, warm-up $WARMUP, steady window $DURATION; median of $RUNS runs, a fresh server each"
}

{
	machine
	echo "results: $OUT"
} | tee "$OUT/machine.txt" >&2

echo "baseline: 0 subscribers (the publisher alone)" >&2
runs 0 base "$RUNS"

max_n= max_note=
for n in "${COUNTS[@]}"; do
	if [ "$n" != max ]; then
		runs "$n" "n$n" "$RUNS"
		continue
	fi
	# Grow by half while runs pass, then bisect between the last pass and
	# the first failure; one run per step. Growth stops early when the load
	# tool saturates: larger counts would measure the load tool.
	best= best_line= fail= fail_line= try=$MAX_START steps=0
	while [ "$steps" -lt "$MAX_STEPS" ]; do
		steps=$((steps + 1))
		echo "max search: $try subscribers" >&2
		line=$(run_once "$try" "search") || line='{}'
		[ "$line" != '{}' ] && brief "$line"
		if [ "$line" != '{}' ] && passes "$line"; then
			best=$try best_line=$line
			if saturated "$line"; then
				echo "max search: the load tool is saturated at $try; not growing further" >&2
				break
			fi
			try=$((try + try / 2))
		else
			fail=$try fail_line=$line
			break
		fi
		sleep 1
	done
	if [ -n "$fail" ]; then
		lo=${best:-0}
		for _ in $(seq "$MAX_BISECT"); do
			mid=$(((lo + fail) / 2))
			[ "$mid" -gt "$lo" ] && [ $((fail - mid)) -ge $((fail / 20 + 1)) ] || break
			echo "max search: bisect, $mid subscribers" >&2
			line=$(run_once "$mid" "search") || line='{}'
			[ "$line" != '{}' ] && brief "$line"
			if [ "$line" != '{}' ] && passes "$line"; then
				lo=$mid best=$mid best_line=$line
			else
				fail=$mid fail_line=$line
			fi
			sleep 1
		done
	fi
	if [ -z "$best" ]; then
		echo "max search: even $MAX_START subscribers fail the criteria" >&2
		max_note="max: even $MAX_START subscribers fail the criteria"
		continue
	fi
	[ -n "$fail" ] && echo "max search: $best passes, $fail fails" >&2
	# The passing search run counts as the first of the $RUNS.
	jq -c --argjson b "$best" 'select(.label == "search" and .n == $b) | .label = "max"' \
		"$OUT/results.jsonl" | tail -n 1 >>"$OUT/results.jsonl"
	runs "$best" max $((RUNS - 1))
	max_n=$best
	if saturated "$best_line" || { [ -n "$fail_line" ] && [ "$fail_line" != '{}' ] && saturated "$fail_line"; }; then
		max_n="$best*"
	fi
	ok=0 all=0
	while read -r line; do
		all=$((all + 1))
		passes "$line" && ok=$((ok + 1))
	done < <(jq -c 'select(.label == "max")' "$OUT/results.jsonl")
	max_note="max: $best subscribers passed the criteria in $ok of $all runs${fail:+; $fail failed}"
done

# The table: medians per count, memory per subscriber against the baseline.
base=$(medians base)
[ "$base" != null ] || die "the baseline produced no figures; see $OUT"
table=$OUT/table.md
{
	echo "| subscribers$([ "$ROOMS" -gt 1 ] && echo " per room") | joined | recording | written kB/s | fwd pkt/s | server CPU % | CPU-s / 1000 pkts | µs / pkt | µs / pkt marginal | allocs / pkt | allocs / pkt marginal | loss % | p50 ms | p99 ms | RSS MB | MB / sub | load tool CPU % |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for label in base $(for n in "${COUNTS[@]}"; do [ "$n" = max ] && echo max || echo "n$n"; done); do
		m=$(medians "$label")
		[ "$m" != null ] || continue
		name=$(jq -r '.n' <<<"$m")
		[ "$label" = max ] && name="max = ${max_n}"
		jq -r --arg name "$name" --argjson b "$base" '
			def f($d): if . == null then "–" else (. * pow(10; $d) | round) / pow(10; $d) | tostring end;
			"| \($name) | \(.subscribers_connected | f(0)) | \(.recordings | f(0)) | \(.rec_kb_per_s | f(0)) | \(.fwd_pps | f(0)) | \(.srv_cpu_pct | f(1)) | \(.cpu_s_per_1k | f(4)) | \(.us_per_pkt | f(2)) | \(if (.fwd_pps // 0) > 0 then (.srv_cpu_pct - $b.srv_cpu_pct) * 1e4 / .fwd_pps else null end | f(2)) | \(.allocs_per_pkt | f(2)) | \(if (.fwd_pps // 0) > 0 then (.mallocs_per_s - $b.mallocs_per_s) / .fwd_pps else null end | f(2)) | \(.steady_loss_percent | f(3)) | \(.steady_latency_p50_ms | f(2)) | \(.steady_latency_p99_ms | f(1)) | \(.rss_kb / 1024 | f(1)) | \(if .n > 0 then (.rss_kb - $b.rss_kb) / 1024 / (.n * (.rooms // 1)) | f(3) else null | f(0) end) | \(.load_cpu_percent | f(1)) |"' <<<"$m"
	done
	if [ -n "$max_note" ]; then echo "$max_note"; fi
	case $max_n in *'*') echo "* the load tool's core was saturated there: the server may sustain more." ;; esac
	echo "Medians of $RUNS runs (runs: $(jq -sc 'group_by(.label) | map({(.[0].label): length}) | add' "$OUT/results.jsonl")). Loss and latency: packets sent in the steady window; marginal: less the 0-subscriber baseline (the publisher's ingest and the idle server), per forwarded packet; MB / sub: (RSS − RSS with 0 subscribers) / N."
} >"$table"
cat "$table"
