# Small helpers so every folder's CMakeLists.txt stays a few lines long.
#
#   novacron_add_library(core SOURCES a.cc b.cc DEPS spdlog::spdlog)
#     -> static library target novacron_core, alias novacron::core, include root = repository root
#        (so code includes "lib/core/status.h").
#   novacron_add_test(core_status_test SOURCES status_test.cc DEPS novacron::core LABELS unit)
#     -> GoogleTest executable registered with CTest (label defaults to "unit").
#   novacron_add_executable(novacron-controller SOURCES main.cc DEPS ...)

function(novacron_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow=local
                         -Wnon-virtual-dtor -Wno-missing-field-initializers)
  if(NOVACRON_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(NOVACRON_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

function(novacron_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(novacron_${name} STATIC ${ARG_SOURCES})
  add_library(novacron::${name} ALIAS novacron_${name})
  target_include_directories(novacron_${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(novacron_${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  novacron_set_warnings(novacron_${name})
endfunction()

function(novacron_add_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  novacron_set_warnings(${name})
endfunction()

# LABELS: unit (default), integration, e2e, soak. The default test run excludes "soak".
# TIMEOUT: seconds (default 300). RESOURCE_LOCK: names of shared resources (e.g. "libvirtd").
function(novacron_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS;RESOURCE_LOCK;ARGS" ${ARGN})
  if(NOT ARG_LABELS)
    set(ARG_LABELS unit)
  endif()
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gmock GTest::gtest_main)
  novacron_set_warnings(${name})
  add_test(NAME ${name} COMMAND ${name} ${ARG_ARGS})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT}
                       ENVIRONMENT "NOVACRON_SOURCE_DIR=${PROJECT_SOURCE_DIR};NOVACRON_BINARY_DIR=${PROJECT_BINARY_DIR}")
  if(ARG_RESOURCE_LOCK)
    set_tests_properties(${name} PROPERTIES RESOURCE_LOCK "${ARG_RESOURCE_LOCK}")
  endif()
  novacron_mark_status_vocabulary_producer(${name})
endfunction()

# The docs/api.md contract test (tests/unit/docs): these tests record every status the code writes
# through the FakeClient (tests/mocks/status_vocabulary.h); ctest runs them before the contract
# test (fixture api_vocabulary), after emptying the directory (fixture api_vocabulary_clean).
set(NOVACRON_STATUS_VOCABULARY_PRODUCERS controller_reconciler_test
  controller_migration_reconciler_test controller_app_test node_vm_reconciler_test
  node_hypervisor_test node_migration_reconciler_test node_vm_decide_test controller_decision_test
  node_migration_postcopy_test node_migration_target_test node_migration_target_reconciler_test)
function(novacron_mark_status_vocabulary_producer name)
  if(name IN_LIST NOVACRON_STATUS_VOCABULARY_PRODUCERS)
    set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT
      "NOVACRON_STATUS_VOCABULARY_DIR=${PROJECT_BINARY_DIR}/status-vocabulary")
    set_property(TEST ${name} APPEND PROPERTY FIXTURES_SETUP api_vocabulary)
    set_property(TEST ${name} APPEND PROPERTY FIXTURES_REQUIRED api_vocabulary_clean)
  endif()
endfunction()

# Links `target` with jemalloc as its malloc (see NovacronDependencies.cmake), unless sanitized.
function(novacron_use_jemalloc target)
  if(NOT NOVACRON_SANITIZE)
    target_link_libraries(${target} PRIVATE PkgConfig::JEMALLOC)
  endif()
endfunction()
