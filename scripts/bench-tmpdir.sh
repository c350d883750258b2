#!/usr/bin/env bash
# A journaled ext4 file system for the benchmark's volumes, on a loop device: for machines whose own
# temporary directory is on ext4 without a journal, which makes Kura's cold reads cost about 2.5 times
# the CPU (docs/volume.md, "A local disk's file system"). Needs root (mkfs, mount).
#
#   scripts/bench-tmpdir.sh DIR [SIZE]    make DIR.img (SIZE, default 24G, sparse), mount it at DIR
#   TMPDIR=DIR npm run bench              the run's volumes, nginx's cache and temp files go there
#   scripts/bench-tmpdir.sh --remove DIR  unmount DIR and delete DIR.img
set -euo pipefail
if [ "${1:-}" = --remove ]; then
  dir=${2:?usage: $0 --remove DIR}
  umount "$dir"
  rm -f "$dir.img"
  rmdir "$dir"
  exit 0
fi
dir=${1:?usage: $0 DIR [SIZE]} size=${2:-24G}
if mountpoint -q "$dir"; then
  echo "$dir is already a mount point" >&2
  exit 1
fi
mkdir -p "$dir"
truncate -s "$size" "$dir.img"
mkfs.ext4 -q -F "$dir.img"
mount -o loop "$dir.img" "$dir"
chmod 1777 "$dir"
echo "TMPDIR=$dir"
