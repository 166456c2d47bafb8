/*
 * corral-launcher: a small long-lived process that starts Corral's action processes for a Node session.
 *
 * Why it exists: Node's child_process.spawn costs ~2-4 ms per process on the reference machine, several times the
 * fork-exec floor. This launcher keeps a tiny address space (so vfork + execve is cheap), merges stdout and stderr
 * into one real pipe, puts every action in its own session / process group, reaps everything (it is a child
 * subreaper) and moves output to Node in large batched writes. Started through `sudo -n -u <user>`, the same binary
 * runs actions as another user and signals their groups locally.
 *
 * Build: cc -std=gnu11 -O2 -o corral-launcher launcher.c   (libc only; Linux)
 *
 * ------------------------------------------------------------------------------------------------------------------
 * PROTOCOL (version 1). stdin carries requests from Node, stdout carries responses to Node; stderr is for
 * diagnostics only. Every frame in both directions is
 *
 *     u8 type | u32 id | u32 length | payload[length]          (integers little-endian, no padding)
 *
 * Requests (Node -> launcher):
 *   'L' launch   id = new action id (chosen by Node, never 0, not reused while the action is live)
 *                payload = u32 drain_ms | u32 argc | u32 envc |
 *                          command\0 cwd\0 arg_1\0 ... arg_argc\0 env_1\0 ... env_envc\0     (env entries are "K=V")
 *                argv[0] of the new program is `command`; a command without '/' is searched in the PATH of the
 *                request's env (default "/bin:/usr/bin"), like execvp, including its ENOEXEC fallback to /bin/sh.
 *   'K' signal   id = action id; payload = u32 signal number. Sent to the whole group (kill(-pgid, sig)).
 *                Ignored when the action is unknown (already reported as exited): signalling is idempotent.
 *   EOF on stdin means "shut down": every group still running is SIGKILLed, their 'X' frames are sent (best effort)
 *   and the launcher exits. SIGTERM, SIGINT and SIGHUP to the launcher do the same.
 *
 * Responses (launcher -> Node):
 *   'H' hello    id = 0; payload = u32 protocol version | u32 launcher pid. Sent once at start.
 *   'S' started  payload = u32 pid. The pid is also the pgid and sid of the new process.
 *   'F' failed   payload = u32 exit code (127 not found, 126 cannot execute) | UTF-8 message. Terminal: no 'X'.
 *   'O' output   payload = the next bytes of the action's merged stdout+stderr (any length >= 1).
 *   'X' exited   payload = i32 exit code (-1 when killed by a signal) | u32 signal number (0 when it exited).
 *                Sent only after: the main process was reaped, its output reached EOF or the drain grace passed,
 *                the group was SIGKILLed and no process of the group remains. Every 'O' of the action precedes it.
 * ------------------------------------------------------------------------------------------------------------------
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PROTOCOL_VERSION 1u
#define HEADER_SIZE 9u

/* One read from an action's pipe becomes one 'O' frame. Sized like the pipe itself (see PIPE_SIZE) so a full pipe
 * drains in one read. */
#ifndef READ_CHUNK
#define READ_CHUNK (256u << 10)
#endif
/* Requested capacity of each action's pipe: a larger pipe lets a fast producer run longer between wake-ups.
 * Measured (3,000,000 lines of seq through the launcher, median of 15): 64 KiB (default) 94-109 ms, 256 KiB
 * 78-101 ms, 1 MiB 76-90 ms. 256 KiB takes most of the gain while charging a quarter of what 1 MiB would to the
 * user's pipe-user-pages-soft budget (64 MiB by default; beyond it the kernel shrinks *every* new pipe of that
 * user, including the pipes inside actions). Best effort: if the kernel refuses, the default stays. */
#ifndef PIPE_SIZE
#define PIPE_SIZE (256 << 10)
#endif
/* Backpressure: while this many bytes wait to be written to Node, action pipes are not read, so a slow reader
 * stalls the producers instead of growing this process without bound. */
#define OUT_HIGH_WATER (4u << 20)
/* Largest request accepted; a Linux exec cannot take more than ~2 MiB of arguments plus environment anyway. */
#define MAX_REQUEST (64u << 20)
/* After SIGKILLing a group, how often to re-check (and re-kill) until it is empty, and when to give up (a process
 * of another user, e.g. a setuid program, cannot be killed by us; a process in uninterruptible sleep may linger). */
#define KILL_RECHECK_MS 10
#define KILL_GIVE_UP_MS 10000
/* On shutdown, how long to wait for killed groups before exiting anyway. */
#define SHUTDOWN_GIVE_UP_MS 5000

