#include "edp_ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "edp_rundir.h"
#include "edp_yaml.h"

#define HEADER "# edp-assign ledger: written by edp-assign only; a checksum guards it\n"
#define CHECKSUM_KEY "checksum: fnv1a64:"

bool edp_workload_name_valid(const char *name)
{
	size_t n = strlen(name);
	return n >= 1 && n <= EDP_WORKLOAD_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n;
}

int edp_ledger_path(char *buf, size_t size, const char *given, struct edp_error *err)
{
	const char *env = getenv("EDP_LEDGER");
	if (given || (env && *env)) {
		snprintf(buf, size, "%s", given ? given : env);
		return 0;
	}
	const char *rundir = getenv("EDP_RUNDIR");
	if (rundir && *rundir) {
		char dir[4000];
		if (edp_rundir_path(dir, sizeof(dir), err))
			return EDP_ERR_RUNTIME;
		snprintf(buf, size, "%s/ledger.yaml", dir);
		return 0;
	}
	if (mkdir("/var/lib/edp", 0755) < 0 && errno != EEXIST)
		return edp_error_set(err, EDP_ERR_RUNTIME, "/var/lib/edp: cannot create: %s (give --ledger PATH)",
				     strerror(errno));
	snprintf(buf, size, "/var/lib/edp/ledger.yaml");
	return 0;
}

