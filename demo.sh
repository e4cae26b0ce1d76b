#!/usr/bin/env bash
# The quickstart: installs the Debian libraries the demo's native parts need when they are missing (a
# headless Debian 12 with only the .NET SDK lacks GTK 3, which OpenCV's native library links), then runs
# the demo pipeline. Arguments go to `edgebind run` (default: pipelines/demo.yaml).
set -euo pipefail
cd "$(dirname "$0")"
. tools/setup/debian.sh

mapfile -t missing < <(opencv_missing_packages)
# stdout is the demo's events only (`./demo.sh | jq` works): installing talks on stderr.
apt_install "${missing[@]}" >&2

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
[ $# -gt 0 ] || set -- pipelines/demo.yaml
# exec: Ctrl-C and SIGTERM reach edgebind directly, and its exit code (130 interrupted, 143 terminated) is ours.
exec dotnet run -c Release --project src/EdgeBind.Cli -- run "$@"
