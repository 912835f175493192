// The splitsim command line: main() (explorer/main.cpp, the top layer) builds one CLI11 app and each module adds its
// subcommands. The registry lives in core so that a module's *_cli.cpp registers without including a higher layer.
//
// CLI11 is expensive to compile, so only the *_cli.cpp files include it. Each module's add_*_commands()
// registers its subcommands and their callbacks; callbacks throw InputError on bad input, and main() turns
// that into a one-line message and exit code 2.
#pragma once

namespace CLI {
class App;
}

namespace splitsim {

struct CliRoot {
  CLI::App& app;
  CLI::App& bench;  // "splitsim bench <what>": each module adds its benchmark
};

void add_model_commands(CliRoot& root);     // models, model show            (models/)
void add_estimate_command(CliRoot& root);   // estimate                      (hwprofiles/)
void add_kernels_commands(CliRoot& root);   // bench kernels, calibrate      (kernels/)
void add_sim_commands(CliRoot& root);       // run, bench sim                (sim/)
void add_exec_commands(CliRoot& root);      // exec local|server|edge|eval, bench exec, calibrate-executor (executor/)
void add_calibrate_executor_command(CliRoot& root);  // calibrate-executor (executor/calibrate_cli.cpp)
void add_explorer_commands(CliRoot& root);  // sweep, merge, optimize, plot, validate (explorer/)
void add_validate_commands(CliRoot& root);  // validate (explorer/validate*)

}  // namespace splitsim
