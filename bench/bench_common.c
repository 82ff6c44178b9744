/* bench_common.c -- see bench_common.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"

#ifndef BENCH_SOURCE_DIR
#define BENCH_SOURCE_DIR "."
#endif

/* ---------------- clocks ---------------- */

int64_t bench_mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t bench_wall_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bench_sleep_ns(int64_t ns)
{
        struct timespec ts;
        if (ns <= 0)
                return;
        ts.tv_sec = ns / 1000000000LL;
        ts.tv_nsec = ns % 1000000000LL;
        while (nanosleep(&ts, &ts) && errno == EINTR)
                ;
}

/* ---------------- percentiles ---------------- */

static int cmp_i64(const void *a, const void *b)
{
        int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
        return x < y ? -1 : x > y;
}

static double pct_at(const int64_t *v, size_t n, double q)
{
        /* nearest rank */
        size_t k = (size_t)(q * (double)n + 0.999999);
        if (k < 1)
                k = 1;
        if (k > n)
                k = n;
        return (double)v[k - 1];
}

bench_pct_t bench_percentiles(int64_t *v, size_t n, double div)
{
        bench_pct_t p;
        double sum = 0;
        size_t i;
        memset(&p, 0, sizeof(p));
        p.n = n;
        if (!n)
                return p;
        qsort(v, n, sizeof(*v), cmp_i64);
        for (i = 0; i < n; i++)
                sum += (double)v[i];
        p.p50 = pct_at(v, n, 0.50) / div;
        p.p95 = pct_at(v, n, 0.95) / div;
        p.p99 = pct_at(v, n, 0.99) / div;
        p.max = (double)v[n - 1] / div;
        p.mean = sum / (double)n / div;
        return p;
}

/* ---------------- arguments ---------------- */

const char *bench_arg(int argc, char **argv, const char *name, const char *def)
{
        size_t l = strlen(name);
        int i;
        for (i = 1; i < argc; i++) {
                if (!strncmp(argv[i], name, l)) {
                        if (argv[i][l] == '=')
                                return argv[i] + l + 1;
                        if (!argv[i][l] && i + 1 < argc)
                                return argv[i + 1];
                }
        }
        return def;
}

long long bench_arg_ll(int argc, char **argv, const char *name, long long def)
{
        const char *v = bench_arg(argc, argv, name, NULL);
        return v ? atoll(v) : def;
}

int bench_flag(int argc, char **argv, const char *name)
{
        int i;
        for (i = 1; i < argc; i++)
                if (!strcmp(argv[i], name))
                        return 1;
        return 0;
}

/* ---------------- configuration ---------------- */

const char *bench_brokers(void)
{
        const char *b = getenv("DF_BROKERS");
        if (!b || !*b) {
                fprintf(stderr, "DF_BROKERS is not set: the benchmarks run against a real broker "
                                "(scripts/kafka.sh start; eval \"$(scripts/kafka.sh env)\"; export DF_BROKERS)\n");
                exit(2);
        }
        return b;
}

void bench_conf_set(df_conf_t *c, const char *name, const char *value)
{
        char e[512];
        if (df_conf_set(c, name, value, e, sizeof(e))) {
                fprintf(stderr, "conf %s=%s: %s\n", name, value, e);
                exit(2);
        }
}

void bench_conf_args(df_conf_t *c, int argc, char **argv)
{
        char e[512];
        int i;
        for (i = 1; i + 1 < argc; i++)
                if (!strcmp(argv[i], "-X") && df_conf_set_pair(c, argv[i + 1], e, sizeof(e))) {
                        fprintf(stderr, "-X %s: %s\n", argv[i + 1], e);
                        exit(2);
                }
}

