/* A --synth spec and the rewrites of edp-replay: parsed or refused; what
 * parses makes frames within the buffer, and each rewrite keeps them there. */
#include "fuzz.h"

#include "edp_mbuf.h"
#include "edp_rewrite.h"
#include "edp_synth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8 || size > 512)
		return 0;
	static struct edp_mbuf_pool *pool;
	struct edp_error err;
	if (!pool)
		FUZZ_CHECK((pool = edp_mbuf_pool_create(1, EDP_SYNTH_MAX_FRAME + 4, &err)) != NULL);
	/* the first 8 bytes choose the rewrites, the rest is the spec */
	struct edp_rewrite rw = EDP_REWRITE_NONE;
	rw.set_src_mac = data[0] & 1;
	rw.set_dst_mac = data[0] & 2;
	rw.vlan_strip = data[0] & 4;
	rw.vlan_add = data[0] & 8 ? (int32_t)((data[1] | data[2] << 8) & 4095) : -1;
	rw.ip_offset = data[0] & 16 ? (uint32_t)(data[3] | data[4] << 8 | data[5] << 16) : 0;
	memcpy(rw.src_mac, data + 1, 6);
	memcpy(rw.dst_mac, data + 2, 6);
	char *spec_text = strndup((const char *)data + 8, size - 8);
	struct edp_synth_spec spec;
	if (edp_synth_parse(spec_text, &spec, &err) == 0 && spec.flows <= 100000) {
		spec.packets = spec.packets < 64 ? spec.packets : 64;
		struct edp_synth *s = edp_synth_create(&spec, &err);
		struct edp_mbuf *m;
		FUZZ_CHECK(edp_mbuf_alloc_bulk(pool, &m, 1) == 1);
		for (uint64_t loop = 0; s && edp_synth_next(s, m) == 1; loop++) {
			FUZZ_CHECK(m->data_len <= EDP_SYNTH_MAX_FRAME && m->data_len <= m->wire_len);
			edp_rewrite_apply(&rw, m, loop);
			FUZZ_CHECK(m->data_len <= m->buf_len);
		}
		edp_mbuf_free_bulk(&m, 1);
		edp_synth_destroy(s);
	}
	free(spec_text);
	return 0;
}
