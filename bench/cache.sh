#!/usr/bin/env bash
# Cache hits per second: Lodestone's response cache (gateway --cache) beside nginx's proxy_cache,
# both serving the same object from memory, measured in one run, interleaved, with the ratio.
#
#   bench/cache.sh                      # 3 rounds x 5 s per object and proxy, 1 KiB and 64 KiB objects
#   bench/cache.sh --rounds 5 --duration 10 --connections 50 --sizes 1024,65536
#
# Setup (per run, in a scratch directory; nothing system-wide is touched):
#   origin  nginx, 1 worker, CPU 0, serving the objects with Cache-Control: max-age=3600
#   nginx   nginx, 1 worker, CPU 1, proxy_pass + proxy_cache with the cache directory on /dev/shm
#           (memory), proxy_cache_valid 1h, keep-alive to the origin
#   lodestone  java -jar examples/target/lodestone-examples.jar gateway --mode http --cache 64m, CPU 1
#   wrk     -t1 on CPU 0, keep-alive, GET of one object (every request a cache hit after the warm-up)
# Each proxy is checked to answer from its cache (X-Cache: HIT / nginx $upstream_cache_status HIT)
# before it is measured.
# Requires nginx, wrk, curl, taskset, java 17+; builds the examples jar if it is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib.sh
source "$ROOT/bench/lib.sh"
JAR=$ROOT/examples/target/lodestone-examples.jar
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
ROUNDS=3
DURATION=5
CONNECTIONS=50
SIZES=1024,65536
WARMUP=15
BASE_PORT=${BASE_PORT:-18400}
PROXY_CPU=${PROXY_CPU:-1}
CLIENT_CPU=${CLIENT_CPU:-0}

while (($#)); do
  case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "cache.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

for bin in "$NGINX_BIN" wrk curl taskset java; do
  command -v "$bin" >/dev/null || { echo "cache.sh: $bin not found" >&2; exit 1; }
done
if [[ ! -f $JAR ]]; then
  echo "building $JAR ..."
  (cd "$ROOT" && mvn -B -q -o package -DskipTests) || (cd "$ROOT" && mvn -B -q package -DskipTests)
fi

SHM=/dev/shm
[[ -d $SHM && -w $SHM ]] || SHM=${TMPDIR:-/tmp}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/lodestone-cache-bench.XXXXXX")
CACHE_DIR=$(mktemp -d "$SHM/lodestone-nginx-cache.XXXXXX")
BENCH_DIR=$WORK
cleanup() {
  bench_stop
  rm -rf "$CACHE_DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ORIGIN_PORT=$BASE_PORT
NGINX_PORT=$((BASE_PORT + 1))
LODESTONE_PORT=$((BASE_PORT + 2))
mkdir -p "$WORK/www" "$WORK/logs" "$WORK/tmp"
IFS=, read -r -a SIZE_LIST <<<"$SIZES"
for s in "${SIZE_LIST[@]}"; do
  head -c "$s" /dev/urandom | base64 -w 0 | head -c "$s" >"$WORK/www/obj$s"
done
chmod -R a+rX "$WORK"
{
  bench_nginx_main origin
  echo "http {"
  bench_nginx_http origin
  cat <<EOF
  sendfile on;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$ORIGIN_PORT backlog=4096;
    root $WORK/www;
    location / { add_header Cache-Control "max-age=3600"; }
  }
}
EOF
} >"$WORK/origin.conf"
{
  bench_nginx_main nginx
  echo "http {"
  bench_nginx_http nginx
  cat <<EOF
  proxy_cache_path $CACHE_DIR levels=1:2 keys_zone=objects:10m max_size=64m inactive=1h use_temp_path=off;
  upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PORT backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache objects;
      proxy_cache_valid 200 1h;
      proxy_cache_lock on;
      add_header X-Cache \$upstream_cache_status;
    }
  }
}
EOF
} >"$WORK/nginx.conf"

