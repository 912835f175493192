// Built when the CUDA kernels are not (no nvcc, or -DSPLITSIM_CUDA=OFF): the CUDA backend reports that this build has no CUDA kernels, and its entry
// points fail with that message (callers check cuda_device_available() first, which is false here).
#include <stdexcept>

#include "kernels/codec_internal.hpp"
#include "kernels/cuda_runtime.hpp"
#include "kernels/opsc_internal.hpp"

namespace splitsim {

namespace cuda_detail {
const Probe& probe() {
  static const Probe p{false, "this build has no CUDA kernels (kernels/*.cu not compiled in)"};
  return p;
}
}  // namespace cuda_detail

namespace {
[[noreturn]] void absent() { throw std::runtime_error("this build has no CUDA kernels (kernels/*.cu not compiled in)"); }
}  // namespace

double codec_detail::encode_cuda(const float*, int64_t, int64_t, const Resolved&, EncodeWork&) { absent(); }
double codec_detail::decode_cuda(std::span<const uint8_t>, const Layout&, float*) { absent(); }
double opsc_detail::gemv_cuda(const QuantizedMatrix&, const float*, float*) { absent(); }
double opsc_detail::gemm_cuda(const QuantizedMatrix&, const float*, int64_t, float*) { absent(); }

}  // namespace splitsim
