#include "edp_synth.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Zipf sampling by rejection-inversion (Hoermann and Derflinger, 1996): O(1)
 * per draw, no table, for any number of flows. */
struct zipf {
	double s, h_x1, h_n, s_val;
};

struct edp_synth {
	struct edp_synth_spec spec;
	uint64_t produced;
	uint64_t rng, zipf_rng;
	struct zipf z;
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double expm1_over_x(double x) { return fabs(x) > 1e-8 ? expm1(x) / x : 1.0 + x / 2.0; }
static double log1p_over_x(double x) { return fabs(x) > 1e-8 ? log1p(x) / x : 1.0 - x / 2.0; }

static double zipf_h(const struct zipf *z, double x) { return exp(-z->s * log(x)); }

static double zipf_hint(const struct zipf *z, double x) /* integral of h */
{
	double lx = log(x);
	return expm1_over_x((1.0 - z->s) * lx) * lx;
}

static double zipf_hint_inv(const struct zipf *z, double x)
{
	double t = x * (1.0 - z->s);
	if (t < -1.0)
		t = -1.0;
	return exp(log1p_over_x(t) * x);
}

static void zipf_init(struct zipf *z, double s, uint32_t n)
{
	z->s = s;
	z->h_x1 = zipf_hint(z, 1.5) - 1.0;
	z->h_n = zipf_hint(z, n + 0.5);
	z->s_val = 2.0 - zipf_hint_inv(z, zipf_hint(z, 2.5) - zipf_h(z, 2.0));
}

static uint64_t splitmix(uint64_t *x);

/* A rank from 1 to n. */
static uint32_t zipf_draw(const struct zipf *z, uint32_t n, uint64_t *rng)
{
	for (;;) {
		double u01 = (double)(splitmix(rng) >> 11) * 0x1p-53;
		double u = z->h_n + u01 * (z->h_x1 - z->h_n);
		double x = zipf_hint_inv(z, u);
		double kx = floor(x + 0.5);
		uint32_t k = kx < 1 ? 1 : kx > n ? n : (uint32_t)kx;
		if ((double)k - x <= z->s_val || u >= zipf_hint(z, k + 0.5) - zipf_h(z, k))
			return k;
	}
}

static int bad(struct edp_error *err, const char *key, const char *val, const char *want)
{
	return edp_error_set(err, EDP_ERR_USAGE, "synthetic spec: %s=%s: %s", key, val, want);
}

static bool to_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-')
		return false;
	*out = v;
	return true;
}

