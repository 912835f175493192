// Host side of the CUDA quantized GEMV/GEMM (device code in opsc_cuda.cuh): matrices resident on the device
// (tiled on the host, uploaded once, freed with the handle), the launch shapes, and the benchmark loops.
#include <cuda_fp16.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/cuda_launch.hpp"
#include "kernels/cuda_util.cuh"
#include "kernels/opsc_cuda.cuh"

namespace splitsim::cuda_launch {

using cuda_util::check;
using cuda_util::DeviceBuffer;
using opsc_cuda::MatrixView;

struct ResidentMatrix {
  DeviceBuffer<uint32_t> words, headers;  // tiled
  DeviceBuffer<uint8_t> codes;            // plain
  DeviceBuffer<uint16_t> scales, zeros;
  MatrixView view;
  int64_t bytes = 0;
};

namespace {

int64_t groups_of(const PackedMatrix& m) { return (m.cols + m.group_size - 1) / m.group_size; }

// The tiled layout's words and group headers, built on the host.
struct TiledHost {
  std::vector<uint32_t> words, headers;
};
TiledHost tile_on_host(const PackedMatrix& m) {
  TiledHost h;
  const int64_t rw = opsc_tiled::row_words(m.cols, m.bits);
  h.words.resize(static_cast<size_t>(m.rows * rw));
  for (int64_t r = 0; r < m.rows; ++r)
    opsc_tiled::tile_row(m.codes + r * m.row_code_bytes, m.row_code_bytes, m.cols, m.bits, h.words.data() + r * rw);
  const int64_t n = m.rows * groups_of(m);
  h.headers.resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) h.headers[static_cast<size_t>(i)] = opsc_tiled::group_header(m.scales[i], m.zeros[i]);
  return h;
}

// A device copy of m: the tiled layout when `tiled` is given (tile_on_host(m)), else the plain one.
ResidentMatrix* upload(const PackedMatrix& m, const TiledHost* tiled) {
  auto r = std::make_unique<ResidentMatrix>();
  MatrixView& v = r->view;
  v.rows = m.rows;
  v.cols = m.cols;
  v.bits = m.bits;
  v.group_size = m.group_size;
  v.groups = groups_of(m);
  v.row_code_bytes = m.row_code_bytes;
  v.tiled = tiled != nullptr;
  const int64_t n_hdr = m.rows * v.groups;
  if (tiled) {
    v.row_words = opsc_tiled::row_words(m.cols, m.bits);
    const auto n_words = static_cast<int64_t>(tiled->words.size());
    r->words = DeviceBuffer<uint32_t>(n_words);
    r->words.upload(tiled->words.data(), n_words);
    r->headers = DeviceBuffer<uint32_t>(n_hdr);
    r->headers.upload(tiled->headers.data(), n_hdr);
    v.words = r->words.get();
    v.headers = r->headers.get();
    r->bytes = 4 * (n_words + n_hdr);
  } else {
    r->codes = DeviceBuffer<uint8_t>(m.rows * m.row_code_bytes);
    r->codes.upload(m.codes, m.rows * m.row_code_bytes);
    r->scales = DeviceBuffer<uint16_t>(n_hdr);
    r->scales.upload(m.scales, n_hdr);
    r->zeros = DeviceBuffer<uint16_t>(n_hdr);
    r->zeros.upload(m.zeros, n_hdr);
    v.codes = r->codes.get();
    v.scales = r->scales.get();
    v.zeros = r->zeros.get();
    r->bytes = m.rows * m.row_code_bytes + 4 * n_hdr;
  }
  return r.release();
}

int device_sms() {
  static const int n = [] {
    int dev = 0, sms = 0;
    check(cudaGetDevice(&dev), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev), "cudaDeviceGetAttribute");
    return sms;
  }();
  return n;
}

// ---- GEMV launch ----------------------------------------------------------------------------------------

constexpr GemvShape kShapes[kGemvShapes] = {{16, 2, false}, {32, 2, false}, {16, 4, false}, {32, 4, false},
                                            {32, 8, false}, {16, 4, true},  {32, 4, true},  {32, 2, true}};