const char *bench_conf_args_str(int argc, char **argv)
{
        static char buf[1024];
        size_t l = 0;
        int i;
        buf[0] = 0;
        for (i = 1; i + 1 < argc && l + 2 < sizeof(buf); i++)
                if (!strcmp(argv[i], "-X"))
                        l += (size_t)snprintf(buf + l, sizeof(buf) - l, "%s%s", l ? " " : "", argv[i + 1]);
        return buf;
}

df_conf_t *bench_conf(const char *prefix, const char *state_dir, int partitions)
{
        df_conf_t *c = df_conf_new();
        char p[16];
        snprintf(p, sizeof(p), "%d", partitions);
        bench_conf_set(c, "brokers", bench_brokers());
        bench_conf_set(c, "topic.prefix", prefix);
        bench_conf_set(c, "state.dir", state_dir);
        bench_conf_set(c, "partitions", p);
        bench_conf_set(c, "log.level", getenv("DF_LOG") ? getenv("DF_LOG") : "warn");
        return c;
}

void bench_prefix(char *buf, size_t size, const char *tag)
{
        static int n;
        snprintf(buf, size, "bench-%s-%d-%ld-%d", tag, (int)getpid(), (long)time(NULL) % 100000, n++);
}

rd_kafka_conf_t *bench_kconf(const char *first, ...)
{
        rd_kafka_conf_t *kc = rd_kafka_conf_new();
        char e[512];
        const char *name = first;
        va_list ap;
        if (rd_kafka_conf_set(kc, "bootstrap.servers", bench_brokers(), e, sizeof(e)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "kafka conf: %s\n", e);
                exit(2);
        }
        va_start(ap, first);
        while (name) {
                const char *value = va_arg(ap, const char *);
                if (rd_kafka_conf_set(kc, name, value, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
                        fprintf(stderr, "kafka conf %s=%s: %s\n", name, value, e);
                        exit(2);
                }
                name = va_arg(ap, const char *);
        }
        va_end(ap);
        return kc;
}

static rd_kafka_t *admin_new(void)
{
        char e[512];
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, bench_kconf(NULL), e, sizeof(e));
        if (!rk) {
                fprintf(stderr, "admin client: %s\n", e);
                exit(2);
        }
        return rk;
}

int bench_create_topic(const char *name, int partitions, int compact)
{
        rd_kafka_t *rk = admin_new();
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_NewTopic_t *nt;
        rd_kafka_event_t *ev;
        char e[512];
        int ret = -1;

        nt = rd_kafka_NewTopic_new(name, partitions, 1, e, sizeof(e));
        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", compact ? "compact" : "delete");
        rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
        ev = rd_kafka_queue_poll(q, 60000);
        if (ev) {
                size_t n;
                const rd_kafka_topic_result_t **tr =
                        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
                if (!rd_kafka_event_error(ev) && n == 1 &&
                    (!rd_kafka_topic_result_error(tr[0]) ||
                     rd_kafka_topic_result_error(tr[0]) == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS))
                        ret = 0;
                else
                        fprintf(stderr, "create topic %s: %s\n", name,
                                rd_kafka_event_error(ev) ? rd_kafka_event_error_string(ev)
                                                         : rd_kafka_topic_result_error_string(tr[0]));
                rd_kafka_event_destroy(ev);
        }
        rd_kafka_NewTopic_destroy(nt);
        rd_kafka_queue_destroy(q);
        rd_kafka_destroy(rk);
        return ret;
}

