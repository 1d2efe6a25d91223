/* berth cli: table output as docker prints it: Go's text/tabwriter column
 * alignment (minwidth 10, padding 3), "table" formats with header rows, and
 * --format over lists of rows. */
#include "cli/cli-internal.h"

#include <string.h>

static size_t
rune_count (const char *s, size_t len)
{
  size_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (((unsigned char) s[i] & 0xc0) != 0x80)
      n++;
  return n;
}

struct tw_line
{
  char **cells; /* every cell, the last one unterminated */
  size_t n_cells;
};

/* Go's tabwriter aligns a column over a block of consecutive lines that all
 * have a tab-terminated cell in that column; the last cell of a line is not
 * part of any column. */
static void
tw_format_block (struct tw_line *lines, size_t from, size_t to, size_t col, int minwidth,
                 int padding, size_t *widths_at)
{
  (void) widths_at;
  size_t i = from;
  while (i < to)
    {
      if (lines[i].n_cells - 1 <= col)
        {
          i++;
          continue;
        }
      size_t j = i;
      size_t width = 0;
      while (j < to && lines[j].n_cells - 1 > col)
        {
          size_t w = rune_count (lines[j].cells[col], strlen (lines[j].cells[col])) + (size_t) padding;
          if (w > width)
            width = w;
          j++;
        }
      if (width < (size_t) minwidth)
        width = (size_t) minwidth;
      for (size_t k = i; k < j; k++)
        {
          char *c = lines[k].cells[col];
          size_t rc = rune_count (c, strlen (c));
          char *padded = xasprintf ("%s%*s", c, (int) (width - rc), "");
          free (c);
          lines[k].cells[col] = padded;
        }
      tw_format_block (lines, i, j, col + 1, minwidth, padding, NULL);
      i = j;
    }
}

char *
tabwriter_format (const char *text, int minwidth, int padding)
{
  _cleanup_strv_ char **raw_lines = strv_split (text, '\n');
  size_t n = strv_len (raw_lines);
  struct tw_line *lines = calloc (n + 1, sizeof *lines);
  for (size_t i = 0; i < n; i++)
    {
      lines[i].cells = strv_split (raw_lines[i], '\t');
      lines[i].n_cells = strv_len (lines[i].cells);
    }
  tw_format_block (lines, 0, n, 0, minwidth, padding, NULL);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  for (size_t i = 0; i < n; i++)
    {
      for (size_t c = 0; c < lines[i].n_cells; c++)
        fputs (lines[i].cells[c], f);
      if (i + 1 < n)
        fputc ('\n', f);
      strv_freep (&lines[i].cells);
    }
  fclose (f);
  free (lines);
  return buf;
}

int
cli_format_rows (FILE *out, const char *format, json_t *headers, json_t *rows,
                 struct berth_error **err)
{
  bool is_table = str_has_prefix (format, "table");
  const char *body = format;
  if (is_table)
    {
      body = format + 5;
      while (*body == ' ')
        body++;
    }
  /* Docker turns the escape sequences typed in a shell into real ones. */
  _cleanup_free_ char *text = xstrdup (body);
  char *w = text;
  for (const char *r = text; *r; r++)
    {
      if (r[0] == '\\' && (r[1] == 't' || r[1] == 'n'))
        {
          *w++ = r[1] == 't' ? '\t' : '\n';
          r++;
        }
      else
        *w++ = *r;
    }
  *w = '\0';
  _cleanup_ (tmpl_freep) struct tmpl *t = tmpl_parse (text, err);
  if (t == NULL)
    return -1;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  int rc = 0;
  if (is_table && headers)
    {
      /* The header row is the template executed over the header names;
       * fields without a header print their own name upper-cased. */
      rc = tmpl_execute (t, headers, f, err);
      fputc ('\n', f);
    }
  size_t i;
  json_t *row;
  json_array_foreach (rows, i, row)
    {
      if (rc < 0)
        break;
      rc = tmpl_execute (t, row, f, err);
      fputc ('\n', f);
    }
  fclose (f);
  if (rc < 0)
    {
      free (buf);
      return -1;
    }
  if (is_table)
    {
      /* drop the final newline, align, put it back */
      if (len > 0 && buf[len - 1] == '\n')
        buf[len - 1] = '\0';
      _cleanup_free_ char *aligned = tabwriter_format (buf, 10, 3);
      fputs (aligned, out);
      fputc ('\n', out);
    }
  else
    fwrite (buf, 1, len, out);
  free (buf);
  return 0;
}
