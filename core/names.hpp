// Names that become file or folder names: a scenario's name (results/<name>/), `exec --name`
// (results/exec/<name>/), and the model, profile and link names looked up as <dir>/<name>.toml. A name is
// 1..kMaxNameBytes letters, digits, '-', '_' and '.', and does not start with '.': so it is never "." or
// "..", never holds a '/', and never leaves the folder it is meant for.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>

namespace splitsim {

constexpr size_t kMaxNameBytes = 100;

// "" when `name` is a valid name, else what is wrong with it ("a name of at most 100 characters, ...").
std::string name_problem(std::string_view name);
// What a name must be, for messages: "a name of 1..100 letters, digits, '-', '_' or '.', not starting with '.'".
std::string name_rule();
// A valid name made from `text` (a file stem): other characters become '_', leading dots are dropped, the
// length is cut; "run" when nothing is left.
std::string name_from(std::string_view text);

}  // namespace splitsim
