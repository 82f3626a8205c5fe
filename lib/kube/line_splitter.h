// LineSplitter: cuts a streamed HTTP body (a watch) into lines for a LineCallback, whatever the
// blocks the bytes arrive in. A line ends at LF or CRLF; empty lines are skipped; the bytes after
// the last newline are delivered as a last line when the stream ends (finish). One splitter per
// stream, used by the one thread that reads it; both HTTP transports use it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "lib/kube/http_transport.h"

namespace novacron::kube {

class LineSplitter {
public:
  // `on_line` must outlive the splitter.
  explicit LineSplitter(const LineCallback& on_line) : on_line_(on_line) {}

  // Appends `bytes` and delivers every line they complete; false once the callback asked to stop
  // (the remaining lines are then not delivered).
  [[nodiscard]] bool feed(std::string_view bytes);

  // The stream ended: delivers the complete lines and then the unterminated rest, if any; false
  // when the callback asked to stop.
  [[nodiscard]] bool finish();

private:
  const LineCallback& on_line_;
  std::string pending_;  // bytes of lines not yet delivered
  size_t scanned_ = 0;   // pending_[0, scanned_) holds no newline
};

}  // namespace novacron::kube
