#include "lib/kube/exec_credential.h"

#include <cctype>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace novacron::kube {
namespace {

std::string encodeBase64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string firstLines(const std::string& text) {
  std::string out = text.substr(0, 512);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) {
    out.pop_back();
  }
  return out;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parseRfc3339(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) !=
          6 ||
      used != 19) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    while (pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])) != 0) {
      ++pos;  // fractions are dropped: expiry is checked to the second
    }
  }
  long offset = 0;
  std::string zone = text.substr(pos);
  if (zone == "Z" || zone == "z") {
    offset = 0;
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int oh = 0, om = 0;
    if (std::sscanf(zone.c_str() + 1, "%2d:%2d", &oh, &om) != 2) {
      return std::nullopt;
    }
    offset = (zone[0] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
  } else {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  time_t t = timegm(&tm);
  return std::chrono::system_clock::from_time_t(t - offset);
}

core::StatusOr<ExecCredential> parseExecCredential(const std::string& json,
                                                   const std::string& api_version) {
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return core::unauthenticatedError("exec plugin output is not a JSON object");
  }
  if (doc.value("kind", "") != "ExecCredential") {
    return core::unauthenticatedError("exec plugin output: kind is not ExecCredential");
  }
  if (doc.value("apiVersion", "") != api_version) {
    return core::unauthenticatedError("exec plugin output: apiVersion \"" +
                                      doc.value("apiVersion", "") + "\" is not \"" + api_version +
                                      "\" (the kubeconfig's exec.apiVersion)");
  }
  auto status = doc.find("status");
  if (status == doc.end() || !status->is_object()) {
    return core::unauthenticatedError("exec plugin output: status is missing");
  }
  auto text = [&](const char* key) -> std::string {
    auto it = status->find(key);
    return it != status->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  ExecCredential cred;
  cred.token = text("token");
  cred.client_cert_pem = text("clientCertificateData");
  cred.client_key_pem = text("clientKeyData");
  if (cred.client_cert_pem.empty() != cred.client_key_pem.empty()) {
    return core::unauthenticatedError(
        "exec plugin output: clientCertificateData and clientKeyData must be set together");
  }
  if (cred.token.empty() && cred.client_cert_pem.empty()) {
    return core::unauthenticatedError(
        "exec plugin output: status has neither a token nor a client certificate");
  }
  if (std::string expiry = text("expirationTimestamp"); !expiry.empty()) {
    cred.expiry = parseRfc3339(expiry);
    if (!cred.expiry) {
      return core::unauthenticatedError("exec plugin output: expirationTimestamp \"" + expiry +
                                        "\" is not RFC 3339");
    }
  }
  return cred;
}

std::string execInfoJson(const Config& config) {
  nlohmann::json spec = {{"interactive", false}};
  if (config.exec && config.exec->provide_cluster_info) {
    nlohmann::json cluster = {{"server", config.server}};
    if (!config.ca_pem.empty()) {
      cluster["certificate-authority-data"] = encodeBase64(config.ca_pem);
    }
    if (config.insecure_skip_tls_verify) {
      cluster["insecure-skip-tls-verify"] = true;
    }
    spec["cluster"] = cluster;
  }
  nlohmann::json info = {{"apiVersion", config.exec ? config.exec->api_version : ""},
                         {"kind", "ExecCredential"},
                         {"spec", spec}};
  return info.dump();
}

ExecCredentialProvider::ExecCredentialProvider(Config config, core::ProcessRunnerPtr runner,
                                               core::ClockPtr clock)
    : config_(std::move(config)), runner_(std::move(runner)), clock_(std::move(clock)) {}

core::StatusOr<ExecCredential> ExecCredentialProvider::get() {
  std::lock_guard lock(mu_);
  if (cached_ && (!cached_->expiry || clock_->wallNow() < *cached_->expiry)) {
    return *cached_;
  }
  cached_.reset();
  NOVACRON_ASSIGN_OR_RETURN(ExecCredential fresh, runPlugin());
  cached_ = fresh;
  return fresh;
}

void ExecCredentialProvider::invalidate(const std::string& token) {
  std::lock_guard lock(mu_);
  if (cached_ && cached_->token == token) {
    cached_.reset();
  }
}

int ExecCredentialProvider::runs() const {
  std::lock_guard lock(mu_);
  return runs_;
}

core::StatusOr<ExecCredential> ExecCredentialProvider::runPlugin() {
  const ExecConfig& exec = *config_.exec;
  if (exec.interactive_mode == "Always") {
    return core::unauthenticatedError("exec plugin " + exec.command +
                                      ": interactiveMode Always needs a terminal, which this "
                                      "program does not give plugins");
  }
  core::ProcessSpec spec;
  spec.argv.push_back(exec.command);
  spec.argv.insert(spec.argv.end(), exec.args.begin(), exec.args.end());
  spec.env = exec.env;
  spec.env.emplace_back("KUBERNETES_EXEC_INFO", execInfoJson(config_));
  ++runs_;
  auto out = runner_->run(spec);
  if (!out.isOk()) {
    std::string hint = exec.install_hint.empty() ? "" : "\n" + exec.install_hint;
    return core::unavailableError("exec plugin: " + out.status().message() + hint);
  }
  if (out->exit_code != 0) {
    return core::unauthenticatedError("exec plugin " + exec.command + " exited with " +
                                      std::to_string(out->exit_code) + ": " +
                                      firstLines(out->stderr_text));
  }
  if (!out->stderr_text.empty()) {
    spdlog::debug("exec plugin {}: {}", exec.command, firstLines(out->stderr_text));
  }
  auto cred = parseExecCredential(out->stdout_text, exec.api_version);
  if (!cred.isOk()) {
    return core::unauthenticatedError(exec.command + ": " + cred.status().message());
  }
  return cred;
}

}  // namespace novacron::kube
