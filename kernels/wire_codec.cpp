// The wire codec's front: parameter checks, the tensor-wide TS threshold, assembling an encoded block in the
// byte layout of core/formats/wire_block.hpp, and validating a received block before any backend decodes it.
//
// Encoding is two steps. A backend turns each token row into a RowOut (bit-width, fp16 min and delta, outlier
// count) plus its packed codes and outliers in per-row scratch slots; rows are independent, so the cpu backend
// may split them over threads. assemble() then lays the block out: header, per-token headers, codes, outliers.
// Decoding first parses and checks the whole layout (parse_layout), so a backend only ever sees offsets that are
// inside the buffer; a corrupt block fails with InputError "wire block: ..." before anything is written.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

#include "core/error.hpp"
#include "kernels/codec_internal.hpp"

namespace splitsim {

using namespace codec_detail;

namespace {

[[noreturn]] void corrupt(const std::string& what) { throw InputError("wire block: " + what); }

void check_shape(int64_t T, int64_t d) {
  if (T < 0 || T > 0xFFFFFFFFll) throw_input("codec", "T", "a token count in [0, 2^32)", std::to_string(T));
  if (d < 1 || d > 0xFFFFFFFFll) throw_input("codec", "d", "a hidden size >= 1", std::to_string(d));
}

}  // namespace

void CodecParams::validate() const {
  CodecSpec::validate(codec_key);
  if (threads < 0) throw_input("codec", "threads", "a thread count >= 0", std::to_string(threads));
}

namespace codec_detail {

float percentile_tau(const float* x, int64_t n, double rho) {
  const auto k = static_cast<int64_t>(std::floor(rho * static_cast<double>(n)));
  if (k <= 0) return INFINITY;
  std::vector<float> a;
  a.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    if (qmath::is_finite(x[i])) a.push_back(std::fabs(x[i]));
  if (k >= static_cast<int64_t>(a.size())) return -1.0f;  // every finite value is an outlier
  // The (k+1)-th largest |x|: exactly k values lie strictly above it when there are no ties.
  std::nth_element(a.begin(), a.begin() + k, a.end(), std::greater<float>());
  return a[static_cast<size_t>(k)];
}

ResolvedCodec resolve(const float* x, int64_t T, int64_t d, const CodecParams& p) {
  p.validate();
  check_shape(T, d);
  ResolvedCodec r;
  r.codec = p.codec;
  r.uniform_bits = p.uniform_bits;
  if (p.codec != WireCodec::ts_tabq) return r;
  if (d > 65535) throw_input("codec", "d", "a hidden size <= 65535 for ts_tabq (uint16 columns)", std::to_string(d));
  std::vector<int> bits(p.tabq_bits);
  std::sort(bits.begin(), bits.end());
  bits.erase(std::unique(bits.begin(), bits.end()), bits.end());
  r.n_allowed = static_cast<int>(bits.size());
  std::copy(bits.begin(), bits.end(), r.allowed);
  r.ts = p.ts_mode;
  r.eps = p.tabq_eps;
  r.sigma_k = p.ts_threshold;
  r.sigma_iterations = p.sigma_iterations;
  if (r.ts == TsMode::fixed) r.tau = float_round_down(p.ts_threshold);
  if (r.ts == TsMode::percentile) r.tau = percentile_tau(x, T * d, p.ts_threshold);
  return r;
}

void EncodeWork::prepare(int64_t T_, int64_t d_, const ResolvedCodec& r) {
  T = T_;
  d = d_;
  row_code_cap = packed_code_bytes(d, r.max_bits());
  rows.assign(static_cast<size_t>(T), RowOut{});
  // Grow-only buffers: every used byte is written by the encoder, so stale contents never leak.
  const auto need_codes = static_cast<size_t>(T * row_code_cap);
  if (codes.size() < need_codes) codes.resize(need_codes);
  if (r.codec == WireCodec::ts_tabq && r.ts != TsMode::none) {
    const auto need_out = static_cast<size_t>(T * d * kOutlierBytes);
    if (outliers.size() < need_out) outliers.resize(need_out);
  }
}

void assemble(const ResolvedCodec& r, const EncodeWork& w, std::vector<uint8_t>& out) {
  const bool ts = r.codec == WireCodec::ts_tabq;
  const int64_t hdr = token_header_bytes(r.codec);
  int64_t codes_total = 0, outliers_total = 0;
  for (const RowOut& row : w.rows) {
    codes_total += packed_code_bytes(w.d, row.bits);
    outliers_total += row.n_out;
  }
  const int64_t size = kWireHeaderBytes + w.T * hdr + codes_total + outliers_total * kOutlierBytes;
  out.resize(static_cast<size_t>(size));
  uint8_t* p = out.data();
  WireBlockHeader bh;
  bh.codec = static_cast<uint8_t>(r.codec);
  bh.T = static_cast<uint32_t>(w.T);
  bh.d = static_cast<uint32_t>(w.d);
  write_block_header(p, bh);
  uint8_t* th = p + kWireHeaderBytes;
  uint8_t* codes = th + w.T * hdr;
  uint8_t* outl = codes + codes_total;
  for (int64_t t = 0; t < w.T; ++t) {
    const RowOut& row = w.rows[static_cast<size_t>(t)];
    write_token_header(th, TokenHeader{row.bits, row.min_h, row.delta_h, row.n_out}, ts);
    th += hdr;
    const int64_t nb = packed_code_bytes(w.d, row.bits);
    if (nb) std::memcpy(codes, w.codes.data() + t * w.row_code_cap, static_cast<size_t>(nb));
    codes += nb;
    if (row.n_out) {
      std::memcpy(outl, w.outliers.data() + t * w.d * kOutlierBytes, static_cast<size_t>(row.n_out * kOutlierBytes));
      outl += row.n_out * kOutlierBytes;
    }
  }
}

Layout parse_layout(std::span<const uint8_t> wire) {
  Layout L;
  L.h = read_wire_header(wire);
  const int64_t T = L.h.T, d = L.h.d, n = static_cast<int64_t>(wire.size());
  if (L.h.codec == WireCodec::fp32 || L.h.codec == WireCodec::fp16) {
    if (encoded_size_dense(L.h.codec, T, d) != n)
      corrupt(fmt::format("{} bytes, expected {} for a {}x{} {} block", n, encoded_size_dense(L.h.codec, T, d), T, d,
                          wire_codec_name(L.h.codec)));
    L.payload_off = kWireHeaderBytes;
    return L;
  }
  const bool ts = L.h.codec == WireCodec::ts_tabq;
  const int64_t hdr = token_header_bytes(L.h.codec);
  // read_wire_header guaranteed T * hdr fits in the buffer, so the allocations below are bounded by its size.
  L.rows.resize(static_cast<size_t>(T));
  L.code_off.resize(static_cast<size_t>(T));
  L.out_off.resize(static_cast<size_t>(T));
  const uint8_t* th = wire.data() + kWireHeaderBytes;
  int64_t off = kWireHeaderBytes + T * hdr;
  int64_t outliers = 0;
  for (int64_t t = 0; t < T; ++t, th += hdr) {
    RowOut& row = L.rows[static_cast<size_t>(t)];
    const TokenHeader th_in = read_token_header(th, ts);
    row.bits = th_in.bits;
    row.min_h = th_in.min_h;
    row.delta_h = th_in.delta_h;
    row.n_out = th_in.n_out;
    if (row.bits == 1 || row.bits > 16) corrupt(fmt::format("token {}: bit-width {} not in {{0, 2..16}}", t, row.bits));
    const float mn = qmath::half_to_float(row.min_h), dl = qmath::half_to_float(row.delta_h);
    if (!qmath::is_finite(mn) || !qmath::is_finite(dl) || dl < 0)
      corrupt(fmt::format("token {}: min/delta must be finite with delta >= 0", t));
    if (row.n_out > d) corrupt(fmt::format("token {}: {} outliers in a row of {}", t, row.n_out, d));
    L.code_off[static_cast<size_t>(t)] = off;
    off += packed_code_bytes(d, row.bits);  // <= 2d per token: no overflow for d < 2^32, T < 2^32
    if (off > n) corrupt(fmt::format("truncated: token {} codes end at byte {} of {}", t, off, n));
    outliers += row.n_out;
  }
  const int64_t expect = off + outliers * kOutlierBytes;
  if (expect != n) corrupt(fmt::format("{} bytes, expected {} from the token headers", n, expect));
  for (int64_t t = 0; t < T; ++t) {
    L.out_off[static_cast<size_t>(t)] = off;
    int64_t prev = -1;
    for (int64_t k = 0; k < L.rows[static_cast<size_t>(t)].n_out; ++k, off += kOutlierBytes) {
      const int64_t col = read_outlier(wire.data() + off).column;
      if (col >= d || col <= prev)
        corrupt(fmt::format("token {}: outlier column {} (columns must be increasing and < {})", t, col, d));
      prev = col;
    }
  }
  return L;
}

}  // namespace codec_detail

WireHeader read_wire_header(std::span<const uint8_t> wire) {
  const int64_t n = static_cast<int64_t>(wire.size());
  if (n < kWireHeaderBytes) corrupt(fmt::format("truncated: {} bytes, the header alone is {}", n, kWireHeaderBytes));
  const WireBlockHeader b = read_block_header(wire.data());
  if (b.magic != kWireMagic) corrupt("bad magic (not a splitsim wire block)");
  if (b.version != kWireVersion) corrupt(fmt::format("version {}, this build reads version {}", b.version, kWireVersion));
  if (b.codec > static_cast<uint8_t>(WireCodec::ts_tabq)) corrupt(fmt::format("unknown codec {}", b.codec));
  WireHeader h;
  h.codec = static_cast<WireCodec>(b.codec);
  h.flags = b.flags;
  if (h.flags != 0) corrupt(fmt::format("unknown flags 0x{:04x}", h.flags));
  h.T = b.T;
  h.d = b.d;
  if (h.d == 0) corrupt("d = 0");
  const int64_t body = n - kWireHeaderBytes;
  switch (h.codec) {
    case WireCodec::fp32:
    case WireCodec::fp16:
      if (h.T > 0 && h.d > body / h.T) corrupt(fmt::format("truncated: {}x{} values in {} bytes", h.T, h.d, body));
      break;
    case WireCodec::uniform:
      if (h.T > body / kUniformTokenHeaderBytes) corrupt(fmt::format("truncated: {} token headers in {} bytes", h.T, body));
      break;
    case WireCodec::ts_tabq:
      if (h.d > 65535) corrupt(fmt::format("d = {} exceeds the uint16 column range", h.d));
      if (h.T > body / kTabqTokenHeaderBytes) corrupt(fmt::format("truncated: {} token headers in {} bytes", h.T, body));
      break;
  }
  return h;
}

EncodePlan analyze(const float* x, int64_t T, int64_t d, const CodecParams& p) {
  EncodePlan plan;
  plan.codec = p.codec;
  plan.T = T;
  plan.d = d;
  plan.bits.assign(static_cast<size_t>(T), p.codec == WireCodec::fp32 ? 32 : 16);
  plan.outliers.assign(static_cast<size_t>(T), 0);
  if (p.codec == WireCodec::fp32 || p.codec == WireCodec::fp16) {
    check_shape(T, d);
    return plan;
  }
  ResolvedCodec r = resolve(x, T, d, p);
  EncodeWork w;
  w.prepare(T, d, r);
  if (p.backend == Backend::reference) encode_rows_reference(x, 0, T, r, w);
  else encode_rows_cpu(x, 0, T, r, w);  // analysis is cheap; the cuda backend gives the same plan by construction
  for (int64_t t = 0; t < T; ++t) {
    plan.bits[static_cast<size_t>(t)] = w.rows[static_cast<size_t>(t)].bits;
    plan.outliers[static_cast<size_t>(t)] = w.rows[static_cast<size_t>(t)].n_out;
  }
  return plan;
}

int64_t encoded_size(const EncodePlan& plan) {
  if (plan.codec == WireCodec::fp32 || plan.codec == WireCodec::fp16)
    return encoded_size_dense(plan.codec, plan.T, plan.d);
  return encoded_size(plan.codec, plan.d, plan.bits, plan.outliers);
}

namespace {

thread_local double t_codec_cuda_seconds = 0;

int worker_count(int threads, int64_t T) {
  int n = threads == 0 ? static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) : threads;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(n, T)));
}

