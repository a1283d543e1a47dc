# SPDX-License-Identifier: MIT
# Installs the Debian 12 packages the build needs, only those missing, with one apt-get update.
# Sourced by scripts/run and scripts/test; keep this list in step with the Dockerfile.

TASKWIRE_BUILD_PACKAGES=(
  g++ cmake ninja-build ccache
  libboost1.81-dev nlohmann-json3-dev libssl-dev libsqlite3-dev
)
TASKWIRE_TEST_PACKAGES=(libgtest-dev)

ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "taskwire: installing missing Debian packages: ${missing[*]}" >&2
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "taskwire: need root (or sudo) to install: ${missing[*]}" >&2; return 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The dashboard's browser test (tests/web): Debian's Chromium, Node.js with npm (one already on
# PATH will do, such as NodeSource's, which bundles npm; else Debian's nodejs and npm), and
# playwright-core from the npm registry, pinned by tests/web/package-lock.json.
ensure_web_test_tools() {
  ensure_packages chromium
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    ensure_packages nodejs npm
  fi
  if [ ! -d tests/web/node_modules/playwright-core ]; then
    echo "taskwire: installing playwright-core for the browser test (npm ci in tests/web)" >&2
    (cd tests/web && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
