#include "node-daemon/migration/cold_runner.h"

#include <algorithm>
#include <condition_variable>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "node-daemon/storage/image_header.h"
#include "node-daemon/storage/process.h"

namespace novacron::node::migration {
namespace fs = std::filesystem;

struct ColdMigrationRunner::Run {
  explicit Run(ColdJob j) : job(std::move(j)) {}
  ColdJob job;
  std::atomic<bool> cancel{false};
  std::mutex mu;
  std::condition_variable_any cv;
  api::MigrationProgress progress;  // guarded by mu
  std::optional<Outcome> outcome;   // guarded by mu
  bool done = false;                // guarded by mu
  std::thread thread;
};

std::vector<std::string> coldDiskFiles(const std::string& vm_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(vm_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("disk-", 0) == 0 && name.ends_with(".qcow2") &&
        it->symlink_status(ec).type() == fs::file_type::regular) {
      out.push_back(it->path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

int coldPercent(bool shut_down, uint64_t copied, uint64_t total, bool defined) {
  if (defined) {
    return 85;
  }
  if (!shut_down) {
    return 0;
  }
  if (total == 0) {
    return 10;
  }
  return 10 + static_cast<int>(75 * std::min(copied, total) / total);
}

ColdMigrationRunner::ColdMigrationRunner(virt::Connection& conn, ColdRunnerOptions options)
    : conn_(conn), options_(std::move(options)) {
  if (!options_.clock) {
    options_.clock = core::systemClock();
  }
}

ColdMigrationRunner::~ColdMigrationRunner() {
  std::map<std::string, std::shared_ptr<Run>> runs;
  {
    std::lock_guard lock(mu_);
    runs.swap(runs_);
  }
  for (auto& [key, r] : runs) {
    r->cancel = true;
    r->cv.notify_all();
    if (r->thread.joinable()) {
      r->thread.join();
    }
  }
}

bool ColdMigrationRunner::start(ColdJob job) {
  std::lock_guard lock(mu_);
  if (runs_.contains(job.key)) {
    return false;
  }
  auto r = std::make_shared<Run>(std::move(job));
  runs_[r->job.key] = r;
  spdlog::info("node-daemon: migration {}: cold move of {} to {}", r->job.key, r->job.domain,
               r->job.dest_uri);
  Run* raw = r.get();
  r->thread = std::thread([this, raw] { run(*raw); });
  return true;
}

void ColdMigrationRunner::cancel(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = runs_.find(key);
  if (it != runs_.end()) {
    it->second->cancel = true;
    it->second->cv.notify_all();
  }
}

void ColdMigrationRunner::setProgress(Run& r, const api::MigrationProgress& p) {
  {
    std::lock_guard lock(r.mu);
    r.progress = p;
    r.progress.percent = std::max(r.progress.percent, p.percent);
  }
  if (options_.on_progress) {
    options_.on_progress(r.job.key);
  }
}

core::Status ColdMigrationRunner::shutDown(Run& r, bool& was_running) {
  NOVACRON_ASSIGN_OR_RETURN(virt::DomainInfo info, conn_.lookupByName(r.job.domain));
  was_running = info.active;
  if (!info.active) {
    return core::okStatus();
  }
  core::Status s = conn_.shutdownDomain(r.job.domain);
  if (!s.isOk() && s.code() != core::StatusCode::kFailedPrecondition) {
    return s;
  }
  const auto deadline = options_.clock->now() + r.job.grace;
  std::unique_lock lock(r.mu);
  while (true) {
    lock.unlock();
    auto now_info = conn_.lookupByName(r.job.domain);
    if (now_info.isOk() && !now_info->active) {
      return core::okStatus();
    }
    if (options_.clock->now() >= deadline) {
      spdlog::info("node-daemon: migration {}: {} did not stop within {} s; powering it off",
                   r.job.key, r.job.domain, r.job.grace.count());
      core::Status d = conn_.destroyDomain(r.job.domain);
      return d.code() == core::StatusCode::kFailedPrecondition ? core::okStatus() : d;
    }
    lock.lock();
    options_.clock->waitFor(lock, r.cv, options_.poll_interval, [&] { return r.cancel.load(); });
    if (r.cancel) {
      return core::cancelledError("cancelled during the shutdown");
    }
  }
}

core::Status ColdMigrationRunner::copyDisks(Run& r) {
  const std::vector<std::string> files = coldDiskFiles(r.job.vm_dir);
  uint64_t total = 0;
  for (const auto& f : files) {
    std::error_code ec;
    total += fs::file_size(f, ec);
  }
  api::MigrationProgress p;
  p.dataTotalBytes = static_cast<int64_t>(total);
  p.dataProcessedBytes = 0;
  p.percent = coldPercent(true, 0, total, false);
  setProgress(r, p);
  uint64_t done = 0;
  for (const auto& file : files) {
    std::string send = file;
    NOVACRON_ASSIGN_OR_RETURN(storage::ImageHeader header, storage::readImageHeader(file));
    if (header.backing_file) {
      // The overlay crosses alone: its header must name the target's copy of the base image.
      send = file + ".migrating";
      std::error_code ec;
      fs::copy_file(file, send, fs::copy_options::overwrite_existing, ec);
      if (ec) {
        return core::unavailableError("copying " + file + ": " + ec.message());
      }
      const std::string base = virt::rewritePath(*header.backing_file, r.job.prefixes);
      NOVACRON_RETURN_IF_ERROR(
          storage::runChecked({options_.qemu_img, "rebase", "-u", "-f", "qcow2", "-F",
                               header.backing_format.value_or("qcow2"), "-b", base, send},
                              std::chrono::seconds(60)));
    }
    const std::string remote = virt::rewritePath(file, r.job.prefixes);
    const uint64_t before = done;
    core::Status s = options_.uploader->upload(
        r.job.dest_uri, send, remote,
        [&](uint64_t sent) {
          p.dataProcessedBytes = static_cast<int64_t>(before + sent);
          p.dataRemainingBytes = static_cast<int64_t>(total - std::min(total, before + sent));
          p.percent = coldPercent(true, before + sent, total, false);
          setProgress(r, p);
        },
        &r.cancel);
    if (send != file) {
      std::error_code ec;
      fs::remove(send, ec);
    }
    if (!s.isOk()) {
      std::string context = "copying ";
      context.append(file).append(" to ").append(remote);
      return s.withContext(context);
    }
    std::error_code ec;
    done += fs::file_size(file, ec);
  }
  return core::okStatus();
}

void ColdMigrationRunner::rollback(Run& r, virt::Connection* target, bool defined,
                                   bool was_running) {
  if (target != nullptr && defined) {
    (void)target->destroyDomain(r.job.domain);
    if (core::Status s = target->undefineDomain(r.job.domain);
        !s.isOk() && s.code() != core::StatusCode::kNotFound) {
      spdlog::warn("node-daemon: migration {}: removing {} from the target failed: {}", r.job.key,
                   r.job.domain, s.toString());
    }
  }
  if (was_running) {
    if (core::Status s = conn_.startDomain(r.job.domain);
        !s.isOk() && s.code() != core::StatusCode::kFailedPrecondition) {
      spdlog::error("node-daemon: migration {}: restarting {} here failed: {}", r.job.key,
                    r.job.domain, s.toString());
    }
  }
}

void ColdMigrationRunner::run(Run& r) {
  bool was_running = false;
  bool defined = false;
  virt::ConnectionPtr target;
  auto step = [&]() -> core::Status {
    NOVACRON_RETURN_IF_ERROR(shutDown(r, was_running));
    api::MigrationProgress p;
    p.percent = coldPercent(true, 0, 0, false);
    setProgress(r, p);
    NOVACRON_ASSIGN_OR_RETURN(std::string xml, conn_.domainXml(r.job.domain));
    if (r.job.copy) {
      NOVACRON_ASSIGN_OR_RETURN(xml, virt::rewritePaths(std::move(xml), r.job.prefixes));
      NOVACRON_RETURN_IF_ERROR(copyDisks(r));
    }
    if (r.cancel) {
      return core::cancelledError("cancelled before the domain was defined on the target");
    }
    NOVACRON_ASSIGN_OR_RETURN(target, options_.connect(r.job.dest_uri));
    NOVACRON_RETURN_IF_ERROR(target->defineDomain(xml).status());
    defined = true;
    if (was_running) {
      NOVACRON_RETURN_IF_ERROR(target->startDomain(r.job.domain));
    }
    return core::okStatus();
  };
  core::Status s = step();
  Outcome o;
  {
    std::lock_guard lock(r.mu);
    o.progress = r.progress;
  }
  if (s.isOk()) {
    // The guest runs on the target; this node's definition goes (its files after the handover).
    if (core::Status u = conn_.undefineDomain(r.job.domain);
        !u.isOk() && u.code() != core::StatusCode::kNotFound) {
      spdlog::warn("node-daemon: migration {}: removing the source definition failed: {}",
                   r.job.key, u.toString());
    }
    o.phase = api::MigrationPhase::kFinalizing;
    o.reason = "Succeeded";
    o.message = was_running ? "the guest runs on the target" : "the VM is defined on the target";
    o.progress.percent = 100;
    o.progress.dataRemainingBytes = 0;
    o.progress.etaSeconds = 0;
  } else {
    rollback(r, target.get(), defined, was_running);
    const bool cancelled = r.cancel || s.code() == core::StatusCode::kCancelled;
    o.phase = cancelled ? api::MigrationPhase::kCancelled : api::MigrationPhase::kFailed;
    o.reason = cancelled ? "Cancelled" : "ColdMigrationFailed";
    o.message = s.message() + "; the VM stays on the source" + (was_running ? " (restarted)" : "");
  }
  spdlog::info("node-daemon: migration {}: {} ({})", r.job.key, o.reason, o.message);
  {
    std::lock_guard lock(r.mu);
    r.outcome = o;
    r.done = true;
  }
  if (options_.on_done) {
    options_.on_done(r.job.key);
  }
}

bool ColdMigrationRunner::running(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = runs_.find(key);
  if (it == runs_.end()) {
    return false;
  }
  std::lock_guard run_lock(it->second->mu);
  return !it->second->done;
}

std::optional<api::MigrationProgress> ColdMigrationRunner::progress(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = runs_.find(key);
  if (it == runs_.end()) {
    return std::nullopt;
  }
  std::lock_guard run_lock(it->second->mu);
  return it->second->progress;
}

std::optional<Outcome> ColdMigrationRunner::outcome(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = runs_.find(key);
  if (it == runs_.end()) {
    return std::nullopt;
  }
  std::lock_guard run_lock(it->second->mu);
  return it->second->outcome;
}

void ColdMigrationRunner::forget(const std::string& key) {
  std::shared_ptr<Run> r;
  {
    std::lock_guard lock(mu_);
    auto it = runs_.find(key);
    if (it == runs_.end()) {
      return;
    }
    {
      std::lock_guard run_lock(it->second->mu);
      if (!it->second->done) {
        return;
      }
    }
    r = it->second;
    runs_.erase(it);
  }
  if (r->thread.joinable()) {
    r->thread.join();
  }
}

}  // namespace novacron::node::migration
