# Runs a test in sabotage mode (the bug it guards against put back) and
# passes only when the test failed for that reason: a non-zero exit, the
# test's note that the sabotage ran (NOTE), and the expected report
# (EXPECT: the sanitizer's, or the test's own FAIL line). A crash or any
# other failure fails this check instead of passing it. Every sabotage twin
# in the suite goes through this one script.
#   cmake -DCOMMAND=<exe> -DARGS=<arg;arg> [-DNOTE=<regex>] -DEXPECT=<regex>
#         [-DSKIP_CODE=<n>] -P expect_sabotage.cmake
# NOTE defaults to "sabotage: "; both are regular expressions over stdout and
# stderr. SKIP_CODE: the exit code with which the test says it cannot run
# here (a missing device); that passes with a message.
cmake_minimum_required(VERSION 3.25)
if(NOT DEFINED NOTE)
  set(NOTE "sabotage: ")
endif()
execute_process(COMMAND ${COMMAND} ${ARGS}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
# Sanitizer reports can be long; show their start.
string(LENGTH "${all}" all_length)
if(all_length GREATER 8000)
  string(SUBSTRING "${all}" 0 8000 shown)
  message("${shown}\n[... ${all_length} characters of output in all]")
else()
  message("${all}")
endif()
if(DEFINED SKIP_CODE AND rc EQUAL SKIP_CODE)
  message(STATUS "the test cannot run here: nothing to sabotage")
  return()
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "sabotage run passed: the test does not notice the bug it guards against")
endif()
if(NOT all MATCHES "${NOTE}")
  message(FATAL_ERROR "sabotage run failed (${rc}) before reaching the sabotage point")
endif()
if(NOT all MATCHES "${EXPECT}")
  message(FATAL_ERROR "sabotage run failed (${rc}) but not with the expected report: ${EXPECT}")
endif()
message(STATUS "the injected bug was caught (exit ${rc}), as it must be")
