#include "corsd/http/access_log.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace corsd::http {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// 2026-12-01T12:00:00.123Z
constexpr std::chrono::system_clock::time_point kTime{std::chrono::seconds(1'796'126'400) + 123ms};

AccessRecord record(const AccessNote& note) {
  AccessRecord r;
  r.time = kTime;
  r.peer = "127.0.0.1";
  r.method = "PUT";
  r.target = "/items/1?q=a";
  r.status = 200;
  r.body_bytes = 12;
  r.duration = 1234567ns;
  r.origin = "https://app.example.com";
  r.user_agent = "curl/8";
  r.note = &note;
  return r;
}

std::string line_of(const AccessRecord& r, AccessLogFormat format) {
  std::vector<char> out(kMaxAccessLine);
  return std::string(out.data(), format_access_line(r, format, out));
}

cors::Decision decision(cors::DecisionKind kind, cors::RejectReason reason = cors::RejectReason::none) {
  cors::Decision d;
  d.kind = kind;
  d.reason = reason;
  return d;
}

TEST(AccessLineTest, JsonHasEveryFieldInOrder) {
  AccessNote note;
  note.set_cors(decision(cors::DecisionKind::actual_allowed));
  const auto started = std::chrono::steady_clock::now();
  note.set_upstream("127.0.0.1:5000", started);
  note.upstream_answered(started + 500us);
  EXPECT_EQ(
      line_of(record(note), AccessLogFormat::json),
      "{\"time\":\"2026-12-01T12:00:00.123Z\",\"peer\":\"127.0.0.1\",\"method\":\"PUT\",\"path\":\"/items/1?q=a\","
      "\"version\":\"HTTP/1.1\",\"status\":200,\"bytes\":12,\"duration\":0.001234,"
      "\"origin\":\"https://app.example.com\",\"referer\":null,\"user_agent\":\"curl/8\","
      "\"cors\":\"actual_allowed\",\"reason\":null,\"upstream\":\"127.0.0.1:5000\",\"upstream_time\":0.000500}\n");
}

TEST(AccessLineTest, JsonEscapesWhatWouldBreakTheLine) {
  AccessNote note;
  note.set_cors(decision(cors::DecisionKind::preflight_rejected, cors::RejectReason::origin_not_allowed));
  AccessRecord r = record(note);
  r.user_agent = "a\"b\\c\nd\x7f\xc3\xa9";
  const std::string line = line_of(r, AccessLogFormat::json);
  EXPECT_NE(line.find("\"user_agent\":\"a\\\"b\\\\c\\u000ad\\u007f\\u00c3\\u00a9\""), std::string::npos) << line;
  EXPECT_NE(line.find("\"cors\":\"preflight_rejected\",\"reason\":\"origin_not_allowed\""), std::string::npos);
  EXPECT_EQ(line.find('\n'), line.size() - 1);
}

TEST(AccessLineTest, CombinedIsApachesFormatThenCorsdsFields) {
  AccessNote note;
  note.set_cors(decision(cors::DecisionKind::preflight_accepted));
  AccessRecord r = record(note);
  r.method = "OPTIONS";
  r.status = 204;
  r.body_bytes = 0;
  r.referer = "https://app.example.com/page";
  EXPECT_EQ(line_of(r, AccessLogFormat::combined),
            "127.0.0.1 - - [01/Dec/2026:12:00:00 +0000] \"OPTIONS /items/1?q=a HTTP/1.1\" 204 - "
            "\"https://app.example.com/page\" \"curl/8\" origin=\"https://app.example.com\" cors=preflight_accepted "
            "reason=- upstream=- upstream_time=- duration=0.001234\n");
}

TEST(AccessLineTest, LongFieldsAreCutToFitOneLine) {
  AccessNote note;
  AccessRecord r = record(note);
  const std::string huge(64 * 1024, '\x01');  // each byte escapes to six
  r.target = huge;
  r.user_agent = huge;
  r.referer = huge;
  r.origin = huge;
  for (const auto format : {AccessLogFormat::json, AccessLogFormat::combined}) {
    const std::string line = line_of(r, format);
    EXPECT_LT(line.size(), kMaxAccessLine);
    EXPECT_EQ(line.back(), '\n');
  }
}

class AccessLogFileTest : public ::testing::Test {
 protected:
  AccessLogFileTest() : dir_(fs::temp_directory_path() / ("corsd-access-log-" + std::to_string(::getpid()))) {
    fs::create_directories(dir_);
  }
  ~AccessLogFileTest() override { fs::remove_all(dir_); }

  static std::string read(const fs::path& file) {
    std::stringstream s;
    s << std::ifstream(file).rdbuf();
    return s.str();
  }
  static std::size_t lines_in(const fs::path& file) {
    const std::string text = read(file);
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  }
  // Waits up to 2 s for `file` to hold `lines` lines.
  static bool wait_for_lines(const fs::path& file, std::size_t lines) {
    for (int i = 0; i < 200 && lines_in(file) < lines; ++i) std::this_thread::sleep_for(10ms);
    return lines_in(file) == lines;
  }

  fs::path dir_;
};

TEST_F(AccessLogFileTest, EveryWorkersLinesReachTheFile) {
  const fs::path file = dir_ / "access.log";
  {
    AccessLog log(2);
    EXPECT_FALSE(log.enabled());
    ASSERT_EQ(log.configure(file.string(), AccessLogFormat::combined), "");
    EXPECT_TRUE(log.enabled());
    EXPECT_EQ(log.format(), AccessLogFormat::combined);
    std::thread other([&] {
      for (int i = 0; i < 500; ++i) log.append(1, "from worker 1\n");
    });
    for (int i = 0; i < 500; ++i) log.append(0, "from worker 0\n");
    other.join();
    EXPECT_EQ(log.lines(), 1000u);
  }  // the destructor writes what is queued
  EXPECT_EQ(lines_in(file), 1000u);
  const std::string text = read(file);
  EXPECT_EQ(text.find("from worker 0from"), std::string::npos) << "lines interleaved";
}

TEST_F(AccessLogFileTest, AFullRingDropsAndCountsInsteadOfWaiting) {
  AccessLog log(1, 4096);
  ASSERT_EQ(log.configure((dir_ / "small.log").string(), AccessLogFormat::json), "");
  const std::string line(100, 'x');
  for (int i = 0; i < 1000; ++i) log.append(0, line);  // far faster than a 100 ms flush
  EXPECT_GT(log.dropped(), 0u);
  EXPECT_EQ(log.lines() + log.dropped(), 1000u);
}

TEST_F(AccessLogFileTest, ReopenStartsANewFileAfterARename) {
  const fs::path file = dir_ / "rotated.log";
  AccessLog log(1);
  ASSERT_EQ(log.configure(file.string(), AccessLogFormat::json), "");
  log.append(0, "one\n");
  ASSERT_TRUE(wait_for_lines(file, 1));
  fs::rename(file, dir_ / "rotated.log.1");
  ASSERT_EQ(log.reopen(), "");
  log.append(0, "two\n");
  ASSERT_TRUE(wait_for_lines(file, 1));
  EXPECT_EQ(read(file), "two\n");
  EXPECT_EQ(read(dir_ / "rotated.log.1"), "one\n");
}

TEST_F(AccessLogFileTest, AnUnopenablePathIsRefusedAndChangesNothing) {
  const fs::path file = dir_ / "kept.log";
  AccessLog log(1);
  ASSERT_EQ(log.configure(file.string(), AccessLogFormat::json), "");
  const std::string error = log.configure((dir_ / "missing" / "a.log").string(), AccessLogFormat::combined);
  EXPECT_NE(error.find("cannot open the access log"), std::string::npos) << error;
  EXPECT_NE(error.find("fix: "), std::string::npos) << error;
  EXPECT_EQ(log.format(), AccessLogFormat::json);
  log.append(0, "still here\n");
  ASSERT_TRUE(wait_for_lines(file, 1));
}

TEST_F(AccessLogFileTest, TurningItOffStopsTheLines) {
  AccessLog log(1);
  ASSERT_EQ(log.configure((dir_ / "off.log").string(), AccessLogFormat::json), "");
  ASSERT_EQ(log.configure("", AccessLogFormat::json), "");
  EXPECT_FALSE(log.enabled());
}

}  // namespace
}  // namespace corsd::http
