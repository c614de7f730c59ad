/* edp-run's config from its command line, and its --restore. */
#include "edp-run/edp_run_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/edp_print.h"
#include "edp_clock.h"
#include "edp_state.h"

#define PROG "edp-run"

/* Resolve "[PORT=]FILE": returns the port index (or -1 for "no PORT=") and
 * sets *file; -2 for a PORT= naming no port. */
static int split_port_arg(const struct edp_config *cfg, const char *arg, const char **file, char *port_name)
{
	const char *eq = strchr(arg, '=');
	*file = arg;
	if (!eq || eq == arg || (size_t)(eq - arg) > EDP_PORT_NAME_MAX)
		return -1;
	memcpy(port_name, arg, (size_t)(eq - arg));
	port_name[eq - arg] = 0;
	if (strspn(port_name, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(port_name))
		return -1;
	int idx = edp_config_port_index(cfg, port_name);
	struct stat st;
	if (idx < 0)
		return stat(arg, &st) == 0 ? -1 : -2;
	*file = eq + 1;
	return idx;
}

static void set_path(char **slot, const char *file)
{
	free(*slot);
	*slot = strdup(file);
}

/* Port p gets `file` from an -r or -w; one given twice on the command line
 * (a port with two inputs, or two outputs) is an error, not the last one
 * silently winning. */
static int set_io(struct edp_config *cfg, uint32_t p, char kind, const char *file, bool *given,
		  struct edp_error *err)
{
	char **slot = kind == 'r' ? &cfg->ports[p].rx : &cfg->ports[p].tx;
	if (given[p])
		return edp_error_set(err, EDP_ERR_USAGE, "-%c: port '%s' already %s '%s'", kind, cfg->ports[p].name,
				     kind == 'r' ? "reads" : "writes", *slot);
	given[p] = true;
	set_path(slot, file);
	return 0;
}

int edp_run_apply_args(const struct run_args *a, struct edp_config *cfg, bool have_config, struct edp_error *err)
{
	bool any_tx = false, rx_given[EDP_MAX_PORTS] = { false }, tx_given[EDP_MAX_PORTS] = { false };
	for (uint32_t i = 0; i < cfg->n_ports; i++)
		any_tx |= cfg->ports[i].tx != NULL;
	for (int i = 0; i < a->n_io; i++) {
		const char *file;
		char name[EDP_PORT_NAME_MAX + 1];
		char kind = a->io[i].kind;
		int port = split_port_arg(cfg, a->io[i].arg, &file, name), rc = 0;
		if (port == -2) {
			char known[EDP_MAX_PORTS * (EDP_PORT_NAME_MAX + 2)] = "";
			for (uint32_t p = 0, n = 0; p < cfg->n_ports; p++)
				n += (uint32_t)snprintf(known + n, sizeof(known) - n, "%s%s", p ? ", " : "", cfg->ports[p].name);
			return edp_error_set(err, EDP_ERR_USAGE, "unknown port '%s' (the ports: %s%s)", name, known,
					     have_config ? "" : ", of the built-in config; -c CONFIG names others");
		}
		if (!*file)
			return edp_error_set(err, EDP_ERR_USAGE, "-%c needs a file name", kind);
		if (kind == 'r')
			rc = set_io(cfg, port < 0 ? 0 : (uint32_t)port, 'r', file, rx_given, err);
		else if (port >= 0)
			rc = set_io(cfg, (uint32_t)port, 'w', file, tx_given, err);
		else if (!have_config || !any_tx)
			for (uint32_t p = 0; p < cfg->n_ports && !rc; p++)
				rc = set_io(cfg, p, 'w', file, tx_given, err);
		else
			rc = set_io(cfg, 0, 'w', file, tx_given, err);
		if (rc)
			return rc;
	}
	if (a->threads >= 0)
		cfg->threads = (uint32_t)a->threads;
	cfg->ordered |= a->ordered;
	if (a->loop >= 0)
		cfg->loop = (uint32_t)a->loop;
	cfg->instance = a->instance;
	cfg->filter = a->filter;
	cfg->count = a->count;
	return 0;
}

int edp_run_load_config(void *ctx, const char *file, struct edp_config *cfg, struct edp_error *err)
{
	if (!file)
		edp_config_default(cfg);
	else if (edp_config_load(cfg, file, err))
		return err->status;
	if (edp_run_apply_args(ctx, cfg, file != NULL, err)) {
		edp_config_free(cfg);
		return err->status;
	}
	return 0;
}

int edp_run_read_checkpoint(const char *path, const struct edp_config *cfg, struct edp_checkpoint *ck)
{
	for (uint32_t i = 0; !strcmp(path, "-") && i < cfg->n_ports; i++)
		if (cfg->ports[i].rx && !strcmp(cfg->ports[i].rx, "-"))
			return edp_usage_error(PROG, "--restore -: stdin is port %s's input", cfg->ports[i].name);
	struct edp_error err = { 0 };
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	int rc = f ? edp_checkpoint_read(f, path, ck, &err)
		   : edp_error_set(&err, EDP_ERR_RUNTIME, "%s: %s", path, strerror(errno));
	if (f && f != stdin)
		fclose(f);
	if (rc)
		fprintf(stderr, PROG ": %s\n", err.msg);
	return rc;
}

int edp_run_restore(struct edp_datapath *dp, const struct edp_checkpoint *ck, const char *path, bool allow_change,
		    bool quiet)
{
	struct edp_restore_report rr;
	struct edp_error err = { 0 };
	uint64_t t0 = edp_clock_ns(CLOCK_MONOTONIC);
	if (edp_datapath_restore(dp, ck, path, allow_change ? EDP_RESTORE_ALLOW_CONFIG_CHANGE : 0, &rr, &err)) {
		fprintf(stderr, PROG ": %s\n", err.msg);
		return err.status;
	}
	double ms = (double)(edp_clock_ns(CLOCK_MONOTONIC) - t0) / 1e6;
	if (!quiet)
		fprintf(stderr, PROG ": restored %u MAC%s and %u flow%s from %s in %.1f ms%s%s\n", rr.macs,
			rr.macs == 1 ? "" : "s", rr.flows, rr.flows == 1 ? "" : "s", path,
			ms,
			rr.macs_left ? " (its MACs not: the config has no switch)" : "",
			rr.flows_left ? " (its flows not: another config)" : "");
	return 0;
}