void bench_delete_topics(const char *prefix)
{
        rd_kafka_t *rk;
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_DeleteTopic_t *dt[64];
        rd_kafka_queue_t *q;
        int i, n = 0;
        size_t pl = strlen(prefix);

        if (getenv("BENCH_KEEP_TOPICS"))
                return;
        rk = admin_new();
        if (rd_kafka_metadata(rk, 1, NULL, &md, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                rd_kafka_destroy(rk);
                return;
        }
        for (i = 0; i < md->topic_cnt && n < 64; i++)
                if (!strncmp(md->topics[i].topic, prefix, pl) && md->topics[i].topic[pl] == '.')
                        dt[n++] = rd_kafka_DeleteTopic_new(md->topics[i].topic);
        rd_kafka_metadata_destroy(md);
        if (n) {
                rd_kafka_event_t *ev;
                q = rd_kafka_queue_new(rk);
                rd_kafka_DeleteTopics(rk, dt, (size_t)n, NULL, q);
                ev = rd_kafka_queue_poll(q, 30000);
                if (ev)
                        rd_kafka_event_destroy(ev);
                rd_kafka_DeleteTopic_destroy_array(dt, (size_t)n);
                rd_kafka_queue_destroy(q);
        }
        rd_kafka_destroy(rk);
}

int bench_partition(const char *key, int partitions)
{
        return rd_kafka_msg_partitioner_murmur2(NULL, key, strlen(key), partitions, NULL, NULL);
}

/* ---------------- /proc and disk ---------------- */

long bench_vm_kb(pid_t pid, const char *field)
{
        char path[64], line[256];
        size_t l = strlen(field);
        long v = -1;
        FILE *f;
        if (pid)
                snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
        else
                snprintf(path, sizeof(path), "/proc/self/status");
        f = fopen(path, "r");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (!strncmp(line, field, l) && line[l] == ':') {
                        v = atol(line + l + 1);
                        break;
                }
        fclose(f);
        return v;
}

static long long du_sum, du_app;
static int du_cb(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)p;
        (void)ftw;
        if (flag == FTW_F) {
                du_sum += (long long)st->st_blocks * 512;
                du_app += (long long)st->st_size;
        }
        return 0;
}

long long bench_du(const char *path)
{
        du_sum = du_app = 0;
        if (nftw(path, du_cb, 16, FTW_PHYS))
                return -1;
        return du_sum;
}

long long bench_du_apparent(const char *path)
{
        du_sum = du_app = 0;
        if (nftw(path, du_cb, 16, FTW_PHYS))
                return -1;
        return du_app;
}

static int kafka_data_dir(char *buf, size_t size)
{
        const char *d = getenv("DF_KAFKA_DATA_DIR"), *st = getenv("DF_KAFKA_STATE");
        char line[1024];
        FILE *f;
        if (d && *d) {
                snprintf(buf, size, "%s", d);
                return 0;
        }
        if (!st || !(f = fopen(st, "r")))
                return -1;
        while (fgets(line, sizeof(line), f)) {
                if (!strncmp(line, "DF_KAFKA_DIR=", 13)) {
                        line[strcspn(line, "\n")] = 0;
                        snprintf(buf, size, "%s/data", line + 13);
                        fclose(f);
                        return 0;
                }
        }
        fclose(f);
        return -1;
}

long long bench_topic_disk(const char *topic)
{
        char dir[1024], path[2048];
        DIR *d;
        struct dirent *de;
        long long sum = 0;
        size_t tl = strlen(topic);
        if (kafka_data_dir(dir, sizeof(dir)) || !(d = opendir(dir)))
                return -1;
        while ((de = readdir(d))) {
                const char *s = de->d_name;
                /* <topic>-<partition> */
                if (!strncmp(s, topic, tl) && s[tl] == '-' && strspn(s + tl + 1, "0123456789") == strlen(s + tl + 1)) {
                        long long n;
                        snprintf(path, sizeof(path), "%s/%s", dir, s);
                        n = bench_du(path); /* allocated: Kafka preallocates sparse index files */
                        if (n > 0)
                                sum += n;
                }
        }
        closedir(d);
        return sum;
}

double bench_proc_cpu_s(pid_t pid)
{
        char path[64], buf[2048], *p;
        unsigned long long ut = 0, stt = 0;
        FILE *f;
        size_t n;
        if (pid)
                snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        else
                snprintf(path, sizeof(path), "/proc/self/stat");
        f = fopen(path, "r");
        if (!f)
                return -1;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        p = strrchr(buf, ')'); /* the command name may hold spaces */
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
                return -1;
        return (double)(ut + stt) / (double)sysconf(_SC_CLK_TCK);
}

