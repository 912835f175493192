// The C++20 side of the CUDA backend: the codec_detail / opsc_detail entry points the plain API calls for
// Backend::cuda, translated to the C++17 launchers of cuda_launch.hpp (which the .cu files implement). Built only
// when the CUDA kernels are (kernels/CMakeLists.txt); callers have checked cuda_device_available() first.
#include "kernels/codec_internal.hpp"
#include "kernels/cuda_launch.hpp"
#include "kernels/opsc_internal.hpp"

namespace splitsim {

namespace {

cuda_launch::PackedMatrix packed(const QuantizedMatrix& q) {
  cuda_launch::PackedMatrix m;
  m.codes = q.codes.data();
  m.scales = q.scales.data();
  m.zeros = q.zeros.data();
  m.rows = q.rows;
  m.cols = q.cols;
  m.row_code_bytes = q.row_code_bytes();
  m.bits = q.bits;
  m.group_size = q.group_size;
  return m;
}

}  // namespace

double codec_detail::encode_cuda(const float* x, int64_t T, int64_t d, const Resolved& r, EncodeWork& w) {
  cuda_launch::CodecRowParams p;
  p.uniform = r.codec == WireCodec::uniform;
  p.ts = r.codec == WireCodec::ts_tabq && r.ts != TsMode::none;
  p.sigma = r.ts == TsMode::sigma;
  p.sigma_k = r.sigma_k;
  p.sigma_iterations = r.sigma_iterations;
  p.tau = r.tau;
  p.eps = r.eps;
  for (int i = 0; i < r.n_allowed; ++i) p.allowed[i] = r.allowed[i];
  p.n_allowed = r.n_allowed;
  p.uniform_bits = r.uniform_bits;
  return cuda_launch::codec_encode(x, T, d, p, w.row_code_cap, w.rows.data(), w.codes.data(),
                                   p.ts ? w.outliers.data() : nullptr);
}

double codec_detail::decode_cuda(std::span<const uint8_t> wire, const Layout& L, float* out) {
  return cuda_launch::codec_decode(wire.data(), static_cast<int64_t>(wire.size()), L.h.T, L.h.d, L.rows.data(),
                                   L.code_off.data(), L.out_off.data(), out);
}

double opsc_detail::gemv_cuda(const QuantizedMatrix& q, const float* x, float* y) {
  return cuda_launch::opsc_gemv(packed(q), x, y);
}

double opsc_detail::gemm_cuda(const QuantizedMatrix& q, const float* x, int64_t T, float* y) {
  return cuda_launch::opsc_gemm(packed(q), x, T, y);
}

}  // namespace splitsim
