// The ingress's notebook proxy (docs/notebooks.md): /notebook/<ns>/<name>/... goes
// to that notebook's Jupyter server, HTTP and WebSocket alike, and /login turns a
// Cadre token or a one-time code from `cadre notebook open` into a browser session.
//
// Every request is authenticated here before anything is forwarded: a Cadre token
// (Authorization: Bearer) or a session cookie, for the notebook's namespace (401
// without one, 403 for another namespace's). Requests that change state and every
// WebSocket upgrade pass the Origin check (notebook_request.h), because Jupyter
// skips its own for the token-authenticated requests the proxy sends: Jupyter's
// token is added here, from the coordinator's route, and the user's credentials
// are taken off. A notebook that is stopped or starting is answered at once, 503
// with its reason, never held.
//
// HTTP requests and answers are bounded (the server's body limit in, a response
// limit out) and each opens its own connection to Jupyter; WebSocket upgrades
// become byte tunnels closed after an idle timeout. The HTTP server hands the
// connections over (HttpServerOptions::takeover) and gets them back for keep-alive.
//
// Threading: each connection's work runs on its own strand; the route table and
// the sessions are thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "ingress/login_sessions.h"
#include "ingress/route_table.h"

namespace cadre::serving::http {
struct HttpConnection;
}

namespace cadre::ingress {

struct NotebookProxyOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds response_timeout{300000};          // Jupyter saving a large notebook
  std::chrono::milliseconds tunnel_idle_timeout{3600 * 1000};  // Jupyter pings every 30 s
  size_t max_response_bytes = 64u << 20;
};

class NotebookProxy {
 public:
  NotebookProxy(NotebookProxyOptions options, RouteTable& table, LoginSessions& sessions)
      : options_(options), table_(table), sessions_(sessions) {}

  // HttpServerOptions::takeover for the prefixes below.
  void take(std::shared_ptr<serving::http::HttpConnection> connection);
  static constexpr const char* kPrefixes[] = {"/notebook/", "/login"};

  struct Deps {
    const NotebookProxyOptions& options;
    RouteTable& table;
    LoginSessions& sessions;
  };

 private:
  NotebookProxyOptions options_;
  RouteTable& table_;  // its login codes are redeemed once
  LoginSessions& sessions_;
};

}  // namespace cadre::ingress
