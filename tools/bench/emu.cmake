# Included from tools/CMakeLists.txt: the interpreter benchmark (issue 3). It links the
# interpreter's test scaffolding (vmm/emu/testing) so the emu and kvm engines run the same loop
# from the same state as the differential tests do.
add_executable(emu_bench ${CMAKE_CURRENT_LIST_DIR}/emu_bench.cc)
target_compile_options(emu_bench PRIVATE ${RRVM_WARNINGS})
target_link_libraries(emu_bench PRIVATE rrvm_emu_testing)
