// A client connection the HTTP server hands over whole once a request's headers
// have arrived (HttpServerOptions::takeover): for a handler that must see every
// header, stream a body or switch protocols (the ingress's notebook proxy and its
// WebSocket tunnels). Beast and Asio live here, so only the .cc files that take
// connections over include it.
//
// Threading: the stream's executor is the connection's strand; the new owner runs
// its operations there. Handing the connection back with `resume` lets the server
// read the next request on it (keep-alive).
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <memory>

#include "serving/http/http_stream.h"

namespace cadre::serving::http {

struct HttpServerOptions;

struct HttpConnection {
  using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

  HttpConnection(HttpStream s, boost::beast::flat_buffer b, std::unique_ptr<Parser> p)
      : stream(std::move(s)), buffer(std::move(b)), parser(std::move(p)) {}

  HttpStream stream;                 // TLS already handshaken when the server has a certificate
  boost::beast::flat_buffer buffer;  // bytes read past the headers
  // The request's headers are read; its body is not (read it with this parser:
  // the server's header and body limits are already set on it).
  std::unique_ptr<Parser> parser;
  const HttpServerOptions* options = nullptr;  // the server's limits and timeouts
  // Hands the connection back to the server to read its next request. Call it on
  // the connection's strand, after the answer is written; drop it to close instead.
  std::function<void(std::shared_ptr<HttpConnection>)> resume;
  // Holds one of the server's max_connections while the connection lives.
  std::shared_ptr<void> slot;
};

// The request as a handler sees it (HttpRequest), without its body.
struct HttpRequest;
HttpRequest request_head(const boost::beast::http::request<boost::beast::http::string_body>& req);

}  // namespace cadre::serving::http