// Runs f(t0, t1) over [0, T) split into contiguous chunks, one per worker.
template <class F>
void parallel_rows(int64_t T, int workers, F&& f) {
  if (workers <= 1) {
    f(int64_t{0}, T);
    return;
  }
  std::vector<std::thread> pool;
  const int64_t chunk = (T + workers - 1) / workers;
  for (int i = 1; i < workers; ++i) {
    const int64_t t0 = i * chunk, t1 = std::min(T, t0 + chunk);
    if (t0 < t1) pool.emplace_back([&f, t0, t1] { f(t0, t1); });
  }
  f(int64_t{0}, std::min(T, chunk));
  for (auto& th : pool) th.join();
}

}  // namespace

void encode_into(const float* x, int64_t T, int64_t d, const CodecParams& p, std::vector<uint8_t>& out) {
  if (p.backend == Backend::cuda && !cuda_device_available())
    throw std::runtime_error("codec: backend cuda requested but no CUDA device is available (" +
                             cuda_device_description() + ")");
  if (p.codec == WireCodec::fp32 || p.codec == WireCodec::fp16) {
    check_shape(T, d);
    out.resize(static_cast<size_t>(encoded_size_dense(p.codec, T, d)));
    uint8_t* h = out.data();
    WireBlockHeader bh;
    bh.codec = static_cast<uint8_t>(p.codec);
    bh.T = static_cast<uint32_t>(T);
    bh.d = static_cast<uint32_t>(d);
    write_block_header(h, bh);
    // Dense conversions are trivially memory-bound; the cuda backend runs them on the host as well.
    if (p.backend == Backend::reference) dense_encode_reference(x, T * d, p.codec, h + kWireHeaderBytes);
    else dense_encode_cpu(x, T * d, p.codec, h + kWireHeaderBytes);
    return;
  }
  ResolvedCodec r = resolve(x, T, d, p);
  // One scratch per calling thread, reused across calls; workers reach it through the local reference (a
  // thread_local named inside the lambda would be the worker's own instance).
  static thread_local EncodeWork tls_work;
  EncodeWork& w = tls_work;
  w.prepare(T, d, r);
  switch (p.backend) {
    case Backend::reference: encode_rows_reference(x, 0, T, r, w); break;
    case Backend::cpu:
      parallel_rows(T, worker_count(p.threads, T), [&](int64_t t0, int64_t t1) { encode_rows_cpu(x, t0, t1, r, w); });
      break;
    case Backend::cuda: t_codec_cuda_seconds = encode_cuda(x, T, d, r, w); break;
  }
  assemble(r, w, out);
}

