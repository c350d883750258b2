#!/usr/bin/env bash
# What the tests and the benchmark run besides Node.js and npm, from Debian, each installed only when
# missing (run as root; `.ci/run` runs it first). The README's test command needs it on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the e2e tests need, installed only when missing:
# - the AWS CLI: the machine image has CLI v1 (pyenv); Debian's v2 is /usr/bin/aws, and the DNS failover
#   test (test/e2e/dns-failover.test.ts) needs v2 itself, for its CRT transfer client;
# - dnsmasq (dnsmasq-base) answers that test's multi-value DNS name inside a network namespace;
# - iproute2 gives `ip netns` and `ss`;
# - chromium runs the dashboard test (test/e2e/dashboard.test.ts, driven by playwright-core);
# - the readiness test (test/e2e/health.test.ts) uses unshare, nsenter and mount from util-linux and
#   mount, which Debian always installs.
packages=()
if [ ! -x /usr/bin/aws ]; then packages+=(awscli); fi
if ! command -v dnsmasq >/dev/null 2>&1 && [ ! -x /usr/sbin/dnsmasq ]; then packages+=(dnsmasq-base); fi
if ! command -v ip >/dev/null 2>&1 || ! command -v ss >/dev/null 2>&1; then packages+=(iproute2); fi
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then packages+=(chromium); fi
# - the real-client matrix (test/clients/): s3cmd, rclone, s3fs (FUSE; brings fusermount) and boto3 for
#   Debian's own Python (/usr/bin/python3, which the boto3 test runs whatever python3 is first on PATH).
if [ ! -x /usr/bin/s3cmd ]; then packages+=(s3cmd); fi
if [ ! -x /usr/bin/rclone ]; then packages+=(rclone); fi
if [ ! -x /usr/bin/s3fs ]; then packages+=(s3fs); fi
if ! /usr/bin/python3 -c 'import boto3' >/dev/null 2>&1; then packages+=(python3-boto3); fi
if [ "${#packages[@]}" -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi

# Debian's prometheus gives the monitoring test (test/e2e/prometheus.test.ts) a real server and promtool.
# The package starts its own service where systemd runs; the test needs only the binaries.
if [ ! -x /usr/bin/prometheus ] || [ ! -x /usr/bin/promtool ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  if [ -d /run/systemd/system ]; then systemctl disable --now prometheus >/dev/null 2>&1 || true; fi
fi

# Ceph's RADOS Gateway, a real S3 for the tests (scripts/rgw.sh, test/support/rgw.ts), installed only when
# missing (~80 s): `npm test` starts one for the whole run and stops it at the end.
bash scripts/rgw.sh install

# The benchmark's peers and clients (nginx, wrk, curl), installed only when missing; before npm test,
# because the harness's own tests (test/unit/bench/) run wrk.
bash scripts/bench-setup.sh
