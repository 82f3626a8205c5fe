# Every third-party dependency, found once. All come from Debian packages (hack/install-deps.sh).
# Each is used only behind one adapter of ours; see STYLE.md "Boundaries".
find_package(Threads REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(GTest REQUIRED)
find_package(cpprestsdk REQUIRED)
find_package(prometheus-cpp REQUIRED)
find_package(pugixml REQUIRED)
find_package(benchmark QUIET)
find_package(Boost 1.74 REQUIRED COMPONENTS system)

find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBVIRT REQUIRED IMPORTED_TARGET libvirt)
# The dev API server talks to etcd over etcd's gRPC API (dev-apiserver/etcdpb/).
pkg_check_modules(GRPCPP REQUIRED IMPORTED_TARGET grpc++)
pkg_check_modules(PROTOBUF REQUIRED IMPORTED_TARGET protobuf)
find_program(NOVACRON_PROTOC protoc REQUIRED)
find_program(NOVACRON_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)
# jemalloc: the dev API server's allocator (novacron_use_jemalloc()). Every request allocates
# and frees thousands of small JSON nodes; glibc's malloc spent ~17% of its CPU there (issue 15,
# tests/bench/README.md "Eleventh pass"). Not under the sanitizers, which bring their own.
pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
