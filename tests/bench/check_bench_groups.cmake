# `sprung bench --groups`: only the groups named are measured, and a word
# that is not a group is refused by name before anything runs.
#   cmake -DSPRUNG=<exe> -DJSON=<out.json> -P check_bench_groups.cmake
cmake_minimum_required(VERSION 3.25)
file(REMOVE ${JSON})
execute_process(COMMAND ${SPRUNG} bench --quick --groups bench --backend simd,cpu --no-voices
                        --json ${JSON}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "sprung bench --groups bench exited ${rc}:\n${out}")
endif()
file(READ ${JSON} text)
string(JSON n LENGTH "${text}" results)
if(n EQUAL 0)
  message(FATAL_ERROR "sprung bench --groups bench measured nothing")
endif()
math(EXPR last "${n} - 1")
foreach(i RANGE ${last})
  string(JSON group GET "${text}" results ${i} group)
  string(JSON name GET "${text}" results ${i} name)
  if(NOT group STREQUAL "bench")
    message(FATAL_ERROR "--groups bench measured ${group}/${name}")
  endif()
endforeach()
# Both target models on both backends.
string(JSON targets LENGTH "${text}" targets)
if(NOT targets EQUAL 4)
  message(FATAL_ERROR "--groups bench on simd,cpu gave ${targets} target rows, not 4")
endif()

execute_process(COMMAND ${SPRUNG} bench --quick --groups bench,nope --json ${JSON}.refused
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "'nope' is not a group")
  message(FATAL_ERROR "--groups bench,nope: exit ${rc}, stderr:\n${err}")
endif()
if(EXISTS ${JSON}.refused OR out MATCHES "targets")
  message(FATAL_ERROR "--groups bench,nope measured before refusing")
endif()
message(STATUS "sprung bench --groups: ${n} rows, all of group bench; a bad group refused")
