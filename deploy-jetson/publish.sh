#!/usr/bin/env bash
# Self-contained publishes of the edgebind command for Jetson (linux-arm64) and x64 Linux.
# Usage: deploy-jetson/publish.sh [RID...]   (default: linux-arm64 linux-x64) -> out/<rid>/
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rids=("$@"); [ ${#rids[@]} -gt 0 ] || rids=(linux-arm64 linux-x64)
for rid in "${rids[@]}"; do
  out="$root/out/$rid"
  rm -rf "$out"
  dotnet publish "$root/src/EdgeBind.Cli" -c Release -r "$rid" --self-contained true \
    -p:PublishSingleFile=false -p:DebugType=none -o "$out"
  printf '%s: %s in %s files (%s)\n' "$rid" "$(du -sh "$out" | cut -f1)" "$(find "$out" -type f | wc -l)" "$out"
done
