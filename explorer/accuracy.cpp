// The accuracy model: measured accuracy.csv rows where they match a configuration exactly, else the
// documented estimate (weights by layer share, KV cache, codec distortion at the split).
#include "explorer/accuracy.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "core/error.hpp"
#include "core/toml_reader.hpp"
#include "explorer/csv_read.hpp"

namespace splitsim {
namespace {

std::pair<double, std::string> sourced_number(const std::string& path, const std::string& key, const toml::node* n) {
  auto t = n ? n->as_table() : nullptr;
  auto v = t ? (*t)["value"].value<double>() : std::nullopt;
  auto s = t ? (*t)["source"].value<std::string>() : std::nullopt;
  if (!v || !s || s->empty())
    throw_input(path, key, "{ value = <number>, source = \"paper: ...\" or \"assumption: ...\" }", "something else");
  return {*v, *s};
}

double cell_number(const CsvData& d, size_t r, const char* col, double fallback) {
  int c = d.column(col);
  if (c < 0 || d.rows[r][static_cast<size_t>(c)].empty()) return fallback;
  try {
    return std::stod(d.rows[r][static_cast<size_t>(c)]);
  } catch (const std::exception&) {
    throw InputError(fmt::format("accuracy.csv row {}: {}: expected a number, got \"{}\"", r + 2, col,
                                 d.rows[r][static_cast<size_t>(c)]));
  }
}

std::string cell(const CsvData& d, size_t r, const char* col) {
  int c = d.column(col);
  return c < 0 ? std::string() : d.rows[r][static_cast<size_t>(c)];
}

std::string bits_text(const std::vector<int64_t>& b) {
  std::string s;
  for (auto x : b) {
    if (!s.empty()) s += ';';
    s += std::to_string(x);
  }
  return s;
}

bool near(double a, double b) { return std::abs(a - b) <= 1e-9 * std::max(1.0, std::abs(b)); }

}  // namespace

std::string default_accuracy_csv() {
  if (const char* p = std::getenv("SPLITSIM_ACCURACY_CSV"); p && *p) return p;
  return data_dir() + "/results/accuracy/accuracy.csv";
}

std::vector<MeasuredAccuracy> read_accuracy_csv(const std::string& path) {
  CsvData d = read_csv(path);
  for (const char* need : {"method", "model", "split", "perplexity", "perplexity_ref"})
    if (d.column(need) < 0) throw InputError(fmt::format("{}: expected a column named {}", path, need));
  std::vector<MeasuredAccuracy> out;
  for (size_t r = 0; r < d.rows.size(); ++r) {
    MeasuredAccuracy m;
    m.method = cell(d, r, "method");
    m.model = cell(d, r, "model");
    m.split = static_cast<int64_t>(cell_number(d, r, "split", -1));
    m.edge_bits = static_cast<int64_t>(cell_number(d, r, "edge_bits", -1));
    m.cloud_bits = static_cast<int64_t>(cell_number(d, r, "cloud_bits", -1));
    m.kv_bits = static_cast<int64_t>(cell_number(d, r, "kv_bits", -1));
    m.group_size = static_cast<int64_t>(cell_number(d, r, "group_size", -1));
    m.uniform_bits = static_cast<int64_t>(cell_number(d, r, "uniform_bits", -1));
    m.ts_mode = cell(d, r, "ts_mode");
    m.ts_threshold = cell_number(d, r, "ts_threshold", NAN);
    m.tabq_eps = cell_number(d, r, "tabq_eps", NAN);
    m.tabq_bits = cell(d, r, "tabq_bits");
    m.perplexity = cell_number(d, r, "perplexity", 0);
    m.perplexity_ref = cell_number(d, r, "perplexity_ref", 0);
    m.kl = cell_number(d, r, "kl", NAN);
    m.agreement = cell_number(d, r, "agreement", NAN);
    if (!(m.perplexity_ref > 0))
      throw InputError(fmt::format("{}: row {}: perplexity_ref: expected a positive number", path, r + 2));
    out.push_back(m);
  }
  return out;
}

AccuracyModel AccuracyModel::load(const std::string& estimates_path, const std::string& measured_path) {
  AccuracyModel am;
  am.estimates_path_ = estimates_path.empty() ? data_dir() + "/explorer/accuracy_estimates.toml" : estimates_path;
  auto src = parse_toml_file(am.estimates_path_);
  const std::string& p = am.estimates_path_;
  if (auto fams = src->root["families"].as_table()) {
    for (auto&& [fname, fnode] : *fams) {
      auto fam = fnode.as_table();
      if (!fam) continue;
      for (auto&& [bkey, bnode] : *fam) {
        std::string b(bkey.str());
        if (b == "models") continue;
        int64_t bits = b == "fp16" ? 16 : (b.rfind("bits", 0) == 0 ? std::atoi(b.c_str() + 4) : -1);
        if (bits <= 0 || !bnode.is_table())
          throw_input(p, fmt::format("families.{}.{}", fname.str(), b), "fp16 or bitsN tables of model = {value, source}",
                      b);
        for (auto&& [model, v] : *bnode.as_table())
          am.ppl_[std::string(model.str())][bits] =
              sourced_number(p, fmt::format("families.{}.{}.{}", fname.str(), b, model.str()), &v);
      }
    }
  }
  auto rel = src->root["relative"].as_table();
  if (!rel) throw_input(p, "relative", "a table of relative losses", "nothing");
  for (const char* k : {"bits8", "bits4", "bits3", "bits2", "kv8", "kv4", "codec_sensitivity"})
    am.relative_[k] = sourced_number(p, std::string("relative.") + k, rel->get(k));
  am.codec_sensitivity_ = am.relative_["codec_sensitivity"].first;
  auto act = src->root["activations"].as_table();
  if (!act) throw_input(p, "activations", "the activation model table", "nothing");
  am.activations_.sigma = sourced_number(p, "activations.sigma", act->get("sigma")).first;
  am.activations_.massive_channels = sourced_number(p, "activations.massive_channels", act->get("massive_channels")).first;
  am.activations_.massive_ratio = sourced_number(p, "activations.massive_ratio", act->get("massive_ratio")).first;

  am.measured_path_ = measured_path.empty() ? default_accuracy_csv() : measured_path;
  if (std::filesystem::exists(am.measured_path_))
    am.measured_ = read_accuracy_csv(am.measured_path_);
  else if (!measured_path.empty())
    throw InputError(fmt::format("{}: cannot open file (--accuracy)", measured_path));
  return am;
}

double AccuracyModel::weight_loss(const std::string& model, int64_t bits) const {
  if (bits >= 16) return 0;
  auto it = ppl_.find(model);
  if (it != ppl_.end()) {
    auto ref = it->second.find(16), q = it->second.find(bits);
    if (ref != it->second.end() && q != it->second.end()) return q->second.first / ref->second.first - 1;
  }
  const char* key = bits >= 8 ? "bits8" : bits >= 4 ? "bits4" : bits >= 3 ? "bits3" : "bits2";
  return relative_.at(key).first;
}

double AccuracyModel::kv_loss(int64_t kv_bits) const {
  if (kv_bits >= 16) return 0;
  return kv_bits >= 8 ? relative_.at("kv8").first : relative_.at("kv4").first;
}

CodecEstimate AccuracyModel::codec_stats(const System& sys) const {
  switch (sys.plan.wire) {
    case WireFormat::ts_tabq: return tabq_stats(sys.scenario.codec, sys.model.dim, activations_);
    case WireFormat::uniform: return uniform_stats(static_cast<int>(sys.plan.wire_bits), sys.model.dim, activations_);
    default: return CodecEstimate{};
  }
}

AccuracyResult AccuracyModel::evaluate(const System& sys, bool with_source) const {
  const Plan& pl = sys.plan;
  const Scenario& sc = sys.scenario;
  for (const auto& m : measured_) {
    if (m.model != sys.model.name || m.method != pl.strategy || m.split != pl.split_layer) continue;
    if ((m.edge_bits >= 0 && m.edge_bits != pl.edge_bits) || (m.cloud_bits >= 0 && m.cloud_bits != pl.cloud_bits) ||
        (m.kv_bits >= 0 && m.kv_bits != pl.kv_bits) || (m.group_size >= 0 && m.group_size != sc.split.group_size))
      continue;
    if (pl.wire == WireFormat::ts_tabq &&
        ((!m.ts_mode.empty() && m.ts_mode != sc.codec.ts_mode) ||
         (!std::isnan(m.ts_threshold) && !near(m.ts_threshold, sc.codec.ts_threshold)) ||
         (!std::isnan(m.tabq_eps) && !near(m.tabq_eps, sc.codec.tabq_eps)) ||
         (!m.tabq_bits.empty() && m.tabq_bits != bits_text(sc.codec.tabq_bits))))
      continue;
    if (pl.wire == WireFormat::uniform && m.uniform_bits >= 0 && m.uniform_bits != pl.wire_bits) continue;
    AccuracyResult r;
    r.loss = m.perplexity / m.perplexity_ref - 1;
    r.measured = true;
    r.kl = m.kl;
    r.agreement = m.agreement;
    if (with_source) r.source = "measured: " + measured_path_;
    return r;
  }
  AccuracyResult r;
  // Each side's weight loss counts in proportion to its share of the model's parameters (the embedding on the
  // edge, or on the server for cloud-only; the head on the server, or on the edge for edge-only).
  const ModelSpec& m = sys.model;
  const double layer = static_cast<double>(m.layer_params()), emb = static_cast<double>(m.embedding_params());
  const double head = static_cast<double>(m.tied_embeddings ? 0 : m.head_params());
  const double s = static_cast<double>(pl.server_has_head ? pl.split_layer : m.n_layers);
  const double edge = (pl.edge_embeds ? emb : 0.0) + s * layer + (pl.server_has_head ? 0.0 : head);
  const double total = emb + static_cast<double>(m.n_layers) * layer + head;
  r.loss = edge / total * weight_loss(m.name, pl.edge_bits) + (total - edge) / total * weight_loss(m.name, pl.cloud_bits) +
           kv_loss(pl.kv_bits) +
           codec_loss(codec_stats(sys).relative_mse);
  if (with_source) r.source = "estimated: " + estimates_path_;
  return r;
}

std::vector<std::string> AccuracyModel::sources() const {
  std::vector<std::string> out;
  for (const auto& [model, bits] : ppl_)
    for (const auto& [b, v] : bits) out.push_back(fmt::format("{} {}: {} ({})", model, b == 16 ? "fp16" : fmt::format("{}-bit", b), v.first, v.second));
  for (const auto& [k, v] : relative_) out.push_back(fmt::format("{}: {} ({})", k, v.first, v.second));
  return out;
}

}  // namespace splitsim
