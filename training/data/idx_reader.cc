#include "training/data/idx_reader.h"

#include <zlib.h>

#include <memory>

namespace cadre::training {
namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

// Reads exactly n bytes or reports how the stream ended.
Status read_exact(gzFile f, void* dst, size_t n, const std::string& path, const char* what) {
  auto* out = static_cast<uint8_t*>(dst);
  while (n > 0) {
    const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n, 1u << 30));
    const int got = gzread(f, out, chunk);
    if (got < 0) {
      int err = 0;
      const char* msg = gzerror(f, &err);
      return DataLoss(path + ": corrupt gzip stream while reading " + what + " (" + msg + ")");
    }
    if (got == 0) return DataLoss(path + ": truncated while reading " + what);
    out += got;
    n -= static_cast<size_t>(got);
  }
  return Status::Ok();
}

}  // namespace

Result<IdxArray> read_idx(const std::string& path, size_t max_values) {
  FILE* probe = std::fopen(path.c_str(), "rb");
  if (!probe) return NotFound(path + ": cannot open IDX file (missing or unreadable)");
  std::fclose(probe);
  std::unique_ptr<gzFile_s, GzCloser> f(gzopen(path.c_str(), "rb"));
  if (!f) return NotFound(path + ": cannot open IDX file");
  gzbuffer(f.get(), 1 << 20);

  uint8_t magic[4];
  RETURN_IF_ERROR(read_exact(f.get(), magic, 4, path, "the magic number"));
  if (magic[0] != 0 || magic[1] != 0)
    return DataLoss(path + ": not an IDX file (magic does not start with two zero bytes)");
  if (magic[2] != 0x08)
    return DataLoss(path + ": IDX element type " + std::to_string(magic[2]) +
                    " is not unsigned byte (0x08)");
  const int rank = magic[3];
  if (rank < 1 || rank > 4) return DataLoss(path + ": IDX rank " + std::to_string(rank));

  IdxArray array;
  size_t total = 1;
  for (int i = 0; i < rank; ++i) {
    uint8_t be[4];
    RETURN_IF_ERROR(read_exact(f.get(), be, 4, path, "the dimensions"));
    const uint32_t d = (uint32_t{be[0]} << 24) | (uint32_t{be[1]} << 16) | (uint32_t{be[2]} << 8) |
                       uint32_t{be[3]};
    array.dims.push_back(d);
    // Check before multiplying: never allocate what a corrupt header merely claims.
    if (d != 0 && total > max_values / d)
      return DataLoss(path + ": IDX dimensions claim more than " + std::to_string(max_values) +
                      " values");
    total *= d;
  }
  array.values.resize(total);
  RETURN_IF_ERROR(read_exact(f.get(), array.values.data(), total, path, "the values"));
  return array;
}

}  // namespace cadre::training
