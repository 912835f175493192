# splitsim_add_test(NAME SOURCES a.cpp b.cpp LIBS lib1 lib2)
# One Catch2 executable per module; catch_discover_tests registers every TEST_CASE with ctest.
function(splitsim_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE splitsim_catch_main ${ARG_LIBS})
  catch_discover_tests(${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    PROPERTIES ENVIRONMENT "SPLITSIM_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()