pid_t bench_broker_pid(void)
{
        const char *st = getenv("DF_KAFKA_STATE");
        char line[1024];
        pid_t pid = 0;
        FILE *f;
        static int said;
        if (!st || !(f = fopen(st, "r"))) {
                if (!said++)
                        fprintf(stderr, "bench: DF_KAFKA_STATE %s: the broker's CPU is not measured (its columns show "
                                        "-1 or 0); set it to the state file of scripts/kafka.sh\n",
                                st ? "cannot be read" : "is not set");
                return 0;
        }
        while (fgets(line, sizeof(line), f))
                if (!strncmp(line, "DF_KAFKA_PID=", 13))
                        pid = (pid_t)atoi(line + 13);
        fclose(f);
        return pid;
}

int bench_broker_pids(pid_t *out, int max)
{
        const char *st = getenv("DF_KAFKA_STATE");
        char line[1024];
        int n = 0;
        FILE *f;
        if (!st || !(f = fopen(st, "r")))
                return 0;
        while (n < max && fgets(line, sizeof(line), f))
                if (!strncmp(line, "DF_KAFKA_PID", 12)) {
                        const char *eq = strchr(line, '=');
                        if (eq && atoi(eq + 1) > 0)
                                out[n++] = (pid_t)atoi(eq + 1);
                }
        fclose(f);
        return n;
}

/* CPU seconds of every broker of the state file, -1 if none is known */
static double brokers_cpu_s(void)
{
        pid_t p[16];
        int n = bench_broker_pids(p, 16), i;
        double s = 0;
        if (!n)
                return -1;
        for (i = 0; i < n; i++)
                s += bench_proc_cpu_s(p[i]);
        return s;
}

void bench_rm_rf(const char *path)
{
        char cmd[1200];
        if (!path || strlen(path) < 8 || strncmp(path, "/tmp/", 5))
                return; /* only our own temp dirs */
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
        if (system(cmd) != 0)
                fprintf(stderr, "warning: cleanup of %s failed\n", path);
}

/* ---------------- child processes ---------------- */

int bench_spawn(bench_child_t *c, char *const argv[], const char *errlog)
{
        int p[2];
        memset(c, 0, sizeof(*c));
        if (pipe(p))
                return -1;
        fflush(NULL);
        c->pid = fork();
        if (c->pid < 0)
                return -1;
        if (c->pid == 0) {
                dup2(p[1], 1);
                close(p[0]);
                close(p[1]);
                if (errlog) {
                        int fd = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0644);
                        if (fd >= 0) {
                                dup2(fd, 2);
                                close(fd);
                        }
                }
                execv(argv[0], argv);
                fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
                _exit(127);
        }
        close(p[1]);
        c->out_fd = p[0];
        c->out = fdopen(p[0], "r");
        return 0;
}

int bench_child_line(bench_child_t *c, char *buf, size_t size, int timeout_ms)
{
        /* line-at-a-time from the fd, without stdio buffering across polls */
        size_t n = 0;
        int64_t deadline = bench_mono_ns() + (int64_t)timeout_ms * 1000000;
        while (n + 1 < size) {
                struct pollfd pfd = {c->out_fd, POLLIN, 0};
                int left = (int)((deadline - bench_mono_ns()) / 1000000), r;
                char ch;
                if (left < 0)
                        left = 0;
                r = poll(&pfd, 1, left);
                if (r == 0) {
                        buf[n] = 0;
                        return n ? 1 : 0; /* partial lines are returned at timeout only if non-empty */
                }
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                r = (int)read(c->out_fd, &ch, 1);
                if (r <= 0) {
                        buf[n] = 0;
                        return n ? 1 : -1;
                }
                if (ch == '\n')
                        break;
                buf[n++] = ch;
        }
        buf[n] = 0;
        return 1;
}