std::vector<uint8_t> encode(const float* x, int64_t T, int64_t d, const CodecParams& p) {
  std::vector<uint8_t> out;
  encode_into(x, T, d, p, out);
  return out;
}

void decode_into(std::span<const uint8_t> wire, std::span<float> out, Backend b, int threads) {
  if (b == Backend::cuda && !cuda_device_available())
    throw std::runtime_error("codec: backend cuda requested but no CUDA device is available (" +
                             cuda_device_description() + ")");
  Layout L = parse_layout(wire);
  const int64_t n = L.h.T * L.h.d;
  if (static_cast<int64_t>(out.size()) < n)
    throw_input("codec", "decode output", fmt::format("room for {}x{} floats", L.h.T, L.h.d),
                std::to_string(out.size()));
  if (L.h.codec == WireCodec::fp32 || L.h.codec == WireCodec::fp16) {
    if (b == Backend::reference) dense_decode_reference(wire.data() + L.payload_off, n, L.h.codec, out.data());
    else dense_decode_cpu(wire.data() + L.payload_off, n, L.h.codec, out.data());
    return;
  }
  switch (b) {
    case Backend::reference: decode_rows_reference(wire, L, 0, L.h.T, out.data()); break;
    case Backend::cpu:
      parallel_rows(L.h.T, worker_count(threads, L.h.T),
                    [&](int64_t t0, int64_t t1) { decode_rows_cpu(wire, L, t0, t1, out.data()); });
      break;
    case Backend::cuda: t_codec_cuda_seconds = decode_cuda(wire, L, out.data()); break;
  }
}

