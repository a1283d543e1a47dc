# SPDX-License-Identifier: MIT
# The one way the test builds are configured, shared by scripts/test and scripts/soak.
# Sets $build to the build directory for a sanitizer ('', thread, address) and configures it.
configure_test_build() {
  local sanitize=$1
  case "$sanitize" in
    "") build=build/test ;;
    thread) build=build/tsan ;;
    address) build=build/asan ;;
    *) echo "$(basename "$0"): --sanitize takes thread or address, not '$sanitize'" >&2; exit 2 ;;
  esac
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTASKWIRE_WERROR=ON \
    -DTASKWIRE_SANITIZE="$sanitize" >/dev/null
}

export_sanitizer_options() {
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}"
  export ASAN_OPTIONS="halt_on_error=1 detect_leaks=1 ${ASAN_OPTIONS:-}"
  export UBSAN_OPTIONS="halt_on_error=1 print_stacktrace=1 ${UBSAN_OPTIONS:-}"
}
