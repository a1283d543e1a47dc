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
elseif(TASKWIRE_SANITIZE STREQUAL "address")
  target_compile_options(taskwire_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  target_link_options(taskwire_options INTERFACE -fsanitize=address,undefined)
elseif(NOT TASKWIRE_SANITIZE STREQUAL "")
  message(FATAL_ERROR "TASKWIRE_SANITIZE must be '', 'thread' or 'address', not '${TASKWIRE_SANITIZE}'")
endif()
