#!/usr/bin/env bash
# Rewrites a shipped pipeline's relative data paths (demo-scenario/..., ../models/...) to absolute ones
# under ROOT, for a copy of the pipeline that lives somewhere else (install.sh puts it in /etc/edgebind).
# Usage: rewrite-paths.sh PIPELINE ROOT > OUT.yaml     (ROOT holds pipelines/ and models/)
set -euo pipefail
pipeline="$1"
root="${2%/}"
# Every YAML value, not only 'path:': queries name audio and image files the same way.
sed -e "s#\(: *\)demo-scenario/#\1$root/pipelines/demo-scenario/#g" \
    -e "s#\(: *\)\.\./models/#\1$root/models/#g" "$pipeline"
