# Runs a test in sabotage mode and passes only when it failed for the right
# reason: a non-zero exit, the note that the sabotage was on, and the
# expected FAIL line. A crash or an unrelated failure fails this check.
#   cmake -DCOMMAND=<exe> -DARGS=<arg;arg> -DEXPECT=<regex> -P expect_failure.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${COMMAND} ${ARGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message("${out}")
message("${err}")
if(rc EQUAL 0)
  message(FATAL_ERROR "sabotage run passed: the test does not notice the bug it guards against")
endif()
if(NOT out MATCHES "sabotage: ")
  message(FATAL_ERROR "sabotage run failed (${rc}) without reaching sabotage mode")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "sabotage run failed (${rc}), but not with '${EXPECT}'")
endif()
message(STATUS "sabotage caught as it must be (exit ${rc}): ${EXPECT}")
