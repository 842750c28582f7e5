// Scheduler benchmark (issue 4, item 8): a real cadre-coordinator, CURVE on as in
// production, driven by N simulated agents and one client from this one process,
// all speaking the real wire (protocol/messages.h). Then a real `cadre local up`
// cluster for the submit-to-Running latency of one real local job.
//
// Workload: single-replica `Job`s, as the issue asks (each goes through the gang
// scheduler as a one-member gang). Every simulated agent registers, heartbeats every second and
// answers each LaunchReplica with ReplicaStarted at once; nothing ever exits, so
// nodes are sized to hold every job (ceil(jobs/agents) replicas each, which also
// makes the first-fit scheduler walk past full nodes, i.e. all N agents matter).
//
// Definitions (printed with the results):
//   submit_to_running: from sending ApplyRequest to the LaunchReplica for that job
//     arriving at its simulated agent. The coordinator sends it after the placement
//     is durable; the phase reads Running one ReplicaStarted (sent at once) later.
//   placements_per_sec: jobs / (last LaunchReplica received - first ApplyRequest sent).
//   local_submit_to_running: a real cluster; from ApplyRequest to the first
//     `get jobs NAME` reply whose phase is Running (process start included),
//     polled every 2 ms over the client wire.
//
// Prints a human summary on stderr and one JSON object as the last line on stdout.
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "protocol/curve_keys.h"
#include "protocol/framing.h"
#include "protocol/wall_clock.h"

namespace {

namespace fs = std::filesystem;
using namespace cadre;
using protocol::MessageKind;
using Clock = std::chrono::steady_clock;

struct BenchOptions {
  int agents = 1000;             // simulated agents (one DEALER each)
  int jobs = 10000;              // single-replica Jobs submitted
  int window = 500;              // most jobs submitted but not yet launched
  int64_t job_cpu_millis = 100;  // each job's cpu request
  int local_jobs = 20;           // real local jobs, one at a time
  std::string bin_dir = "build/bin";
  std::string work_dir;            // default: a fresh temp folder, removed afterwards
  std::string log_level = "info";  // the coordinator's (production default)
  double timeout_s = 300;          // for each phase
  bool skip_local = false;
};

// ---------------------------------------------------------------------------
// Child processes: every one we start is killed on every way out.
// ---------------------------------------------------------------------------

std::vector<pid_t> g_children;
volatile sig_atomic_t g_interrupted = 0;
// Set while a `cadre local up` cluster may be running: {cadre binary, --dir}.
std::vector<std::string> g_local_cluster;

void kill_children() {
  for (pid_t pid : g_children) ::kill(pid, SIGTERM);
  for (pid_t pid : g_children) {
    for (int i = 0; i < 50 && ::waitpid(pid, nullptr, WNOHANG) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (::waitpid(pid, nullptr, WNOHANG) == 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  }
  g_children.clear();
}

pid_t spawn(const std::vector<std::string>& argv, const std::string& log_file) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    FILE* log = std::fopen(log_file.c_str(), "w");
    if (log) {
      ::dup2(fileno(log), 1);
      ::dup2(fileno(log), 2);
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    std::perror(args[0]);
    ::_exit(127);
  }
  return pid;
}

int run_to_end(const std::vector<std::string>& argv, const std::string& log_file) {
  const pid_t pid = spawn(argv, log_file);
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void local_down() {
  if (g_local_cluster.empty()) return;
  const auto cluster = g_local_cluster;
  g_local_cluster.clear();
  run_to_end({cluster[0], "local", "down", "--dir", cluster[1]}, cluster[1] + "-down.log");
}

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "scheduler_bench: %s\n", why.c_str());
  kill_children();
  local_down();
  std::exit(1);
}

void check(const Status& s, const std::string& what) {
  if (!s.ok()) die(what + ": " + s.message());
}

template <typename T>
T value_or_die(Result<T> r, const std::string& what) {
  if (!r.ok()) die(what + ": " + r.status().message());
  return std::move(*r);
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::ceil(p / 100.0 * v.size())) - 1;
  return v[std::min(i, v.size() - 1)];
}

