// `cadre predict isvc/NAME`: one V2 inference request through the ingress, with a
// Cadre token. The request is a V2 JSON file as is (-f), or an image (--image, PNG
// or PGM) made into the model's input as its metadata describes it, whose
// answer is printed as the label and the most likely classes.
#pragma once

#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "client/coordinator.h"
#include "protocol/status.h"

namespace cadre::client {

struct PredictOptions {
  std::string service;
  std::string input_file;  // a V2 JSON request ("-": stdin)
  std::string image_file;  // a .png or .pgm image
  std::string url;         // the service's URL (from its status); else ingress + path
  std::string token;       // a Cadre token; empty: none sent
  std::string ca_file;     // PEM CAs for an https URL; empty: the system's
  bool json = false;       // print the V2 answer as it came
  std::chrono::milliseconds timeout{60000};
};

// A grayscale image as 8-bit pixels, rows top to bottom.
struct GrayImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;
};

// Reads a PNG (any colour type, converted to gray) or a binary/ASCII PGM, at most
// 4096 x 4096 pixels.
Result<GrayImage> read_gray_image(const std::string& path);

// The V2 request for `image` given the model's metadata JSON (its first input's
// name, datatype and shape): FP32 or UINT8 pixel values, batch of one.
Result<std::string> image_request(const GrayImage& image, const std::string& metadata_json);

// "label: Ankle boot" and the top classes from a V2 answer, if it has them.
std::string summarize_answer(const std::string& answer_json);

Status predict(const PredictOptions& options, std::ostream& out);

}  // namespace cadre::client
