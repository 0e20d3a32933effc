# Included from tools/CMakeLists.txt: the trace format benchmark (issue 4).
add_executable(trace_bench ${CMAKE_CURRENT_LIST_DIR}/trace_bench.cc)
target_compile_options(trace_bench PRIVATE ${RRVM_WARNINGS})
target_link_libraries(trace_bench PRIVATE rrvm_formats)
