// Files other processes read while they are written (ports files, endpoint files,
// pid files, configs): written to a temporary file beside them and renamed into
// place, so a reader sees the old file or the whole new one, never half of one.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "protocol/status.h"

namespace cadre {

// Internal names the file that could not be written or renamed, and why.
inline Status write_file_atomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << text;
    if (!out.flush()) return Internal("cannot write " + temp);
  }
  std::error_code renamed;
  std::filesystem::rename(temp, path, renamed);
  if (renamed) {
    std::error_code ignored;
    std::filesystem::remove(temp, ignored);
    return Internal("cannot write " + path + ": " + renamed.message());
  }
  return Status::Ok();
}

}  // namespace cadre
