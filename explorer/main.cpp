// splitsim: one binary, subcommands per module (see cli.hpp).
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/cli.hpp"
#include "core/cli_checks.hpp"

#ifndef SPLITSIM_VERSION
#define SPLITSIM_VERSION "0.1.0"
#endif

namespace {

// Every floating-point flag of every command must be finite, whatever its own checks say.
void require_finite_floats(CLI::App& app) {
  for (CLI::Option* o : app.get_options())
    if (o->get_type_name().rfind("FLOAT", 0) == 0) o->check(splitsim::cli::finite_number());
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) require_finite_floats(*sub);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"splitsim — split computing of LLM inference: simulate, explore, execute"};
  app.set_version_flag("--version", SPLITSIM_VERSION);
  app.require_subcommand(1);
  CLI::App* bench = app.add_subcommand("bench", "Microbenchmarks that print measured numbers");
  bench->require_subcommand(1);
  splitsim::CliRoot root{app, *bench};
  splitsim::add_model_commands(root);
  splitsim::add_estimate_command(root);
  splitsim::add_kernels_commands(root);
  splitsim::add_sim_commands(root);
  splitsim::add_exec_commands(root);
  splitsim::add_explorer_commands(root);
  splitsim::add_validate_commands(root);
  require_finite_floats(app);
  // Every failure is one line on stderr: the message is escaped (one_line) and cut at kMaxMessageBytes, so
  // no input can split it or make it arbitrarily long.
  auto fail = [](const char* kind, std::string_view what, int code) {
    std::string msg = splitsim::one_line(what);
    if (msg.size() > splitsim::kMaxMessageBytes) msg = msg.substr(0, splitsim::kMaxMessageBytes) + "... (cut)";
    std::fflush(stdout);
    fmt::print(stderr, "splitsim: {}: {}\n", kind, msg);
    return code;
  };
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    return fail("error", e.what(), 2);
  } catch (const splitsim::InputError& e) {
    return fail("error", e.what(), 2);
  } catch (const std::exception& e) {
    return fail("failed", e.what(), 1);
  }
  return 0;
}