double round3(double x) { return std::round(x * 1000) / 1000; }

// ---------------------------------------------------------------------------
// Wire helpers
// ---------------------------------------------------------------------------

const protocol::DecodeLimits kLimits;

template <typename T>
void send(zmq::socket_t& socket, MessageKind kind, uint64_t id, uint64_t epoch, const T& body) {
  protocol::Header h;
  h.kind = kind;
  h.id = id;
  h.epoch = epoch;
  check(protocol::send_envelope(socket, "", false, h, protocol::encode(body)),
        std::string("sending ") + protocol::kind_name(kind));
}

zmq::socket_t curve_dealer(zmq::context_t& ctx, const protocol::KeyPair& keys,
                           const std::string& server_public, const std::string& endpoint) {
  zmq::socket_t socket(ctx, zmq::socket_type::dealer);
  check(ZMQ_STATUS({
          socket.set(zmq::sockopt::linger, 0);
          socket.set(zmq::sockopt::sndhwm, 0);  // never drop: we bound what is in flight
          socket.set(zmq::sockopt::rcvhwm, 0);
        }),
        "socket options");
  check(protocol::make_curve_client(socket, keys, server_public), "CURVE client");
  check(ZMQ_STATUS(socket.connect(endpoint)), "connect " + endpoint);
  return socket;
}

std::string job_manifest(const std::string& name, const std::string& command,
                         const std::string& arg, int64_t cpu_millis) {
  std::string m = "apiVersion: cadre/v1\nkind: Job\nmetadata:\n  name: " + name +
                  "\nspec:\n  template:\n    command: [" + command + "]\n    args: ['" + arg +
                  "']\n";
  if (cpu_millis > 0) {
    m += "    resources:\n      cpu: " + std::to_string(cpu_millis) + "m\n      memory: 64Mi\n";
  }
  return m;
}

// ---------------------------------------------------------------------------
// The coordinator under test
// ---------------------------------------------------------------------------

struct ClusterKeys {
  protocol::KeyPair server, client;
  std::vector<protocol::KeyPair> agents;
};

// Lays out --config-dir as production does: server.key, authorized/{agents,clients}.
ClusterKeys write_config_dir(const fs::path& dir, int agents) {
  ClusterKeys keys;
  keys.server = value_or_die(protocol::generate_keypair(), "server key");
  check(protocol::write_keypair((dir / "server").string(), keys.server), "server key");
  keys.client = value_or_die(protocol::generate_keypair(), "client key");
  check(protocol::write_keypair((dir / "authorized/clients/bench").string(), keys.client),
        "client key");
  for (int i = 0; i < agents; ++i) {
    keys.agents.push_back(value_or_die(protocol::generate_keypair(), "agent key"));
    char node[32];
    std::snprintf(node, sizeof node, "sim-%04d", i);  // the name the simulated agent registers
    check(
        protocol::write_keypair((dir / "authorized/agents" / ("sim-" + std::to_string(i))).string(),
                                keys.agents.back(), node),
        "agent key");
    fs::remove(dir / "authorized/agents" / ("sim-" + std::to_string(i) + ".key"));
  }
  fs::remove(dir / "authorized/clients/bench.key");
  return keys;
}

struct Endpoints {
  std::string agents, clients;
};

