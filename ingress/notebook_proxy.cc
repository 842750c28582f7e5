#include "ingress/notebook_proxy.h"

#include <spdlog/spdlog.h>

#include <array>
#include <boost/beast/websocket/rfc6455.hpp>
#include <nlohmann/json.hpp>

#include "ingress/notebook_request.h"
#include "protocol/string_enum.h"
#include "serving/http/http_connection.h"
#include "serving/http/http_server.h"

namespace cadre::ingress {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using serving::http::HttpConnection;
using Clock = std::chrono::steady_clock;

std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }

// Headers that describe one hop, not the request: never forwarded either way.
bool hop_by_hop(bhttp::field f) {
  switch (f) {
    case bhttp::field::connection:
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::proxy_authorization:
    case bhttp::field::te:
    case bhttp::field::trailer:
    case bhttp::field::transfer_encoding:
    case bhttp::field::upgrade:
      return true;
    default:
      return false;
  }
}

const char* kLoginPage = R"html(<!doctype html>
<html><head><meta charset="utf-8"><title>Cadre login</title></head>
<body style="font-family: sans-serif; max-width: 32em; margin: 4em auto">
<h1>Cadre</h1>
<p>Log in with a Cadre token for your namespace
(<code>cadre tokens create --namespace NS</code>), or open the link
<code>cadre dashboard</code> or <code>cadre notebook open NAME</code> prints.</p>
<form method="post" action="/login">
<input type="hidden" name="next" value="%NEXT%">
<input type="password" name="token" placeholder="cadre_..." size="60" autofocus>
<button type="submit">Log in</button>
</form></body></html>
)html";

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// One request on a taken-over connection (and, for an upgrade, the tunnel after it).
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(std::shared_ptr<HttpConnection> c, NotebookProxy::Deps deps)
      : c_(std::move(c)),
        deps_(deps),
        upstream_(c_->stream.get_executor()),
        resolver_(c_->stream.get_executor()),
        watchdog_(c_->stream.get_executor()) {}

  void start();

 private:
  using Request = bhttp::request<bhttp::string_body>;
  const Request& req() const { return c_->parser->get(); }
  std::string header(bhttp::field f) const { return std::string(view(req()[f])); }
  std::string header(const char* name) const { return std::string(view(req()[name])); }
  const NotebookProxyOptions& opts() const { return deps_.options; }

  // Answers and closes (the body, if any, is not read) unless `reusable`.
  void answer(int status, const std::string& message,
              std::vector<std::pair<std::string, std::string>> headers = {});
  void send(std::shared_ptr<bhttp::response<bhttp::string_body>> res, bool reusable);
  void close();

  void login();
  void redirect(int status, const std::string& location, const std::string& cookie);
  void with_body(std::function<void(std::shared_ptr<Exchange>)> next);
  std::optional<std::string> authenticate(bool& by_cookie);

  void forward();  // HTTP: body read, sent, answer relayed
  void connect(std::function<void()> then);
  void upgrade();  // WebSocket: the handshake forwarded, then bytes both ways
  void tunnel();
  // Either side: the client's HttpStream (TLS or not) or the upstream socket.
  template <class From, class To>
  void pump(From& from, To& to, std::array<char, 16384>& buffer);
  void arm_watchdog();

  template <class Body>
  void copy_request_headers(bhttp::request<Body>& up, bool upgrade) const;

  std::shared_ptr<HttpConnection> c_;
  NotebookProxy::Deps deps_;
  protocol::NotebookRoute route_;
  beast::tcp_stream upstream_;
  tcp::resolver resolver_;
  beast::flat_buffer up_buffer_;
  std::unique_ptr<bhttp::response_parser<bhttp::string_body>> up_parser_;
  std::shared_ptr<void> keep_;  // what an async write needs alive
  net::steady_timer watchdog_;
  Clock::time_point last_activity_ = Clock::now();
  std::array<char, 16384> down_{}, up_{};
  bool closed_ = false;
};

