#include "controller/rebalance/rebalance_config.h"

#include "lib/kube/selector.h"

namespace novacron::controller::rebalance {

core::Status checkExcludeSelector(std::string_view text) {
  auto selector = kube::Selector::parse(text);
  return selector.isOk() ? core::okStatus() : selector.status();
}

}  // namespace novacron::controller::rebalance
