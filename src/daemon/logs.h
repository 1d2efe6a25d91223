/* daemon-private: container logs. docker's json-file format (one JSON
 * object per line: {"log":"hi\n","stream":"stdout","time":"…Z"}) with
 * max-size/max-file rotation, the syslog driver, and the 8-byte
 * multiplexed frames of attach/logs without a tty. The writer side has no
 * jansson dependency so the monitor stays small. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

enum log_stream
{
  LOG_STREAM_STDIN = 0,
  LOG_STREAM_STDOUT = 1,
  LOG_STREAM_STDERR = 2,
};

/* [stream, 0, 0, 0, size as 4 bytes big-endian] */
void logs_frame_header (uint8_t hdr[8], enum log_stream stream, uint32_t len);

/* Append data as a JSON string body (no quotes) with Go's escaping:
 * \" \\ \n \r \t, other controls and < > & as \u00XX, invalid UTF-8 as
 * \ufffd. out must hold 6*len+1 bytes; returns the length written. */
size_t logs_json_escape (const char *data, size_t len, char *out);
/* One json-file line (with its '\n'); returns malloc'd bytes, *out_len set. */
char *logs_jsonfile_line (enum log_stream stream, const char *data, size_t len, uint64_t time_ns,
                          size_t *out_len);

struct logs_jsonfile_writer
{
  int dirfd;      /* directory of the log file (not owned) */
  char name[160]; /* "<id>-json.log" */
  int fd;
  int64_t max_size_bytes; /* <= 0: no rotation */
  int max_files;          /* files kept in total, >= 1 */
  int64_t size_bytes;
  char *line; /* where entries are formatted, grown on demand (NULL at first) */
  size_t line_cap;
};

int logs_jsonfile_writer_open (struct logs_jsonfile_writer *w, int dirfd, const char *name,
                               int64_t max_size_bytes, int max_files, struct berth_error **err);
/* Write one entry, rotating first when it would cross max-size. */
int logs_jsonfile_write (struct logs_jsonfile_writer *w, enum log_stream stream, const char *data,
                         size_t len, uint64_t time_ns);
void logs_jsonfile_writer_close (struct logs_jsonfile_writer *w);

/* ------------------------------------------------------------- reading -- */

struct log_entry
{
  enum log_stream stream;
  char *data;
  size_t len;
  uint64_t time_ns;
};

/* Parse one json-file line. Returns 0, or -1 for a line that is not ours
 * (skipped by readers, as docker skips a torn last line). */
int logs_jsonfile_parse_line (const char *line, size_t len, struct log_entry *e);

struct logs_read_options
{
  bool want_stdout, want_stderr;
  bool timestamps;
  bool tty;                    /* no frame headers */
  uint64_t since_ns, until_ns; /* 0 = unbounded */
  long tail;                   /* -1 = all */
};

/* Encode one entry as the logs endpoint sends it (frame header unless tty,
 * "<RFC3339Nano> " prefix with timestamps). *out malloc'd. */
int logs_entry_encode (const struct log_entry *e, const struct logs_read_options *o, char **out,
                       size_t *out_len);

/* Read the rotated files then the current one (oldest first) and write
 * every matching entry, encoded, to out_fd. *offset_out gets the size of
 * the current file that was consumed (for follow). Returns 0 or -1 (EPIPE
 * when the reader went away). */
int logs_jsonfile_read (int dirfd, const char *name, int max_files,
                        const struct logs_read_options *o, int out_fd, int64_t *offset_out);
/* Follow the current file from offset while alive() says the producer may
 * still write; handles rotation (file replaced: restart from 0). */
int logs_jsonfile_follow (int dirfd, const char *name, const struct logs_read_options *o,
                          int out_fd, int64_t offset, bool (*alive) (void *data), void *data);

/* ------------------------------------------------------------ syslog -- */

/* Calendar fields of a UTC time, without the libc's time zone machinery
 * (which would bring the scanf family into the static monitor). */
struct logs_civil
{
  int year, month, day, hour, min, sec; /* month 1..12 */
};
void logs_civil_from_unix (int64_t secs, struct logs_civil *out);

struct logs_syslog
{
  int fd;
  long utc_offset_s; /* local time for the timestamps, fixed when opened */
  int facility;
  char tag[64];
  bool stream_socket; /* tcp / unix stream: octet-counted framing */
};
/* address: NULL/"" = the host's /dev/log, "udp://h:p", "tcp://h:p",
 * "unix:///path", "unixgram:///path". */
int logs_syslog_open (struct logs_syslog *s, const char *address, const char *facility,
                      const char *tag, struct berth_error **err);
int logs_syslog_write (struct logs_syslog *s, enum log_stream stream, const char *data, size_t len);
void logs_syslog_close (struct logs_syslog *s);