void Exchange::start() {
  const std::string target(view(req().target()));
  const std::string path = target.substr(0, target.find('?'));
  if (path == "/login") return login();
  auto t = parse_notebook_target(target);
  if (!t.ok()) {
    return answer(t.status().code() == StatusCode::kNotFound ? 404 : 400, t.status().message());
  }
  bool by_cookie = false;
  auto ns = authenticate(by_cookie);
  if (!ns) {
    // A browser goes to the login page and comes back; anything else gets 401.
    if (req().method() == bhttp::verb::get &&
        header(bhttp::field::accept).find("text/html") != std::string::npos &&
        header(bhttp::field::authorization).empty()) {
      return redirect(303, "/login?next=" + target.substr(0, target.find('?')), "");
    }
    return answer(401,
                  header(bhttp::field::authorization).empty() &&
                          cookie_value(header(bhttp::field::cookie), kSessionCookie).empty()
                      ? "notebooks need a Cadre token (Authorization: Bearer ..., from cadre "
                        "tokens create) or a login (cadre notebook open NAME)"
                      : "the token or session is not a valid Cadre login (it may have expired)",
                  {{"WWW-Authenticate", "Bearer"}});
  }
  if (*ns != t->ns) {
    return answer(403, "the login is for namespace '" + *ns + "', not '" + t->ns + "'");
  }
  const bool upgrading = beast::websocket::is_upgrade(req());
  if (upgrading || changes_state(view(req().method_string()))) {
    const Status origin = check_origin(header(bhttp::field::origin), header(bhttp::field::host),
                                       header("Sec-Fetch-Site"), by_cookie);
    if (!origin.ok()) return answer(403, origin.message());
  }
  auto route = deps_.table.notebook(t->name);
  if (!route || route->ns != t->ns) {
    return answer(
        404, "no notebook '" + t->name + "' in namespace '" + t->ns + "' (cadre get notebooks)");
  }
  if (t->bare) return redirect(301, path + "/", "");
  if (!route->ready) {
    const std::string phase(protocol::enum_name(route->phase));
    const bool stopped = route->phase == protocol::NotebookPhase::kStopped ||
                         route->phase == protocol::NotebookPhase::kStopping;
    std::string why = "notebook/" + t->name + " is " + phase +
                      (route->reason.empty() ? "" : " (" + route->reason + ")") +
                      (route->message.empty() ? "" : ": " + route->message);
    if (stopped) why += "; cadre notebook start " + t->name + " starts it";
    return answer(503, why,
                  stopped ? std::vector<std::pair<std::string, std::string>>{}
                          : std::vector<std::pair<std::string, std::string>>{{"Retry-After", "5"}});
  }
  route_ = std::move(*route);
  if (upgrading) return upgrade();
  with_body([](std::shared_ptr<Exchange> self) { self->forward(); });
}

std::optional<std::string> Exchange::authenticate(bool& by_cookie) {
  const std::string authorization = header(bhttp::field::authorization);
  static const std::string kBearer = "Bearer ";
  if (authorization.size() > kBearer.size() &&
      beast::iequals(authorization.substr(0, kBearer.size()), kBearer)) {
    return deps_.table.token_namespace(authorization.substr(kBearer.size()));
  }
  const std::string session = cookie_value(header(bhttp::field::cookie), kSessionCookie);
  if (session.empty()) return std::nullopt;
  by_cookie = true;
  return deps_.sessions.ns_of(session);
}

void Exchange::answer(int status, const std::string& message,
                      std::vector<std::pair<std::string, std::string>> headers) {
  auto res =
      std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(status), 11);
  res->set(bhttp::field::content_type, "application/json");
  for (const auto& [k, v] : headers) res->set(k, v);
  res->body() = nlohmann::json{{"error", message}}.dump();
  res->prepare_payload();
  send(std::move(res), false);
}

void Exchange::redirect(int status, const std::string& location, const std::string& cookie) {
  auto res =
      std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(status), 11);
  res->set(bhttp::field::location, location);
  if (!cookie.empty()) res->set(bhttp::field::set_cookie, cookie);
  res->set(bhttp::field::cache_control, "no-store");
  res->prepare_payload();
  send(std::move(res), c_->parser->is_done());
}

