#include "lib/kube/list_items.h"

#include <utility>

namespace novacron::kube {

core::StatusOr<Json> listItems(Client& client, const ResourceType& resource, std::string_view ns,
                               const ListOptions& options, const ItemCallback& on_item) {
  if (auto* lister = dynamic_cast<ItemLister*>(&client); lister != nullptr) {
    return lister->listItems(resource, ns, options, on_item);
  }
  auto page = client.list(resource, ns, options);
  if (!page.isOk()) {
    return page.status();
  }
  Json& body = *page;
  if (auto it = body.find("items"); it != body.end()) {
    if (it->is_array()) {
      for (auto& item : *it) {
        on_item(std::move(item));
      }
    }
    body.erase(it);
  }
  return std::move(body);
}

}  // namespace novacron::kube