template <int B, int U, bool PF>
void launch_tiled(const MatrixView& v, const float* x, float* out, int tile_rows, int split_warps, int splits,
                  int threads) {
  const auto kernel = opsc_cuda::gemv_tiled_kernel<B, U, PF>;
  const size_t smem = static_cast<size_t>(split_warps) * tile_rows * sizeof(float);
  // Resident blocks per multiprocessor, asked once per launch configuration.
  thread_local std::map<std::pair<int, size_t>, int> occupancy;
  auto [it, fresh] = occupancy.try_emplace({threads, smem}, 0);
  if (fresh)
    check(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&it->second, kernel, threads, smem), "cudaOccupancyMaxActiveBlocks");
  const int per_sm = it->second;
  const int64_t tiles = (v.rows + tile_rows - 1) / tile_rows;
  const int64_t limit = static_cast<int64_t>(std::max(1, per_sm)) * device_sms();
  const dim3 grid(static_cast<unsigned>(std::min(tiles, std::max<int64_t>(1, limit / splits))), static_cast<unsigned>(splits));
  kernel<<<grid, threads, smem>>>(v, x, out, tile_rows, split_warps);
}

template <int B>
void launch_tiled_bits(const MatrixView& v, const float* x, float* out, GemvShape s, int split_warps, int splits) {
  const int t = 32 * split_warps, r = s.tile_rows;
  if (s.pipelined) {
    if (s.unroll == 2) return launch_tiled<B, 2, true>(v, x, out, r, split_warps, splits, t);
    return launch_tiled<B, 4, true>(v, x, out, r, split_warps, splits, t);
  }
  if (s.unroll == 8) return launch_tiled<B, 8, false>(v, x, out, r, split_warps, splits, t);
  if (s.unroll == 2) return launch_tiled<B, 2, false>(v, x, out, r, split_warps, splits, t);
  return launch_tiled<B, 4, false>(v, x, out, r, split_warps, splits, t);
}

// The launcher's choice: 16-row tiles, four rows per warp iteration, the next four loaded during the current. On
// the H200 (bench kernels --variants) it was the fastest shape or within 7% of it at every measured shape and width.
GemvShape auto_shape() { return GemvShape{16, 4, true}; }

// Scratch for split partial sums, grown as needed and kept per thread.
float* split_scratch(int64_t n) {
  thread_local std::unique_ptr<DeviceBuffer<float>> buf;
  thread_local int64_t cap = 0;
  if (n > cap) {
    buf.reset();
    buf = std::make_unique<DeviceBuffer<float>>(n);
    cap = n;
  }
  return buf->get();
}

// y = W x with x, y on the device; kernels only (no synchronization).
void gemv_device(const ResidentMatrix& m, const float* dx, float* dy, int variant) {
  const MatrixView& v = m.view;
  if (!v.tiled) {
    const auto blocks = static_cast<unsigned>((v.rows + opsc_cuda::kGenericWarps - 1) / opsc_cuda::kGenericWarps);
    opsc_cuda::gemv_generic_kernel<<<blocks, 32 * opsc_cuda::kGenericWarps>>>(v, dx, dy);
    return;
  }
  const GemvShape s = variant > 0 ? gemv_shape(variant) : auto_shape();
  const int64_t wg = opsc_tiled::warp_groups(v.cols);
  const int splits = static_cast<int>((wg + opsc_cuda::kMaxSplitWarps - 1) / opsc_cuda::kMaxSplitWarps);
  const int split_warps = static_cast<int>((wg + splits - 1) / splits);
  float* out = splits == 1 ? dy : split_scratch(splits * v.rows);
  switch (v.bits) {
    case 2: launch_tiled_bits<2>(v, dx, out, s, split_warps, splits); break;
    case 3: launch_tiled_bits<3>(v, dx, out, s, split_warps, splits); break;
    case 4: launch_tiled_bits<4>(v, dx, out, s, split_warps, splits); break;
    default: launch_tiled_bits<8>(v, dx, out, s, split_warps, splits); break;
  }
  if (splits > 1)
    opsc_cuda::add_splits_kernel<<<static_cast<unsigned>((v.rows + 255) / 256), 256>>>(out, v.rows, splits, dy);
}

// ---- GEMM launch ----------------------------------------------------------------------------------------

