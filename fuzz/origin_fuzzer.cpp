// Fuzzes the origin parser and matcher: any bytes as an allowed-origin rule
// (the first line) and as a request's Origin (the rest). What must hold for
// every input: a rule that parses is written back in a form that parses to
// itself; a matcher answers only a serialized origin, and with that origin
// itself; an exact rule allows exactly the origin it serializes.

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "corsd/cors/detail/origin.hpp"
#include "require.hpp"

namespace {

using corsd::fuzz::require;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nl = input.find('\n');
  const std::string_view rule_text = input.substr(0, nl);
  const std::string_view origin = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);

  const bool serialized = corsd::cors::is_serialized_origin(origin);
  const corsd::cors::ParsedOriginRule parsed = corsd::cors::parse_origin_rule(rule_text);
  if (!parsed.ok()) {
    require(!parsed.fix.empty());
    return 0;
  }
  // Normalizing is idempotent: the text written back parses to the same rule.
  const corsd::cors::ParsedOriginRule again = corsd::cors::parse_origin_rule(parsed.rule.text);
  require(again.ok() && again.rule.text == parsed.rule.text);

  const auto matcher = corsd::cors::OriginMatcher::listed(std::vector{parsed.rule});
  const std::string_view answer = matcher.allow_origin_for(origin);
  if (!answer.empty()) {
    require(serialized);
    require(answer == origin);
  }
  // An exact rule is a serialized origin, which it allows, and nothing else.
  if (!parsed.rule.is_pattern() && corsd::cors::is_serialized_origin(parsed.rule.text)) {
    require(matcher.allow_origin_for(parsed.rule.text) == parsed.rule.text);
    if (!answer.empty()) require(origin == parsed.rule.text);
  }
  return 0;
}
