# Qdrant's gRPC contract (GW_QDRANT_PROTO_DIR, Qdrant 1.19.0's .proto files) compiled at build
# time; nothing generated is committed.
#
#   gw_qdrant_proto   static library: protoc-c's C code for the public API's messages
#                     (collections, points, snapshots, health, common types, the well-known
#                     google/protobuf/timestamp). Include "points.pb-c.h", "collections.pb-c.h",
#                     "health_check.pb-c.h", ... ; it links libprotobuf-c. The internal (peer to
#                     peer) protos are left out: no public RPC uses their messages.
#   qdrant_py_stubs   (gw_qdrant_py_stubs(), called by test/CMakeLists.txt) protoc's Python
#                     messages and grpc_python_plugin's stubs for every .proto, in
#                     ${GW_QDRANT_PY_STUBS_DIR}; the integration tests get that path as
#                     GW_GRPC_STUBS.
#
# The files are vendored in proto/qdrant/ (copied from ../shared/qdrant/proto; see its README), so
# the Dockerfile's context and the .deb build have them; GW_HAVE_QDRANT_PROTO still tells when a
# tree lacks them.
set(GW_QDRANT_PROTO_DIR ${CMAKE_SOURCE_DIR}/proto/qdrant
    CACHE PATH "Qdrant's .proto files (Qdrant 1.19.0, lib/api/src/grpc/proto)")
set(GW_PROTOBUF_INCLUDE_DIR /usr/include CACHE PATH
    "directory holding google/protobuf/*.proto (Debian libprotobuf-dev)")
get_filename_component(GW_QDRANT_PROTO_DIR ${GW_QDRANT_PROTO_DIR} ABSOLUTE)

set(GW_HAVE_QDRANT_PROTO OFF)
if(NOT EXISTS ${GW_QDRANT_PROTO_DIR}/points_service.proto)
  message(STATUS "Qdrant .proto files not found in ${GW_QDRANT_PROTO_DIR}: no gw_qdrant_proto")
  return()
endif()
find_program(PROTOC_C protoc-c)
pkg_check_modules(PROTOBUF_C IMPORTED_TARGET libprotobuf-c)
if(NOT PROTOC_C OR NOT PROTOBUF_C_FOUND
   OR NOT EXISTS ${GW_PROTOBUF_INCLUDE_DIR}/google/protobuf/timestamp.proto)
  message(FATAL_ERROR "protoc-c, libprotobuf-c or google/protobuf/timestamp.proto missing: "
                      "scripts/install-deps build (protobuf-c-compiler libprotobuf-c-dev "
                      "libprotobuf-dev)")
endif()
set(GW_HAVE_QDRANT_PROTO ON)

set(GW_QDRANT_PROTO_C_DIR ${CMAKE_BINARY_DIR}/qdrant_proto)
set(GW_QDRANT_PROTO_C_FILES qdrant_common json_with_int collections collections_service points
    points_service snapshots_service health_check)
# Debian 12's protoc-c predates proto3 `optional`: each file is first rewritten into its
# synthetic-oneof equivalent (cmake/proto3_optional.cmake; same wire format) under src/.
set(gw_pb_src_dir ${GW_QDRANT_PROTO_C_DIR}/src)
set(gw_pb_srcs "")
set(gw_pb_rewritten "")
foreach(p ${GW_QDRANT_PROTO_C_FILES})
  list(APPEND gw_pb_srcs ${GW_QDRANT_PROTO_C_DIR}/${p}.pb-c.c)
  add_custom_command(
    OUTPUT ${gw_pb_src_dir}/${p}.proto
    COMMAND ${CMAKE_COMMAND} -DIN=${GW_QDRANT_PROTO_DIR}/${p}.proto
            -DOUT=${gw_pb_src_dir}/${p}.proto -P ${CMAKE_SOURCE_DIR}/cmake/proto3_optional.cmake
    DEPENDS ${GW_QDRANT_PROTO_DIR}/${p}.proto ${CMAKE_SOURCE_DIR}/cmake/proto3_optional.cmake
    VERBATIM)
  list(APPEND gw_pb_rewritten ${gw_pb_src_dir}/${p}.proto)
endforeach()
set(gw_pb_ts ${GW_QDRANT_PROTO_C_DIR}/google/protobuf/timestamp.pb-c.c)
set(gw_pb_outputs ${gw_pb_srcs} ${gw_pb_ts})
foreach(c ${gw_pb_srcs} ${gw_pb_ts})
  string(REGEX REPLACE "\\.c$" ".h" h ${c})
  list(APPEND gw_pb_outputs ${h})
endforeach()
add_custom_command(
  OUTPUT ${gw_pb_outputs}
  COMMAND ${PROTOC_C} --c_out=${GW_QDRANT_PROTO_C_DIR} -I${gw_pb_src_dir}
          -I${GW_PROTOBUF_INCLUDE_DIR} ${gw_pb_rewritten}
  COMMAND ${PROTOC_C} --c_out=${GW_QDRANT_PROTO_C_DIR} -I${GW_PROTOBUF_INCLUDE_DIR}
          ${GW_PROTOBUF_INCLUDE_DIR}/google/protobuf/timestamp.proto
  DEPENDS ${gw_pb_rewritten}
  COMMENT "protoc-c: Qdrant's gRPC messages"
  VERBATIM)
add_library(gw_qdrant_proto STATIC ${gw_pb_srcs} ${gw_pb_ts})
# Generated code: its own quiet flags, never our -Werror.
target_compile_options(gw_qdrant_proto PRIVATE -w)
target_include_directories(gw_qdrant_proto SYSTEM PUBLIC ${GW_QDRANT_PROTO_C_DIR})
target_link_libraries(gw_qdrant_proto PUBLIC PkgConfig::PROTOBUF_C)

# Python messages + gRPC stubs of every .proto (qdrant_pb2 imports them all).
function(gw_qdrant_py_stubs)
  find_program(PROTOC protoc)
  find_program(GRPC_PYTHON_PLUGIN grpc_python_plugin)
  if(NOT PROTOC OR NOT GRPC_PYTHON_PLUGIN)
    message(FATAL_ERROR "protoc or grpc_python_plugin missing: scripts/install-deps test "
                        "(protobuf-compiler protobuf-compiler-grpc)")
  endif()
  set(out ${CMAKE_BINARY_DIR}/test/grpc_stubs)
  set(GW_QDRANT_PY_STUBS_DIR ${out} PARENT_SCOPE)
  file(GLOB protos ${GW_QDRANT_PROTO_DIR}/*.proto)
  set(outputs "")
  foreach(p ${protos})
    get_filename_component(n ${p} NAME_WE)
    list(APPEND outputs ${out}/${n}_pb2.py ${out}/${n}_pb2_grpc.py)
  endforeach()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out}
    COMMAND ${PROTOC} -I${GW_QDRANT_PROTO_DIR} -I${GW_PROTOBUF_INCLUDE_DIR} --python_out=${out}
            --grpc_out=${out} --plugin=protoc-gen-grpc=${GRPC_PYTHON_PLUGIN} ${protos}
    DEPENDS ${protos}
    COMMENT "protoc + grpc_python_plugin: Python stubs of Qdrant's gRPC API"
    VERBATIM)
  add_custom_target(qdrant_py_stubs ALL DEPENDS ${outputs})
endfunction()
