# Runs bench_simd_phases briefly on a lattice model, a records model and a
# model with features, and checks its JSON: a row per instruction set and
# layout of the first two, each with both phases timed and one layout picked
# per instruction set; the feature model named as not measured. The
# records model goes by a name with double quotes, which the JSON must
# escape.
#   cmake -DBENCH=<exe> -DSOURCE=<source dir> -DJSON=<out.json> -P check_simd_phases.cmake
cmake_minimum_required(VERSION 3.25)
file(REMOVE ${JSON})
get_filename_component(work ${JSON} DIRECTORY)
set(odd_name "net \"1000x5000\".json")
configure_file(${SOURCE}/bench/net-1000x5000.json "${work}/${odd_name}" COPYONLY)
execute_process(COMMAND ${BENCH} --steps 20 --repeats 3 --json ${JSON}
                        ${SOURCE}/bench/mesh-20x30.json "${work}/${odd_name}"
                        ${SOURCE}/presets/bowed-string.json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "bench_simd_phases exited ${rc}")
endif()
if(NOT out MATCHES "bowed-string.json: not measured: it uses features")
  message(FATAL_ERROR "bench_simd_phases did not name the feature model as not measured")
endif()
file(READ ${JSON} text)
string(JSON n ERROR_VARIABLE err LENGTH "${text}" results)
if(err OR n LESS 3)
  message(FATAL_ERROR "bench_simd_phases JSON is not valid or has under 3 rows: ${err}")
endif()
math(EXPR last "${n} - 1")
set(picked "")
set(picked_layouts "")
set(wide_rows 0)
foreach(i RANGE ${last})
  foreach(key phase1_ns phase2_ns share_of_core)
    string(JSON value GET "${text}" results ${i} ${key})
    if(NOT value GREATER 0)
      message(FATAL_ERROR "bench_simd_phases row ${i} has no ${key}: '${value}'")
    endif()
  endforeach()
  string(JSON model GET "${text}" results ${i} model)
  string(JSON isa GET "${text}" results ${i} isa)
  string(JSON is_picked GET "${text}" results ${i} picked)
  string(JSON layout GET "${text}" results ${i} layout)
  if(isa MATCHES "^avx")
    set(wide_rows 1)
  endif()
  if(is_picked)
    list(APPEND picked "${model}/${isa}")
    list(APPEND picked_layouts "${model}/${layout}")
  endif()
endforeach()
# One picked layout per model and instruction set, and the mesh on the lattice
# where an instruction set has eight lanes or more.
list(LENGTH picked n_picked)
list(REMOVE_DUPLICATES picked)
list(LENGTH picked n_distinct)
if(NOT n_picked EQUAL n_distinct)
  message(FATAL_ERROR "a model and instruction set has two picked layouts: ${picked}")
endif()
if(NOT "${odd_name}/lattice" IN_LIST picked_layouts AND
   NOT "${odd_name}/records" IN_LIST picked_layouts)
  message(FATAL_ERROR "no row names the model '${odd_name}': ${picked_layouts}")
endif()
if(wide_rows AND NOT "mesh-20x30.json/lattice" IN_LIST picked_layouts)
  message(FATAL_ERROR "the mesh is not picked for the lattice: ${picked_layouts}")
endif()
message(STATUS "bench_simd_phases: ${n} rows, JSON valid")
