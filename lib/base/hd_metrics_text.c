/* Rendering of hd_metrics_text.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hd_metrics_text.h"

static const char *const hd_metric_type_names[] = {
	[HD_MT_COUNTER] = "counter", [HD_MT_GAUGE] = "gauge", [HD_MT_HISTOGRAM] = "histogram",
};

enum hd_err
hd_metrics_text_escape(struct hd_buf *b, const char *value)
{
	enum hd_err err = HD_OK;

	for (const char *p = value; *p && err == HD_OK; p++) {
		if (*p == '\\')
			err = hd_buf_puts(b, "\\\\");
		else if (*p == '"')
			err = hd_buf_puts(b, "\\\"");
		else if (*p == '\n')
			err = hd_buf_puts(b, "\\n");
		else
			err = hd_buf_append(b, p, 1);
	}
	return err;
}

enum hd_err
hd_metrics_text_header(struct hd_buf *b, const char *name, const char *help,
    enum hd_metric_type type)
{
	enum hd_err err;

	/* In HELP text a backslash and a line feed are escaped; a quote is not. */
	if ((err = hd_buf_printf(b, "# HELP %s ", name)) != HD_OK)
		return err;
	for (const char *p = help; *p; p++)
		if ((err = *p == '\\' ? hd_buf_puts(b, "\\\\") : *p == '\n' ?
		    hd_buf_puts(b, "\\n") : hd_buf_append(b, p, 1)) != HD_OK)
			return err;
	return hd_buf_printf(b, "\n# TYPE %s %s\n", name, hd_metric_type_names[type]);
}

enum hd_err
hd_metrics_text_sample(struct hd_buf *b, const char *name, const char *const *names,
    const char *const *values, size_t n, const char *value)
{
	enum hd_err err = hd_buf_puts(b, name);

	for (size_t i = 0; i < n && err == HD_OK; i++) {
		if ((err = hd_buf_printf(b, "%s%s=\"", i ? "," : "{", names[i])) == HD_OK &&
		    (err = hd_metrics_text_escape(b, values[i])) == HD_OK)
			err = hd_buf_puts(b, "\"");
	}
	if (err == HD_OK && n > 0)
		err = hd_buf_puts(b, "}");
	return err == HD_OK ? hd_buf_printf(b, " %s\n", value) : err;
}

/* Microseconds as decimal seconds, without trailing zeros: 2500000 is "2.5". */
static void
hd_metrics_seconds(uint64_t us, char *out, size_t cap)
{
	size_t n;

	snprintf(out, cap, "%" PRIu64 ".%06" PRIu64, us / 1000000, us % 1000000);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

static enum hd_err
hd_metrics_text_histogram(struct hd_buf *b, const struct hd_metric_family *fam,
    const struct hd_metrics_series *s, const char **names, const char **values)
{
	char name[128], num[32], le[32];
	size_t n = fam->nlabels;
	uint64_t cumulative = 0;
	enum hd_err err = HD_OK;

	names[n] = "le";
	values[n] = le;
	snprintf(name, sizeof(name), "%s_bucket", fam->name);
	for (size_t i = 0; i <= HD_METRICS_BUCKETS && err == HD_OK; i++) {
		cumulative += s->buckets[i];
		if (i < HD_METRICS_BUCKETS)
			hd_metrics_seconds(hd_metrics_bounds_us[i], le, sizeof(le));
		else
			snprintf(le, sizeof(le), "+Inf");
		snprintf(num, sizeof(num), "%" PRIu64, cumulative);
		err = hd_metrics_text_sample(b, name, names, values, n + 1, num);
	}
	if (err != HD_OK)
		return err;
	/* _count is the +Inf bucket, so the two agree even while processes record. */
	snprintf(name, sizeof(name), "%s_sum", fam->name);
	hd_metrics_seconds(s->sum_us, num, sizeof(num));
	if ((err = hd_metrics_text_sample(b, name, names, values, n, num)) != HD_OK)
		return err;
	snprintf(name, sizeof(name), "%s_count", fam->name);
	snprintf(num, sizeof(num), "%" PRIu64, cumulative);
	return hd_metrics_text_sample(b, name, names, values, n, num);
}

enum hd_err
hd_metrics_text_table(struct hd_buf *b, struct hd_metrics *m)
{
	struct hd_metrics_series *s = NULL;
	size_t n = 0, i = 0;
	enum hd_err err;

	if (m != NULL && (err = hd_metrics_snapshot(m, &s, &n)) != HD_OK)
		return err;
	err = HD_OK;
	for (size_t f = 0; f < HD_M__MAX && err == HD_OK; f++) {
		const struct hd_metric_family *fam = &hd_metric_families[f];

		err = hd_metrics_text_header(b, fam->name, fam->help, fam->type);
		for (; i < n && s[i].family == (enum hd_metric)f && err == HD_OK; i++) {
			const char *names[HD_METRICS_LABELS_MAX + 1], *values[HD_METRICS_LABELS_MAX + 1];
			char num[32];

			for (size_t l = 0; l < fam->nlabels; l++) {
				names[l] = fam->labels[l];
				values[l] = hd_metrics_label(&s[i], l);
			}
			if (fam->type == HD_MT_HISTOGRAM) {
				err = hd_metrics_text_histogram(b, fam, &s[i], names, values);
				continue;
			}
			if (fam->type == HD_MT_GAUGE)
				snprintf(num, sizeof(num), "%" PRId64, (int64_t)s[i].value);
			else
				snprintf(num, sizeof(num), "%" PRIu64, s[i].value);
			err = hd_metrics_text_sample(b, fam->name, names, values, fam->nlabels, num);
		}
	}
	hd_metrics_snapshot_free(s);
	return err;
}

/* The rendered page of one table: a few hundred series of a few hundred bytes. */
#define HD_METRICS_PAGE_MAX (8 * 1024 * 1024)

enum hd_err
hd_metrics_text_write_file(struct hd_metrics *m, const char *path)
{
	struct hd_buf page, tmp;
	enum hd_err err;
	int fd = -1, saved;

	hd_buf_init(&page, HD_METRICS_PAGE_MAX);
	hd_buf_init(&tmp, 4096);
	if ((err = hd_metrics_text_table(&page, m)) != HD_OK ||
	    (err = hd_buf_printf(&tmp, "%s.%ld.tmp", path, (long)getpid())) != HD_OK)
		goto out;
	err = HD_ERR_IO;
	if ((fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0)
		goto out;
	for (size_t done = 0; done < page.len;) {
		ssize_t n = write(fd, page.data + done, page.len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
		done += (size_t)n;
	}
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp.data, path) == 0)
		err = HD_OK;
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (err != HD_OK && tmp.data)
		unlink(tmp.data);
	errno = saved;
	hd_buf_free(&page);
	hd_buf_free(&tmp);
	return err;
}
