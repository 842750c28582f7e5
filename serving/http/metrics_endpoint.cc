#include "serving/http/metrics_endpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "protocol/user_tokens.h"

namespace cadre::serving::http {

Result<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Create(
    const MetricsEndpointOptions& options, Render render) {
  if (options.token.empty()) return InvalidArgument("the metrics endpoint needs a token");
  HttpServerOptions http;
  http.host = options.host;
  http.port = options.port;
  http.threads = 1;
  http.max_connections = 16;  // Prometheus servers, not users
  http.max_body_bytes = 0;    // a scrape is a GET
  http.name = "metrics";
  http.bearer_token = options.token;
  ASSIGN_OR_RETURN(
      auto server, HttpServer::Create(http, [render](HttpRequest request, Responder respond) {
        const std::string path = request.target.substr(0, request.target.find('?'));
        if (request.method != "GET" || path != "/metrics") {
          return respond(
              {404, "application/json", {}, "{\"error\":\"only GET /metrics is served here\"}"});
        }
        respond({200, "text/plain; version=0.0.4", {}, render()});
      }));
  return std::unique_ptr<MetricsEndpoint>(new MetricsEndpoint(std::move(server)));
}

Result<std::string> load_or_create_metrics_token(const std::string& path) {
  std::ifstream in(path);
  if (in) {
    std::string token;
    std::getline(in, token);
    while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
    if (token.size() < 16) {
      return InvalidArgument("metrics token file " + path +
                             " holds fewer than 16 characters; write a longer token or delete "
                             "it to have one made");
    }
    return token;
  }
  const std::string token = protocol::new_user_token();
  // O_EXCL: two coordinators starting at once never both write it.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return FailedPrecondition("cannot create the metrics token file " + path + ": " +
                              std::strerror(errno));
  }
  const std::string line = token + "\n";
  const bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!written) return Internal("cannot write the metrics token file " + path);
  return token;
}

}  // namespace cadre::serving::http
