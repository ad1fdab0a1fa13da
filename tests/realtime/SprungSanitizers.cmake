# Helpers for the sanitizer-based tests (tests/realtime, tests/fuzz).

# sprung_check_tsan(<var>): sets <var> (cached) to whether the C compiler
# links a program with -fsanitize=thread.
function(sprung_check_tsan out_var)
  include(CheckCSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS "-fsanitize=thread")
  set(CMAKE_REQUIRED_LINK_OPTIONS "-fsanitize=thread")
  check_c_source_compiles("int main(void) { return 0; }" SPRUNG_HAVE_TSAN)
  set(${out_var} ${SPRUNG_HAVE_TSAN} PARENT_SCOPE)
endfunction()

# sprung_find_rtsan(<var>): sets <var> to the path of the RealtimeSanitizer
# runtime archive of the C compiler (clang's libclang_rt.rtsan), after
# checking that a program linked with it builds; empty, with a STATUS
# message saying why, when the compiler is not clang or the runtime is
# missing (Debian: libclang-rt-<version>-dev).
function(sprung_find_rtsan out_var)
  set(${out_var} "" PARENT_SCOPE)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(STATUS "RealtimeSanitizer tests skipped: the C compiler is "
                   "${CMAKE_C_COMPILER_ID}, not clang (configure with "
                   "-DCMAKE_C_COMPILER=clang-19)")
    return()
  endif()
  if(DEFINED CACHE{SPRUNG_RTSAN_RUNTIME})
    set(${out_var} "${SPRUNG_RTSAN_RUNTIME}" PARENT_SCOPE)
    return()
  endif()
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-resource-dir
                  OUTPUT_VARIABLE resource_dir OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE rc)
  set(arch ${CMAKE_SYSTEM_PROCESSOR})
  set(runtime NOTFOUND)
  if(rc EQUAL 0)
    find_file(runtime NAMES libclang_rt.rtsan-${arch}.a libclang_rt.rtsan.a
              PATHS ${resource_dir}/lib/linux ${resource_dir}/lib/${arch}-unknown-linux-gnu
                    ${resource_dir}/lib/${arch}-pc-linux-gnu
              NO_DEFAULT_PATH NO_CACHE)
  endif()
  if(NOT runtime)
    message(STATUS "RealtimeSanitizer tests skipped: no libclang_rt.rtsan runtime "
                   "under '${resource_dir}' (install libclang-rt-19-dev)")
    set(SPRUNG_RTSAN_RUNTIME "" CACHE INTERNAL "")
    return()
  endif()
  # The runtime must link into a C program: a probe the tests' own way.
  set(probe_dir ${CMAKE_BINARY_DIR}/CMakeFiles/sprung-rtsan-probe)
  file(WRITE ${probe_dir}/probe.c
       "void __rtsan_init(void);\nvoid __rtsan_realtime_enter(void);\n"
       "void __rtsan_realtime_exit(void);\n"
       "int main(void) { __rtsan_init(); __rtsan_realtime_enter();"
       " __rtsan_realtime_exit(); return 0; }\n")
  try_compile(linked ${probe_dir}/build SOURCES ${probe_dir}/probe.c
              LINK_OPTIONS -Wl,--whole-archive ${runtime} -Wl,--no-whole-archive
              LINK_LIBRARIES pthread dl rt m
              OUTPUT_VARIABLE probe_log)
  if(NOT linked)
    message(STATUS "RealtimeSanitizer tests skipped: ${runtime} does not link "
                   "into a C program")
    set(SPRUNG_RTSAN_RUNTIME "" CACHE INTERNAL "")
    return()
  endif()
  message(STATUS "RealtimeSanitizer runtime: ${runtime}")
  set(SPRUNG_RTSAN_RUNTIME "${runtime}" CACHE INTERNAL "RealtimeSanitizer runtime archive")
  set(${out_var} "${runtime}" PARENT_SCOPE)
endfunction()

# sprung_find_symbolizer(<var>): sets <var> to a working llvm-symbolizer
# (the compiler's own version first), or empty. Sanitizer runtimes look for
# `llvm-symbolizer` on PATH, which on Debian may be missing or a dangling
# link; the tests pass this one through *_SYMBOLIZER_PATH.
function(sprung_find_symbolizer out_var)
  set(${out_var} "" PARENT_SCOPE)
  get_filename_component(cc_dir ${CMAKE_C_COMPILER} REALPATH)
  get_filename_component(cc_dir ${cc_dir} DIRECTORY)
  string(REGEX MATCH "^[0-9]+" cc_major "${CMAKE_C_COMPILER_VERSION}")
  find_program(symbolizer NAMES llvm-symbolizer-${cc_major} llvm-symbolizer
               HINTS ${cc_dir} NO_CACHE)
  if(symbolizer)
    get_filename_component(symbolizer ${symbolizer} REALPATH)
    if(EXISTS ${symbolizer})
      set(${out_var} ${symbolizer} PARENT_SCOPE)
    endif()
  endif()
endfunction()
