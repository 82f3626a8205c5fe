#include "dev-apiserver/authn/token_authenticator.h"

#include <sstream>

#include <openssl/crypto.h>

namespace novacron::devapi::authn {

std::optional<UserInfo> StaticTokenAuthenticator::authenticate(const std::string& token) {
  // Compare every entry in constant time, so timing does not tell how much of a token matched.
  std::optional<UserInfo> found;
  for (const auto& [t, user] : tokens_) {
    if (t.size() == token.size() && CRYPTO_memcmp(t.data(), token.data(), t.size()) == 0) {
      found = user;
    }
  }
  return found;
}

namespace {

// One CSV record (RFC 4180 quoting; the record ends at an unquoted newline). Returns false on a
// malformed quote.
bool readRecord(const std::string& text, size_t& pos, std::vector<std::string>& fields) {
  fields.clear();
  std::string field;
  bool quoted = false;
  bool was_quoted = false;
  while (pos < text.size()) {
    char c = text[pos++];
    if (quoted) {
      if (c == '"') {
        if (pos < text.size() && text[pos] == '"') {
          field.push_back('"');
          ++pos;
        } else {
          quoted = false;
        }
      } else {
        field.push_back(c);
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || was_quoted) {
        return false;
      }
      quoted = true;
      was_quoted = true;
    } else if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (c == '\n') {
      break;
    } else if (c != '\r') {
      if (was_quoted) {
        return false;
      }
      field.push_back(c);
    }
  }
  if (quoted) {
    return false;
  }
  fields.push_back(std::move(field));
  return true;
}

}  // namespace

core::StatusOr<std::map<std::string, UserInfo>> parseTokenFile(const std::string& content) {
  std::map<std::string, UserInfo> out;
  size_t pos = 0;
  int line = 0;
  std::vector<std::string> fields;
  while (pos < content.size()) {
    ++line;
    if (!readRecord(content, pos, fields)) {
      return core::invalidArgumentError("token file: malformed quoting in record " +
                                        std::to_string(line));
    }
    if (fields.size() == 1 && fields[0].empty()) {
      continue;  // blank line
    }
    if (fields.size() < 3) {
      return core::invalidArgumentError(
          "token file must have at least 3 columns (token, user name, user uid), found " +
          std::to_string(fields.size()));
    }
    if (fields[0].empty()) {
      continue;
    }
    UserInfo user;
    user.name = fields[1];
    user.uid = fields[2];
    if (fields.size() >= 4 && !fields[3].empty()) {
      std::stringstream groups(fields[3]);
      std::string g;
      while (std::getline(groups, g, ',')) {
        user.groups.push_back(g);
      }
    }
    out[fields[0]] = std::move(user);
  }
  return out;
}

std::optional<UserInfo> UnionTokenAuthenticator::authenticate(const std::string& token) {
  for (const auto& a : chain_) {
    if (auto user = a->authenticate(token)) {
      if (!user->inGroup(kAllAuthenticated)) {
        user->groups.push_back(kAllAuthenticated);
      }
      return user;
    }
  }
  return std::nullopt;
}

}  // namespace novacron::devapi::authn
