# codec.cmake -- unit tests of the record codec, included by tests/CMakeLists.txt.
# Needs the library target duraflow_static (framework/CMakeLists.txt).
add_executable(test_codec "${CMAKE_CURRENT_LIST_DIR}/test_codec.c")
target_include_directories(test_codec PRIVATE "${CMAKE_CURRENT_LIST_DIR}/../framework/src")
target_link_libraries(test_codec PRIVATE duraflow_static PkgConfig::CHECK)
target_compile_definitions(test_codec PRIVATE DF_SCHEMA_DIR="${CMAKE_CURRENT_LIST_DIR}/../schemas")
add_test(NAME codec COMMAND test_codec)
set_tests_properties(codec PROPERTIES TIMEOUT 300)
