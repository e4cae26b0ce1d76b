#!/usr/bin/env bash
# Installs a published EdgeBind (publish.sh output) as a systemd service.
# Usage: sudo ./install.sh [--replace-pipeline] [--root DIR] [PUBLISH_DIR] [PIPELINE_FILE]
#   --replace-pipeline  install PIPELINE_FILE over an existing /etc/edgebind/pipeline.yaml (the old one is
#                       kept as pipeline.yaml.old); without it an existing pipeline is kept, and install says so
#   --root DIR          install into DIR instead of / and leave systemd alone (tests, image builds)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
replace=0; root=""
while [ $# -gt 0 ]; do
  case "$1" in
    --replace-pipeline) replace=1; shift ;;
    --root) root="${2%/}"; shift 2 ;;
    --help|-h) sed -n '2,7p' "$0"; exit 0 ;;
    --*) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
arch="$(uname -m)"; case "$arch" in aarch64) rid=linux-arm64 ;; x86_64) rid=linux-x64 ;; *) echo "install.sh: unsupported architecture $arch" >&2; exit 2 ;; esac
publish="${1:-$here/../out/$rid}"
pipeline="${2:-$here/../pipelines/demo.yaml}"
[ -x "$publish/edgebind" ] || { echo "install.sh: $publish/edgebind not found: run deploy-jetson/publish.sh first" >&2; exit 2; }
[ -f "$pipeline" ] || { echo "install.sh: pipeline file $pipeline not found" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root (sudo)" >&2; exit 2; }
user_args=(); [ -n "$root" ] && user_args=(--root "$root")

# A dedicated system user in those of the sensor groups this machine has: a unit naming a group that does
# not exist fails to start (status 216/GROUP), and a board without I2C has no i2c group.
wanted_groups="video audio i2c dialout render"
groups=(); missing=()
for g in $wanted_groups; do
  if grep -q "^$g:" "$root/etc/group"; then groups+=("$g"); else missing+=("$g"); fi
done
grep -q '^edgebind:' "$root/etc/passwd" || useradd "${user_args[@]}" --system --user-group --home-dir /var/lib/edgebind --shell /usr/sbin/nologin edgebind
[ ${#groups[@]} -eq 0 ] || usermod "${user_args[@]}" -aG "$(IFS=,; echo "${groups[*]}")" edgebind
echo "install.sh: edgebind user in groups: ${groups[*]:-none}${missing[*]:+ (not on this machine: ${missing[*]})}"
uid="$(awk -F: '$1=="edgebind"{print $3}' "$root/etc/passwd")"
gid="$(awk -F: '$1=="edgebind"{print $4}' "$root/etc/passwd")"

install -d -m 0755 "$root/opt/edgebind" "$root/etc/edgebind" "$root/etc/systemd/system"
install -d -m 0750 -o "$uid" -g "$gid" "$root/var/lib/edgebind" "$root/var/lib/edgebind/cache" "$root/var/lib/edgebind/evidence" "$root/var/lib/edgebind/outbox"
cp -a "$publish/." "$root/opt/edgebind/"
[ -d "$here/../models" ] && cp -a "$here/../models" "$root/opt/edgebind/"
cp -a "$here/../pipelines" "$root/opt/edgebind/"
# The unit's Documentation= pages.
install -m 0644 "$here/../README.md" "$root/opt/edgebind/README.md"
install -m 0644 "$here/README.md" "$root/opt/edgebind/DEPLOY.md"

# Relative paths in a pipeline resolve against its own folder; the installed copy lives in /etc/edgebind,
# so the shipped pipelines' relative paths are rewritten to where install put their data.
target="$root/etc/edgebind/pipeline.yaml"
new="$(mktemp)"; trap 'rm -f "$new"' EXIT
"$here/rewrite-paths.sh" "$pipeline" /opt/edgebind > "$new"
if [ ! -f "$target" ]; then
  install -m 0644 "$new" "$target"
  echo "install.sh: installed $pipeline as /etc/edgebind/pipeline.yaml"
elif cmp -s "$new" "$target"; then
  echo "install.sh: /etc/edgebind/pipeline.yaml is already $pipeline"
elif [ $replace -eq 1 ]; then
  cp -a "$target" "$target.old"
  install -m 0644 "$new" "$target"
  echo "install.sh: replaced /etc/edgebind/pipeline.yaml with $pipeline (the previous one is pipeline.yaml.old)"
else
  echo "install.sh: kept the existing /etc/edgebind/pipeline.yaml, which differs from $pipeline; --replace-pipeline installs $pipeline instead"
fi
[ -f "$root/etc/edgebind/edgebind.env" ] || install -m 0640 "$here/edgebind.env" "$root/etc/edgebind/edgebind.env"

# The unit asks only for the groups that exist here.
sed -e "s/^SupplementaryGroups=.*/SupplementaryGroups=${groups[*]}/" "$here/edgebind.service" > "$root/etc/systemd/system/edgebind.service"
chmod 0644 "$root/etc/systemd/system/edgebind.service"
[ ${#groups[@]} -gt 0 ] || sed -i '/^SupplementaryGroups=/d' "$root/etc/systemd/system/edgebind.service"

if [ -n "$root" ]; then
  echo "install.sh: installed into $root (systemd not touched)"
  exit 0
fi
/opt/edgebind/edgebind validate /etc/edgebind/pipeline.yaml
systemctl daemon-reload
systemctl enable edgebind.service
# restart, not start: a re-run (new build or pipeline) must take effect.
systemctl restart edgebind.service
systemctl --no-pager status edgebind.service || true
