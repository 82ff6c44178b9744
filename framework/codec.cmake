# codec.cmake -- the record codec (Avro single-object encoding), included by
# framework/CMakeLists.txt:
#
#   include(${CMAKE_CURRENT_SOURCE_DIR}/codec.cmake)
#   ... add_library(duraflow_static STATIC ${DF_CODEC_SOURCES} ...)
#
# Appends to DF_CODEC_SOURCES: codec.c, crc64.c, utf8.c, buf.c and the generated
# ${CMAKE_CURRENT_BINARY_DIR}/df_schemas.c that embeds every schemas/**/*.avsc
# (see cmake/embed_schemas.cmake).  The codec needs avro-c, jansson and
# pthreads (PkgConfig::AVRO, PkgConfig::JANSSON).
include("${CMAKE_CURRENT_LIST_DIR}/cmake/embed_schemas.cmake")

get_filename_component(DF_SCHEMA_DIR "${CMAKE_CURRENT_LIST_DIR}/../schemas" ABSOLUTE)
set(DF_SCHEMAS_C "${CMAKE_CURRENT_BINARY_DIR}/df_schemas.c")
df_embed_schemas("${DF_SCHEMA_DIR}" "${DF_SCHEMAS_C}")

list(APPEND DF_CODEC_SOURCES
  "${CMAKE_CURRENT_LIST_DIR}/src/codec.c"
  "${CMAKE_CURRENT_LIST_DIR}/src/crc64.c"
  "${CMAKE_CURRENT_LIST_DIR}/src/utf8.c"
  "${CMAKE_CURRENT_LIST_DIR}/src/buf.c"
  "${DF_SCHEMAS_C}")
