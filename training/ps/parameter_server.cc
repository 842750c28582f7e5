#include "training/ps/parameter_server.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <filesystem>
#include <set>

#include "protocol/bind_address.h"
#include "protocol/peer_auth.h"

#include "protocol/checks.h"
#include "protocol/ps_messages.h"
#include "training/checkpoint.h"
#include "training/collectives/socket.h"
#include "training/ps/ps_roles.h"

namespace cadre::training::ps {

using protocol::PsKind;

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
  s->initial_.assign(initial.begin() + s->range_.offset,
                     initial.begin() + s->range_.offset + s->range_.count);
  s->joined_.assign(options.num_workers, false);
  ASSIGN_OR_RETURN(s->optimizer_, Optimizer::Create(options.optimizer, backend, s->range_.count));
  s->done_.assign(options.num_workers, false);
  s->socket_ = zmq::socket_t(s->context_, zmq::socket_type::router);
  // Untrusted input: a frame may not be larger than a full shard plus header.
  ZMQCHECK(s->socket_.set(zmq::sockopt::maxmsgsize,
                          static_cast<int64_t>(s->range_.count * sizeof(float) + 4096)));
  ZMQCHECK(s->socket_.set(zmq::sockopt::linger, 0));
  // A connection that has not finished its handshake within this is dropped.
  ZMQCHECK(s->socket_.set(zmq::sockopt::handshake_ivl, 5000));
  if (!options.token.empty()) {
    ASSIGN_OR_RETURN(auto credentials, protocol::JobCredentials::FromToken(options.token));
    std::set<std::string> workers;
    for (int w = 0; w < options.num_workers; ++w) {
      workers.insert(credentials.curve_keys(ps_worker_role(w)).public_key);
    }
    ASSIGN_OR_RETURN(s->zap_, protocol::ZapAllowlist::Create(s->context_, std::move(workers)));
    RETURN_IF_ERROR(protocol::make_curve_server(
        s->socket_, credentials.curve_keys(ps_server_role(options.index)), "ps"));
  }
  if (!options.checkpoint_dir.empty()) {
    ASSIGN_OR_RETURN(s->fence_, CheckpointFence::Claim(s->shard_dir(), options.generation));
  }
  ASSIGN_OR_RETURN(const std::string address, protocol::bind_address_for(options.host));
  ZMQCHECK(s->socket_.bind("tcp://" + address + ":" + std::to_string(options.port)));
  const std::string endpoint = s->socket_.get(zmq::sockopt::last_endpoint);
  s->port_ = std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
  return s;
}

