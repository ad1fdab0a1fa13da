# Runs the conformance test with --sabotage (one state value perturbed by
# 1e-3) and passes only if it failed for that reason: a normalised-error
# failure on ux. Any other outcome (a pass, a crash) fails this check.
#   cmake -DCOMMAND=<exe> -DARGS=<arg;arg> -P expect_nmse_failure.cmake
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND ${COMMAND} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
message("${out}${err}")
if(rc EQUAL 77)
  message(STATUS "backend not available here: nothing to sabotage")
  return()
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "sabotaged conformance run passed: the NMSE check does not bite")
endif()
if(NOT out MATCHES "FAIL [^\n]*: ux: normalised error [^\n]* exceeds 1e-10")
  message(FATAL_ERROR "sabotaged run failed (${rc}) but not with the ux normalised-error report")
endif()
message(STATUS "the perturbed state failed the NMSE check, as it must")
