// SPDX-License-Identifier: MIT
#include "counter_sink.h"

#include <inttypes.h>
#include <string.h>

static void say_family(struct cw_counter_sink *s, const char *family, const char *help,
		       const char *type, const char *suffix)
{
	if (s->family_said && !strcmp(s->family_said, family))
		return;
	fprintf(s->out, "# HELP crashwatch_%s%s %s\n# TYPE crashwatch_%s%s %s\n", family, suffix,
		help, family, suffix, type);
	s->family_said = family;
}

void cw_sink_emit(struct cw_counter_sink *s, const struct cw_metric *m, uint64_t value)
{
	const char *suffix = m->type == CW_METRIC_COUNTER ? "_total" : "";

	if (s->format == CW_SINK_LINE) {
		if (m->line)
			fprintf(s->out, " %s=%" PRIu64, m->line, value);
		return;
	}
	say_family(s, m->family, m->help, m->type == CW_METRIC_COUNTER ? "counter" : "gauge",
		   suffix);
	fprintf(s->out, "crashwatch_%s%s", m->family, suffix);
	if (m->labels)
		fprintf(s->out, "{%s}", m->labels);
	fprintf(s->out, " %" PRIu64 "\n", value);
}

void cw_sink_histogram(struct cw_counter_sink *s, const char *family, const char *help,
		       const double *le, const uint64_t *counts, size_t n, double sum)
{
	uint64_t below = 0;

	if (s->format == CW_SINK_LINE)
		return;
	say_family(s, family, help, "histogram", "");
	for (size_t i = 0; i < n; i++) {
		below += counts[i];
		fprintf(s->out, "crashwatch_%s_bucket{le=\"%g\"} %" PRIu64 "\n", family, le[i],
			below);
	}
	below += counts[n];
	fprintf(s->out, "crashwatch_%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", family, below);
	fprintf(s->out, "crashwatch_%s_sum %.6f\ncrashwatch_%s_count %" PRIu64 "\n", family, sum,
		family, below);
}
