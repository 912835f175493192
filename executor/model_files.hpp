// Where the real stories260K model is: $SPLITSIM_MODEL_DIR, else a `shared/models/stories260K` folder found
// by walking up from the source tree (and the working directory). The model is never part of the repository.
#pragma once
#include <optional>
#include <string>

namespace splitsim {

std::optional<std::string> find_model_dir();  // folder holding stories260K.bin and tok512.bin

}  // namespace splitsim
