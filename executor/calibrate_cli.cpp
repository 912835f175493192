// `splitsim calibrate-executor`: the executor's operators timed on this host into hwprofiles/measured/<host>.toml.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>

#include "core/cli.hpp"
#include "core/cli_checks.hpp"
#include "core/provenance.hpp"
#include "executor/calibrate.hpp"
#include "hwprofiles/measured_tables.hpp"

namespace splitsim {

void add_calibrate_executor_command(CliRoot& root) {
  auto co = std::make_shared<ExecCalibrationOptions>();
  auto out = std::make_shared<std::string>();
  CLI::App* c = root.app.add_subcommand(
      "calibrate-executor",
      "Time the executor's operators on this host into hwprofiles/measured/<host>.toml (after `calibrate`)");
  c->add_option("--models", co->models, "models/ shapes to measure (random weights)")->delimiter(',')->capture_default_str();
  c->add_option("--bits", co->bits, "weight bit-widths: 32 (fp32), 16 (fp16), 8, 4, 3, 2")->delimiter(',')->capture_default_str();
  c->add_option("--codecs", co->codecs, "wire codecs: fp32, fp16, uniform, ts-tabq")->delimiter(',')->capture_default_str();
  c->add_option("--group-size", co->group_size, "OPSC group size")->capture_default_str()->check(cli::at_least(1));
  c->add_option("--out", *out, "output file (default: hwprofiles/measured/<host>.toml; other tables in it are kept)");
  c->add_flag("--quick", co->quick, "fewer points and shorter samples (CI)");
  c->callback([co, out] {
    std::string cmd = "splitsim calibrate-executor";
    auto join = [](const auto& v) {
      std::string s;
      for (const auto& x : v) s += (s.empty() ? "" : ",") + fmt::format("{}", x);
      return s;
    };
    cmd += " --models " + join(co->models) + " --bits " + join(co->bits) + " --codecs " + join(co->codecs);
    if (co->quick) cmd += " --quick";
    const std::string path = out->empty() ? default_measured_path() : *out;
    if (!out->empty()) cmd += " --out " + std::filesystem::path(*out).filename().string();
    fmt::print(stderr, "calibrating the executor on {} ...\n", this_host_name());
    const std::string tables = calibrate_executor(*co, cmd);
    write_executor_calibration(path, tables);
    fmt::print("wrote {}\n", path);
  });
}

}  // namespace splitsim
