#!/bin/sh
# tests/bench/run.sh: `make bench`, Portico side by side with nginx and HAProxy on loopback (see
# README.md).
#
# Generates certificates, starts one nginx as the upstream the proxies call, Portico, nginx and
# HAProxy as reverse proxies configured alike (configs.sh), loads them one after the other with
# wrk for every case, weighs idle keep-alive connections, and writes the table to
# $BUILD/bench/results.md.
# Every measured wrk round records requests/s and the proxy's CPU per request: utime + stime
# (/proc/PID/stat, clock ticks) of its whole process tree (nginx: master and workers) read just
# before and just after the round, divided by the requests wrk reports; wrk's own CPU and the
# upstream's are not counted. For a Portico target it also records the CPU of each of its
# threads (/proc/PID/task/TID/stat), grouped by thread name, and with audit or kafka:// routes
# the broker's.
# Everything it starts is stopped on exit, also on failure or Ctrl-C.
#
# Env from the Makefile: PORTICO (binary), BUILD (build folder), PYTHON.
# Env to compare with a previous build, e.g. of the previous commit:
#   BENCH_PREV=/path/to/portico   adds the target portico-prev (that binary, configured as
#                                 portico, on its own ports) and the cases prev-plain and prev-mtls
#                                 (portico against portico-prev: rps>=0.95 cpu<=1.05)
# Env to shorten a run while developing (defaults are the real run):
#   BENCH_DURATION=8    seconds per measured wrk round     BENCH_ROUNDS=9   rounds per proxy
#   BENCH_WARMUP=3      seconds of warm-up per proxy        BENCH_CONNS=50   wrk connections
#   BENCH_IDLE=5000     idle connections to weigh (0: skip) BENCH_CASES=     case names (all)
#   BENCH_TARGETS="portico portico-audit portico-kafka portico-metrics portico-redis nginx nginx-log
#   haproxy"
#                       "nginx" alone for a dry run without the gateway
#                       (portico-prev is added to them when BENCH_PREV is set)
#   BENCH_TF_ROUNDS=5   rounds of the conversion micro-benchmark (0: skip it)
# Env of the paced rounds (equal offered load), run only for a case whose GOALS name a *paced
# figure (p99paced, p50paced, rpspaced):
#   BENCH_PACE_MS=1     milliseconds each wrk connection waits after a response before its next
#                       request (a whole number, at least 1: wrk's timers count milliseconds)
#   BENCH_PACED_DURATION=BENCH_DURATION   seconds per paced wrk run
# shellcheck source-path=SCRIPTDIR
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

: "${PORTICO:?}" "${BUILD:?}"
PYTHON=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
B=$BUILD/bench
DURATION=${BENCH_DURATION:-8}
ROUNDS=${BENCH_ROUNDS:-9}
WARMUP=${BENCH_WARMUP:-3}
CONNS=${BENCH_CONNS:-50}
IDLE_N=${BENCH_IDLE:-5000}
ONLY_CASES=${BENCH_CASES:-}
TARGETS=${BENCH_TARGETS:-portico portico-audit portico-kafka portico-metrics portico-redis nginx nginx-log haproxy}
PREV=${BENCH_PREV:-}
if [ -n "$PREV" ] && [[ " $TARGETS " != *" portico-prev "* ]]; then TARGETS+=" portico-prev"; fi
IDLE_TOOL=$BUILD/tools/idle_conns
TF_TOOL=$BUILD/tools/transform_bench
TF_ROUNDS=${BENCH_TF_ROUNDS:-5}
PACE_MS=${BENCH_PACE_MS:-1}
PACED_DURATION=${BENCH_PACED_DURATION:-$DURATION}
SAMPLES=$(cd "$HERE/../data/samples" && pwd)
PAIN001=$SAMPLES/pain.001.001.03.ch.02-musterfile.xml
RAW=$B/raw.tsv