struct job {
  uint32_t id;
  pid_t pid;         /* main process; also the pgid */
  int fd;            /* read end of the output pipe; -1 once closed */
  int reaped;        /* main process reaped; status valid */
  int status;        /* wait status of the main process */
  int killing;       /* group SIGKILLed, waiting for it to empty */
  uint32_t drain_ms; /* how long to wait for EOF after the main process exits */
  int64_t deadline;  /* drain: when to stop waiting for EOF; killing: when to give up waiting */
  int64_t recheck;   /* killing: next time to probe the group */
};

static struct job *jobs;
static size_t njobs, jobs_cap;

static unsigned char *out; /* bytes waiting to be written to stdout, from out_start to out_end */
static size_t out_start, out_end, out_cap;
static int out_broken;     /* stdout is gone (Node died): output is discarded */

static unsigned char *in; /* request bytes read from stdin, not yet parsed */
static size_t in_len, in_cap;

static int dev_null = -1;
static int sig_fd = -1;
static int shutting_down;
static int64_t shutdown_deadline;
static int reaped_this_round;

/* Written by the vfork child, read by the parent once it resumes: the child shares our memory until it execs or
 * exits, so this is how it reports why it could not start (the same technique glibc's posix_spawn uses). */
enum stage { STAGE_NONE = 0, STAGE_SETUP, STAGE_CHDIR, STAGE_EXEC };
static volatile int child_stage;
static volatile int child_errno;

static void start_shutdown(void);

