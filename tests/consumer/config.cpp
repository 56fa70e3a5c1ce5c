// A host that reads corsd's config files: the policies of a TOML file,
// refused with FILE:LINE and a fix when a route is insecure.

#include <corsd/config/policy_file.hpp>
#include <fstream>
#include <iostream>
#include <string>
#include <variant>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const std::string dir = argv[1];
  std::ofstream(dir + "/good.toml") << "[[routes]]\npath = \"/api/\"\nallow_origins = [\"https://app.example.com\"]\n";
  std::ofstream(dir + "/bad.toml") << "[[routes]]\nallow_origins = [\"*\"]\nallow_credentials = true\n";

  auto bad = corsd::config::load_policy_file(dir + "/bad.toml");
  if (const auto* e = std::get_if<std::string>(&bad)) std::cout << "refused: " << *e << "\n";
  auto good = corsd::config::load_policy_file(dir + "/good.toml");
  if (const auto* e = std::get_if<std::string>(&good)) {
    std::cout << "unexpected: " << *e << "\n";
    return 1;
  }
  const auto* route = std::get<corsd::cors::RouteTable>(good).match("/api/items");
  std::cout << "matched: " << (route ? route->prefix : "nothing") << "\n";
  return 0;
}
