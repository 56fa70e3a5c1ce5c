// Fuzzes corsd::config's loader: any bytes as a policy file, read as a host
// server reads it (load_policy_file) and as corsd reads its routes
// (read_routes). What must hold for every input: no crash, no exception out
// of the loader, and a refusal that names the file, so a user can find it.

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <variant>

#include "corsd/config/policy_file.hpp"
#include "require.hpp"

namespace {

using corsd::fuzz::require;

// One file per process, rewritten for each input, and removed at exit.
struct ScratchFile {
  ScratchFile()
      : path((std::filesystem::temp_directory_path() / ("corsd-config-fuzzer-" + std::to_string(::getpid()) + ".toml"))
                 .string()) {}
  ~ScratchFile() {
    std::error_code ignored;
    std::filesystem::remove(path, ignored);
  }
  const std::string path;
};

const std::string& scratch_file() {
  static const ScratchFile file;
  return file.path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = scratch_file();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  const auto loaded = corsd::config::load_policy_file(path);
  if (const auto* error = std::get_if<std::string>(&loaded)) {
    require(error->starts_with(path));
  } else {
    const auto& table = std::get<corsd::cors::RouteTable>(loaded);
    require(!table.routes().empty());
    for (const auto& route : table.routes()) require(table.match(route.prefix) == &route);
  }
  const auto read = corsd::config::read_routes(path);
  if (const auto* error = std::get_if<std::string>(&read)) require(error->starts_with(path));
  return 0;
}
