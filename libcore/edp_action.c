#include "edp_action.h"

static const char *const drop_names[EDP_DROP_REASONS] = {
	[EDP_DROP_NONE] = "none",
	[EDP_DROP_FIREWALL] = "firewall",
	[EDP_DROP_TTL] = "ttl",
	[EDP_DROP_MALFORMED] = "malformed",
	[EDP_DROP_TRUNCATED] = "truncated",
	[EDP_DROP_SAME_PORT] = "same-port",
	[EDP_DROP_NO_OUTPUT] = "no-output",
	[EDP_DROP_OUTPUT_ERROR] = "output-error",
};

const char *edp_drop_reason_name(int reason)
{
	return reason > 0 && reason < EDP_DROP_REASONS ? drop_names[reason] : "unknown";
}
