#include "protocol/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace cadre::atomic_file_test {

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(AtomicFile, ReplacesTheWholeFileAndLeavesNoTemporaryBehind) {
  testing::TempDir dir;
  const std::string path = dir.file("ports.json");
  ASSERT_TRUE(write_file_atomically(path, "{\"http\":1}\n").ok());
  ASSERT_TRUE(write_file_atomically(path, "{\"http\":2}\n").ok());
  EXPECT_EQ(read(path), "{\"http\":2}\n");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

TEST(AtomicFile, AFileThatCannotBeWrittenIsNamedAndTheOldOneIsKept) {
  testing::TempDir dir;
  const Status missing = write_file_atomically(dir.file("no-such-folder/ports.json"), "x");
  EXPECT_EQ(missing.code(), StatusCode::kInternal);
  EXPECT_NE(missing.message().find("no-such-folder/ports.json.tmp"), std::string::npos)
      << missing.message();
  // A folder where the file should be: the temporary is written, the rename fails,
  // and neither the folder nor a temporary is left changed.
  const std::string taken = dir.file("taken");
  std::filesystem::create_directories(taken + "/inside");
  const Status refused = write_file_atomically(taken, "x");
  EXPECT_EQ(refused.code(), StatusCode::kInternal);
  EXPECT_NE(refused.message().find(taken), std::string::npos) << refused.message();
  EXPECT_TRUE(std::filesystem::is_directory(taken + "/inside"));
  EXPECT_FALSE(std::filesystem::exists(taken + ".tmp"));
}

}  // namespace cadre::atomic_file_test
