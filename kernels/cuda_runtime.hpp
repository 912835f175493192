// Internal to kernels/: the CUDA runtime probe. Implemented in cuda_runtime.cu when the build has CUDA, and in
// cuda_absent.cpp (which reports "built without CUDA") otherwise.
#pragma once
#include <string>

namespace splitsim::cuda_detail {

struct Probe {
  bool available = false;
  std::string description;  // "NVIDIA RTX A6000, sm_86, 47.5 GiB" or why there is no device
};
// Asks the runtime once per process; any CUDA error (no driver, no device) means "not available".
const Probe& probe();

}  // namespace splitsim::cuda_detail