void bench_child_stop(bench_child_t *c, int timeout_ms)
{
        int64_t deadline = bench_mono_ns() + (int64_t)timeout_ms * 1000000;
        int st;
        if (c->pid <= 0)
                return;
        kill(c->pid, SIGTERM);
        while (bench_mono_ns() < deadline) {
                if (waitpid(c->pid, &st, WNOHANG) == c->pid)
                        goto reaped;
                bench_sleep_ns(20000000);
        }
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &st, 0);
reaped:
        c->pid = 0;
        if (c->out)
                fclose(c->out);
        c->out = NULL;
}

void bench_child_kill(bench_child_t *c)
{
        int st;
        if (c->pid <= 0)
                return;
        kill(c->pid, SIGKILL);
        waitpid(c->pid, &st, 0);
        c->pid = 0;
        if (c->out)
                fclose(c->out);
        c->out = NULL;
}

int bench_spawn_node(bench_child_t *c, const char *mode, const char *prefix, const char *state, const char *id,
                     int partitions, int argc, char **argv, const char *const *extra, const char *errlog)
{
        char node[PATH_MAX], pb[16], line[1024];
        char *nargv[64];
        int na = 0, k, r;
        int64_t deadline;
        bench_sibling(node, sizeof(node), "bench_node");
        snprintf(pb, sizeof(pb), "%d", partitions);
        nargv[na++] = node;
        nargv[na++] = (char *)mode;
        nargv[na++] = "--prefix";
        nargv[na++] = (char *)prefix;
        nargv[na++] = "--state-dir";
        nargv[na++] = (char *)state;
        nargv[na++] = "--id";
        nargv[na++] = (char *)id;
        nargv[na++] = "--partitions";
        nargv[na++] = pb;
        for (k = 1; k + 1 < argc && na < 40; k++)
                if (!strcmp(argv[k], "-X")) {
                        nargv[na++] = "-X";
                        nargv[na++] = argv[k + 1];
                }
        for (k = 0; extra && extra[k] && na < 60; k++) {
                nargv[na++] = "-X";
                nargv[na++] = (char *)extra[k];
        }
        nargv[na] = NULL;
        if (bench_spawn(c, nargv, errlog))
                return -1;
        deadline = bench_mono_ns() + 120LL * 1000000000;
        while (bench_mono_ns() < deadline) {
                r = bench_child_line(c, line, sizeof(line), 1000);
                if (r < 0)
                        break;
                if (r == 1 && !strcmp(line, "ready"))
                        return 0;
        }
        fprintf(stderr, "bench_node %s %s did not start (log: %s)\n", mode, id, errlog ? errlog : "stderr");
        bench_child_kill(c);
        return -1;
}

long long bench_stat(const char *line, const char *key)
{
        char k[64];
        const char *p;
        snprintf(k, sizeof(k), " %s=", key);
        p = strstr(line, k);
        return p ? atoll(p + strlen(k)) : -1;
}

void bench_sibling(char *buf, size_t size, const char *name)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        char *slash;
        if (n <= 0) {
                snprintf(buf, size, "./%s", name);
                return;
        }
        self[n] = 0;
        slash = strrchr(self, '/');
        if (slash)
                *slash = 0;
        snprintf(buf, size, "%s/%s", self, name);
}

/* ---------------- reports ---------------- */

struct bench_report {
        char bench[64];
        char title[256];
        char date[64];
        char machine[512];
        char cmd[2048];
        double load_start;
        int64_t t_start;
        double cpu_busy0, cpu_self0, cpu_broker0;
        char *text;
        size_t len, cap;
        char *csv;
        size_t csv_len, csv_cap;
};

