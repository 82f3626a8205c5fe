#include "dev-apiserver/util.h"

#include <ctime>
#include <random>

#include <openssl/rand.h>

namespace novacron::devapi {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string rfc3339Now() {
  return rfc3339(std::chrono::system_clock::now());
}

bool parseRfc3339(const std::string& text, std::chrono::system_clock::time_point* out) {
  std::tm tm{};
  if (strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
    return false;
  }
  *out = std::chrono::system_clock::from_time_t(timegm(&tm));
  return true;
}

std::string humanDuration(std::chrono::seconds d) {
  long long s = d.count();
  if (s < 0) {
    s = 0;
  }
  if (s < 120) {
    return std::to_string(s) + "s";
  }
  long long m = s / 60;
  if (m < 10) {
    long long rem = s % 60;
    return std::to_string(m) + "m" + (rem ? std::to_string(rem) + "s" : "");
  }
  if (m < 180) {
    return std::to_string(m) + "m";
  }
  long long h = s / 3600;
  if (h < 8) {
    long long rem = (s % 3600) / 60;
    return std::to_string(h) + "h" + (rem ? std::to_string(rem) + "m" : "");
  }
  if (h < 48) {
    return std::to_string(h) + "h";
  }
  long long days = h / 24;
  if (days < 8) {
    long long rem = h % 24;
    return std::to_string(days) + "d" + (rem ? std::to_string(rem) + "h" : "");
  }
  if (days < 365 * 2) {
    return std::to_string(days) + "d";
  }
  return std::to_string(days / 365) + "y";
}

namespace {

void randomBytes(unsigned char* buf, size_t n) {
  if (RAND_bytes(buf, static_cast<int>(n)) != 1) {
    std::random_device rd;
    for (size_t i = 0; i < n; ++i) {
      buf[i] = static_cast<unsigned char>(rd());
    }
  }
}

}  // namespace

std::string newUid() {
  unsigned char b[16];
  randomBytes(b, sizeof(b));
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) {
      out.push_back('-');
    }
    out.push_back(hex[b[i] >> 4]);
    out.push_back(hex[b[i] & 15]);
  }
  return out;
}

std::string randomSuffix() {
  static const std::string alphabet = "bcdfghjklmnpqrstvwxz2456789";
  unsigned char b[5];
  randomBytes(b, sizeof(b));
  std::string out;
  for (unsigned char c : b) {
    out.push_back(alphabet[c % alphabet.size()]);
  }
  return out;
}

std::string randomToken(size_t bytes) {
  std::vector<unsigned char> b(bytes);
  randomBytes(b.data(), b.size());
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

nlohmann::json statusBody(int code, const std::string& reason, const std::string& message,
                          nlohmann::json details) {
  nlohmann::json s = {
      {"kind", "Status"},    {"apiVersion", "v1"}, {"metadata", nlohmann::json::object()},
      {"status", "Failure"}, {"message", message}, {"reason", reason},
      {"code", code}};
  if (!details.is_null()) {
    s["details"] = std::move(details);
  }
  return s;
}

}  // namespace novacron::devapi