# The cases. One line each:
#   add_case NAME "TITLE" A B[,C] "GOALS" [extra wrk arguments...]
# A, B and C are TARGET:LISTENER:PATH (TARGET portico, portico-audit, portico-prev, portico-kafka,
# nginx, nginx-log or haproxy; LISTENER plain or tls; tls presents the partner's client
# certificate). B may hold two specs separated by a comma: the second is a third side C, compared
# with A as B is. Figures are given for every side and as A/B (and A/C). GOALS are the design
# targets checked on each ratio of the medians: "rps>=1 p99<=1" (rps, p50, p99: requests/s and
# latency; cpu: CPU time per request), or on each difference of the medians, A - B: "cpudiff<=4"
# (CPU per request, microseconds). rpspaced, p50paced and p99paced are the same figures at equal
# offered load: a case whose GOALS name one of them also gets a paced run of every side after its
# saturated run in every round (pace.lua: each connection waits BENCH_PACE_MS after a response),
# recorded apart from the saturated rounds. A case that needs its own routes adds them to
# portico_config, nginx_proxy_config and haproxy_config in configs.sh.
define_cases() {
    add_case plain "Plain HTTP/1.1, keep-alive" portico:plain:/plain/orders \
        nginx:plain:/plain/orders,haproxy:plain:/plain/orders "rps>=1 cpu<=1"
    add_case mtls "HTTPS with client certificate (mTLS), keep-alive" portico:tls:/tls/orders \
        nginx:tls:/tls/orders,haproxy:tls:/tls/orders "rps>=1 cpu<=1"
    # issue 18: the chain's CPU per request over the route without (A - B, median of the rounds'
    # differences) at most twice libxml2's bare parse of the same document, measured by
    # transform_bench in the same run (BENCH_TF_ROUNDS > 0)
    add_case chain "pain.001 POST (7.6 KB): xml_to_json + json_map against the same route without" \
        portico:plain:/xml/chain/pain portico:plain:/xml/none/pain "cpudiff<=2xparse:pain.001" \
        -s "$B/post-pain.lua"
    add_case chain-camt "camt.053 POST (28 KB): xml_to_json + json_map against the same route without" \
        portico:plain:/xml/camt-chain/camt portico:plain:/xml/none/camt "cpudiff<=2xparse:camt.053" \
        -s "$B/post-camt.lua"
    # issue 18: signed messages, verified over mTLS against the same partner route without a
    # signature step, the same signed request on both sides (figures reported, no bar)
    add_case jws "mTLS POST of a 1 KB JSON order with a detached JWS (ES256) verified against the route without" \
        portico:tls:/tls/jws/orders portico:tls:/tls/orders "" -s "$B/post-order-1k-jws.lua"
    add_case xmldsig "mTLS POST of a pain.001 (7.6 KB) with an enveloped XML signature (RSA-SHA256) verified against the route without" \
        portico:tls:/tls/xmldsig/pain portico:tls:/tls/orders "" -s "$B/post-pain-signed.lua"
    add_case audit "mTLS partner route with audit on (digest capture, to portico kafka-dev) against off" \
        portico-audit:tls:/tls/orders portico:tls:/tls/orders "rps>=0.92 p99paced<=1.3 cpudiff<=5"
    add_case audit-plain "Plain HTTP with audit on (digest capture, to portico kafka-dev) against off" \
        portico-audit:plain:/plain/orders portico:plain:/plain/orders \
        "rps>=0.92 p99paced<=1.3 cpudiff<=4"
    # issue 14: a set of three targets (the upstream on three more ports, round robin) against
    # the route to the single upstream, same listener, same server behind
    add_case upset \
        "Plain HTTP: an upstream set of 3 targets (round robin) against a single upstream" \
        portico:plain:/set/orders portico:plain:/plain/orders "rps>=0.95 cpu<=1.05"
    # issue 15: kafka:// routes against a mock: route answering 202 itself, the same 1 KB JSON
    # POST, one gateway (portico-kafka, with its own kafka-dev), its plain listener. ack "local"
    # (202 once the node's outbox has the message; its shipper produces it meanwhile, in the same
    # process): the issue's bar, >= 0.8x the mock's requests/s. ack "kafka" (202 once Kafka has
    # it): no goal, its p99 beside.
    add_case outbox \
        "Plain HTTP POST of a 1 KB JSON order: a kafka:// route (ack local) against a mock: route" \
        portico-kafka:plain:/local/orders portico-kafka:plain:/mock/orders "rps>=0.8" \
        -s "$B/post-order-1k.lua"
    add_case kafka \
        "Plain HTTP POST of a 1 KB JSON order: a kafka:// route (ack kafka) against a mock: route" \
        portico-kafka:plain:/kafka/orders portico-kafka:plain:/mock/orders "" \
        -s "$B/post-order-1k.lua"
    # issue 16: the metrics observer on (its admin listener scraped every second meanwhile)
    # against the same gateway without an admin listener (nothing counted), same route
    add_case metrics "Plain HTTP: Portico with metrics on (scraped every second) against off" \
        portico-metrics:plain:/plain/orders portico:plain:/plain/orders "rps>=0.95 cpu<=1.05"
    # issue 17: a route with every local limit (rate with burst, requests under way, day and month
    # quotas; none ever reached) against the same route without, same gateway
    add_case limits \
        "Plain HTTP: a route with local limits (none reached) against the same route without" \
        portico:plain:/limited/orders portico:plain:/plain/orders "cpu<=1.03"
    # the same limits counted across nodes in Redis (portico-redis: cluster.redis, a redis-server
    # the bench starts, its CPU beside the gateway's) against the route without, on portico
    add_case limits-redis \
        "Plain HTTP: a route with limits counted in Redis (none reached) against the same route without" \
        portico-redis:plain:/limited/orders portico:plain:/plain/orders "cpu<=1.10"
    # what a buffered access log costs nginx per request: the anchor for the audit's cost
    add_case log-plain "Plain HTTP: nginx with its buffered JSON access log against without" \
        nginx-log:plain:/plain/orders nginx:plain:/plain/orders ""
    add_case log-mtls "mTLS: nginx with its buffered JSON access log against without" \
        nginx-log:tls:/tls/orders nginx:tls:/tls/orders ""
    if [ -n "$PREV" ]; then # this build against BENCH_PREV, configured alike
        add_case prev-plain "Plain HTTP/1.1, keep-alive: this build against the previous one" \
            portico:plain:/plain/orders portico-prev:plain:/plain/orders "rps>=0.95 cpu<=1.05"
        add_case prev-mtls \
            "HTTPS with client certificate (mTLS), keep-alive: this build against the previous one" \
            portico:tls:/tls/orders portico-prev:tls:/tls/orders "rps>=0.95 cpu<=1.05"
    fi
}

# The idle connection measurements: LISTENER PATH, weighed on every target.
define_idle() {
    add_idle plain /plain/orders
    add_idle tls /tls/orders
}

# What the upstream answers: a small fixed JSON document (~100 bytes).
BODY='{"status":"accepted","order":"PO-2024-0042","partner":"bench-partner",'
BODY+='"lines":3,"total":"1234.50"}'

# ---------------------------------------------------------------------------------------------
# Helpers

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
    say "FAILED: $*"
    exit 1
}

declare -A PID=()      # name -> pid of what we started
declare -A URL=()      # target.listener -> base URL
declare -A PORT=()     # target.listener -> port
declare -A LOG=()      # name -> its log file
declare -A TREE=()     # name -> "pid:start-time ..." of its process tree once it was ready
declare -A STOPS=()    # name -> how many times this script asked it to stop
SET_PORTS=()           # the upstream's three more ports: the targets of Portico's set "upset"
CASES=()
declare -A C_TITLE=() C_A=() C_B=() C_C=() C_GOALS=() C_ARGS=()
IDLES=()