Endpoints wait_for_endpoints(const std::string& file, double timeout_s) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(timeout_s);
  while (Clock::now() < deadline) {
    std::ifstream in(file);
    if (in) {
      try {
        auto j = nlohmann::json::parse(in);
        return {j.at("agents").get<std::string>(), j.at("clients").get<std::string>()};
      } catch (const std::exception&) {
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  die("no endpoints file " + file + " after " + std::to_string(timeout_s) + "s");
}

Endpoints start_coordinator(const BenchOptions& o, const fs::path& work) {
  // Node health timeouts are generous so a stalled benchmark process (2 shared cores)
  // never makes a simulated node NotReady; heartbeats stay at the production 1 s.
  // The one simulated client pipelines up to `window` applies; past client-send-queue
  // (64 by default, for clients that send one request at a time) replies are dropped.
  std::ofstream(work / "coordinator.yaml")
      << "heartbeat-interval-ms: 1000\n"
         "not-ready-after-ms: 30000\n"
         "lost-after-ms: 60000\n"
         "client-send-queue: "
      << 2 * o.window + 64 << "\nlog-level: " << o.log_level << "\n";
  const std::string endpoints = (work / "endpoints.json").string();
  const pid_t pid =
      spawn({o.bin_dir + "/cadre-coordinator", "--config", (work / "coordinator.yaml").string(),
             "--config-dir", (work / "config").string(), "--state-dir", (work / "state").string(),
             "--agent-port", "0", "--client-port", "0", "--endpoints-file", endpoints},
            (work / "coordinator.log").string());
  if (pid < 0) die("cannot fork the coordinator");
  g_children.push_back(pid);
  return wait_for_endpoints(endpoints, 15);
}

// ---------------------------------------------------------------------------
// Simulated agents and the client, one poll loop
// ---------------------------------------------------------------------------

struct SimAgent {
  SimAgent(zmq::socket_t s, std::string n) : socket(std::move(s)), name(std::move(n)) {}
  zmq::socket_t socket;
  std::string name;
  uint64_t epoch = 0;  // 0 until RegisterReply
  Clock::time_point next_heartbeat;
  std::vector<std::string> running;  // uids, reported in heartbeats
  uint64_t next_id = 1;
};

struct JobTimes {
  Clock::time_point submit, applied, launched;
  bool has_applied = false, has_launched = false;
};

struct Counters {
  int registered = 0, applied = 0, launched = 0, errors = 0, stale_epoch = 0;
  int duplicate_launches = 0, heartbeats = 0;
};

class Simulation {
 public:
  Simulation(const BenchOptions& o, const ClusterKeys& keys, const Endpoints& ep)
      : o_(o), ctx_(2), times_(o.jobs) {
    ctx_.set(zmq::ctxopt::max_sockets, o.agents + 64);
    client_ = curve_dealer(ctx_, keys.client, keys.server.public_key, ep.clients);
    for (int i = 0; i < o.agents; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "sim-%04d", i);
      agents_.push_back(
          SimAgent{curve_dealer(ctx_, keys.agents[i], keys.server.public_key, ep.agents), name});
    }
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) die("epoll_create1 failed");
    for (size_t i = 0; i <= agents_.size(); ++i) {
      zmq::socket_t& socket = i == 0 ? client_ : agents_[i - 1].socket;
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u32 = static_cast<uint32_t>(i);
      if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, socket.get(zmq::sockopt::fd), &ev) != 0) {
        die("epoll_ctl failed for socket " + std::to_string(i));
      }
    }
  }
  ~Simulation() { ::close(epoll_); }

  void register_all();
  void submit_all();
  int count_running();
  const std::vector<JobTimes>& times() const { return times_; }
  const Counters& counters() const { return counters_; }
  int nodes_used() const { return static_cast<int>(nodes_used_.size()); }
  Clock::time_point first_submit() const { return first_submit_; }

 private:
  // One pass: wait up to `wait_ms` for input, drain it, send heartbeats that are due.
  void pump(int wait_ms);
  void on_agent(SimAgent& agent, const protocol::Envelope& env);
  void on_client(const protocol::Envelope& env);
  void heartbeat_due();

  const BenchOptions& o_;
  zmq::context_t ctx_;
  zmq::socket_t client_;
  std::vector<SimAgent> agents_;
  int epoll_ = -1;
  std::vector<int> dirty_;  // socket indices (0: client, i: agent i-1) to check next pass
  std::vector<JobTimes> times_;
  std::map<std::string, int> job_index_;
  std::map<std::string, int> nodes_used_;
  Counters counters_;
  Clock::time_point first_submit_;
  uint64_t next_client_id_ = 1;
  std::map<uint64_t, int> get_replies_running_;  // Get id -> Running count; -1 pending
};

