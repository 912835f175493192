// The C++20 side of the CUDA backend: the codec_detail / opsc_detail entry points the plain API calls for
// Backend::cuda and the CudaMatrix handle, translated to the C++17 launchers of cuda_launch.hpp (which the .cu files
// implement). Built only when the CUDA kernels are (kernels/CMakeLists.txt); callers check cuda_device_available().
#include <fmt/format.h>

#include <stdexcept>
#include <utility>

#include "kernels/codec_internal.hpp"
#include "kernels/cuda_launch.hpp"
#include "kernels/opsc_internal.hpp"

namespace splitsim {

namespace {

cuda_launch::CodecRowParams row_params(const codec_detail::ResolvedCodec& r) {
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
  return p;
}

}  // namespace

// ---- CudaMatrix ------------------------------------------------------------------------------------------

CudaMatrix::CudaMatrix(const QuantizedMatrix& q) : rows_(q.rows), cols_(q.cols) {
  opsc_detail::check_matrix(q);
  if (!cuda_device_available())
    throw std::runtime_error(fmt::format("CudaMatrix: no CUDA device is available ({})", cuda_device_description()));
  m_ = cuda_launch::upload_matrix(opsc_detail::packed_view(q));
}
CudaMatrix::~CudaMatrix() { cuda_launch::free_matrix(m_); }
CudaMatrix::CudaMatrix(CudaMatrix&& o) noexcept
    : m_(std::exchange(o.m_, nullptr)), rows_(o.rows_), cols_(o.cols_) {}
CudaMatrix& CudaMatrix::operator=(CudaMatrix&& o) noexcept {
  if (this != &o) {
    cuda_launch::free_matrix(m_);
    m_ = std::exchange(o.m_, nullptr);
    rows_ = o.rows_;
    cols_ = o.cols_;
  }
  return *this;
}
int64_t CudaMatrix::device_bytes() const { return cuda_launch::resident_bytes(m_); }
bool CudaMatrix::tiled() const { return cuda_launch::resident_tiled(m_); }
double CudaMatrix::gemv(const float* x, float* y) const { return cuda_launch::resident_gemv(m_, x, y); }
double CudaMatrix::gemm(const float* x, int64_t T, float* y, CudaGemm mode) const {
  if (T < 0) throw std::invalid_argument("CudaMatrix::gemm: T < 0");
  return cuda_launch::resident_gemm(m_, x, T, y,
                                    mode == CudaGemm::exact ? cuda_launch::GemmKind::exact
                                                            : cuda_launch::GemmKind::tensor_cores);
}

// ---- plain API -------------------------------------------------------------------------------------------

double opsc_detail::gemv_cuda(const QuantizedMatrix& q, const float* x, float* y) { return CudaMatrix(q).gemv(x, y); }

double opsc_detail::gemm_cuda(const QuantizedMatrix& q, const float* x, int64_t T, float* y) {
  return CudaMatrix(q).gemm(x, T, y, CudaGemm::exact);
}

double codec_detail::encode_cuda(const float* x, int64_t T, int64_t d, const ResolvedCodec& r, EncodeWork& w) {
  const cuda_launch::CodecRowParams p = row_params(r);
  return cuda_launch::codec_encode(x, T, d, p, w.row_code_cap, w.rows.data(), w.codes.data(),
                                   p.ts ? w.outliers.data() : nullptr);
}

double codec_detail::decode_cuda(std::span<const uint8_t> wire, const Layout& L, float* out) {
  return cuda_launch::codec_decode(wire.data(), static_cast<int64_t>(wire.size()), L.h.T, L.h.d, L.rows.data(),
                                   L.code_off.data(), L.out_off.data(), out);
}

double codec_detail::time_encode_cuda(const float* x, int64_t T, int64_t d, const ResolvedCodec& r, int calls) {
  return cuda_launch::time_codec_encode(x, T, d, row_params(r), packed_code_bytes(d, r.max_bits()), calls);
}

double codec_detail::time_decode_cuda(std::span<const uint8_t> wire, const Layout& L, int calls) {
  return cuda_launch::time_codec_decode(wire.data(), static_cast<int64_t>(wire.size()), L.h.T, L.h.d, L.rows.data(),
                                        L.code_off.data(), L.out_off.data(), calls);
}

}  // namespace splitsim
