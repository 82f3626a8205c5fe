#include "node-daemon/domain/metadata.h"

#include <pugixml.hpp>

namespace novacron::node::domain {
namespace {

std::string_view localName(std::string_view qualified) {
  auto pos = qualified.find(':');
  return pos == std::string_view::npos ? qualified : qualified.substr(pos + 1);
}

}  // namespace

core::StatusOr<DomainMetadata> parseMetadata(std::string_view xml) {
  pugi::xml_document doc;
  pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
  if (!parsed) {
    return core::invalidArgumentError(std::string("domain metadata is not XML: ") +
                                      parsed.description());
  }
  pugi::xml_node root = doc.document_element();
  if (localName(root.name()) != "vm") {
    return core::invalidArgumentError("domain metadata root is not <vm>");
  }
  DomainMetadata md;
  for (pugi::xml_node child : root.children()) {
    std::string_view n = localName(child.name());
    if (n == "namespace") {
      md.vm_namespace = child.text().get();
    } else if (n == "name") {
      md.vm_name = child.text().get();
    } else if (n == "uid") {
      md.vm_uid = child.text().get();
    }
  }
  if (md.vm_namespace.empty() || md.vm_name.empty() || md.vm_uid.empty()) {
    return core::invalidArgumentError("domain metadata lacks namespace, name or uid");
  }
  return md;
}

}  // namespace novacron::node::domain
