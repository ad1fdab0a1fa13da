# Runs one libFuzzer target for a bounded time on a fresh copy of its
# committed corpus (so the source tree is never written to) and fails on
# any crash, leak, timeout or out-of-memory: libFuzzer exits non-zero for
# all of them and leaves the reproducer in WORK/.
#   cmake -DFUZZER=<exe> -DCORPUS=<dir> -DWORK=<dir> -DARGS=<a;b> -P run_fuzzer.cmake
cmake_minimum_required(VERSION 3.25)
file(REMOVE_RECURSE ${WORK}/corpus)
file(MAKE_DIRECTORY ${WORK}/corpus ${WORK}/artifacts)
file(GLOB seeds ${CORPUS}/*)
if(seeds)
  file(COPY ${seeds} DESTINATION ${WORK}/corpus)
endif()
execute_process(COMMAND ${FUZZER} ${ARGS} -artifact_prefix=${WORK}/artifacts/
                        ${WORK}/corpus
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  file(GLOB found ${WORK}/artifacts/*)
  message(FATAL_ERROR "${FUZZER} failed (${rc}); reproducer(s): ${found}\n"
                      "reproduce with: ${FUZZER} <file>")
endif()
