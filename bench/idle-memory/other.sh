#!/bin/bash
# RSS per idle HTTP/1.1 keep-alive client connection (after one request) of HAProxy or nginx, one
# process each, on 127.0.0.1:19000 (origin :19001). usage: bench/idle-memory/other.sh haproxy|nginx [N]
set -u
WHO=$1; N=${2:-2000}
DIR=$(cd "$(dirname "$0")" && pwd); WORK=${WORK:-$(mktemp -d)}
ulimit -n 20000
javac -d "$WORK" "$DIR/Origin.java" "$DIR/Clients.java"
java -cp "$WORK" Origin 19001 0 & OPID=$!
if [ $WHO = haproxy ]; then
  haproxy -f "$DIR/haproxy.cfg" -db > "$WORK/proxy.log" 2>&1 & PID=$!
else
  sed "s|\$WORK|$WORK|g" "$DIR/nginx.conf.in" > "$WORK/nginx.conf"
  nginx -c "$WORK/nginx.conf" -p "$WORK" > "$WORK/proxy.log" 2>&1 & PID=$!
fi
for i in $(seq 100); do ss -ltn | grep -q ':19000 ' && break; sleep 0.2; done
rss() { local t=0; for p in $PID $(pgrep -P $PID); do t=$((t + $(awk '/VmRSS/{print $2}' /proc/$p/status))); done; echo $t; }
run_clients() {
  rm -f "$WORK/in.fifo"; mkfifo "$WORK/in.fifo"
  java -cp "$WORK" Clients h1 127.0.0.1 19000 $1 < "$WORK/in.fifo" > "$WORK/clients.out" 2>&1 & CPID=$!
  exec 7>"$WORK/in.fifo"
  for i in $(seq 600); do grep -q READY "$WORK/clients.out" && break; kill -0 $CPID 2>/dev/null || break; sleep 0.5; done
}
close_clients() { echo >&7; exec 7>&-; wait $CPID; }
for r in 1 2; do run_clients 300; close_clients; done
sleep 1
b=$(rss); run_clients $N; a=$(rss)
echo "$WHO: rss before=${b}KB after=${a}KB, established on :19000 and :19001 (both ends): $(ss -tn state established | grep -cE ':1900[01] ')"
echo "per connection ($WHO, h1, $N): rss $(( (a - b) * 1024 / N )) B"
close_clients; kill $PID $OPID; wait $PID $OPID 2>/dev/null
