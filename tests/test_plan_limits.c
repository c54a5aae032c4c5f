/* tests/test_plan_limits.c — plans held to the machine's limits (runner/plan.h) and the limits
 * themselves (runner/machine.h).
 *
 * The machine is fixed with machine_override at 23.5 GiB of physical memory (25,276,166,144
 * bytes) and 2 CPUs, so that the catalogue tests/bad_configs/limits/NAME.yaml can compare its
 * `# expect:` lines exactly on any machine (tests/test_plan_limits.sh runs the same files
 * through the binary on the real machine, and skips those marked `# fixed-limits-only`). Run
 * from the repository root (tests/run.sh does).
 */
#include <dirent.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "machine.h"
#include "plan.h"
#include "testutil.h"

#define FIXED_MEMORY 25276166144ull
#define FIXED_CPUS 2
#define MAX_LINES 64

static void fix_machine(uint64_t memory, int cpus) {
    MachineLimits lim = {.memory = memory, .memory_source = LIMIT_PHYSICAL, .cpus = cpus};
    machine_override(&lim);
}

/* Loads text through config_load_string; *out receives the diagnostics (malloc'd). */
static Config *load(const char *name, const char *text, const char *const *sets, int nsets,
                    char **out, int *nerrors) {
    FILE *f = tmpfile();
    Config *c = config_load_string(name, text, sets, nsets, f, nerrors);
    long n = ftell(f);
    *out = calloc(1, (size_t)n + 1);
    rewind(f);
    size_t got = fread(*out, 1, (size_t)n, f);
    (*out)[got] = '\0';
    fclose(f);
    return c;
}

static int split_lines(char *text, char **lines, int max) {
    int n = 0;
    for (char *p = text; *p && n < max;) {
        lines[n++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    return n;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.yaml names in dir (malloc'd); returns the count. */
static int list_yaml(const char *dir, char **names, int max) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < max;) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".yaml") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    return n;
}

/* One catalogue file: the diagnostics are its `# expect:` lines, exactly and in order. */
static void check_fixture(const char *path) {
    size_t len;
    char *text = (char *)tu_read_file(path, &len);
    char *copy = strdup(text), *lines[4096], *want[MAX_LINES];
    const char *sets[16];
    int nl = split_lines(copy, lines, 4096), nwant = 0, nsets = 0;
    for (int j = 0; j < nl; j++) {
        if (strncmp(lines[j], "# expect: ", 10) == 0 && nwant < MAX_LINES)
            want[nwant++] = lines[j] + 10;
        if (strncmp(lines[j], "# args: ", 8) == 0)
            for (char *t = strtok(lines[j] + 8, " "); t; t = strtok(NULL, " "))
                if (strcmp(t, "--set") != 0 && nsets < 16) sets[nsets++] = t;
    }
    char *out;
    int nerrors;
    Config *c = load(path, text, sets, nsets, &out, &nerrors);
    char *split = strdup(out), *got[MAX_LINES];
    int ngot = *split ? split_lines(split, got, MAX_LINES) : 0;
    bool same = c == NULL && nwant > 0 && ngot == nwant;
    for (int j = 0; same && j < nwant; j++) same = strcmp(got[j], want[j]) == 0;
    if (!same) {
        fprintf(stderr, "%s: diagnostics differ\n--- expected\n", path);
        for (int j = 0; j < nwant; j++) fprintf(stderr, "%s\n", want[j]);
        fprintf(stderr, "--- got\n%s", out);
    }
    CHECK(same);
    config_free(c);
    free(split);
    free(out);
    free(copy);
    free(text);
}

static void test_catalogue(void) {
    char *names[128];
    int n = list_yaml("tests/bad_configs/limits", names, 128);
    printf("limits catalogue: %d files\n", n);
    CHECK(n >= 15);
    for (int i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "tests/bad_configs/limits/%s", names[i]);
        check_fixture(path);
        free(names[i]);
    }
}

