/* edp-top's terminal: the ncurses screen (header, the threads, queues and
 * ports views, colours by load, help), its keys and the instance chooser.
 * Only edp-top links it (and ncurses). */
#include "edp_top_screen.h"

#include <math.h>
#include <ncurses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <term.h>
#include <time.h>
#include <unistd.h>

#include "common/edp_monitor_print.h"
#include "common/edp_signals.h"

enum { C_OK = 1, C_WARN, C_HOT, C_HEAD, C_TITLE };

static const char *const view_names[EDP_VIEWS] = { "threads", "queues", "ports" };

struct ui {
	struct edp_monitor *m;
	bool color, paused, help, have;
	enum edp_monitor_view view;
	uint32_t sort[EDP_VIEWS];
	int scroll;
	double delay;
	struct edp_monitor_sample s;
	char gone[512];
};

static int load_color(double busy)
{
	return busy >= 0.85 ? C_HOT : busy >= 0.5 ? C_WARN : C_OK;
}

static void put_line(int y, const char *text, int attr)
{
	int w = COLS;
	attron(attr);
	mvaddnstr(y, 0, text, w);
	for (int x = (int)strlen(text); x < w; x++)
		addch(' ');
	attroff(attr);
}

static void draw_bar(int y, int x, int width, double ratio, int attr)
{
	if (width <= 2)
		return;
	int fill = (int)lround(ratio * (width - 2));
	mvaddch(y, x, '[');
	attron(attr);
	for (int i = 0; i < width - 2; i++)
		addch(i < fill ? '|' : ' ');
	attroff(attr);
	addch(']');
}

static void draw_help(void)
{
	static const char *const help_text[] = {
		"edp-top keys",
		"",
		"  1 2 3, Tab      threads, queues, ports view",
		"  Up Down         scroll a line",
		"  PgUp PgDn       scroll a page",
		"  s >             sort by the next column",
		"  <               sort by the previous column",
		"  p               pause or resume the refresh",
		"  d               change the delay between refreshes",
		"  r               reset deltas: rates from now on",
		"  h ? F1          this help (any key closes it)",
		"  q F10           quit",
		"",
		"Busy: green below 50%, yellow below 85%, red above.",
		"Rates are computed from the counters between two refreshes.",
	};
	erase();
	for (size_t i = 0; i < sizeof(help_text) / sizeof(help_text[0]) && (int)i < LINES; i++)
		mvaddnstr((int)i, 0, help_text[i], COLS);
	refresh();
}

