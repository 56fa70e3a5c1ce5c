#pragma once
// Policy files with one mistake each, and the line it is on: corsd's
// --check-config and corsd::config's load_policy_file() (what host servers
// use) must both refuse each with "FILE:LINE:", the rule and a fix.

namespace corsd::test {

struct Refusal {
  const char* name;
  const char* toml;
  int line;
  const char* says;  // part of the rule the message must state
};

// Each file's mistake is on the line given; a valid [[routes]] header is line 1.
inline const Refusal kPolicyRefusals[] = {
    {"star_exposed_with_credentials",
     "[[routes]]\nallow_origins = [\"https://a.example\"]\nallow_credentials = true\nexpose_headers = [\"*\"]\n", 4,
     "ignore \"*\""},
    {"star_with_credentials", "[[routes]]\nallow_origins = [\"*\"]\nallow_credentials = true\n", 2,
     "credentials cannot be allowed for every origin"},
    {"public_suffix_pattern",
     "[[routes]]\nallow_credentials = true\nallow_origins = [\n  \"https://app.example.com\",\n  "
     "\"https://*.github.io\",\n]\n",
     5, "covers a public suffix"},
    {"insecure_origin_with_credentials",
     "[[routes]]\nallow_credentials = true\nallow_origins = [\"http://intranet.example\"]\n", 3, "plain http"},
    {"null_origin", "[[routes]]\nallow_origins = [\"null\"]\n", 2, "\"null\""},
    {"trailing_slash", "[[routes]]\nallow_origins = [\"https://a.example/\"]\n", 2, "no path and no trailing slash"},
    {"wildcard_in_the_wrong_place", "[[routes]]\nallow_origins = [\"https://app.*.example.com\"]\n", 2,
     "whole first label"},
    {"forbidden_method", "[[routes]]\nallow_origins = [\"https://a.example\"]\nallow_methods = [\"PUT\", \"TRACE\"]\n",
     3, "forbidden method"},
    {"forbidden_header", "[[routes]]\nallow_origins = [\"https://a.example\"]\nallow_headers = [\"Cookie\"]\n", 3,
     "forbidden request header"},
    {"set_cookie_exposed", "[[routes]]\nallow_origins = [\"https://a.example\"]\nexpose_headers = [\"set-cookie\"]\n",
     3, "never expose"},
    {"max_age_out_of_range", "[[routes]]\nallow_origins = [\"https://a.example\"]\nmax_age = 90000\n", 3,
     "max_age must be a whole number from 0 to 86400"},
    {"unknown_key", "[[routes]]\nalow_origins = [\"https://a.example\"]\n", 2, "did you mean \"allow_origins\""},
    {"duplicate_route",
     "[[routes]]\npath = \"/api\"\nallow_origins = [\"*\"]\n\n[[routes]]\npath = \"/api\"\nallow_origins = [\"*\"]\n",
     5, "has a route already"},
    {"not_toml", "[[routes]]\nallow_origins = [\"https://a.example\"\n", 2, "not valid TOML"},
    {"wrong_type", "[[routes]]\nallow_origins = [\"https://a.example\"]\nallow_credentials = \"yes\"\n", 3,
     "true or false"},
    {"missing_origins", "[server]\nthreads = 1\n\n[[routes]]\npath = \"/api\"\n", 4, "needs allow_origins"},
    {"private_network_for_everyone", "[[routes]]\nallow_origins = [\"*\"]\nallow_private_network = true\n", 3,
     "private-network"},
    {"empty_origins", "[[routes]]\nallow_origins = []\n", 2, "no origin would ever be allowed"},
    {"glob_path", "[[routes]]\npath = \"/api/*\"\nallow_origins = [\"*\"]\n", 1, "matched literally"},
    {"bad_host_header", "[[routes]]\nallow_origins = [\"*\"]\nhost_header = \"server\"\n", 3,
     "neither \"client\" nor \"upstream\""},
    {"response_header_allowed",
     "[[routes]]\nallow_origins = [\"https://a.example\"]\nallow_headers = [\n  \"content-type\",\n"
     "  \"Access-Control-Allow-Origin\",\n]\n",
     5, "is a response header"},
    {"set_cookie_allowed",
     "[[routes]]\nallow_origins = [\"https://a.example\"]\nallow_headers = [\"content-type\", \"Set-Cookie\"]\n", 3,
     "Set-Cookie is a response header"},
    {"vary_allowed", "[[routes]]\nallow_origins = [\"https://a.example\"]\n\nallow_headers = [\"vary\"]\n", 4,
     "vary is a response header"},
    // DNS limits: 63 characters a label, 253 a name.
    {"origin_label_too_long",
     "[[routes]]\nallow_origins = [\"https://"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example\"]\n",
     2, "longer than DNS allows"},
};

}  // namespace corsd::test
