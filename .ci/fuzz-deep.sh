#!/usr/bin/env bash
# schemathesis on both backends with N different seeds (`just fuzz-deep [N]`, default
# 10): more examples per operation than CI's fixed-seed run, every phase (stateful
# included), registration open for odd runs and at its default (closed) for even ones.
# Prints one summary line per seed and backend, and the failures in full; exits 1 when
# any run failed. FUZZ_DEEP_BASE fixes the seeds (to repeat a run), FUZZ_DEEP_EXAMPLES
# the examples per operation (default 150, half again CI's 100: with the stateful phase
# a seed takes about 3.5 minutes for both backends on 2 cores, so `just fuzz-deep 20`
# runs in about 70 minutes; 300 doubled that and found nothing more in 19 runs).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# The contract is under test here, not the cost of a hash: argon2id at its cheapest
# lets the fuzzer spend its time on requests (the server and the hooks' CLI read it).
export ROSTER__AUTH__PASSWORD_HASHING__MEMORY_KIB=${ROSTER__AUTH__PASSWORD_HASHING__MEMORY_KIB:-64}
export ROSTER__AUTH__PASSWORD_HASHING__ITERATIONS=${ROSTER__AUTH__PASSWORD_HASHING__ITERATIONS:-1}
runs=${1:-10}
examples=${FUZZ_DEEP_EXAMPLES:-150}
base=${FUZZ_DEEP_BASE:-$(date +%s)}
echo "fuzz-deep: $runs seeds from base $base, $examples examples an operation"
failed=0
for i in $(seq 1 "$runs"); do
  seed=$(( (base + i * 7919) % 2147483647 ))
  registration=$([ $((i % 2)) -eq 1 ] && echo true || echo false)
  for backend in sqlite postgres; do
    log=$(mktemp)
    started=$SECONDS
    if FUZZ_SEED=$seed FUZZ_EXAMPLES=$examples FUZZ_REGISTRATION=$registration \
        bash .ci/schemathesis.sh "$backend" > "$log" 2>&1; then
      verdict=passed
    else
      verdict=FAILED
      failed=1
    fi
    summary=$(grep -E '[0-9]+ generated' "$log" | tail -n 1 | xargs)
    printf 'seed %-10s %-8s registration=%-5s %-6s %4ss  %s\n' \
      "$seed" "$backend" "$registration" "$verdict" "$((SECONDS - started))" "$summary"
    if [ "$verdict" = FAILED ]; then
      # Every failing operation and check, then the first failures in full.
      sed -n '/FAILURES/,$p' "$log" | grep -E '^_{5,}|^- ' | sed 's/^/    /'
      sed -n '/FAILURES/,$p' "$log" | head -n 60
    fi
    rm -f "$log"
  done
done
exit "$failed"