add_case() {
    local name=$1
    C_TITLE[$name]=$2 C_A[$name]=$3 C_B[$name]=${4%%,*} C_C[$name]="" C_GOALS[$name]=$5
    [[ $4 != *,* ]] || C_C[$name]=${4#*,}
    shift 5
    C_ARGS[$name]="$*"
    CASES+=("$name")
}

add_idle() { IDLES+=("$1 $2"); }

enabled() { [[ " $TARGETS " == *" $1 "* ]]; }

raw() { (IFS=$'\t'; printf '%s\n' "$*") >>"$RAW"; }

free_ports() {
    "$PYTHON" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# PID and all its descendants.
pid_tree() {
    local p
    echo "$1"
    for p in $(ps -o pid= --ppid "$1" 2>/dev/null); do pid_tree "$p"; done
}

# Start time of a process (clock ticks after boot), to tell it from a later one with its pid.
start_time() { sed -E 's/.*\) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f20; }

# Remember the process tree of NAME, so that its children are stopped even if it dies first
# (nginx workers outlive a killed master).
remember_tree() {
    local p
    TREE[$1]=""
    for p in $(pid_tree "${PID[$1]}"); do TREE[$1]+="$p:$(start_time "$p") "; done
}

# Sum of a /proc status field (VmRSS, VmHWM) in KiB over a process tree.
mem_kib() {
    local p sum=0 v
    for p in $(pid_tree "${PID[$2]}"); do
        v=$(awk -v f="$1:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null || true)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# Proportional set size in KiB over a process tree: shared pages (libraries, nginx's shared
# memory) are split among the processes that map them instead of counted in each.
pss_kib() {
    local p sum=0 v
    for p in $(pid_tree "${PID[$1]}"); do
        v=$(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || true)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# CPU time used so far by a process tree, in clock ticks: utime + stime, fields 14 and 15 of
# /proc/PID/stat (counted after the command name, which may hold spaces). A process's figures
# cover all its threads.
cpu_ticks() {
    local p sum=0 v
    for p in $(pid_tree "${PID[$1]}"); do
        v=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || true)
        sum=$((sum + ${v:-0}))
    done
    echo "$sum"
}

# Per thread of TARGET's process tree, CPU time used so far: "TID:START GROUP TICKS",
# tab-separated, one line per thread. GROUP is the thread's name (comm), "workers" for Portico's
# portico-w0, portico-w1, ...; START (its start time) tells a thread from a later one with its id.
# For portico-audit (and portico-kafka) a last line gives its broker's process tree (kafka-dev,
# kafka-orders) as its own group.
thread_ticks() {
    local p
    for p in $(pid_tree "${PID[$1]}"); do
        cat "/proc/$p/task/"*/stat 2>/dev/null || true
    done | awk '{
        comm = $0; sub(/^[0-9]+ \(/, "", comm); sub(/\) [^)]*$/, "", comm)
        if (comm ~ /^portico-w[0-9]+$/) comm = "workers"
        rest = $0; sub(/.*\) /, "", rest); split(rest, f, " ")
        printf "%s:%s\t%s\t%d\n", $1, f[20], comm, f[12] + f[13]
    }'
    if [ "$1" = portico-audit ] && alive kafka-dev; then
        printf 'kafka-dev\tkafka-dev (separate process)\t%s\n' "$(cpu_ticks kafka-dev)"
    fi
    if [ "$1" = portico-kafka ] && alive kafka-orders; then
        printf 'kafka-orders\tkafka-dev (separate process)\t%s\n' "$(cpu_ticks kafka-orders)"
    fi
    if [ "$1" = portico-redis ] && alive redis; then
        printf 'redis\tredis-server (separate process)\t%s\n' "$(cpu_ticks redis)"
    fi
}

is_portico() { [[ $1 == portico || $1 == portico-* ]]; }

# Reset the peak RSS of a process tree so that VmHWM covers what follows. Prints yes or no.
reset_hwm() {
    local p ok=yes
    for p in $(pid_tree "${PID[$1]}"); do
        { echo 5 >"/proc/$p/clear_refs"; } 2>/dev/null || ok=no
    done
    echo "$ok"
}

# The binary a Portico target runs: BENCH_PREV for portico-prev.
portico_bin() { if [ "$1" = portico-prev ]; then echo "$PREV"; else echo "$PORTICO"; fi; }

alive() { [ -n "${PID[$1]:-}" ] && kill -0 "${PID[$1]}" 2>/dev/null; }

# Show why NAME failed: the end of its logs, who else stopped it, what `portico check` says.
explain() {
    local stops
    say "last lines of ${LOG[$1]}:"
    tail -n 30 "${LOG[$1]}" >&2 || true
    if [ -f "$B/$1/error.log" ]; then
        say "last lines of $B/$1/error.log:"
        tail -n 10 "$B/$1/error.log" >&2
    fi
    case $1 in
    portico | portico-audit | portico-prev | portico-kafka | portico-metrics | portico-redis)
        stops=$(grep -c -E '(SIGTERM|SIGINT): stopping' "${LOG[$1]}" || true)
        [ "$stops" -le "${STOPS[$1]:-0}" ] ||
            say "$1 received a stop signal that this script did not send:" \
                "another process on this machine stopped it (a kill by name?)"
        say "$1 check -c $B/$1/portico.json:"
        "$(portico_bin "$1")" check -c "$B/$1/portico.json" >&2 || true
        ;;
    esac
}

check_alive() {
    alive "$1" || { explain "$1"; die "$1 is not running any more"; }
}

# Start a command in the background under a name; its output is appended to LOG[NAME]
# ($B/NAME.log unless set before).
start_bg() {
    local name=$1
    shift
    LOG[$name]=${LOG[$name]:-$B/$name.log}
    "$@" >>"${LOG[$name]}" 2>&1 &
    PID[$name]=$!
}

# Stop what was started under a name: TERM, then KILL of the whole tree after 5 s.
stop_bg() {
    local name=$1 pid=${PID[$1]:-} tree p e
    [ -n "$pid" ] || return 0
    STOPS[$name]=$((${STOPS[$name]:-0} + 1))
    tree=$(pid_tree "$pid")
    for e in ${TREE[$name]:-}; do
        p=${e%%:*}
        [ "$(start_time "$p")" = "${e#*:}" ] && tree+=" $p"
    done
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    for p in $tree; do # what is left: orphaned children, or a stuck process
        [ "$p" = "$pid" ] && ! kill -0 "$pid" 2>/dev/null && continue
        kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null
    done
    wait "$pid" 2>/dev/null || true
    unset "PID[$name]" "TREE[$name]"
}

cleanup() {
    local rc=$? name
    trap - EXIT INT TERM
    for name in "${!PID[@]}"; do stop_bg "$name"; done
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# curl arguments that reach a target's listener (the tls one with the client certificate).
curl_args() {
    case $1 in
    tls)
        echo "--cacert $B/certs/server-ca.pem"
        echo "--cert $B/certs/client.pem --key $B/certs/client.key"
        ;;
    *) echo "" ;;
    esac
}

