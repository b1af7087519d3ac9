# Build rules shared by every module: warnings, sanitizers and the helpers
# that declare one library target per module and one test binary per module.

# -Wno-missing-field-initializers: designated initializers deliberately leave
# out members that have default member initializers.
add_compile_options(-Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor
                    -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  # clang 14 with libstdc++ 12 needs these to see Asio's coroutine support.
  add_compile_definitions(BOOST_ASIO_HAS_CO_AWAIT BOOST_ASIO_HAS_STD_COROUTINE)
endif()

if(ATREST_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
endif()

set(ATREST_SRC_DIR ${CMAKE_SOURCE_DIR}/src)

# atrest_library(NAME SRCS ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Declares the static library atrest_NAME; headers are included as
# "NAME/header.h" from src/.
function(atrest_library name)
  cmake_parse_arguments(ARG "" "" "SRCS;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(atrest_${name} STATIC ${ARG_SRCS})
  target_include_directories(atrest_${name} PUBLIC ${ATREST_SRC_DIR})
  target_link_libraries(atrest_${name} PUBLIC ${ARG_PUBLIC_DEPS}
                                       PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# atrest_test(NAME SRCS ... DEPS ...)
# One GoogleTest binary per module, registered test by test with ctest.
function(atrest_test name)
  if(NOT ATREST_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SRCS;DEPS" ${ARGN})
  find_package(GTest REQUIRED)
  include(GoogleTest)
  add_executable(${name} ${ARG_SRCS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES ENVIRONMENT "ATREST_TESTDATA=${CMAKE_SOURCE_DIR}/testdata")
endfunction()
