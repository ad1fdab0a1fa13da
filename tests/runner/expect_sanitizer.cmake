# Runs a sanitizer test in sabotage mode and passes only when the sanitizer
# itself stopped it for the injected bug: a non-zero exit AND the test's
# note that the sabotage is on AND the sanitizer's report text (EXPECT, a
# regular expression). Any other failure fails this check.
#   cmake -DCOMMAND=<exe> -DARGS=<arg;arg> -DNOTE=<regex> -DEXPECT=<regex> -P expect_sanitizer.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${COMMAND} ${ARGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(LENGTH "${err}" err_length)
if(err_length GREATER 6000)
  string(SUBSTRING "${err}" 0 6000 err_shown)
  set(err_shown "${err_shown}\n[... ${err_length} characters of stderr in all]")
else()
  set(err_shown "${err}")
endif()
message("${out}")
message("${err_shown}")
if(rc EQUAL 0)
  message(FATAL_ERROR "sabotage run exited 0: the injected bug was not caught")
endif()
if(NOT err MATCHES "${NOTE}")
  message(FATAL_ERROR "sabotage run failed (${rc}) before reaching the sabotage point")
endif()
if(NOT err MATCHES "${EXPECT}")
  message(FATAL_ERROR "sabotage run failed (${rc}) but without the expected report: ${EXPECT}")
endif()
message(STATUS "the sanitizer caught the injected bug (exit ${rc}), as it must")
