#!/usr/bin/env bash
# Runs deploy-jetson's unit under a real systemd: boots ROOTFS (a Debian 12 tree with systemd installed)
# with systemd-nspawn, installs EdgeBind there with deploy-jetson/install.sh, checks the service becomes
# active (Type=notify: READY=1), then stops the daemon's progress (SIGSTOP) and checks that systemd's
# watchdog restarts it. Needs root and systemd-nspawn (Debian's systemd-container).
#   tools/setup/check-systemd.sh ROOTFS PUBLISH_DIR [PIPELINE]
# PUBLISH_DIR: an edgebind build (publish.sh output, or a framework-dependent build: the host's .NET is
# bind-mounted at /usr/share/dotnet).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
root="$(cd "$1" && pwd)"; publish="$(cd "$2" && pwd)"; pipeline="${3:-pipelines/demo.yaml}"
dotnet_dir="$(dirname "$(readlink -f "$(command -v dotnet)")")"
log="$(mktemp)"
# --keep-unit --register=no: the host need not run systemd itself (where this was written, PID 1 is not
# systemd and there is no system bus); the container's systemd is the one under test.
systemd-nspawn --quiet --keep-unit --register=no --console=passive -D "$root" -b \
  --bind-ro="$dotnet_dir:/usr/share/dotnet" --bind-ro="$repo:/src/edgebind" --bind-ro="$publish:/src/publish" >"$log" 2>&1 &
nspawn=$!
stop() { kill "$nspawn" 2>/dev/null || true; wait "$nspawn" 2>/dev/null || true; rm -f "$log"; }
trap stop EXIT
leader=""
for _ in $(seq 1 60); do
  leader="$(pgrep -P "$nspawn" -x systemd || true)"
  [ -n "$leader" ] && break
  sleep 1
done
[ -n "$leader" ] || { echo "check-systemd: systemd did not boot in the container:" >&2; cat "$log" >&2; exit 1; }
inside() { nsenter --target "$leader" --mount --uts --ipc --pid -- /usr/bin/env -i PATH=/usr/bin:/bin:/usr/sbin:/sbin "$@"; }
for _ in $(seq 1 60); do
  state="$(inside systemctl is-system-running 2>/dev/null || true)"
  case "$state" in running|degraded) break ;; esac
  sleep 1
done
echo "check-systemd: container systemd is $state"

inside /src/edgebind/deploy-jetson/install.sh /src/publish "/src/edgebind/$pipeline"
for _ in $(seq 1 180); do
  [ "$(inside systemctl is-active edgebind.service || true)" = active ] && break
  sleep 1
done
inside systemctl --no-pager status edgebind.service | head -12
[ "$(inside systemctl is-active edgebind.service)" = active ] || { echo "check-systemd: edgebind.service did not become active" >&2; inside journalctl -u edgebind --no-pager | tail -30 >&2; exit 1; }
first="$(inside systemctl show -p MainPID --value edgebind.service)"
restarts0="$(inside systemctl show -p NRestarts --value edgebind.service)"
echo "check-systemd: active, main PID $first (inside the container), restarts $restarts0; stopping its progress (SIGSTOP)"
inside kill -STOP "$first"
t0=$SECONDS
for _ in $(seq 1 120); do
  pid="$(inside systemctl show -p MainPID --value edgebind.service)"
  restarts="$(inside systemctl show -p NRestarts --value edgebind.service)"
  [ "$restarts" -gt "$restarts0" ] && [ "$pid" != "$first" ] && [ "$pid" != 0 ] && break
  sleep 1
done
inside journalctl -u edgebind --no-pager | grep -iE "watchdog|Main process exited|Scheduled restart|Started|notified systemd" | tail -8
if [ "$restarts" -gt "$restarts0" ]; then
  echo "check-systemd: passed: watchdog restart after $((SECONDS - t0)) s (main PID $first -> $pid, NRestarts $restarts0 -> $restarts)"
else
  echo "check-systemd: FAILED: no restart within 120 s of the stall" >&2; exit 1
fi