DecodedBlock decode(std::span<const uint8_t> wire, Backend b) {
  WireHeader h = read_wire_header(wire);
  DecodedBlock blk;
  // Validate the full layout before allocating T*d floats, so a forged header cannot request a huge buffer.
  (void)parse_layout(wire);
  blk.codec = h.codec;
  blk.T = h.T;
  blk.d = h.d;
  blk.values.resize(static_cast<size_t>(h.T * h.d));
  decode_into(wire, blk.values, b);
  return blk;
}

double last_cuda_codec_kernel_seconds() { return t_codec_cuda_seconds; }

CodecStats measure_codec(const float* x, int64_t T, int64_t d, const CodecParams& p) {
  std::vector<uint8_t> wire = encode(x, T, d, p);
  std::vector<float> y(static_cast<size_t>(T * d));
  decode_into(wire, y, p.backend == Backend::cuda ? Backend::cuda : Backend::cpu);
  CodecStats s;
  s.bits_per_element = 8.0 * static_cast<double>(wire.size()) / static_cast<double>(T * d);
  double err = 0, ref = 0;
  for (int64_t i = 0; i < T * d; ++i) {
    if (!std::isfinite(x[i])) continue;
    const double e = static_cast<double>(x[i]) - static_cast<double>(y[static_cast<size_t>(i)]);
    err += e * e;
    ref += static_cast<double>(x[i]) * static_cast<double>(x[i]);
  }
  s.relative_mse = ref > 0 ? err / ref : err;
  if (p.codec == WireCodec::uniform || p.codec == WireCodec::ts_tabq) {
    Layout L = parse_layout(wire);
    double bits = 0, outl = 0;
    for (const RowOut& r : L.rows) {
      bits += r.bits;
      outl += r.n_out;
    }
    s.mean_token_bits = T ? bits / static_cast<double>(T) : 0;
    s.outliers_per_token = T ? outl / static_cast<double>(T) : 0;
  } else {
    s.mean_token_bits = p.codec == WireCodec::fp32 ? 32 : 16;
  }
  return s;
}

}  // namespace splitsim
