#include "protocol/config_file.h"

#include <yaml-cpp/yaml.h>
#include <CLI/CLI.hpp>

#include <ostream>

namespace cadre::config {
namespace {

bool is_flag(const CLI::Option& option) { return option.get_expected_max() == 0; }
bool is_repeatable(const CLI::Option& option) {
  return option.get_expected_max() > 1 || option.get_items_expected_max() > 1;
}

// The text of a scalar node, or an error naming where it is.
Result<std::string> scalar(const YAML::Node& node, const std::string& where) {
  if (!node.IsScalar()) return InvalidArgument(where + ": expected a single value");
  return node.Scalar();
}

Status append_values(const CLI::Option& option, const std::string& key, const YAML::Node& value,
                     const std::string& where, std::vector<std::string>& flags) {
  const std::string flag = "--" + key;
  if (is_flag(option)) {
    bool on = false;
    if (!value.IsScalar() || !YAML::convert<bool>::decode(value, on)) {
      return InvalidArgument(where + ": expected true or false");
    }
    if (on) flags.push_back(flag);
    return Status::Ok();
  }
  if (!is_repeatable(option)) {
    ASSIGN_OR_RETURN(std::string text, scalar(value, where));
    flags.insert(flags.end(), {flag, text});
    return Status::Ok();
  }
  if (value.IsSequence()) {
    for (size_t i = 0; i < value.size(); ++i) {
      ASSIGN_OR_RETURN(std::string text, scalar(value[i], where + "[" + std::to_string(i) + "]"));
      flags.insert(flags.end(), {flag, text});
    }
  } else if (value.IsMap()) {
    for (const auto& entry : value) {
      ASSIGN_OR_RETURN(std::string name, scalar(entry.first, where));
      ASSIGN_OR_RETURN(std::string text, scalar(entry.second, where + "." + name));
      flags.insert(flags.end(), {flag, name + "=" + text});
    }
  } else {
    ASSIGN_OR_RETURN(std::string text, scalar(value, where));
    flags.insert(flags.end(), {flag, text});
  }
  return Status::Ok();
}

// The value of --config in argv, if given.
std::string config_path(int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) return argv[i + 1];
    if (arg.rfind("--config=", 0) == 0) return arg.substr(9);
  }
  return "";
}

// "agent-port, client-port, ...": every setting a file may name.
std::string known_settings(const CLI::App& app) {
  std::string names;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) {
      if (name == "help" || name == "config") continue;
      names += (names.empty() ? "" : ", ") + name;
    }
  }
  return names;
}

Result<std::vector<std::string>> flags_of(const CLI::App& app, const YAML::Node& root,
                                          const std::string& source) {
  std::vector<std::string> flags;
  if (root.IsNull()) return flags;
  if (!root.IsMap()) return InvalidArgument(source + ": expected a map of settings");
  for (const auto& entry : root) {
    ASSIGN_OR_RETURN(std::string key, scalar(entry.first, source + ": a key"));
    const std::string where = source + ": " + key;
    if (key == "config") return InvalidArgument(where + ": a config file cannot name another");
    const CLI::Option* option = app.get_option_no_throw("--" + key);
    if (option == nullptr || key.rfind("-", 0) == 0) {
      return InvalidArgument(where + ": unknown setting (known: " + known_settings(app) + ")");
    }
    RETURN_IF_ERROR(append_values(*option, key, entry.second, where, flags));
  }
  return flags;
}

}  // namespace

Result<std::vector<std::string>> file_flags(const CLI::App& app, const std::string& path) {
  try {
    return flags_of(app, YAML::LoadFile(path), "--config " + path);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("--config " + path + ": " + e.what());
  }
}

Result<std::vector<std::string>> text_flags(const CLI::App& app, const std::string& yaml,
                                            const std::string& source) {
  try {
    return flags_of(app, YAML::Load(yaml), source);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ": not valid YAML: " + e.what());
  }
}

Status apply_flags(CLI::App& app, const std::vector<std::string>& flags) {
  try {
    std::vector<std::string> reversed(flags.rbegin(), flags.rend());  // CLI11 pops from the back
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return InvalidArgument(e.what());
  }
  return Status::Ok();
}

Result<Parsed> parse_command_line(CLI::App& app, int argc, const char* const* argv,
                                  std::ostream& out) {
  // The file's value comes first and the command line's last: keep the last.
  for (CLI::Option* option : app.get_options()) {
    if (!is_flag(*option) && !is_repeatable(*option)) {
      option->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    }
  }
  std::vector<std::string> args;
  const std::string path = config_path(argc, argv);
  if (!path.empty()) {
    ASSIGN_OR_RETURN(args, file_flags(app, path));
  }
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 pops from the back
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    out << app.help();
    return Parsed::kHelpShown;
  } catch (const CLI::ParseError& e) {
    return InvalidArgument(e.what());
  }
  return Parsed::kRun;
}

}  // namespace cadre::config
