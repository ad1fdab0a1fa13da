# Runs a RealtimeSanitizer test in sabotage mode and passes only when the
# sanitizer itself stopped it: a non-zero exit AND its report on stderr AND
# the test's note that the sabotage was reached. Any other failure (a crash,
# a preset that does not load) fails this check instead of passing it.
#   cmake -DCOMMAND=<exe> -DARGS=<arg;arg> -P expect_violation.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${COMMAND} ${ARGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
message("${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "sabotage run exited 0: the injected allocation was not caught")
endif()
if(NOT err MATCHES "sabotage: allocating inside the real-time section")
  message(FATAL_ERROR "sabotage run failed (${rc}) before reaching the sabotage point")
endif()
if(NOT err MATCHES "Real-time violation: intercepted call to real-time unsafe function `malloc`")
  message(FATAL_ERROR "sabotage run failed (${rc}) but not with a RealtimeSanitizer malloc report")
endif()
message(STATUS "RealtimeSanitizer caught the injected allocation (exit ${rc}), as it must")
