#!/usr/bin/env bash
# A fast subset of the tests on each maintained Node.js line besides the primary one, which `npm test`
# runs in full (package.json's `node` dev dependency). Each line's official binary comes from npm's
# `node` package through `npm exec`, which puts it first on PATH: the test runner, `process.execPath`,
# bin/kura.js and the worker processes all run on that line. Run it after `npm test` (it uses dist/).
set -euo pipefail
cd "$(dirname "$0")/.."

# The newest release of each line in npm's `node` package; package.json's engines.node names the lines
# (test/unit/cli/node-support.test.ts keeps the two in step).
lines=(22.23.3 24.21.0)
# The unit tests, the command itself, the metrics (OpenTelemetry), the SDK against Kura and direct
# (undici upstream), and worker processes (node:cluster).
subset=(
  'dist/test/unit/**/*.test.js'
  dist/test/e2e/cli.test.js
  dist/test/e2e/metrics.test.js
  dist/test/e2e/sdk-parity.test.js
  dist/test/e2e/workers.test.js
  dist/test/e2e/workers-signals.test.js
)

for version in "${lines[@]}"; do
  echo "== Node.js $version: ${subset[*]}"
  NODE_OPTIONS=--openssl-legacy-provider npm exec --yes --package="node@$version" -- \
    node --test --test-concurrency=2 "${subset[@]}"
done
