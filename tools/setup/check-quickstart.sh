#!/usr/bin/env bash
# Proves the README's first command on a clean headless Debian 12 that has only the .NET SDK: a minimal
# root file system made by Debian's debootstrap (no Docker Hub here), the host's .NET SDK bind-mounted
# read-only, a fresh clone of this repository's HEAD; then ./demo.sh must install what it needs and print
# an event. Prints the clone-to-first-event time. Needs root (chroot, mounts) and the Debian mirror.
#   tools/setup/check-quickstart.sh [ROOTFS]   ROOTFS: an existing debootstrap tree to use (changed in place)
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
. "$repo/tools/setup/debian.sh"
[ "$(id -u)" -eq 0 ] || { echo "check-quickstart: needs root (debootstrap, chroot, mounts)" >&2; exit 2; }
command -v debootstrap >/dev/null || apt_install debootstrap

work="$(mktemp -d /var/tmp/edgebind-quickstart.XXXXXX)"
root="${1:-$work/root}"
dotnet_dir="$(dirname "$(readlink -f "$(command -v dotnet)")")"
mounts=()
cleanup() {
  local i
  for ((i=${#mounts[@]}-1; i>=0; i--)); do umount -R "${mounts[$i]}" 2>/dev/null || umount -R -l "${mounts[$i]}" || true; done
  # Never delete through a mount that is still there (the SDK's bind mount is the host's own SDK).
  if grep -qF " $work" /proc/mounts || grep -qF " $root/" /proc/mounts; then
    echo "check-quickstart: $work still has mounts; left in place" >&2
    return
  fi
  rm -rf "$work"
}
trap cleanup EXIT

t0=$SECONDS
if [ ! -d "$root/usr" ]; then
  # What a "Debian 12 with only the .NET SDK" has: minbase plus the SDK's own dependencies and git.
  debootstrap --variant=minbase --include=ca-certificates,git,libicu72,libssl3,zlib1g bookworm "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  echo "check-quickstart: debootstrap took $((SECONDS - t0)) s"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
# The machine's own extra TLS roots (where this runs, an egress proxy's CA that every machine on its network
# trusts) go in too, so NuGet is reached the way the host reaches it; they are the network's, not the demo's.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" /usr/sbin/update-ca-certificates >/dev/null 2>&1
fi
mkdir -p "$root/usr/share/dotnet" "$root/src"
for m in proc sys dev; do mkdir -p "$root/$m"; done
mount -t proc proc "$root/proc"; mounts+=("$root/proc")
mount --rbind /sys "$root/sys"; mount --make-rslave "$root/sys"; mounts+=("$root/sys")
mount --rbind /dev "$root/dev"; mount --make-rslave "$root/dev"; mounts+=("$root/dev")
mount --bind "$dotnet_dir" "$root/usr/share/dotnet"; mount -o remount,bind,ro "$root/usr/share/dotnet"; mounts+=("$root/usr/share/dotnet")
ln -sf /usr/share/dotnet/dotnet "$root/usr/bin/dotnet"
git -C "$repo" bundle create "$root/src/edgebind.bundle" HEAD >/dev/null 2>&1

# Inside: clone, then the README's first command, stopped after 30 s of demo; events are the stdout lines.
cat > "$root/src/quickstart.sh" <<'INNER'
#!/bin/bash
set -eu
export HOME=/root DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
cd /src
start=$(date +%s%N)
git -c advice.detachedHead=false clone -q edgebind.bundle edgebind
cd edgebind
./demo.sh pipelines/demo.yaml --duration 30 > /src/events.jsonl 2> /src/stderr.log &
pid=$!
while kill -0 $pid 2>/dev/null; do
  if grep -q '"kind":"event"' /src/events.jsonl; then
    echo "first event $(( ($(date +%s%N) - start) / 1000000 )) ms after git clone started"
    break
  fi
  sleep 0.2
done
wait $pid; rc=$?
echo "demo exit $rc, $(wc -l < /src/events.jsonl) event lines"
exit $rc
INNER
chmod +x "$root/src/quickstart.sh"
t1=$SECONDS
rc=0
chroot "$root" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin /src/quickstart.sh || rc=$?
echo "check-quickstart: clone to end of the 30 s demo took $((SECONDS - t1)) s"
if [ $rc -ne 0 ] || ! grep -q '"kind":"event"' "$root/src/events.jsonl" || grep -qv '^{' "$root/src/events.jsonl"; then
  echo "check-quickstart: FAILED (exit $rc, or no event, or stdout lines that are not JSON); demo stderr:" >&2
  tail -30 "$root/src/stderr.log" >&2
  exit 1
fi
if grep -q "cannot load\|DllNotFoundException\|Unhandled exception" "$root/src/stderr.log"; then
  echo "check-quickstart: FAILED: native library errors in the demo's stderr" >&2
  grep "cannot load\|DllNotFoundException\|Unhandled exception" "$root/src/stderr.log" | head -5 >&2
  exit 1
fi
echo "check-quickstart: passed"