/* Every shipped config fits the fixed machine (no false refusals). */
static void test_good_configs_fit(void) {
    const char *dirs[] = {"experiments", "tests/good_configs"};
    int total = 0;
    for (int d = 0; d < 2; d++) {
        char *names[128];
        int n = list_yaml(dirs[d], names, 128);
        for (int i = 0; i < n; i++) {
            char path[512], *out;
            snprintf(path, sizeof path, "%s/%s", dirs[d], names[i]);
            size_t len;
            char *text = (char *)tu_read_file(path, &len);
            int nerrors;
            Config *c = load(path, text, NULL, 0, &out, &nerrors);
            if (!c) fprintf(stderr, "%s does not load:\n%s", path, out);
            CHECK(c != NULL);
            total++;
            config_free(c);
            free(out);
            free(text);
            free(names[i]);
        }
    }
    CHECK(total >= 10);
}

static const char L17[] =
    "name: l17\n"
    "pipeline:\n"
    "  - load_dataset: {name: mnist}\n"
    "  - pretrain_layer: {units: 400, optimizer: {name: sgd, lr: 0.98}, epochs: 10}\n"
    "  - append_layer: {units: 256, optimizer: {name: adam}, epochs: 10}\n"
    "  - strip_decoder\n"
    "  - attach_classifier: {loss: nll, optimizer: {name: sgd, lr: 0.1}, epochs: 10}\n";

/* The plan of c as text (malloc'd). */
static char *plan_text(const Config *c) {
    FILE *f = tmpfile();
    plan_print(f, c, NULL);
    long n = ftell(f);
    char *s = calloc(1, (size_t)n + 1);
    rewind(f);
    size_t got = fread(s, 1, (size_t)n, f);
    s[got] = '\0';
    fclose(f);
    return s;
}

/* What plan_print calls the largest step, in bytes (0 when missing). */
static uint64_t largest_step(const char *plan) {
    const char *p = strstr(plan, "largest step ");
    uint64_t v = 0;
    for (p = p ? p + 13 : ""; *p && *p != ' '; p++)
        if (*p >= '0' && *p <= '9') v = 10 * v + (uint64_t)(*p - '0');
    return v;
}

/* A step of exactly the limit fits; one byte less refuses it: print and check agree. */
static void test_boundary(void) {
    char *out;
    int nerrors;
    fix_machine(FIXED_MEMORY, FIXED_CPUS);
    Config *c = load("l17.yaml", L17, NULL, 0, &out, &nerrors);
    CHECK(c != NULL);
    free(out);
    if (!c) return;
    char *plan = plan_text(c);
    uint64_t peak = largest_step(plan);
    /* the append step: params 4*(314,000+102,656+102,800+314,384), grads the same, adam twice
     * that, activations 8*1000*(784+400+256+400+784) */
    CHECK(peak == 4ull * 833840 * 4 + 8ull * 1000 * 2624);
    config_free(c);
    free(plan);
    fix_machine(peak, FIXED_CPUS);
    c = load("l17.yaml", L17, NULL, 0, &out, &nerrors);
    CHECK(c != NULL && nerrors == 0);
    config_free(c);
    free(out);
    fix_machine(peak - 1, FIXED_CPUS);
    c = load("l17.yaml", L17, NULL, 0, &out, &nerrors);
    CHECK(c == NULL && nerrors == 1);
    /* a batch of 1 would fit, and the batch is the data set's (no key: its kind node) */
    CHECK_STR(out, "l17.yaml:3:5: error: pipeline[0].load_dataset.batch_size: the plan needs "
                   "32.7 MiB (parameters 3.2 MiB, gradients 3.2 MiB, optimizer 6.4 MiB, "
                   "activations 20.0 MiB) in pipeline[2].append_layer, more than this "
                   "machine's 32.7 MiB\n");
    config_free(c);
    free(out);
    fix_machine(FIXED_MEMORY, FIXED_CPUS);
}

/* With nothing limiting the memory, an overflowed size is still refused. */
static void test_overflow_without_limit(void) {
    const char *sets[] = {"pretrain_layer.units=2147483647", "append_layer.units=2147483647"};
    char *out;
    int nerrors;
    fix_machine(UINT64_MAX, FIXED_CPUS);
    Config *c = load("l17.yaml", L17, sets, 2, &out, &nerrors);
    CHECK(c == NULL && nerrors == 1);
    CHECK(strstr(out, "--set append_layer.units=2147483647: error: pipeline[2].append_layer."
                      "units: the plan needs more than 16 EiB (parameters more than 16 EiB") !=
          NULL);
    CHECK(strstr(out, "more than the 16 EiB that 64-bit sizes can count\n") != NULL);
    config_free(c);
    free(out);
    fix_machine(FIXED_MEMORY, FIXED_CPUS);
}