template <int B, int BN, int WM>
void launch_tc(const MatrixView& v, const __half* xh, int64_t ld, int64_t T, float* dy) {
  const auto kernel = opsc_cuda::gemm_tc_kernel<B, BN, WM>;
  constexpr size_t smem = opsc_cuda::tc_smem_bytes(BN);
  static const bool sized = [&] {  // above the 48 KiB default: ask once per kernel
    check(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(smem)),
          "cudaFuncSetAttribute");
    return true;
  }();
  (void)sized;
  const dim3 grid(static_cast<unsigned>((v.rows + BN - 1) / BN), static_cast<unsigned>((T + opsc_cuda::kTcM - 1) / opsc_cuda::kTcM));
  kernel<<<grid, opsc_cuda::tc_threads(BN, WM), smem>>>(v, xh, ld, T, dy);
}

// Block shapes of the tensor-core GEMM: rows per block and warps along the tokens.
struct TcShape {
  int bn, wm;
};
constexpr TcShape kTcShapes[kGemmShapes] = {{64, 2}, {32, 2}, {32, 4}, {64, 4}};

template <int B>
void launch_tc_bits(const MatrixView& v, const __half* xh, int64_t ld, int64_t T, float* dy, TcShape s) {
  if (s.bn == 64 && s.wm == 2) return launch_tc<B, 64, 2>(v, xh, ld, T, dy);
  if (s.bn == 64) return launch_tc<B, 64, 4>(v, xh, ld, T, dy);
  if (s.wm == 2) return launch_tc<B, 32, 2>(v, xh, ld, T, dy);
  return launch_tc<B, 32, 4>(v, xh, ld, T, dy);
}

// Y = X W^T with X, Y on the device; xh: scratch of T x chunks * 32 halves (tensor cores only). variant: 0 the
// launcher's choice of block shape, 1 or 2 a fixed one (benchmarks).
void gemm_device(const ResidentMatrix& m, const float* dx, int64_t T, float* dy, GemmKind kind, __half* xh,
                 int variant = 0) {
  const MatrixView& v = m.view;
  if (kind == GemmKind::exact || !v.tiled) {
    const dim3 grid(static_cast<unsigned>((v.rows + opsc_cuda::kTile - 1) / opsc_cuda::kTile),
                    static_cast<unsigned>((T + opsc_cuda::kTile - 1) / opsc_cuda::kTile));
    opsc_cuda::gemm_exact_kernel<<<grid, dim3(opsc_cuda::kTile, 8)>>>(v, dx, T, dy);
    return;
  }
  const int64_t ld = opsc_tiled::chunks(v.cols) * opsc_tiled::kChunkCodes;
  const int64_t n = T * ld;
  opsc_cuda::to_half_kernel<<<static_cast<unsigned>(std::min<int64_t>((n + 255) / 256, 8LL * device_sms())), 256>>>(
      dx, T, v.cols, ld, xh);
  // 64 rows per block (eight warps) unless that leaves more than half the multiprocessors without a block, then 32
  // (four warps): on the H200 the fastest of the four shapes at 16, 128, 512 and 2,048 tokens (bench --variants).
  const int64_t token_blocks = (T + opsc_cuda::kTcM - 1) / opsc_cuda::kTcM;
  const bool wide = 2 * ((v.rows + 63) / 64) * token_blocks >= device_sms();
  const TcShape s = variant > 0 ? kTcShapes[variant - 1] : (wide ? TcShape{64, 2} : TcShape{32, 2});
  switch (v.bits) {
    case 2: launch_tc_bits<2>(v, xh, ld, T, dy, s); break;
    case 3: launch_tc_bits<3>(v, xh, ld, T, dy, s); break;
    case 4: launch_tc_bits<4>(v, xh, ld, T, dy, s); break;
    default: launch_tc_bits<8>(v, xh, ld, T, dy, s); break;
  }
}

int64_t half_scratch_elems(const ResidentMatrix& m, int64_t T, GemmKind kind) {
  return kind == GemmKind::tensor_cores && m.view.tiled ? T * opsc_tiled::chunks(m.view.cols) * opsc_tiled::kChunkCodes
                                                        : 0;
}

// Random device inputs for the benchmarks (values do not change the kernels' time, but zeros are not used).
std::vector<float> random_inputs(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& f : v) f = nd(rng);
  return v;
}

struct Copies {
  std::vector<ResidentMatrix*> mats;
  explicit Copies(const PackedMatrix& m, int n) {
    const bool tiled = opsc_tiled::supported(m.bits, m.group_size);
    const TiledHost h = tiled ? tile_on_host(m) : TiledHost{};
    for (int i = 0; i < n; ++i) mats.push_back(upload(m, tiled ? &h : nullptr));
  }
  ~Copies() {
    for (ResidentMatrix* p : mats) free_matrix(p);
  }
  Copies(const Copies&) = delete;
  Copies& operator=(const Copies&) = delete;
};

}  // namespace

