# The OpenCL backend (STYLE.md rule 8): on when the OpenCL headers and ICD
# loader are found (Debian: ocl-icd-opencl-dev opencl-c-headers; at run time
# any platform, e.g. pocl-opencl-icd for the CPU), off with a message
# otherwise. The kernel sources (src/kernel/sprung_step.h, sprung_block.h,
# sprung_block.cl) are embedded into the library as one C string at build
# time. Included by the top-level CMakeLists.txt before the libraries are made.
option(SPRUNG_OPENCL "Build the OpenCL backend when OpenCL is found" ON)
if(NOT SPRUNG_OPENCL)
  message(STATUS "OpenCL backend: off (SPRUNG_OPENCL=OFF)")
  return()
endif()
find_package(OpenCL QUIET)
if(NOT OpenCL_FOUND)
  message(STATUS "OpenCL backend: off (no OpenCL headers/ICD loader found; "
                 "install ocl-icd-opencl-dev opencl-c-headers)")
  return()
endif()

set(SPRUNG_OPENCL_KERNEL_INPUTS
    ${PROJECT_SOURCE_DIR}/src/kernel/sprung_step.h
    ${PROJECT_SOURCE_DIR}/src/kernel/sprung_block.h
    ${PROJECT_SOURCE_DIR}/src/kernel/sprung_block.cl)
set(SPRUNG_OPENCL_KERNEL_C ${PROJECT_BINARY_DIR}/generated/sprung_opencl_kernel_source.c)
add_custom_command(
  OUTPUT ${SPRUNG_OPENCL_KERNEL_C}
  COMMAND ${CMAKE_COMMAND} "-DINPUTS=${SPRUNG_OPENCL_KERNEL_INPUTS}"
          -DOUTPUT=${SPRUNG_OPENCL_KERNEL_C} -DSYMBOL=sprung_opencl_kernel_source
          -P ${PROJECT_SOURCE_DIR}/src/backend/opencl/embed_kernel.cmake
  DEPENDS ${SPRUNG_OPENCL_KERNEL_INPUTS} ${PROJECT_SOURCE_DIR}/src/backend/opencl/embed_kernel.cmake
  COMMENT "Embedding the OpenCL kernel sources"
  VERBATIM)
target_sources(sprung_objects PRIVATE
  ${PROJECT_SOURCE_DIR}/src/backend/opencl/opencl_backend.c
  ${PROJECT_SOURCE_DIR}/src/backend/opencl/opencl_voices.c ${SPRUNG_OPENCL_KERNEL_C})
target_compile_definitions(sprung_objects PRIVATE SPRUNG_HAVE_OPENCL)
target_include_directories(sprung_objects PRIVATE ${OpenCL_INCLUDE_DIRS})
list(APPEND SPRUNG_CORE_LIBS OpenCL::OpenCL)
set(SPRUNG_HAVE_OPENCL ON)
message(STATUS "OpenCL backend: on (${OpenCL_LIBRARIES}, OpenCL ${OpenCL_VERSION_STRING} headers)")
