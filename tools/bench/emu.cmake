# Included from tools/CMakeLists.txt: the interpreter benchmark (issue 3). It reuses the test
# scaffolding's state builder and /dev/kvm runner so both engines run the same loop from the
# same state.
add_executable(emu_bench ${CMAKE_CURRENT_LIST_DIR}/emu_bench.cc
                         ${CMAKE_SOURCE_DIR}/tests/emu/emu_machine.cc
                         ${CMAKE_SOURCE_DIR}/tests/emu/kvm_runner.cc)
target_compile_options(emu_bench PRIVATE ${RRVM_WARNINGS})
target_compile_definitions(emu_bench PRIVATE RRVM_NASM="${NASM}")
target_link_libraries(emu_bench PRIVATE rrvm_emu)
