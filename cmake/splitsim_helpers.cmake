# splitsim_add_test(NAME SOURCES a.cpp b.cpp LIBS lib1 lib2 [SERIAL])
# One Catch2 executable per module; catch_discover_tests registers every TEST_CASE with ctest.
# SERIAL: the test cases measure wall-clock time (executor against simulator), so ctest runs them alone.
function(splitsim_add_test name)
  cmake_parse_arguments(ARG "SERIAL" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE splitsim_catch_main ${ARG_LIBS})
  set(props ENVIRONMENT "SPLITSIM_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  if(ARG_SERIAL)
    list(APPEND props RUN_SERIAL TRUE)
  endif()
  catch_discover_tests(${name} WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} PROPERTIES ${props})
endfunction()
