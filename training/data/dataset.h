// An in-memory image classification dataset (Fashion-MNIST), normalised, with
// the seeded per-epoch shuffling and per-rank sharding data-parallel training
// needs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/status.h"
#include "training/tensor.h"

namespace cadre::training {

// Fashion-MNIST pixel statistics over the training set, after scaling to [0, 1].
struct Normalization {
  float mean = 0.2860f;
  float stddev = 0.3530f;
};

struct Dataset {
  int count = 0;
  Shape sample_shape;           // [1, 28, 28]
  std::vector<float> images;    // count * prod(sample_shape), (x/255 - mean)/stddev
  std::vector<int32_t> labels;  // count values in [0, 10)

  size_t sample_size() const { return shape_size(sample_shape); }
};

enum class Split { kTrain, kTest };

// A split as stored: one byte a pixel. Four times smaller than a Dataset, so a
// program that uses part of it converts only that part (normalized below).
struct RawDataset {
  int count = 0;
  Shape sample_shape;
  std::vector<uint8_t> images;  // count * prod(sample_shape)
  std::vector<int32_t> labels;  // count values in [0, 10)
};

// Reads {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] from dir. Errors name
// the file; images and labels must agree in count, labels must be classes.
Result<RawDataset> read_fashion_mnist(const std::string& dir, Split split);

// Samples [begin, end) of `raw`, normalised; 0 <= begin <= end <= raw.count.
Dataset normalized(const RawDataset& raw, int begin, int end, const Normalization& norm = {});

// The whole split, normalised.
Result<Dataset> load_fashion_mnist(const std::string& dir, Split split,
                                   const Normalization& norm = {});

// This rank's sample indices for one epoch: one permutation of [0, count) seeded
// by (seed, epoch), identical on every rank, of which rank takes positions
// rank, rank + world, ... . Each rank gets count / world samples (the remainder
// is dropped) so every rank runs the same number of steps.
std::vector<int> epoch_shard(int count, uint64_t seed, int epoch, int rank, int world);

// Copies samples indices[begin, end) into contiguous host batch buffers.
void gather_batch(const Dataset& data, const std::vector<int>& indices, size_t begin, size_t end,
                  std::vector<float>* images, std::vector<int32_t>* labels);

}  // namespace cadre::training
