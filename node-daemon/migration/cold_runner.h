// ColdMigrationRunner: runs cold migrations (spec.mode Cold) off the reconcile workers, one thread
// per VMMigration key, with the same outward shape as MigrationRunner (start, cancel, progress,
// outcome, forget), so the source reconciler treats both alike.
//
// A job, in this order (docs/migration.md, "Cold"):
//   1. graceful shutdown of the source domain: ACPI, then a hard power-off after the VM's
//      terminationGracePeriodSeconds (a domain already shut off is moved as it is);
//   2. when the target prepared local disks: each disk-*.qcow2 of the VM's folder goes to the
//      target over the target libvirtd's own connection (virt::VolumeUploader, storage-volume
//      streams); an overlay goes with its backing file name rewritten to the target's base image
//      (the target fetched it into its own store), so only the overlay crosses;
//   3. the domain is defined on the target with its paths rewritten, and started if it ran here;
//   4. the source's definition is removed. Outcome Finalizing: the controller hands the binding
//      over; the source reconciler removes the VM's local files.
// Any failure or cancel before 4 undoes what the job did on the target and restarts the source
// domain if it was running: the VM stays on the source.
// Thread-safety: every method is safe from any thread; callbacks run on the job's thread and must
// only hand work off.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "lib/core/clock.h"
#include "node-daemon/migration/runner.h"
#include "node-daemon/virt/connection.h"
#include "node-daemon/virt/volume_upload.h"

namespace novacron::node::migration {

struct ColdJob {
  std::string key;       // the VMMigration's "namespace/name"
  std::string domain;    // the domain to move
  std::string dest_uri;  // the target libvirtd
  std::chrono::seconds grace{30};
  bool copy = false;                       // the target prepared local disks
  std::vector<virt::PathPrefix> prefixes;  // this node's roots -> the target's
  std::string vm_dir;                      // the VM's folder here (copy: its disks go over)
};

struct ColdRunnerOptions {
  core::ClockPtr clock;  // default core::systemClock()
  std::chrono::milliseconds poll_interval{500};
  // Opens a connection to the target libvirtd.
  std::function<core::StatusOr<virt::ConnectionPtr>(const std::string& uri)> connect;
  virt::VolumeUploaderPtr uploader;
  std::string qemu_img = "qemu-img";
  std::function<void(const std::string& key)> on_progress;
  std::function<void(const std::string& key)> on_done;
};

// The disks a cold migration copies: the regular disk-*.qcow2 files directly in `vm_dir`
// (overlays and empty disks; cloud-init seeds are rebuilt by the target, the serial log stays).
std::vector<std::string> coldDiskFiles(const std::string& vm_dir);

// Percent of a cold migration: shutdown 0-10, copy 10-85 by bytes, define and start 85-100.
int coldPercent(bool shut_down, uint64_t copied, uint64_t total, bool defined);

class ColdMigrationRunner {
public:
  ColdMigrationRunner(virt::Connection& conn, ColdRunnerOptions options);
  ~ColdMigrationRunner();  // cancels and joins every running job
  ColdMigrationRunner(const ColdMigrationRunner&) = delete;
  ColdMigrationRunner& operator=(const ColdMigrationRunner&) = delete;

  bool start(ColdJob job);
  void cancel(const std::string& key);
  bool running(const std::string& key) const;
  std::optional<api::MigrationProgress> progress(const std::string& key) const;
  std::optional<Outcome> outcome(const std::string& key) const;
  void forget(const std::string& key);

private:
  struct Run;
  void run(Run& r);
  core::Status shutDown(Run& r, bool& was_running);
  core::Status copyDisks(Run& r);
  void rollback(Run& r, virt::Connection* target, bool defined, bool was_running);
  void setProgress(Run& r, const api::MigrationProgress& p);

  virt::Connection& conn_;
  ColdRunnerOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Run>> runs_;  // guarded by mu_
};

}  // namespace novacron::node::migration
