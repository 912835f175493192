// The llama2.c tokenizer (tokenizer.bin): a vocabulary of byte pieces with merge scores. Encoding starts from
// UTF-8 code points (falling back to <0xXX> byte tokens) and greedily merges the adjacent pair whose merged
// piece has the highest score; decoding maps ids back to pieces.
#pragma once
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace splitsim {

constexpr int32_t kBosToken = 1;
constexpr int32_t kEosToken = 2;
constexpr int32_t kFirstByteToken = 3;  // ids 3..258 are the byte tokens <0x00>..<0xFF>

class Tokenizer {
 public:
  // InputError naming the file when it is missing, truncated, holds fewer or more than vocab_size pieces
  // (the checkpoint's vocabulary), lacks the byte tokens at 3..258, or vocab_size cannot hold them.
  Tokenizer(const std::string& path, int64_t vocab_size);

  int64_t vocab_size() const { return static_cast<int64_t>(pieces_.size()); }
  // BOS, then the text with llama2.c's dummy space prefix, merged by score.
  std::vector<int32_t> encode(const std::string& text, bool bos = true, bool eos = false) const;
  // The text of `token` following `prev` (the leading space after BOS is dropped; byte tokens become bytes).
  std::string decode(int32_t prev, int32_t token) const;
  std::string decode_all(const std::vector<int32_t>& tokens) const;  // concatenation, skipping BOS/EOS

 private:
  int lookup(const std::string& piece) const;
  std::vector<std::string> pieces_;
  std::vector<float> scores_;
  std::unordered_map<std::string, int> ids_;
};

}  // namespace splitsim
