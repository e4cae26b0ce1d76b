#!/usr/bin/env bash
# Installs what the tests need when it is missing, then runs every test.
# Works on a fresh Debian 12 machine with only the .NET SDK and git.
set -euo pipefail
cd "$(dirname "$0")"
. tools/setup/debian.sh

mapfile -t need_apt < <(opencv_missing_packages)
have() { command -v "$1" >/dev/null 2>&1; }
pyhas() { /usr/bin/python3 -c "import $1" >/dev/null 2>&1; }
have ffmpeg || need_apt+=(ffmpeg)
have sox || need_apt+=(sox)
have espeak-ng || need_apt+=(espeak-ng)
have socat || need_apt+=(socat)
have mosquitto || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
have chromium || need_apt+=(chromium)
have node || need_apt+=(nodejs npm)
have systemd-analyze || need_apt+=(systemd)
# CMYK JPEGs decode through libjpeg-turbo's TurboJPEG API (the conversion PIL does; OpenCV's differs).
[ -e /usr/lib/x86_64-linux-gnu/libturbojpeg.so.0 ] || [ -e /usr/lib/aarch64-linux-gnu/libturbojpeg.so.0 ] || need_apt+=(libturbojpeg0)
[ -e /usr/lib/x86_64-linux-gnu/libasound.so.2 ] || [ -e /usr/lib/aarch64-linux-gnu/libasound.so.2 ] || need_apt+=(libasound2)
[ -x /usr/bin/python3 ] || need_apt+=(python3)
pyhas numpy || need_apt+=(python3-numpy)
pyhas torch || need_apt+=(python3-torch)
pyhas torchaudio || need_apt+=(python3-torchaudio)
pyhas torchvision || need_apt+=(python3-torchvision)
pyhas onnx || need_apt+=(python3-onnx)
pyhas PIL || need_apt+=(python3-pil)
pyhas regex || need_apt+=(python3-regex)
pyhas scipy || need_apt+=(python3-scipy)
apt_install "${need_apt[@]}"

# The MCAP cross-check reads files with the independent @mcap/core reader.
if [ -f tools/mcap-check/package.json ] && [ ! -d tools/mcap-check/node_modules ]; then
  (cd tools/mcap-check && npm ci --no-audit --no-fund)
fi

export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

dotnet restore EdgeBind.sln
dotnet build EdgeBind.sln -c Release --no-restore

status=0
log="$(mktemp)"
failed="$(mktemp)"
trap 'rm -f "$log" "$failed"' EXIT
# Python tool tests (model generator, exporter, fixtures) use Debian's python, never a venv.
for t in $(find tools -name 'test_*.py' -not -path '*/node_modules/*' | sort); do
  echo "== python: $t"
  if ! (cd "$(dirname "$t")" && /usr/bin/python3 -m unittest -v "$(basename "$t" .py)") 2>&1 | tee -a "$log"; then
    echo "  $t" >> "$failed"
    status=1
  fi
done

# Each project runs once: a test that fails only sometimes is a race to find, not a run to repeat.
for proj in tests/*.Tests/*.Tests.csproj; do
  echo "== dotnet test: $proj"
  attempt="$(mktemp)"
  if ! dotnet test "$proj" -c Release --no-build --logger "console;verbosity=normal" 2>&1 | tee "$attempt"; then
    status=1
    grep -E '^ +Failed [^ ]+ \[' "$attempt" | sed -E 's/^ +Failed ([^ ]+) .*/  \1/' >> "$failed" || true
    grep -qE '^ +Failed [^ ]+ \[' "$attempt" || echo "  $proj (no test failed: the run itself did)" >> "$failed"
  fi
  cat "$attempt" >> "$log"
  rm -f "$attempt"
done

# The README's first command on a clean Debian 12 with only the .NET SDK (a debootstrap chroot): in CI, or
# when asked, since it needs root and takes minutes (debootstrap, NuGet restore and build inside).
if [ "${CI:-}" = "true" ] || [ "${EDGEBIND_QUICKSTART_CHECK:-}" = "1" ]; then
  echo "== quickstart check: tools/setup/check-quickstart.sh"
  if ! tools/setup/check-quickstart.sh 2>&1 | tee -a "$log"; then
    echo "  tools/setup/check-quickstart.sh" >> "$failed"
    status=1
  fi
fi

if [ -s "$failed" ]; then
  echo "test.sh: failed:"
  cat "$failed"
fi

# One closing line over every runner: dotnet's "Passed: N" / "Failed: N" / "Skipped: N" and unittest's "Ran N tests".
awk '
  /^ +Passed: +[0-9]+$/ { p += $2 }
  /^ +Failed: +[0-9]+$/ { f += $2 }
  /^ +Skipped: +[0-9]+$/ { s += $2 }
  /^Ran [0-9]+ tests? in/ { ran = $2 }
  /^(OK|FAILED)/ && ran != "" { fails = 0; if (match($0, /failures=[0-9]+/)) fails += substr($0, RSTART + 9, RLENGTH - 9);
                                if (match($0, /errors=[0-9]+/)) fails += substr($0, RSTART + 7, RLENGTH - 7);
                                p += ran - fails; f += fails; ran = "" }
  END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit $status
