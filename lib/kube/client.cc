#include "lib/kube/client.h"

namespace novacron::kube {

std::string_view watchEventTypeName(WatchEventType type) {
  switch (type) {
  case WatchEventType::kAdded:
    return "ADDED";
  case WatchEventType::kModified:
    return "MODIFIED";
  case WatchEventType::kDeleted:
    return "DELETED";
  case WatchEventType::kBookmark:
    return "BOOKMARK";
  case WatchEventType::kError:
    return "ERROR";
  }
  return "UNKNOWN";
}

}  // namespace novacron::kube