Status ParameterServer::reply(const zmq::message_t& identity, protocol::PsKind kind, int64_t step) {
  protocol::PsHeader h;
  h.kind = kind;
  h.step = step;
  h.shard = options_.index;
  h.offset = range_.offset;
  h.count = kind == PsKind::kParams ? range_.count : 0;
  h.epoch = epoch_;
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
  h.kind = PsKind::kError;
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

std::string ParameterServer::shard_dir() const {
  return (std::filesystem::path(options_.checkpoint_dir) / ("ps-" + std::to_string(options_.index)))
      .string();
}

Status ParameterServer::load_epoch(int epoch) {
  const auto state = optimizer_->state();
  if (epoch == 0) {
    RETURN_IF_ERROR(params_.copy_from_host(initial_.data(), initial_.size()));
    for (auto& [name, tensor] : state)
      RETURN_IF_ERROR(backend_->fill(tensor->data(), 0.0f, tensor->size()));
    optimizer_->set_steps(0);
    return Status::Ok();
  }
  if (options_.checkpoint_dir.empty())
    return FailedPrecondition("restore to epoch " + std::to_string(epoch) +
                              ": this server has no checkpoint dir (CADRE_CHECKPOINT_DIR)");
  ASSIGN_OR_RETURN(auto saved, load_checkpoint(shard_dir(), epoch));
  if (saved.parameters.size() != range_.count || saved.optimizer != options_.optimizer.kind)
    return DataLoss("shard checkpoint of epoch " + std::to_string(epoch) + " in " + shard_dir() +
                    " holds " + std::to_string(saved.parameters.size()) + " " + saved.optimizer +
                    " parameters; this shard is " + std::to_string(range_.count) + " " +
                    options_.optimizer.kind + " parameters");
  RETURN_IF_ERROR(params_.copy_from_host(saved.parameters.data(), saved.parameters.size()));
  for (auto& [name, tensor] : state) {
    const NamedTensor* found = nullptr;
    for (const auto& t : saved.optimizer_state)
      if (t.name == name && t.values.size() == tensor->size()) found = &t;
    if (!found) return DataLoss("shard checkpoint in " + shard_dir() + " lacks '" + name + "'");
    RETURN_IF_ERROR(tensor->copy_from_host(found->values.data(), found->values.size()));
  }
  optimizer_->set_steps(saved.optimizer_steps);
  return Status::Ok();
}

Status ParameterServer::abandon_run(const zmq::message_t& identity, const std::string& reason) {
  spdlog::warn("parameter server {}: {}", options_.index, reason);
  for (auto& p : pending_) RETURN_IF_ERROR(reply_error(p.identity, reason));
  for (auto& p : joins_) RETURN_IF_ERROR(reply_error(p.identity, reason));
  pending_.clear();
  joins_.clear();
  waiting_joins_ = 0;
  received_ = 0;
  restored_ = false;
  abandoned_ = reason;
  joined_.assign(options_.num_workers, false);
  return reply_error(identity, reason);
}

Status ParameterServer::on_restore(const zmq::message_t& identity, const protocol::PsHeader& h) {
  if (h.worker != 0) return reply_error(identity, "only the chief (worker 0) restores the job");
  if (Status loaded = load_epoch(h.epoch); !loaded.ok())
    return reply_error(identity, loaded.to_string());
  // Whatever was in flight belongs to the run before the chief's restart.
  const std::string reason =
      "the chief restored the job to epoch " + std::to_string(h.epoch) + "; restart from there";
  for (auto& p : pending_) RETURN_IF_ERROR(reply_error(p.identity, reason));
  pending_.clear();
  received_ = 0;
  restored_ = true;
  abandoned_.clear();
  epoch_ = h.epoch;
  restored_step_ = h.step;
  joined_.assign(options_.num_workers, false);
  joined_[0] = true;
  spdlog::info("parameter server {}: restored epoch {} (step {})", options_.index, epoch_,
               restored_step_);
  RETURN_IF_ERROR(reply(identity, PsKind::kParams, restored_step_));
  for (auto& p : joins_) {
    joined_[p.worker] = true;
    RETURN_IF_ERROR(reply(p.identity, PsKind::kParams, restored_step_));
  }
  joins_.clear();
  waiting_joins_ = 0;
  return Status::Ok();
}

Status ParameterServer::on_join(zmq::message_t& identity, const protocol::PsHeader& h) {
  if (!restored_) {
    joins_.push_back({zmq::message_t(identity.data(), identity.size()), h.worker});
    waiting_joins_ = joins_.size();
    return Status::Ok();
  }
  // Asynchronous training tolerates a worker that comes back; synchronous
  // steps would wait on (or mix in) a worker that lost its place.
  if (joined_[h.worker] && options_.sync)
    return abandon_run(identity, "worker " + std::to_string(h.worker) +
                                     " restarted mid-run; every worker restarts from the last "
                                     "checkpoint");
  joined_[h.worker] = true;
  return reply(identity, PsKind::kParams, restored_step_);
}

Status ParameterServer::on_checkpoint(const zmq::message_t& identity, const protocol::PsHeader& h) {
  if (options_.checkpoint_dir.empty())
    return reply_error(identity, "checkpoint requested but this server has no checkpoint dir");
  CheckpointState state;
  state.model = options_.model;
  state.epochs_completed = h.epoch;
  state.global_step = h.step;
  state.optimizer = options_.optimizer.kind;
  state.optimizer_steps = optimizer_->steps();
  ASSIGN_OR_RETURN(state.parameters, params_.to_host());
  for (auto& [name, tensor] : optimizer_->state()) {
    ASSIGN_OR_RETURN(auto values, tensor->to_host());
    state.optimizer_state.push_back({name, tensor->shape(), std::move(values)});
  }
  const auto save = [&] { return save_checkpoint(shard_dir(), state); };
  if (Status saved = fence_ ? fence_->guarded(save) : save(); !saved.ok()) {
    // A newer incarnation of this server owns the folder: this one must stop.
    if (saved.code() == StatusCode::kFailedPrecondition) return saved;
    return reply_error(identity, saved.to_string());
  }
  return reply(identity, PsKind::kAck, h.step);
}

Status ParameterServer::on_push(zmq::message_t& identity, const protocol::PsHeader& h,
                                const float* grad) {
  if (!options_.sync) {
    RETURN_IF_ERROR(grad_sum_.copy_from_host(grad, range_.count));
    RETURN_IF_ERROR(apply(h.lr));
    return reply(identity, PsKind::kParams, h.step);
  }
  if (received_ == 0) {
    step_ = h.step;
    step_lr_ = h.lr;
    RETURN_IF_ERROR(grad_sum_.copy_from_host(grad, range_.count));
  } else {
    if (h.step != step_)
      return reply_error(identity, "sync push for step " + std::to_string(h.step) +
                                       " while aggregating step " + std::to_string(step_));
    RETURN_IF_ERROR(backend_->axpy(range_.count, 1.0f, grad, grad_sum_.data()));
  }
  pending_.push_back({zmq::message_t(identity.data(), identity.size()), h.worker});
  if (++received_ < options_.num_workers) return Status::Ok();
  // Every worker's gradient for this step is in: one step with their mean.
  RETURN_IF_ERROR(backend_->scale(range_.count, 1.0f / options_.num_workers, grad_sum_.data()));
  RETURN_IF_ERROR(apply(step_lr_));
  for (auto& p : pending_) RETURN_IF_ERROR(reply(p.identity, PsKind::kParams, step_));
  pending_.clear();
  received_ = 0;
  return Status::Ok();
}

Status ParameterServer::handle(zmq::message_t& identity, const std::vector<zmq::message_t>& f) {
  if (f.size() != 2) return reply_error(identity, "expected [header][tensor] frames");
  auto h = protocol::decode_training<protocol::PsHeader>(
      std::string_view(static_cast<const char*>(f[0].data()), f[0].size()), "ps request");
  if (!h.ok()) return reply_error(identity, h.status().message());
  if (h->worker < 0 || h->worker >= options_.num_workers)
    return reply_error(identity, "worker index " + std::to_string(h->worker) + " outside [0, " +
                                     std::to_string(options_.num_workers) + ")");
  if (h->kind == PsKind::kRestore) return on_restore(identity, *h);
  if (h->kind == PsKind::kJoin) return on_join(identity, *h);
  if (h->kind == PsKind::kDone) {
    done_[h->worker] = true;
    return reply(identity, PsKind::kAck, h->step);
  }
  if (!protocol::is_request(h->kind))
    return reply_error(identity,
                       "'" + protocol::to_string(h->kind) + "' is a reply, not a request");
  // Not restored: either this process is new (it restarted and lost its shard)
  // or it abandoned the run, whose cause every late request should still hear.
  if (!restored_)
    return abandon_run(identity, !abandoned_.empty()
                                     ? abandoned_
                                     : "restarted and lost its state; every worker restarts "
                                       "from the last checkpoint");
  if (!joined_[h->worker])
    return reply_error(identity, "worker " + std::to_string(h->worker) +
                                     " has not joined since the chief restored epoch " +
                                     std::to_string(epoch_) + "; restart it");
  if (h->kind == PsKind::kPull) return reply(identity, PsKind::kParams, h->step);
  if (h->kind == PsKind::kCheckpoint) return on_checkpoint(identity, *h);
  if (h->count != range_.count || f[1].size() != range_.count * sizeof(float) ||
      h->offset != range_.offset)
    return reply_error(identity, "push for shard offset " + std::to_string(h->offset) + " with " +
                                     std::to_string(f[1].size()) + " bytes; this shard is " +
                                     std::to_string(range_.count) + " floats at " +
                                     std::to_string(range_.offset));
  return on_push(identity, *h, static_cast<const float*>(f[1].data()));
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
