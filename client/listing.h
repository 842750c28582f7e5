// What `cadre get` lists: one fetch from the coordinator, then shown as JSON or
// as a table. `get` prints it once; `get -w` fetches it again and again and
// prints what changed (client/watch_commands.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client/coordinator.h"
#include "client/resource_ref.h"

namespace cadre::client {

// Everything one `cadre get` shows. Trials travel in their experiments
// (`reply.experiments`, each keeping only the trials asked for): one experiment's
// when `experiment` (from -l experiment=NAME) is set, the named trial's, or all.
// A name that matches nothing is NotFound ("job/NAME not found").
Result<protocol::GetReply> fetch_listing(Coordinator& coordinator, const ResourceRef& ref,
                                         const std::string& experiment = "");

// -o json: a list, or the one object when `ref` names it.
nlohmann::json listing_json(const ResourceRef& ref, const protocol::GetReply& reply);

// Each listed item's JSON as listing_json gives it (the one object when `ref`
// names it); none when the reply lists nothing.
std::vector<nlohmann::json> listing_items(const ResourceRef& ref, const protocol::GetReply& reply);

// listing_json as indented text; bytes that are not UTF-8 (a replica's message)
// are replaced, never thrown on.
std::string listing_json_text(const ResourceRef& ref, const protocol::GetReply& reply);

// The table: a header line, then one line per item in the reply's order, its
// first column the item's name (a token's id). "" when the reply lists nothing.
std::string listing_table(const ResourceRef& ref, const protocol::GetReply& reply, int64_t now_ms,
                          bool wide);

// "No jobs found.": what `get` prints for an empty listing.
std::string empty_listing_text(const ResourceRef& ref);

}  // namespace cadre::client