/* plan_print of sizes past 64 bits says so instead of printing a wrapped count. */
static void test_print_overflow(void) {
    char *out;
    int nerrors;
    Config *c = load("l17.yaml", L17, NULL, 0, &out, &nerrors);
    CHECK(c != NULL);
    free(out);
    if (!c) return;
    c->stages[1].units = 2147483647; /* past the check: plan_print alone */
    c->stages[2].units = 2147483647;
    char *plan = plan_text(c);
    CHECK(strstr(plan, "[2] append_layer: encoder 2147483647->2147483647 tanh") != NULL);
    CHECK(strstr(plan, "memory: more than 18,446,744,073,709,551,615 bytes (parameters more "
                       "than 18,446,744,073,709,551,615,") != NULL);
    CHECK(strstr(plan, "largest step more than 18,446,744,073,709,551,615 bytes") != NULL);
    /* the pretrain step is large but fits in 64 bits: 1569*U + 784 parameters */
    CHECK(strstr(plan, "parameters: 3,369,401,842,927 trained / 3,369,401,842,927") != NULL);
    free(plan);
    config_free(c);
}

static void test_threads_boundary(void) {
    static const char base[] = "name: t\npipeline:\n  - load_dataset: {name: mnist}\n";
    const char *at[] = {"threads=8"}, *above[] = {"threads=9"}, *all[] = {"threads=0"};
    char *out;
    int nerrors;
    Config *c = load("t.yaml", base, at, 1, &out, &nerrors);
    CHECK(c != NULL && c->threads == 8);
    config_free(c);
    free(out);
    c = load("t.yaml", base, all, 1, &out, &nerrors);
    CHECK(c != NULL && c->threads == 0);
    config_free(c);
    free(out);
    c = load("t.yaml", base, above, 1, &out, &nerrors);
    CHECK(c == NULL);
    CHECK_STR(out, "--set threads=9: error: threads: 9 is more than 4 threads per online CPU "
                   "(this machine has 2 CPUs: at most 8)\n");
    config_free(c);
    free(out);
    MachineLimits one = {.memory = FIXED_MEMORY, .cpus = 1};
    char why[160] = "";
    CHECK(machine_max_threads(&one) == 4);
    CHECK(machine_threads_ok(&one, 4, why, sizeof why) && why[0] == '\0');
    CHECK(machine_threads_ok(&one, 0, why, sizeof why) && machine_threads_ok(&one, -1, why, 160));
    CHECK(!machine_threads_ok(&one, 1024, why, sizeof why));
    CHECK_STR(why,
              "1024 is more than 4 threads per online CPU (this machine has 1 CPU: at most 4)");
}

static void test_format(void) {
    char b[64];
    CHECK_STR(machine_format_bytes(0, b, sizeof b), "0 bytes");
    CHECK_STR(machine_format_bytes(1, b, sizeof b), "1 byte");
    CHECK_STR(machine_format_bytes(1023, b, sizeof b), "1023 bytes");
    CHECK_STR(machine_format_bytes(1024, b, sizeof b), "1.0 KiB");
    CHECK_STR(machine_format_bytes(1536, b, sizeof b), "1.5 KiB");
    CHECK_STR(machine_format_bytes(1024 * 1024 - 1, b, sizeof b), "1.0 MiB");
    CHECK_STR(machine_format_bytes(FIXED_MEMORY, b, sizeof b), "23.5 GiB");
    CHECK_STR(machine_format_bytes(UINT64_MAX - 1, b, sizeof b), "16.0 EiB");
    CHECK_STR(machine_format_bytes(UINT64_MAX, b, sizeof b), "more than 16 EiB");
    MachineLimits lim = {.memory = 8ull << 30, .memory_source = LIMIT_CGROUP, .cpus = 2};
    CHECK_STR(machine_describe_memory(&lim, b, sizeof b), "the 8.0 GiB its cgroup allows");
    lim.memory_source = LIMIT_RLIMIT_AS;
    CHECK_STR(machine_describe_memory(&lim, b, sizeof b),
              "the 8.0 GiB RLIMIT_AS allows (ulimit -v)");
    lim.memory_source = LIMIT_PHYSICAL;
    CHECK_STR(machine_describe_memory(&lim, b, sizeof b), "this machine's 8.0 GiB");
}