bench_start origin "$CLIENT_CPU" "$NGINX_BIN" -p "$WORK/" -e "$WORK/logs/origin.err" -c "$WORK/origin.conf"
bench_start nginx "$PROXY_CPU" "$NGINX_BIN" -p "$WORK/" -e "$WORK/logs/nginx.err" -c "$WORK/nginx.conf"
bench_start lodestone "$PROXY_CPU" java -XX:+UseParallelGC -Xms256m -Xmx256m -jar "$JAR" gateway --mode http \
  --listen "127.0.0.1:$LODESTONE_PORT" --backend "127.0.0.1:$ORIGIN_PORT" --cache 64m
for port in "$ORIGIN_PORT" "$NGINX_PORT" "$LODESTONE_PORT"; do
  bench_wait_http "http://127.0.0.1:$port/" || { echo "cache.sh: nothing answers on port $port" >&2; exit 1; }
done

port_of() { [[ $1 == nginx ]] && echo "$NGINX_PORT" || echo "$LODESTONE_PORT"; }

for s in "${SIZE_LIST[@]}"; do
  for p in nginx lodestone; do
    url="http://127.0.0.1:$(port_of $p)/obj$s"
    curl -s -o /dev/null "$url"
    status=$(curl -s -D - -o /dev/null "$url" | tr -d '\r' | awk -F': ' 'tolower($1) == "x-cache" { print $2 }')
    [[ $status == HIT ]] || { echo "cache.sh: $p does not answer /obj$s from its cache (X-Cache: ${status:-none})" >&2; exit 1; }
  done
done
echo "warming up ($WARMUP s per proxy) ..."
for p in nginx lodestone; do
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" "http://127.0.0.1:$(port_of $p)/obj${SIZE_LIST[0]}" >/dev/null
done

run_wrk() { # run_wrk PROXY SIZE -> requests/s
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s "http://127.0.0.1:$(port_of "$1")/obj$2" \
    | tee -a "$WORK/logs/wrk.txt" | awk '/^Requests\/sec:/ { print $2 }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A RESULTS RATIOS
for ((r = 1; r <= ROUNDS; r++)); do
  order=(nginx lodestone)
  ((r % 2 == 0)) && order=(lodestone nginx)
  for s in "${SIZE_LIST[@]}"; do
    declare -A this=()
    for p in "${order[@]}"; do
      rps=$(run_wrk "$p" "$s")
      this[$p]=$rps
      RESULTS[$p,$s]+="$rps "
      printf 'round %d  %-9s obj%-6s %12s req/s\n' "$r" "$p" "$s" "$rps"
    done
    # paired: the two proxies measured back to back in the same round
    RATIOS[$s]+="$(awk -v a="${this[lodestone]}" -v b="${this[nginx]}" 'BEGIN { print (b > 0) ? a / b : 0 }') "
  done
done

echo
echo "Cache hits per second (median of $ROUNDS rounds x ${DURATION}s, wrk -t1 -c$CONNECTIONS keep-alive; proxies on CPU $PROXY_CPU, wrk and origin on CPU $CLIENT_CPU)"
printf '%-10s %14s %14s %10s %18s\n' object nginx lodestone ratio "ratios by round"
for s in "${SIZE_LIST[@]}"; do
  n=$(tr ' ' '\n' <<<"${RESULTS[nginx,$s]}" | grep . | median)
  l=$(tr ' ' '\n' <<<"${RESULTS[lodestone,$s]}" | grep . | median)
  ratio=$(tr ' ' '\n' <<<"${RATIOS[$s]}" | grep . | median)
  byround=$(tr ' ' '\n' <<<"${RATIOS[$s]}" | grep . | awk '{ printf "%s%.2f", (NR > 1 ? " " : ""), $1 }')
  printf '%-10s %14.0f %14.0f %10.2f %18s\n' "${s}B" "$n" "$l" "$ratio" "$byround"
done
echo "(ratio = lodestone / nginx proxy_cache, the median of the paired per-round ratios; the machine may be"
echo " shared and noisy: look at the spread of the rounds before trusting a difference)"
echo "raw wrk output: $WORK/logs/wrk.txt"
