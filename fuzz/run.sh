#!/usr/bin/env bash
# Fuzzes EdgeBind's readers with SharpFuzz + AFL++, one target after another, each for a set time.
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]     (default 600 s; targets: wav npy imu-line mcap outbox yaml)
# Needs Debian's afl++ (installed when missing) and SharpFuzz.CommandLine (a NuGet tool, restored into
# fuzz/.tools). Findings go to fuzz/findings/TARGET/default/{crashes,hangs}; replay one with
#   dotnet fuzz/out/EdgeBind.Fuzz.dll TARGET FILE
# The last lines printed are one summary line per target: executions, crashes, hangs.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(wav npy imu-line mcap outbox yaml)

if ! command -v afl-fuzz >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq afl++
fi
if [ ! -x fuzz/.tools/sharpfuzz ]; then
  dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path fuzz/.tools
fi

rm -rf fuzz/out
dotnet publish fuzz/EdgeBind.Fuzz -c Release -o fuzz/out --nologo -v quiet
# Coverage comes from the readers' assemblies (and the YAML parser); the harness itself stays plain.
for dll in EdgeBind.Core EdgeBind.Preprocessing EdgeBind.Sinks EdgeBind.Devices.Imu EdgeBind.Devices.Replay YamlDotNet; do
  fuzz/.tools/sharpfuzz "fuzz/out/$dll.dll"
done

export AFL_SKIP_BIN_CHECK=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1
summary=()
for t in "${targets[@]}"; do
  out="fuzz/findings/$t"
  rm -rf "$out"; mkdir -p fuzz/findings
  echo "== fuzzing $t for $seconds s"
  # -t: a .NET start-up is slow; a single input taking over 5 s is reported as a hang.
  nice -n 19 afl-fuzz -i "fuzz/corpus/$t" -o "$out" -t 5000 -m none -V "$seconds" -- dotnet fuzz/out/EdgeBind.Fuzz.dll "$t" > "$out.log" 2>&1 || {
    echo "afl-fuzz failed for $t; see $out.log"; tail -20 "$out.log"; }
  stats="$out/default/fuzzer_stats"
  if [ -f "$stats" ]; then
    execs=$(awk -F' *: *' '$1=="execs_done"{print $2}' "$stats")
    crashes=$(awk -F' *: *' '$1=="saved_crashes"||$1=="unique_crashes"{print $2}' "$stats" | head -1)
    hangs=$(awk -F' *: *' '$1=="saved_hangs"||$1=="unique_hangs"{print $2}' "$stats" | head -1)
    paths=$(awk -F' *: *' '$1=="corpus_count"||$1=="paths_total"{print $2}' "$stats" | head -1)
    summary+=("$t: ${seconds} s, $execs executions, $crashes crashes, $hangs hangs, $paths corpus entries")
  else
    summary+=("$t: no fuzzer_stats (afl-fuzz did not run; see $out.log)")
  fi
done
printf '%s\n' "${summary[@]}"
