#include "pipelines/task_output_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cadre::pipelines {
namespace {

// An fd that closes itself.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

enum class Got { kFile, kMissing, kError };

// Opens `name` under `dir` without following a symlink; reads it if it is a
// regular file of at most `limit` bytes.
Got read_file_at(int dir, const std::string& name, size_t limit, std::string& out,
                 std::string& error) {
  Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd.ok()) {
    if (errno == ENOENT) return Got::kMissing;
    error = name + ": " + (errno == ELOOP ? "is a symlink" : std::strerror(errno));
    return Got::kError;
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    error = name + ": not a regular file";
    return Got::kError;
  }
  if (static_cast<size_t>(st.st_size) > limit) {
    error =
        name + ": " + std::to_string(st.st_size) + " bytes; the limit is " + std::to_string(limit);
    return Got::kError;
  }
  out.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  out.resize(got);  // a file that shrank while read is read as it is now
  return Got::kFile;
}

// Where cadre-train --export "$CADRE_CHECKPOINT_DIR/model.cadre" (or a TorchScript
// export) put the job's model, as an InferenceService's trainjob:// expects: in the
// task's folder (`dir`, -1 if it was never made), or in read.model_dir.
void find_exported_model(const OutputRead& read, int dir, TaskOutputFiles& files) {
  if (!read.find_exported_model) return;
  const std::string& model_dir = read.model_dir.empty() ? read.dir : read.model_dir;
  Fd models(!read.model_dir.empty()
                ? ::open(model_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            : dir >= 0 ? ::dup(dir)
                       : -1);
  struct stat st {};
  for (const char* name : {"model.cadre", "model.pt"}) {
    if (models.ok() && ::fstatat(models.get(), name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISREG(st.st_mode)) {
      files.exported_model = model_dir + "/" + name;
      return;
    }
  }
}

}  // namespace

TaskOutputFiles read_task_outputs(const OutputRead& read, const OutputReadLimits& limits) {
  TaskOutputFiles files;
  Fd dir(::open(read.dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir.ok()) {
    // A step that wrote nothing (or ran elsewhere, as a tuning step's trials do)
    // may never have had its folder made.
    const int why = errno;
    if (why != ENOENT) files.error = read.dir + ": " + std::strerror(why);
    if (why == ENOENT) find_exported_model(read, -1, files);
    return files;
  }
  std::string text, error;
  switch (read_file_at(dir.get(), "executor_output.json", limits.max_executor_output_bytes, text,
                       error)) {
    case Got::kFile:
      files.executor_output = text;
      break;
    case Got::kError:
      files.error = error;
      return files;
    case Got::kMissing:
      break;
  }
  // Artifacts are recorded by URI, never read here: whether one exists is enough.
  struct stat st {};
  if (!read.artifact_names.empty()) {
    Fd artifacts(::openat(dir.get(), "artifacts", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    for (const auto& name : read.artifact_names) {
      if (artifacts.ok() &&
          ::fstatat(artifacts.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        files.artifacts.insert(name);
      }
    }
  }
  find_exported_model(read, dir.get(), files);
  if (read.parameter_names.empty()) return files;
  Fd params(::openat(dir.get(), "parameters", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!params.ok()) {
    if (errno != ENOENT) files.error = "parameters: " + std::string(std::strerror(errno));
    return files;
  }
  for (const auto& name : read.parameter_names) {
    switch (read_file_at(params.get(), name, limits.max_parameter_bytes, text, error)) {
      case Got::kFile:
        files.parameters[name] = text;
        break;
      case Got::kError:
        files.error = "parameters/" + error;
        return files;
      case Got::kMissing:
        break;
    }
  }
  return files;
}

}  // namespace cadre::pipelines
