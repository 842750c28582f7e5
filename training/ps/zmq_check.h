// ZMQCHECK(call): runs a cppzmq call and turns a zmq::error_t into an
// Unavailable Status that names the call, as NCCL's NCCLCHECK does.
#pragma once

#include <zmq.hpp>

#include <string>

#include "protocol/status.h"

#define ZMQCHECK(call)                                                                   \
  do {                                                                                   \
    try {                                                                                \
      (void)(call);                                                                      \
    } catch (const zmq::error_t& _zmq_error) {                                           \
      return ::cadre::Unavailable(std::string(#call) + " failed: " + _zmq_error.what()); \
    }                                                                                    \
  } while (0)
