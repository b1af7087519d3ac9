// NgramModel::Serialize and NgramModel::Parse: the byte format of
// training/ngram_format.h.
#include <bit>
#include <cmath>
#include <cstring>
#include <string>

#include "training/ngram_format.h"
#include "training/ngram_model.h"
#include "training/tokenizer.h"

namespace atrest::training {
namespace {

namespace nf = ngram_format;

class Writer {
 public:
  void U32(uint32_t v) {
    uint8_t b[4];
    StoreBigEndian32(v, b);
    out_.insert(out_.end(), b, b + 4);
  }
  void U64(uint64_t v) {
    U32(static_cast<uint32_t>(v >> 32));
    U32(static_cast<uint32_t>(v));
  }
  void F64(double v) { U64(std::bit_cast<uint64_t>(v)); }
  void Raw(std::string_view s) { out_.insert(out_.end(), s.begin(), s.end()); }
  void String(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    Raw(s);
  }
  // Starts a section; EndSection() fills in its length.
  void BeginSection(uint32_t tag) {
    U32(tag);
    section_ = out_.size();
    U64(0);
  }
  void EndSection() {
    const uint64_t length = out_.size() - section_ - 8;
    StoreBigEndian32(static_cast<uint32_t>(length >> 32), &out_[section_]);
    StoreBigEndian32(static_cast<uint32_t>(length), &out_[section_ + 4]);
  }
  const WipedVector<uint8_t>& bytes() const { return out_; }

 private:
  WipedVector<uint8_t> out_;
  size_t section_ = 0;
};

// Reads from a view; every read checks the bytes left.
class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}
  bool U32(uint32_t* v) {
    if (in_.size() < 4) return false;
    *v = LoadBigEndian32(in_.data());
    in_ = in_.subspan(4);
    return true;
  }
  bool U64(uint64_t* v) {
    uint32_t hi, lo;
    if (!U32(&hi) || !U32(&lo)) return false;
    *v = (uint64_t{hi} << 32) | lo;
    return true;
  }
  bool F64(double* v) {
    uint64_t bits;
    if (!U64(&bits)) return false;
    *v = std::bit_cast<double>(bits);
    return std::isfinite(*v);
  }
  bool Raw(size_t n, ByteView* out) {
    if (in_.size() < n) return false;
    *out = in_.first(n);
    in_ = in_.subspan(n);
    return true;
  }
  bool String(std::string_view* s) {
    uint32_t n;
    ByteView b;
    if (!U32(&n) || !Raw(n, &b)) return false;
    *s = AsString(b);
    return true;
  }
  // A count of records of at least `min_size` bytes each that fits.
  bool Count(size_t min_size, uint32_t* n) {
    return U32(n) && *n <= in_.size() / min_size;
  }
  // The payload of the next section, which must carry `tag`.
  bool Section(uint32_t tag, Reader* payload) {
    uint32_t t;
    uint64_t length;
    ByteView b;
    if (!U32(&t) || t != tag || !U64(&length) || length > in_.size() ||
        !Raw(static_cast<size_t>(length), &b)) {
      return false;
    }
    *payload = Reader(b);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  ByteView in_;
};

Status Invalid(const std::string& what) {
  return Status(StatusCode::kInvalidArgument, "n-gram model: " + what,
                "invalid_model");
}

Result<NgramParams> ReadParams(Reader& r) {
  NgramParams p;
  if (!r.U32(&p.max_match) || !r.U32(&p.max_active) || !r.U32(&p.type_prior) ||
      !r.U32(&p.trust) || !r.F64(&p.beta) || !r.F64(&p.match_half) ||
      !r.F64(&p.min_active_weight) || !r.done()) {
    return Invalid("malformed parameters");
  }
  if (!CheckParams(p).ok()) return Invalid("parameter out of range");
  return p;
}

}  // namespace

bool NgramModel::HasMagic(ByteView bytes) {
  return AsString(bytes).starts_with(nf::kMagic);
}