static void put(const char *rel, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tu_dir(), rel);
    for (char *s = strchr(path + strlen(tu_dir()) + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        mkdir(path, 0777);
        *s = '/';
    }
    tu_write_file(path, text, strlen(text));
}

/* A fake /proc/self/cgroup and cgroup tree: the lowest limit along the path wins. */
static void test_cgroup(void) {
    char root[400], proc[400];
    snprintf(root, sizeof root, "%s/cg", tu_dir());
    snprintf(proc, sizeof proc, "%s/proc", tu_dir());
    CHECK(machine_cgroup_memory(tu_path("missing"), root) == UINT64_MAX);
    put("proc", "0::/a/b\n");
    CHECK(machine_cgroup_memory(proc, root) == UINT64_MAX); /* no files: no limit */
    put("cg/a/b/memory.max", "max\n");
    put("cg/a/memory.max", "1073741824\n");
    CHECK(machine_cgroup_memory(proc, root) == 1073741824); /* the parent's */
    put("cg/a/b/memory.max", "536870912\n");
    CHECK(machine_cgroup_memory(proc, root) == 536870912); /* the child's, lower */
    put("cg/a/b/memory.max", "lots\n");
    CHECK(machine_cgroup_memory(proc, root) == 1073741824); /* not a number: no limit */
    put("proc", "5:cpu,memory:/x/\n1:cpu:/y\n");
    put("cg/memory/x/memory.limit_in_bytes", "9223372036854771712\n");
    put("cg/memory/memory.limit_in_bytes", "2147483648\n");
    CHECK(machine_cgroup_memory(proc, root) == 2147483648u); /* v1, the root's */
    put("proc", "5:memory:/x\n0::/a/b\n");
    CHECK(machine_cgroup_memory(proc, root) == 1073741824); /* v1 and v2: the lower */
    put("proc", "5:memoryless:/x\n0:cpu:/a/b\nnonsense\n");
    CHECK(machine_cgroup_memory(proc, root) == UINT64_MAX);
}

/* The real machine: plausible figures, and a lower RLIMIT_AS is seen. */
static void test_detect(void) {
    MachineLimits lim;
    machine_detect(&lim);
    uint64_t phys = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    CHECK(lim.cpus >= 1 && lim.memory > 0 && lim.memory <= phys);
    CHECK(lim.cpus == (int)sysconf(_SC_NPROCESSORS_ONLN));
    struct rlimit old;
    CHECK(getrlimit(RLIMIT_AS, &old) == 0);
    struct rlimit low = old;
    low.rlim_cur = (rlim_t)(lim.memory / 2);
    if (old.rlim_cur == RLIM_INFINITY || old.rlim_cur > low.rlim_cur) {
        CHECK(setrlimit(RLIMIT_AS, &low) == 0);
        MachineLimits under;
        machine_detect(&under);
        CHECK(under.memory == lim.memory / 2 && under.memory_source == LIMIT_RLIMIT_AS);
        CHECK(setrlimit(RLIMIT_AS, &old) == 0);
    }
    machine_override(NULL);
    CHECK(machine_limits()->memory == lim.memory && machine_limits()->cpus == lim.cpus);
}

/* An idx data set is planned with its header's shape: 10 images of 100x100 make the first
 * layer 10000 wide, which MNIST's 784 features would let fit. */
static void test_idx_shape(void) {
    unsigned char img[16 + 10 * 100 * 100] = {0, 0, 8, 3, 0, 0, 0, 10, 0, 0, 0, 100, 0, 0, 0, 100};
    tu_write_file(tu_path("images.idx"), img, sizeof img);
    char text[1024], *out;
    int nerrors;
    snprintf(text, sizeof text,
             "name: wide_idx\n"
             "pipeline:\n"
             "  - load_dataset: {name: idx, train_images: %s, train_labels: %s}\n"
             "  - pretrain_layer: {units: 1000000, optimizer: {name: sgd, lr: 0.1}, epochs: 1}\n",
             tu_path("images.idx"), tu_path("labels.idx"));
    Config *c = load("idx.yaml", text, NULL, 0, &out, &nerrors);
    CHECK(c == NULL && nerrors == 1);
    CHECK(strstr(out, "idx.yaml:4:29: error: pipeline[1].pretrain_layer.units: the plan needs "
                      "149.1 GiB (parameters 74.5 GiB, gradients 74.5 GiB, optimizer 0 bytes, "
                      "activations 77.8 MiB), more than this machine's 23.5 GiB") != NULL);
    config_free(c);
    free(out);
    /* no such file, or not a regular file: MNIST's shape (and the run reports the data set) */
    const char *sets[] = {"load_dataset.train_images=/nonexistent/images.idx"};
    c = load("idx.yaml", text, sets, 1, &out, &nerrors);
    CHECK(c != NULL);
    config_free(c);
    free(out);
    const char *dir[] = {"load_dataset.train_images=/dev/null"};
    c = load("idx.yaml", text, dir, 1, &out, &nerrors);
    CHECK(c != NULL);
    config_free(c);
    free(out);
}