int edp_synth_parse(const char *text, struct edp_synth_spec *sp, struct edp_error *err)
{
	*sp = (struct edp_synth_spec){ .packets = 1000, .flows = 100, .size_min = 64, .size_max = 64,
				       .proto = 17, .vlan = -1, .seed = 1,
				       .start_ns = 1700000000ull * 1000000000ull, .gap_ns = 1000, .ttl = 64 };
	char *copy = strdup(text), *save = NULL;
	int rc = copy ? 0 : edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
	for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && !rc; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		if (!eq) {
			rc = edp_error_set(err, EDP_ERR_USAGE, "synthetic spec: '%s' is not KEY=VALUE", tok);
			break;
		}
		*eq = 0;
		const char *k = tok, *v = eq + 1;
		uint64_t x;
		if (strcmp(k, "packets") == 0) {
			if (!to_u64(v, &sp->packets))
				rc = bad(err, k, v, "expected a count");
		} else if (strcmp(k, "flows") == 0) {
			if (!to_u64(v, &x) || x == 0 || x > 16777216)
				rc = bad(err, k, v, "expected 1 to 16777216");
			sp->flows = (uint32_t)x;
		} else if (strcmp(k, "size") == 0) {
			unsigned a, b;
			char tail;
			sp->imix = strcmp(v, "imix") == 0;
			if (sp->imix)
				continue;
			if (sscanf(v, "%u-%u%c", &a, &b, &tail) == 2 && a <= b && b <= EDP_SYNTH_MAX_FRAME) {
				sp->size_min = a;
				sp->size_max = b;
			} else if (to_u64(v, &x) && x <= EDP_SYNTH_MAX_FRAME) {
				sp->size_min = sp->size_max = (uint32_t)x;
			} else {
				rc = bad(err, k, v, "expected BYTES, MIN-MAX (up to 9000) or imix");
			}
		} else if (strcmp(k, "proto") == 0) {
			if (strcmp(v, "udp") == 0)
				sp->proto = 17;
			else if (strcmp(v, "tcp") == 0)
				sp->proto = 6;
			else if (strcmp(v, "mix") == 0)
				sp->proto = 0;
			else
				rc = bad(err, k, v, "expected udp, tcp or mix");
		} else if (strcmp(k, "v6") == 0) {
			char *end;
			sp->v6_ratio = strtod(v, &end);
			if (!*v || *end || !(sp->v6_ratio >= 0 && sp->v6_ratio <= 1))
				rc = bad(err, k, v, "expected a share from 0 to 1");
		} else if (strcmp(k, "vlan") == 0) {
			if (!to_u64(v, &x) || x > 4095)
				rc = bad(err, k, v, "expected 0 to 4095");
			sp->vlan = (int32_t)x;
		} else if (strcmp(k, "seed") == 0) {
			if (!to_u64(v, &sp->seed))
				rc = bad(err, k, v, "expected a number");
		} else if (strcmp(k, "gap-ns") == 0) {
			if (!to_u64(v, &sp->gap_ns))
				rc = bad(err, k, v, "expected nanoseconds");
		} else if (strcmp(k, "zipf") == 0) {
			char *end;
			sp->zipf = strtod(v, &end);
			if (!*v || *end || !(sp->zipf >= 0 && sp->zipf <= 10))
				rc = bad(err, k, v, "expected an exponent from 0 (uniform) to 10");
		} else if (strcmp(k, "ttl") == 0) {
			if (!to_u64(v, &x) || x > 255)
				rc = bad(err, k, v, "expected 0 to 255");
			sp->ttl = (uint8_t)x;
		} else {
			rc = edp_error_set(err, EDP_ERR_USAGE,
					   "synthetic spec: unknown key '%s' (known: packets, flows, size, proto, v6, vlan, zipf, seed, gap-ns, ttl)", k);
		}
	}
	free(copy);
	return rc;
}

struct edp_synth *edp_synth_create(const struct edp_synth_spec *spec, struct edp_error *err)
{
	struct edp_synth *s = calloc(1, sizeof(*s));
	if (!s) {
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory");
		return NULL;
	}
	s->spec = *spec;
	s->rng = spec->seed;
	s->zipf_rng = spec->seed ^ 0x5a17f5a17f5a17f5ull;
	if (spec->zipf > 0)
		zipf_init(&s->z, spec->zipf, spec->flows);
	return s;
}

void edp_synth_destroy(struct edp_synth *s) { free(s); }

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

