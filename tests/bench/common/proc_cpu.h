// CPU seconds (user + system) another process has used so far, from /proc/PID/stat, so a
// benchmark can say what the dev API server and etcd spent beside it; the machine's busy CPU
// seconds and load average from /proc. Linux only.
// Thread-safety: a pure function of the file it reads.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include <sys/types.h>
#include <unistd.h>

namespace novacron::bench {

// 0 when the process is gone or the file is unreadable. with_children adds the CPU of the
// children it has waited for (e.g. the tools a node-daemon runs).
inline double processCpuSecondsOf(pid_t pid, bool with_children = false) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (pid <= 0 || !std::getline(in, line)) {
    return 0;
  }
  // The command name (field 2) may hold spaces: fields 14 and 15 (utime, stime) are counted
  // from the last ')'.
  auto close = line.rfind(')');
  if (close == std::string::npos) {
    return 0;
  }
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  long long ticks = 0;
  for (int i = 3; i <= 17 && rest >> field; ++i) {
    if (i == 14 || i == 15 || (with_children && (i == 16 || i == 17))) {
      ticks += std::stoll(field);  // utime, stime; cutime, cstime
    }
  }
  return static_cast<double>(ticks) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// CPU seconds all cores of the machine spent busy (not idle, not waiting for I/O) since boot.
inline double machineBusySeconds() {
  std::ifstream in("/proc/stat");
  std::string cpu;
  long long v = 0;
  long long busy = 0;
  in >> cpu;
  for (int i = 0; i < 8 && in >> v; ++i) {
    busy += (i == 3 || i == 4) ? 0 : v;  // idle, iowait
  }
  return static_cast<double>(busy) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// The 1-minute load average.
inline double loadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = 0;
  in >> load;
  return load;
}

}  // namespace novacron::bench
