// Host launchers of the CUDA codec (device code in codec_cuda.cuh): copy in, one block per token row, copy out.
// The encoder fills the same per-row scratch (RowOut, codes, outliers) as the CPU backends, and the C++ side
// assembles the block from it (wire_codec.cpp), so the wire layout has one implementation.
#include <algorithm>
#include <vector>

#include "kernels/codec_cuda.cuh"
#include "kernels/cuda_launch.hpp"
#include "kernels/cuda_util.cuh"

namespace splitsim::cuda_launch {

using cuda_util::check;
using cuda_util::DeviceBuffer;

namespace {

void check_tokens(int64_t T) {
  if (T > 0x7FFFFFFF) throw std::runtime_error("CUDA codec: more than 2^31 - 1 tokens in one block");
}

// Device buffers of one encode, and its launch.
struct EncodeRun {
  int64_t T, d;
  CodecRowParams p;
  int64_t code_cap;
  DeviceBuffer<float> x, scratch;
  DeviceBuffer<codec_detail::RowOut> rows;
  DeviceBuffer<uint8_t> codes, outliers;
  size_t smem = 0;
  int threads = 0;

  EncodeRun(const float* hx, int64_t T_, int64_t d_, const CodecRowParams& p_, int64_t cap)
      : T(T_), d(d_), p(p_), code_cap(cap), x(T_ * d_), rows(T_), codes(T_ * cap), outliers(p_.ts ? T_ * d_ * 4 : 0) {
    check_tokens(T);
    x.upload(hx, T * d);
    // The block width for this many tokens, within what the kernel's registers allow on this device.
    // The row and the pass values in shared memory when they fit, else a global scratch row per token.
    int dev = 0, limit = 0;
    check(cudaGetDevice(&dev), "cudaGetDevice");
    check(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev), "cudaDeviceGetAttribute");
    const int64_t want = 2 * d * static_cast<int64_t>(sizeof(float));
    if (want + static_cast<int64_t>(sizeof(codec_cuda::EncodeShared)) <= limit) {
      smem = static_cast<size_t>(want);
      check(cudaFuncSetAttribute(codec_cuda::encode_rows_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 static_cast<int>(smem)),
            "cudaFuncSetAttribute");
    } else {
      scratch = DeviceBuffer<float>(T * d);
    }
    // The block width for this many tokens, within what the kernel's registers allow on this device.
    cudaFuncAttributes attr{};
    check(cudaFuncGetAttributes(&attr, codec_cuda::encode_rows_kernel), "cudaFuncGetAttributes");
    threads = std::min(codec_cuda::encode_threads(T), attr.maxThreadsPerBlock / 32 * 32);
  }
  void launch() const {
    codec_cuda::encode_rows_kernel<<<static_cast<unsigned>(T), threads, smem>>>(
        x.get(), d, p, code_cap, rows.get(), codes.get(), outliers.get(), scratch.get());
  }
};

struct DecodeRun {
  int64_t T, d;
  DeviceBuffer<uint8_t> wire;
  DeviceBuffer<codec_detail::RowOut> rows;
  DeviceBuffer<int64_t> code_off, out_off;
  DeviceBuffer<float> y;

  DecodeRun(const uint8_t* hw, int64_t wire_bytes, int64_t T_, int64_t d_, const codec_detail::RowOut* hrows,
            const int64_t* hcode, const int64_t* hout)
      : T(T_), d(d_), wire(wire_bytes), rows(T_), code_off(T_), out_off(T_), y(T_ * d_) {
    check_tokens(T);
    wire.upload(hw, wire_bytes);
    rows.upload(hrows, T);
    code_off.upload(hcode, T);
    out_off.upload(hout, T);
  }
  void launch() const {
    codec_cuda::decode_rows_kernel<<<static_cast<unsigned>(T), codec_cuda::decode_threads(T)>>>(
        wire.get(), d, rows.get(), code_off.get(), out_off.get(), y.get());
  }
};

template <class Run>
double time_launches(const Run& run, int calls, const char* what) {
  run.launch();  // warm-up: module load, caches
  check(cudaDeviceSynchronize(), what);
  cuda_util::KernelTimer timer;
  timer.start();
  for (int i = 0; i < calls; ++i) run.launch();
  return timer.stop(what) / calls;
}

}  // namespace

double codec_encode(const float* x, int64_t T, int64_t d, const CodecRowParams& p, int64_t code_cap,
                    codec_detail::RowOut* rows, uint8_t* codes, uint8_t* outliers) {
  if (T <= 0) return 0;
  EncodeRun run(x, T, d, p, code_cap);
  cuda_util::KernelTimer timer;
  timer.start();
  run.launch();
  const double s = timer.stop("encode_rows_kernel");
  run.rows.download(rows, T);
  run.codes.download(codes, T * code_cap);
  if (p.ts) {
    bool any = false;
    for (int64_t t = 0; t < T && !any; ++t) any = rows[t].n_out > 0;
    if (any) run.outliers.download(outliers, T * d * 4);
  }
  return s;
}

double codec_decode(const uint8_t* wire, int64_t wire_bytes, int64_t T, int64_t d, const codec_detail::RowOut* rows,
                    const int64_t* code_off, const int64_t* out_off, float* out) {
  if (T <= 0) return 0;
  DecodeRun run(wire, wire_bytes, T, d, rows, code_off, out_off);
  cuda_util::KernelTimer timer;
  timer.start();
  run.launch();
  const double s = timer.stop("decode_rows_kernel");
  run.y.download(out, T * d);
  return s;
}

double time_codec_encode(const float* x, int64_t T, int64_t d, const CodecRowParams& p, int64_t code_cap, int calls) {
  if (T <= 0 || calls <= 0) return 0;
  return time_launches(EncodeRun(x, T, d, p, code_cap), calls, "encode_rows_kernel");
}

double time_codec_decode(const uint8_t* wire, int64_t wire_bytes, int64_t T, int64_t d,
                         const codec_detail::RowOut* rows, const int64_t* code_off, const int64_t* out_off, int calls) {
  if (T <= 0 || calls <= 0) return 0;
  return time_launches(DecodeRun(wire, wire_bytes, T, d, rows, code_off, out_off), calls, "decode_rows_kernel");
}

}  // namespace splitsim::cuda_launch
