#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/output.hpp"
#include "core/utf8.hpp"

using namespace splitsim;
namespace fs = std::filesystem;

namespace {
std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

TEST_CASE("output: atomic writes leave no temporary behind", "[output]") {
  fs::path dir = fs::temp_directory_path() / "splitsim_test_output";
  fs::remove_all(dir);
  write_file_atomic((dir / "sub" / "a.txt").string(), "hello");
  CHECK(slurp(dir / "sub" / "a.txt") == "hello");
  size_t files = 0;
  for (auto& e : fs::directory_iterator(dir / "sub")) files += e.is_regular_file();
  CHECK(files == 1);
  write_json_atomic((dir / "b.json").string(), {{"x", 1}});
  CHECK(slurp(dir / "b.json") == "{\n  \"x\": 1\n}\n");
  fs::remove_all(dir);
}

TEST_CASE("output: CSV quoting and shape checks", "[output]") {
  CsvTable t({"name", "value"});
  t.row().add("a,b").add(1.5);
  t.row().add("say \"hi\"").add(int64_t{3});
  CHECK(t.str() == "name,value\n\"a,b\",1.5\n\"say \"\"hi\"\"\",3\n");
  CsvTable bad({"a", "b"});
  bad.row().add(1);
  CHECK_THROWS(bad.str());
}

TEST_CASE("output: doubles round-trip and hashes are stable", "[output]") {
  CHECK(format_double(0.1) == "0.1");
  CHECK(std::stod(format_double(1.0 / 3.0)) == 1.0 / 3.0);
  CHECK(fnv1a_hex("") == "cbf29ce484222325");
  CHECK(fnv1a_hex("a") == "af63dc4c8601ec8c");
  // nlohmann's default object is key-sorted, so insertion order does not change the hash.
  nlohmann::json a{{"b", 1}, {"a", 2}}, b{{"a", 2}, {"b", 1}};
  CHECK(hash_json(a) == hash_json(b));
}

TEST_CASE("output: text that is not UTF-8 is written with replacement characters, never refused", "[output][utf8]") {
  int64_t n = -1;
  CHECK(valid_utf8("plain", &n) == "plain");
  CHECK(n == 0);
  CHECK(valid_utf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", &n) == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(n == 0);
  // A lone continuation byte, a truncated sequence, an overlong form, a surrogate, bytes never valid.
  CHECK(valid_utf8("a\x80z", &n) == "a\xEF\xBF\xBDz");
  CHECK(n == 1);
  CHECK(valid_utf8("\xe2\x82", &n) == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(n == 2);
  std::string seven;
  for (int i = 0; i < 7; ++i) seven += "\xEF\xBF\xBD";
  CHECK(valid_utf8("\xc0\xaf\xed\xa0\x80\xff\xfe", &n) == seven);
  CHECK(n == 7);
  const fs::path dir = fs::temp_directory_path() / "splitsim-test-utf8";
  fs::create_directories(dir);
  const std::string path = (dir / "t.json").string();
  write_json_atomic(path, nlohmann::json{{"text", std::string("once\xff upon \xc3")}, {"n", 1}});
  std::ifstream in(path);
  const auto back = nlohmann::json::parse(in);  // strict: throws on invalid UTF-8
  CHECK(back["text"] == "once\xEF\xBF\xBD upon \xEF\xBF\xBD");
  CHECK(hash_json(nlohmann::json{{"a", "\xff"}}) == hash_json(nlohmann::json{{"a", "\xEF\xBF\xBD"}}));
  fs::remove_all(dir);
}