/* Fatal error (a protocol violation or no memory): take every group down with us, never leave orphans. */
static void die(const char *fmt, ...) {
  for (size_t i = 0; i < njobs; i++) kill(-jobs[i].pid, SIGKILL);
  va_list ap;
  va_start(ap, fmt);
  fputs("corral-launcher: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(2);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void put_u32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Makes room for n more bytes at the end of the outbound buffer (compacting first, growing if needed). */
static void out_reserve(size_t n) {
  if (out_start > 0 && out_end + n > out_cap) {
    memmove(out, out + out_start, out_end - out_start);
    out_end -= out_start;
    out_start = 0;
  }
  if (out_end + n <= out_cap) return;
  size_t cap = out_cap ? out_cap : (size_t)1 << 16;
  while (cap < out_end + n) cap *= 2;
  unsigned char *p = realloc(out, cap);
  if (!p) die("out of memory");
  out = p;
  out_cap = cap;
}

static void out_frame(unsigned char type, uint32_t id, const void *payload, size_t len) {
  if (out_broken) return;
  out_reserve(HEADER_SIZE + len);
  unsigned char *p = out + out_end;
  p[0] = type;
  put_u32(p + 1, id);
  put_u32(p + 5, (uint32_t)len);
  if (len) memcpy(p + HEADER_SIZE, payload, len);
  out_end += HEADER_SIZE + len;
}

/* Writes as much of the outbound buffer as stdout takes without blocking. One write per loop round carries every
 * frame produced in that round: the batching is what keeps the per-action and per-chunk cost low. */
static void out_flush(void) {
  while (out_end > out_start && !out_broken) {
    ssize_t n = write(1, out + out_start, out_end - out_start);
    if (n > 0) {
      out_start += (size_t)n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && errno == EAGAIN) {
      break;
    } else {
      /* EPIPE and friends: Node is gone. Drop everything and shut down; groups must not outlive their owner. */
      out_broken = 1;
      out_start = out_end = 0;
      start_shutdown();
    }
  }
  if (out_start == out_end) out_start = out_end = 0;
}

static struct job *find_job(uint32_t id) {
  for (size_t i = 0; i < njobs; i++)
    if (jobs[i].id == id) return &jobs[i];
  return NULL;
}

/* ---- starting a process ------------------------------------------------------------------------------------ */

struct spawn_plan {
  const char *command;
  const char *cwd;
  char **argv;        /* argv[1] == command; argv[0] is a spare slot for the /bin/sh fallback */
  char **envp;
  const char *path;   /* PATH to search for a bare command */
  char *scratch;      /* room for "<dir>/<command>" during the search */
  int out_fd;         /* write end of the output pipe */
};

/* Tries one candidate file; returns only when execve failed. On ENOEXEC runs it with /bin/sh, like execvp. */
static void try_exec(const struct spawn_plan *plan, const char *file) {
  execve(file, plan->argv + 1, plan->envp);
  if (errno == ENOEXEC) {
    plan->argv[0] = (char *)"/bin/sh";
    plan->argv[1] = (char *)file;
    execve("/bin/sh", plan->argv, plan->envp);
    plan->argv[1] = (char *)plan->command;
    errno = ENOEXEC;
  }
}

/* Runs in the vfork child: only async-signal-safe calls, never returns. */
static void __attribute__((noreturn)) child_main(const struct spawn_plan *plan) {
  int stage = STAGE_SETUP;
  sigset_t none;
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  /* A new session makes the child the leader of its own group (pgid == pid) without a controlling terminal. */
  if (setsid() < 0 || dup2(dev_null, 0) < 0 || dup2(plan->out_fd, 1) < 0 || dup2(plan->out_fd, 2) < 0) goto fail;
  /* Undo what the launcher changed for itself: SIGPIPE ignored and the signalfd signals blocked both survive
   * execve, and a program expects neither. */
  sigaction(SIGPIPE, &dfl, NULL);
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  stage = STAGE_CHDIR;
  if (chdir(plan->cwd) < 0) goto fail;
  stage = STAGE_EXEC;
  if (plan->command[0] == '\0') {
    errno = ENOENT;
  } else if (strchr(plan->command, '/')) {
    try_exec(plan, plan->command);
  } else {
    /* execvp's search: skip directories where the file is missing, remember EACCES, stop on any other error. */
    int saw_eacces = 0;
    size_t clen = strlen(plan->command);
    const char *p = plan->path;
    for (;;) {
      const char *end = strchrnul(p, ':');
      size_t dlen = (size_t)(end - p);
      char *s = plan->scratch;
      if (dlen > 0) {
        memcpy(s, p, dlen);
        s[dlen++] = '/';
      }
      memcpy(s + dlen, plan->command, clen + 1);
      try_exec(plan, s);
      if (errno == EACCES) {
        saw_eacces = 1;
      } else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV && errno != ETIMEDOUT) {
        goto fail;
      }
      if (*end == '\0') break;
      p = end + 1;
    }
    errno = saw_eacces ? EACCES : ENOENT;
  }
fail:
  child_errno = errno;
  child_stage = stage; /* only a failing child sets this: the parent's success test */
  _exit(errno == ENOENT || errno == ENOTDIR ? 127 : 126);
}

/* Parses a launch request and starts it; replies 'S' or 'F'. Returns -1 on a malformed payload. */
static int handle_launch(uint32_t id, const unsigned char *payload, uint32_t len) {
  if (len < 12) return -1;
  uint32_t drain_ms = get_u32(payload), argc = get_u32(payload + 4), envc = get_u32(payload + 8);
  const char *s = (const char *)payload + 12, *end = (const char *)payload + len;
  uint64_t nstr = 2ull + argc + envc;
  if (nstr > len) return -1;
  char **strs = malloc(sizeof(char *) * (size_t)nstr);
  char **argv = malloc(sizeof(char *) * ((size_t)argc + 3));
  char **envp = malloc(sizeof(char *) * ((size_t)envc + 1));
  if (!strs || !argv || !envp) die("out of memory");
  for (uint64_t i = 0; i < nstr; i++) {
    const char *z = memchr(s, '\0', (size_t)(end - s));
    if (!z) {
      free(strs);
      free(argv);
      free(envp);
      return -1;
    }
    strs[i] = (char *)s;
    s = z + 1;
  }
  struct spawn_plan plan;
  plan.command = strs[0];
  plan.cwd = strs[1];
  argv[0] = NULL;
  argv[1] = strs[0];
  for (uint32_t i = 0; i < argc; i++) argv[2 + i] = strs[2 + i];
  argv[argc + 2] = NULL;
  plan.path = "/bin:/usr/bin";
  for (uint32_t i = 0; i < envc; i++) {
    envp[i] = strs[2 + argc + i];
    if (strncmp(envp[i], "PATH=", 5) == 0) plan.path = envp[i] + 5;
  }
  envp[envc] = NULL;
  plan.argv = argv;
  plan.envp = envp;
  plan.scratch = malloc(strlen(plan.path) + strlen(plan.command) + 2);
  if (!plan.scratch) die("out of memory");

  int fds[2] = {-1, -1};
  pid_t pid = -1;
  int err = 0;
  child_stage = STAGE_NONE;
  child_errno = 0;
  if (pipe2(fds, O_CLOEXEC) < 0) {
    err = errno;
  } else {
    fcntl(fds[0], F_SETPIPE_SZ, PIPE_SIZE);
    plan.out_fd = fds[1];
    /* vfork: the child borrows our memory until it execs, so there is no page-table copy; measured ~0.74 ms per
     * /bin/true against ~1.0 ms for fork and ~0.9 ms for posix_spawn (which also cannot search the child's PATH). */
    pid = vfork();
    if (pid == 0) child_main(&plan);
    if (pid < 0) err = errno;
    close(fds[1]);
  }

  if (pid > 0 && child_stage == STAGE_NONE) {
    /* Started. The pipe's read end stays blocking: we read it only when poll says it is readable. */
    if (njobs == jobs_cap) {
      jobs_cap = jobs_cap ? jobs_cap * 2 : 16;
      jobs = realloc(jobs, sizeof *jobs * jobs_cap);
      if (!jobs) die("out of memory");
    }
    struct job *j = &jobs[njobs++];
    memset(j, 0, sizeof *j);
    j->id = id;
    j->pid = pid;
    j->fd = fds[0];
    j->drain_ms = drain_ms;
    unsigned char b[4];
    put_u32(b, (uint32_t)pid);
    out_frame('S', id, b, 4);
  } else {
    int stage = child_stage;
    if (pid > 0) {
      /* The child exited with 126/127 without execing; reap it here so the SIGCHLD loop never sees it. */
      while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
      }
      err = child_errno;
    }
    if (fds[0] >= 0) close(fds[0]);
    char msg[4096];
    if (stage == STAGE_CHDIR)
      snprintf(msg + 4, sizeof msg - 4, "cannot change directory to '%s': %s", plan.cwd, strerror(err));
    else if (stage == STAGE_EXEC)
      snprintf(msg + 4, sizeof msg - 4, "%s: %s", plan.command, strerror(err));
    else
      snprintf(msg + 4, sizeof msg - 4, "cannot start a process: %s", strerror(err));
    put_u32((unsigned char *)msg, err == ENOENT || err == ENOTDIR ? 127u : 126u);
    out_frame('F', id, msg, 4 + strlen(msg + 4));
  }
  free(plan.scratch);
  free(strs);
  free(argv);
  free(envp);
  return 0;
}

