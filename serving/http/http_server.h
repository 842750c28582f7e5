// A bounded HTTP/1.1 server (Boost.Beast on Asio), optionally over TLS, for
// cadre-serve's V2 and metrics endpoints and the ingress. Every input is bounded before it is read:
// header bytes, body bytes (Content-Length checked before the body is read, and
// chunked bodies counted as they arrive), the time a whole request may take to
// arrive (slowloris), keep-alive idle time, and the number of open connections.
// Connections are spread over event loops (event_loops.h), one thread each; a
// connection's requests reach the handler on its loop's thread. Handlers may
// answer later from any thread; the answer is written on the connection's loop.
// Beast's headers stay in http_server.cc.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/status.h"
#include "serving/http/event_loops.h"

namespace cadre::serving::http {

struct HttpConnection;  // http_connection.h

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query, as sent
  std::string body;
  // The headers a handler may need, lower-case names.
  std::string content_type;
  std::string inference_header_content_length;  // Triton's binary extension
  std::string authorization;  // for a handler that checks its own tokens (the ingress)
  // What a handler serving browsers checks (the ingress's HTTP API): the session
  // cookie, where the request comes from, and the CSRF header of a state change.
  std::string cookie;
  std::string origin;
  std::string host;
  std::string fetch_site;  // Sec-Fetch-Site
  std::string csrf_token;  // X-Cadre-CSRF
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

using Responder = std::function<void(HttpResponse)>;
// Called on a server thread; must not block. `respond` may be called later, from
// any thread, exactly once.
using HttpHandler = std::function<void(HttpRequest, Responder)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (see HttpServer::port)
  int threads = 2;  // event loops of its own, when `loops` is not given
  // Loops shared with other work (the ingress's requests to replicas run on the
  // loop of the connection that asked); the server stops them when it stops.
  std::shared_ptr<EventLoops> loops;
  size_t max_header_bytes = 16 * 1024;
  size_t max_body_bytes = 64u << 20;
  int max_connections = 1024;
  std::chrono::milliseconds request_timeout{30000};  // a whole request must arrive within
  std::chrono::milliseconds idle_timeout{60000};     // between keep-alive requests
  std::chrono::milliseconds write_timeout{30000};
  std::string name = "http";  // in logs
  // HTTPS when both are set: a PEM certificate chain (the server's certificate
  // first) and its PEM private key. TLS 1.2 and newer; the handshake must finish
  // within request_timeout.
  std::string tls_cert_file;
  std::string tls_key_file;
  // When set, every request but those under `public_path_prefixes` must carry
  // `Authorization: Bearer <token>`; it is checked when the headers arrive, before
  // a byte of the body is read, and a wrong or missing token gets 401.
  std::string bearer_token;
  std::vector<std::string> public_path_prefixes;
  // Called when a request's headers have arrived, with everything but its body
  // (which is not read yet): an answer it returns is sent at once and the
  // connection closed, the body never read, so a request that would be refused
  // costs no body's worth of memory. nullopt: the request goes on.
  std::function<std::optional<HttpResponse>(const HttpRequest&)> check_headers;
  // Requests whose path starts with one of these are not read further: once their
  // headers arrive the connection goes to `takeover`, which answers (streaming,
  // switching protocols) and may hand it back for the next request. The bearer
  // token above does not apply to them: the taker authenticates.
  std::vector<std::string> takeover_prefixes;
  std::function<void(std::shared_ptr<HttpConnection>)> takeover;
};

// Whether an Authorization header value carries `token` as a bearer token
// (constant-time comparison).
bool bearer_token_matches(std::string_view authorization, const std::string& token);

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options,
                                                    HttpHandler handler);
  ~HttpServer();
  int port() const;
  int open_connections() const;
  // Stops accepting, and reading new requests on open connections: requests
  // already read are still answered.
  void stop_accepting();
  // After stop_accepting: waits until every request it took (its head read) is
  // with the handler, so that a server draining behind it refuses none of them.
  // False when `timeout` passed first.
  bool wait_for_requests_read(std::chrono::milliseconds timeout);
  // Closes everything and joins the threads: stops its loops, shared ones too
  // (their connections cannot outlive the server).
  void stop();

  class Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cadre::serving::http
