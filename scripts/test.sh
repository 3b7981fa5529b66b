#!/usr/bin/env bash
# The test command (README): type-check, then every *.test.ts under src/, test/ and bench/ with node:test.
# --unit skips the kernel tests (those needing root, nft and ip netns).
set -euo pipefail
cd "$(dirname "$0")/.."
# As root, set up what is missing (apt packages for the kernel tests, npm packages, build);
# otherwise only the npm packages (kernel tests then skip).
if [[ $(id -u) -eq 0 ]]; then
  bash scripts/bootstrap.sh >&2
elif [[ ! -d node_modules ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npx tsc -p tsconfig.test.json --noEmit
mapfile -t files < <(find src test bench -name '*.test.ts' 2>/dev/null | sort)
if [[ "${1:-}" == "--unit" ]]; then
  export INGRESSFW_SKIP_KERNEL=1
fi
exec node --import tsx --test --test-reporter=spec --test-timeout=300000 "${files[@]}"
