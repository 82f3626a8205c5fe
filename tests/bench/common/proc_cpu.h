// CPU seconds (user + system) another process has used so far, from /proc/PID/stat, so a
// benchmark can say what the dev API server and etcd spent beside it. Linux only.
// Thread-safety: a pure function of the file it reads.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include <sys/types.h>
#include <unistd.h>

namespace novacron::bench {

// 0 when the process is gone or the file is unreadable.
inline double processCpuSecondsOf(pid_t pid) {
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
  long long utime = 0;
  long long stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) {
      utime = std::stoll(field);
    } else if (i == 15) {
      stime = std::stoll(field);
    }
  }
  return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace novacron::bench
