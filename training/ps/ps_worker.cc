#include "training/ps/ps_worker.h"

#include <cstring>
#include <optional>

#include "protocol/peer_auth.h"

#include "protocol/checks.h"
#include "protocol/ps_messages.h"
#include "training/collectives/socket.h"
#include "training/ps/ps_roles.h"

namespace cadre::training::ps {

using protocol::PsKind;

Result<std::unique_ptr<PsWorker>> PsWorker::Create(const PsWorkerOptions& options,
                                                   size_t num_params) {
  auto w = std::unique_ptr<PsWorker>(new PsWorker());
  w->options_ = options;
  w->num_params_ = num_params;
  w->host_params_.resize(num_params);
  const int n = static_cast<int>(options.servers.size());
  std::optional<protocol::JobCredentials> credentials;
  if (!options.token.empty()) {
    ASSIGN_OR_RETURN(credentials, protocol::JobCredentials::FromToken(options.token));
  }
  for (int i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(auto addr, net::parse_host_port(options.servers[i]));
    w->ranges_.push_back(shard_range(num_params, n, i));
    zmq::socket_t s(w->context_, zmq::socket_type::dealer);
    ZMQCHECK(s.set(zmq::sockopt::linger, 0));
    ZMQCHECK(s.set(zmq::sockopt::maxmsgsize,
                   static_cast<int64_t>(w->ranges_.back().count * sizeof(float) + 4096)));
    if (credentials) {
      RETURN_IF_ERROR(
          protocol::make_curve_client(s, credentials->curve_keys(ps_worker_role(options.worker)),
                                      credentials->curve_keys(ps_server_role(i)).public_key));
    }
    ZMQCHECK(s.connect("tcp://" + addr.first + ":" + std::to_string(addr.second)));
    w->sockets_.push_back(std::move(s));
  }
  return w;
}

Status PsWorker::round_trip(protocol::PsKind kind, int64_t step, float lr, const float* grads,
                            int epoch, TrainProgress* replied) {
  for (size_t i = 0; i < sockets_.size(); ++i) {
    protocol::PsHeader h;
    h.kind = kind;
    h.worker = options_.worker;
    h.step = step;
    h.shard = static_cast<int32_t>(i);
    h.offset = ranges_[i].offset;
    h.count = grads ? ranges_[i].count : 0;
    h.lr = lr;
    h.epoch = epoch;
    auto header = protocol::encode(h);
    ZMQCHECK(sockets_[i].send(zmq::buffer(header.data(), header.size()), zmq::send_flags::sndmore));
    ZMQCHECK(sockets_[i].send(
        zmq::buffer(grads ? grads + ranges_[i].offset : nullptr, h.count * sizeof(float)),
        zmq::send_flags::none));
  }
  for (size_t i = 0; i < sockets_.size(); ++i) {
    zmq::pollitem_t item{static_cast<void*>(sockets_[i]), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, options_.timeout);
    } catch (const zmq::error_t& e) {
      return Unavailable(std::string("zmq::poll failed: ") + e.what());
    }
    if (!(item.revents & ZMQ_POLLIN))
      return DeadlineExceeded("parameter server " + std::to_string(i) + " at " +
                              options_.servers[i] + " did not answer '" +
                              protocol::to_string(kind) + "' within " +
                              std::to_string(options_.timeout.count()) + " ms");
    zmq::message_t header, tensor;
    try {
      if (!sockets_[i].recv(header, zmq::recv_flags::none) || !header.more() ||
          !sockets_[i].recv(tensor, zmq::recv_flags::none))
        return DataLoss("parameter server " + std::to_string(i) + ": incomplete reply");
    } catch (const zmq::error_t& e) {
      return Unavailable(std::string("recv from parameter server failed: ") + e.what());
    }
    ASSIGN_OR_RETURN(
        auto h,
        protocol::decode_training<protocol::PsHeader>(
            std::string_view(static_cast<const char*>(header.data()), header.size()), "ps reply"));
    if (h.kind == PsKind::kError)
      return FailedPrecondition("parameter server " + std::to_string(i) + ": " + h.error);
    if (replied) {
      if (i > 0 && (h.epoch != replied->epochs_completed || h.step != replied->global_step))
        return FailedPrecondition(
            "parameter servers disagree on the job's progress: server 0 is at epoch " +
            std::to_string(replied->epochs_completed) + ", server " + std::to_string(i) +
            " at epoch " + std::to_string(h.epoch));
      replied->epochs_completed = h.epoch;
      replied->global_step = h.step;
    }
    if (h.kind == PsKind::kParams) {
      if (h.offset != ranges_[i].offset || h.count != ranges_[i].count ||
          tensor.size() != h.count * sizeof(float))
        return DataLoss("parameter server " + std::to_string(i) + " answered with " +
                        std::to_string(tensor.size()) + " bytes for a shard of " +
                        std::to_string(ranges_[i].count) + " floats (model mismatch?)");
      std::memcpy(host_params_.data() + h.offset, tensor.data(), tensor.size());
    }
  }
  return Status::Ok();
}

Status PsWorker::start(Model& model, TrainProgress* progress) {
  if (model.parameters().size() != num_params_)
    return Internal("ps worker built for a different model size");
  if (options_.worker == 0) {
    RETURN_IF_ERROR(round_trip(PsKind::kRestore, progress->global_step, 0.0f, nullptr,
                               progress->epochs_completed));
  } else {
    RETURN_IF_ERROR(round_trip(PsKind::kJoin, -1, 0.0f, nullptr, 0, progress));
  }
  return model.parameters().copy_from_host(host_params_.data(), host_params_.size());
}

Status PsWorker::checkpoint(int epochs_completed, int64_t global_step) {
  return round_trip(PsKind::kCheckpoint, global_step, 0.0f, nullptr, epochs_completed);
}

Status PsWorker::update(Model& model, int64_t step, float lr) {
  ASSIGN_OR_RETURN(host_grads_, model.gradients().to_host());
  RETURN_IF_ERROR(round_trip(PsKind::kPush, step, lr, host_grads_.data()));
  return model.parameters().copy_from_host(host_params_.data(), host_params_.size());
}

Status PsWorker::finish() { return round_trip(PsKind::kDone, -1, 0.0f, nullptr); }

}  // namespace cadre::training::ps
