// `splitsim validate`: the only validate file that includes CLI11.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <filesystem>

#include "core/error.hpp"
#include "core/scenario.hpp"
#include "core/cli.hpp"
#include "core/cli_checks.hpp"
#include "explorer/published.hpp"
#include "explorer/validate.hpp"
#include "hwprofiles/measured_tables.hpp"

namespace splitsim {

void add_validate_commands(CliRoot& root) {
  auto vo = std::make_shared<ValidateOptions>();
  auto check = std::make_shared<bool>(false);
  auto published = std::make_shared<std::string>();
  CLI::App* v = root.app.add_subcommand(
      "validate", "Run scenarios on the real executor and in the simulator; per-metric errors, validation.csv");
  v->add_option("scenario", vo->scenarios, "Scenario TOML file(s), e.g. scenarios/validate/*.toml");
  v->add_option("--published", *published,
                "Instead: predict published device measurements (default scenarios/validate/published.csv) with the "
                "profiles' cost model; results in results/validate-published unless --out")
      ->expected(0, 1);
  v->add_option("--set", vo->sets, "Override a scenario key in every scenario (repeatable)")->allow_extra_args(false);
  v->add_option("--reps", vo->reps, "Executor repetitions per scenario")->capture_default_str();
  v->add_option("--stat", vo->stat, "Repetitions compared as: median | min")->capture_default_str();
  v->add_flag("--calibrate", vo->calibrate,
              "Calibrate the needed tables first (into <out>/calibration.toml) and simulate with them");
  v->add_flag("--calibrate-each", vo->calibrate_each,
              "Calibrate each scenario's tables right before its runs (<out>/calibration-<scenario>.toml)");
  v->add_flag("--quick-calibration", vo->quick_calibration, "With --calibrate or --calibrate-each: the quick calibration");
  v->add_option("--calibration", vo->calibration,
                "Measured tables to simulate with (default: the host-cpu profiles' hwprofiles/measured/<host>.toml)");
  v->add_option("--weights", vo->weights, "auto | random | checkpoint (stories260K)")->capture_default_str();
  v->add_option("--batch-window", vo->batch_window, "Executor server batch window in s")->capture_default_str();
  v->add_option("--out", vo->out, "Output folder")->capture_default_str();
  v->add_flag("--quiet", vo->quiet, "No per-repetition progress on stderr");
  v->add_flag("--check", *check, "Exit 1 when the targets are not met");
  auto fit = std::make_shared<bool>(false);
  v->add_flag("--fit", *fit, "With --published: fit each profile's memory efficiency, launch overhead and compute "
                             "efficiency to its `fit` points and print them");
  v->callback([vo, check, published, v, fit] {
    if (v->count("--published")) {
      if (!vo->scenarios.empty())
        throw_input("validate", "--published", "no scenario files with it", fmt::format("{} of them", vo->scenarios.size()));
      const std::string file = published->empty() ? data_dir() + "/scenarios/validate/published.csv" : *published;
      const std::string out = v->count("--out") ? vo->out : std::string("results/validate-published");
      if (*fit) return run_published_fit(file);
      const auto predictions = run_published(file, out, true);
      if (*check) {
        const PublishedErrors held = published_errors(predictions, "held-out", "decode_tps");
        if (held.mean_abs > 0.15 || held.worst_abs > 0.35)
          throw std::runtime_error("published validation targets not met (held-out mean <= 15%, worst <= 35%)");
      }
      return;
    }
    if (vo->scenarios.empty())
      throw_input("validate", "scenario", "scenario files (e.g. scenarios/validate/*.toml) or --published", "none");
    auto all = run_validate(*vo);
    if (!*check) return;
    if (!validation_verdict(all).targets) throw std::runtime_error("validation targets not met");
  });
}

}  // namespace splitsim
