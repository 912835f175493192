// Plots: explorer/plots/plot_results.py (matplotlib) turns result CSVs of a folder into PNG + SVG figures.
#pragma once
#include <string>

namespace splitsim {

// The interpreter: $SPLITSIM_PYTHON, else Debian's /usr/bin/python3 (the one with python3-matplotlib; the
// first python3 on PATH may lack it).
std::string plot_python();
// Runs the plot script on dir; figures go to dir/figures. Throws std::runtime_error when the script fails.
void run_plots(const std::string& dir);

}  // namespace splitsim