// zmq_poll over a thousand sockets costs a thousand checks per call and would make
// this process, not the coordinator, the bottleneck; so the sockets' ZMQ_FD
// notification descriptors go into one epoll set. ZMQ_FD only says "events may have
// changed", and a send may consume that signal, so every socket we sent on is
// checked once more (`dirty_`) whether or not its descriptor fired.
void Simulation::pump(int wait_ms) {
  epoll_event ready[1024];
  const int n = ::epoll_wait(epoll_, ready, 1024, dirty_.empty() ? wait_ms : 0);
  std::vector<int> check = std::move(dirty_);
  dirty_.clear();
  for (int i = 0; i < n; ++i) check.push_back(static_cast<int>(ready[i].data.u32));
  check.push_back(0);  // the client: replies may sit behind a send's consumed signal
  std::sort(check.begin(), check.end());
  check.erase(std::unique(check.begin(), check.end()), check.end());
  for (int index : check) {
    zmq::socket_t& socket = index == 0 ? client_ : agents_[index - 1].socket;
    int handled = 0;
    while (socket.get(zmq::sockopt::events) & ZMQ_POLLIN) {
      if (++handled > 256) {  // fairness: come back to it next pass
        dirty_.push_back(index);
        break;
      }
      auto env = protocol::recv_envelope(socket, false, kLimits);
      if (!env.ok()) {
        if (env.status().code() != StatusCode::kUnavailable) {
          ++counters_.errors;
          std::fprintf(stderr, "bad frame: %s\n", env.status().message().c_str());
        }
        break;
      }
      if (index == 0) {
        on_client(*env);
      } else {
        on_agent(agents_[index - 1], *env);
      }
    }
  }
  heartbeat_due();
}

void Simulation::heartbeat_due() {
  const auto now = Clock::now();
  for (auto& a : agents_) {
    if (a.epoch == 0 || now < a.next_heartbeat) continue;
    a.next_heartbeat += std::chrono::seconds(1);
    if (a.next_heartbeat < now) a.next_heartbeat = now + std::chrono::seconds(1);
    send(a.socket, MessageKind::kHeartbeat, a.next_id++, a.epoch,
         protocol::Heartbeat{a.name, a.running});
    dirty_.push_back(static_cast<int>(&a - agents_.data()) + 1);
    ++counters_.heartbeats;
  }
}

void Simulation::on_agent(SimAgent& a, const protocol::Envelope& env) {
  switch (env.header.kind) {
    case MessageKind::kRegisterReply: {
      auto reply = value_or_die(protocol::decode_body<protocol::RegisterReply>(env, kLimits),
                                "RegisterReply");
      a.epoch = reply.epoch;
      // Spread heartbeats over the second, as independent agents would be.
      a.next_heartbeat = Clock::now() + std::chrono::milliseconds(counters_.registered % 1000);
      ++counters_.registered;
      return;
    }
    case MessageKind::kLaunchReplica: {
      const auto now = Clock::now();
      auto launch = value_or_die(protocol::decode_body<protocol::LaunchReplica>(env, kLimits),
                                 "LaunchReplica");
      if (env.header.epoch != a.epoch) ++counters_.stale_epoch;  // a real agent would drop it
      auto it = job_index_.find(launch.job);
      if (it == job_index_.end()) die("launch of unknown job " + launch.job);
      JobTimes& t = times_[it->second];
      if (t.has_launched) {
        ++counters_.duplicate_launches;
      } else {
        t.launched = now;
        t.has_launched = true;
        ++counters_.launched;
        ++nodes_used_[a.name];
      }
      a.running.push_back(launch.uid);
      send(
          a.socket, MessageKind::kReplicaStarted, a.next_id++, a.epoch,
          protocol::ReplicaStarted{launch.uid, launch.job, 100000 + counters_.launched, wall_ms()});
      return;
    }
    case MessageKind::kHeartbeatAck:
      return;
    case MessageKind::kError: {
      auto e = protocol::decode_body<protocol::ErrorReply>(env, kLimits);
      if (counters_.errors++ < 5) {
        std::fprintf(stderr, "agent %s got error: %s\n", a.name.c_str(),
                     e.ok() ? e->message.c_str() : "?");
      }
      return;
    }
    default:
      if (counters_.errors++ < 5) {
        std::fprintf(stderr, "agent %s got unexpected %s\n", a.name.c_str(),
                     protocol::kind_name(env.header.kind));
      }
  }
}