# Wait until URL answers 200 (10 s at most) while NAME runs.
wait_ready() {
    local name=$1 url=$2 code
    shift 2
    for _ in $(seq 100); do
        check_alive "$name"
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$@" "$url" || true)
        [ "$code" = 200 ] && return 0
        sleep 0.1
    done
    explain "$name"
    die "$name: $url does not answer 200 (last status ${code:-none})"
}

# ---------------------------------------------------------------------------------------------
# The certificates and the configurations of every target: gen_certs, upstream_config,
# nginx_proxy_config, haproxy_config, portico_config.

# shellcheck source=configs.sh
. "$HERE/configs.sh"

# ---------------------------------------------------------------------------------------------
# The conversion micro-benchmark: CPU time per document of xml_to_json and json_to_xml beside
# libxml2's bare parse and jansson's load and dump, TF_ROUNDS rounds (medians in the report).

run_transform_bench() {
    local r
    [ "$TF_ROUNDS" != 0 ] || return 0
    [ -x "$TF_TOOL" ] || die "$TF_TOOL is missing (make build)"
    say "conversions: $TF_ROUNDS rounds of $(basename "$TF_TOOL") on pain.001 and camt.053"
    for r in $(seq "$TF_ROUNDS"); do
        "$TF_TOOL" -t 0.5 "$PAIN001=$B/chain-pain.json" \
            "$SAMPLES/camt.053-sample.xml=$B/chain-camt.json" >"$B/tfbench.$r.tsv" ||
            die "transform_bench failed"
        raw tfbench "$r" "$B/tfbench.$r.tsv"
    done
}

# ---------------------------------------------------------------------------------------------
# Starting and stopping the proxies

start_upstream() {
    start_bg upstream nginx -p "$B/upstream" -c "$B/upstream/nginx.conf" -g 'daemon off;'
    wait_ready upstream "http://127.0.0.1:$UP_PORT/"
    remember_tree upstream
}

# Start `portico kafka-dev` under NAME, its bootstrap address in $B/NAME.addr once it listens.
start_broker() {
    rm -f "$B/$1.addr"
    start_bg "$1" "$PORTICO" kafka-dev --addr-file "$B/$1.addr" --partitions 4
    for _ in $(seq 100); do [ -s "$B/$1.addr" ] && break; check_alive "$1"; sleep 0.1; done
    [ -s "$B/$1.addr" ] || die "$1 (portico kafka-dev) did not start"
    remember_tree "$1"
}

start_target() {
    case $1 in
    nginx | nginx-log) start_bg "$1" nginx -p "$B/$1" -c "$B/$1/nginx.conf" -g 'daemon off;' ;;
    haproxy) start_bg haproxy haproxy -db -f "$B/haproxy/haproxy.cfg" ;;
    portico) start_bg portico "$PORTICO" serve -c "$B/portico/portico.json" ;;
    portico-audit)
        # the broker in its own process, as Kafka would be: its CPU is on the same two cores
        rm -f "$B/kafka-dev.addr"
        start_bg kafka-dev "$PORTICO" kafka-dev --addr-file "$B/kafka-dev.addr" --partitions 4
        for _ in $(seq 100); do [ -s "$B/kafka-dev.addr" ] && break; check_alive kafka-dev; sleep 0.1; done
        [ -s "$B/kafka-dev.addr" ] || die "kafka-dev did not start"
        portico_config portico-audit "{ \"brokers\": \"$(cat "$B/kafka-dev.addr")\", \"dir\": \"audit\" }"
        start_bg portico-audit "$PORTICO" serve -c "$B/portico-audit/portico.json"
        ;;
    portico-metrics)
        # the metrics case: the admin listener on, its /metrics scraped every second meanwhile
        portico_config portico-metrics "" set "" "$ADMIN_PORT"
        start_bg portico-metrics "$PORTICO" serve -c "$B/portico-metrics/portico.json"
        alive scraper || start_bg scraper bash -c "while :; do curl -s -o /dev/null --max-time 2 \
            http://127.0.0.1:$ADMIN_PORT/metrics; sleep 1; done"
        ;;
    portico-kafka)
        # the kafka case's brokers: a kafka-dev of its own, in its own process, as for the audit
        alive kafka-orders || start_broker kafka-orders
        portico_config portico-kafka "" set "$(cat "$B/kafka-orders.addr")"
        start_bg portico-kafka "$PORTICO" serve -c "$B/portico-kafka/portico.json"
        ;;
    portico-redis)
        # the limits counted in Redis: a redis-server of its own, as the cluster would have
        alive redis || start_bg redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 \
            --save "" --appendonly no --dir "$B"
        for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
        portico_config portico-redis
        start_bg portico-redis "$PORTICO" serve -c "$B/portico-redis/portico.json"
        ;;
    portico-prev)
        portico_config portico-prev
        if ! "$PREV" check -c "$B/portico-prev/portico.json" >/dev/null 2>&1; then
            portico_config portico-prev "" noset # a build before upstream sets
            say "portico-prev: configured without the upstream set (BENCH_PREV does not take it)"
        fi
        start_bg portico-prev "$PREV" serve -c "$B/portico-prev/portico.json"
        ;;
    esac
    wait_ready "$1" "${URL[$1.plain]}/plain/ready"
    # shellcheck disable=SC2046
    wait_ready "$1" "${URL[$1.tls]}/tls/ready" $(curl_args tls)
    remember_tree "$1"
}

