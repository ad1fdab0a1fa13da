# Runs a test in sabotage mode and passes only when the injected bug was
# reported for what it is: a non-zero exit, the test's note that the
# sabotage ran ("sabotage: ..."), and the expected report (REPORT, a regex
# over stdout and stderr: the sanitizer's, or the test's own check).
#   cmake -DCOMMAND=<exe> -DARGS=<arg;arg> -DREPORT=<regex> -P expect_sanitizer.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${COMMAND} ${ARGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
message("${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "sabotage run exited 0: the injected bug was not caught")
endif()
if(NOT "${out}${err}" MATCHES "sabotage: ")
  message(FATAL_ERROR "sabotage run failed (${rc}) before reaching the sabotage")
endif()
if(NOT "${out}${err}" MATCHES "${REPORT}")
  message(FATAL_ERROR "sabotage run failed (${rc}) but without the expected report '${REPORT}'")
endif()
message(STATUS "the injected bug was caught (exit ${rc}), as it must")
