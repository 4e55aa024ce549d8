# Shared build settings and the helpers every module's CMakeLists.txt uses.

set(RINGKV_WARNINGS -Wall -Wextra -Wno-unused-parameter)
if(RINGKV_WERROR)
  list(APPEND RINGKV_WARNINGS -Werror)
endif()

if(RINGKV_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
elseif(RINGKV_SANITIZE STREQUAL "undefined")
  add_compile_options(-fsanitize=undefined -fno-omit-frame-pointer)
  add_link_options(-fsanitize=undefined)
elseif(RINGKV_SANITIZE STREQUAL "thread")
  # gcc 12's -Wtsan fires on Asio's atomic_thread_fence.
  add_compile_options(-fsanitize=thread -Wno-tsan)
  add_link_options(-fsanitize=thread)
endif()

# gold links the large static test binaries several times faster than bfd (binutils ships it).
find_program(RINGKV_GOLD ld.gold)
if(RINGKV_GOLD)
  add_link_options(-fuse-ld=gold)
endif()

# Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility> (see build-notes).
add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-include$<SEMICOLON>utility>)

# ringkv_library(NAME SRCS ... DEPS ...): defines ringkv_<NAME> with include root src/.
function(ringkv_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  add_library(ringkv_${name} STATIC ${ARG_SRCS})
  target_include_directories(ringkv_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(ringkv_${name} PRIVATE ${RINGKV_WARNINGS})
  target_link_libraries(ringkv_${name} PUBLIC ${ARG_DEPS})
endfunction()

# ringkv_add_test(FILE LABELS l1 l2 DEPS ...): one gtest binary per test file, registered with
# ctest under its labels ("unit" when none is given). Test binaries run from the build dir.
function(ringkv_add_test file)
  cmake_parse_arguments(ARG "" "TIMEOUT" "LABELS;DEPS;ARGS" ${ARGN})
  get_filename_component(name ${file} NAME_WE)
  add_executable(${name} ${file})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/tests)
  target_compile_options(${name} PRIVATE ${RINGKV_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main GTest::gmock)
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  add_test(NAME ${name} COMMAND ${name} ${ARG_ARGS})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}")
  if(ARG_TIMEOUT)
    set_tests_properties(${name} PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  endif()
endfunction()
