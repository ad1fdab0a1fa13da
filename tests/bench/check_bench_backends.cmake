# `sprung bench --backend`: a name this build lacks, a device past the
# backend's count or not a number, and a backend that cannot run here are
# each refused by name (exit 2) before anything is measured or written.
#   cmake -DSPRUNG=<exe> -DJSON=<out.json> -P check_bench_backends.cmake
cmake_minimum_required(VERSION 3.25)
set(cases
    "nope => --backend 'nope': unknown backend \\(this build has: auto, simd, cpu"
    "simdd => --backend 'simdd': unknown backend \\(did you mean 'simd'\\?\\)"
    "auto:1 => --backend 'auto:1': auto takes no device number"
    "simd,cpu:1 => --backend cpu:1: backend cpu has only device 0 here"
    "cpu:x => --backend cpu:x: backend cpu has only device 0 here"
    "simd:99 => --backend simd:99: backend simd has (only device 0|devices 0 to [0-9]+) here")
# A backend this build has but this machine cannot run (no CUDA driver, say).
execute_process(COMMAND ${SPRUNG} backends OUTPUT_VARIABLE listing)
string(REGEX MATCH "(^|\n)([a-z]+) +missing" missing "${listing}")
if(missing)
  string(REGEX REPLACE "(^|\n)([a-z]+) +missing" "\\2" name "${missing}")
  list(APPEND cases "${name},cpu => backend ${name} cannot run here: ")
endif()
foreach(case IN LISTS cases)
  string(REPLACE " => " ";" parts "${case}")
  list(GET parts 0 spelling)
  list(GET parts 1 expected)
  file(REMOVE ${JSON})
  execute_process(COMMAND ${SPRUNG} bench --quick --groups bench --no-voices
                          --backend ${spelling} --json ${JSON}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 2 OR NOT err MATCHES "${expected}")
    message(FATAL_ERROR "--backend ${spelling}: exit ${rc} (expected 2), stderr:\n${err}\n"
                        "expected to match: ${expected}")
  endif()
  if(EXISTS ${JSON} OR out MATCHES "not measured|targets")
    message(FATAL_ERROR "--backend ${spelling} measured before refusing:\n${out}")
  endif()
  message(STATUS "--backend ${spelling}: ${err}")
endforeach()
