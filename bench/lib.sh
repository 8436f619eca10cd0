# Shared by the scripts in bench/ (sourced, not run): the programs a run starts and stops, and the
# parts of an nginx configuration that every run's nginx shares. Set BENCH_DIR, the run's scratch
# directory, before using them; logs go to $BENCH_DIR/logs and nginx's temporary files to
# $BENCH_DIR/tmp.

BENCH_PIDS=()

# bench_start NAME CPU CMD...: runs CMD in its own session, pinned to CPU, its output in
# $BENCH_DIR/logs/NAME.log; bench_stop ends it with the others.
bench_start() {
  local name=$1 cpu=$2
  shift 2
  setsid taskset -c "$cpu" "$@" >"$BENCH_DIR/logs/$name.log" 2>&1 </dev/null &
  BENCH_PIDS+=($!)
}

# bench_stop: TERM to the session of everything bench_start started, KILL after 5 s.
bench_stop() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${BENCH_PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  BENCH_PIDS=()
}

# bench_wait_http URL: until URL answers at all (any status, -k for TLS), for at most 60 s.
bench_wait_http() {
  for _ in $(seq 600); do
    curl -sk -o /dev/null "$1" && return 0
    sleep 0.1
  done
  return 1
}

# bench_nginx_main NAME: the main context of an nginx configuration (one worker, in the
# foreground, pid and error log named after NAME).
bench_nginx_main() {
  ((EUID == 0)) && echo "user root;"
  cat <<EOF
worker_processes 1;
worker_rlimit_nofile 16384;
daemon off;
master_process on;
pid $BENCH_DIR/logs/$1.pid;
error_log $BENCH_DIR/logs/$1.err warn;
events { worker_connections 8192; }
EOF
}

# bench_nginx_http NAME: the directives every http block of a run shares (no access log,
# temporary files in the scratch directory, keep-alive without a limit).
bench_nginx_http() {
  cat <<EOF
  access_log off;
  client_body_temp_path $BENCH_DIR/tmp/$1-body;
  proxy_temp_path $BENCH_DIR/tmp/$1-proxy;
  fastcgi_temp_path $BENCH_DIR/tmp/$1-fastcgi;
  uwsgi_temp_path $BENCH_DIR/tmp/$1-uwsgi;
  scgi_temp_path $BENCH_DIR/tmp/$1-scgi;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  tcp_nodelay on;
EOF
}

# bench_hello_origin PORT: the whole configuration of an origin nginx that answers GET /hello on
# 127.0.0.1:PORT with 100 bytes.
bench_hello_origin() {
  local hello
  hello=$(printf 'hello from the origin %078d\n' 0 | tr 0 x)
  bench_nginx_main origin
  echo "http {"
  bench_nginx_http origin
  cat <<EOF
  server {
    listen 127.0.0.1:$1 backlog=4096;
    location = /hello { default_type text/plain; return 200 "$hello"; }
  }
}
EOF
}