crypto::SecretBytes NgramModel::Serialize() const {
  Writer w;
  w.Raw(nf::kMagic);
  w.U32(nf::kVersion);

  w.BeginSection(nf::kTagParams);
  w.U32(params_.max_match);
  w.U32(params_.max_active);
  w.U32(params_.type_prior);
  w.U32(params_.trust);
  w.F64(params_.beta);
  w.F64(params_.match_half);
  w.F64(params_.min_active_weight);
  w.EndSection();

  w.BeginSection(nf::kTagTokens);
  w.U32(tokens_.size());
  for (uint32_t i = 0; i < tokens_.size(); ++i) w.String(tokens_.Get(i));
  w.EndSection();

  const StringTable& terms = prompts_.terms();
  w.BeginSection(nf::kTagTerms);
  w.U32(terms.size());
  for (uint32_t i = 0; i < terms.size(); ++i) w.String(terms.Get(i));
  w.EndSection();

  w.BeginSection(nf::kTagExamples);
  w.U32(entries());
  for (uint32_t e = 0; e < entries(); ++e) {
    w.U64(mass_[e]);
    const auto entry_terms = prompts_.EntryTerms(e);
    w.U32(static_cast<uint32_t>(entry_terms.size()));
    for (const TermCount& t : entry_terms) {
      w.U32(t.term);
      w.U32(t.count);
    }
    const auto reply = Reply(e);
    w.U32(static_cast<uint32_t>(reply.size()));
    for (uint32_t id : reply) w.U32(id);
  }
  w.EndSection();
  return crypto::SecretBytes::CopyFrom(w.bytes());
}

Result<std::unique_ptr<NgramModel>> NgramModel::Parse(ByteView bytes) {
  if (!HasMagic(bytes)) return Invalid("bad magic");
  Reader r(bytes.subspan(nf::kMagic.size()));
  uint32_t version;
  if (!r.U32(&version) || version != nf::kVersion) {
    return Invalid("unsupported version");
  }

  Reader section(ByteView{});
  if (!r.Section(nf::kTagParams, &section)) return Invalid("no parameters");
  ASSIGN_OR_RETURN(const NgramParams params, ReadParams(section));
  std::unique_ptr<NgramModel> model(new NgramModel(params));

  uint32_t n;
  std::string_view s;
  if (!r.Section(nf::kTagTokens, &section) || !section.Count(4, &n) ||
      n > nf::kMaxTokens) {
    return Invalid("malformed tokens");
  }
  for (uint32_t i = 0; i < n; ++i) {
    if (!section.String(&s) || !IsSingleToken(s) ||
        model->tokens_.Add(s) != i) {
      return Invalid("malformed token");
    }
  }
  if (!section.done()) return Invalid("malformed tokens");
  const uint32_t vocab = n + kFirstWordToken;
  model->global_.SetVocabSize(vocab);

  StringTable& terms = model->prompts_.terms();
  if (!r.Section(nf::kTagTerms, &section) || !section.Count(4, &n)) {
    return Invalid("malformed terms");
  }
  for (uint32_t i = 0; i < n; ++i) {
    if (!section.String(&s) || !IsTerm(s) || terms.Add(s) != i) {
      return Invalid("malformed term");
    }
  }
  if (!section.done()) return Invalid("malformed terms");

  if (!r.Section(nf::kTagExamples, &section) || !section.Count(16, &n)) {
    return Invalid("malformed examples");
  }
  TermVector entry_terms;
  WipedVector<uint32_t> reply;
  for (uint32_t e = 0; e < n; ++e) {
    uint64_t mass;
    uint32_t count;
    if (!section.U64(&mass) || mass < 1 || mass > nf::kMaxMass ||
        !section.Count(8, &count)) {
      return Invalid("malformed example");
    }
    entry_terms.clear();
    for (uint32_t i = 0; i < count; ++i) {
      TermCount t;
      if (!section.U32(&t.term) || !section.U32(&t.count) ||
          t.term >= terms.size() || t.count < 1 ||
          (i > 0 && t.term <= entry_terms.back().term)) {
        return Invalid("malformed example terms");
      }
      entry_terms.push_back(t);
    }
    if (!section.Count(4, &count)) return Invalid("malformed example reply");
    reply.clear();
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t id;
      if (!section.U32(&id) || id < kFirstWordToken || id >= vocab) {
        return Invalid("malformed example reply");
      }
      reply.push_back(id);
    }
    if (!model->AddEntry(entry_terms, reply, mass)) {
      return Invalid("duplicate example");
    }
  }
  if (!section.done() || !r.done()) return Invalid("trailing bytes");
  model->prompts_.Reweight();
  return model;
}

}  // namespace atrest::training
