// llama2.c's BPE tokenizer, file format: int32 max_token_length, then per token: float score, int32 length,
// `length` bytes. Same algorithm as run.c's encode/decode so that token streams match the reference.
#include "executor/tokenizer.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>

#include "core/error.hpp"

namespace splitsim {

Tokenizer::Tokenizer(const std::string& path, int64_t vocab_size) {
  // The pair is checked, not trusted: the encoder falls back to byte tokens 3..258 and the embedding is
  // indexed by every id, so a checkpoint with fewer tokens read past its table, and a tokenizer made for a
  // larger vocabulary gave garbage text with exit 0.
  if (vocab_size < kFirstByteToken + 256)
    throw InputError(
        fmt::format("{}: expected a checkpoint vocabulary of at least {} tokens for a llama2.c tokenizer "
                    "(<unk>, BOS, EOS, 256 byte tokens), got one of {}: this tokenizer and checkpoint do "
                    "not belong together",
                    path, kFirstByteToken + 256, vocab_size));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(fmt::format("{}: cannot open tokenizer", path));
  int32_t max_len = 0;
  in.read(reinterpret_cast<char*>(&max_len), 4);
  if (!in || max_len <= 0 || max_len > 4096)
    throw InputError(fmt::format("{}: expected a tokenizer.bin header (int32 max_token_length), got {}", path, max_len));
  pieces_.reserve(static_cast<size_t>(vocab_size));
  for (int64_t i = 0; i < vocab_size; ++i) {
    float score = 0;
    int32_t len = 0;
    in.read(reinterpret_cast<char*>(&score), 4);
    in.read(reinterpret_cast<char*>(&len), 4);
    if (!in || len < 0 || len > max_len)
      throw InputError(fmt::format("{}: expected {} pieces (the model's vocab_size), the file ends or is corrupt at "
                                   "piece {}",
                                   path, vocab_size, i));
    std::string piece(static_cast<size_t>(len), '\0');
    in.read(piece.data(), len);
    if (in.gcount() != len)
      throw InputError(fmt::format("{}: expected {} pieces, truncated at piece {}", path, vocab_size, i));
    scores_.push_back(score);
    ids_.emplace(piece, static_cast<int>(i));  // first occurrence wins, like run.c's sorted lookup
    pieces_.push_back(std::move(piece));
  }
  if (in.peek() != std::char_traits<char>::eof())
    throw InputError(
        fmt::format("{}: expected {} pieces (the checkpoint's vocabulary), the file holds more: a tokenizer "
                    "for another model (use the tok{}.bin of this checkpoint)",
                    path, vocab_size, vocab_size));
  for (int b = 0; b < 256; ++b) {
    const std::string want = fmt::format("<0x{:02X}>", b);
    if (pieces_[static_cast<size_t>(kFirstByteToken + b)] != want)
      throw InputError(fmt::format("{}: expected the byte token {} at id {}, got {}: not a llama2.c tokenizer", path,
                                   want, kFirstByteToken + b,
                                   quoted_input(pieces_[static_cast<size_t>(kFirstByteToken + b)], 40)));
  }
}

int Tokenizer::lookup(const std::string& piece) const {
  auto it = ids_.find(piece);
  return it == ids_.end() ? -1 : it->second;
}

std::vector<int32_t> Tokenizer::encode(const std::string& text, bool bos, bool eos) const {
  std::vector<int32_t> tokens;
  if (bos) tokens.push_back(kBosToken);
  if (!text.empty()) {
    int space = lookup(" ");
    if (space >= 0) tokens.push_back(space);
  }
  // Code points first; bytes of unknown code points become byte tokens <0xXX> = byte + 3.
  std::string cp;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if ((c & 0xC0) != 0x80) cp.clear();
    cp.push_back(static_cast<char>(c));
    const bool continues = i + 1 < text.size() && (static_cast<unsigned char>(text[i + 1]) & 0xC0) == 0x80;
    if (continues && cp.size() < 4) continue;
    int id = lookup(cp);
    if (id >= 0) {
      tokens.push_back(id);
    } else {
      for (char b : cp) tokens.push_back(static_cast<unsigned char>(b) + kFirstByteToken);
    }
    cp.clear();
  }
  // Merge the best-scoring adjacent pair until none merges.
  while (true) {
    float best = -1e10f;
    int best_id = -1;
    size_t best_at = 0;
    for (size_t i = 0; i + 1 < tokens.size(); ++i) {
      int id = lookup(pieces_[static_cast<size_t>(tokens[i])] + pieces_[static_cast<size_t>(tokens[i + 1])]);
      if (id >= 0 && scores_[static_cast<size_t>(id)] > best) {
        best = scores_[static_cast<size_t>(id)];
        best_id = id;
        best_at = i;
      }
    }
    if (best_id < 0) break;
    tokens[best_at] = best_id;
    tokens.erase(tokens.begin() + static_cast<std::ptrdiff_t>(best_at + 1));
  }
  if (eos) tokens.push_back(kEosToken);
  return tokens;
}

std::string Tokenizer::decode(int32_t prev, int32_t token) const {
  if (token < 0 || token >= vocab_size()) return {};
  std::string piece = pieces_[static_cast<size_t>(token)];
  if (prev == kBosToken && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
  unsigned int byte = 0;
  if (piece.size() == 6 && std::sscanf(piece.c_str(), "<0x%02X>", &byte) == 1) return std::string(1, static_cast<char>(byte));
  return piece;
}

std::string Tokenizer::decode_all(const std::vector<int32_t>& tokens) const {
  std::string out;
  int32_t prev = kBosToken;
  for (int32_t t : tokens) {
    if (t != kBosToken && t != kEosToken) out += decode(prev, t);
    prev = t;
  }
  return out;
}

}  // namespace splitsim
