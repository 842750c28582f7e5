#include "client/predict.h"

#include <httplib.h>
#include <png.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>

#include <nlohmann/json.hpp>

namespace cadre::client {
namespace {

constexpr int kMaxSide = 4096;

Result<std::string> read_all(const std::string& path) {
  if (path == "-") {
    std::stringstream text;
    text << std::cin.rdbuf();
    return text.str();
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<GrayImage> read_png(const std::string& path) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&image, path.c_str())) {
    return InvalidArgument(path + ": not a readable PNG (" + image.message + ")");
  }
  if (image.width == 0 || image.height == 0 || image.width > kMaxSide || image.height > kMaxSide) {
    png_image_free(&image);
    return InvalidArgument(path + ": " + std::to_string(image.width) + "x" +
                           std::to_string(image.height) + " is not 1..4096 pixels a side");
  }
  image.format = PNG_FORMAT_GRAY;
  GrayImage out;
  out.width = static_cast<int>(image.width);
  out.height = static_cast<int>(image.height);
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr)) {
    png_image_free(&image);
    return InvalidArgument(path + ": " + image.message);
  }
  return out;
}

// PGM (Netpbm): "P5" binary or "P2" ASCII, maxval <= 255, '#' comments.
Result<GrayImage> read_pgm(const std::string& path, const std::string& data) {
  std::istringstream in(data);
  auto token = [&]() -> std::string {
    std::string t;
    while (in >> t) {
      if (t[0] != '#') return t;
      std::string rest;
      std::getline(in, rest);
    }
    return "";
  };
  const std::string magic = token();
  if (magic != "P5" && magic != "P2") return InvalidArgument(path + ": not a PGM (P5 or P2)");
  int w = 0, h = 0, maxval = 0;
  try {
    w = std::stoi(token());
    h = std::stoi(token());
    maxval = std::stoi(token());
  } catch (const std::exception&) {
    return InvalidArgument(path + ": a PGM header is width, height and maxval");
  }
  if (w <= 0 || h <= 0 || w > kMaxSide || h > kMaxSide || maxval <= 0 || maxval > 255) {
    return InvalidArgument(path + ": PGM of " + std::to_string(w) + "x" + std::to_string(h) +
                           " maxval " + std::to_string(maxval) + " is not supported");
  }
  GrayImage out{w, h, std::vector<uint8_t>(static_cast<size_t>(w) * h)};
  if (magic == "P5") {
    in.get();  // the one whitespace after maxval
    in.read(reinterpret_cast<char*>(out.pixels.data()), static_cast<std::streamsize>(w) * h);
    if (in.gcount() != static_cast<std::streamsize>(w) * h) {
      return InvalidArgument(path + ": the PGM ends before its " + std::to_string(w * h) +
                             " pixels");
    }
  } else {
    for (auto& p : out.pixels) {
      int v = -1;
      if (!(in >> v) || v < 0 || v > maxval) return InvalidArgument(path + ": bad PGM pixel");
      p = static_cast<uint8_t>(v);
    }
  }
  if (maxval != 255) {
    for (auto& p : out.pixels) p = static_cast<uint8_t>(p * 255 / maxval);
  }
  return out;
}

// The label and top classes of a parsed answer; empty when it has neither.
std::string summarize_outputs(const nlohmann::json& answer) {
  std::string out;
  const auto outputs = answer.value("outputs", nlohmann::json::array());
  for (const auto& o : outputs) {
    if (o.value("name", "") == "label" && o.contains("data") && !o["data"].empty()) {
      out += "label: " + o["data"][0].get<std::string>() + "\n";
    }
  }
  for (const auto& o : outputs) {
    if (o.value("name", "") != "probabilities" || !o.contains("data")) continue;
    std::vector<double> p = o["data"].get<std::vector<double>>();
    std::vector<size_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return p[a] > p[b]; });
    out += "top classes:";
    for (size_t i = 0; i < std::min<size_t>(3, order.size()); ++i) {
      char line[64];
      std::snprintf(line, sizeof line, " %zu (%.3f)", order[i], p[order[i]]);
      out += line;
    }
    out += "\n";
  }
  return out;
}

}  // namespace

Result<GrayImage> read_gray_image(const std::string& path) {
  ASSIGN_OR_RETURN(std::string data, read_all(path));
  if (data.size() >= 8 && data.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) return read_png(path);
  if (data.size() >= 2 && data[0] == 'P' && (data[1] == '5' || data[1] == '2')) {
    return read_pgm(path, data);
  }
  return InvalidArgument(path + ": not a PNG or PGM image");
}

