#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"
#include "training/data/dataset.h"
#include "training/data/idx_reader.h"

namespace cadre::training {
namespace {

namespace fs = std::filesystem;

class IdxFiles : public ::testing::Test {
 protected:
  std::string write_gz(const std::string& name, const std::vector<uint8_t>& bytes) {
    const std::string path = (dir_ / name).string();
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
    return path;
  }
  static std::vector<uint8_t> idx(std::vector<uint32_t> dims, size_t values) {
    std::vector<uint8_t> b{0, 0, 0x08, static_cast<uint8_t>(dims.size())};
    for (uint32_t d : dims)
      for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
    for (size_t i = 0; i < values; ++i) b.push_back(static_cast<uint8_t>(i % 10));
    return b;
  }

  cadre::testing::TempDir scratch_{"cadre-idx"};
  const fs::path dir_ = scratch_.path();
};

TEST_F(IdxFiles, ReadsDimensionsAndValues) {
  auto path = write_gz("a.gz", idx({2, 3}, 6));
  auto a = read_idx(path);
  ASSERT_OK(a);
  EXPECT_EQ(a->dims, (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(a->values, (std::vector<uint8_t>{0, 1, 2, 3, 4, 5}));
}

TEST_F(IdxFiles, MissingFileIsNotFoundAndNamesThePath) {
  auto a = read_idx((dir_ / "nope.gz").string());
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kNotFound);
  EXPECT_NE(a.status().message().find("nope.gz"), std::string::npos);
}

TEST_F(IdxFiles, TruncatedFileIsDataLoss) {
  auto a = read_idx(write_gz("t.gz", idx({10, 10}, 57)));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(a.status().message().find("truncated"), std::string::npos);
}

TEST_F(IdxFiles, WrongMagicAndHugeClaimsAreDataLossWithoutAllocating) {
  auto bad = idx({4}, 4);
  bad[0] = 0x1f;
  EXPECT_EQ(read_idx(write_gz("m.gz", bad)).status().code(), StatusCode::kDataLoss);
  auto huge = read_idx(write_gz("h.gz", idx({0xFFFFFFFF, 0xFFFFFFFF}, 0)));
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("claim"), std::string::npos);
}

TEST_F(IdxFiles, CorruptGzipStreamIsDataLoss) {
  const std::string path = (dir_ / "c.gz").string();
  auto good = idx({1000}, 1000);
  write_gz("c.gz", good);
  // Flip bytes in the middle of the deflate stream.
  FILE* f = std::fopen(path.c_str(), "r+b");
  std::fseek(f, 20, SEEK_SET);
  const char junk[16] = {'\x55', '\x12', '\x7f', '\x00', '\x33', '\x44', '\x99', '\xaa',
                         '\x55', '\x12', '\x7f', '\x00', '\x33', '\x44', '\x99', '\xaa'};
  std::fwrite(junk, 1, sizeof(junk), f);
  std::fclose(f);
  auto a = read_idx(path);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), StatusCode::kDataLoss);
}

TEST_F(IdxFiles, DatasetRejectsMismatchedImageAndLabelCounts) {
  write_gz("t10k-images-idx3-ubyte.gz", idx({3, 2, 2}, 12));
  write_gz("t10k-labels-idx1-ubyte.gz", idx({2}, 2));
  auto d = load_fashion_mnist(dir_.string(), Split::kTest);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("3 images but"), std::string::npos);
}

TEST_F(IdxFiles, ASliceIsNormalisedExactlyAsTheSameSamplesOfTheWholeSplit) {
  write_gz("t10k-images-idx3-ubyte.gz", idx({5, 2, 2}, 20));
  write_gz("t10k-labels-idx1-ubyte.gz", idx({5}, 5));
  auto whole = load_fashion_mnist(dir_.string(), Split::kTest);
  ASSERT_OK(whole);
  auto raw = read_fashion_mnist(dir_.string(), Split::kTest);
  ASSERT_OK(raw);
  const Dataset tail = normalized(*raw, 3, 5);
  EXPECT_EQ(tail.count, 2);
  EXPECT_EQ(tail.sample_shape, (Shape{1, 2, 2}));
  EXPECT_EQ(tail.images, std::vector<float>(whole->images.begin() + 12, whole->images.end()));
  EXPECT_EQ(tail.labels, (std::vector<int32_t>{3, 4}));
  EXPECT_EQ(normalized(*raw, 2, 2).count, 0);
}

TEST(FashionMnist, LoadsBothSplitsNormalised) {
  auto train = load_fashion_mnist(CADRE_FASHION_MNIST_DIR, Split::kTrain);
  if (!train.ok() && train.status().code() == StatusCode::kNotFound)
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  ASSERT_OK(train);
  auto test = load_fashion_mnist(CADRE_FASHION_MNIST_DIR, Split::kTest);
  ASSERT_OK(test);
  EXPECT_EQ(train->count, 60000);
  EXPECT_EQ(test->count, 10000);
  EXPECT_EQ(train->sample_shape, (Shape{1, 28, 28}));
  double sum = 0, sq = 0;
  for (float v : train->images) sum += v, sq += static_cast<double>(v) * v;
  const double mean = sum / train->images.size();
  EXPECT_NEAR(mean, 0.0, 0.01);
  EXPECT_NEAR(std::sqrt(sq / train->images.size() - mean * mean), 1.0, 0.01);
}

TEST(EpochShard, RanksGetDisjointEqualShardsThatChangeWithTheEpoch) {
  for (int world : {1, 2, 3, 7}) {
    std::set<int> seen;
    for (int r = 0; r < world; ++r) {
      auto s = epoch_shard(1000, 42, 0, r, world);
      EXPECT_EQ(s.size(), static_cast<size_t>(1000 / world));
      for (int i : s) EXPECT_TRUE(seen.insert(i).second) << "index " << i << " in two shards";
    }
  }
  EXPECT_EQ(epoch_shard(100, 1, 0, 0, 1), epoch_shard(100, 1, 0, 0, 1));
  EXPECT_NE(epoch_shard(100, 1, 0, 0, 1), epoch_shard(100, 1, 1, 0, 1));
  EXPECT_NE(epoch_shard(100, 1, 0, 0, 1), epoch_shard(100, 2, 0, 0, 1));
}

}  // namespace
}  // namespace cadre::training