// Writes an answer; the connection then serves its next request (keep-alive) when
// the request was read whole and both sides want it, and closes otherwise.
void Exchange::send(std::shared_ptr<bhttp::response<bhttp::string_body>> res, bool reusable) {
  reusable = reusable && c_->parser->is_done() && req().keep_alive();
  res->keep_alive(reusable);
  keep_ = res;
  c_->stream.expires_after(std::chrono::seconds(30));
  bhttp::async_write(c_->stream, *res,
                     [self = shared_from_this(), reusable](beast::error_code ec, size_t) {
                       if (ec || !reusable) return self->close();
                       self->c_->stream.expires_never();
                       self->c_->resume(self->c_);
                     });
}

void Exchange::close() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  watchdog_.cancel();
  c_->stream.close();
  upstream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  upstream_.socket().close(ec);
}

// Reads the request's body (bounded by the server's limit), then goes on.
void Exchange::with_body(std::function<void(std::shared_ptr<Exchange>)> next) {
  auto read = [self = shared_from_this(), next]() {
    self->c_->stream.expires_after(std::chrono::seconds(60));
    bhttp::async_read(self->c_->stream, self->c_->buffer, *self->c_->parser,
                      [self, next](beast::error_code ec, size_t) {
                        if (ec == bhttp::error::body_limit) {
                          return self->answer(413, "request body too large");
                        }
                        if (ec) return self->close();
                        self->c_->stream.expires_never();
                        next(self);
                      });
  };
  if (beast::iequals(req()[bhttp::field::expect], "100-continue")) {
    static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(c_->stream, net::buffer(kContinue, sizeof(kContinue) - 1),
                     [self = shared_from_this(), read](beast::error_code ec, size_t) {
                       if (ec) return self->close();
                       read();
                     });
    return;
  }
  read();
}

void Exchange::login() {
  const std::string target(view(req().target()));
  if (req().method() == bhttp::verb::get) {
    const auto code = query_parameter(target, "code");
    const std::string next = safe_next(query_parameter(target, "next").value_or(""));
    if (!code) {
      auto res = std::make_shared<bhttp::response<bhttp::string_body>>(bhttp::status::ok, 11);
      res->set(bhttp::field::content_type, "text/html; charset=utf-8");
      res->set(bhttp::field::cache_control, "no-store");
      // A login form inside someone else's frame is a clickjacking target.
      res->set("Content-Security-Policy",
               "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
               "frame-ancestors 'none'");
      res->set("X-Frame-Options", "DENY");
      std::string page = kLoginPage;
      page.replace(page.find("%NEXT%"), 6, html_escape(next));
      res->body() = std::move(page);
      res->prepare_payload();
      return send(std::move(res), true);
    }
    auto ns = deps_.table.redeem_login_code(*code);
    if (!ns) {
      return answer(401,
                    "the login link is not valid: it was used already or has expired "
                    "(cadre notebook open NAME prints a new one)");
    }
    return redirect(303, next,
                    session_set_cookie(deps_.sessions.create(*ns),
                                       deps_.sessions.lifetime().count(), c_->stream.tls()));
  }
  if (req().method() != bhttp::verb::post) {
    return answer(405, "/login takes GET (the page, or ?code=) and POST (token=)",
                  {{"Allow", "GET, POST"}});
  }
  // A login form posted from elsewhere would log the browser in as someone else.
  const Status origin = check_origin(header(bhttp::field::origin), header(bhttp::field::host),
                                     header("Sec-Fetch-Site"), /*by_cookie=*/true);
  if (!origin.ok()) return answer(403, origin.message());
  with_body([](std::shared_ptr<Exchange> self) {
    const std::string& body = self->req().body();
    const auto token = form_value(body, "token");
    const std::string next = safe_next(form_value(body, "next").value_or(""));
    auto ns = token ? self->deps_.table.token_namespace(*token) : std::nullopt;
    if (!ns) return self->answer(401, "not a Cadre token (cadre tokens create --namespace NS)");
    self->redirect(
        303, next,
        session_set_cookie(self->deps_.sessions.create(*ns),
                           self->deps_.sessions.lifetime().count(), self->c_->stream.tls()));
  });
}

