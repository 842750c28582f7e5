// Where cadre's loadable libraries sit: <prefix>/lib/cadre beside the
// <prefix>/bin that holds the running program, in the build tree (build/bin,
// build/lib/cadre) as in an install. Found from /proc/self/exe, so a program
// started through a symlink or from any working folder finds the same ones.
#pragma once

#include <filesystem>
#include <system_error>

namespace cadre {

// Empty when /proc/self/exe cannot be read.
inline std::filesystem::path cadre_library_directory() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  return exe.parent_path().parent_path() / "lib" / "cadre";
}

}  // namespace cadre
