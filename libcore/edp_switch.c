#include "edp_switch.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* stamps and epochs are read by fast-path threads while the slow path
 * writes them (under the switch's lock): relaxed atomics, no tearing. */
#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

struct mac_entry {
	uint8_t mac[6];
	uint16_t vlan;
	uint16_t port;
	uint8_t used;
	uint8_t marked; /* edp_switch_mark */
};

struct edp_switch {
	struct mac_entry *entries;
	uint64_t *stamps;
	uint32_t *epochs;
	uint32_t bucket_mask;
	uint32_t count;
	uint64_t ageing_ns;
	struct edp_switch_stats stats;
	pthread_mutex_t lock;
};

static uint32_t mac_hash(uint16_t vlan, const uint8_t mac[6])
{
	uint64_t v = (uint64_t)vlan << 48;
	for (int i = 0; i < 6; i++)
		v |= (uint64_t)mac[i] << (8 * i);
	v *= 0x9e3779b97f4a7c15ull;
	v ^= v >> 29;
	v *= 0xbf58476d1ce4e5b9ull;
	return (uint32_t)(v >> 32);
}

struct edp_switch *edp_switch_create(uint32_t table_size, uint64_t ageing_ns, struct edp_error *err)
{
	uint32_t n = EDP_SWITCH_WAYS;
	while (n < table_size && n < (1u << 26))
		n <<= 1;
	struct edp_switch *sw = calloc(1, sizeof(*sw));
	if (sw) {
		pthread_mutex_init(&sw->lock, NULL);
		sw->entries = calloc(n, sizeof(*sw->entries));
		sw->stamps = calloc(n, sizeof(*sw->stamps));
		sw->epochs = calloc(n / EDP_SWITCH_WAYS, sizeof(*sw->epochs));
	}
	if (!sw || !sw->entries || !sw->stamps || !sw->epochs) {
		edp_switch_destroy(sw);
		edp_error_set(err, EDP_ERR_RUNTIME, "out of memory for a MAC table of %u entries", n);
		return NULL;
	}
	sw->bucket_mask = n / EDP_SWITCH_WAYS - 1;
	sw->ageing_ns = ageing_ns;
	return sw;
}

void edp_switch_destroy(struct edp_switch *sw)
{
	if (!sw)
		return;
	free(sw->entries);
	free(sw->stamps);
	free(sw->epochs);
	pthread_mutex_destroy(&sw->lock);
	free(sw);
}

static inline bool expired(const struct edp_switch *sw, uint32_t i, uint64_t now)
{
	uint64_t seen = LOAD(sw->stamps[i]);
	return now > seen && now - seen > sw->ageing_ns;
}

static void remove_entry(struct edp_switch *sw, uint32_t i)
{
	sw->entries[i].used = 0;
	sw->count--;
	STORE(sw->epochs[i / EDP_SWITCH_WAYS], sw->epochs[i / EDP_SWITCH_WAYS] + 1);
}

/* Index of (vlan, mac) in its bucket, or -1; removes it if it expired. */
static int64_t find(struct edp_switch *sw, uint32_t b, uint16_t vlan, const uint8_t mac[6], uint64_t now)
{
	for (uint32_t i = b * EDP_SWITCH_WAYS; i < (b + 1) * EDP_SWITCH_WAYS; i++) {
		const struct mac_entry *e = &sw->entries[i];
		if (!e->used || e->vlan != vlan || memcmp(e->mac, mac, 6) != 0)
			continue;
		if (expired(sw, i, now)) {
			remove_entry(sw, i);
			sw->stats.aged++;
			return -1;
		}
		return i;
	}
	return -1;
}

uint32_t edp_switch_learn(struct edp_switch *sw, uint16_t vlan, const uint8_t mac[6], uint16_t port,
			  uint64_t now, uint32_t *bucket)
{
	uint32_t b = mac_hash(vlan, mac) & sw->bucket_mask;
	*bucket = b;
	int64_t found = find(sw, b, vlan, mac, now);
	if (found >= 0) {
		uint32_t i = (uint32_t)found;
		if (sw->entries[i].port != port) {
			sw->entries[i].port = port;
			STORE(sw->epochs[b], sw->epochs[b] + 1);
			sw->stats.moved++;
		}
		STORE(sw->stamps[i], now);
		return i;
	}
	uint32_t slot = b * EDP_SWITCH_WAYS, first = slot;
	for (uint32_t i = first; i < first + EDP_SWITCH_WAYS; i++) {
		if (!sw->entries[i].used) {
			slot = i;
			goto insert;
		}
		if (LOAD(sw->stamps[i]) < LOAD(sw->stamps[slot]))
			slot = i;
	}
	remove_entry(sw, slot);
	sw->stats.replaced++;
insert:
	memcpy(sw->entries[slot].mac, mac, 6);
	sw->entries[slot].vlan = vlan;
	sw->entries[slot].port = port;
	sw->entries[slot].used = 1;
	STORE(sw->stamps[slot], now);
	sw->count++;
	STORE(sw->epochs[b], sw->epochs[b] + 1);
	sw->stats.learned++;
	return slot;
}

int edp_switch_lookup(struct edp_switch *sw, uint16_t vlan, const uint8_t mac[6], uint64_t now,
		      uint32_t *bucket, uint32_t *entry)
{
	uint32_t b = mac_hash(vlan, mac) & sw->bucket_mask;
	*bucket = b;
	int64_t i = find(sw, b, vlan, mac, now);
	if (i >= 0 && entry)
		*entry = (uint32_t)i;
	return i < 0 ? -1 : sw->entries[i].port;
}

void edp_switch_set_ageing_ns(struct edp_switch *sw, uint64_t ageing_ns) { sw->ageing_ns = ageing_ns; }

void edp_switch_lock(struct edp_switch *sw) { pthread_mutex_lock(&sw->lock); }

void edp_switch_unlock(struct edp_switch *sw) { pthread_mutex_unlock(&sw->lock); }

void edp_switch_age(struct edp_switch *sw, uint64_t now)
{
	uint32_t n = (sw->bucket_mask + 1) * EDP_SWITCH_WAYS;
	for (uint32_t i = 0; i < n; i++)
		if (sw->entries[i].used && expired(sw, i, now)) {
			remove_entry(sw, i);
			sw->stats.aged++;
		}
}

uint32_t edp_switch_capacity(const struct edp_switch *sw) { return (sw->bucket_mask + 1) * EDP_SWITCH_WAYS; }

uint32_t edp_switch_dump(const struct edp_switch *sw, struct edp_switch_entry *out, uint32_t max)
{
	uint32_t n = 0, size = (sw->bucket_mask + 1) * EDP_SWITCH_WAYS;
	for (uint32_t i = 0; i < size && n < max; i++) {
		const struct mac_entry *e = &sw->entries[i];
		if (!e->used)
			continue;
		memcpy(out[n].mac, e->mac, 6);
		out[n].vlan = e->vlan;
		out[n].port = e->port;
		out[n].seen_ns = LOAD(sw->stamps[i]);
		n++;
	}
	return n;
}

const uint32_t *edp_switch_epochs(const struct edp_switch *sw) { return sw->epochs; }
uint64_t *edp_switch_stamps(struct edp_switch *sw) { return sw->stamps; }
uint32_t edp_switch_entries(const struct edp_switch *sw) { return sw->count; }
const struct edp_switch_stats *edp_switch_stats(const struct edp_switch *sw) { return &sw->stats; }

void edp_switch_unmark_all(struct edp_switch *sw)
{
	uint32_t n = (sw->bucket_mask + 1) * EDP_SWITCH_WAYS;
	for (uint32_t i = 0; i < n; i++)
		sw->entries[i].marked = 0;
}

bool edp_switch_mark(struct edp_switch *sw, uint16_t vlan, const uint8_t mac[6])
{
	uint32_t b = mac_hash(vlan, mac) & sw->bucket_mask;
	for (uint32_t i = b * EDP_SWITCH_WAYS; i < (b + 1) * EDP_SWITCH_WAYS; i++) {
		struct mac_entry *e = &sw->entries[i];
		if (e->used && e->vlan == vlan && memcmp(e->mac, mac, 6) == 0) {
			e->marked = 1;
			return true;
		}
	}
	return false;
}

uint32_t edp_switch_forget_unmarked(struct edp_switch *sw)
{
	uint32_t n = (sw->bucket_mask + 1) * EDP_SWITCH_WAYS, gone = 0;
	for (uint32_t i = 0; i < n; i++)
		if (sw->entries[i].used && !sw->entries[i].marked) {
			remove_entry(sw, i);
			gone++;
		}
	return gone;
}
