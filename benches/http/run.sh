#!/usr/bin/env bash
# HTTP/1.1 "Hello, World!" under an external load generator: corio's
# `examples/http_hello.rs` against the same hyper server on tokio
# (`benches/src/bin/http_hello_tokio.rs`), each its own process, driven by
# `wrk` from this script's process tree, alternating the order every
# round. Prints requests/s and p50/p99 latency per run, then the median,
# min, max and spread (max/min) of each server, and corio/tokio of the
# medians.
#
#   benches/http/run.sh                   # 5 rounds of 10 s, wrk -t1 -c50
#   RUNS=3 DURATION=5s CONNS=100 benches/http/run.sh
#
# Needs `wrk` (Debian: `sudo apt-get install wrk`). Both servers have one
# worker per core; on a 2-core machine wrk competes with them for the
# cores, the same for both. Each run is preceded by an untimed warm-up.
# The servers' stderr (connections wrk cuts when a run ends) goes to
# target/http-bench.log.
set -euo pipefail

RUNS=${RUNS:-5}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNS=${CONNS:-50}
THREADS=${THREADS:-1}

if ! command -v wrk >/dev/null; then
    echo "benches/http/run.sh needs wrk: sudo apt-get install wrk (or your distribution's package)" >&2
    exit 2
fi

cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
cargo build --quiet --release --features corio/hyper --example http_hello
cargo build --quiet --release -p corio-benches --bin http_hello_tokio
declare -A server=(
    [corio]="$target/release/examples/http_hello"
    [tokio]="$target/release/http_hello_tokio"
)

pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

# The servers' own messages (connections wrk cut at the end of a run).
log="$target/http-bench.log"
: >"$log"

# Starts server $1 on port $2 and waits until it accepts connections.
start() {
    "${server[$1]}" "127.0.0.1:$2" >/dev/null 2>>"$log" &
    pid=$!
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then
            return
        fi
        sleep 0.1
    done
    echo "the $1 server did not start listening on port $2" >&2
    exit 1
}

stop() {
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
}

# wrk's --latency report -> "req/s p50_us p99_us errors".
parse() {
    awk '
        function us(v) {
            if (v ~ /us$/) return v + 0
            if (v ~ /ms$/) return v * 1000
            if (v ~ /s$/)  return v * 1000000
            return v
        }
        /^ +50%/ { p50 = us($2) }
        /^ +99%/ { p99 = us($2) }
        /^Requests\/sec:/ { rps = $2 }
        /Socket errors|Non-2xx/ { errors = errors $0 ";" }
        END { printf "%.0f %.0f %.0f %s\n", rps, p50, p99, (errors == "" ? "-" : errors) }
    '
}

results=$(mktemp)
port=3100
echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, $RUNS rounds, order alternating"
printf "%-6s %-6s %12s %10s %10s  %s\n" round server "req/s" "p50 us" "p99 us" errors
for round in $(seq "$RUNS"); do
    if (( round % 2 )); then order="corio tokio"; else order="tokio corio"; fi
    for name in $order; do
        port=$((port + 1))
        start "$name" "$port"
        url="http://127.0.0.1:$port/"
        wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "$url" >/dev/null
        read -r rps p50 p99 errors < <(wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$url" | parse)
        stop
        printf "%-6s %-6s %12s %10s %10s  %s\n" "$round" "$name" "$rps" "$p50" "$p99" "$errors"
        echo "$name $rps $p50 $p99" >>"$results"
    done
done

echo
printf "%-6s %-8s %28s %28s %28s\n" server "" "req/s median [min max] spread" "p50 us median [min max]" "p99 us median [min max]"
awk '
    function median(a, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function stats(name, col,   i, n, a, m) {
        n = 0
        for (i = 1; i <= rows; i++) if (srv[i] == name) a[++n] = val[i, col]
        m = median(a, n)
        med[name, col] = m
        return sprintf("%9.0f [%.0f %.0f] %.2fx", m, a[1], a[n], a[n] / a[1])
    }
    { rows++; srv[rows] = $1; val[rows, 2] = $2; val[rows, 3] = $3; val[rows, 4] = $4 }
    END {
        for (k = 0; k < 2; k++) {
            name = k ? "tokio" : "corio"
            printf "%-15s %28s %28s %28s\n", name, stats(name, 2), stats(name, 3), stats(name, 4)
        }
        printf "\ncorio/tokio: req/s %.2fx (higher is better), p50 %.2fx, p99 %.2fx (lower is better)\n",
            med["corio", 2] / med["tokio", 2], med["corio", 3] / med["tokio", 3], med["corio", 4] / med["tokio", 4]
    }
' "$results"
rm -f "$results"
echo "(the servers' messages: $log)"
