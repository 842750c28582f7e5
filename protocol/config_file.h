// One configuration mechanism for Cadre's daemons (Ray's ray_config_def.h habit):
// every setting is declared once, as a CLI11 option with its default and one-line
// doc. A YAML file passed as --config FILE names the same settings as keys (the flag
// without "--"); it is read as if its settings were flags given before the command
// line's own, so an explicit flag wins and both pass the same validation.
//
// Mapping, from each option's own arity (no per-key code):
//   flag (takes no value)      key: true|false          true sets it, false leaves it off
//   single value               key: scalar              --key value
//   repeatable (vector) option key: [a, b] or {k: v}    --key a --key b, or --key k=v
// Anything else — an unknown key, a list for a single value, a nested map, a value
// that is not a scalar — is an error naming the file and the key.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "protocol/status.h"

namespace CLI {
class App;
}

namespace cadre::config {

// The flags a YAML settings file stands for, in file order.
Result<std::vector<std::string>> file_flags(const CLI::App& app, const std::string& path);
// The same for YAML text; errors name `source` (a file, usually).
Result<std::vector<std::string>> text_flags(const CLI::App& app, const std::string& yaml,
                                            const std::string& source);

// Applies `flags` (from file_flags or text_flags) to `app`, as a parse with no command
// line. For settings files that are not daemon command lines (the client's config).
Status apply_flags(CLI::App& app, const std::vector<std::string>& flags);

enum class Parsed { kRun, kHelpShown };

// Parses argv into `app`, applying `--config FILE` first as above. Options given
// twice (file and command line) keep the last value, except repeatable ones, which
// collect both. On --help writes the usage to `out` and returns kHelpShown. Errors
// name the flag or the file and key.
Result<Parsed> parse_command_line(CLI::App& app, int argc, const char* const* argv,
                                  std::ostream& out);

}  // namespace cadre::config
