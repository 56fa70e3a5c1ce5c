# Sourced by scripts/demo and scripts/test: installs what is missing (Debian
# packages, npm packages), then configures and builds corsd. Each step is
# skipped when its work is already done, so a second run takes seconds.

set -euo pipefail
CORSD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CORSD_BUILD="${CORSD_BUILD:-$CORSD_ROOT/build}"

corsd_apt_packages=(
  g++ cmake ninja-build ccache pkg-config curl
  libboost1.81-dev libcli11-dev libtomlplusplus-dev libpsl-dev publicsuffix libsystemd-dev libgtest-dev libgmock-dev
  libbenchmark-dev libssl-dev openssl libcpp-httplib-dev
  nginx-dev  # the nginx module (src/adapters/nginx) is built against Debian's nginx sources
  chromium firefox-esr nginx-light prometheus haproxy
  systemd socat man-db  # tests/operations/systemd.test.mjs: systemd's own tools play systemd's part
  wrk  # tests/operations/reload.test.mjs: reloads under wrk's load
  libnghttp2-dev nghttp2-client  # HTTP/2 (nghttp2), and nghttp and h2load for its tests and benchmark
  clang  # libFuzzer, for scripts/test-fuzz
)

corsd_log() { printf '\033[1mcorsd setup:\033[0m %s\n' "$*" >&2; }

corsd_install_apt() {
  local missing=()
  for p in "${corsd_apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # Node.js may come from Debian or from NodeSource (whose nodejs bundles npm
  # and conflicts with Debian's npm): the commands are what matter.
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  [ ${#missing[@]} -eq 0 ] && return 0
  corsd_log "installing Debian packages: ${missing[*]}"
  local sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Debian starts an nginx on port 80 when it installs one; tests/proxy/nginx.test.mjs runs its own.
  if [[ " ${missing[*]} " == *" nginx-light "* ]]; then
    "${sudo[@]}" systemctl disable --now nginx >/dev/null 2>&1 || "${sudo[@]}" pkill -x nginx || true
  fi
  # The same for Prometheus: the tests only need its promtool.
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    "${sudo[@]}" systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 ||
      "${sudo[@]}" pkill -x prometheus || true
  fi
  # And for HAProxy, which Debian starts as a service: tests/operations/scaling.test.mjs runs its own.
  if [[ " ${missing[*]} " == *" haproxy "* ]]; then
    "${sudo[@]}" systemctl disable --now haproxy >/dev/null 2>&1 ||
      "${sudo[@]}" service haproxy stop >/dev/null 2>&1 || true
  fi
}

corsd_install_npm() {
  # npm records what it installed in node_modules/.package-lock.json; when that
  # matches package-lock.json there is nothing to do.
  if [ -f "$CORSD_ROOT/node_modules/.package-lock.json" ] &&
     [ "$CORSD_ROOT/node_modules/.package-lock.json" -nt "$CORSD_ROOT/package-lock.json" ]; then
    return 0
  fi
  corsd_log "installing npm packages (jquery, playwright-core, puppeteer-core)"
  (cd "$CORSD_ROOT" && npm ci --no-audit --no-fund --loglevel=error)
}

corsd_build() {
  if [ ! -f "$CORSD_BUILD/build.ninja" ]; then
    corsd_log "configuring in $CORSD_BUILD"
    cmake -S "$CORSD_ROOT" -B "$CORSD_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  fi
  corsd_log "building"
  cmake --build "$CORSD_BUILD"
}

corsd_install_apt
corsd_install_npm
# bench/run builds its own Release tree and only wants the dependencies.
[ "${CORSD_SKIP_BUILD:-0}" = 1 ] || corsd_build