# Every proxy must pass the upstream's body through, and refuse the TLS listener to a client
# without a certificate: otherwise they are not doing the same work. A Portico target with the
# upstream set must pass the body through the set's route too, and spread requests over all three
# of its targets.
verify_target() {
    local t=$1 got
    got=$(curl -s --max-time 5 "${URL[$t.plain]}/plain/check")
    [ "$got" = "$BODY" ] || die "$t plain: body through the proxy is '$got'"
    # shellcheck disable=SC2046
    got=$(curl -s --max-time 5 $(curl_args tls) "${URL[$t.tls]}/tls/check")
    [ "$got" = "$BODY" ] || die "$t tls: body through the proxy is '$got'"
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$B/certs/server-ca.pem" \
        "${URL[$t.tls]}/tls/check" || true)
    [ "$got" != 200 ] || die "$t tls: answers 200 to a client without a certificate"
    [ "$t" != portico-kafka ] || verify_kafka
    [ "$t" != portico ] || verify_signed
    is_portico "$t" && grep -q '"upset"' "$B/$t/portico.json" || return 0
    got=$(curl -s --max-time 5 "${URL[$t.plain]}/set/check")
    [ "$got" = "$BODY" ] || die "$t plain: body through the upstream set is '$got'"
    # six requests through the set reach each of its three targets
    got=$(for _ in 1 2 3 4 5 6; do
        curl -s --max-time 5 "${URL[$t.plain]}/set/port"
        echo
    done | sort -u | xargs)
    [ "$got" = "$(printf '%s\n' "${SET_PORTS[@]}" | sort -u | xargs)" ] ||
        die "$t: the upstream set reached the ports '$got', not ${SET_PORTS[*]}"
}

# The signed cases' routes on portico: the signed order passes (the upstream's body back), the
# same order without its signature or with another body is refused 401. The route without
# signatures passes the signed request too: both sides of a case do the same work but the check.
verify_signed() {
    local url=${URL[portico.tls]} got
    # shellcheck disable=SC2046
    got=$(curl -s --max-time 5 $(curl_args tls) -H 'Content-Type: application/json' \
        -H "X-JWS-Signature: $(cat "$B/order-1k.jws")" --data-binary "@$B/order-1k.json" \
        "$url/tls/jws/check")
    [ "$got" = "$BODY" ] || die "portico: the signed order through /tls/jws/ gets '$got'"
    # shellcheck disable=SC2046
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 $(curl_args tls) \
        -H 'Content-Type: application/json' -H "X-JWS-Signature: $(cat "$B/order-1k.jws")" \
        --data-binary '{"order": "another"}' "$url/tls/jws/check")
    [ "$got" = 401 ] || die "portico: another body under the order's JWS answers $got, not 401"
    # shellcheck disable=SC2046
    got=$(curl -s --max-time 5 $(curl_args tls) -H 'Content-Type: application/xml' \
        --data-binary "@$B/pain-signed.xml" "$url/tls/xmldsig/check")
    [ "$got" = "$BODY" ] || die "portico: the signed pain.001 through /tls/xmldsig/ gets '$got'"
    # shellcheck disable=SC2046
    got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 $(curl_args tls) \
        -H 'Content-Type: application/xml' --data-binary "@$PAIN001" "$url/tls/xmldsig/check")
    [ "$got" = 401 ] || die "portico: the unsigned pain.001 through /tls/xmldsig/ answers $got"
}

