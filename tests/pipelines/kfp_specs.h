// The KFP-compiled pipeline specs under tests/pipelines/kfp/, for the tests that
// parse and run them. Needs CADRE_SOURCE_DIR defined by the test target.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/examples.h"  // read_example

namespace cadre::testing {

inline std::string read_kfp_spec(const std::string& name) {
  std::ifstream in(std::string(CADRE_SOURCE_DIR) + "/tests/pipelines/kfp/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace cadre::testing
