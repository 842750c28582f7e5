// Multi-document YAML manifests, split so each document is sent as the user wrote
// it: the coordinator's error messages then point at the user's own text.
#pragma once

#include <string>
#include <vector>

#include "protocol/status.h"

namespace cadre::client {

// Splits on lines that are exactly `---` (trailing spaces allowed) and drops
// documents holding only comments or whitespace. A leading `---` is fine. A KFP
// platform spec (a document of only `platforms:`, which the KFP compiler writes
// after the pipeline spec) stays with the document before it.
std::vector<std::string> split_documents(const std::string& text);

// What a document declares itself to be, for `delete -f`.
struct ManifestIdentity {
  std::string kind;  // e.g. "Job"
  std::string name;  // metadata.name
};

// Reads kind and metadata.name; `index` (0-based) names the document in errors.
Result<ManifestIdentity> manifest_identity(const std::string& document, size_t index);

// Reads FILE, or standard input for "-".
Result<std::string> read_manifest_source(const std::string& file);

}  // namespace cadre::client
