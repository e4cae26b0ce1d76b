# Sourced by demo.sh and test.sh: installing Debian packages on a machine that may be busy with apt.

# OpenCV's native library (libOpenCvSharpExtern.so from OpenCvSharp4.official.runtime.linux-x64) links GTK 3
# for highgui; the demo never opens a window but cannot load OpenCV without these. One soname=package pair
# per line, the same pairs as devices/EdgeBind.Devices.Video/OpenCvNative.cs (a test keeps them equal).
opencv_sonames="
libgtk-3.so.0=libgtk-3-0
libgdk-3.so.0=libgtk-3-0
libpangocairo-1.0.so.0=libpangocairo-1.0-0
libpango-1.0.so.0=libpango-1.0-0
libatk-1.0.so.0=libatk1.0-0
libcairo-gobject.so.2=libcairo-gobject2
libcairo.so.2=libcairo2
libgdk_pixbuf-2.0.so.0=libgdk-pixbuf-2.0-0
libgio-2.0.so.0=libglib2.0-0
libgobject-2.0.so.0=libglib2.0-0
libglib-2.0.so.0=libglib2.0-0
libfreetype.so.6=libfreetype6
libharfbuzz.so.0=libharfbuzz0b
libdrm.so.2=libdrm2
libatomic.so.1=libatomic1
libX11.so.6=libx11-6
"

# Prints the Debian packages of OpenCV's dependencies that the dynamic linker cannot find, one per line.
opencv_missing_packages() {
  local cache pair
  cache="$(/sbin/ldconfig -p 2>/dev/null || true)"
  for pair in $opencv_sonames; do
    grep -qF $'\t'"${pair%%=*} (" <<<"$cache" || echo "${pair#*=}"
  done | sort -u
}

# apt-get with the dpkg and list locks waited for (up to 10 min) instead of failing with exit 100 in
# seconds: a fresh boot often runs unattended-upgrades or apt-daily, and CI machines run other apt jobs.
# DPkg::Lock::Timeout covers dpkg's locks; the loop covers the package lists' lock of `apt-get update`,
# which that option does not.
apt_get() {
  local sudo="" deadline=$((SECONDS + 600)) out rc
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  while true; do
    rc=0
    out="$($sudo env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@" 2>&1)" || rc=$?
    if [ $rc -eq 0 ]; then
      printf '%s\n' "$out" | tail -n 3
      return 0
    fi
    if grep -qE 'Could not get lock|Unable to acquire the dpkg|Unable to lock directory' <<<"$out" && [ $SECONDS -lt $deadline ]; then
      echo "apt-get $1: another apt or dpkg holds the lock; waiting" >&2
      sleep 5
      continue
    fi
    printf '%s\n' "$out" >&2
    return $rc
  done
}

# Installs the given Debian packages (apt-get update first, once per call).
apt_install() {
  [ $# -gt 0 ] || return 0
  echo "installing Debian packages: $*"
  apt_get update -q
  apt_get install -y -q --no-install-recommends "$@"
}