int edp_ledger_lock(const char *path, bool exclusive, struct edp_error *err)
{
	char lock[PATH_MAX + 8];
	snprintf(lock, sizeof(lock), "%s.lock", path);
	int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && !exclusive && errno == EACCES)
		fd = open(lock, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot open: %s", lock, strerror(errno)), -1;
	while (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		if (errno == EINTR)
			continue;
		edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot lock: %s", lock, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void edp_ledger_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

static uint64_t fnv1a64(const char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
	return h;
}

void edp_ledger_free(struct edp_ledger *l)
{
	free(l->claims);
	memset(l, 0, sizeof(*l));
}

int edp_ledger_add(struct edp_ledger *l, const struct edp_claim *c, struct edp_error *err)
{
	if (l->n == l->cap) {
		uint32_t nc = l->cap ? l->cap * 2 : 16;
		struct edp_claim *p = realloc(l->claims, nc * sizeof(*p));
		if (!p)
			return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		l->claims = p;
		l->cap = nc;
	}
	l->claims[l->n++] = *c;
	return 0;
}

void edp_ledger_remove(struct edp_ledger *l, uint32_t i)
{
	memmove(&l->claims[i], &l->claims[i + 1], (l->n - i - 1) * sizeof(*l->claims));
	l->n--;
}

const struct edp_claim *edp_ledger_owner(const struct edp_ledger *l, const char *host, const char *addr)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (strcmp(l->claims[i].device, addr) == 0 && strcmp(l->claims[i].host, host) == 0)
			return &l->claims[i];
	return NULL;
}

/* ---- reading ---- */

struct reading {
	struct edp_ledger *l;
	struct edp_claim c;
	bool has_version, has_generation;
};

static int text(struct edp_yaml *y, yaml_node_t *v, const char *key, char *out, size_t size, bool may_be_empty)
{
	const char *s = edp_yaml_scalar(v);
	if (!s || (!*s && !may_be_empty))
		return edp_yaml_fail(y, v, "%s must be a%s string", key, may_be_empty ? "" : " non-empty");
	if (strlen(s) >= size)
		return edp_yaml_fail(y, v, "%s is too long", key);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int claim_key(struct edp_yaml *y, const char *k, yaml_node_t *v, void *arg)
{
	struct edp_claim *c = &((struct reading *)arg)->c;
	long long x;
	if (strcmp(k, "workload") == 0) {
		int rc = text(y, v, k, c->workload, sizeof(c->workload), false);
		return rc ? rc : edp_workload_name_valid(c->workload) ? 0 : edp_yaml_fail(y, v, "bad workload name");
	}
	if (strcmp(k, "device") == 0)
		return text(y, v, k, c->device, sizeof(c->device), false);
	if (strcmp(k, "host") == 0)
		return text(y, v, k, c->host, sizeof(c->host), false);
	if (strcmp(k, "kind") == 0) {
		const char *s = edp_yaml_scalar(v);
		int kind = s ? edp_dev_kind_parse(s) : -1;
		if (kind < 0)
			return edp_yaml_fail(y, v, "kind must be nic, gpu, dpu, vf or other");
		c->kind = (enum edp_dev_kind)kind;
		return 0;
	}
	if (strcmp(k, "numa-node") == 0 || strcmp(k, "iommu-group") == 0) {
		if (edp_yaml_int(y, v, k, -1, 1 << 30, &x))
			return EDP_ERR_USAGE;
		*(k[0] == 'n' ? &c->numa_node : &c->iommu_group) = (int32_t)x;
		return 0;
	}
	if (strcmp(k, "driver") == 0)
		return text(y, v, k, c->driver, sizeof(c->driver), true);
	if (strcmp(k, "driver-version") == 0)
		return text(y, v, k, c->driver_version, sizeof(c->driver_version), true);
	if (strcmp(k, "firmware") == 0)
		return text(y, v, k, c->firmware, sizeof(c->firmware), true);
	if (strcmp(k, "driver-pin") == 0)
		return text(y, v, k, c->driver_pin, sizeof(c->driver_pin), true);
	if (strcmp(k, "firmware-pin") == 0)
		return text(y, v, k, c->firmware_pin, sizeof(c->firmware_pin), true);
	if (strcmp(k, "group-member") == 0) {
		const char *s = edp_yaml_scalar(v);
		if (!s || (strcmp(s, "true") && strcmp(s, "false")))
			return edp_yaml_fail(y, v, "group-member must be true or false");
		c->group_member = s[0] == 't';
		return 0;
	}
	if (strcmp(k, "claimed-at") == 0) {
		if (edp_yaml_int(y, v, k, 0, 1ll << 62, &x))
			return EDP_ERR_USAGE;
		c->claimed_at = (uint64_t)x;
		return 0;
	}
	return edp_yaml_unknown(y, "claim", k, "workload, host, device, kind, numa-node, iommu-group, driver, driver-version, "
					       "firmware, driver-pin, firmware-pin, group-member, claimed-at");
}

static int top_key(struct edp_yaml *y, const char *k, yaml_node_t *v, void *arg)
{
	struct reading *r = arg;
	long long x;
	if (strcmp(k, "version") == 0) {
		if (edp_yaml_int(y, v, k, 1, 1000000, &x))
			return EDP_ERR_USAGE;
		r->has_version = true;
		return 0;
	}
	if (strcmp(k, "checksum") == 0)
		return 0; /* verified on the bytes */
	if (strcmp(k, "generation") == 0) {
		if (edp_yaml_int(y, v, k, 0, 1ll << 62, &x))
			return EDP_ERR_USAGE;
		r->l->generation = (uint64_t)x;
		r->has_generation = true;
		return 0;
	}
	if (strcmp(k, "claims") == 0) {
		if (edp_yaml_scalar(v) && !*edp_yaml_scalar(v))
			return 0;
		if (v->type != YAML_SEQUENCE_NODE)
			return edp_yaml_fail(y, v, "claims must be a list");
		for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
			memset(&r->c, 0, sizeof(r->c));
			r->c.numa_node = r->c.iommu_group = -1;
			yaml_node_t *n = edp_yaml_node(y, *it);
			int rc = edp_yaml_each_key(y, n, "claim", claim_key, r);
			if (rc)
				return rc;
			if (!r->c.workload[0] || !r->c.device[0])
				return edp_yaml_fail(y, n, "a claim needs a workload and a device");
			if (edp_ledger_owner(r->l, r->c.host, r->c.device))
				return edp_yaml_fail(y, n, "device %s%s%s is claimed twice", r->c.device, r->c.host[0] ? " of host " : "",
						     r->c.host);
			if ((rc = edp_ledger_add(r->l, &r->c, y->err)))
				return rc;
		}
		return 0;
	}
	return edp_yaml_unknown(y, "ledger", k, "version, checksum, generation, claims");
}

/* The whole file at path, NUL-terminated (*len its bytes), or NULL with
 * errno set. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = NULL;
	size_t cap = 0;
	*len = 0;
	for (;;) {
		if (*len + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 65536;
			char *p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return NULL;
			}
			buf = p;
		}
		size_t k = fread(buf + *len, 1, 4096, f);
		*len += k;
		if (k < 4096)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	buf[*len] = 0;
	return buf;
}

/* What is wrong with a ledger's bytes before they are parsed (header,
 * version, checksum), or NULL. */
static const char *damaged(const char *buf, size_t len, char *detail, size_t size)
{
	unsigned long version = 0;
	const char *v = strstr(buf, "\nversion: ");
	const char *ck = strstr(buf, "\n" CHECKSUM_KEY);
	if (strncmp(buf, HEADER, strlen(HEADER)) != 0 || !v)
		return "is not an edp-assign ledger";
	if ((version = strtoul(v + 10, NULL, 10)) != EDP_LEDGER_VERSION) {
		snprintf(detail, size, "is version %lu; this edp-assign reads version %d", version, EDP_LEDGER_VERSION);
		return detail;
	}
	if (!ck || !strchr(ck + 1, '\n'))
		return "has no checksum";
	const char *body = strchr(ck + 1, '\n') + 1;
	char want[32];
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)fnv1a64(body, len - (size_t)(body - buf)));
	if (strncmp(ck + 1 + strlen(CHECKSUM_KEY), want, 16) != 0)
		return "fails its checksum (truncated, damaged or edited)";
	return NULL;
}