void Simulation::on_client(const protocol::Envelope& env) {
  const uint64_t id = env.header.reply_to;
  switch (env.header.kind) {
    case MessageKind::kApplyReply:
      if (id >= 1 && id <= times_.size()) {
        times_[id - 1].applied = Clock::now();
        times_[id - 1].has_applied = true;
        ++counters_.applied;
      }
      return;
    case MessageKind::kGetReply: {
      auto reply =
          value_or_die(protocol::decode_body<protocol::GetReply>(env, kLimits), "GetReply");
      int running = 0;
      for (const auto& job : reply.jobs) running += job.phase == protocol::JobPhase::kRunning;
      get_replies_running_[id] = running;
      return;
    }
    default: {
      auto e = protocol::decode_body<protocol::ErrorReply>(env, kLimits);
      if (counters_.errors++ < 5) {
        std::fprintf(stderr, "client got %s for request %llu: %s\n",
                     protocol::kind_name(env.header.kind), static_cast<unsigned long long>(id),
                     e.ok() ? e->message.c_str() : "?");
      }
    }
  }
}

void Simulation::register_all() {
  for (auto& a : agents_) {
    protocol::RegisterRequest r;
    r.name = a.name;
    r.address = "127.0.0.1";
    r.cpu_millis = o_.job_cpu_millis * ((o_.jobs + o_.agents - 1) / o_.agents);
    r.memory_bytes = 64ll << 30;
    r.agent_version = "scheduler-bench";
    send(a.socket, MessageKind::kRegister, a.next_id++, 0, r);
    dirty_.push_back(static_cast<int>(&a - agents_.data()) + 1);
  }
  const auto deadline = Clock::now() + std::chrono::duration<double>(o_.timeout_s);
  while (counters_.registered < o_.agents) {
    if (Clock::now() > deadline || g_interrupted) {
      die("only " + std::to_string(counters_.registered) + " of " + std::to_string(o_.agents) +
          " agents registered");
    }
    pump(10);
  }
}

// Pipelined: keeps up to `window` jobs between submit and launch.
void Simulation::submit_all() {
  int submitted = 0;
  const auto deadline = Clock::now() + std::chrono::duration<double>(o_.timeout_s);
  first_submit_ = Clock::now();
  while (counters_.launched < o_.jobs || counters_.applied < o_.jobs) {
    if (Clock::now() > deadline || g_interrupted) {
      die("timed out: " + std::to_string(counters_.applied) + " applied, " +
          std::to_string(counters_.launched) + " launched of " + std::to_string(o_.jobs));
    }
    while (submitted < o_.jobs && submitted - counters_.launched < o_.window) {
      char name[32];
      std::snprintf(name, sizeof name, "bench-%05d", submitted);
      job_index_[name] = submitted;
      times_[submitted].submit = Clock::now();
      send(client_, MessageKind::kApply, static_cast<uint64_t>(submitted + 1), 0,
           protocol::ApplyRequest{job_manifest(name, "sleep", "3600", o_.job_cpu_millis)});
      ++submitted;
    }
    pump(submitted < o_.jobs ? 1 : 5);
  }
}