/* ---- reading output, reaping, finishing ---------------------------------------------------------------------- */

/* Reads once from a job's pipe straight into the outbound buffer behind a reserved header (no extra copy). */
static void read_output(struct job *j) {
  out_reserve(HEADER_SIZE + READ_CHUNK);
  unsigned char *p = out + out_end;
  ssize_t n;
  do n = read(j->fd, p + HEADER_SIZE, READ_CHUNK);
  while (n < 0 && errno == EINTR);
  if (n > 0) {
    if (out_broken) return;
    p[0] = 'O';
    put_u32(p + 1, j->id);
    put_u32(p + 5, (uint32_t)n);
    out_end += HEADER_SIZE + (size_t)n;
  } else if (n == 0 || errno != EAGAIN) {
    close(j->fd);
    j->fd = -1;
  }
}

/* Collects whatever output is still buffered in the pipe without blocking, then closes it. Bounded: a process that
 * left the group (setsid) may still hold the pipe and keep writing. */
static void drain_and_close(struct job *j) {
  if (j->fd < 0) return;
  fcntl(j->fd, F_SETFL, O_NONBLOCK);
  for (int reads = 0; j->fd >= 0 && reads < 4; reads++) {
    struct pollfd pfd = {.fd = j->fd, .events = POLLIN};
    if (poll(&pfd, 1, 0) <= 0) break;
    read_output(j);
  }
  if (j->fd >= 0) {
    close(j->fd);
    j->fd = -1;
  }
}

static void reap(void) {
  int status;
  pid_t pid;
  /* As a subreaper we also collect orphaned descendants; unknown pids are simply discarded (no zombies). */
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    reaped_this_round = 1;
    for (size_t i = 0; i < njobs; i++) {
      struct job *j = &jobs[i];
      if (j->pid == pid && !j->reaped) {
        j->reaped = 1;
        j->status = status;
        j->deadline = now_ms() + (shutting_down ? 0 : j->drain_ms);
        break;
      }
    }
  }
}

static void finish(size_t i) {
  struct job *j = &jobs[i];
  drain_and_close(j);
  unsigned char b[8];
  if (WIFSIGNALED(j->status)) {
    put_u32(b, (uint32_t)-1);
    put_u32(b + 4, (uint32_t)WTERMSIG(j->status));
  } else {
    put_u32(b, (uint32_t)WEXITSTATUS(j->status));
    put_u32(b + 4, 0);
  }
  out_frame('X', j->id, b, 8);
  jobs[i] = jobs[--njobs];
}

