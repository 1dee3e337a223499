# tests/support: what the test tiers share to drive one stack by hand (the
# simulated host with a capturing device, the peer's segments, expect_sent).
# Each tree compiles its own copy against its own build of the library:
#   coronet_test_support(coronet-test-support coronet::coronet)       unit and sim
#   coronet_test_support(coronet-fuzz-support coronet-fuzz-lib ABORT)  fuzz: a failure aborts
function(coronet_test_support name library)
  cmake_parse_arguments(arg "ABORT" "" "" ${ARGN})
  set(dir ${PROJECT_SOURCE_DIR}/tests/support)
  add_library(${name} STATIC ${dir}/check.cpp ${dir}/tap_device.cpp ${dir}/frames.cpp ${dir}/segment.cpp
                             ${dir}/stack_under_test.cpp ${dir}/transition_log.cpp)
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/tests)
  target_link_libraries(${name} PUBLIC ${library})
  if(arg_ABORT)
    target_compile_definitions(${name} PRIVATE CORONET_TEST_ABORT_ON_FAILURE)
  endif()
endfunction()
