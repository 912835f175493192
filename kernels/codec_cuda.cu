// Host launchers of the CUDA codec (device code in codec_cuda.cuh): copy in, one block per token row, copy out.
// The encoder fills the same per-row scratch (RowOut, codes, outliers) as the CPU backends, and the C++ side
// assembles the block from it (wire_codec.cpp), so the wire layout has one implementation.
#include "kernels/codec_cuda.cuh"
#include "kernels/cuda_launch.hpp"
#include "kernels/cuda_util.cuh"

namespace splitsim::cuda_launch {

using cuda_util::check;
using cuda_util::DeviceBuffer;

double codec_encode(const float* x, int64_t T, int64_t d, const CodecRowParams& p, int64_t code_cap,
                    codec_detail::RowOut* rows, uint8_t* codes, uint8_t* outliers) {
  if (T <= 0) return 0;
  if (T > 0x7FFFFFFF) throw std::runtime_error("CUDA codec: more than 2^31 - 1 tokens in one block");
  DeviceBuffer<float> dx(T * d);
  DeviceBuffer<codec_detail::RowOut> drows(T);
  DeviceBuffer<uint8_t> dcodes(T * code_cap);
  DeviceBuffer<uint8_t> douts(p.ts ? T * d * 4 : 0);
  dx.upload(x, T * d);
  cuda_util::KernelTimer timer;
  timer.start();
  codec_cuda::encode_rows_kernel<<<static_cast<unsigned>(T), codec_cuda::kBlock>>>(dx.get(), d, p, code_cap, drows.get(),
                                                                                   dcodes.get(), douts.get());
  const double s = timer.stop("encode_rows_kernel");
  drows.download(rows, T);
  dcodes.download(codes, T * code_cap);
  if (p.ts) {
    bool any = false;
    for (int64_t t = 0; t < T && !any; ++t) any = rows[t].n_out > 0;
    if (any) douts.download(outliers, T * d * 4);
  }
  return s;
}

double codec_decode(const uint8_t* wire, int64_t wire_bytes, int64_t T, int64_t d, const codec_detail::RowOut* rows,
                    const int64_t* code_off, const int64_t* out_off, float* out) {
  if (T <= 0) return 0;
  if (T > 0x7FFFFFFF) throw std::runtime_error("CUDA codec: more than 2^31 - 1 tokens in one block");
  DeviceBuffer<uint8_t> dwire(wire_bytes);
  DeviceBuffer<codec_detail::RowOut> drows(T);
  DeviceBuffer<int64_t> dcode(T), dout_off(T);
  DeviceBuffer<float> dy(T * d);
  dwire.upload(wire, wire_bytes);
  drows.upload(rows, T);
  dcode.upload(code_off, T);
  dout_off.upload(out_off, T);
  cuda_util::KernelTimer timer;
  timer.start();
  codec_cuda::decode_rows_kernel<<<static_cast<unsigned>(T), codec_cuda::kBlock>>>(dwire.get(), d, drows.get(), dcode.get(),
                                                                                   dout_off.get(), dy.get());
  const double s = timer.stop("decode_rows_kernel");
  dy.download(out, T * d);
  return s;
}

}  // namespace splitsim::cuda_launch
