// The names under which a parameter-server job's replicas derive their CURVE keys
// from CADRE_JOB_TOKEN (protocol::JobCredentials::curve_keys): server i proves
// "ps-<i>", worker i "worker-<i>", and each server allows exactly the workers'.
#pragma once

#include <string>

namespace cadre::training::ps {

inline std::string ps_server_role(int index) { return "ps-" + std::to_string(index); }
inline std::string ps_worker_role(int index) { return "worker-" + std::to_string(index); }

}  // namespace cadre::training::ps
