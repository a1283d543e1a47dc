# SPDX-License-Identifier: MIT
# Warnings and sanitizers ride on one INTERFACE target that every project target links.
add_library(taskwire_options INTERFACE)
target_compile_options(taskwire_options INTERFACE -Wall -Wextra -Wpedantic)
if(TASKWIRE_WERROR)
  target_compile_options(taskwire_options INTERFACE -Werror)
endif()

if(TASKWIRE_SANITIZE STREQUAL "thread")
  target_compile_options(taskwire_options INTERFACE -fsanitize=thread -fno-omit-frame-pointer)
  target_link_options(taskwire_options INTERFACE -fsanitize=thread)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # Asio's fenced blocks: GCC warns that TSan does not model fences. Asio's scheduler and
    # strand mutexes carry the real ordering, which TSan does see.
    target_compile_options(taskwire_options INTERFACE -Wno-tsan)
  endif()
elseif(TASKWIRE_SANITIZE STREQUAL "address")
  target_compile_options(taskwire_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(taskwire_options INTERFACE -fsanitize=address,undefined)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC's flow analysis gives false maybe-uninitialized warnings inside Beast and libstdc++
    # once ASan instruments them; the normal build keeps the warning as an error.
    target_compile_options(taskwire_options INTERFACE -Wno-maybe-uninitialized)
  endif()
elseif(TASKWIRE_SANITIZE STREQUAL "fuzzer")
  # libFuzzer builds (clang): coverage for the fuzzer plus ASan+UBSan; the fuzz targets alone
  # link the libFuzzer driver (tests/fuzz).
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TASKWIRE_SANITIZE=fuzzer needs clang (scripts/fuzz uses clang++-14)")
  endif()
  target_compile_options(taskwire_options INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer)
  target_link_options(taskwire_options INTERFACE -fsanitize=address,undefined)
elseif(NOT TASKWIRE_SANITIZE STREQUAL "")
  message(FATAL_ERROR
    "TASKWIRE_SANITIZE must be '', 'thread', 'address' or 'fuzzer', not '${TASKWIRE_SANITIZE}'")
endif()