// Asks `get jobs` (all) and returns how many are Running, pumping meanwhile.
int Simulation::count_running() {
  const uint64_t id = 1000000 + next_client_id_++;
  send(client_, MessageKind::kGet, id, 0, protocol::GetRequest{"jobs", ""});
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (get_replies_running_.count(id) == 0) {
    if (Clock::now() > deadline || g_interrupted) die("no reply to get jobs");
    pump(5);
  }
  return get_replies_running_[id];
}

// ---------------------------------------------------------------------------
// Real local cluster: submit-to-Running with process start
// ---------------------------------------------------------------------------

struct LocalResult {
  std::vector<double> client_ms;       // ApplyRequest sent -> get says Running
  std::vector<double> coordinator_ms;  // started_ms - created_ms, as the coordinator records
};

// Sends one request and waits for its reply (ApplyReply/GetReply/DeleteReply or Error).
protocol::Envelope request(zmq::socket_t& socket, MessageKind kind, uint64_t id,
                           const std::string& body) {
  protocol::Header h;
  h.kind = kind;
  h.id = id;
  check(protocol::send_envelope(socket, "", false, h, body), "sending request");
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < deadline && !g_interrupted) {
    zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(100));
    if (!(item.revents & ZMQ_POLLIN)) continue;
    auto env = value_or_die(protocol::recv_envelope(socket, false, kLimits), "reply");
    if (env.header.reply_to != id) continue;
    if (env.header.kind == MessageKind::kError) {
      auto e = protocol::decode_body<protocol::ErrorReply>(env, kLimits);
      die("coordinator error: " + (e.ok() ? e->message : "?"));
    }
    return env;
  }
  die("no reply from the local coordinator");
}

