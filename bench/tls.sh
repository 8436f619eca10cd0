#!/usr/bin/env bash
# bench/tls.sh - TLS handshakes per second and HTTP/2 requests per second, Lodestone beside HAProxy.
#
# Both proxies terminate TLS with the same certificate (EC P-256, made here with openssl), offer
# ALPN h2,http/1.1 and forward to the same origin (one nginx worker serving a 100-byte /hello).
# h2load (nghttp2-client) is the client. Two scenarios, run interleaved over --rounds rounds
# (the proxy order reversed every other round), medians reported with the ratio Lodestone/HAProxy:
#
#   handshakes  N new connections at once (h2load -c N -n N), each a full TLS 1.3 handshake (no
#               resumption: every h2load client is a new session) and one HTTP/2 request; the
#               rate is connections completed per second
#   h2          HTTP/2 over TLS, 50 connections x 10 concurrent streams, GET /hello, for -d seconds
#
# Pinning as in ../shared/bench: the proxy on CPU 1, h2load and the origin on CPU 0. HAProxy runs
# one thread; the JVM sees one CPU. The proxy's CPU time per request is reported too: when the
# client's CPU saturates first (a TLS client verifies a signature, which costs more than making
# it), the rates understate the difference and the CPU column is the comparison to read. Everything listens on 127.0.0.1 only; every program is
# started in its own session and stopped by PID on exit.
#
# usage: bench/tls.sh [--rounds N] [--duration S] [--handshakes N] [--quick] [--jar PATH] [--out DIR]
#                     [--gateway-args "FLAGS"]   (more flags for Lodestone's gateway, e.g. "--pool-max-idle 1024")
#   (from the project root, after: mvn -B -q package -DskipTests)
set -uo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$HERE/.." && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
JAR=$ROOT/examples/target/lodestone-examples.jar
ROUNDS=3
DURATION=10
HANDSHAKES=3000       # new connections per handshake run, all opened at once
WARMUP=60             # seconds of unrecorded load on the JVM before the first round (it is still compiling after 20)
PROXY_CPU=1
CLIENT_CPU=0
BASE_PORT=19440
OUT=""
GATEWAY_ARGS=""
JAVA_OPTS=${JAVA_OPTS:-"-Xms256m -Xmx256m"}

while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --handshakes) HANDSHAKES=$2; shift 2 ;;
    --quick) ROUNDS=2; DURATION=5; HANDSHAKES=1500; WARMUP=10; shift ;;
    --jar) JAR=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --gateway-args) GATEWAY_ARGS=$2; shift 2 ;;
    -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tls.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
done

die() { echo "tls.sh: $*" >&2; exit 1; }
for bin in haproxy nginx h2load openssl java taskset setsid curl; do
  command -v "$bin" >/dev/null || die "$bin not found (haproxy, nginx, nghttp2-client, openssl, a JDK 17+, util-linux, curl)"
done
[[ -f $JAR ]] || die "$JAR not found: run 'mvn -B -q package -DskipTests' first"

RUN=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-tls-bench.XXXXXX")
[[ -n $OUT ]] || OUT=$RUN/results
mkdir -p "$OUT" "$RUN/logs" "$RUN/tmp"
ORIGIN_PORT=$BASE_PORT
HAPROXY_PORT=$((BASE_PORT + 1))
LODESTONE_PORT=$((BASE_PORT + 2))
BENCH_DIR=$RUN

