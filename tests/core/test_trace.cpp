// Request traces: the Azure and generic formats, their bad inputs, and the window, scaling and clipping a scenario
// applies.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/formats/request_trace.hpp"
#include "../temp_file.hpp"

using namespace splitsim;

namespace {

std::string write_trace(const std::string& name, const std::string& text) {
  return test::write_temp_file("splitsim-test-trace", name, text);
}

std::string error_of(const std::string& path, const std::string& format) {
  try {
    read_request_trace(path, format);
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("trace: Azure timestamps become seconds from the first request", "[trace]") {
  double t = 0;
  REQUIRE(parse_utc_time("1970-01-02 00:00:01", t));
  CHECK(t == 86401.0);
  REQUIRE(parse_utc_time("2023-11-16 18:15:46.6805900", t));
  CHECK(t == Approx(1700158546.68059).epsilon(1e-15));
  CHECK_FALSE(parse_utc_time("2023-13-16 18:15:46", t));
  CHECK_FALSE(parse_utc_time("16/11/2023 18:15", t));
  const auto tr = read_request_trace(write_trace("a.csv", "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                                          "2023-11-16 23:59:59.5,374,44\n"
                                                          "2023-11-17 00:00:01.0,396,109\n"),
                                     "azure");
  REQUIRE(tr.requests.size() == 2);
  CHECK(tr.requests[0].arrival == 0);
  CHECK(tr.requests[1].arrival == Approx(1.5));
  CHECK(tr.requests[1].prompt == 396);
  CHECK(tr.requests[1].output == 109);
  CHECK_FALSE(tr.has_devices);
}

TEST_CASE("trace: the generic format with and without a device column", "[trace]") {
  auto tr = read_request_trace(write_trace("g.csv", "arrival_s,prompt_tokens,output_tokens\n10,5,6\n10.5,7,8\n"), "generic");
  REQUIRE(tr.requests.size() == 2);
  CHECK(tr.requests[1].arrival == Approx(0.5));
  tr = read_request_trace(write_trace("gd.csv", "arrival_s,prompt_tokens,output_tokens,device\n0,5,6,3\n1,7,8,0\n"),
                          "generic");
  CHECK(tr.has_devices);
  CHECK(tr.requests[0].device == 3);
}

TEST_CASE("trace: bad traces are refused with the file and line", "[trace][input]") {
  const std::string head = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
  struct Case {
    std::string text, expected;
  };
  const std::vector<Case> cases = {
      {"", "bad0.csv:1: expected a header line, got an empty file"},
      {head, "bad1.csv:1: expected at least one request after the header"},
      {"time,ctx,gen\n2023-11-16 18:15:46,1,1\n", "bad2.csv:1: expected the header \"TIMESTAMP,ContextTokens,GeneratedTokens\""},
      {head + "2023-11-16 18:15:46,374\n", "bad3.csv:2: expected 3 fields, got 2"},
      {head + "2023-11-16 18:15:46,-3,44\n", "bad4.csv:2: expected a prompt token count >= 1, got \"-3\""},
      {head + "2023-11-16 18:15:46,3,\n", "bad5.csv:2: expected an output token count >= 1, got \"\""},
      {head + "2023-11-16 18:15:46,3,4\n2023-11-16 18:15:45,3,4\n", "bad6.csv:3: expected requests sorted by time"},
      {head + "yesterday,3,4\n", "bad7.csv:2: expected a time like 2023-11-16 18:15:46.68"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string name = "bad" + std::to_string(i) + ".csv";
    const std::string msg = error_of(write_trace(name, cases[i].text), "azure");
    INFO(msg);
    CHECK(msg.find(cases[i].expected) != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
  }
  CHECK(error_of("/nonexistent/trace.csv", "azure").find("cannot open the trace") != std::string::npos);
}

TEST_CASE("trace: a window, a time scale, and requests longer than the context clipped or dropped", "[trace]") {
  const auto tr = read_request_trace(
      write_trace("w.csv", "arrival_s,prompt_tokens,output_tokens\n0,10,10\n5,100,50\n10,30,200\n20,1,1\n"), "generic");
  TraceSelection s = select_requests(tr, 5, 20, 0.5, "clip", 128);
  REQUIRE(s.requests.size() == 2);
  CHECK(s.in_window == 2);
  CHECK(s.clipped == 2);
  CHECK(s.requests[0].arrival == 0);
  CHECK(s.requests[1].arrival == Approx(2.5));
  CHECK(s.requests[0].prompt == 100);  // 150 tokens: the output gives way
  CHECK(s.requests[0].output == 28);
  CHECK(s.requests[1].prompt == 30);
  CHECK(s.requests[1].output == 98);
  CHECK(s.span == Approx(2.5));
  s = select_requests(tr, 0, 1e300, 1, "drop", 128);
  CHECK(s.requests.size() == 2);
  CHECK(s.dropped == 2);
}