static void sb_add(char **s, size_t *len, size_t *cap, const char *add)
{
        size_t l = strlen(add);
        if (*len + l + 1 > *cap) {
                size_t nc = (*cap ? *cap * 2 : 4096);
                while (nc < *len + l + 1)
                        nc *= 2;
                *s = realloc(*s, nc);
                if (!*s)
                        abort();
                *cap = nc;
        }
        memcpy(*s + *len, add, l + 1);
        *len += l;
}

double bench_load1(void)
{
        double l = -1;
        FILE *f = fopen("/proc/loadavg", "r");
        if (f) {
                if (fscanf(f, "%lf", &l) != 1)
                        l = -1;
                fclose(f);
        }
        return l;
}

static void machine_desc(char *buf, size_t size)
{
        char line[512], model[256] = "unknown CPU";
        long memkb = 0;
        FILE *f = fopen("/proc/cpuinfo", "r");
        struct utsname u;
        if (f) {
                while (fgets(line, sizeof(line), f))
                        if (!strncmp(line, "model name", 10)) {
                                char *c = strchr(line, ':');
                                if (c) {
                                        c++;
                                        while (*c == ' ')
                                                c++;
                                        c[strcspn(c, "\n")] = 0;
                                        snprintf(model, sizeof(model), "%s", c);
                                }
                                break;
                        }
                fclose(f);
        }
        f = fopen("/proc/meminfo", "r");
        if (f) {
                while (fgets(line, sizeof(line), f))
                        if (!strncmp(line, "MemTotal:", 9))
                                memkb = atol(line + 9);
                fclose(f);
        }
        uname(&u);
        snprintf(buf, size, "%ld CPUs (nproc), %.1f GB RAM, %s, Linux %s, librdkafka %s", sysconf(_SC_NPROCESSORS_ONLN),
                 (double)memkb / 1048576.0, model, u.release, rd_kafka_version_str());
}

/* Busy CPU seconds of the whole machine (all CPUs) from /proc/stat. */
static double machine_busy_s(void)
{
        unsigned long long v[10] = {0};
        double busy = -1;
        FILE *f = fopen("/proc/stat", "r");
        if (f) {
                if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                           &v[6], &v[7]) == 8)
                        busy = (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
                fclose(f);
        }
        return busy;
}

/* CPU seconds of this process and its reaped children. */
static double self_and_children_s(void)
{
        char buf[2048], *p;
        unsigned long long ut = 0, st = 0;
        long long cut = 0, cst = 0;
        size_t n;
        FILE *f = fopen("/proc/self/stat", "r");
        if (!f)
                return -1;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = 0;
        p = strrchr(buf, ')');
        if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld", &ut, &st, &cut,
                         &cst) != 4)
                return -1;
        return (double)(ut + st + (unsigned long long)cut + (unsigned long long)cst) / (double)sysconf(_SC_CLK_TCK);
}

bench_report_t *bench_report_new(const char *bench, const char *title, int argc, char **argv)
{
        bench_report_t *r = calloc(1, sizeof(*r));
        time_t t = time(NULL);
        struct tm tm;
        int i;
        size_t l = 0;
        snprintf(r->bench, sizeof(r->bench), "%s", bench);
        snprintf(r->title, sizeof(r->title), "%s", title);
        gmtime_r(&t, &tm);
        strftime(r->date, sizeof(r->date), "%Y-%m-%d %H:%M:%S UTC", &tm);
        machine_desc(r->machine, sizeof(r->machine));
        r->load_start = bench_load1();
        r->t_start = bench_mono_ns();
        r->cpu_busy0 = machine_busy_s();
        r->cpu_self0 = self_and_children_s();
        r->cpu_broker0 = brokers_cpu_s();
        for (i = 0; i < argc && l + 2 < sizeof(r->cmd); i++) {
                const char *a = i == 0 ? (strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0]) : argv[i];
                l += (size_t)snprintf(r->cmd + l, sizeof(r->cmd) - l, "%s%s", i ? " " : "", a);
        }
        return r;
}

