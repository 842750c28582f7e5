#include "pipelines/task_output_reader.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace cadre::pipelines {
namespace {

namespace fs = std::filesystem;

class TaskOutputReader : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cadre-outputs-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "parameters");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& relative, const std::string& text) {
    std::ofstream(dir_ / relative) << text;
  }
  OutputRead read_of(std::vector<std::string> names) {
    OutputRead read;
    read.task_id = "t";
    read.dir = dir_.string();
    read.parameter_names = std::move(names);
    return read;
  }
  fs::path dir_;
};

TEST_F(TaskOutputReader, ReadsParameterFilesAndTheExecutorOutput) {
  write("parameters/a", "1\n");
  write("executor_output.json", "{}");
  auto files = read_task_outputs(read_of({"a", "missing"}));
  EXPECT_EQ(files.error, "");
  EXPECT_EQ(files.parameters.at("a"), "1\n");
  EXPECT_EQ(files.parameters.count("missing"), 0u);
  EXPECT_EQ(*files.executor_output, "{}");
}

TEST_F(TaskOutputReader, AFolderThatWasNeverMadeMeansNothingWasWritten) {
  OutputRead read = read_of({"a"});
  read.dir = (dir_ / "nope").string();
  auto files = read_task_outputs(read);
  EXPECT_EQ(files.error, "");
  EXPECT_TRUE(files.parameters.empty());
  EXPECT_FALSE(files.executor_output);
}

TEST_F(TaskOutputReader, RefusesSymlinksSoAStepCannotMakeTheCoordinatorReadItsFiles) {
  write("secret", "coordinator's own");
  fs::create_symlink(dir_ / "secret", dir_ / "parameters" / "a");
  auto files = read_task_outputs(read_of({"a"}));
  EXPECT_NE(files.error.find("symlink"), std::string::npos) << files.error;
  EXPECT_TRUE(files.parameters.empty());

  fs::remove_all(dir_ / "parameters");
  fs::create_directories(dir_ / "elsewhere");
  std::ofstream(dir_ / "elsewhere" / "a") << "x";
  fs::create_directory_symlink(dir_ / "elsewhere", dir_ / "parameters");
  EXPECT_NE(read_task_outputs(read_of({"a"})).error, "");

  fs::create_symlink(dir_ / "secret", dir_ / "executor_output.json");
  EXPECT_NE(read_task_outputs(read_of({})).error.find("symlink"), std::string::npos);
}

TEST_F(TaskOutputReader, RefusesOversizedFilesAndFifosBeforeReadingThem) {
  write("parameters/big", std::string(2048, 'x'));
  OutputReadLimits limits;
  limits.max_parameter_bytes = 1024;
  auto files = read_task_outputs(read_of({"big"}), limits);
  EXPECT_NE(files.error.find("2048 bytes; the limit is 1024"), std::string::npos) << files.error;
  ASSERT_EQ(::mkfifo((dir_ / "parameters" / "pipe").c_str(), 0600), 0);
  // A FIFO would block a plain read forever; it is refused at once.
  EXPECT_NE(read_task_outputs(read_of({"pipe"})).error.find("not a regular file"),
            std::string::npos);
}

TEST_F(TaskOutputReader, AWorkloadsArtifactsAndExportedModelAreFoundNotRead) {
  fs::create_directories(dir_ / "artifacts" / "data");
  write("model.cadre", "CADREMDL");
  OutputRead read = read_of({});
  read.artifact_names = {"data", "model"};
  read.find_exported_model = true;
  auto files = read_task_outputs(read);
  EXPECT_EQ(files.error, "");
  EXPECT_EQ(files.artifacts, std::set<std::string>{"data"});
  EXPECT_EQ(files.exported_model, (dir_ / "model.cadre").string());

  // A symlink is not a model the job exported.
  fs::remove(dir_ / "model.cadre");
  write("elsewhere.pt", "x");
  fs::create_symlink(dir_ / "elsewhere.pt", dir_ / "model.pt");
  EXPECT_EQ(read_task_outputs(read).exported_model, "");
}

}  // namespace
}  // namespace cadre::pipelines
