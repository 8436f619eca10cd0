#!/bin/bash
# Heap and native memory per idle connection of the gateway launcher, on 127.0.0.1:19000 (origin :19001).
# usage: bench/idle-memory/lodestone.sh h1|h2|pool|tcp [N]   (from the repository root, after mvn package)
#   h1: idle HTTP/1.1 keep-alive client connections, each after one request
#   h2: idle h2c (prior knowledge) client connections, each after one stream
#   pool: idle pooled server connections (N requests at once to a slow origin, then the clients leave)
#   tcp: idle L4 connection pairs
# Prints the live heap (jcmd GC.class_histogram, after a full GC), NMT's "Other" (direct buffers) and
# RSS before and after, divided by N; JAVA_OPTS=-Dlodestone.transport=nio (or epoll) picks the transport; HIST=1 keeps both histograms in $WORK for a per-class diff.
set -u
MODE=$1; N=${2:-2000}
DIR=$(cd "$(dirname "$0")" && pwd); WORK=${WORK:-$(mktemp -d)}; HIST=${HIST:-}
ulimit -n 20000
JAR=${JAR:-examples/target/lodestone-examples.jar}
javac -d "$WORK" "$DIR/Origin.java" "$DIR/Clients.java"
GW=http; EXTRA="--pool-max-idle 10000"; CM=$MODE; DELAY=0
case $MODE in
  h2) EXTRA="$EXTRA --h2c" ;;
  tcp) GW=tcp; EXTRA="" ;;
  pool) CM=h1par; DELAY=3000 ;;
esac
java -cp "$WORK" Origin 19001 $DELAY & OPID=$!
java ${JAVA_OPTS:-} -XX:NativeMemoryTracking=summary -Xms256m -Xmx256m -jar "$JAR" gateway --mode $GW --listen 127.0.0.1:19000 \
  --backend 127.0.0.1:19001 --timeout-client 10m $EXTRA > "$WORK/gateway.log" 2>&1 & GPID=$!
for i in $(seq 100); do ss -ltn | grep -q ':19000 ' && break; sleep 0.2; done
snap() {
  local h=$(jcmd $GPID GC.class_histogram | tail -1 | awk '{print $3}')
  local o=$(jcmd $GPID VM.native_memory summary | grep -E '^ *- *Other' | head -1 | sed 's/.*committed=\([0-9]*\)KB.*/\1/')
  local r=$(awk '/VmRSS/{print $2}' /proc/$GPID/status)
  echo "$1: heap=${h}B other=${o}KB rss=${r}KB"
  eval "${1}_h=$h; ${1}_o=$o; ${1}_r=$r"
  [ -n "$HIST" ] && jcmd $GPID GC.class_histogram > "$WORK/hist-$MODE-$1.txt"
}
run_clients() {
  rm -f "$WORK/in.fifo"; mkfifo "$WORK/in.fifo"
  java -cp "$WORK" Clients $CM 127.0.0.1 19000 $1 < "$WORK/in.fifo" > "$WORK/clients.out" 2>&1 & CPID=$!
  exec 7>"$WORK/in.fifo"
  for i in $(seq 600); do grep -q READY "$WORK/clients.out" && break; kill -0 $CPID 2>/dev/null || break; sleep 0.5; done
}
close_clients() { echo >&7; exec 7>&-; wait $CPID; }
for r in 1 2; do run_clients 300; close_clients; done   # warm: the same shape, 300 connections, closed
sleep 2
snap before
run_clients $N
[ $MODE = pool ] && { close_clients; sleep 3; }
snap after
echo "per connection ($MODE, $N): heap $(( (after_h - before_h) / N )) B, direct $(( (after_o - before_o) * 1024 / N )) B, rss $(( (after_r - before_r) * 1024 / N )) B"
[ $MODE = pool ] && echo "(pool: divide by the pooled connections made, BackendConnection's count in the histogram diff, when fewer than N)"
[ $MODE != pool ] && close_clients
kill $GPID $OPID; wait $GPID $OPID 2>/dev/null