/* Moves every job whose main process is gone towards 'X'; returns the next deadline that needs a wake-up. */
static int64_t progress(int64_t now) {
  int64_t next = INT64_MAX;
  for (size_t i = njobs; i-- > 0;) {
    struct job *j = &jobs[i];
    if (!j->reaped) continue;
    if (!j->killing) {
      if (j->fd >= 0 && now < j->deadline) {
        if (j->deadline < next) next = j->deadline;
        continue;
      }
      /* Output ended (EOF) or the drain grace passed: whatever is left in the group goes now. */
      j->killing = 1;
      j->deadline = now + KILL_GIVE_UP_MS;
      j->recheck = 0;
    }
    if (now >= j->recheck || reaped_this_round) {
      /* kill() fails with ESRCH only once no process (not even a zombie) is left in the group; until then every
       * probe is another SIGKILL, which also catches a process that was forking during the previous one. */
      if (kill(-j->pid, SIGKILL) < 0 && errno == ESRCH) {
        finish(i);
        continue;
      }
      if (now >= j->deadline) {
        fprintf(stderr, "corral-launcher: process group %d did not die within %d ms; reporting its exit anyway\n",
                (int)j->pid, KILL_GIVE_UP_MS);
        finish(i);
        continue;
      }
      j->recheck = now + KILL_RECHECK_MS;
    }
    if (j->recheck < next) next = j->recheck;
  }
  return next;
}

static void start_shutdown(void) {
  if (shutting_down) return;
  shutting_down = 1;
  shutdown_deadline = now_ms() + SHUTDOWN_GIVE_UP_MS;
  for (size_t i = 0; i < njobs; i++) {
    kill(-jobs[i].pid, SIGKILL);
    jobs[i].drain_ms = 0;
    if (jobs[i].reaped) jobs[i].deadline = 0;
  }
}

static void handle_signals_fd(void) {
  struct signalfd_siginfo si;
  int child = 0;
  while (read(sig_fd, &si, sizeof si) == (ssize_t)sizeof si) {
    if (si.ssi_signo == SIGCHLD) child = 1;
    else start_shutdown();
  }
  if (child) reap();
}

/* Parses and executes every complete request in the input buffer; keeps a partial one for the next read. */
static void handle_requests(void) {
  size_t pos = 0, need = 0;
  while (in_len - pos >= HEADER_SIZE) {
    const unsigned char *h = in + pos;
    uint32_t id = get_u32(h + 1), len = get_u32(h + 5);
    if (len > MAX_REQUEST) die("request of %u bytes is too large", len);
    if (in_len - pos - HEADER_SIZE < len) {
      need = HEADER_SIZE + (size_t)len;
      break;
    }
    const unsigned char *payload = h + HEADER_SIZE;
    switch (h[0]) {
    case 'L':
      if (shutting_down) break;
      if (id == 0 || find_job(id)) die("bad action id %u", id);
      if (handle_launch(id, payload, len) < 0) die("malformed launch request %u", id);
      break;
    case 'K': {
      if (len < 4) die("malformed signal request %u", id);
      struct job *j = find_job(id);
      if (j) kill(-j->pid, (int)get_u32(payload));
      break;
    }
    default:
      die("unknown request type 0x%02x", h[0]);
    }
    pos += HEADER_SIZE + len;
  }
  memmove(in, in + pos, in_len - pos);
  in_len -= pos;
  if (need > in_cap) {
    in_cap = need;
    in = realloc(in, in_cap);
    if (!in) die("out of memory");
  }
}

static void read_requests(void) {
  if (in_len == in_cap) {
    in_cap *= 2;
    in = realloc(in, in_cap);
    if (!in) die("out of memory");
  }
  ssize_t n = read(0, in + in_len, in_cap - in_len);
  if (n > 0) {
    in_len += (size_t)n;
    handle_requests();
  } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
    /* Node closed our stdin (close()) or died: either way nobody owns these processes any more. */
    start_shutdown();
  }
}

