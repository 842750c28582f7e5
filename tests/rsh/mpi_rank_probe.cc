// A tiny MPI program for rsh_mpirun_test: all-reduces the ranks and prints, per
// rank, the sum and its chain of ancestor pids, so the test can tell which
// `cadre-rsh serve` started it.
#include <mpi.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace {

// The parent of `pid` from /proc/<pid>/stat (field 4; the name in field 2 may hold spaces).
int parent_of(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  char state = 0;
  int ppid = 0;
  if (std::sscanf(line.c_str() + close + 1, " %c %d", &state, &ppid) != 2) return 0;
  return ppid;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0, sum = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Allreduce(&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  std::string ancestors;
  for (int pid = ::getppid(); pid > 1; pid = parent_of(pid)) {
    ancestors += (ancestors.empty() ? "" : ",") + std::to_string(pid);
  }
  std::printf("rank=%d size=%d sum=%d ancestors=%s\n", rank, size, sum, ancestors.c_str());
  std::fflush(stdout);
  MPI_Finalize();
  return 0;
}
