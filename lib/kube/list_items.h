// listItems(): one page of a list, its items handed out one at a time as they are parsed.
//
// A page of 500 VMs is ~1 MB of JSON text and ~5 MB as a JSON tree; a reflector that decodes
// each item into its cache while the whole tree is alive leaves the cached objects scattered
// through the tree's holes, and that freed memory stays resident (issue 15 B4: a restarted
// controller held 8 MiB of free heap in 67,000 holes at 10,000 VMs). With listItems() only one
// item's tree is alive at a time. Clients that can (the REST client: ItemLister) parse the page
// text with a callback that takes each item out as soon as it is complete; any other Client is
// served by list() and its items in turn.
// Thread-safety: as the client's.
#pragma once

#include <functional>
#include <string_view>

#include "lib/core/statusor.h"
#include "lib/kube/client.h"

namespace novacron::kube {

// Receives one item of a list page (as in "items": without apiVersion/kind).
using ItemCallback = std::function<void(Json&& item)>;

class ItemLister {
public:
  virtual ~ItemLister() = default;
  // Client::list() of one page, but each item goes to `on_item` in order as soon as it is parsed;
  // returns the List object without its items ("metadata": resourceVersion, continue).
  [[nodiscard]] virtual core::StatusOr<Json> listItems(const ResourceType& resource,
                                                       std::string_view ns,
                                                       const ListOptions& options,
                                                       const ItemCallback& on_item) = 0;
};

// Through `client`'s ItemLister when it is one, else list() and each item in turn.
[[nodiscard]] core::StatusOr<Json> listItems(Client& client, const ResourceType& resource,
                                             std::string_view ns, const ListOptions& options,
                                             const ItemCallback& on_item);

}  // namespace novacron::kube