int edp_synth_next(struct edp_synth *s, struct edp_mbuf *m)
{
	const struct edp_synth_spec *sp = &s->spec;
	if (s->produced >= sp->packets)
		return 0;
	uint64_t r = splitmix(&s->rng);
	uint32_t flow = sp->zipf > 0 ? zipf_draw(&s->z, sp->flows, &s->zipf_rng) - 1 : (uint32_t)(r % sp->flows);
	uint64_t fseed = sp->seed ^ ((uint64_t)flow * 0x9e3779b97f4a7c15ull);
	uint64_t fr = splitmix(&fseed);
	bool v6 = (double)(fr & 0xffffff) / 16777216.0 < sp->v6_ratio;
	uint8_t proto = sp->proto ? sp->proto : ((fr >> 24) & 1 ? 6 : 17);
	static const uint16_t services[] = { 53, 80, 443, 8080, 123, 22, 5060, 3306 };
	uint16_t sport = (uint16_t)(1024 + (flow % 60000)), dport = services[(fr >> 32) % 8];

	uint32_t size;
	if (sp->imix) {
		uint32_t k = (uint32_t)((r >> 40) % 12);
		size = k < 7 ? 64 : k < 11 ? 594 : 1518;
	} else {
		size = sp->size_min + (uint32_t)((r >> 32) % (sp->size_max - sp->size_min + 1));
	}
	uint32_t l2 = sp->vlan >= 0 ? 18 : 14, l3 = v6 ? 40 : 20, l4 = proto == 6 ? 20 : 8;
	if (size < l2 + l3 + l4)
		size = l2 + l3 + l4;
	uint8_t *p = m->data;
	memset(p, 0, size);
	const uint8_t dst_mac[6] = { 0x02, 0, 0, 0, 0, 0xfe };
	uint8_t src_mac[6] = { 0x02, 0x01, (uint8_t)(flow >> 24), (uint8_t)(flow >> 16), (uint8_t)(flow >> 8), (uint8_t)flow };
	memcpy(p, dst_mac, 6);
	memcpy(p + 6, src_mac, 6);
	if (sp->vlan >= 0) {
		put16(p + 12, 0x8100);
		put16(p + 14, (uint32_t)sp->vlan);
	}
	put16(p + l2 - 2, v6 ? 0x86dd : 0x0800);
	uint8_t *ip = p + l2, *tp = ip + l3;
	uint32_t l4len = size - l2 - l3;
	uint32_t sum;
	if (v6) {
		ip[0] = 0x60;
		put16(ip + 4, l4len);
		ip[6] = proto;
		ip[7] = sp->ttl;
		const uint8_t pre_s[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0 }, pre_d[8] = { 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0 };
		memcpy(ip + 8, pre_s, 8);
		memcpy(ip + 24, pre_d, 8);
		ip[20] = (uint8_t)(flow >> 24); ip[21] = (uint8_t)(flow >> 16); ip[22] = (uint8_t)(flow >> 8); ip[23] = (uint8_t)flow;
		ip[39] = (uint8_t)(1 + (fr >> 40) % 200);
		sum = sum16(ip + 8, 32, 0);
	} else {
		ip[0] = 0x45;
		put16(ip + 2, l3 + l4len);
		put16(ip + 4, (uint32_t)(s->produced & 0xffff));
		ip[6] = 0x40; /* DF */
		ip[8] = sp->ttl;
		ip[9] = proto;
		ip[12] = 10; ip[13] = (uint8_t)(flow >> 16); ip[14] = (uint8_t)(flow >> 8); ip[15] = (uint8_t)flow;
		ip[16] = 192; ip[17] = 168; ip[18] = (uint8_t)((fr >> 48) % 256); ip[19] = (uint8_t)(1 + (fr >> 56) % 254);
		put16(ip + 10, fold(sum16(ip, 20, 0)));
		sum = sum16(ip + 12, 8, 0);
	}
	put16(tp, sport);
	put16(tp + 2, dport);
	if (proto == 6) {
		put16(tp + 4, (uint32_t)(s->produced >> 16));
		put16(tp + 6, (uint32_t)s->produced);
		tp[12] = 0x50;
		tp[13] = 0x18; /* PSH ACK */
		put16(tp + 14, 65535);
	} else {
		put16(tp + 4, l4len);
	}
	for (uint32_t i = l4; i < l4len; i++)
		tp[i] = (uint8_t)(i + flow);
	sum += proto + l4len;
	uint16_t csum = fold(sum16(tp, l4len, sum));
	if (proto == 17 && csum == 0)
		csum = 0xffff;
	put16(tp + (proto == 6 ? 16 : 6), csum);
	m->data_len = m->wire_len = size;
	m->ts_ns = sp->start_ns + s->produced * sp->gap_ns;
	s->produced++;
	return 1;
}
