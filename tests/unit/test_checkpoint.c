#include "unit.h"
#include "edp_checkpoint.h"

/* A checkpoint with 3 MACs and 5 flows, written to memory. */
static uint8_t *sample(size_t *len, struct edp_checkpoint *ck)
{
	memset(ck, 0, sizeof(*ck));
	ck->config_hash = 0x1122334455667788ull;
	ck->created_ns = 1700000000123456789ull;
	strcpy(ck->name, "lab");
	ck->threads = 2;
	ck->n_ports = 2;
	strcpy(ck->ports[0], "uplink");
	strcpy(ck->ports[1], "vm1");
	static struct edp_checkpoint_mac macs[3];
	static struct edp_checkpoint_flow flows[5];
	for (int i = 0; i < 3; i++)
		macs[i] = (struct edp_checkpoint_mac){ { 2, 0, 0, 0, 0, (uint8_t)i }, (uint16_t)(10 * i), (uint16_t)(i % 2),
						       1000000000ull * (uint64_t)i };
	for (int i = 0; i < 5; i++) {
		memset(&flows[i], 0, sizeof(flows[i]));
		flows[i].thread = (uint16_t)(i % 2);
		flows[i].key.in_port = 1;
		flows[i].key.eth_type = 0x0800;
		flows[i].key.nw_src[3] = (uint8_t)i;
	}
	ck->macs = macs;
	ck->n_macs = 3;
	ck->flows = flows;
	ck->n_flows = 5;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	assert_non_null(f);
	assert_int_equal(edp_checkpoint_write(f, "mem", ck, NULL), 0);
	fclose(f);
	return (uint8_t *)buf;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct edp_checkpoint w, r;
	size_t len;
	uint8_t *buf = sample(&len, &w);
	assert_int_equal(w.bytes, len);
	assert_int_equal(w.n_sections, 4);
	struct edp_error err;
	assert_int_equal(edp_checkpoint_parse(buf, len, "mem", &r, &err), 0);
	assert_int_equal(r.version, 1);
	assert_int_equal(r.config_hash, w.config_hash);
	assert_int_equal(r.created_ns, w.created_ns);
	assert_string_equal(r.name, "lab");
	assert_int_equal(r.threads, 2);
	assert_int_equal(r.n_ports, 2);
	assert_string_equal(r.ports[1], "vm1");
	assert_int_equal(r.n_macs, 3);
	assert_memory_equal(r.macs, w.macs, 3 * sizeof(*r.macs));
	assert_int_equal(r.n_flows, 5);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(r.flows[i].thread, w.flows[i].thread);
		assert_true(edp_flow_equal(&r.flows[i].key, &w.flows[i].key));
	}
	assert_int_equal(r.n_sections, 4);
	assert_int_equal(r.bytes, len);
	assert_memory_equal(r.section_bytes, w.section_bytes, sizeof(r.section_bytes));
	edp_checkpoint_free(&r);
	free(buf);
}

/* The CRC-32C check value (RFC 3720's): "123456789" -> e3069283. */
/* A move's sections: io (names, flags, a handed input's bytes) and
 * counters come back as written; an io section whose port count is not
 * the meta's is refused. */
static void test_move_sections(void **state)
{
	(void)state;
	struct edp_checkpoint w, r;
	size_t len;
	free(sample(&len, &w));
	w.has_io = w.has_counters = true;
	w.io_snaplen = 65535;
	w.io_nanosecond = true;
	uint8_t head[30] = { 0xd4, 0xc3, 0xb2, 0xa1, 9 };
	w.io[0] = (struct edp_checkpoint_io){ EDP_IO_FILE + 1, EDP_CK_IO_HANDED_RX | EDP_CK_IO_HANDED_TX, "-", "out.pcap",
					      head, sizeof(head) };
	w.io[1] = (struct edp_checkpoint_io){ 0, EDP_CK_IO_HANDED_TX | EDP_CK_IO_TX_NANO, NULL, "vm1.pcap", NULL, 0 };
	w.counters = (struct edp_checkpoint_counters){ 10, 640, 7, 3, 123456789 };
	w.has_reading = true;
	w.filter = "udp or vlan 5";
	w.count_left = 4242;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(edp_checkpoint_write(f, "mem", &w, NULL), 0);
	fclose(f);
	assert_int_equal(w.n_sections, 7);
	struct edp_error err = { 0 };
	int rc = edp_checkpoint_parse((uint8_t *)buf, len, "mem", &r, &err);
	assert_string_equal(err.msg, "");
	assert_int_equal(rc, 0);
	assert_true(r.has_io && r.has_counters && r.io_nanosecond);
	assert_int_equal(r.io_snaplen, 65535);
	assert_int_equal(r.io[0].rx_kind, EDP_IO_FILE + 1);
	assert_string_equal(r.io[0].rx, "-");
	assert_string_equal(r.io[0].tx, "out.pcap");
	assert_int_equal(r.io[0].head_len, sizeof(head));
	assert_memory_equal(r.io[0].head, head, sizeof(head));
	assert_null(r.io[1].rx);
	assert_int_equal(r.io[1].flags, EDP_CK_IO_HANDED_TX | EDP_CK_IO_TX_NANO);
	assert_memory_equal(&r.counters, &w.counters, sizeof(w.counters));
	assert_true(r.has_reading);
	assert_string_equal(r.filter, "udp or vlan 5");
	assert_int_equal(r.count_left, 4242);
	edp_checkpoint_free(&r);
	free(buf);
	w.io[1].rx_kind = EDP_IO_FILE + 1; /* a kind with no name: refused, naming the port */
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_int_equal(edp_checkpoint_write(f, "mem", &w, NULL), 0);
	fclose(f);
	assert_int_equal(edp_checkpoint_parse((uint8_t *)buf, len, "mem", &r, &err), EDP_ERR_RUNTIME);
	assert_non_null(strstr(err.msg, "(io) at byte "));
	assert_non_null(strstr(err.msg, ": port 2: a kind, a name or flags that do not fit"));
	free(buf);
}

