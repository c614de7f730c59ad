/* An inventory and a request (YAML, split at a line "---8<---"): loaded or
 * refused with file:line:column; what loads is planned against an empty
 * ledger, and a plan names only devices of the inventory, at most once. */
#include "fuzz.h"

#include "edp_assign.h"
#include "edp_device.h"
#include "edp_ledger.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char cut[] = "\n---8<---\n";
	const uint8_t *at = memmem(data, size, cut, sizeof(cut) - 1);
	size_t inv_size = at ? (size_t)(at - data) : size;
	const char *inv_path = fuzz_file("inventory.yaml", data, inv_size);
	const char *req_path = at ? fuzz_file("request.yaml", at + sizeof(cut) - 1, size - inv_size - (sizeof(cut) - 1))
				  : NULL;
	struct edp_inventory inv;
	struct edp_error err = { 0 };
	int rc = edp_inventory_load(&inv, inv_path, NULL, &err);
	FUZZ_CHECK(rc == 0 || strncmp(err.msg, inv_path, strlen(inv_path)) == 0);
	if (rc)
		return 0;
	struct edp_request req = { .numa = -1 };
	if (req_path)
		rc = edp_request_load(&req, req_path, &err);
	else
		rc = edp_need_parse("nic:1", &req.needs[req.n_needs++]) ? 1 : 0;
	if (rc == 0 && !req.workload[0])
		strcpy(req.workload, "w");
	if (rc == 0 && req.n_needs) {
		struct edp_ledger l = { 0 };
		struct edp_plan p;
		if (edp_assign_plan(&inv, &l, &req, &p, &err) == 0)
			for (uint32_t i = 0; i < p.n; i++) {
				FUZZ_CHECK(edp_inventory_find(&inv, p.dev[i].addr));
				for (uint32_t j = 0; j < i; j++)
					FUZZ_CHECK(strcmp(p.dev[i].addr, p.dev[j].addr) != 0);
			}
	}
	edp_inventory_free(&inv);
	return 0;
}
