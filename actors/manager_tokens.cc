// The manager's side of user tokens (protocol/user_tokens.h): made, listed and
// deleted on clients' requests, stored as hashes, and handed to ingresses with the
// routes (a change of tokens is a new routes version).
#include <spdlog/spdlog.h>

#include "actors/manager_state.h"
#include "protocol/spec/yaml_reader.h"
#include "protocol/user_tokens.h"
#include "protocol/wall_clock.h"

namespace cadre::actors::manager {
namespace {

using protocol::MessageKind;
using Self = ManagerSelf;

constexpr size_t kMaxTokens = 10000;
constexpr size_t kMaxDescription = 256;
constexpr size_t kMaxLoginCodes = 1000;
constexpr int64_t kLoginCodeLifetimeMs = 5 * 60 * 1000;

void drop_expired_codes(Self* self) {
  auto& codes = self->state.login_codes;
  const int64_t now = wall_ms();
  for (auto it = codes.begin(); it != codes.end();) {
    it = it->second.expires_ms <= now ? codes.erase(it) : std::next(it);
  }
}

// A one-time login code: memory only (a coordinator restart voids the few that
// are open), handed to ingresses like a token until one redeems it.
void create_login_code(Self* self, const ClientRef& client, const protocol::TokenCreateRequest& r) {
  auto& st = self->state;
  drop_expired_codes(self);
  if (st.login_codes.size() >= kMaxLoginCodes) {
    return st.ctx.outbox->client_error(
        client, FailedPrecondition("1000 login codes are open; each lasts 5 minutes"));
  }
  if (r.login_code_lifetime_ms < 0 || r.login_code_lifetime_ms > kLoginCodeLifetimeMs) {
    return st.ctx.outbox->client_error(
        client,
        InvalidArgument("login_code_lifetime_ms " + std::to_string(r.login_code_lifetime_ms) +
                        " must be 0 (5 minutes) .. 300000"));
  }
  const int64_t lifetime =
      r.login_code_lifetime_ms > 0 ? r.login_code_lifetime_ms : kLoginCodeLifetimeMs;
  const std::string code = protocol::new_user_token();
  protocol::IngressToken entry{protocol::token_sha256(code), r.ns, wall_ms() + lifetime};
  st.login_codes[entry.sha256] = entry;
  st.routes_version++;
  protocol::TokenCreateReply reply;
  reply.info.id = protocol::token_id(entry.sha256);
  reply.info.ns = r.ns;
  reply.info.description = r.description;
  reply.info.created_ms = wall_ms();
  reply.token = code;
  reply.expires_ms = entry.expires_ms;
  reply.ingress_url = st.ingress_url;
  spdlog::info("login code {} made for namespace {}", reply.info.id, r.ns);
  st.ctx.outbox->client(client, MessageKind::kTokenCreateReply, reply);
}

}  // namespace

void restore_tokens(Self* self, std::vector<TokenRecord> restored) {
  for (auto& t : restored) self->state.tokens[t.info.id] = std::move(t);
}

void create_token(Self* self, const ClientRef& client, const protocol::TokenCreateRequest& r) {
  auto& st = self->state;
  if (!spec::is_dns_label(r.ns)) {
    return st.ctx.outbox->client_error(
        client, InvalidArgument("namespace: " + spec::quote_value(r.ns) + " is not a DNS label"));
  }
  if (r.description.size() > kMaxDescription) {
    return st.ctx.outbox->client_error(client,
                                       InvalidArgument("description: at most 256 bytes, got " +
                                                       std::to_string(r.description.size())));
  }
  if (r.login_code) return create_login_code(self, client, r);
  if (st.tokens.size() >= kMaxTokens) {
    return st.ctx.outbox->client_error(
        client, FailedPrecondition("there are 10000 tokens already; delete unused ones"));
  }
  const std::string token = protocol::new_user_token();
  TokenRecord record;
  record.sha256 = protocol::token_sha256(token);
  record.info.id = protocol::token_id(record.sha256);
  record.info.ns = r.ns;
  record.info.description = r.description;
  record.info.created_ms = wall_ms();
  // The token is shown only once it is durable, and never again.
  self->request(st.ctx.store, st.ctx.policy.request_timeout, put_atom::value, record)
      .then(
          [=](const Status& stored) {
            if (!stored.ok()) {
              return self->state.ctx.outbox->client_error(
                  client, Unavailable("token not created: " + stored.message()));
            }
            self->state.tokens[record.info.id] = record;
            self->state.routes_version++;
            spdlog::info("token {} created for namespace {}", record.info.id, record.info.ns);
            self->state.ctx.outbox->client(client, MessageKind::kTokenCreateReply,
                                           protocol::TokenCreateReply{record.info, token, 0, ""});
          },
          [=](const caf::error& error) {
            self->state.ctx.outbox->client_error(
                client, Unavailable("the store did not answer: " + caf::to_string(error)));
          });
}

void get_tokens(Self* self, const ClientRef& client) {
  protocol::GetReply reply;
  for (const auto& [id, t] : self->state.tokens) reply.tokens.push_back(t.info);
  self->state.ctx.outbox->client(client, MessageKind::kGetReply, reply);
}

void delete_token(Self* self, const ClientRef& client, const std::string& id) {
  auto& st = self->state;
  if (!st.tokens.count(id)) {
    return st.ctx.outbox->client_error(client, NotFound("token " + id + " not found"));
  }
  self->request(st.ctx.store, st.ctx.policy.request_timeout, delete_atom::value, token_atom::value,
                id)
      .then(
          [=](const Status& deleted) {
            if (!deleted.ok()) return self->state.ctx.outbox->client_error(client, deleted);
            // Ingresses refuse it from their next poll on.
            self->state.tokens.erase(id);
            self->state.routes_version++;
            self->state.ctx.outbox->client(client, MessageKind::kDeleteReply,
                                           protocol::DeleteReply{id});
          },
          [=](const caf::error& error) {
            self->state.ctx.outbox->client_error(
                client, Unavailable("the store did not answer: " + caf::to_string(error)));
          });
}

std::vector<protocol::IngressToken> ingress_tokens(Self* self) {
  std::vector<protocol::IngressToken> out;
  for (const auto& [id, t] : self->state.tokens) out.push_back({t.sha256, t.info.ns, 0});
  return out;
}

std::vector<protocol::IngressToken> ingress_login_codes(Self* self) {
  drop_expired_codes(self);
  std::vector<protocol::IngressToken> out;
  for (const auto& [hash, code] : self->state.login_codes) out.push_back(code);
  return out;
}

void redeem_login_codes(Self* self, const std::vector<std::string>& redeemed) {
  for (const auto& hash : redeemed) {
    if (self->state.login_codes.erase(hash)) self->state.routes_version++;
  }
}

}  // namespace cadre::actors::manager
