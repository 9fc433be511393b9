# In-process benchmarks (Google Benchmark, Debian's libbenchmark-dev). Not run by `make test`:
# their numbers go to BENCHMARKS.md.
find_package(benchmark QUIET)
if(benchmark_FOUND)
  add_executable(cache_micro bench/cache_micro.cpp)
  target_link_libraries(cache_micro PRIVATE lingxi_cache lingxi_ratelimit benchmark::benchmark)
endif()
