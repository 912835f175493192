// The kv_move header's one writer and reader (kv_move.hpp).
#include "core/formats/kv_move.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace splitsim {

void write_kv_move_header(const KvMoveHeader& h, uint8_t out[kKvMoveHeaderBytes]) {
  namespace o = kv_move_offsets;
  le::put_u32(out + o::kMagic, kKvMoveMagic);
  out[o::kVersion] = kKvMoveVersion;
  out[o::kReserved] = 0;
  le::put_u16(out + o::kLayerBegin, static_cast<uint16_t>(h.layer_begin));
  le::put_u16(out + o::kLayerEnd, static_cast<uint16_t>(h.layer_end));
  le::put_u16(out + o::kReserved2, 0);
  le::put_u32(out + o::kPositions, static_cast<uint32_t>(h.positions));
}

KvMoveHeader read_kv_move_header(std::span<const uint8_t> p) {
  namespace o = kv_move_offsets;
  if (static_cast<int64_t>(p.size()) < kKvMoveHeaderBytes)
    throw InputError(fmt::format("kv move: expected a {}-byte header, got {} B", kKvMoveHeaderBytes, p.size()));
  const uint32_t magic = le::get_u32(p.data() + o::kMagic);
  if (magic != kKvMoveMagic)
    throw InputError(fmt::format("kv move: expected magic \"SSK1\" (0x{:08x}), got 0x{:08x}", kKvMoveMagic, magic));
  if (p[o::kVersion] != kKvMoveVersion)
    throw InputError(fmt::format("kv move: expected version {}, got {}", kKvMoveVersion, p[o::kVersion]));
  KvMoveHeader h;
  h.layer_begin = le::get_u16(p.data() + o::kLayerBegin);
  h.layer_end = le::get_u16(p.data() + o::kLayerEnd);
  h.positions = le::get_u32(p.data() + o::kPositions);
  if (h.layer_end <= h.layer_begin)
    throw InputError(fmt::format("kv move: expected layers [begin, end) with begin < end, got [{}, {})", h.layer_begin,
                                 h.layer_end));
  return h;
}

}  // namespace splitsim