/* The generation a ledger's bytes say, or -1. */
static long long generation_of(const char *buf)
{
	const char *g = strstr(buf, "\ngeneration: ");
	char *end;
	long long n = g ? strtoll(g + 13, &end, 10) : -1;
	return g && end > g + 13 && n >= 0 ? n : -1;
}

/* Where a refused ledger (its bytes buf, NULL when unreadable) leaves the
 * operator: the backup beside it that is good and how far behind, or that
 * there is none. */
static void backup_note(const char *path, const char *buf, char *out, size_t size)
{
	char bak[PATH_MAX + 8], detail[128];
	snprintf(bak, sizeof(bak), "%s.bak", path);
	size_t len;
	char *b = slurp(bak, &len);
	if (!b) {
		snprintf(out, size, "; there is no good copy (%s: %s)", bak, strerror(errno));
		return;
	}
	long long mine = buf ? generation_of(buf) : -1, theirs = generation_of(b);
	if (damaged(b, len, detail, sizeof(detail)) || theirs < 0)
		snprintf(out, size, "; there is no good copy (%s is damaged too)", bak);
	else if (mine > theirs)
		snprintf(out, size, "; the newest good copy is %s, generation %lld: %lld generation%s older than this one's %lld",
			 bak, theirs, mine - theirs, mine - theirs == 1 ? "" : "s", mine);
	else
		snprintf(out, size, "; the newest good copy is %s, generation %lld (this one's cannot be read)", bak, theirs);
	free(b);
}

int edp_ledger_read(struct edp_ledger *l, const char *path, struct edp_error *err)
{
	memset(l, 0, sizeof(*l));
	size_t len;
	char *buf = slurp(path, &len);
	if (!buf && errno == ENOENT)
		return 0;
	if (!buf && errno != EIO)
		return edp_error_set(err, EDP_ERR_RUNTIME, "ledger %s: cannot open: %s", path, strerror(errno));
	int rc = 0;
	char detail[128];
	const char *why = !buf ? "cannot be read" : damaged(buf, len, detail, sizeof(detail));
	if (why) {
		char note[PATH_MAX + 160];
		backup_note(path, buf, note, sizeof(note));
		free(buf);
		return edp_error_set(err, EDP_ERR_RUNTIME, "ledger %s %s: refused%s", path, why, note);
	}
	free(buf);
	struct edp_yaml y;
	if ((rc = edp_yaml_load(&y, path, "ledger", err)))
		return EDP_ERR_RUNTIME;
	struct reading r = { .l = l };
	rc = edp_yaml_each_key(&y, edp_yaml_root(&y), "ledger", top_key, &r);
	if (!rc && (!r.has_version || !r.has_generation))
		rc = edp_yaml_fail(&y, edp_yaml_root(&y), "a ledger needs a version and a generation");
	edp_yaml_free(&y);
	if (rc) {
		edp_ledger_free(l);
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err ? err->msg : "");
		return edp_error_set(err, EDP_ERR_RUNTIME, "ledger %s refused: %s", path, msg);
	}
	return 0;
}

int edp_ledger_load(struct edp_ledger *l, char *path, size_t size, const char *given, struct edp_error *err)
{
	memset(l, 0, sizeof(*l));
	if (edp_ledger_path(path, size, given, err))
		return EDP_ERR_RUNTIME;
	int fd = edp_ledger_lock(path, false, err);
	if (fd < 0)
		return EDP_ERR_RUNTIME;
	int rc = edp_ledger_read(l, path, err);
	edp_ledger_unlock(fd);
	return rc;
}

/* ---- writing ---- */

static void put_text(FILE *f, const char *key, const char *s)
{
	fprintf(f, "    %s: \"", key);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if ((unsigned char)*s >= 0x20)
			fputc(*s, f);
	}
	fprintf(f, "\"\n");
}

