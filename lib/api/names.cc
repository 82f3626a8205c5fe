#include "lib/api/names.h"

#include <array>
#include <cstddef>

namespace novacron::api {
namespace {

// Wire spellings indexed by the enum's underlying value.
template <typename E>
struct EnumTable;

#define NOVACRON_API_ENUM_TABLE(E, ...)                         \
  template <>                                                   \
  struct EnumTable<E> {                                         \
    static constexpr std::string_view kNames[] = {__VA_ARGS__}; \
  };

NOVACRON_API_ENUM_TABLE(ConditionStatus, "True", "False", "Unknown")
NOVACRON_API_ENUM_TABLE(RunStrategy, "Always", "RerunOnFailure", "Manual", "Halted", "Once")
NOVACRON_API_ENUM_TABLE(Firmware, "bios", "uefi")
NOVACRON_API_ENUM_TABLE(DiskBus, "virtio", "sata")
NOVACRON_API_ENUM_TABLE(NetworkType, "nat", "bridge")
NOVACRON_API_ENUM_TABLE(EvictionStrategy, "LiveMigrate", "LiveMigrateIfPossible", "Shutdown",
                        "None")
NOVACRON_API_ENUM_TABLE(VirtualMachinePhase, "Pending", "Scheduling", "Scheduled", "Starting",
                        "Running", "Paused", "Stopping", "Stopped", "Migrating", "Failed",
                        "Unknown")
NOVACRON_API_ENUM_TABLE(MigrationMode, "Live", "Cold")
NOVACRON_API_ENUM_TABLE(MigrationCompression, "None", "XBZRLE", "Zstd")
NOVACRON_API_ENUM_TABLE(CopyStorage, "Auto", "Always", "Never")
NOVACRON_API_ENUM_TABLE(MigrationPhase, "Pending", "Scheduling", "Preparing", "Migrating",
                        "Finalizing", "Succeeded", "Failed", "Cancelled")
NOVACRON_API_ENUM_TABLE(Virtualization, "kvm", "emulated")
#undef NOVACRON_API_ENUM_TABLE

template <typename E>
std::string_view nameOf(E value) {
  const auto index = static_cast<std::size_t>(value);
  const auto& names = EnumTable<E>::kNames;
  // An out-of-range value can only come from a cast; validate() reports it, so do not crash here.
  if (index >= std::size(names)) {
    return "<invalid>";
  }
  return names[index];
}

template <typename E>
std::optional<E> parse(std::string_view text) {
  const auto& names = EnumTable<E>::kNames;
  for (std::size_t i = 0; i < std::size(names); ++i) {
    if (names[i] == text) {
      return static_cast<E>(i);
    }
  }
  return std::nullopt;
}

}  // namespace

#define NOVACRON_API_DEFINE_ENUM(E)                                 \
  std::string_view toString(E value) {                              \
    return nameOf(value);                                           \
  }                                                                 \
  template <>                                                       \
  std::optional<E> fromString<E>(std::string_view text) {           \
    return parse<E>(text);                                          \
  }                                                                 \
  template <>                                                       \
  std::span<const std::string_view> enumValues<E>() {               \
    return std::span<const std::string_view>(EnumTable<E>::kNames); \
  }
NOVACRON_API_DEFINE_ENUM(ConditionStatus)
NOVACRON_API_DEFINE_ENUM(RunStrategy)
NOVACRON_API_DEFINE_ENUM(Firmware)
NOVACRON_API_DEFINE_ENUM(DiskBus)
NOVACRON_API_DEFINE_ENUM(NetworkType)
NOVACRON_API_DEFINE_ENUM(EvictionStrategy)
NOVACRON_API_DEFINE_ENUM(VirtualMachinePhase)
NOVACRON_API_DEFINE_ENUM(MigrationMode)
NOVACRON_API_DEFINE_ENUM(MigrationCompression)
NOVACRON_API_DEFINE_ENUM(CopyStorage)
NOVACRON_API_DEFINE_ENUM(MigrationPhase)
NOVACRON_API_DEFINE_ENUM(Virtualization)
#undef NOVACRON_API_DEFINE_ENUM

bool isTerminal(MigrationPhase phase) {
  return phase == MigrationPhase::kSucceeded || phase == MigrationPhase::kFailed ||
         phase == MigrationPhase::kCancelled;
}

}  // namespace novacron::api
