#include "edp_signals.h"

volatile sig_atomic_t edp_stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	edp_stop_requested = 1;
}

void edp_catch_stop_signals(void)
{
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
}
