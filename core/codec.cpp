#include "core/codec.hpp"

#include <fmt/format.h>

#include <array>
#include <cmath>
#include <utility>

#include "core/error.hpp"

namespace splitsim {

namespace {

constexpr std::array<std::pair<WireCodec, const char*>, 4> kCodecs{{{WireCodec::fp32, "fp32"},
                                                                     {WireCodec::fp16, "fp16"},
                                                                     {WireCodec::uniform, "uniform"},
                                                                     {WireCodec::ts_tabq, "ts-tabq"}}};
constexpr std::array<std::pair<TsMode, const char*>, 4> kModes{{{TsMode::none, "none"},
                                                                 {TsMode::fixed, "fixed"},
                                                                 {TsMode::percentile, "percentile"},
                                                                 {TsMode::sigma, "sigma"}}};

template <class Table>
std::string names_of(const Table& t) {
  std::string s;
  for (size_t i = 0; i < t.size(); ++i) s += (i == 0 ? "" : i + 1 == t.size() ? " or " : ", ") + std::string(t[i].second);
  return s;
}

}  // namespace

const char* wire_codec_name(WireCodec c) {
  for (const auto& [k, n] : kCodecs)
    if (k == c) return n;
  return "?";
}

const char* ts_mode_name(TsMode m) {
  for (const auto& [k, n] : kModes)
    if (k == m) return n;
  return "?";
}

std::optional<WireCodec> wire_codec_from_name(std::string_view s) {
  for (const auto& [k, n] : kCodecs)
    if (s == n) return k;
  return std::nullopt;
}

std::optional<TsMode> ts_mode_from_name(std::string_view s) {
  for (const auto& [k, n] : kModes)
    if (s == n) return k;
  return std::nullopt;
}

std::string wire_codec_names() { return names_of(kCodecs); }
std::string ts_mode_names() { return names_of(kModes); }

WireCodec parse_wire_codec(std::string_view s, const std::string& where, const std::string& key) {
  if (auto c = wire_codec_from_name(s)) return *c;
  throw_input(where, key, "one of " + wire_codec_names(), std::string(s));
}

TsMode parse_ts_mode(std::string_view s, const std::string& where, const std::string& key) {
  if (auto m = ts_mode_from_name(s)) return *m;
  throw_input(where, key, "one of " + ts_mode_names(), std::string(s));
}

std::string codec_key(const char* field) { return std::string("codec: ") + field; }

std::string codec_flag(const char* field) {
  std::string f = std::string("--") + field;
  for (char& c : f)
    if (c == '_') c = '-';
  return f;
}

void CodecSpec::validate(const std::function<std::string(const char* field)>& name) const {
  const auto bad = [&](const char* field, const std::string& expected, const std::string& got) {
    throw_input(name(field), "", expected, got);
  };
  if (codec == WireCodec::uniform && (uniform_bits < 2 || uniform_bits > 16))
    bad("uniform_bits", "a bit-width in [2, 16]", std::to_string(uniform_bits));
  if (codec != WireCodec::ts_tabq) return;
  if (tabq_bits.empty() || tabq_bits.size() > static_cast<size_t>(kMaxAllowedBits))
    bad("tabq_bits", fmt::format("1 to {} bit-widths", kMaxAllowedBits), std::to_string(tabq_bits.size()));
  for (int b : tabq_bits)
    if (b < 2 || b > 16) bad("tabq_bits", "bit-widths in [2, 16]", std::to_string(b));
  if (!(tabq_eps > 0 && tabq_eps <= 1)) bad("tabq_eps", "a number in (0, 1]", fmt::format("{}", tabq_eps));
  if (!std::isfinite(ts_threshold)) bad("ts_threshold", "a finite number", fmt::format("{}", ts_threshold));
  if (ts_mode == TsMode::fixed && !(ts_threshold >= 0))
    bad("ts_threshold", "a threshold tau >= 0 for fixed mode", fmt::format("{}", ts_threshold));
  if (ts_mode == TsMode::percentile && !(ts_threshold >= 0 && ts_threshold < 1))
    bad("ts_threshold", "a fraction rho in [0, 1) for percentile mode", fmt::format("{}", ts_threshold));
  if (ts_mode == TsMode::sigma && !(ts_threshold > 0))
    bad("ts_threshold", "k > 0 for sigma mode", fmt::format("{}", ts_threshold));
  if (ts_mode == TsMode::sigma && (sigma_iterations < 1 || sigma_iterations > 8))
    bad("sigma_iterations", "1 to 8", std::to_string(sigma_iterations));
}

nlohmann::json CodecSpec::to_json() const {
  nlohmann::json j{{"codec", wire_codec_name(codec)}};
  if (codec == WireCodec::uniform) j["uniform_bits"] = uniform_bits;
  if (codec == WireCodec::ts_tabq) {
    j["ts_mode"] = ts_mode_name(ts_mode);
    j["ts_threshold"] = ts_threshold;
    j["tabq_eps"] = tabq_eps;
    j["tabq_bits"] = tabq_bits;
  }
  return j;
}

}  // namespace splitsim