/* The plan against a device's free memory (plan_check_device_memory): each stage's step plus
 * the training set on the device (60,000 MNIST images of 784 bytes and their labels). The
 * peak is the append step; exactly that fits, one byte less names it; less than the first
 * step names the first stage. */
static void test_device_memory(void) {
    char *out, msg[512];
    int nerrors;
    Config *c = load("l17.yaml", L17, NULL, 0, &out, &nerrors);
    CHECK(c != NULL);
    free(out);
    if (!c) return;
    uint64_t data = 60000ull * 785;
    uint64_t pretrain = 4ull * 628384 * 2 + 8ull * 1000 * (784 + 400 + 784) + data;
    uint64_t append = 4ull * 833840 * 4 + 8ull * 1000 * 2624 + data;
    uint64_t total = 80ull << 30;
    CHECK(plan_check_device_memory(c, NULL, "cuda", append, total, msg, sizeof msg) == 0);
    CHECK(plan_check_device_memory(c, NULL, "cuda", UINT64_MAX, total, msg, sizeof msg) == 0);
    CHECK(plan_check_device_memory(c, NULL, "cuda", append - 1, total, msg, sizeof msg) == 1);
    CHECK_STR(msg, "pipeline[2].append_layer: the plan needs 77.7 MiB on the cuda device "
                   "(parameters 3.2 MiB, gradients 3.2 MiB, optimizer 6.4 MiB, activations "
                   "20.0 MiB, training data 44.9 MiB), more than the 77.7 MiB free there (of "
                   "80.0 GiB)");
    CHECK(plan_check_device_memory(c, NULL, "cuda", pretrain, total, msg, sizeof msg) == 1);
    CHECK(strncmp(msg, "pipeline[2].append_layer:", 25) == 0);
    CHECK(plan_check_device_memory(c, NULL, "cuda", pretrain - 1, total, msg, sizeof msg) == 1);
    CHECK_STR(msg, "pipeline[1].pretrain_layer: the plan needs 64.7 MiB on the cuda device "
                   "(parameters 2.4 MiB, gradients 2.4 MiB, optimizer 0 bytes, activations "
                   "15.0 MiB, training data 44.9 MiB), more than the 64.7 MiB free there (of "
                   "80.0 GiB)");
    /* a data set of another shape: D = 100, N = 500 (the figures follow it) */
    int dims[3] = {100, 10, 500};
    uint64_t small = 4ull * (2 * (100 * 400 + 400) - 400 + 100) * 2 + 8ull * 500 * (100 + 400 + 100) +
                     500ull * 101;
    CHECK(plan_check_device_memory(c, dims, "cuda", small - 1, total, msg, sizeof msg) == 1);
    CHECK(strncmp(msg, "pipeline[1].pretrain_layer:", 27) == 0);
    CHECK(plan_check_device_memory(c, dims, "cuda", small, total, msg, sizeof msg) == 1);
    CHECK(strncmp(msg, "pipeline[2].append_layer:", 25) == 0); /* the first step fits */
    config_free(c);
}

int main(void) {
    tu_tmpdir("plan_limits");
    test_format();
    test_cgroup();
    test_detect();
    fix_machine(FIXED_MEMORY, FIXED_CPUS);
    test_catalogue();
    test_good_configs_fit();
    test_boundary();
    test_overflow_without_limit();
    test_print_overflow();
    test_threads_boundary();
    test_idx_shape();
    test_device_memory();
    return tu_tmpdir_done(tu_summary("test_plan_limits"));
}
