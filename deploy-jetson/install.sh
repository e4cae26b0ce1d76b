#!/usr/bin/env bash
# Installs a published EdgeBind (publish.sh output) as a systemd service.
# Usage: sudo ./install.sh [PUBLISH_DIR] [PIPELINE_FILE]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
arch="$(uname -m)"; case "$arch" in aarch64) rid=linux-arm64 ;; x86_64) rid=linux-x64 ;; *) echo "install.sh: unsupported architecture $arch" >&2; exit 2 ;; esac
publish="${1:-$here/../out/$rid}"
pipeline="${2:-$here/../pipelines/demo.yaml}"
[ -x "$publish/edgebind" ] || { echo "install.sh: $publish/edgebind not found: run deploy-jetson/publish.sh first" >&2; exit 2; }
[ -f "$pipeline" ] || { echo "install.sh: pipeline file $pipeline not found" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 2; }

# A dedicated system user in the groups that own the sensors.
id edgebind >/dev/null 2>&1 || useradd --system --home-dir /var/lib/edgebind --shell /usr/sbin/nologin edgebind
for g in video audio i2c dialout render; do getent group "$g" >/dev/null && usermod -aG "$g" edgebind; done

install -d -m 0755 /opt/edgebind /etc/edgebind
install -d -m 0750 -o edgebind -g edgebind /var/lib/edgebind /var/lib/edgebind/cache /var/lib/edgebind/evidence /var/lib/edgebind/outbox
cp -a "$publish/." /opt/edgebind/
[ -d "$here/../models" ] && cp -a "$here/../models" /opt/edgebind/
cp -a "$here/../pipelines" /opt/edgebind/
# Relative paths in a pipeline resolve against its own folder; the installed copy lives in /etc/edgebind,
# so the shipped pipelines' relative paths are rewritten to where install put their data.
if [ ! -f /etc/edgebind/pipeline.yaml ]; then
  "$here/rewrite-paths.sh" "$pipeline" /opt/edgebind > /etc/edgebind/pipeline.yaml
  chmod 0644 /etc/edgebind/pipeline.yaml
fi
[ -f /etc/edgebind/edgebind.env ] || install -m 0640 "$here/edgebind.env" /etc/edgebind/edgebind.env
install -m 0644 "$here/edgebind.service" /etc/systemd/system/edgebind.service

/opt/edgebind/edgebind validate /etc/edgebind/pipeline.yaml
systemctl daemon-reload
systemctl enable --now edgebind.service
systemctl --no-pager status edgebind.service || true
