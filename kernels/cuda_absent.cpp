// Built when the CUDA kernels are not (no nvcc, or -DSPLITSIM_CUDA=OFF): the CUDA backend reports that this build
// has no CUDA kernels, and its entry points fail with that message (callers check cuda_device_available() first,
// which is false here).
#include <stdexcept>

#include "kernels/codec_internal.hpp"
#include "kernels/cuda_runtime.hpp"
#include "kernels/opsc_internal.hpp"

namespace splitsim {

namespace {
constexpr const char* kAbsent = "this build has no CUDA kernels (kernels/*.cu not compiled in)";
[[noreturn]] void absent() { throw std::runtime_error(kAbsent); }
}  // namespace

namespace cuda_detail {
const Probe& probe() {
  static const Probe p{false, kAbsent};
  return p;
}
}  // namespace cuda_detail

double codec_detail::encode_cuda(const float*, int64_t, int64_t, const ResolvedCodec&, EncodeWork&) { absent(); }
double codec_detail::decode_cuda(std::span<const uint8_t>, const Layout&, float*) { absent(); }
double codec_detail::time_encode_cuda(const float*, int64_t, int64_t, const ResolvedCodec&, int) { absent(); }
double codec_detail::time_decode_cuda(std::span<const uint8_t>, const Layout&, int) { absent(); }
double opsc_detail::gemv_cuda(const QuantizedMatrix&, const float*, float*) { absent(); }
double opsc_detail::gemm_cuda(const QuantizedMatrix&, const float*, int64_t, float*) { absent(); }

CudaMatrix::CudaMatrix(const QuantizedMatrix&) { absent(); }
CudaMatrix::~CudaMatrix() = default;
CudaMatrix::CudaMatrix(CudaMatrix&&) noexcept = default;
CudaMatrix& CudaMatrix::operator=(CudaMatrix&&) noexcept = default;
int64_t CudaMatrix::device_bytes() const { absent(); }
bool CudaMatrix::tiled() const { absent(); }
double CudaMatrix::gemv(const float*, float*) const { absent(); }
double CudaMatrix::gemm(const float*, int64_t, float*, CudaGemm) const { absent(); }

}  // namespace splitsim
