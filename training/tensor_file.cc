#include "training/tensor_file.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>

namespace cadre::training {
namespace {

constexpr uint32_t kVersion = 1;
constexpr size_t kPreamble = 32;
constexpr size_t kMaxHeader = 16 << 20;

size_t align64(size_t n) { return (n + 63) / 64 * 64; }

template <typename T>
void put(std::string* out, size_t at, T v) {
  for (size_t i = 0; i < sizeof(T); ++i) (*out)[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
template <typename T>
T get(const std::string& in, size_t at) {
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<T>(static_cast<uint8_t>(in[at + i])) << (8 * i);
  return v;
}

uint32_t crc(const char* p, size_t n) {
  uLong c = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    c = crc32(c, reinterpret_cast<const Bytef*>(p), chunk);
    p += chunk, n -= chunk;
  }
  return static_cast<uint32_t>(c);
}

Status write_fully(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return Unavailable("writing " + path + ": " + std::strerror(errno));
    p += w, n -= static_cast<size_t>(w);
  }
  return Status::Ok();
}

}  // namespace

const NamedTensor* TensorFile::find(const std::string& name) const {
  for (const auto& t : tensors)
    if (t.name == name) return &t;
  return nullptr;
}

Status write_tensor_file(const std::string& path, const char* magic, const TensorFile& file) {
  nlohmann::json header = file.header;
  header["tensors"] = nlohmann::json::array();
  size_t payload_bytes = 0;
  for (const auto& t : file.tensors) {
    if (t.values.size() != shape_size(t.shape))
      return Internal("tensor " + t.name + ": " + std::to_string(t.values.size()) +
                      " values for shape " + shape_string(t.shape));
    header["tensors"].push_back({{"name", t.name}, {"shape", t.shape}, {"offset", payload_bytes}});
    payload_bytes = align64(payload_bytes + t.values.size() * sizeof(float));
  }
  const std::string header_text = header.dump();
  std::string payload(payload_bytes, '\0');
  size_t off = 0;
  for (const auto& t : file.tensors) {
    // float32 little-endian: x86 and arm64 hosts are little-endian already.
    std::memcpy(payload.data() + off, t.values.data(), t.values.size() * sizeof(float));
    off = align64(off + t.values.size() * sizeof(float));
  }
  std::string preamble(align64(kPreamble + header_text.size()), '\0');
  std::memcpy(preamble.data(), magic, 8);
  put<uint32_t>(&preamble, 8, kVersion);
  put<uint32_t>(&preamble, 12, static_cast<uint32_t>(header_text.size()));
  put<uint64_t>(&preamble, 16, payload_bytes);
  put<uint32_t>(&preamble, 24, crc(payload.data(), payload.size()));
  put<uint32_t>(&preamble, 28, crc(header_text.data(), header_text.size()));
  std::memcpy(preamble.data() + kPreamble, header_text.data(), header_text.size());

  const std::string tmp =
      path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device()());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Unavailable("creating " + tmp + ": " + std::strerror(errno));
  Status s = write_fully(fd, preamble.data(), preamble.size(), tmp);
  if (s.ok()) s = write_fully(fd, payload.data(), payload.size(), tmp);
  if (s.ok() && ::fsync(fd) != 0) s = Unavailable("fsync " + tmp + ": " + std::strerror(errno));
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    s = Unavailable("rename " + tmp + " -> " + path + ": " + std::strerror(errno));
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // The rename itself is durable only once the directory entry is synced.
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

Result<TensorFile> read_tensor_file(const std::string& path, const char* magic) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound(path + ": cannot open");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.size() < kPreamble) return DataLoss(path + ": shorter than the 32-byte preamble");
  if (std::memcmp(bytes.data(), magic, 8) != 0)
    return DataLoss(path + ": magic is not " + std::string(magic, 8));
  const uint32_t version = get<uint32_t>(bytes, 8);
  if (version != kVersion)
    return DataLoss(path + ": format version " + std::to_string(version) + ", this reader knows " +
                    std::to_string(kVersion));
  const size_t header_bytes = get<uint32_t>(bytes, 12);
  const uint64_t payload_bytes = get<uint64_t>(bytes, 16);
  if (header_bytes > kMaxHeader || kPreamble + header_bytes > bytes.size())
    return DataLoss(path + ": header length " + std::to_string(header_bytes) + " is out of range");
  const size_t payload_at = align64(kPreamble + header_bytes);
  if (payload_at > bytes.size() || payload_bytes != bytes.size() - payload_at)
    return DataLoss(path + ": payload is " +
                    std::to_string(bytes.size() - std::min(payload_at, bytes.size())) +
                    " bytes, header says " + std::to_string(payload_bytes) + " (truncated?)");
  if (crc(bytes.data() + kPreamble, header_bytes) != get<uint32_t>(bytes, 28))
    return DataLoss(path + ": header checksum mismatch");
  if (crc(bytes.data() + payload_at, payload_bytes) != get<uint32_t>(bytes, 24))
    return DataLoss(path + ": payload checksum mismatch");
  TensorFile file;
  try {
    file.header =
        nlohmann::json::parse(bytes.begin() + kPreamble, bytes.begin() + kPreamble + header_bytes);
    for (const auto& t : file.header.at("tensors")) {
      NamedTensor nt;
      nt.name = t.at("name").get<std::string>();
      nt.shape = t.at("shape").get<Shape>();
      for (int d : nt.shape)
        if (d < 0) return DataLoss(path + ": tensor " + nt.name + " has a negative dimension");
      const uint64_t offset = t.at("offset").get<uint64_t>();
      const size_t n = shape_size(nt.shape);
      if (offset > payload_bytes || n > (payload_bytes - offset) / sizeof(float))
        return DataLoss(path + ": tensor " + nt.name + " lies outside the payload");
      nt.values.resize(n);
      std::memcpy(nt.values.data(), bytes.data() + payload_at + offset, n * sizeof(float));
      file.tensors.push_back(std::move(nt));
    }
  } catch (const std::exception& e) {
    return DataLoss(path + ": malformed header (" + e.what() + ")");
  }
  file.header.erase("tensors");
  return file;
}

}  // namespace cadre::training
