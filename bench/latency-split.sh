#!/usr/bin/env bash
# Where a request's latency goes: the proxy's part of it, measured in the kernel, beside what wrk
# measures, for Lodestone and HAProxy in one run, interleaved.
#
#   bench/latency-split.sh          # 3 rounds x 4 s per proxy, a new connection per request
#   bench/latency-split.sh --keep-alive --rounds 5 --duration 6 --connections 50
#   JAVA_OPTS=-Dlodestone.transport=epoll bench/latency-split.sh   # JVM options for the gateway
#   JAR=/path/to/other/lodestone-examples.jar bench/latency-split.sh   # another build
#
# For every response the kernel's tcp:tcp_probe tracepoint (perf record -a, for 2 s in the middle
# of each run) gives two times: when the request reached the proxy's socket and when the response
# reached wrk's. The span between them is the proxy's part (its own work, the origin's, and the
# loopback in between); the rest of wrk's figure is spent on the client's core, between wrk's
# write and its read. "origin" is the origin's part of the span: from a request's arrival at the
# origin to its response's arrival on the proxy's server connection (the origin shares the
# client's core). "grouped" is the share of responses that reached wrk less than 10 us after
# the one before (an io_uring loop submits a turn's sends together; a loop that writes each
# response with its own system call leaves wider gaps; with keep-alive, at tens of thousands of
# responses a second, the gaps are short behind any proxy). Tracing costs both cores some CPU, so
# the figures are for comparing the two proxies, not absolute.
#
# Setup (per run, in a scratch directory; nothing system-wide is touched):
#   origin     nginx, 1 worker, CPU 0, GET /hello -> 100 bytes (bench/lib.sh)
#   haproxy    nbthread 1, CPU 1, mode http, http-reuse always (as ../shared/bench does)
#   lodestone  java -jar examples/target/lodestone-examples.jar gateway --mode http --warm-up 10s, CPU 1
#   wrk        -t1 on CPU 0, with "Connection: close" unless --keep-alive
# Requires root (or perf_event_paranoid <= -1) for the tracepoint, and haproxy, nginx, wrk, perf,
# python3, curl, taskset, java 17+; builds the examples jar if it is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"
JAR=${JAR:-$ROOT/examples/target/lodestone-examples.jar}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
HAPROXY_BIN=${HAPROXY_BIN:-/usr/sbin/haproxy}
ROUNDS=3
DURATION=4
CONNECTIONS=50
WARMUP=20
KEEP_ALIVE=false
BASE_PORT=${BASE_PORT:-18500}
PROXY_CPU=${PROXY_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}
read -r -a JVM_OPTIONS <<<"${JAVA_OPTS:-}"

while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --keep-alive) KEEP_ALIVE=true; shift ;;
    -h|--help) awk 'NR > 1 { if (!/^#/) exit; print }' "$0"; exit 0 ;;
    *) echo "latency-split.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
((DURATION >= 3)) || { echo "latency-split.sh: --duration must be at least 3 (s)" >&2; exit 2; }

for bin in "$NGINX_BIN" "$HAPROXY_BIN" wrk perf python3 curl taskset java; do
  command -v "$bin" >/dev/null || { echo "latency-split.sh: $bin not found" >&2; exit 1; }
done
if [[ ! -f $JAR && $JAR == "$ROOT/examples/target/lodestone-examples.jar" ]]; then
  echo "building $JAR ..."
  (cd "$ROOT" && mvn -B -q -o package -DskipTests) || (cd "$ROOT" && mvn -B -q package -DskipTests)
