# Replays one saved trace and checks it against what its recording produced: the serial output
# byte for byte, the guest's exit status, and (through --stats, which exits with 3 otherwise)
# every deterministic counter. Run as
#   cmake -DRRVM=... -DTRACE=... -DENGINE=kvm|emu -DEXPECTED_OUT=... -DEXPECTED_STATUS=N
#         -DWORK_DIR=... -P replay_trace.cmake
# A kvm replay without a usable /dev/kvm prints "SKIP:" (the test's SKIP_REGULAR_EXPRESSION),
# except under CI=true on a host that has /dev/kvm, where that is a failure as in the GoogleTest
# suites.
get_filename_component(name ${TRACE} NAME)
set(actual_out ${WORK_DIR}/${name}.${ENGINE}.out)
file(REMOVE ${actual_out})
execute_process(
  COMMAND ${RRVM} replay --engine ${ENGINE} --stats --serial file:${actual_out} ${TRACE}
  RESULT_VARIABLE status
  ERROR_VARIABLE err
  TIMEOUT 60)
# 68: rrvm's "no usable /dev/kvm".
if(ENGINE STREQUAL "kvm" AND status EQUAL 68)
  if("$ENV{CI}" STREQUAL "true" AND EXISTS /dev/kvm)
    message(FATAL_ERROR "/dev/kvm is not usable under CI: ${err}")
  endif()
  message("SKIP: /dev/kvm is not usable on this host: ${err}")
  return()
endif()
if(NOT status EQUAL EXPECTED_STATUS)
  message(FATAL_ERROR "${name} on ${ENGINE}: exit status ${status}, recorded ${EXPECTED_STATUS}: "
                      "${err}\nIf the trace format changed on purpose, regenerate the saved "
                      "traces (tests/traces/README.md).")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${actual_out} ${EXPECTED_OUT}
                RESULT_VARIABLE differs)
if(differs)
  file(READ ${actual_out} got)
  file(READ ${EXPECTED_OUT} want)
  message(FATAL_ERROR "${name} on ${ENGINE}: serial output differs\n--- replayed\n${got}"
                      "--- recorded\n${want}")
endif()
