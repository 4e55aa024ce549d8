# Debian's librocksdb is built portable (no -msse4.2), so its CRC-32C is table-driven: with
# 64 KiB values, checksumming blob records took about a fifth of the servers' CPU
# (docs/benchmarks.md §10k). src/storage/rocks_crc32c.cc defines rocksdb::crc32c::Extend with
# the SSE4.2 instruction (ringkv::crc32c: the same CRC, so files stay readable by any build).
# RocksDB::rocksdb is a static archive; this points it at a copy in the build dir whose
# crc32c.cc.o defines Extend weakly, so the strong definition in rocks_crc32c.cc wins the link,
# and the library's own stays in any binary without it. Where the copy cannot be made, the
# stock archive is linked and rocks_crc32c.cc is left out (RocksDB keeps its slow CRC; kvd
# logs a warning at start).
set(RINGKV_ROCKSDB_FAST_CRC32C OFF)
set(_ringkv_extend _ZN7rocksdb6crc32c6ExtendEjPKcm)
get_target_property(_ringkv_rocksdb_a RocksDB::rocksdb IMPORTED_LOCATION_NONE)
if(_ringkv_rocksdb_a AND _ringkv_rocksdb_a MATCHES "\\.a$" AND CMAKE_AR AND CMAKE_OBJCOPY)
  set(_dir ${CMAKE_BINARY_DIR}/rocksdb-fast-crc32c)
  set(_out ${_dir}/librocksdb.a)
  if(NOT EXISTS ${_out} OR ${_ringkv_rocksdb_a} IS_NEWER_THAN ${_out})
    file(REMOVE_RECURSE ${_dir})
    file(MAKE_DIRECTORY ${_dir})
    file(COPY_FILE ${_ringkv_rocksdb_a} ${_dir}/librocksdb.a.tmp)
    execute_process(COMMAND ${CMAKE_AR} x ${_ringkv_rocksdb_a} crc32c.cc.o
                    WORKING_DIRECTORY ${_dir} RESULT_VARIABLE _r1 OUTPUT_QUIET ERROR_QUIET)
    set(_r2 1)
    set(_r3 1)
    if(_r1 EQUAL 0 AND EXISTS ${_dir}/crc32c.cc.o)
      execute_process(COMMAND ${CMAKE_OBJCOPY} --weaken-symbol=${_ringkv_extend} crc32c.cc.o
                      WORKING_DIRECTORY ${_dir} RESULT_VARIABLE _r2 OUTPUT_QUIET ERROR_QUIET)
    endif()
    if(_r2 EQUAL 0)
      execute_process(COMMAND ${CMAKE_AR} r librocksdb.a.tmp crc32c.cc.o
                      WORKING_DIRECTORY ${_dir} RESULT_VARIABLE _r3 OUTPUT_QUIET ERROR_QUIET)
    endif()
    if(_r3 EQUAL 0)
      file(RENAME ${_dir}/librocksdb.a.tmp ${_out})
    else()
      message(WARNING "could not make librocksdb.a with a weak crc32c::Extend; RocksDB keeps "
                      "its table-driven CRC-32C")
    endif()
    file(REMOVE ${_dir}/crc32c.cc.o ${_dir}/librocksdb.a.tmp)
  endif()
  if(EXISTS ${_out})
    set_target_properties(RocksDB::rocksdb PROPERTIES IMPORTED_LOCATION_NONE ${_out}
                                                      IMPORTED_LOCATION ${_out})
    set(RINGKV_ROCKSDB_FAST_CRC32C ON)
  endif()
endif()
message(STATUS "RocksDB's CRC-32C with SSE4.2 (storage/rocks_crc32c.h): ${RINGKV_ROCKSDB_FAST_CRC32C}")
