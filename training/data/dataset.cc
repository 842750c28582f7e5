#include "training/data/dataset.h"

#include <sys/stat.h>
#include <cstring>
#include <random>

#include "training/data/idx_reader.h"

namespace cadre::training {
namespace {

// Prefers the .gz file Debian ships; accepts an uncompressed copy too.
std::string resolve(const std::string& dir, const std::string& stem) {
  const std::string gz = dir + "/" + stem + ".gz";
  struct stat st;
  if (::stat(gz.c_str(), &st) == 0) return gz;
  const std::string raw = dir + "/" + stem;
  if (::stat(raw.c_str(), &st) == 0) return raw;
  return gz;  // so the NotFound error names the expected file
}

}  // namespace

Result<RawDataset> read_fashion_mnist(const std::string& dir, Split split) {
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  const std::string image_path = resolve(dir, prefix + "-images-idx3-ubyte");
  const std::string label_path = resolve(dir, prefix + "-labels-idx1-ubyte");
  ASSIGN_OR_RETURN(auto images, read_idx(image_path));
  ASSIGN_OR_RETURN(auto labels, read_idx(label_path));
  if (images.dims.size() != 3)
    return DataLoss(image_path + ": expected 3 dimensions (count, rows, cols), got " +
                    std::to_string(images.dims.size()));
  if (labels.dims.size() != 1)
    return DataLoss(label_path + ": expected 1 dimension, got " +
                    std::to_string(labels.dims.size()));
  if (images.dims[0] != labels.dims[0])
    return DataLoss(image_path + " has " + std::to_string(images.dims[0]) + " images but " +
                    label_path + " has " + std::to_string(labels.dims[0]) + " labels");
  RawDataset d;
  d.count = static_cast<int>(images.dims[0]);
  d.sample_shape = {1, static_cast<int>(images.dims[1]), static_cast<int>(images.dims[2])};
  d.images = std::move(images.values);
  d.labels.resize(d.count);
  for (int i = 0; i < d.count; ++i) {
    if (labels.values[i] > 9)
      return DataLoss(label_path + ": label " + std::to_string(labels.values[i]) + " at index " +
                      std::to_string(i) + " is not a class in [0, 10)");
    d.labels[i] = labels.values[i];
  }
  return d;
}

Dataset normalized(const RawDataset& raw, int begin, int end, const Normalization& norm) {
  Dataset d;
  d.count = end - begin;
  d.sample_shape = raw.sample_shape;
  const size_t size = d.sample_size();
  const uint8_t* pixels = raw.images.data() + size * begin;
  d.images.resize(size * d.count);
  const float scale = 1.0f / (255.0f * norm.stddev);
  const float shift = norm.mean / norm.stddev;
  for (size_t i = 0; i < d.images.size(); ++i) d.images[i] = pixels[i] * scale - shift;
  d.labels.assign(raw.labels.begin() + begin, raw.labels.begin() + end);
  return d;
}

Result<Dataset> load_fashion_mnist(const std::string& dir, Split split, const Normalization& norm) {
  ASSIGN_OR_RETURN(auto raw, read_fashion_mnist(dir, split));
  return normalized(raw, 0, raw.count, norm);
}

std::vector<int> epoch_shard(int count, uint64_t seed, int epoch, int rank, int world) {
  std::vector<int> perm(count);
  for (int i = 0; i < count; ++i) perm[i] = i;
  // Fisher-Yates with a platform-independent generator: every rank computes the
  // same permutation without talking to the others.
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
  for (int i = count - 1; i > 0; --i) {
    const int j = static_cast<int>(rng() % static_cast<uint64_t>(i + 1));
    std::swap(perm[i], perm[j]);
  }
  const int per_rank = world > 0 ? count / world : 0;
  std::vector<int> shard(per_rank);
  for (int i = 0; i < per_rank; ++i) shard[i] = perm[static_cast<size_t>(i) * world + rank];
  return shard;
}

void gather_batch(const Dataset& data, const std::vector<int>& indices, size_t begin, size_t end,
                  std::vector<float>* images, std::vector<int32_t>* labels) {
  const size_t sz = data.sample_size();
  images->resize((end - begin) * sz);
  labels->resize(end - begin);
  for (size_t i = begin; i < end; ++i) {
    std::memcpy(images->data() + (i - begin) * sz, data.images.data() + indices[i] * sz,
                sz * sizeof(float));
    (*labels)[i - begin] = data.labels[indices[i]];
  }
}

}  // namespace cadre::training
