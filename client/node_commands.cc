#include "client/node_commands.h"

namespace cadre::client {

Status cordon_node(Coordinator& coordinator, const std::string& node, bool cordon,
                   std::ostream& out) {
  ASSIGN_OR_RETURN(protocol::CordonReply reply,
                   coordinator.cordon(protocol::CordonRequest{node, cordon}));
  out << "node/" << reply.node << (reply.changed ? " " : " already ")
      << (reply.cordoned ? "cordoned" : "uncordoned") << "\n";
  return Status::Ok();
}

}  // namespace cadre::client