const char* gemm_shape_name(int variant) {
  static const char* const names[kGemmShapes] = {"64r/8w", "32r/4w", "32r/8w", "64r/16w"};
  if (variant < 1 || variant > kGemmShapes) throw std::runtime_error("gemm_shape_name: variant out of range");
  return names[variant - 1];
}

GemvShape gemv_shape(int variant) {
  if (variant < 1 || variant > kGemvShapes) throw std::runtime_error("gemv_shape: variant out of range");
  return kShapes[variant - 1];
}

ResidentMatrix* upload_matrix(const PackedMatrix& m) {
  if (!opsc_tiled::supported(m.bits, m.group_size)) return upload(m, nullptr);
  const TiledHost h = tile_on_host(m);
  return upload(m, &h);
}

void free_matrix(ResidentMatrix* m) noexcept { delete m; }
int64_t resident_bytes(const ResidentMatrix* m) { return m->bytes; }
bool resident_tiled(const ResidentMatrix* m) { return m->view.tiled; }

double resident_gemv(const ResidentMatrix* m, const float* x, float* y, int variant) {
  DeviceBuffer<float> dx(m->view.cols), dy(m->view.rows);
  dx.upload(x, m->view.cols);
  cuda_util::KernelTimer timer;
  timer.start();
  gemv_device(*m, dx.get(), dy.get(), variant);
  const double s = timer.stop("gemv kernels");
  dy.download(y, m->view.rows);
  return s;
}

double resident_gemm(const ResidentMatrix* m, const float* x, int64_t T, float* y, GemmKind kind, int variant) {
  if (T <= 0) return 0;
  DeviceBuffer<float> dx(T * m->view.cols), dy(T * m->view.rows);
  DeviceBuffer<__half> xh(half_scratch_elems(*m, T, kind));
  dx.upload(x, T * m->view.cols);
  cuda_util::KernelTimer timer;
  timer.start();
  gemm_device(*m, dx.get(), T, dy.get(), kind, xh.get(), variant);
  const double s = timer.stop("gemm kernels");
  dy.download(y, T * m->view.rows);
  return s;
}

std::vector<double> time_gemv(const PackedMatrix& m, int copies, int calls, const std::vector<int>& variants) {
  Copies c(m, std::max(1, copies));
  const std::vector<float> x = random_inputs(m.cols, 7);
  DeviceBuffer<float> dx(m.cols), dy(m.rows);
  dx.upload(x.data(), m.cols);
  const int n = static_cast<int>(c.mats.size());
  std::vector<double> out;
  for (int variant : variants) {
    for (int i = 0; i < n; ++i) gemv_device(*c.mats[static_cast<size_t>(i)], dx.get(), dy.get(), variant);  // warm-up
    check(cudaDeviceSynchronize(), "gemv warm-up");
    cuda_util::KernelTimer timer;
    timer.start();
    for (int i = 0; i < calls; ++i) gemv_device(*c.mats[static_cast<size_t>(i % n)], dx.get(), dy.get(), variant);
    out.push_back(timer.stop("gemv kernels") / calls);
  }
  return out;
}

double time_gemm(const PackedMatrix& m, int copies, int64_t T, GemmKind kind, int calls, int variant) {
  Copies c(m, std::max(1, copies));
  const std::vector<float> x = random_inputs(T * m.cols, 8);
  DeviceBuffer<float> dx(T * m.cols), dy(T * m.rows);
  DeviceBuffer<__half> xh(half_scratch_elems(*c.mats[0], T, kind));
  dx.upload(x.data(), T * m.cols);
  const int n = static_cast<int>(c.mats.size());
  for (int i = 0; i < n; ++i) gemm_device(*c.mats[static_cast<size_t>(i)], dx.get(), T, dy.get(), kind, xh.get(), variant);
  check(cudaDeviceSynchronize(), "gemm warm-up");
  cuda_util::KernelTimer timer;
  timer.start();
  for (int i = 0; i < calls; ++i)
    gemm_device(*c.mats[static_cast<size_t>(i % n)], dx.get(), T, dy.get(), kind, xh.get(), variant);
  return timer.stop("gemm kernels") / calls;
}

}  // namespace splitsim::cuda_launch
