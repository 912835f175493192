// The KV of layers handed from the edge to the server when a split schedule moves (core/split_schedule.hpp):
// the one definition of the kv_move frame's payload, used by the executor's edge and server and by the
// simulator's byte counts.
//
// Layout, version 1, little-endian:
//   header (16 B): magic u32 "SSK1", version u8, reserved u8, layer_begin u16, layer_end u16, reserved u16,
//                  positions u32
//   then one wire block (core/formats/wire_block.hpp) of T = 2 * (layer_end - layer_begin) * positions rows of
//   width kv_dim, in the order: layer, then keys before values, then position. Each row is one cached key or
//   value vector, so a token-wise codec quantizes each on its own scale.
// After the move the edge runs layers [0, layer_begin) and the server [layer_begin, L); the server's cache of
// the moved layers holds exactly `positions` tokens, the ones the edge had cached.
#pragma once
#include <cstdint>
#include <span>

#include "core/formats/bytes.hpp"

namespace splitsim {

constexpr uint32_t kKvMoveMagic = 0x314b5353u;  // "SSK1" read as little-endian u32
constexpr uint8_t kKvMoveVersion = 1;
constexpr int64_t kKvMoveHeaderBytes = 16;

struct KvMoveHeader {
  int64_t layer_begin = 0, layer_end = 0;  // the moved layers [layer_begin, layer_end)
  int64_t positions = 0;                   // cached tokens moved per layer
  // Rows of the wire block that follows.
  int64_t rows() const { return 2 * (layer_end - layer_begin) * positions; }
};
namespace kv_move_offsets {
constexpr int kMagic = 0, kVersion = 4, kReserved = 5, kLayerBegin = 6, kLayerEnd = 8, kReserved2 = 10,
              kPositions = 12;
static_assert(kPositions + 4 == kKvMoveHeaderBytes, "the header ends with the positions");
}  // namespace kv_move_offsets

// Row of the wire block holding layer `l`'s key (value = false) or value vector at `pos`.
constexpr int64_t kv_move_row(const KvMoveHeader& h, int64_t l, bool value, int64_t pos) {
  return ((l - h.layer_begin) * 2 + (value ? 1 : 0)) * h.positions + pos;
}

void write_kv_move_header(const KvMoveHeader& h, uint8_t out[kKvMoveHeaderBytes]);
// InputError "kv move: ..." on a short payload, a bad magic or version, or layers that are not a non-empty
// range below 65536.
KvMoveHeader read_kv_move_header(std::span<const uint8_t> payload);

}  // namespace splitsim