static void setup(void) {
  /* Keep 0/1/2 occupied so a pipe we create never gets one of those numbers: in the child, dup2(fd, fd) is a no-op
   * that would leave that stdio descriptor close-on-exec. */
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0) exit(2);
  /* Nothing inherited beyond stdio may leak into actions (an inherited copy of Node's pipe would hide EOF). */
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3u, ~0u, 0u) < 0)
#endif
    for (int fd = 3; fd < 1024; fd++) close(fd);
  /* Orphaned descendants are re-parented to us: we reap them, and a group cannot hide behind a dead parent. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) perror("corral-launcher: PR_SET_CHILD_SUBREAPER");
  /* Start every action from default dispositions, whatever we inherited. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; sig++) sigaction(sig, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  sigprocmask(SIG_BLOCK, &set, NULL);
  sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sig_fd < 0) die("signalfd: %s", strerror(errno));
  dev_null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (dev_null < 0) die("/dev/null: %s", strerror(errno));
  /* Do not pin whatever directory we were started in (it may be unmounted or removed later). */
  if (chdir("/") < 0) die("chdir /: %s", strerror(errno));
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
  /* The buffer towards Node is left as it is: Node's stdio "pipes" are socketpairs, and raising their SO_SNDBUF
   * from 208 KiB to 1 MiB changed nothing measurable (3,000,000 lines of seq: 84 vs 84 ms median). */
  in_cap = 1 << 16;
  in = malloc(in_cap);
  if (!in) die("out of memory");
}

int main(void) {
  setup();
  unsigned char hello[8];
  put_u32(hello, PROTOCOL_VERSION);
  put_u32(hello + 4, (uint32_t)getpid());
  out_frame('H', 0, hello, 8);
  out_flush();

  struct pollfd *pfds = NULL;
  size_t *pjob = NULL, pcap = 0;
  int stdin_open = 1;
  for (;;) {
    int64_t now = now_ms();
    int64_t next = progress(now);
    reaped_this_round = 0;
    out_flush();
    if (shutting_down && njobs == 0 && (out_end == out_start || out_broken)) break;
    if (shutting_down && now >= shutdown_deadline) {
      if (njobs > 0) fprintf(stderr, "corral-launcher: %zu process group(s) still alive at shutdown\n", njobs);
      else fprintf(stderr, "corral-launcher: nobody read the last %zu bytes of output\n", out_end - out_start);
      break;
    }

    if (pcap < njobs + 3) {
      pcap = (njobs + 3) * 2;
      pfds = realloc(pfds, sizeof *pfds * pcap);
      pjob = realloc(pjob, sizeof *pjob * pcap);
      if (!pfds || !pjob) die("out of memory");
    }
    /* poll, not epoll: for a handful to a few hundred fds the rebuilt array is cheap, no epoll_ctl is needed per
     * action, and pausing every pipe for backpressure is a matter of leaving them out. */
    nfds_t n = 0;
    pfds[n++] = (struct pollfd){.fd = sig_fd, .events = POLLIN};
    pfds[n++] = (struct pollfd){.fd = stdin_open && !shutting_down ? 0 : -1, .events = POLLIN};
    pfds[n++] = (struct pollfd){.fd = out_end > out_start ? 1 : -1, .events = POLLOUT};
    if (out_end - out_start < OUT_HIGH_WATER) {
      for (size_t i = 0; i < njobs; i++) {
        if (jobs[i].fd < 0) continue;
        pjob[n] = i;
        pfds[n++] = (struct pollfd){.fd = jobs[i].fd, .events = POLLIN};
      }
    }
    int timeout = -1;
    if (shutting_down && shutdown_deadline < next) next = shutdown_deadline;
    if (next != INT64_MAX) timeout = next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
    int r = poll(pfds, n, timeout);
    if (r < 0) {
      if (errno == EINTR) continue;
      die("poll: %s", strerror(errno));
    }
    if (r == 0) continue;
    /* Output first, then exits: a job's last bytes are queued before its 'X'. */
    for (nfds_t k = 3; k < n; k++) {
      if (pfds[k].revents) read_output(&jobs[pjob[k]]);
    }
    if (pfds[0].revents) handle_signals_fd();
    if (pfds[1].revents) {
      read_requests();
      if (shutting_down) stdin_open = 0;
    }
    if (pfds[2].revents & (POLLERR | POLLHUP)) {
      out_broken = 1;
      out_start = out_end = 0;
      start_shutdown();
    }
  }
  /* Give Node a moment to read the last frames (our stdout is non-blocking). */
  int64_t flush_deadline = now_ms() + 1000;
  while (out_end > out_start && !out_broken && now_ms() < flush_deadline) {
    struct pollfd pfd = {.fd = 1, .events = POLLOUT};
    poll(&pfd, 1, 100);
    out_flush();
  }
  return 0;
}
