#!/usr/bin/env bash
# Removes the EdgeBind service. Data in /var/lib/edgebind (caches, evidence, outbox) is kept unless --purge.
set -euo pipefail
[ "$(id -u)" -eq 0 ] || { echo "uninstall.sh: run as root (sudo)" >&2; exit 2; }
systemctl disable --now edgebind.service 2>/dev/null || true
rm -f /etc/systemd/system/edgebind.service
systemctl daemon-reload
rm -rf /opt/edgebind
if [ "${1:-}" = "--purge" ]; then
  rm -rf /etc/edgebind /var/lib/edgebind
  id edgebind >/dev/null 2>&1 && userdel edgebind
fi
echo "EdgeBind removed${1:+ ($1)}"
