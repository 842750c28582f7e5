#include "training/ps/parameter_server.h"

#include <spdlog/spdlog.h>

#include <cstring>

#include "protocol/ps_messages.h"
#include "training/ps/zmq_check.h"

namespace cadre::training::ps {

Result<std::unique_ptr<ParameterServer>> ParameterServer::Create(
    const ParameterServerOptions& options, kernels::Backend* backend,
    const std::vector<float>& initial) {
  auto s = std::unique_ptr<ParameterServer>(new ParameterServer());
  s->options_ = options;
  s->backend_ = backend;
  s->range_ = shard_range(initial.size(), options.num_servers, options.index);
  const Shape shape{static_cast<int>(s->range_.count)};
  ASSIGN_OR_RETURN(s->params_, Tensor::Create(backend, shape));
  ASSIGN_OR_RETURN(s->grad_sum_, Tensor::Create(backend, shape));
  RETURN_IF_ERROR(s->params_.copy_from_host(initial.data() + s->range_.offset, s->range_.count));
  ASSIGN_OR_RETURN(s->optimizer_, Optimizer::Create(options.optimizer, backend, s->range_.count));
  s->done_.assign(options.num_workers, false);
  s->socket_ = zmq::socket_t(s->context_, zmq::socket_type::router);
  // Untrusted input: a frame may not be larger than a full shard plus header.
  ZMQCHECK(s->socket_.set(zmq::sockopt::maxmsgsize,
                          static_cast<int64_t>(s->range_.count * sizeof(float) + 4096)));
  ZMQCHECK(s->socket_.set(zmq::sockopt::linger, 0));
  ZMQCHECK(s->socket_.bind("tcp://*:" + std::to_string(options.port)));
  const std::string endpoint = s->socket_.get(zmq::sockopt::last_endpoint);
  s->port_ = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  return s;
}

Status ParameterServer::reply(const zmq::message_t& identity, const std::string& kind,
                              int64_t step) {
  protocol::PsHeader h;
  h.kind = kind;
  h.step = step;
  h.shard = options_.index;
  h.offset = range_.offset;
  h.count = kind == "params" ? range_.count : 0;
  auto header = protocol::encode(h);
  zmq::message_t id(identity.data(), identity.size());
  ZMQCHECK(socket_.send(id, zmq::send_flags::sndmore));
  ZMQCHECK(socket_.send(zmq::buffer(header.data(), header.size()), zmq::send_flags::sndmore));
  // CPU backend: params_ is host memory and goes out without a copy.
  ZMQCHECK(
      socket_.send(zmq::buffer(params_.data(), h.count * sizeof(float)), zmq::send_flags::none));
  return Status::Ok();
}

Status ParameterServer::reply_error(const zmq::message_t& identity, const std::string& error) {
  protocol::PsHeader h;
  h.kind = "error";
  h.shard = options_.index;
  h.error = error;
  auto header = protocol::encode(h);
  zmq::message_t id(identity.data(), identity.size());
  ZMQCHECK(socket_.send(id, zmq::send_flags::sndmore));
  ZMQCHECK(socket_.send(zmq::buffer(header.data(), header.size()), zmq::send_flags::sndmore));
  ZMQCHECK(socket_.send(zmq::message_t(), zmq::send_flags::none));
  return Status::Ok();
}

Status ParameterServer::apply(float lr) { return optimizer_->step(lr, grad_sum_, &params_); }

Status ParameterServer::handle(zmq::message_t& identity, const std::vector<zmq::message_t>& f) {
  if (f.size() != 2) return reply_error(identity, "expected [header][tensor] frames");
  auto h = protocol::decode<protocol::PsHeader>(f[0].data(), f[0].size(), "ps request");
  if (!h.ok()) return reply_error(identity, h.status().message());
  if (h->worker < 0 || h->worker >= options_.num_workers)
    return reply_error(identity, "worker index " + std::to_string(h->worker) + " outside [0, " +
                                     std::to_string(options_.num_workers) + ")");
  if (h->kind == "pull") return reply(identity, "params", h->step);
  if (h->kind == "done") {
    done_[h->worker] = true;
    return reply(identity, "ack", h->step);
  }
  if (h->kind != "push") return reply_error(identity, "unknown request kind '" + h->kind + "'");
  if (h->count != range_.count || f[1].size() != range_.count * sizeof(float) ||
      h->offset != range_.offset)
    return reply_error(identity, "push for shard offset " + std::to_string(h->offset) + " with " +
                                     std::to_string(f[1].size()) + " bytes; this shard is " +
                                     std::to_string(range_.count) + " floats at " +
                                     std::to_string(range_.offset));
  const float* grad = static_cast<const float*>(f[1].data());
  if (!options_.sync) {
    RETURN_IF_ERROR(grad_sum_.copy_from_host(grad, range_.count));
    RETURN_IF_ERROR(apply(h->lr));
    return reply(identity, "params", h->step);
  }
  if (received_ == 0) {
    step_ = h->step;
    step_lr_ = h->lr;
    RETURN_IF_ERROR(grad_sum_.copy_from_host(grad, range_.count));
  } else {
    if (h->step != step_)
      return reply_error(identity, "sync push for step " + std::to_string(h->step) +
                                       " while aggregating step " + std::to_string(step_));
    RETURN_IF_ERROR(backend_->axpy(range_.count, 1.0f, grad, grad_sum_.data()));
  }
  pending_.push_back({zmq::message_t(identity.data(), identity.size())});
  if (++received_ < options_.num_workers) return Status::Ok();
  // Every worker's gradient for this step is in: one step with their mean.
  RETURN_IF_ERROR(backend_->scale(range_.count, 1.0f / options_.num_workers, grad_sum_.data()));
  RETURN_IF_ERROR(apply(step_lr_));
  for (auto& p : pending_) RETURN_IF_ERROR(reply(p.identity, "params", step_));
  pending_.clear();
  received_ = 0;
  return Status::Ok();
}

Status ParameterServer::serve() {
  auto last_message = std::chrono::steady_clock::now();
  while (true) {
    bool all_done = true;
    for (bool d : done_) all_done = all_done && d;
    if (all_done) return Status::Ok();
    zmq::pollitem_t item{static_cast<void*>(socket_), 0, ZMQ_POLLIN, 0};
    try {
      zmq::poll(&item, 1, std::chrono::milliseconds(200));
    } catch (const zmq::error_t& e) {
      return Unavailable(std::string("zmq::poll failed: ") + e.what());
    }
    if (!(item.revents & ZMQ_POLLIN)) {
      if (std::chrono::steady_clock::now() - last_message > options_.idle_timeout)
        return DeadlineExceeded("parameter server " + std::to_string(options_.index) +
                                ": no worker message for " +
                                std::to_string(options_.idle_timeout.count()) + " ms");
      continue;
    }
    last_message = std::chrono::steady_clock::now();
    zmq::message_t identity;
    std::vector<zmq::message_t> frames;
    try {
      if (!socket_.recv(identity, zmq::recv_flags::none)) continue;
      while (socket_.get(zmq::sockopt::rcvmore)) {
        frames.emplace_back();
        if (!socket_.recv(frames.back(), zmq::recv_flags::none)) break;
      }
    } catch (const zmq::error_t& e) {
      return Unavailable(std::string("socket_.recv failed: ") + e.what());
    }
    RETURN_IF_ERROR(handle(identity, frames));
  }
}

}  // namespace cadre::training::ps
