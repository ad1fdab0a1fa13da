# The CUDA backend (STYLE.md rule 8): on when nvcc is found (on PATH, in
# $CUDACXX, or at /usr/local/cuda/bin/nvcc), off with a message otherwise.
# The kernels (cuda_kernels.cu, from src/kernel/sprung_block.h) build in
# their own directory (src/backend/cuda/CMakeLists.txt) so the C-only
# warning flags of the top level never reach nvcc; the host code
# (cuda_backend.c) is C in libsprung, linked with CUDA::cudart_static so a
# machine without a driver still runs the program (probe says why). The
# same switch builds the GPU clock keeper's CUDA spin kernel
# (src/keeper/keeper_spin.cu, its own directory for the same reason);
# without it src/keeper/work_cuda.c reports the work as unsupported.
# Included by the top-level CMakeLists.txt before the libraries are made.
option(SPRUNG_CUDA "Build the CUDA backend when nvcc is found" ON)
if(NOT SPRUNG_CUDA)
  message(STATUS "CUDA backend: off (SPRUNG_CUDA=OFF)")
  return()
endif()
if(NOT DEFINED CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX})
  find_program(SPRUNG_NVCC nvcc HINTS /usr/local/cuda/bin)
  if(SPRUNG_NVCC)
    set(CMAKE_CUDA_COMPILER ${SPRUNG_NVCC} CACHE FILEPATH "CUDA compiler")
  endif()
endif()
include(CheckLanguage)
check_language(CUDA)
if(NOT CMAKE_CUDA_COMPILER)
  message(STATUS "CUDA backend: off (no nvcc found; set CUDACXX or CMAKE_CUDA_COMPILER)")
  return()
endif()
# Set before enable_language(CUDA): Turing, Ampere, Hopper (90, with PTX for
# newer GPUs). Override on the command line.
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
  set(CMAKE_CUDA_ARCHITECTURES "75;80;90" CACHE STRING "CUDA architectures")
endif()
enable_language(CUDA)
# Programs that link libsprung stay C programs linked by the C compiler
# (clang: the fuzzers and sanitizer tests need its flags); the CUDA static
# library must not turn their link into nvcc's host (g++) link.
set(CMAKE_CUDA_LINKER_PREFERENCE_PROPAGATES OFF)
find_package(CUDAToolkit)
if(NOT TARGET CUDA::cudart_static)
  message(STATUS "CUDA backend: off (nvcc found but not the CUDA runtime library)")
  return()
endif()

add_subdirectory(${PROJECT_SOURCE_DIR}/src/backend/cuda ${PROJECT_BINARY_DIR}/src/backend/cuda)
add_subdirectory(${PROJECT_SOURCE_DIR}/src/keeper ${PROJECT_BINARY_DIR}/src/keeper)
target_sources(sprung_objects PRIVATE ${PROJECT_SOURCE_DIR}/src/backend/cuda/cuda_backend.c
                                      ${PROJECT_SOURCE_DIR}/src/backend/cuda/cuda_voices.c)
target_compile_definitions(sprung_objects PRIVATE SPRUNG_HAVE_CUDA)
target_include_directories(sprung_objects PRIVATE ${CUDAToolkit_INCLUDE_DIRS})
list(APPEND SPRUNG_CORE_LIBS sprung_cuda_kernels sprung_keeper_cuda CUDA::cudart_static)
set(SPRUNG_HAVE_CUDA ON)
message(STATUS "CUDA backend: on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, "
               "architectures ${CMAKE_CUDA_ARCHITECTURES})")
