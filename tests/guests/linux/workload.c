// A user-space workload for the Linux record/replay test: each part draws on a source of
// nondeterminism a real guest has (preemption between threads, process creation, the kernel's
// random pool, the clocks). It prints one "workload <part>:" line per part and a final line; the
// test checks that a replay reproduces every byte of them.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { kThreads = 4, kIncrements = 2000000 }; // ~8 ms of guest time per thread: preempted

// Incremented by every thread without a lock: a preemption between a thread's load and store
// loses the others' increments. volatile keeps each increment a separate load and store.
static volatile long shared_counter;

static void* increment(void* unused) {
  (void)unused;
  for (int i = 0; i < kIncrements; ++i) shared_counter = shared_counter + 1;
  return NULL;
}

static int race(void) {
  pthread_t threads[kThreads];
  for (int i = 0; i < kThreads; ++i)
    if (pthread_create(&threads[i], NULL, increment, NULL) != 0) return -1;
  for (int i = 0; i < kThreads; ++i) pthread_join(threads[i], NULL);
  printf("workload race: %d threads x %d increments, counter %ld\n", kThreads, kIncrements,
         shared_counter);
  return 0;
}

static int fork_exec(void) {
  fflush(stdout); // the child's output must not precede ours
  const pid_t child = fork();
  if (child < 0) return -1;
  if (child == 0) {
    execl("/bin/echo", "echo", "workload exec: echo ran in child", (char*)NULL);
    _exit(127);
  }
  int status = 0;
  if (waitpid(child, &status, 0) != child) return -1;
  printf("workload fork: child %d exited with status %d\n", (int)child,
         WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int random_bytes(void) {
  unsigned char bytes[16];
  const int fd = open("/dev/urandom", O_RDONLY);
  if (fd < 0) return -1;
  const ssize_t n = read(fd, bytes, sizeof bytes);
  close(fd);
  if (n != (ssize_t)sizeof bytes) return -1;
  printf("workload urandom: ");
  for (size_t i = 0; i < sizeof bytes; ++i) printf("%02x", bytes[i]);
  printf("\n");
  return 0;
}

static int clocks(void) {
  struct timespec realtime, monotonic;
  if (clock_gettime(CLOCK_REALTIME, &realtime) != 0) return -1;
  if (clock_gettime(CLOCK_MONOTONIC, &monotonic) != 0) return -1;
  const time_t now = time(NULL);
  printf("workload time: realtime %lld.%09ld monotonic %lld.%09ld time %lld\n",
         (long long)realtime.tv_sec, realtime.tv_nsec, (long long)monotonic.tv_sec,
         monotonic.tv_nsec, (long long)now);
  return 0;
}

int main(void) {
  const struct {
    const char* name;
    int (*run)(void);
  } parts[] = {{"race", race}, {"fork", fork_exec}, {"urandom", random_bytes}, {"time", clocks}};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; ++i) {
    if (parts[i].run() != 0) {
      printf("workload failed: %s\n", parts[i].name);
      return 1;
    }
  }
  printf("workload done\n");
  return 0;
}
