#include "corsd/app/static_site.hpp"

#include <fstream>
#include <sstream>

namespace corsd::app {
namespace {

constexpr std::string_view kApiOriginPlaceholder = "__CORSD_API_ORIGIN__";

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  out = std::move(s).str();
  return true;
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

}  // namespace

void StaticSite::add(std::string path, std::string content_type, std::string body) {
  files_[std::move(path)] = File{std::move(content_type), std::move(body)};
}

void StaticSite::handle(const http::Request& request, http::Response& response) {
  if (request.method != "GET" && request.method != "HEAD") {
    response.set_status(405);
    response.add("Allow", "GET, HEAD");
    response.add("Content-Type", "text/plain; charset=utf-8");
    response.send("method not allowed: this site serves GET and HEAD\n");
    return;
  }
  const auto it = files_.find(request.path);
  if (it == files_.end()) {
    response.set_status(404);
    response.add("Content-Type", "text/plain; charset=utf-8");
    response.send("not found\n");
    return;
  }
  response.add("Content-Type", it->second.content_type);
  response.add("Cache-Control", "no-cache");
  response.add("X-Content-Type-Options", "nosniff");
  response.send(it->second.body);
}

std::variant<StaticSite, std::string> make_demo_site(const DemoSiteOptions& options) {
  std::string page, jquery;
  if (!read_file(options.page_path, page)) {
    return "cannot read the demo page " + options.page_path + ": pass --demo-root DIR or --no-demo";
  }
  if (!read_file(options.jquery_path, jquery)) {
    return "cannot read jQuery at " + options.jquery_path +
           ": run 'npm ci' in the source tree, pass --jquery FILE, or --no-demo";
  }
  replace_all(page, kApiOriginPlaceholder, options.api_origin);
  StaticSite site;
  site.add("/", "text/html; charset=utf-8", std::move(page));
  site.add("/vendor/jquery.min.js", "text/javascript; charset=utf-8", std::move(jquery));
  return site;
}

}  // namespace corsd::app
