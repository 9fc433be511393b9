# llama.cpp from the pinned node-llama-cpp package, built once by scripts/build-llama into
# ~/.cache/lingxi and imported here as lingxi_ggml, lingxi_llama and lingxi_mtmd.
set(LINGXI_LLAMA_DIR "" CACHE PATH "Folder of a finished scripts/build-llama build (empty: run the script)")

# The script runs at every configure: with a warm cache it only checks and prints the folder,
# and it picks the right variant when LINGXI_CUDA changes.
set(_llama_dir "${LINGXI_LLAMA_DIR}")
if(NOT _llama_dir)
  set(_args "")
  if(LINGXI_CUDA)
    set(_args "--cuda")
  endif()
  message(STATUS "lingxi: preparing llama.cpp (scripts/build-llama ${_args}); a cold build takes minutes")
  execute_process(
    COMMAND "${CMAKE_SOURCE_DIR}/scripts/build-llama" ${_args}
    OUTPUT_VARIABLE _llama_dir OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "scripts/build-llama failed (${_rc})")
  endif()
endif()
message(STATUS "lingxi: llama.cpp from ${_llama_dir}")

set(_src "${_llama_dir}/src")
set(_bin "${_llama_dir}/build/bin")
foreach(_f "${_bin}/libllama.so" "${_bin}/libmtmd.so" "${_bin}/llama-server")
  if(NOT EXISTS "${_f}")
    message(FATAL_ERROR "llama.cpp build in ${_llama_dir} is incomplete: ${_f} is missing")
  endif()
endforeach()

file(READ "${_llama_dir}/llama.cpp.info.json" _info)
string(JSON LINGXI_LLAMA_CPP_TAG GET "${_info}" tag)
set(LINGXI_LLAMA_CPP_VERSION "${LINGXI_LLAMA_CPP_TAG}")
set(LINGXI_LLAMA_SERVER "${_bin}/llama-server" CACHE INTERNAL "llama-server from the same release")

add_library(lingxi_ggml SHARED IMPORTED)
set_target_properties(lingxi_ggml PROPERTIES
  IMPORTED_LOCATION "${_bin}/libggml.so"
  INTERFACE_INCLUDE_DIRECTORIES "${_src}/ggml/include"
  INTERFACE_LINK_LIBRARIES "${_bin}/libggml-base.so")

add_library(lingxi_llama SHARED IMPORTED)
set_target_properties(lingxi_llama PROPERTIES
  IMPORTED_LOCATION "${_bin}/libllama.so"
  INTERFACE_INCLUDE_DIRECTORIES "${_src}/include"
  INTERFACE_LINK_LIBRARIES lingxi_ggml)

add_library(lingxi_mtmd SHARED IMPORTED)
set_target_properties(lingxi_mtmd PROPERTIES
  IMPORTED_LOCATION "${_bin}/libmtmd.so"
  INTERFACE_INCLUDE_DIRECTORIES "${_src}/tools/mtmd"
  INTERFACE_LINK_LIBRARIES lingxi_llama)

# The binary finds the libraries in the cache folder it was built against.
list(APPEND CMAKE_BUILD_RPATH "${_bin}")
set(CMAKE_INSTALL_RPATH "${_bin}")

# llama.cpp's common library: Jinja chat templates and JSON-schema-to-grammar, as
# llama-server uses them.
add_library(lingxi_llama_common SHARED IMPORTED)
set_target_properties(lingxi_llama_common PROPERTIES
  IMPORTED_LOCATION "${_bin}/libllama-common.so"
  INTERFACE_INCLUDE_DIRECTORIES "${_src}/common;${_src}/vendor"
  INTERFACE_LINK_LIBRARIES lingxi_llama)