LocalResult measure_local_once(zmq::socket_t& client, int jobs) {
  LocalResult out;
  uint64_t id = 1;
  for (int i = 0; i < jobs && !g_interrupted; ++i) {
    const std::string name = "local-" + std::to_string(i);
    const auto t0 = Clock::now();
    request(client, MessageKind::kApply, id++,
            protocol::encode(protocol::ApplyRequest{job_manifest(name, "sleep", "30", 0)}));
    for (;;) {
      auto env = request(client, MessageKind::kGet, id++,
                         protocol::encode(protocol::GetRequest{"jobs", name}));
      auto reply =
          value_or_die(protocol::decode_body<protocol::GetReply>(env, kLimits), "GetReply");
      const auto& job = reply.jobs.at(0);
      if (job.phase == protocol::JobPhase::kRunning) {
        out.client_ms.push_back(ms_between(t0, Clock::now()));
        out.coordinator_ms.push_back(static_cast<double>(job.started_ms - job.created_ms));
        break;
      }
      if (job.phase != protocol::JobPhase::kQueued) {
        die("local job " + name + " is " + protocol::to_string(job.phase));
      }
      if (ms_between(t0, Clock::now()) > 30000) die("local job " + name + " never ran");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    // Free the slot (and the process) before the next one.
    request(client, MessageKind::kDelete, id++,
            protocol::encode(protocol::DeleteRequest{"jobs", name}));
  }
  return out;
}

LocalResult measure_local(const BenchOptions& o, const fs::path& work) {
  const fs::path dir = work / "local";
  const std::string cadre = o.bin_dir + "/cadre";
  g_local_cluster = {cadre, dir.string()};  // die() and the end take it down
  const int up = run_to_end({cadre, "local", "up", "--dir", dir.string(), "--agents", "2"},
                            (work / "local-up.log").string());
  if (up != 0) {
    std::ifstream log(work / "local-up.log");
    die("cadre local up failed (" + std::to_string(up) +
        "): " + std::string(std::istreambuf_iterator<char>(log), {}));
  }
  const Endpoints ep = wait_for_endpoints((dir / "endpoints.json").string(), 15);
  zmq::context_t ctx(1);
  auto keys = value_or_die(protocol::read_keypair((dir / "keys/client.key").string()), "key");
  auto server = value_or_die(protocol::read_public_key((dir / "keys/server.pub").string()), "pub");
  zmq::socket_t client = curve_dealer(ctx, keys, server, ep.clients);
  // Both agents must be Ready before the clock starts.
  for (int tries = 0;; ++tries) {
    auto env = request(client, MessageKind::kGet, 900000 + tries,
                       protocol::encode(protocol::GetRequest{"nodes", ""}));
    auto nodes = value_or_die(protocol::decode_body<protocol::GetReply>(env, kLimits), "nodes");
    int ready = 0;
    for (const auto& n : nodes.nodes) ready += n.state == protocol::NodeState::kReady;
    if (ready >= 2) break;
    if (tries > 150) die("local agents never became Ready");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  LocalResult result = measure_local_once(client, o.local_jobs);
  local_down();
  return result;
}

// ---------------------------------------------------------------------------

void raise_fd_limit(int agents) {
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  // Two descriptors per DEALER here (socket + mailbox), one per connection in the
  // coordinator (which inherits the limit), plus slack.
  const rlim_t want = static_cast<rlim_t>(agents) * 3 + 1024;
  if (lim.rlim_cur < want) {
    lim.rlim_cur = std::min(want, lim.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur < want) {
    std::fprintf(stderr, "warning: RLIMIT_NOFILE %llu < %llu wanted for %d agents\n",
                 static_cast<unsigned long long>(lim.rlim_cur),
                 static_cast<unsigned long long>(want), agents);
  }
}

void on_signal(int) { g_interrupted = 1; }

nlohmann::json run(const BenchOptions& o, const fs::path& work) {
  raise_fd_limit(o.agents);
  const auto keys_start = Clock::now();
  ClusterKeys keys = write_config_dir(work / "config", o.agents);
  const Endpoints ep = start_coordinator(o, work);
  std::fprintf(stderr, "coordinator up (%s, %s); %d agent keys in %.0f ms\n", ep.agents.c_str(),
               ep.clients.c_str(), o.agents, ms_between(keys_start, Clock::now()));

  Simulation sim(o, keys, ep);
  const auto reg_start = Clock::now();
  sim.register_all();
  const double register_ms = ms_between(reg_start, Clock::now());
  std::fprintf(stderr, "%d agents registered in %.0f ms\n", o.agents, register_ms);

  sim.submit_all();
  std::vector<double> latency, admit, place;
  Clock::time_point last_launch = sim.first_submit();
  for (const auto& t : sim.times()) {
    latency.push_back(ms_between(t.submit, t.launched));
    admit.push_back(ms_between(t.submit, t.applied));
    place.push_back(ms_between(t.applied, t.launched));
    last_launch = std::max(last_launch, t.launched);
  }
  const double span_s = ms_between(sim.first_submit(), last_launch) / 1000;
  const double rate = o.jobs / span_s;

  // Running is set on ReplicaStarted; confirm every job reached it.
  int running = 0;
  const auto confirm_deadline = Clock::now() + std::chrono::seconds(60);
  while ((running = sim.count_running()) < o.jobs && Clock::now() < confirm_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const Counters& c = sim.counters();
  std::fprintf(stderr,
               "%d jobs launched in %.2f s: %.0f placements/s over %d agents (%d nodes used)\n"
               "submit->launch p50 %.1f ms p99 %.1f ms (submit->ApplyReply p50 %.1f, "
               "ApplyReply->launch p50 %.1f ms)\n"
               "get jobs: %d/%d Running; errors %d, stale-epoch launches %d, duplicates %d, "
               "heartbeats sent %d\n",
               o.jobs, span_s, rate, o.agents, sim.nodes_used(), percentile(latency, 50),
               percentile(latency, 99), percentile(admit, 50), percentile(place, 50), running,
               o.jobs, c.errors, c.stale_epoch, c.duplicate_launches, c.heartbeats);
  if (running < o.jobs) die("only " + std::to_string(running) + " jobs Running");
  kill_children();

  nlohmann::json out = {
      {"benchmark", "scheduler"},
      {"workload", "single-replica Job (through the gang scheduler)"},
      {"agents", o.agents},
      {"jobs", o.jobs},
      {"window", o.window},
      {"nodes_used", sim.nodes_used()},
      {"register_ms", round3(register_ms)},
      {"placements_per_sec", round3(rate)},
      {"submit_to_running_p50_ms", round3(percentile(latency, 50))},
      {"submit_to_running_p99_ms", round3(percentile(latency, 99))},
      {"submit_to_apply_reply_p50_ms", round3(percentile(admit, 50))},
      {"apply_reply_to_launch_p50_ms", round3(percentile(place, 50))},
      {"running_confirmed", running},
  };
  if (!o.skip_local) {
    LocalResult local = measure_local(o, work);
    std::fprintf(stderr,
                 "local (2 real agents, %d jobs `sleep 30`): submit->Running p50 %.1f ms "
                 "p99 %.1f ms (coordinator created->started p50 %.0f ms)\n",
                 o.local_jobs, percentile(local.client_ms, 50), percentile(local.client_ms, 99),
                 percentile(local.coordinator_ms, 50));
    out["local_jobs"] = o.local_jobs;
    out["local_submit_to_running_p50_ms"] = round3(percentile(local.client_ms, 50));
    out["local_submit_to_running_p99_ms"] = round3(percentile(local.client_ms, 99));
    out["local_created_to_started_p50_ms"] = percentile(local.coordinator_ms, 50);
  } else {
    out["local_submit_to_running_p50_ms"] = nullptr;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions o;
  bool quick = false;
  bool keep = false;
  CLI::App app{"scheduler_bench: a real coordinator, simulated agents, pipelined Jobs"};
  app.add_flag("--quick", quick, "100 agents, 1,000 jobs");
  app.add_option("--agents", o.agents, "simulated agents")->capture_default_str();
  app.add_option("--jobs", o.jobs, "single-replica Jobs to submit")->capture_default_str();
  app.add_option("--window", o.window, "most jobs between submit and launch")
      ->capture_default_str();
  app.add_option("--local-jobs", o.local_jobs, "real local jobs, one at a time")
      ->capture_default_str();
  app.add_option("--bin-dir", o.bin_dir, "where cadre, cadre-agent, cadre-coordinator are")
      ->capture_default_str();
  app.add_option("--work-dir", o.work_dir, "keys, state, logs (default: a temp folder)");
  app.add_option("--log-level", o.log_level, "the coordinator's log level")->capture_default_str();
  app.add_flag("--skip-local", o.skip_local, "skip the real local cluster");
  app.add_flag("--keep", keep, "keep the work folder (logs) afterwards");
  CLI11_PARSE(app, argc, argv);
  if (quick) {
    if (app.count("--agents") == 0) o.agents = 100;
    if (app.count("--jobs") == 0) o.jobs = 1000;
  }
  if (o.agents < 1 || o.jobs < 1 || o.window < 1) {
    std::fprintf(stderr, "--agents, --jobs and --window must be >= 1\n");
    return 2;
  }
  o.bin_dir = fs::absolute(o.bin_dir).string();
  const bool temp = o.work_dir.empty();
  const fs::path work =
      temp ? fs::temp_directory_path() / ("cadre-sched-bench-" + std::to_string(::getpid()))
           : fs::absolute(o.work_dir);
  fs::create_directories(work);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  nlohmann::json out = run(o, work);
  kill_children();
  if (temp && !keep) {
    fs::remove_all(work);
  } else {
    std::fprintf(stderr, "logs kept in %s\n", work.c_str());
  }
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
