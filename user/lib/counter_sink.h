/* SPDX-License-Identifier: MIT */
/*
 * One way out for every counter the watcher keeps: each part emits its
 * counters through a sink, and the sink writes them either as the SIGUSR1
 * line (" name=value") or in the Prometheus text format 0.0.4.  The names
 * are given once, where the counter is emitted, so the line and /metrics
 * can never disagree.
 */
#ifndef CW_COUNTER_SINK_H
#define CW_COUNTER_SINK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cw_metric_type { CW_METRIC_COUNTER, CW_METRIC_GAUGE };

struct cw_metric {
	const char *family; /* Prometheus: crashwatch_<family>, counters end in _total */
	const char *help;
	enum cw_metric_type type;
	const char *labels; /* `name="value",...`, or NULL */
	const char *line;   /* its name on the SIGUSR1 line; NULL: /metrics only */
};

enum cw_sink_format { CW_SINK_LINE, CW_SINK_PROMETHEUS };

struct cw_counter_sink {
	FILE *out;
	enum cw_sink_format format;
	const char *family_said; /* HELP and TYPE are written once per family */
};

void cw_sink_emit(struct cw_counter_sink *s, const struct cw_metric *m, uint64_t value);

/* A counter whose line name is its family. */
#define cw_sink_counter(s, name, help_text, v)                                                     \
	cw_sink_emit((s),                                                                          \
		     &(const struct cw_metric){.family = (name),                                   \
					       .help = (help_text),                                \
					       .type = CW_METRIC_COUNTER,                          \
					       .line = (name)},                                    \
		     (v))
#define cw_sink_gauge(s, name, help_text, v)                                                       \
	cw_sink_emit((s),                                                                          \
		     &(const struct cw_metric){.family = (name),                                   \
					       .help = (help_text),                                \
					       .type = CW_METRIC_GAUGE,                            \
					       .line = (name)},                                    \
		     (v))

/*
 * A histogram (/metrics only): counts[i] observations at most le[i] (not
 * cumulative), counts[n] above the last bound; sum of the observed values.
 */
void cw_sink_histogram(struct cw_counter_sink *s, const char *family, const char *help,
		       const double *le, const uint64_t *counts, size_t n, double sum);

#endif
