#!/usr/bin/env bash
# Builds kpid's libFuzzer target (Fuzz/, a separate package so the sanitizers never touch the
# normal build) with AddressSanitizer and runs it for SECONDS (default 60) on the checked-in seed
# corpus (Fuzz/corpus), keeping new inputs in Fuzz/.work/corpus and crashes in Fuzz/.work/crashes.
#
#   tools/fuzz.sh [SECONDS] [extra libFuzzer flags...]
#   tools/fuzz.sh 0 Fuzz/.work/crashes/crash-abc   # reproduce one input
set -eo pipefail
cd "$(dirname "$0")/../Fuzz"
seconds=${1:-60}
shift || true
# --sanitize applies to compiling (Swift, C, C++: coverage + ASan) and to linking (libFuzzer's main).
swift build -c debug --sanitize fuzzer --sanitize address --product kpid-fuzz 2>&1 | grep -v "ld.gold: warning" >&2
bin=$(swift build -c debug --show-bin-path)/kpid-fuzz
mkdir -p .work/corpus .work/crashes
export LSAN_OPTIONS="suppressions=$PWD/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
if [[ $# -gt 0 && -f "$1" ]]; then
    exec "$bin" "$@"
fi
# -detect_leaks=0: the harness keeps state across inputs (open windows, dedupe keys) like the
# daemon, so almost every input "leaks" by libFuzzer's per-input malloc/free balance and each such
# input would trigger a full LeakSanitizer scan; memory growth is bounded by -rss_limit_mb instead.
exec "$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
    -print_final_stats=1 -artifact_prefix=.work/crashes/ "$@" .work/corpus corpus