void bench_report_text(bench_report_t *r, const char *fmt, ...)
{
        char buf[4096];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        sb_add(&r->text, &r->len, &r->cap, buf);
        sb_add(&r->text, &r->len, &r->cap, "\n");
}

void bench_report_csv(bench_report_t *r, const char *config, const char *metric, double value, const char *unit)
{
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s,%s,%s,%s,%.6g,%s\n", r->date, r->bench, config, metric, value, unit);
        sb_add(&r->csv, &r->csv_len, &r->csv_cap, buf);
}

static void out_dir(char *buf, size_t size)
{
        const char *d = getenv("BENCH_OUT_DIR");
        snprintf(buf, size, "%s", d && *d ? d : BENCH_SOURCE_DIR);
}

void bench_report_finish(bench_report_t *r)
{
        char dir[1024], path[1200], head[4096];
        FILE *f;
        double load_end = bench_load1();
        int new_csv;

        double wall = (double)(bench_mono_ns() - r->t_start) / 1e9, ncpu = (double)sysconf(_SC_NPROCESSORS_ONLN);
        double busy = machine_busy_s() - r->cpu_busy0, own = self_and_children_s() - r->cpu_self0;
        double brk = r->cpu_broker0 >= 0 ? brokers_cpu_s() - r->cpu_broker0 : 0;
        double other = busy - own - brk;
        if (other < 0)
                other = 0;
        snprintf(head, sizeof(head),
                 "\n## %s — %s\n\n"
                 "- machine: %s\n"
                 "- load: 1-min load average %.2f at start, %.2f at end (the end includes this benchmark); during "
                 "its %.0f s the benchmark (with its child processes) used %.0f%% and the broker(s) %.0f%% of the "
                 "machine's %.0f CPUs, **other processes %.0f%%**\n"
                 "- duraflow: %s\n"
                 "- command: `%s` (brokers %s)\n\n",
                 r->title, r->date, r->machine, r->load_start, load_end, wall, 100 * own / (wall * ncpu),
                 100 * brk / (wall * ncpu), ncpu, 100 * other / (wall * ncpu),
                 getenv("BENCH_GIT_DESC") && *getenv("BENCH_GIT_DESC") ? getenv("BENCH_GIT_DESC") : "(commit unknown)",
                 r->cmd, bench_brokers());
        bench_report_csv(r, "_machine", "other_cpu_pct", 100 * other / (wall * ncpu), "%");
        bench_report_csv(r, "_machine", "load1_start", r->load_start, "");
        fputs(head, stdout);
        if (r->text)
                fputs(r->text, stdout);
        fflush(stdout);
        if (getenv("BENCH_NO_RESULTS"))
                return;
        out_dir(dir, sizeof(dir));
        snprintf(path, sizeof(path), "%s/RESULTS.md", dir);
        f = fopen(path, "a");
        if (f) {
                fputs(head, f);
                if (r->text)
                        fputs(r->text, f);
                fclose(f);
        } else {
                fprintf(stderr, "cannot append to %s: %s\n", path, strerror(errno));
        }
        snprintf(path, sizeof(path), "%s/results.csv", dir);
        new_csv = access(path, F_OK) != 0;
        f = fopen(path, "a");
        if (f) {
                if (new_csv)
                        fputs("date,bench,config,metric,value,unit\n", f);
                if (r->csv)
                        fputs(r->csv, f);
                fclose(f);
        }
        free(r->text);
        free(r->csv);
        free(r);
}

const char *bench_ms(double ms)
{
        static __thread char ring[16][32];
        static __thread int k;
        char *b = ring[k++ & 15];
        if (ms < 10)
                snprintf(b, 32, "%.2f", ms);
        else if (ms < 100)
                snprintf(b, 32, "%.1f", ms);
        else
                snprintf(b, 32, "%.0f", ms);
        return b;
}