cleanup() {
  bench_stop
  # the scratch directory (key, configs, logs) goes unless the results were written inside it
  [[ $OUT == "$RUN"/* ]] || rm -rf -- "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_https() { # wait_https PORT: until GET /hello answers 200 over TLS
  for _ in $(seq 150); do
    [[ $(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$1/hello") == 200 ]] && return 0
    sleep 0.2
  done
  return 1
}

# ---------------------------------------------------------------- certificate, origin, proxies
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$RUN/key.pem" -out "$RUN/cert.pem" 2>/dev/null || die "openssl could not make the certificate"
cat "$RUN/cert.pem" "$RUN/key.pem" >"$RUN/haproxy.pem"

bench_hello_origin "$ORIGIN_PORT" >"$RUN/origin.conf"

cat >"$RUN/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 9000
    tune.ssl.default-dh-param 2048
    ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
    mode http
    maxconn 9000
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    option http-keep-alive
    http-reuse always
frontend fe
    bind 127.0.0.1:$HAPROXY_PORT ssl crt $RUN/haproxy.pem alpn h2,http/1.1
    default_backend be
backend be
    server o1 127.0.0.1:$ORIGIN_PORT
EOF

bench_start origin "$CLIENT_CPU" nginx -c "$RUN/origin.conf" -p "$RUN"
bench_start haproxy "$PROXY_CPU" haproxy -db -f "$RUN/haproxy.cfg"
HAPROXY_PID=$!
# shellcheck disable=SC2086
bench_start lodestone "$PROXY_CPU" java $JAVA_OPTS -jar "$JAR" gateway --mode http --listen "127.0.0.1:$LODESTONE_PORT" \
  --backend "127.0.0.1:$ORIGIN_PORT" --tls-cert "$RUN/cert.pem" --tls-key "$RUN/key.pem" --timeout-client 2m $GATEWAY_ARGS
LODESTONE_PID=$!

wait_https "$HAPROXY_PORT" || die "haproxy did not answer (see $RUN/logs/haproxy.log)"
wait_https "$LODESTONE_PORT" || die "lodestone did not answer (see $RUN/logs/lodestone.log)"
for p in $HAPROXY_PORT $LODESTONE_PORT; do
  [[ $(curl -sk --http2 -o /dev/null -w '%{http_version}' "https://127.0.0.1:$p/hello") == 2 ]] \
    || die "127.0.0.1:$p does not speak HTTP/2 over TLS"
done

# ---------------------------------------------------------------- load
H2LOAD=(taskset -c "$CLIENT_CPU" h2load)

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # cpu_ticks PID: user + system clock ticks of the process (all its threads)
  local line rest
  local -a f
  read -r line <"/proc/$1/stat" || { echo 0; return; }
  rest=${line##*) }
  read -r -a f <<<"$rest"
  echo $((f[11] + f[12]))
}

# run SCENARIO PORT PID OUTFILE: prints "rate ok failed cpu_us_per_request"
run() {
  local scenario=$1 port=$2 pid=$3 f=$4 before after
  before=$(cpu_ticks "$pid")
  if [[ $scenario == handshakes ]]; then
    # -c = -n: every client is a new connection (a full handshake) making one request, all at once
    "${H2LOAD[@]}" -t 1 -c "$HANDSHAKES" -n "$HANDSHAKES" -m 1 "https://127.0.0.1:$port/hello" >"$f" 2>&1
  else
    "${H2LOAD[@]}" -t 1 -c 50 -m 10 -D "$DURATION" --warm-up-time 1 "https://127.0.0.1:$port/hello" >"$f" 2>&1
  fi
  after=$(cpu_ticks "$pid")
  awk -v ticks=$((after - before)) -v hz="$CLK_TCK" '
    /^finished in/ { gsub(",", "", $4); rate = $4 }
    /^requests:/ { ok = $8; failed = $10 }
    END { printf "%.0f %d %d %.0f\n", rate, ok, failed, (ok > 0 ? ticks * 1e6 / hz / ok : 0) }' "$f"
}

echo "tls.sh: warming up Lodestone's JVM for ${WARMUP}s (not recorded)"
"${H2LOAD[@]}" -t 1 -c 50 -m 10 -D "$WARMUP" "https://127.0.0.1:$LODESTONE_PORT/hello" >"$RUN/logs/warmup-h2.log" 2>&1
for port in $LODESTONE_PORT $HAPROXY_PORT $LODESTONE_PORT; do
  "${H2LOAD[@]}" -t 1 -c 1000 -n 1000 -m 1 "https://127.0.0.1:$port/hello" >>"$RUN/logs/warmup-hs.log" 2>&1
done

TSV=$OUT/results.tsv
printf 'round\tscenario\tproxy\tper_second\tok\tfailed\tcpu_us_per_request\n' >"$TSV"
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then order=(haproxy lodestone); else order=(lodestone haproxy); fi
  for scenario in handshakes h2; do
    for p in "${order[@]}"; do
      if [[ $p == lodestone ]]; then port=$LODESTONE_PORT; pid=$LODESTONE_PID; else port=$HAPROXY_PORT; pid=$HAPROXY_PID; fi
      read -r v ok failed cpu < <(run "$scenario" "$port" "$pid" "$OUT/raw-$r-$scenario-$p.txt")
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$scenario" "$p" "$v" "$ok" "$failed" "$cpu" >>"$TSV"
      printf 'round %d  %-10s  %-9s  %8s/s  %6s CPU us each  (%s ok, %s failed)\n' "$r" "$scenario" "$p" "$v" "$cpu" "$ok" "$failed"
    done
  done
done

# ---------------------------------------------------------------- report: medians and paired ratios
{
  echo
  echo "TLS benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $ROUNDS rounds; proxy on CPU $PROXY_CPU, h2load + origin on CPU $CLIENT_CPU"
  echo "certificate: EC P-256 self-signed; TLS 1.3; ALPN h2"
  awk -F'\t' 'NR > 1 { v[$2, $3, $1] = $4; c[$2, $3, $1] = $7; f[$2, $3] += $6; rounds[$1] = 1 }
    function median(a, n,   i, j, t) {
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    END {
      n = length(rounds)
      printf "%-34s %10s %10s %7s   %s\n", "per second (median)", "haproxy", "lodestone", "ratio", "proxy CPU us per request: haproxy, lodestone"
      split("handshakes h2", sc, " ")
      for (k = 1; k <= 2; k++) {
        s = sc[k]
        for (i = 1; i <= n; i++) {
          h[i] = v[s, "haproxy", i]; l[i] = v[s, "lodestone", i]; q[i] = h[i] > 0 ? l[i] / h[i] : 0
          ch[i] = c[s, "haproxy", i]; cl[i] = c[s, "lodestone", i]
        }
        label = s == "handshakes" ? "TLS handshakes (+1 h2 request)" : "HTTP/2 requests (50 conn x 10)"
        printf "%-34s %10.0f %10.0f %7.2f   %.0f, %.0f\n", label, median(h, n), median(l, n), median(q, n), median(ch, n), median(cl, n)
      }
      printf "failed requests: haproxy %d, lodestone %d\n", f["handshakes", "haproxy"] + f["h2", "haproxy"], f["handshakes", "lodestone"] + f["h2", "lodestone"]
    }' "$TSV"
} | tee "$OUT/report.txt"
echo "raw h2load output and results.tsv in $OUT"
