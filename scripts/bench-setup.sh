#!/usr/bin/env bash
# Installs what `npm run bench` runs besides Node: nginx (the caching proxy Kura is compared with), wrk
# (the small-object load generator) and curl (the large-object client), from Debian, when missing.
set -euo pipefail
packages=()
if [ ! -x /usr/sbin/nginx ] && ! command -v nginx >/dev/null 2>&1; then packages+=(nginx); fi
if ! command -v wrk >/dev/null 2>&1; then packages+=(wrk); fi
if ! command -v curl >/dev/null 2>&1; then packages+=(curl); fi
if [ "${#packages[@]}" -gt 0 ]; then
  # Installing nginx must not start the system's nginx on :80; the benchmark runs its own.
  policy=/usr/sbin/policy-rc.d
  added_policy=no
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && added_policy=yes
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
  if [ "$added_policy" = yes ]; then rm -f "$policy"; fi
fi