fi
[[ -f $JAR ]] || { echo "latency-split.sh: no jar at $JAR" >&2; exit 1; }
perf record -q -a -e tcp:tcp_probe -o /dev/null -- true >/dev/null 2>&1 || {
  echo "latency-split.sh: perf cannot record the tcp:tcp_probe tracepoint here (run as root)" >&2
  exit 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-latency-split.XXXXXX")
BENCH_DIR=$WORK
trap bench_stop EXIT
trap 'exit 130' INT TERM

ORIGIN_PORT=$BASE_PORT
HAPROXY_PORT=$((BASE_PORT + 1))
LODESTONE_PORT=$((BASE_PORT + 2))
mkdir -p "$WORK/logs" "$WORK/tmp"

bench_hello_origin "$ORIGIN_PORT" >"$WORK/origin.conf"
cat >"$WORK/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 8192
defaults
    mode http
    maxconn 8192
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 60s
    option http-keep-alive
    http-reuse always
frontend fe
    bind 127.0.0.1:$HAPROXY_PORT
    default_backend be
backend be
    server o1 127.0.0.1:$ORIGIN_PORT
EOF

bench_start origin "$CLIENT_CPU" "$NGINX_BIN" -p "$WORK/" -e "$WORK/logs/origin.err" -c "$WORK/origin.conf"
bench_start haproxy "$PROXY_CPU" "$HAPROXY_BIN" -db -f "$WORK/haproxy.cfg"
bench_start lodestone "$PROXY_CPU" java "${JVM_OPTIONS[@]}" -jar "$JAR" gateway --mode http \
  --listen "127.0.0.1:$LODESTONE_PORT" --backend "127.0.0.1:$ORIGIN_PORT" --warm-up 10s
for port in "$ORIGIN_PORT" "$HAPROXY_PORT" "$LODESTONE_PORT"; do
  bench_wait_http "http://127.0.0.1:$port/hello" || {
    echo "latency-split.sh: nothing answers on port $port (logs in $WORK/logs)" >&2
    exit 1
  }
done

port_of() { [[ $1 == haproxy ]] && echo "$HAPROXY_PORT" || echo "$LODESTONE_PORT"; }
CLOSE=(-H "Connection: close")
MEASURED=("${CLOSE[@]}")
$KEEP_ALIVE && MEASURED=()
run_wrk() { # run_wrk PROXY SECONDS [WRK OPTION...]
  local proxy=$1 seconds=$2
  shift 2
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${seconds}s" --latency "$@" \
    "http://127.0.0.1:$(port_of "$proxy")/hello"
}

echo "warming up ($WARMUP s per proxy, both kinds of traffic) ..."
for p in haproxy lodestone; do
  run_wrk "$p" "$((WARMUP / 2))" >/dev/null
  run_wrk "$p" "$((WARMUP / 2))" "${CLOSE[@]}" >/dev/null
done

cat >"$WORK/split.py" <<'EOF'
import re, sys
# split.py TRACE PORT ORIGIN_PORT WRKOUT -> one line of figures for one run
trace, port, origin, wrk_out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
probe = re.compile(r'^\s*([\d.]+):.* src=\S*:(\d+) dest=\S*:(\d+) .*?data_len=(\d+)')

class Exchanges:
    """Requests and their responses on the connections to one listening port, paired by the
    connection's other port (one request at a time on a connection): the time between, in us."""
    def __init__(self):
        self.open, self.times = {}, []
    def request(self, peer, t):
        self.open.setdefault(peer, t)
    def response(self, peer, t):
        start = self.open.pop(peer, None)
        if start is not None:
            self.times.append((t - start) * 1e6)

proxied, served, responses = Exchanges(), Exchanges(), []
for line in open(trace):
    m = probe.match(line)
    if not m or m.group(4) == '0':
        continue
    t, local, remote = float(m.group(1)), int(m.group(2)), int(m.group(3))
    if local == port:            # the proxy's client connection received a request
        proxied.request(remote, t)
    elif remote == port:         # wrk's connection received a response
        responses.append(t)
        proxied.response(local, t)
    elif local == origin:        # the origin received a request on a server connection
        served.request(remote, t)
    elif remote == origin:       # that server connection received the origin's response
        served.response(local, t)
spans, legs = sorted(proxied.times), sorted(served.times)
if not spans or not legs:
    sys.exit("no request/response pairs in " + trace)
pct = lambda v, p: v[min(len(v) - 1, int(p * len(v)))] / 1000
gaps = [b - a for a, b in zip(responses, responses[1:])]
grouped = sum(1 for g in gaps if g < 10e-6) / max(1, len(gaps))
def wrk_ms(label):
    for line in open(wrk_out):
        f = line.split()
        if len(f) >= 2 and f[0] == label:
            v = f[1]
            for unit, scale in (('us', 0.001), ('ms', 1.0), ('s', 1000.0)):
                if v.endswith(unit):
                    return float(v[:-len(unit)]) * scale
    return float('nan')
rps = next((l.split()[1] for l in open(wrk_out) if l.startswith('Requests/sec:')), '0')
print('%s %.3f %.3f %.3f %.3f %.3f %.3f %.3f %.2f %d' % (rps, wrk_ms('50%'), wrk_ms('99%'), pct(spans, 0.5),
      pct(spans, 0.9), pct(spans, 0.99), pct(legs, 0.5), pct(legs, 0.99), grouped, len(spans)))
EOF

# measure PROXY -> rps, wrk p50 and p99, span p50, p90 and p99, origin p50 and p99, grouped, pairs
measure() {
  local p=$1
  run_wrk "$p" "$DURATION" "${MEASURED[@]}" >"$WORK/wrk-$p.txt" &
  local wrk_pid=$!
  sleep 1
  timeout 2 perf record -q -a -e tcp:tcp_probe -o "$WORK/probe-$p.data" >/dev/null 2>&1 || true
  wait "$wrk_pid"
  perf script -i "$WORK/probe-$p.data" -F time,trace 2>/dev/null >"$WORK/probe-$p.txt"
  python3 "$WORK/split.py" "$WORK/probe-$p.txt" "$(port_of "$p")" "$ORIGIN_PORT" "$WORK/wrk-$p.txt"
}

printf '%-5s %-9s %9s | %-17s | %-23s | %-17s | %s\n' round proxy 'req/s' 'wrk p50 / p99 ms' \
  'span p50 / p90 / p99 ms' 'origin p50 / p99' grouped
declare -A ALL
for ((r = 1; r <= ROUNDS; r++)); do
  order=(haproxy lodestone)
  ((r % 2 == 0)) && order=(lodestone haproxy)
  for p in "${order[@]}"; do
    figures=$(measure "$p")   # a run without pairs stops the script here (set -e)
    read -r rps w50 w99 s50 s90 s99 o50 o99 grouped pairs <<<"$figures"
    ALL[$p]+="$w50 $w99 $s50 $s90 $s99 $o50 $o99;"
    printf '%-5s %-9s %9s | %7s / %7s | %6s / %6s / %6s | %7s / %7s | %s (%s pairs)\n' "$r" "$p" "$rps" \
      "$w50" "$w99" "$s50" "$s90" "$s99" "$o50" "$o99" "$grouped" "$pairs"
  done
done
python3 - "${ALL[lodestone]}" "${ALL[haproxy]}" <<'EOF'
import statistics, sys
runs = lambda s: [list(map(float, r.split())) for r in s.split(';') if r.strip()]
lod, hap = runs(sys.argv[1]), runs(sys.argv[2])
names = ['wrk p50', 'wrk p99', 'span p50', 'span p90', 'span p99', 'origin p50', 'origin p99']
ratios = [statistics.median(a[i] / b[i] for a, b in zip(lod, hap)) for i in range(len(names))]
print('Lodestone over HAProxy, medians of ratios paired by round: ' +
      ', '.join('%s %.2f' % (n, r) for n, r in zip(names, ratios)))
EOF
echo "(wrk output, traces and configs: $WORK)"
