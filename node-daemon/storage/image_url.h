// A strict parser for image URLs (http/https only). The fetcher hands curl the URL rebuilt from
// these parts, so curl and the destination check always agree on the host: no credentials, no
// backslashes, no raw spaces or control bytes, no non-canonical numeric hosts ("2130706433",
// "0x7f.1", "127.1"), host names of letters, digits, '-' and '.' only.
// Thread-safety: value type.
#pragma once

#include <string>
#include <string_view>

#include "lib/core/statusor.h"

namespace novacron::node::storage {

struct ImageUrl {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower case; an IPv6 literal without brackets
  int port = 0;
  std::string path;  // starts with '/', includes the query, never the fragment
  bool host_is_ip = false;

  // InvalidArgument naming what is wrong.
  static core::StatusOr<ImageUrl> parse(std::string_view url);
  // scheme://host:port/path with IPv6 hosts in brackets.
  std::string toString() const;
  // The host as it appears in a URL (brackets around IPv6).
  std::string urlHost() const;
};

}  // namespace novacron::node::storage
