# The `simd` backend (src/backend/simd/), included from the top-level
# CMakeLists.txt before the libraries are made. Always built: on x86 the
# SSE2, AVX2 and AVX-512 kernels are compiled with per-file target flags
# and chosen at run time by CPU; elsewhere only the portable kernels.
set(_simd_dir ${PROJECT_SOURCE_DIR}/src/backend/simd)
set(_simd_sources ${_simd_dir}/simd_backend.c ${_simd_dir}/simd_records.c
                  ${_simd_dir}/simd_lattice.c ${_simd_dir}/simd_portable.c)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64|i[3-6]86)$")
  include(CheckCCompilerFlag)
  check_c_compiler_flag(-mavx2 SPRUNG_CC_HAS_MAVX2)
  check_c_compiler_flag("-mavx512f -mavx512dq" SPRUNG_CC_HAS_MAVX512)
  if(SPRUNG_CC_HAS_MAVX2 AND SPRUNG_CC_HAS_MAVX512)
    list(APPEND _simd_sources ${_simd_dir}/simd_sse2.c ${_simd_dir}/simd_avx2.c
                              ${_simd_dir}/simd_avx512.c ${_simd_dir}/simd_avx512_emulated.c)
    # Only these files get the wider instruction sets; the dispatcher
    # calls them only on CPUs that have them.
    set_source_files_properties(${_simd_dir}/simd_avx2.c PROPERTIES COMPILE_OPTIONS "-mavx2")
    set_source_files_properties(${_simd_dir}/simd_avx512.c PROPERTIES
                                COMPILE_OPTIONS "-mavx512f;-mavx512dq")
    # simd_avx512_emulated.c stays at the baseline: it runs everywhere.
    message(STATUS "simd backend: on (sse2, avx2, avx512 and portable kernels; avx512-emulated)")
  else()
    target_compile_definitions(sprung_objects PRIVATE SPRUNG_SIMD_PORTABLE_ONLY)
    message(STATUS "simd backend: on, portable kernels only (the compiler lacks -mavx2/-mavx512f/-mavx512dq)")
  endif()
else()
  message(STATUS "simd backend: on, portable kernels only (${CMAKE_SYSTEM_PROCESSOR})")
endif()
target_sources(sprung_objects PRIVATE ${_simd_sources})
target_compile_definitions(sprung_objects PRIVATE SPRUNG_HAVE_SIMD)