static void test_crc32c(void **state)
{
	(void)state;
	assert_int_equal(edp_crc32c(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(edp_crc32c(edp_crc32c(0, "1234", 4), "56789", 5), 0xe3069283u);
}

static void expect_refused(const uint8_t *buf, size_t len, const char *msg)
{
	struct edp_checkpoint r;
	struct edp_error err = { 0 };
	assert_int_equal(edp_checkpoint_parse(buf, len, "ck", &r, &err), EDP_ERR_RUNTIME);
	assert_string_equal(err.msg, msg);
	assert_null(r.macs);
	assert_null(r.flows);
}

/* Every prefix refused (none crashes), with the section it stops in named;
 * a flipped byte in any section is a CRC mismatch of that section. */
static void test_hostile(void **state)
{
	(void)state;
	struct edp_checkpoint w;
	size_t len;
	uint8_t *buf = sample(&len, &w);
	struct edp_checkpoint r;
	struct edp_error err;
	for (size_t n = 0; n < len; n++) {
		assert_int_equal(edp_checkpoint_parse(buf, n, "ck", &r, &err), EDP_ERR_RUNTIME);
		assert_null(r.macs);
	}
	size_t meta = 32, macs = meta + w.section_bytes[EDP_CK_META], flows = macs + w.section_bytes[EDP_CK_MACS];
	size_t end = flows + w.section_bytes[EDP_CK_FLOWS];
	expect_refused(buf, 5, "ck: not an edp checkpoint (no EDPCKPT magic)");
	expect_refused(buf, 20, "ck: truncated in its header");
	expect_refused(buf, meta, "ck: truncated at byte 32: no end record");
	char msg[200];
	snprintf(msg, sizeof(msg), "ck: truncated at byte %zu: no end record", end);
	expect_refused(buf, end, msg);
	snprintf(msg, sizeof(msg), "ck: section 3 (flows) at byte %zu: truncated (%zu bytes of payload and a CRC announced, 3 left)",
		 flows, (size_t)(w.section_bytes[EDP_CK_FLOWS] - 20));
	expect_refused(buf, flows + 16 + 3, msg);
	size_t at[] = { meta, macs, flows, end };
	const char *names[] = { "meta", "macs", "flows", "end" };
	for (int s = 0; s < 4; s++) {
		uint8_t *c = malloc(len);
		memcpy(c, buf, len);
		c[at[s] + 16] ^= 0x40; /* the payload's first byte */
		snprintf(msg, sizeof(msg), "ck: section %d (%s) at byte %zu: CRC mismatch", s + 1, names[s], at[s]);
		expect_refused(c, len, msg);
		free(c);
	}
	/* a version this edp does not read */
	uint8_t *c = malloc(len + 8);
	memcpy(c, buf, len);
	c[8] = 2;
	expect_refused(c, len, "ck: checkpoint version 2; this edp reads version 1");
	c[8] = 1;
	/* an unknown section type (its CRC right: the type is what is wrong) */
	c[macs] = 9;
	snprintf(msg, sizeof(msg), "ck: section 2 (unknown) at byte %zu: an unknown section type 9", macs);
	expect_refused(c, len, msg);
	c[macs] = EDP_CK_MACS;
	/* bytes after the end */
	memcpy(c + len, "trailing", 8);
	expect_refused(c, len + 8, "ck: 8 bytes after the end record");
	free(c);
	free(buf);
}

/* A count that does not fit the payload, its CRC made right: refused. */
static void test_counts(void **state)
{
	(void)state;
	struct edp_checkpoint w;
	size_t len;
	uint8_t *buf = sample(&len, &w);
	size_t macs = 32 + w.section_bytes[EDP_CK_META];
	size_t n = w.section_bytes[EDP_CK_MACS] - 20;
	uint32_t counts[] = { 4, 2, 0xffffffffu };
	for (int k = 0; k < 3; k++) {
		memcpy(buf + macs + 16, &counts[k], 4);
		uint32_t crc = edp_crc32c(0, buf + macs, 4);
		crc = edp_crc32c(crc, buf + macs + 8, 8);
		crc = edp_crc32c(crc, buf + macs + 16, n);
		memcpy(buf + macs + 16 + n, &crc, 4);
		char msg[200];
		snprintf(msg, sizeof(msg), "ck: section 2 (macs) at byte %zu: its count does not fit its length", macs);
		expect_refused(buf, len, msg);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_move_sections),
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_counts),
	};
	return cmocka_run_group_tests_name("checkpoint", tests, NULL, NULL);
}