template <class Body>
void Exchange::copy_request_headers(bhttp::request<Body>& up, bool upgrade) const {
  for (const auto& f : req()) {
    const auto name = f.name();
    if (name == bhttp::field::authorization || name == bhttp::field::cookie) continue;
    if (hop_by_hop(name) &&
        !(upgrade && (name == bhttp::field::upgrade || name == bhttp::field::connection))) {
      continue;
    }
    up.insert(f.name_string(), f.value());
  }
  // Jupyter sees its own token and its own cookies, never Cadre's credentials.
  const std::string cookies = without_cookie(header(bhttp::field::cookie), kSessionCookie);
  if (!cookies.empty()) up.set(bhttp::field::cookie, cookies);
  up.set(bhttp::field::authorization, "token " + route_.token);
  beast::error_code ec;
  const auto peer = c_->stream.socket().remote_endpoint(ec);
  if (!ec) up.set("X-Forwarded-For", peer.address().to_string());
  up.set("X-Forwarded-Proto", c_->stream.tls() ? "https" : "http");
}

void Exchange::connect(std::function<void()> then) {
  resolver_.async_resolve(
      route_.address, std::to_string(route_.port),
      [self = shared_from_this(), then](beast::error_code ec, tcp::resolver::results_type found) {
        if (ec) {
          return self->answer(502, "cannot resolve notebook/" + self->route_.name + "'s server " +
                                       self->route_.address + ": " + ec.message());
        }
        self->upstream_.expires_after(self->opts().connect_timeout);
        self->upstream_.async_connect(
            found, [self, then](beast::error_code ec, const tcp::endpoint&) {
              if (ec) {
                return self->answer(502,
                                    "cannot reach notebook/" + self->route_.name + "'s server at " +
                                        self->route_.address + ":" +
                                        std::to_string(self->route_.port) + ": " + ec.message(),
                                    {{"Retry-After", "5"}});
              }
              then();
            });
      });
}

void Exchange::forward() {
  connect([self = shared_from_this()] {
    auto up = std::make_shared<bhttp::request<bhttp::string_body>>(self->req().method(),
                                                                   self->req().target(), 11);
    self->copy_request_headers(*up, false);
    up->body() = self->req().body();
    up->keep_alive(false);
    up->prepare_payload();
    self->keep_ = up;
    self->upstream_.expires_after(self->opts().response_timeout);
    bhttp::async_write(self->upstream_, *up, [self](beast::error_code ec, size_t) {
      if (ec) return self->answer(502, "notebook server: " + ec.message());
      self->up_parser_ = std::make_unique<bhttp::response_parser<bhttp::string_body>>();
      self->up_parser_->body_limit(self->opts().max_response_bytes);
      self->up_parser_->header_limit(64 * 1024);
      if (self->req().method() == bhttp::verb::head) self->up_parser_->skip(true);
      bhttp::async_read(
          self->upstream_, self->up_buffer_, *self->up_parser_,
          [self](beast::error_code ec, size_t) {
            if (ec == beast::error::timeout) {
              return self->answer(504, "the notebook server did not answer in time");
            }
            if (ec == bhttp::error::body_limit) {
              return self->answer(502, "the notebook server's answer is larger than " +
                                           std::to_string(self->opts().max_response_bytes) +
                                           " bytes");
            }
            if (ec) return self->answer(502, "notebook server: " + ec.message());
            beast::error_code ignored;
            self->upstream_.socket().close(ignored);
            auto in = self->up_parser_->release();
            auto res = std::make_shared<bhttp::response<bhttp::string_body>>(in.result(), 11);
            for (const auto& f : in) {
              if (!hop_by_hop(f.name())) res->insert(f.name_string(), f.value());
            }
            const bool head = self->req().method() == bhttp::verb::head;
            res->body() = std::move(in.body());
            if (!head) res->prepare_payload();
            self->send(std::move(res), true);
          });
    });
  });
}