static void draw(struct ui *u)
{
	if (u->help) {
		draw_help();
		return;
	}
	erase();
	char line[1024];
	const struct edp_monitor_sample *s = &u->s;
	int head = A_BOLD | (u->color ? COLOR_PAIR(C_TITLE) : 0);
	if (u->have) {
		char t[256];
		edp_print_title_text(t, sizeof(t), s);
		snprintf(line, sizeof(line), PROG " - %s", t);
	} else {
		snprintf(line, sizeof(line), PROG " - %s", s->name);
	}
	put_line(0, line, head);
	if (u->gone[0]) {
		snprintf(line, sizeof(line), "%s: gone: %s; retrying every %.1f s", s->name, u->gone, u->delay);
		put_line(1, line, A_BOLD | (u->color ? COLOR_PAIR(C_HOT) : 0));
	} else if (u->have) {
		edp_print_totals_text(line, sizeof(line), s);
		put_line(1, line, 0);
	}
	if (u->have) {
		edp_print_event_text(line, sizeof(line), s);
		put_line(2, line, 0);
	}
	int n = snprintf(line, sizeof(line), " ");
	for (int v = 0; v < EDP_VIEWS; v++)
		n += snprintf(line + n, sizeof(line) - (size_t)n, "%s%d:%s%s ", (int)u->view == v ? "[" : " ", v + 1,
			      view_names[v], (int)u->view == v ? "]" : " ");
	snprintf(line + n, sizeof(line) - (size_t)n, "  sort: %s  delay: %.1f s%s", edp_monitor_sort_name(u->view, u->sort[u->view]),
		 u->delay, u->paused ? "  PAUSED" : "");
	put_line(3, line, 0);
	const char *hdr = edp_print_view_header(u->view);
	int bar = u->view == EDP_VIEW_THREADS ? COLS - (int)strlen(edp_print_view_header(EDP_VIEW_THREADS)) - 1 : 0;
	bar = bar > 22 ? 22 : bar;
	snprintf(line, sizeof(line), "%s%s%s", hdr, bar > 2 ? " " : "", bar > 2 ? "LOAD" : "");
	put_line(4, line, A_REVERSE | (u->color ? COLOR_PAIR(C_HEAD) : 0));
	if (u->have) {
		static uint32_t idx[65536];
		int rows = (int)edp_monitor_order(s, u->view, u->sort[u->view], idx), room = LINES - 6;
		if (u->scroll > rows - room)
			u->scroll = rows - room;
		if (u->scroll < 0)
			u->scroll = 0;
		for (int i = 0; i < room && u->scroll + i < rows; i++) {
			uint32_t k = idx[u->scroll + i];
			edp_print_row_text(line, sizeof(line), s, u->view, k);
			double load = u->view == EDP_VIEW_THREADS ? s->threads[k].busy : u->view == EDP_VIEW_QUEUES ? s->queues[k].share : 0;
			int attr = u->color && u->view != EDP_VIEW_PORTS ? COLOR_PAIR(load_color(load)) : 0;
			attron(attr);
			mvaddnstr(5 + i, 0, line, COLS);
			attroff(attr);
			if (bar > 2)
				draw_bar(5 + i, (int)strlen(edp_print_view_header(EDP_VIEW_THREADS)) + 1, bar, load, attr);
		}
		if (u->view == EDP_VIEW_PORTS && rows - u->scroll + 1 < room) { /* and the drops by reason */
			int y = 5 + rows - u->scroll + 1;
			mvaddstr(y, 0, "drops by reason:");
			for (int r = 1; r < EDP_DROP_REASONS && ++y < LINES - 1; r++) {
				char ps[16];
				snprintf(line, sizeof(line), "  %-10s %12llu  %8s/s", edp_drop_reason_name(r),
					 (unsigned long long)s->drops_by_reason[r], edp_print_si(ps, sizeof(ps), s->drops_by_reason_ps[r]));
				mvaddnstr(y, 0, line, COLS);
			}
		}
	}
	put_line(LINES - 1, " F1 help  F10 quit  1/2/3 view  s sort  p pause  d delay  r reset", A_REVERSE);
	refresh();
}

/* Ask for a number on the last line; returns it, or -1. */
static double prompt_delay(void)
{
	char buf[32] = "";
	put_line(LINES - 1, "delay in seconds: ", A_BOLD);
	move(LINES - 1, 18);
	echo();
	curs_set(1);
	timeout(-1);
	getnstr(buf, sizeof(buf) - 1);
	noecho();
	curs_set(0);
	char *end;
	double d = strtod(buf, &end);
	return *buf && !*end && d >= 0.05 && d <= 3600 ? d : -1;
}

static void take_sample(struct ui *u)
{
	struct edp_monitor_sample s;
	struct edp_error err = { 0 };
	if (edp_monitor_sample(u->m, &s, &err)) {
		snprintf(u->gone, sizeof(u->gone), "%s", err.msg);
		u->s.status = EDP_MONITOR_GONE;
		return;
	}
	u->gone[0] = 0;
	u->s = s;
	u->have = true;
}

static uint64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

const char *edp_top_screen_unusable(void)
{
	static char why[160];
	const char *term = getenv("TERM");
	int e = 0;
	if (!isatty(STDOUT_FILENO))
		return "standard output is not a terminal; use -b";
	if (!isatty(STDIN_FILENO))
		return "standard input is not a terminal (it takes the keys); use -b";
	if (!term || !*term)
		return "TERM is not set: no terminal to draw on; use -b";
	if (setupterm(NULL, STDOUT_FILENO, &e) != OK) {
		snprintf(why, sizeof(why), "terminal type '%.64s' is unknown (TERM); use -b", term);
		return why;
	}
	del_curterm(cur_term); /* only asked: initscr sets the terminal up again */
	cur_term = NULL;
	return NULL;
}

