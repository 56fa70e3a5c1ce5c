#pragma once
// File: corsd/app/static_site.hpp
//
// A handful of files held in memory and served by exact path: what the demo
// page needs, and nothing a request can steer onto the file system.

#include <string>
#include <unordered_map>
#include <variant>

#include "corsd/http/handler.hpp"
#include "corsd/detail/string_hash.hpp"

namespace corsd::app {

class StaticSite final : public http::Handler {
 public:
  // Serves `body` at `path` ("/", "/vendor/jquery.min.js").
  void add(std::string path, std::string content_type, std::string body);

  void handle(const http::Request& request, http::Response& response) override;

 private:
  struct File {
    std::string content_type;
    std::string body;
  };
  std::unordered_map<std::string, File, StringHash, std::equal_to<>> files_;
};

// The demo site's sources and where its page's requests go.
struct DemoSiteOptions {
  std::string page_path;    // web/demo/index.html
  std::string jquery_path;  // node_modules/jquery/dist/jquery.min.js
  std::string api_origin;   // replaces __CORSD_API_ORIGIN__ in the page
};

// make_demo_site()
//
// Loads the demo page and jQuery, or returns an error naming the missing
// file and how to get it.
std::variant<StaticSite, std::string> make_demo_site(const DemoSiteOptions& options);

}  // namespace corsd::app