void Exchange::upgrade() {
  connect([self = shared_from_this()] {
    auto up = std::make_shared<bhttp::request<bhttp::empty_body>>(self->req().method(),
                                                                  self->req().target(), 11);
    self->copy_request_headers(*up, true);
    self->keep_ = up;
    self->upstream_.expires_after(self->opts().connect_timeout);
    bhttp::async_write(self->upstream_, *up, [self](beast::error_code ec, size_t) {
      if (ec) return self->answer(502, "notebook server: " + ec.message());
      self->up_parser_ = std::make_unique<bhttp::response_parser<bhttp::string_body>>();
      self->up_parser_->body_limit(64 * 1024);
      self->up_parser_->header_limit(64 * 1024);
      bhttp::async_read_header(
          self->upstream_, self->up_buffer_, *self->up_parser_,
          [self](beast::error_code ec, size_t) {
            if (ec) return self->answer(502, "notebook server: " + ec.message());
            const auto& head = self->up_parser_->get();
            if (head.result() != bhttp::status::switching_protocols) {
              return self->answer(502, "the notebook server refused the WebSocket (" +
                                           std::to_string(head.result_int()) + ")");
            }
            auto res = std::make_shared<bhttp::response<bhttp::empty_body>>(head.result(), 11);
            for (const auto& f : head) res->insert(f.name_string(), f.value());
            self->keep_ = res;
            self->c_->stream.expires_after(std::chrono::seconds(30));
            bhttp::async_write(self->c_->stream, *res, [self](beast::error_code ec, size_t) {
              if (ec) return self->close();
              self->tunnel();
            });
          });
    });
  });
}

// From here on the connection carries WebSocket frames: bytes go both ways as they
// are, until either side closes or neither sends for tunnel_idle_timeout.
void Exchange::tunnel() {
  c_->stream.expires_never();
  upstream_.expires_never();
  arm_watchdog();
  auto self = shared_from_this();
  // Bytes that arrived behind the handshakes go first.
  auto client_early = std::make_shared<std::string>(
      static_cast<const char*>(c_->buffer.data().data()), c_->buffer.size());
  auto server_early = std::make_shared<std::string>(
      static_cast<const char*>(up_buffer_.data().data()), up_buffer_.size());
  c_->buffer.consume(c_->buffer.size());
  up_buffer_.consume(up_buffer_.size());
  net::async_write(upstream_.socket(), net::buffer(*client_early),
                   [self, client_early](beast::error_code ec, size_t) {
                     if (ec) return self->close();
                     self->pump(self->c_->stream, self->upstream_.socket(), self->up_);
                   });
  net::async_write(c_->stream, net::buffer(*server_early),
                   [self, server_early](beast::error_code ec, size_t) {
                     if (ec) return self->close();
                     self->pump(self->upstream_.socket(), self->c_->stream, self->down_);
                   });
}

template <class From, class To>
void Exchange::pump(From& from, To& to, std::array<char, 16384>& buffer) {
  from.async_read_some(net::buffer(buffer), [self = shared_from_this(), &from, &to, &buffer](
                                                beast::error_code ec, size_t n) {
    if (ec) return self->close();
    self->last_activity_ = Clock::now();
    net::async_write(to, net::buffer(buffer.data(), n),
                     [self, &from, &to, &buffer](beast::error_code ec, size_t) {
                       if (ec) return self->close();
                       self->last_activity_ = Clock::now();
                       self->pump(from, to, buffer);
                     });
  });
}

void Exchange::arm_watchdog() {
  watchdog_.expires_after(std::min(opts().tunnel_idle_timeout, std::chrono::milliseconds(30000)));
  watchdog_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->closed_) return;
    if (Clock::now() - self->last_activity_ >= self->opts().tunnel_idle_timeout) {
      spdlog::debug(
          "notebook={} a WebSocket idle for {} s is closed", self->route_.name,
          std::chrono::duration_cast<std::chrono::seconds>(self->opts().tunnel_idle_timeout)
              .count());
      return self->close();
    }
    self->arm_watchdog();
  });
}

}  // namespace

void NotebookProxy::take(std::shared_ptr<HttpConnection> connection) {
  std::make_shared<Exchange>(std::move(connection), Deps{options_, table_, sessions_})->start();
}

}  // namespace cadre::ingress