# The kafka case's routes on portico-kafka, with its body: both answer 202 and keep the
# connection open (two POSTs on one connection: wrk would otherwise reconnect for every request
# without a word), and /kafka/orders really produces: 202 with the topic, partition and offset
# Kafka gave the message, and the message at that place (read back with kcat) is the body posted.
verify_kafka() {
    local url=${URL[portico-kafka.plain]} got where path
    for path in /mock/orders /kafka/orders /local/orders; do
        got=$(curl -s -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ' --max-time 10 \
            -H 'Content-Type: application/json' --data-binary "@$B/order-1k.json" \
            "$url$path" "$url$path" || true)
        [ "$got" = "202:1 202:0 " ] || die "portico-kafka: two POSTs to $path on one connection:" \
            "'$got' (status:new connections), not '202:1 202:0'"
    done
    got=$(curl -s -w '\n%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
        --data-binary "@$B/order-1k.json" "$url/kafka/orders" || true)
    [ "${got##*$'\n'}" = 202 ] ||
        die "portico-kafka: POST /kafka/orders answers '${got//$'\n'/ }', not 202"
    where=$("$PYTHON" -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["topic"] == "bench.orders" and isinstance(d["offset"], int) and d["offset"] >= 0
print(d["partition"], d["offset"])' "${got%$'\n'*}") ||
        die "portico-kafka: the 202 of POST /kafka/orders holds no offset: ${got%$'\n'*}"
    got=$(timeout 20 kcat -b "$(cat "$B/kafka-orders.addr")" -C -t bench.orders \
        -p "${where% *}" -o "${where#* }" -c 1 -e -q -f '%s' 2>/dev/null || true)
    [ "$got" = "$(cat "$B/order-1k.json")" ] ||
        die "portico-kafka: the message at partition ${where% *} offset ${where#* } of" \
            "bench.orders is not the body posted"
    say "portico-kafka: POST /kafka/orders: 202, in bench.orders at partition ${where% *}" \
        "offset ${where#* }; POST /mock/orders: 202; both keep the connection"
}

# ---------------------------------------------------------------------------------------------
# Measuring

# wrk against TARGET:LISTENER:PATH for SECONDS, output to FILE. In the background with a wait,
# so that Ctrl-C or TERM stops the run at once (bash defers traps during a foreground command).
# Leaves the CPU time TARGET's process tree used meanwhile in WRK_TICKS (clock ticks), read just
# before wrk starts and just after it ends, and for a Portico target the CPU time by thread group
# in WRK_THREADS ("GROUP TICKS" lines, tab-separated; a thread that only the second reading
# sees counts from 0). WRK_ENV holds extra NAME=VALUE settings for wrk's environment (a caller
# sets it local, as paced_run does).
WRK_TICKS=0
WRK_THREADS=""
WRK_ENV=()
wrk_run() {
    local spec=$1 secs=$2 out=$3 t ep path rc=0
    shift 3
    IFS=: read -r t ep path <<<"$spec"
    local -a env=()
    if [ "$ep" = tls ]; then
        env=(LD_PRELOAD="$B/tls_client_cert.so" BENCH_CLIENT_CERT="$B/certs/client.pem"
            BENCH_CLIENT_KEY="$B/certs/client.key")
    fi
    LOG[wrk]=$out
    WRK_THREADS=""
    ! is_portico "$t" || thread_ticks "$t" >"$B/threads.before"
    WRK_TICKS=$(cpu_ticks "$t")
    start_bg wrk env "${env[@]}" "${WRK_ENV[@]}" timeout $((secs + 30)) \
        wrk -t1 -c"$CONNS" -d"${secs}s" --latency "$@" "${URL[$t.$ep]}$path"
    wait "${PID[wrk]}" || rc=$?
    WRK_TICKS=$(($(cpu_ticks "$t") - WRK_TICKS))
    if is_portico "$t"; then
        thread_ticks "$t" >"$B/threads.after"
        WRK_THREADS=$(awk -F'\t' 'NR == FNR { before[$1] = $3; next }
            { group[$2] += $3 - (($1 in before) ? before[$1] : 0) }
            END { for (g in group) printf "%s\t%d\n", g, group[g] }' \
            "$B/threads.before" "$B/threads.after" | sort)
    fi
    unset "PID[wrk]"
    [ "$rc" = 0 ] || { cat "$out" >&2; die "wrk against $spec failed (status $rc)"; }
    check_alive "$t"
}

# CPU microseconds per request, the ticks and the requests, tab-separated: TICKS of CPU over
# the requests of a wrk output (microseconds "-" when it reports none).
cpu_per_request() {
    local n
    n=$(awk '/ requests in / { print $1 }' "$2")
    if [ "${n:-0}" -gt 0 ] 2>/dev/null; then
        awk -v t="$1" -v hz="$HZ" -v n="$n" \
            'BEGIN { printf "%.3f\t%d\t%d\n", t * 1e6 / hz / n, t, n }'
    else
        printf -- '-\t%s\t%s\n' "$1" "${n:-0}"
    fi
}

# The paced rounds: the same figures at equal offered load. At saturation (a closed loop of
# CONNS connections, each sending its next request as soon as it has the response) p99 is mostly
# the queue: by Little's law latency = CONNS / throughput, so the side with 10% less throughput
# has the longer tail on the two shared cores whatever a request costs it. In a paced run each
# connection waits PACE_MS after a response before it sends the next request, the same wait for
# both sides, so both are offered nearly the same load, below saturation, and their latencies
# compare at that load (README.md: what they still hold).

# pace.lua in $B: wrk's delay() returns BENCH_PACE_MS (milliseconds) for every request. wrk starts
# a request's latency clock when it writes the request, after the wait, so the wait is not in the
# latencies. wrk takes one script: BENCH_PACE_BASE, when set, is the case's own (e.g.
# post-pain.lua), run first.
pace_script() {
    cat >"$B/pace.lua" <<'EOF'
-- wrk: equal offered load for the paced rounds of tests/bench/run.sh
local base = os.getenv("BENCH_PACE_BASE")
if base and base ~= "" then dofile(base) end
local ms = tonumber(os.getenv("BENCH_PACE_MS") or "")
assert(ms and ms >= 1 and ms == math.floor(ms), "BENCH_PACE_MS: whole milliseconds, at least 1")
function delay()
    return ms
end
EOF
}

# Whether case NAME has paced rounds: its GOALS name a paced figure (p99paced<=1.3, ...).
paced_case() { [[ " ${C_GOALS[$1]} " =~ [[:space:]](rps|p50|p99)paced(\<=|\>=) ]]; }

# One paced run of a side (NAME ROLE SPEC ROUND [the case's wrk arguments...]): wrk with pace.lua
# for PACED_DURATION seconds, its -s script, if any, passed on as pace.lua's base. Recorded as
# "paced NAME ROLE ROUND FILE US TICKS REQUESTS", apart from the saturated rounds; leaves the
# requests it completed in PACED_REQUESTS.
PACED_REQUESTS=0
paced_run() {
    local name=$1 role=$2 spec=$3 r=$4 base="" out cpu
    shift 4
    local -a args=()
    while [ $# -gt 0 ]; do
        case $1 in
        -s | --script)
            base=$2
            shift 2
            ;;
        *)
            args+=("$1")
            shift
            ;;
        esac
    done
    local -a WRK_ENV=(BENCH_PACE_MS="$PACE_MS" BENCH_PACE_BASE="$base")
    out=$B/wrk/$name.$role.paced.$r.txt
    wrk_run "$spec" "$PACED_DURATION" "$out" "${args[@]}" -s "$B/pace.lua"
    # wrk reports a script that fails to load and runs on without it, i.e. saturated
    ! grep -qF "$B/pace.lua" "$out" || { cat "$out" >&2; die "wrk: $B/pace.lua did not load"; }
    cpu=$(cpu_per_request "$WRK_TICKS" "$out")
    PACED_REQUESTS=${cpu##*$'\t'}
    raw paced "$name" "$role" "$r" "$out" "$cpu"
    say "  round $r $spec paced ($PACE_MS ms): $(awk '/^Requests\/sec/ { print $2 }' "$out")" \
        "req/s, p99 $(awk '$1 == "99%" { print $2 }' "$out")"
}

# Lines in nginx-log's access log so far.
access_log_lines() { wc -l <"$B/nginx-log/access.log" 2>/dev/null || echo 0; }

# After a case on nginx-log (NAME ROLE LINES-BEFORE REQUESTS): its access log must have grown by
# a line for each of the REQUESTS wrk completed. The lines are buffered and flushed within 1 s
# (flush=1s), so wait up to 5 s for them. No line at all fails the run.
access_log_check() {
    local got=0
    for _ in $(seq 50); do
        got=$(($(access_log_lines) - $3))
        [ "$got" -lt "$4" ] || break
        sleep 0.1
    done
    raw access_log "$1" "$2" "$got" "$4"
    say "  nginx-log: $got access log lines for $4 requests"
    [ "$got" -gt 0 ] || die "nginx-log wrote no line to $B/nginx-log/access.log in the case $1"
}

run_case() {
    local name=$1 role t r cpu i group ticks
    local -a order=() roles=()
    local -A spec_of=([a]=${C_A[$name]} [b]=${C_B[$name]} [c]=${C_C[$name]})
    local -A requests=() log_before=()
    # shellcheck disable=SC2206
    local -a args=(${C_ARGS[$name]})
    for role in a b c; do
        [ -n "${spec_of[$role]}" ] && enabled "${spec_of[$role]%%:*}" && roles+=("$role")
    done
    raw case "$name" "${C_TITLE[$name]}" "${C_A[$name]}" "${C_B[$name]}" "${C_GOALS[$name]}" \
        "${C_C[$name]}"
    [ ${#roles[@]} -gt 0 ] || return 0
    ! paced_case "$name" || raw pace "$name" "$PACE_MS" "$PACED_DURATION" "$CONNS"
    say "case $name: ${C_TITLE[$name]}"
    for role in "${roles[@]}"; do
        t=${spec_of[$role]%%:*}
        [ "$t" != nginx-log ] || log_before[$role]=$(access_log_lines)
        raw hwm_reset "$name" "$role" "$(reset_hwm "$t")"
        wrk_run "${spec_of[$role]}" "$WARMUP" "$B/wrk/$name.$role.warmup.txt" "${args[@]}"
        cpu=$(cpu_per_request 0 "$B/wrk/$name.$role.warmup.txt")
        requests[$role]=${cpu##*$'\t'}
    done
    for r in $(seq "$ROUNDS"); do
        # rotate who goes first, so that a drift of the machine hits every side alike
        i=$(((r - 1) % ${#roles[@]}))
        order=("${roles[@]:i}" "${roles[@]:0:i}")
        for role in "${order[@]}"; do
            wrk_run "${spec_of[$role]}" "$DURATION" "$B/wrk/$name.$role.$r.txt" "${args[@]}"
            cpu=$(cpu_per_request "$WRK_TICKS" "$B/wrk/$name.$role.$r.txt")
            requests[$role]=$((requests[$role] + ${cpu##*$'\t'}))
            raw wrk "$name" "$role" "$r" "$B/wrk/$name.$role.$r.txt"
            raw cpu "$name" "$role" "$r" "$cpu"
            while IFS=$'\t' read -r group ticks; do
                [ -n "$group" ] || continue
                raw threads "$name" "$role" "$r" "$group" "$ticks" "${cpu##*$'\t'}"
            done <<<"$WRK_THREADS"
            say "  round $r ${spec_of[$role]}: $(awk '/^Requests\/sec/ { print $2 }' \
                "$B/wrk/$name.$role.$r.txt") req/s, ${cpu%%$'\t'*} CPU us/request"
            sleep 1
            if paced_case "$name"; then
                paced_run "$name" "$role" "${spec_of[$role]}" "$r" "${args[@]}"
                requests[$role]=$((requests[$role] + PACED_REQUESTS))
                sleep 1
            fi
        done
    done
    for role in "${roles[@]}"; do
        t=${spec_of[$role]%%:*}
        raw hwm "$name" "$role" "$(mem_kib VmHWM "$t")"
        raw pss "$name" "$role" "$(pss_kib "$t")"
        [ "$t" != nginx-log ] || access_log_check "$name" "$role" "${log_before[$role]}" \
            "${requests[$role]}"
    done
}

# RSS of a freshly started, warmed-up proxy, then with IDLE_N idle keep-alive connections open.
# Each measurement starts the proxy anew: memory freed by an earlier one would otherwise be
# reused and hide the cost of the connections.
run_idle() {
    local ep=$1 path=$2 t before after rc=0 out
    local -a tls=()
    [ "$ep" = tls ] && tls=(--tls --cert "$B/certs/client.pem" --key "$B/certs/client.key")
    for t in $TARGETS; do
        # audit or an access log change nothing on idle connections; the previous build is
        # compared under load
        case $t in portico-audit | portico-prev | portico-kafka | portico-metrics | portico-redis | \
            nginx-log)
            continue ;;
        esac
        say "idle: $IDLE_N connections to $t $ep"
        stop_bg "$t"
        start_target "$t"
        wrk_run "$t:$ep:$path" 1 "$B/wrk/idle.$ep.$t.warmup.txt"
        sleep 1
        before=$(mem_kib VmRSS "$t")
        out=$B/idle.$ep.$t.out
        LOG[idle]=$out
        start_bg idle "$IDLE_TOOL" -n "$IDLE_N" -t 120 -w 120 "${tls[@]}" 127.0.0.1 \
            "${PORT[$t.$ep]}" "$path"
        for _ in $(seq 1500); do
            grep -q '^ready' "$out" 2>/dev/null && break
            alive idle || break
            sleep 0.1
        done
        if ! grep -q '^ready' "$out"; then
            cat "$out" >&2
            check_alive "$t"
            die "idle_conns against $t $ep: the connections did not all become idle"
        fi
        # let the connections settle as idle ones: Portico shrinks a plain connection idle for 1 s
        # and gives the freed pages back on its next 1 s tick
        sleep 3
        check_alive "$t"
        after=$(mem_kib VmRSS "$t")
        kill -TERM "${PID[idle]}"
        wait "${PID[idle]}" || rc=$?
        unset "PID[idle]"
        [ "$rc" = 0 ] || { cat "$out" >&2; die "idle_conns against $t $ep: status $rc"; }
        raw idle "$ep" "$t" "$before" "$after" "$IDLE_N"
        raw tls_seen "$ep" "$t" "$(sed -n 's/^tls //p' "$out")"
        say "  $t $ep: RSS $before KiB -> $after KiB"
    done
}

# After the audit cases: every exchange the audited gateway answered is in Kafka (counted with
# kcat once the log is drained), and nothing was dropped.
audit_check() {
    local addr want got
    addr=$(cat "$B/kafka-dev.addr")
    stop_bg portico-audit
    want=$(sed -n 's/.*audit: stopped: \([0-9]*\) events written, \([0-9]*\) shipped, \([0-9]*\) dropped.*/\1 \2 \3/p' \
        "${LOG[portico-audit]}" | tail -n 1)
    got=$(timeout 120 kcat -b "$addr" -C -t portico.audit -e -q -f 'x\n' 2>/dev/null | wc -l)
    raw audit_count "$want" "$got"
    say "audit: written, shipped, dropped: $want; in Kafka: $got"
}

# ---------------------------------------------------------------------------------------------
# The run

main() {
    local t c n=0 ports
    for c in nginx wrk openssl curl cc; do
        command -v "$c" >/dev/null || die "$c is not installed (make deps)"
    done
    ! enabled haproxy || command -v haproxy >/dev/null || die "haproxy is not installed (make deps)"
    [ "$IDLE_N" = 0 ] || [ -x "$IDLE_TOOL" ] || die "$IDLE_TOOL is missing (make build)"
    ! enabled portico || [ -x "$PORTICO" ] || die "$PORTICO is missing (make build)"
    ! enabled portico-kafka || [ -x "$PORTICO" ] || die "$PORTICO is missing (make build)"
    ! enabled portico-kafka || command -v kcat >/dev/null || die "kcat is not installed (make deps)"
    if enabled portico-prev; then
        [ -n "$PREV" ] || die "the target portico-prev needs BENCH_PREV (a previous portico binary)"
        if ! { [ -f "$PREV" ] && [ -x "$PREV" ]; }; then
            die "BENCH_PREV=$PREV is not an executable file"
        fi
    fi
    [[ $PACE_MS =~ ^[1-9][0-9]*$ ]] || die "BENCH_PACE_MS=$PACE_MS: whole milliseconds, at least 1"
    [[ $PACED_DURATION =~ ^[1-9][0-9]*$ ]] ||
        die "BENCH_PACED_DURATION=$PACED_DURATION: whole seconds, at least 1"
    HZ=$(getconf CLK_TCK)
    rm -rf "$B"
    mkdir -p "$B/wrk"
    : >"$RAW"

    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    NOFILE=$(ulimit -n)
    [ "$NOFILE" = unlimited ] && NOFILE=65536
    if [ "$NOFILE" -lt $((IDLE_N + 1000)) ]; then
        die "open files limit $NOFILE is too low for $IDLE_N idle connections (BENCH_IDLE)"
    fi

    define_cases
    define_idle
    read -r UP_PORT "SET_PORTS[0]" "SET_PORTS[1]" "SET_PORTS[2]" ADMIN_PORT REDIS_PORT ports \
        <<<"$(free_ports 24)"
    for t in portico portico-audit portico-prev portico-kafka portico-metrics portico-redis nginx \
        nginx-log haproxy; do
        for c in plain tls; do
            n=$((n + 1))
            PORT[$t.$c]=$(echo "$ports" | cut -d' ' -f$n)
        done
        URL[$t.plain]=http://127.0.0.1:${PORT[$t.plain]}
        URL[$t.tls]=https://127.0.0.1:${PORT[$t.tls]}
    done

    say "certificates, configurations, LD_PRELOAD library in $B"
    gen_certs
    # shellcheck disable=SC2046
    cc -shared -fPIC -O2 -Wall -Wextra -Werror -o "$B/tls_client_cert.so" \
        "$HERE/tls_client_cert.c" $(pkg-config --cflags --libs openssl) -ldl
    upstream_config
    nginx_proxy_config nginx
    nginx_proxy_config nginx-log
    haproxy_config
    portico_config
    signed_inputs
    pace_script

    raw info started "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    raw info load_before "$(cut -d' ' -f1-3 /proc/loadavg)"
    raw info settings \
        "wrk -t1 -c$CONNS -d${DURATION}s --latency, $ROUNDS rounds after ${WARMUP}s warm-up"
    raw info clk_tck "$HZ"
    raw info nginx "$(nginx -v 2>&1 | sed 's/^nginx version: //')"
    if enabled haproxy; then
        raw info haproxy "$(haproxy -v 2>&1 | head -n 1 | sed 's/^HAProxy version //; s/ .*//')"
    fi
    raw info wrk "$(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
    raw info openssl "$(openssl version)"
    if enabled portico || enabled portico-kafka; then
        raw info portico "$("$PORTICO" version 2>&1 | head -n 1 | sed 's/^portico //' || true)"
    fi
    if enabled portico-prev; then
        raw info portico_prev \
            "$("$PREV" version 2>&1 | head -n 1 | sed 's/^portico //' || true) ($PREV)"
    fi

    say "starting the upstream and the proxies ($TARGETS)"
    start_upstream
    for t in $TARGETS; do
        start_target "$t"
        verify_target "$t"
    done

    for c in $ONLY_CASES; do
        [[ " ${CASES[*]} " == *" $c "* ]] || say "BENCH_CASES: no case $c (prev-*: set BENCH_PREV)"
    done
    for c in "${CASES[@]}"; do
        [ -z "$ONLY_CASES" ] || [[ " $ONLY_CASES " == *" $c "* ]] || continue
        run_case "$c"
    done
    run_transform_bench
    enabled portico-audit && audit_check
    if [ "$IDLE_N" != 0 ]; then
        for c in "${IDLES[@]}"; do
            # shellcheck disable=SC2086
            run_idle $c
        done
    fi
    raw info load_after "$(cut -d' ' -f1-3 /proc/loadavg)"
    for t in $TARGETS; do [ "$t" = portico-audit ] || check_alive "$t"; done # stopped to count

    "$PYTHON" "$HERE/report.py" "$RAW" "$B/results.md"
}

main "$@"