Result<std::string> image_request(const GrayImage& image, const std::string& metadata_json) {
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(metadata_json);
    const auto& input = meta.at("inputs").at(0);
    const std::string name = input.at("name");
    const std::string datatype = input.at("datatype");
    std::vector<int64_t> shape = input.at("shape");
    if (datatype != "FP32" && datatype != "UINT8") {
      return InvalidArgument("the model's input '" + name + "' is " + datatype +
                             "; --image fills FP32 or UINT8 inputs");
    }
    // The batch dimension (-1) becomes 1; the rest must hold the pixels exactly.
    int64_t elements = 1;
    for (auto& d : shape) {
      if (d < 0) d = 1;
      elements *= d;
    }
    const int64_t pixels = static_cast<int64_t>(image.width) * image.height;
    if (elements != pixels) {
      std::string dims;
      for (auto d : shape) dims += (dims.empty() ? "" : "x") + std::to_string(d);
      return InvalidArgument("the image is " + std::to_string(image.width) + "x" +
                             std::to_string(image.height) + " (" + std::to_string(pixels) +
                             " pixels); the model's input '" + name + "' takes " + dims);
    }
    nlohmann::json data = nlohmann::json::array();
    for (uint8_t p : image.pixels) data.push_back(p);
    nlohmann::json outputs = nlohmann::json::array();
    for (const auto& o : meta.value("outputs", nlohmann::json::array())) {
      outputs.push_back({{"name", o.at("name")}});
    }
    nlohmann::json request = {
        {"id", "cadre-predict"},
        {"inputs", {{{"name", name}, {"datatype", datatype}, {"shape", shape}, {"data", data}}}}};
    if (!outputs.empty()) request["outputs"] = outputs;
    return request.dump();
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("the model's metadata is not what V2 describes: ") +
                           e.what());
  }
}

std::string summarize_answer(const std::string& answer_json) {
  nlohmann::json answer;
  try {
    answer = nlohmann::json::parse(answer_json);
  } catch (const std::exception&) {
    return answer_json + "\n";
  }
  // An answer with fields of other types than V2's is shown as it came:
  // value(), get() and [] throw on those.
  try {
    const std::string out = summarize_outputs(answer);
    if (!out.empty()) return out;
  } catch (const nlohmann::json::exception&) {
  }
  return answer.dump(2) + "\n";
}

namespace {

// "http://host:port/v2/models/x" -> ("http://host:port", "/v2/models/x").
Result<std::pair<std::string, std::string>> split_url(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return InvalidArgument("'" + url + "' is not a URL");
  const auto path = url.find('/', scheme + 3);
  if (path == std::string::npos) return std::make_pair(url, std::string("/"));
  return std::make_pair(url.substr(0, path), url.substr(path));
}

Result<std::string> call(httplib::Client& http, const std::string& method, const std::string& path,
                         const httplib::Headers& headers, const std::string& body) {
  auto res = method == "GET" ? http.Get(path.c_str(), headers)
                             : http.Post(path.c_str(), headers, body, "application/json");
  if (!res) {
    return Unavailable(method + " " + path + ": " + httplib::to_string(res.error()));
  }
  if (res->status / 100 != 2) {
    std::string detail = res->body;
    try {
      detail = nlohmann::json::parse(res->body).at("error").get<std::string>();
    } catch (const std::exception&) {
    }
    const StatusCode code = res->status == 401 || res->status == 403 ? StatusCode::kPermissionDenied
                            : res->status == 404                     ? StatusCode::kNotFound
                                                                     : StatusCode::kUnavailable;
    return Status(code, "HTTP " + std::to_string(res->status) + " from " + path + ": " + detail);
  }
  return res->body;
}

}  // namespace

Status predict(const PredictOptions& options, std::ostream& out) {
  if (options.input_file.empty() == options.image_file.empty()) {
    return InvalidArgument("give one of -f FILE (a V2 JSON request) or --image FILE");
  }
  if (options.url.empty()) {
    return FailedPrecondition("inferenceservice/" + options.service +
                              " has no URL yet: no cadre-ingress serves it (cadre describe isvc " +
                              options.service + ")");
  }
  ASSIGN_OR_RETURN(auto parts, split_url(options.url));
  httplib::Client http(parts.first);
  if (!http.is_valid()) return InvalidArgument("'" + options.url + "' is not an http(s) URL");
  // https: the certificate is checked (the default), against these CAs when given.
  if (!options.ca_file.empty()) http.set_ca_cert_path(options.ca_file.c_str());
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(options.timeout).count();
  http.set_connection_timeout(5);
  http.set_read_timeout(std::max<int64_t>(1, seconds));
  httplib::Headers headers;
  if (!options.token.empty()) headers.emplace("Authorization", "Bearer " + options.token);
  std::string body;
  if (!options.input_file.empty()) {
    ASSIGN_OR_RETURN(body, read_all(options.input_file));
  } else {
    ASSIGN_OR_RETURN(GrayImage image, read_gray_image(options.image_file));
    ASSIGN_OR_RETURN(std::string metadata, call(http, "GET", parts.second, headers, ""));
    ASSIGN_OR_RETURN(body, image_request(image, metadata));
  }
  ASSIGN_OR_RETURN(std::string answer, call(http, "POST", parts.second + "/infer", headers, body));
  out << (options.json || options.image_file.empty() ? answer + "\n" : summarize_answer(answer));
  return Status::Ok();
}

}  // namespace cadre::client