void edp_top_screen_open(bool color)
{
	initscr();
	cbreak();
	noecho();
	keypad(stdscr, TRUE);
	curs_set(0);
	if (color && has_colors()) {
		start_color();
		use_default_colors();
		init_pair(C_OK, COLOR_GREEN, -1);
		init_pair(C_WARN, COLOR_YELLOW, -1);
		init_pair(C_HOT, COLOR_RED, -1);
		init_pair(C_HEAD, COLOR_BLACK, COLOR_CYAN);
		init_pair(C_TITLE, COLOR_CYAN, -1);
	}
}

int edp_top_screen_choose(char (*names)[EDP_NAME_MAX + 1], int n)
{
	int at = 0;
	for (;;) {
		erase();
		put_line(0, PROG " - several edp-run instances are running; choose one (Enter), q quits", A_BOLD);
		for (int i = 0; i < n && i + 2 < LINES; i++) {
			if (i == at)
				attron(A_REVERSE);
			mvprintw(i + 2, 2, "%-32s", names[i]);
			if (i == at)
				attroff(A_REVERSE);
		}
		refresh();
		int c = getch();
		if (c == 'q' || c == 27 || c == KEY_F(10) || edp_stop_requested)
			return -1;
		if (c == KEY_UP && at > 0)
			at--;
		else if (c == KEY_DOWN && at + 1 < n)
			at++;
		else if (c == '\n' || c == KEY_ENTER)
			return at;
	}
}

int edp_top_screen_run(struct edp_monitor *m, double delay, bool color)
{
	struct ui u = { .m = m, .color = color, .delay = delay };
	take_sample(&u);
	uint64_t next = mono_ms() + (uint64_t)(u.delay * 1000);
	draw(&u);
	while (!edp_stop_requested) {
		uint64_t now = mono_ms();
		timeout(now >= next ? 0 : (int)(next - now));
		int c = getch();
		if (c == ERR) { /* the refresh is due */
			if (!u.paused && !u.help)
				take_sample(&u);
			next = mono_ms() + (uint64_t)(u.delay * 1000);
			draw(&u);
			continue;
		}
		if (u.help) { /* any key closes the help */
			u.help = false;
			draw(&u);
			continue;
		}
		int page = LINES - 6 > 1 ? LINES - 6 : 1;
		switch (c) {
		case 'q': case 'Q': case KEY_F(10): return 0;
		case '1': case '2': case '3': u.view = (enum edp_monitor_view)(c - '1'); u.scroll = 0; break;
		case '\t': u.view = (enum edp_monitor_view)((u.view + 1) % EDP_VIEWS); u.scroll = 0; break;
		case KEY_BTAB: u.view = (enum edp_monitor_view)((u.view + EDP_VIEWS - 1) % EDP_VIEWS); u.scroll = 0; break;
		case 's': case '>': u.sort[u.view] = (u.sort[u.view] + 1) % edp_monitor_sort_columns(u.view); break;
		case '<': u.sort[u.view] = (u.sort[u.view] + edp_monitor_sort_columns(u.view) - 1) % edp_monitor_sort_columns(u.view); break;
		case KEY_UP: u.scroll--; break;
		case KEY_DOWN: u.scroll++; break;
		case KEY_PPAGE: u.scroll -= page; break;
		case KEY_NPAGE: u.scroll += page; break;
		case KEY_HOME: u.scroll = 0; break;
		case 'p': case ' ': u.paused = !u.paused; break;
		case 'r': /* the next sample's rates are since now */
			edp_monitor_reset(u.m);
			next = mono_ms() + (uint64_t)(u.delay * 1000);
			break;
		case 'd': {
			double d = prompt_delay();
			if (d > 0)
				u.delay = d;
			next = mono_ms() + (uint64_t)(u.delay * 1000);
			break;
		}
		case 'h': case '?': case KEY_F(1): u.help = true; break;
		default: break; /* KEY_RESIZE and anything else: redraw */
		}
		draw(&u);
	}
	return 0;
}

void edp_top_screen_close(void)
{
	endwin();
}