static int sync_file(const char *path, struct edp_error *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot sync: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

/* Copy src to dst atomically (dst.tmp, fsync, rename). */
static int backup(const char *src, const char *dst, struct edp_error *err)
{
	char tmp[PATH_MAX + 16];
	snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	FILE *in = fopen(src, "rb");
	if (!in)
		return errno == ENOENT ? 0 : edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot open: %s", src, strerror(errno));
	FILE *out = fopen(tmp, "wb");
	if (!out) {
		fclose(in);
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot create: %s", tmp, strerror(errno));
	}
	char buf[65536];
	size_t k;
	while ((k = fread(buf, 1, sizeof(buf), in)) > 0)
		fwrite(buf, 1, k, out);
	fclose(in);
	if (fclose(out) != 0 || sync_file(tmp, err) || rename(tmp, dst) < 0)
		return edp_error_set(err, EDP_ERR_RUNTIME, "%s: cannot write: %s", dst, strerror(errno));
	return 0;
}

int edp_ledger_write(struct edp_ledger *l, const char *path, struct edp_error *err)
{
	char tmp[PATH_MAX + 32], bak[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path); /* one writer at a time (the lock): a killed one's is overwritten */
	snprintf(bak, sizeof(bak), "%s.bak", path);
	/* the body, then the file: header, version, checksum of the body */
	char *body = NULL;
	size_t body_len = 0;
	FILE *m = open_memstream(&body, &body_len);
	if (!m)
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	fprintf(m, "generation: %llu\nclaims:\n", (unsigned long long)l->generation + 1);
	for (uint32_t i = 0; i < l->n; i++) {
		const struct edp_claim *c = &l->claims[i];
		fprintf(m, "  - workload: \"%s\"\n", c->workload);
		if (c->host[0])
			put_text(m, "host", c->host);
		put_text(m, "device", c->device);
		fprintf(m, "    kind: %s\n    numa-node: %d\n    iommu-group: %d\n", edp_dev_kind_name(c->kind), c->numa_node,
			c->iommu_group);
		put_text(m, "driver", c->driver);
		put_text(m, "driver-version", c->driver_version);
		put_text(m, "firmware", c->firmware);
		put_text(m, "driver-pin", c->driver_pin);
		put_text(m, "firmware-pin", c->firmware_pin);
		fprintf(m, "    group-member: %s\n    claimed-at: %llu\n", c->group_member ? "true" : "false",
			(unsigned long long)c->claimed_at);
	}
	if (fclose(m) != 0) {
		free(body);
		return edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	}
	FILE *f = fopen(tmp, "wb");
	if (!f) {
		free(body);
		return edp_error_set(err, EDP_ERR_RUNTIME, "ledger %s: cannot create: %s", tmp, strerror(errno));
	}
	fprintf(f, HEADER "version: %d\n" CHECKSUM_KEY "%016llx\n", EDP_LEDGER_VERSION,
		(unsigned long long)fnv1a64(body, body_len));
	fwrite(body, 1, body_len, f);
	free(body);
	int rc = 0;
	if (fflush(f) != 0 || fsync(fileno(f)) < 0)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "ledger %s: cannot write: %s", tmp, strerror(errno));
	if (fclose(f) != 0 && !rc)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "ledger %s: cannot write: %s", tmp, strerror(errno));
	if (!rc) { /* never a ledger that the next command would refuse */
		struct edp_ledger back;
		struct edp_error why;
		if (edp_ledger_read(&back, tmp, &why))
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "ledger %s: not replaced: what would be written does not "
				"read back: %s", path, why.msg);
		edp_ledger_free(&back);
	}
	bool first = access(path, F_OK) != 0;
	if (!rc)
		rc = backup(path, bak, err);
	if (!rc && rename(tmp, path) < 0)
		rc = edp_error_set(err, EDP_ERR_RUNTIME, "ledger %s: cannot replace: %s", path, strerror(errno));
	if (rc) {
		unlink(tmp);
		return rc;
	}
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	if (first) /* the last good ledger from the start: this one */
		rc = backup(path, bak, err);
	if (!rc)
		rc = sync_file(dirname(dir), err);
	if (!rc)
		l->generation++;
	return rc;
}

int edp_ledger_check_ports(const struct edp_config *cfg, struct edp_error *err)
{
	const char *me = cfg->instance ? cfg->instance : "default";
	bool any = false;
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		any |= cfg->ports[i].device[0] != 0;
	if (!any)
		return 0;
	char path[4096];
	struct edp_ledger l;
	if (edp_ledger_load(&l, path, sizeof(path), NULL, err))
		return EDP_ERR_RUNTIME;
	int rc = 0;
	for (uint32_t i = 0; i < cfg->n_ports && !rc; i++) {
		const struct edp_port_config *pc = &cfg->ports[i];
		const struct edp_claim *c = pc->device[0] ? edp_ledger_owner(&l, "", pc->device) : NULL;
		if (pc->device[0] && !c)
			rc = edp_error_set(err, EDP_ERR_RUNTIME,
					   "port %s: device %s is not assigned to %s (edp-assign claim %s ...; ledger %s)", pc->name,
					   pc->device, me, me, path);
		else if (c && strcmp(c->workload, me) != 0)
			rc = edp_error_set(err, EDP_ERR_RUNTIME, "port %s: device %s is assigned to %s, not to %s (ledger %s)",
					   pc->name, pc->device, c->workload, me, path);
	}
	edp_ledger_free(&l);
	return rc;
}
