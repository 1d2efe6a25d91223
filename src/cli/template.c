/* berth cli: the Go text/template subset behind --format. Parses a template
 * into a small tree (text, actions with pipelines, if/range/with blocks)
 * and executes it over JSON data with docker's template functions. */
#include "cli/cli-internal.h"

#include <ctype.h>
#include <string.h>

enum targ_kind
{
  ARG_DOT_FIELDS, /* .A.B (or . when no fields) */
  ARG_VAR,        /* $x.A.B */
  ARG_STRING,
  ARG_INT,
  ARG_REAL,
  ARG_BOOL,
  ARG_NIL,
  ARG_FUNC,
  ARG_PIPE, /* ( pipeline ) with optional .Field chain after */
};

struct tpipe;

struct targ
{
  enum targ_kind kind;
  char *name;    /* var or func name */
  char **fields; /* field chain */
  char *str;
  long long ival;
  double rval;
  bool bval;
  struct tpipe *pipe;
};

struct tcmd
{
  struct targ *args;
  size_t n_args;
};

struct tpipe
{
  struct tcmd *cmds;
  size_t n_cmds;
  char *decl[2];
  size_t n_decl;
};

enum tnode_kind
{
  TN_TEXT,
  TN_ACTION,
  TN_IF,
  TN_RANGE,
  TN_WITH,
};

struct tnode
{
  enum tnode_kind kind;
  char *text;
  struct tpipe *pipe;
  struct tnode *list;
  struct tnode *else_list;
  struct tnode *next;
};

struct tmpl
{
  struct tnode *root;
};

/* ------------------------------------------------------------- freeing -- */

static void pipe_free (struct tpipe *p);

static void
arg_clear (struct targ *a)
{
  free (a->name);
  strv_freep (&a->fields);
  free (a->str);
  pipe_free (a->pipe);
}

static void
pipe_free (struct tpipe *p)
{
  if (p == NULL)
    return;
  for (size_t i = 0; i < p->n_cmds; i++)
    {
      for (size_t j = 0; j < p->cmds[i].n_args; j++)
        arg_clear (&p->cmds[i].args[j]);
      free (p->cmds[i].args);
    }
  free (p->cmds);
  free (p->decl[0]);
  free (p->decl[1]);
  free (p);
}

static void
nodes_free (struct tnode *n)
{
  while (n)
    {
      struct tnode *next = n->next;
      free (n->text);
      pipe_free (n->pipe);
      nodes_free (n->list);
      nodes_free (n->else_list);
      free (n);
      n = next;
    }
}

void
tmpl_free (struct tmpl *t)
{
  nodes_free (t->root);
  free (t);
}

/* ------------------------------------------------------------- lexing -- */

struct parser
{
  const char *src;
  const char *p; /* current position in the template */
  int line;
  /* current action's token stream */
  const char *act, *act_end;
  bool trim_next; /* the last action ended with -}} */
};

static int
perr (struct parser *ps, struct berth_error **err, const char *msg, const char *detail)
{
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "template parsing error: template: :%d: %s%s",
                               ps->line, msg, detail ? detail : "");
}

static void
skip_space (struct parser *ps)
{
  while (ps->act < ps->act_end && isspace ((unsigned char) *ps->act))
    ps->act++;
}

static bool
at_end (struct parser *ps)
{
  skip_space (ps);
  return ps->act >= ps->act_end;
}

static bool
is_ident_char (char c)
{
  return isalnum ((unsigned char) c) || c == '_';
}

/* Read a word [A-Za-z0-9_] at act (no advance when none). */
static char *
read_ident (struct parser *ps)
{
  const char *s = ps->act;
  while (ps->act < ps->act_end && is_ident_char (*ps->act))
    ps->act++;
  return strndup (s, (size_t) (ps->act - s));
}

static bool
peek_keyword (struct parser *ps, const char *kw)
{
  skip_space (ps);
  size_t n = strlen (kw);
  if ((size_t) (ps->act_end - ps->act) < n || strncmp (ps->act, kw, n) != 0)
    return false;
  if (ps->act + n < ps->act_end && is_ident_char (ps->act[n]))
    return false;
  ps->act += n;
  return true;
}

/* .A.B.C chain at act (act points at '.'); appends to *fields. */
static void
read_field_chain (struct parser *ps, char ***fields)
{
  while (ps->act < ps->act_end && *ps->act == '.' && ps->act + 1 < ps->act_end
         && is_ident_char (ps->act[1]))
    {
      ps->act++;
      _cleanup_free_ char *f = read_ident (ps);
      strv_append (fields, f);
    }
}

static struct tpipe *parse_pipeline (struct parser *ps, bool in_parens, struct berth_error **err);

static int
read_string (struct parser *ps, struct targ *a, struct berth_error **err)
{
  char q = *ps->act++;
  _cleanup_free_ char *buf = malloc ((size_t) (ps->act_end - ps->act) + 1);
  size_t n = 0;
  while (ps->act < ps->act_end && *ps->act != q)
    {
      char c = *ps->act++;
      if (q == '"' && c == '\\' && ps->act < ps->act_end)
        {
          char e = *ps->act++;
          switch (e)
            {
            case 'n': c = '\n'; break;
            case 't': c = '\t'; break;
            case 'r': c = '\r'; break;
            case '\\': c = '\\'; break;
            case '"': c = '"'; break;
            default: c = e; break;
            }
        }
      buf[n++] = c;
    }
  if (ps->act >= ps->act_end)
    return perr (ps, err, "unterminated quoted string", NULL);
  ps->act++;
  buf[n] = '\0';
  a->kind = ARG_STRING;
  a->str = steal_pointer (&buf);
  return 0;
}

/* One operand or function name. Returns 1 when there was none. */
static int
parse_arg (struct parser *ps, struct targ *a, struct berth_error **err)
{
  skip_space (ps);
  memset (a, 0, sizeof *a);
  if (ps->act >= ps->act_end)
    return 1;
  char c = *ps->act;
  if (c == '|' || c == ')')
    return 1;
  if (c == '.')
    {
      a->kind = ARG_DOT_FIELDS;
      a->fields = calloc (1, sizeof (char *));
      if (ps->act + 1 < ps->act_end && is_ident_char (ps->act[1]))
        read_field_chain (ps, &a->fields);
      else
        ps->act++;
      return 0;
    }
  if (c == '$')
    {
      ps->act++;
      a->kind = ARG_VAR;
      _cleanup_free_ char *id = read_ident (ps);
      a->name = xasprintf ("$%s", id);
      a->fields = calloc (1, sizeof (char *));
      read_field_chain (ps, &a->fields);
      return 0;
    }
  if (c == '"' || c == '`')
    return read_string (ps, a, err);
  if (c == '(')
    {
      ps->act++;
      a->kind = ARG_PIPE;
      a->pipe = parse_pipeline (ps, true, err);
      if (a->pipe == NULL)
        return -1;
      a->fields = calloc (1, sizeof (char *));
      read_field_chain (ps, &a->fields);
      return 0;
    }
  if (isdigit ((unsigned char) c) || ((c == '-' || c == '+') && ps->act + 1 < ps->act_end
                                      && isdigit ((unsigned char) ps->act[1])))
    {
      char *end = NULL;
      _cleanup_free_ char *tok = strndup (ps->act, (size_t) (ps->act_end - ps->act));
      long long iv = strtoll (tok, &end, 0);
      if (*end == '.' || *end == 'e' || *end == 'E')
        {
          a->kind = ARG_REAL;
          a->rval = strtod (tok, &end);
        }
      else
        {
          a->kind = ARG_INT;
          a->ival = iv;
        }
      ps->act += end - tok;
      return 0;
    }
  if (isalpha ((unsigned char) c) || c == '_')
    {
      char *id = read_ident (ps);
      if (strcmp (id, "true") == 0 || strcmp (id, "false") == 0)
        {
          a->kind = ARG_BOOL;
          a->bval = id[0] == 't';
          free (id);
        }
      else if (strcmp (id, "nil") == 0)
        {
          a->kind = ARG_NIL;
          free (id);
        }
      else
        {
          a->kind = ARG_FUNC;
          a->name = id;
        }
      return 0;
    }
  _cleanup_free_ char *bad = strndup (ps->act, 1);
  return perr (ps, err, "unexpected character in command: ", bad);
}

static const char *const known_funcs[] = {
  "json", "join", "split", "upper", "lower", "title", "len", "index", "printf", "print",
  "println", "pad", "truncate", "eq", "ne", "lt", "le", "gt", "ge", "and", "or", "not",
  "slice", NULL,
};

static struct tpipe *
parse_pipeline (struct parser *ps, bool in_parens, struct berth_error **err)
{
  struct tpipe *p = calloc (1, sizeof *p);
  /* Declarations: $x := … or $k, $v := … */
  const char *save = ps->act;
  skip_space (ps);
  if (ps->act < ps->act_end && *ps->act == '$')
    {
      const char *q = ps->act;
      size_t n_decl = 0;
      char *names[2] = { NULL, NULL };
      while (q < ps->act_end && *q == '$' && n_decl < 2)
        {
          const char *s = ++q;
          while (q < ps->act_end && is_ident_char (*q))
            q++;
          names[n_decl++] = xasprintf ("$%.*s", (int) (q - s), s);
          while (q < ps->act_end && isspace ((unsigned char) *q))
            q++;
          if (q < ps->act_end && *q == ',')
            {
              q++;
              while (q < ps->act_end && isspace ((unsigned char) *q))
                q++;
              continue;
            }
          break;
        }
      if (q + 1 < ps->act_end && q[0] == ':' && q[1] == '=')
        {
          p->decl[0] = names[0];
          p->decl[1] = names[1];
          p->n_decl = n_decl;
          ps->act = q + 2;
        }
      else
        {
          free (names[0]);
          free (names[1]);
          ps->act = save;
        }
    }
  for (;;)
    {
      struct tcmd cmd = { 0 };
      for (;;)
        {
          struct targ a;
          int r = parse_arg (ps, &a, err);
          if (r < 0)
            {
              for (size_t j = 0; j < cmd.n_args; j++)
                arg_clear (&cmd.args[j]);
              free (cmd.args);
              pipe_free (p);
              return NULL;
            }
          if (r == 1)
            break;
          if (a.kind == ARG_FUNC)
            {
              bool known = false;
              for (size_t i = 0; known_funcs[i]; i++)
                known = known || strcmp (known_funcs[i], a.name) == 0;
              if (!known)
                {
                  _cleanup_free_ char *d = xasprintf ("\"%s\" not defined", a.name);
                  arg_clear (&a);
                  for (size_t j = 0; j < cmd.n_args; j++)
                    arg_clear (&cmd.args[j]);
                  free (cmd.args);
                  pipe_free (p);
                  perr (ps, err, "function ", d);
                  return NULL;
                }
            }
          cmd.args = realloc (cmd.args, (cmd.n_args + 1) * sizeof *cmd.args);
          cmd.args[cmd.n_args++] = a;
        }
      if (cmd.n_args == 0)
        {
          free (cmd.args);
          pipe_free (p);
          perr (ps, err, "missing value for command", NULL);
          return NULL;
        }
      p->cmds = realloc (p->cmds, (p->n_cmds + 1) * sizeof *p->cmds);
      p->cmds[p->n_cmds++] = cmd;
      skip_space (ps);
      if (ps->act < ps->act_end && *ps->act == '|')
        {
          ps->act++;
          continue;
        }
      if (in_parens)
        {
          if (ps->act < ps->act_end && *ps->act == ')')
            {
              ps->act++;
              return p;
            }
          pipe_free (p);
          perr (ps, err, "unclosed left paren", NULL);
          return NULL;
        }
      if (ps->act < ps->act_end)
        {
          _cleanup_free_ char *bad = strndup (ps->act, (size_t) (ps->act_end - ps->act));
          pipe_free (p);
          perr (ps, err, "unexpected ", bad);
          return NULL;
        }
      return p;
    }
}

/* Find the next action; sets ps->act/act_end and returns the text before
 * it (NULL at the end of the template, then *text_out holds the tail). */
static bool
next_action (struct parser *ps, char **text_out, struct berth_error **err, int *rc)
{
  *rc = 0;
  const char *open = strstr (ps->p, "{{");
  const char *text_end = open ? open : ps->p + strlen (ps->p);
  const char *text_start = ps->p;
  if (ps->trim_next)
    while (text_start < text_end && isspace ((unsigned char) *text_start))
      text_start++;
  ps->trim_next = false;
  const char *act = NULL;
  if (open)
    {
      act = open + 2;
      if (act[0] == '-' && act[1] && isspace ((unsigned char) act[1]))
        {
          while (text_end > text_start && isspace ((unsigned char) text_end[-1]))
            text_end--;
          act += 2;
        }
    }
  *text_out = strndup (text_start, (size_t) (text_end - text_start));
  for (const char *c = ps->p; c < (open ? open : text_end); c++)
    if (*c == '\n')
      ps->line++;
  if (!open)
    {
      ps->p = text_end;
      return false;
    }
  /* Find the closing }} outside quotes. */
  const char *q = act;
  char quote = 0;
  for (; *q; q++)
    {
      if (quote)
        {
          if (*q == '\\' && quote == '"' && q[1])
            q++;
          else if (*q == quote)
            quote = 0;
          continue;
        }
      if (*q == '"' || *q == '`')
        quote = *q;
      else if (q[0] == '}' && q[1] == '}')
        break;
    }
  if (!*q)
    {
      *rc = perr (ps, err, quote ? "unterminated quoted string" : "unclosed action", NULL);
      return false;
    }
  const char *end = q;
  if (end - act >= 2 && end[-1] == '-' && isspace ((unsigned char) end[-2]))
    {
      end -= 2;
      ps->trim_next = true;
    }
  ps->act = act;
  ps->act_end = end;
  ps->p = q + 2;
  return true;
}

enum stop_reason
{
  STOP_EOF,
  STOP_END,
  STOP_ELSE,
  STOP_ELSE_IF,
};

static struct tnode *parse_list (struct parser *ps, enum stop_reason *why, struct berth_error **err,
                                 int *rc);

static void
append_node (struct tnode ***tail, struct tnode *n)
{
  **tail = n;
  *tail = &n->next;
}

/* The body of if/range/with after its pipeline was read. */
static int
parse_block (struct parser *ps, struct tnode *n, struct berth_error **err)
{
  enum stop_reason why;
  int rc;
  n->list = parse_list (ps, &why, err, &rc);
  if (rc < 0)
    return -1;
  if (why == STOP_EOF)
    return perr (ps, err, "unexpected EOF", NULL);
  if (why == STOP_ELSE)
    {
      n->else_list = parse_list (ps, &why, err, &rc);
      if (rc < 0)
        return -1;
      if (why != STOP_END)
        return perr (ps, err, "expected end; found ", why == STOP_EOF ? "EOF" : "else");
    }
  else if (why == STOP_ELSE_IF)
    {
      /* {{else if x}} = {{else}}{{if x}}…{{end}} sharing the outer end. */
      struct tnode *inner = calloc (1, sizeof *inner);
      inner->kind = TN_IF;
      n->else_list = inner;
      inner->pipe = parse_pipeline (ps, false, err);
      if (inner->pipe == NULL)
        return -1;
      return parse_block (ps, inner, err);
    }
  return 0;
}

static struct tnode *
parse_list (struct parser *ps, enum stop_reason *why, struct berth_error **err, int *rc)
{
  struct tnode *head = NULL, **tail = &head;
  *rc = 0;
  for (;;)
    {
      char *text = NULL;
      bool has_action = next_action (ps, &text, err, rc);
      if (text && *text)
        {
          struct tnode *t = calloc (1, sizeof *t);
          t->kind = TN_TEXT;
          t->text = text;
          append_node (&tail, t);
        }
      else
        free (text);
      if (*rc < 0)
        break;
      if (!has_action)
        {
          *why = STOP_EOF;
          return head;
        }
      skip_space (ps);
      if (ps->act_end - ps->act >= 2 && ps->act[0] == '/' && ps->act[1] == '*')
        continue; /* comment */
      if (peek_keyword (ps, "end"))
        {
          *why = STOP_END;
          return head;
        }
      if (peek_keyword (ps, "else"))
        {
          if (peek_keyword (ps, "if"))
            *why = STOP_ELSE_IF;
          else
            *why = STOP_ELSE;
          return head;
        }
      enum tnode_kind kind = TN_ACTION;
      if (peek_keyword (ps, "if"))
        kind = TN_IF;
      else if (peek_keyword (ps, "range"))
        kind = TN_RANGE;
      else if (peek_keyword (ps, "with"))
        kind = TN_WITH;
      struct tnode *n = calloc (1, sizeof *n);
      n->kind = kind;
      append_node (&tail, n);
      if (kind != TN_ACTION && at_end (ps))
        {
          *rc = perr (ps, err, "missing value for ", kind == TN_IF ? "if" : kind == TN_RANGE ? "range" : "with");
          break;
        }
      n->pipe = parse_pipeline (ps, false, err);
      if (n->pipe == NULL)
        {
          *rc = -1;
          break;
        }
      if (kind != TN_ACTION && parse_block (ps, n, err) < 0)
        {
          *rc = -1;
          break;
        }
    }
  nodes_free (head);
  return NULL;
}

struct tmpl *
tmpl_parse (const char *text, struct berth_error **err)
{
  struct parser ps = { .src = text, .p = text, .line = 1 };
  enum stop_reason why;
  int rc;
  struct tnode *root = parse_list (&ps, &why, err, &rc);
  if (rc < 0)
    return NULL;
  if (why != STOP_EOF)
    {
      nodes_free (root);
      perr (&ps, err, "unexpected ", why == STOP_END ? "{{end}}" : "{{else}}");
      return NULL;
    }
  struct tmpl *t = calloc (1, sizeof *t);
  t->root = root;
  return t;
}

/* ----------------------------------------------------------- executing -- */

struct var
{
  char *name;
  json_t *value;
};

struct exec_state
{
  FILE *out;
  json_t *root;
  struct var vars[64];
  size_t n_vars;
};

static int
xerr (struct berth_error **err, const char *fmt, const char *a)
{
  return berth_error_set_kind (err, BERTH_E_INVALID, 0, "template: :1: executing \"\" at <%s>: %s",
                               a ? a : "", fmt);
}

static bool
truthy (json_t *v)
{
  if (v == NULL)
    return false;
  switch (json_typeof (v))
    {
    case JSON_NULL: return false;
    case JSON_FALSE: return false;
    case JSON_TRUE: return true;
    case JSON_INTEGER: return json_integer_value (v) != 0;
    case JSON_REAL: return json_real_value (v) != 0;
    case JSON_STRING: return json_string_length (v) > 0;
    case JSON_ARRAY: return json_array_size (v) > 0;
    case JSON_OBJECT: return json_object_size (v) > 0;
    }
  return false;
}

static void
print_real (FILE *f, double d)
{
  char buf[64];
  for (int prec = 1; prec <= 17; prec++)
    {
      snprintf (buf, sizeof buf, "%.*g", prec, d);
      if (strtod (buf, NULL) == d)
        break;
    }
  fputs (buf, f);
}

static int
cmp_keys (const void *a, const void *b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* Object keys in Go's map iteration order for printing/range: sorted. */
static const char **
sorted_keys (json_t *obj, size_t *n)
{
  *n = json_object_size (obj);
  const char **keys = calloc (*n + 1, sizeof *keys);
  size_t i = 0;
  const char *k;
  json_t *v;
  json_object_foreach (obj, k, v)
    keys[i++] = k;
  qsort (keys, *n, sizeof *keys, cmp_keys);
  return keys;
}

void
tmpl_print_value (FILE *f, json_t *v)
{
  if (v == NULL)
    {
      fputs ("<no value>", f);
      return;
    }
  switch (json_typeof (v))
    {
    case JSON_NULL: fputs ("<nil>", f); break;
    case JSON_TRUE: fputs ("true", f); break;
    case JSON_FALSE: fputs ("false", f); break;
    case JSON_INTEGER: fprintf (f, "%lld", (long long) json_integer_value (v)); break;
    case JSON_REAL: print_real (f, json_real_value (v)); break;
    case JSON_STRING: fwrite (json_string_value (v), 1, json_string_length (v), f); break;
    case JSON_ARRAY:
      {
        fputc ('[', f);
        size_t i;
        json_t *e;
        json_array_foreach (v, i, e)
          {
            if (i)
              fputc (' ', f);
            tmpl_print_value (f, e);
          }
        fputc (']', f);
        break;
      }
    case JSON_OBJECT:
      {
        size_t n;
        _cleanup_free_ const char **keys = sorted_keys (v, &n);
        fputs ("map[", f);
        for (size_t i = 0; i < n; i++)
          {
            if (i)
              fputc (' ', f);
            fprintf (f, "%s:", keys[i]);
            tmpl_print_value (f, json_object_get (v, keys[i]));
          }
        fputc (']', f);
        break;
      }
    }
}

static char *
value_to_string (json_t *v)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  tmpl_print_value (f, v);
  fclose (f);
  return buf;
}

/* Walk .A.B from v; NULL (no value) when a key is missing. New ref. */
static json_t *
walk_fields (json_t *v, char **fields, struct berth_error **err, int *rc)
{
  *rc = 0;
  json_t *cur = v;
  for (size_t i = 0; fields && fields[i]; i++)
    {
      if (cur == NULL || json_is_null (cur))
        {
          if (cur == NULL)
            return NULL;
          *rc = xerr (err, "nil pointer evaluating interface {}", fields[i]);
          return NULL;
        }
      if (!json_is_object (cur))
        {
          _cleanup_free_ char *at = xasprintf (".%s", fields[i]);
          *rc = xerr (err, "can't evaluate field in non-object value", at);
          return NULL;
        }
      cur = json_object_get (cur, fields[i]);
    }
  return cur ? json_incref (cur) : NULL;
}

static json_t *eval_pipe (struct exec_state *st, json_t *dot, struct tpipe *p, struct berth_error **err,
                          int *rc);

static json_t *
var_lookup (struct exec_state *st, const char *name)
{
  if (strcmp (name, "$") == 0)
    return st->root;
  for (size_t i = st->n_vars; i > 0; i--)
    if (strcmp (st->vars[i - 1].name, name) == 0)
      return st->vars[i - 1].value;
  return NULL;
}

static json_t *
eval_arg (struct exec_state *st, json_t *dot, struct targ *a, struct berth_error **err, int *rc)
{
  *rc = 0;
  switch (a->kind)
    {
    case ARG_DOT_FIELDS:
      return walk_fields (dot, a->fields, err, rc);
    case ARG_VAR:
      {
        json_t *base = var_lookup (st, a->name);
        if (base == NULL && strcmp (a->name, "$") != 0)
          {
            *rc = xerr (err, "undefined variable", a->name);
            return NULL;
          }
        return walk_fields (base, a->fields, err, rc);
      }
    case ARG_STRING: return json_string (a->str);
    case ARG_INT: return json_integer (a->ival);
    case ARG_REAL: return json_real (a->rval);
    case ARG_BOOL: return json_boolean (a->bval);
    case ARG_NIL: return json_null ();
    case ARG_PIPE:
      {
        _cleanup_json_ json_t *v = eval_pipe (st, dot, a->pipe, err, rc);
        if (*rc < 0)
          return NULL;
        return walk_fields (v, a->fields, err, rc);
      }
    case ARG_FUNC:
      break;
    }
  return NULL;
}

static double
num_value (json_t *v)
{
  if (json_is_integer (v))
    return (double) json_integer_value (v);
  if (json_is_real (v))
    return json_real_value (v);
  return 0;
}

/* -1, 0, 1; 2 when not comparable. */
static int
compare (json_t *a, json_t *b)
{
  if (json_is_number (a) && json_is_number (b))
    {
      double x = num_value (a), y = num_value (b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
  if (json_is_string (a) && json_is_string (b))
    {
      int c = strcmp (json_string_value (a), json_string_value (b));
      return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
  if (json_is_boolean (a) && json_is_boolean (b))
    return json_is_true (a) == json_is_true (b) ? 0 : 2;
  if ((a == NULL || json_is_null (a)) && (b == NULL || json_is_null (b)))
    return 0;
  return 2;
}

static char *
go_title (const char *s)
{
  char *r = xstrdup (s);
  bool start = true;
  for (char *p = r; *p; p++)
    {
      if (start && islower ((unsigned char) *p))
        *p = (char) toupper ((unsigned char) *p);
      start = !isalnum ((unsigned char) *p);
    }
  return r;
}

/* The conversion specs passed to fprintf below are rebuilt from the
 * template's own spec after checking every character (flags, digits, '.')
 * and choosing the length modifier ourselves, so the argument types match. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
/* Go's printf, enough for --format: flags/width/precision with verbs
 * s d v q f g x t %. */
static char *
go_printf (json_t **args, size_t n)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  const char *fmt = n > 0 && json_is_string (args[0]) ? json_string_value (args[0]) : "";
  size_t ai = 1;
  for (const char *p = fmt; *p; p++)
    {
      if (*p != '%')
        {
          fputc (*p, f);
          continue;
        }
      const char *start = p++;
      while (*p && strchr ("-+# 0", *p))
        p++;
      while (*p && (isdigit ((unsigned char) *p) || *p == '.'))
        p++;
      if (!*p)
        break;
      char verb = *p;
      if (verb == '%')
        {
          fputc ('%', f);
          continue;
        }
      char spec[32];
      size_t sl = (size_t) (p - start);
      if (sl > sizeof spec - 4)
        sl = sizeof spec - 4;
      memcpy (spec, start, sl);
      json_t *v = ai < n ? args[ai++] : NULL;
      if (v == NULL)
        {
          fprintf (f, "%%!%c(MISSING)", verb);
          continue;
        }
      switch (verb)
        {
        case 'd':
        case 'x':
          spec[sl] = 'l';
          spec[sl + 1] = 'l';
          spec[sl + 2] = verb;
          spec[sl + 3] = 0;
          fprintf (f, spec, (long long) num_value (v));
          break;
        case 'f':
        case 'g':
        case 'e':
          spec[sl] = verb;
          spec[sl + 1] = 0;
          fprintf (f, spec, num_value (v));
          break;
        case 'q':
          {
            _cleanup_free_ char *s = value_to_string (v);
            _cleanup_json_ json_t *js = json_string (s); /* NULL when not UTF-8 */
            _cleanup_free_ char *q = js ? json_dumps (js, JSON_ENCODE_ANY) : NULL;
            fputs (q ? q : "\"\"", f);
            break;
          }
        default:
          {
            _cleanup_free_ char *s = value_to_string (v);
            spec[sl] = 's';
            spec[sl + 1] = 0;
            fprintf (f, spec, s);
          }
        }
    }
  fclose (f);
  return buf;
}
#pragma GCC diagnostic pop

/* Go's encoding/json escapes <, > and & (and U+2028/2029) in strings; these
 * bytes only ever occur inside strings in JSON text. */
static char *
go_json_escape (const char *s)
{
  char *out = malloc (strlen (s) * 6 + 1);
  char *o = out;
  for (const char *p = s; *p; p++)
    {
      if (*p == '<' || *p == '>' || *p == '&')
        {
          o += sprintf (o, "\\u%04x", (unsigned) *p);
          continue;
        }
      if ((unsigned char) p[0] == 0xe2 && (unsigned char) p[1] == 0x80
          && ((unsigned char) p[2] == 0xa8 || (unsigned char) p[2] == 0xa9))
        {
          o += sprintf (o, "\\u%04x", (unsigned char) p[2] == 0xa8 ? 0x2028u : 0x2029u);
          p += 2;
          continue;
        }
      *o++ = *p;
    }
  *o = '\0';
  return out;
}

static json_t *
call_func (const char *name, json_t **args, size_t n, struct berth_error **err, int *rc)
{
  *rc = 0;
#define NEED(k)                                                                                  \
  do                                                                                             \
    {                                                                                            \
      if (n != (k))                                                                              \
        {                                                                                        \
          *rc = xerr (err, "wrong number of args", name);                                         \
          return NULL;                                                                           \
        }                                                                                        \
    }                                                                                            \
  while (0)
  if (strcmp (name, "json") == 0)
    {
      NEED (1);
      _cleanup_free_ char *s = args[0] ? json_dumps (args[0], JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup ("null");
      _cleanup_free_ char *go = go_json_escape (s ? s : "null");
      return json_string (go);
    }
  if (strcmp (name, "join") == 0)
    {
      NEED (2);
      _cleanup_strv_ char **parts = calloc (1, sizeof (char *));
      size_t i;
      json_t *e;
      if (json_is_array (args[0]))
        json_array_foreach (args[0], i, e)
          {
            _cleanup_free_ char *s = value_to_string (e);
            strv_append (&parts, s);
          }
      _cleanup_free_ char *sep = value_to_string (args[1]);
      _cleanup_free_ char *j = strv_join (parts, sep);
      return json_string (j);
    }
  if (strcmp (name, "split") == 0)
    {
      NEED (2);
      _cleanup_free_ char *s = value_to_string (args[0]);
      _cleanup_free_ char *sep = value_to_string (args[1]);
      json_t *arr = json_array ();
      if (*sep == '\0')
        {
          for (char *p = s; *p; p++)
            json_array_append_new (arr, json_stringn (p, 1));
          return arr;
        }
      char *p = s;
      for (char *q; (q = strstr (p, sep)) != NULL; p = q + strlen (sep))
        json_array_append_new (arr, json_stringn (p, (size_t) (q - p)));
      json_array_append_new (arr, json_string (p));
      return arr;
    }
  if (strcmp (name, "upper") == 0 || strcmp (name, "lower") == 0 || strcmp (name, "title") == 0)
    {
      NEED (1);
      _cleanup_free_ char *s = value_to_string (args[0]);
      if (name[0] == 't')
        {
          _cleanup_free_ char *t = go_title (s);
          return json_string (t);
        }
      for (char *p = s; *p; p++)
        *p = (char) (name[0] == 'u' ? toupper ((unsigned char) *p) : tolower ((unsigned char) *p));
      return json_string (s);
    }
  if (strcmp (name, "len") == 0)
    {
      NEED (1);
      json_t *v = args[0];
      if (json_is_string (v))
        return json_integer ((json_int_t) json_string_length (v));
      if (json_is_array (v))
        return json_integer ((json_int_t) json_array_size (v));
      if (json_is_object (v))
        return json_integer ((json_int_t) json_object_size (v));
      if (v == NULL || json_is_null (v))
        return json_integer (0);
      *rc = xerr (err, "error calling len: len of type", name);
      return NULL;
    }
  if (strcmp (name, "index") == 0)
    {
      if (n < 1)
        {
          *rc = xerr (err, "wrong number of args", name);
          return NULL;
        }
      json_t *cur = args[0];
      for (size_t i = 1; i < n; i++)
        {
          if (json_is_object (cur) && json_is_string (args[i]))
            cur = json_object_get (cur, json_string_value (args[i]));
          else if (json_is_array (cur) && json_is_integer (args[i]))
            {
              json_int_t k = json_integer_value (args[i]);
              if (k < 0 || (size_t) k >= json_array_size (cur))
                {
                  *rc = xerr (err, "error calling index: index out of range", name);
                  return NULL;
                }
              cur = json_array_get (cur, (size_t) k);
            }
          else if (cur == NULL || json_is_null (cur))
            cur = NULL;
          else
            {
              *rc = xerr (err, "error calling index: cannot index value", name);
              return NULL;
            }
        }
      return cur ? json_incref (cur) : NULL;
    }
  if (strcmp (name, "slice") == 0)
    {
      if (n < 2 || n > 3 || !json_is_string (args[0]))
        {
          *rc = xerr (err, "error calling slice", name);
          return NULL;
        }
      size_t len = json_string_length (args[0]);
      long long a = json_integer_value (args[1]);
      long long b = n == 3 ? json_integer_value (args[2]) : (long long) len;
      if (a < 0 || b < a || (size_t) b > len)
        {
          *rc = xerr (err, "error calling slice: index out of range", name);
          return NULL;
        }
      return json_stringn (json_string_value (args[0]) + a, (size_t) (b - a));
    }
  if (strcmp (name, "printf") == 0)
    {
      _cleanup_free_ char *s = go_printf (args, n);
      return json_string (s);
    }
  if (strcmp (name, "print") == 0 || strcmp (name, "println") == 0)
    {
      char *buf = NULL;
      size_t len = 0;
      FILE *f = open_memstream (&buf, &len);
      for (size_t i = 0; i < n; i++)
        {
          /* Go's Sprint puts spaces between operands when neither is a
           * string; Sprintln always does. */
          if (i > 0 && (name[5] == 'l' || (!json_is_string (args[i - 1]) && !json_is_string (args[i]))))
            fputc (' ', f);
          tmpl_print_value (f, args[i]);
        }
      if (name[5] == 'l')
        fputc ('\n', f);
      fclose (f);
      json_t *r = json_stringn (buf, len);
      free (buf);
      return r;
    }
  if (strcmp (name, "pad") == 0)
    {
      NEED (3);
      _cleanup_free_ char *s = value_to_string (args[0]);
      long long before = (long long) num_value (args[1]), after = (long long) num_value (args[2]);
      _cleanup_free_ char *r = xasprintf ("%*s%s%*s", (int) before, "", s, (int) after, "");
      return json_string (r);
    }
  if (strcmp (name, "truncate") == 0)
    {
      NEED (2);
      _cleanup_free_ char *s = value_to_string (args[0]);
      long long k = (long long) num_value (args[1]);
      /* count runes, not bytes */
      size_t i = 0;
      long long runes = 0;
      while (s[i] && runes < k)
        {
          i++;
          while (s[i] && ((unsigned char) s[i] & 0xc0) == 0x80)
            i++;
          runes++;
        }
      return json_stringn (s, i);
    }
  if (strcmp (name, "not") == 0)
    {
      NEED (1);
      return json_boolean (!truthy (args[0]));
    }
  if (strcmp (name, "and") == 0 || strcmp (name, "or") == 0)
    {
      if (n < 1)
        {
          *rc = xerr (err, "wrong number of args", name);
          return NULL;
        }
      bool is_and = name[0] == 'a';
      for (size_t i = 0; i < n; i++)
        if (truthy (args[i]) != is_and || i == n - 1)
          return args[i] ? json_incref (args[i]) : NULL;
      return NULL;
    }
  if (strcmp (name, "eq") == 0)
    {
      if (n < 2)
        {
          *rc = xerr (err, "wrong number of args", name);
          return NULL;
        }
      for (size_t i = 1; i < n; i++)
        if (compare (args[0], args[i]) == 0)
          return json_true ();
      return json_false ();
    }
  if (strcmp (name, "ne") == 0 || strcmp (name, "lt") == 0 || strcmp (name, "le") == 0
      || strcmp (name, "gt") == 0 || strcmp (name, "ge") == 0)
    {
      NEED (2);
      int c = compare (args[0], args[1]);
      if (name[0] == 'n')
        return json_boolean (c != 0);
      if (c == 2)
        {
          *rc = xerr (err, "incompatible types for comparison", name);
          return NULL;
        }
      bool r = name[0] == 'l' ? (name[1] == 't' ? c < 0 : c <= 0) : (name[1] == 't' ? c > 0 : c >= 0);
      return json_boolean (r);
    }
#undef NEED
  *rc = xerr (err, "function not defined", name);
  return NULL;
}

/* docker's {{.Label "key"}} method of ps/images/volume rows: the value of
 * one label, from a Labels object or docker's "k=v,k2=v2" string. */
static json_t *
eval_label_method (struct exec_state *st, json_t *dot, struct tcmd *cmd, struct berth_error **err,
                   int *rc)
{
  struct targ *a0 = &cmd->args[0];
  size_t nf = strv_len (a0->fields);
  char *saved = a0->fields[nf - 1];
  a0->fields[nf - 1] = NULL;
  _cleanup_json_ json_t *base = walk_fields (dot, a0->fields, err, rc);
  a0->fields[nf - 1] = saved;
  if (*rc < 0)
    return NULL;
  _cleanup_json_ json_t *key = eval_arg (st, dot, &cmd->args[1], err, rc);
  if (*rc < 0)
    return NULL;
  if (!json_is_string (key))
    {
      *rc = xerr (err, "Label needs a string key", ".Label");
      return NULL;
    }
  json_t *labels = json_object_get (base, "Labels");
  const char *k = json_string_value (key);
  if (json_is_object (labels))
    {
      json_t *v = json_object_get (labels, k);
      return json_string (json_string_value (v) ? json_string_value (v) : "");
    }
  if (json_is_string (labels))
    {
      _cleanup_strv_ char **pairs = strv_split (json_string_value (labels), ',');
      size_t kl = strlen (k);
      for (size_t i = 0; pairs[i]; i++)
        if (strncmp (pairs[i], k, kl) == 0 && pairs[i][kl] == '=')
          return json_string (pairs[i] + kl + 1);
    }
  return json_string ("");
}

static json_t *
eval_cmd (struct exec_state *st, json_t *dot, struct tcmd *cmd, json_t *piped, bool has_piped,
          struct berth_error **err, int *rc)
{
  *rc = 0;
  struct targ *a0 = &cmd->args[0];
  size_t nf = a0->kind == ARG_DOT_FIELDS ? strv_len (a0->fields) : 0;
  if (nf > 0 && strcmp (a0->fields[nf - 1], "Label") == 0 && cmd->n_args == 2 && !has_piped)
    return eval_label_method (st, dot, cmd, err, rc);
  if (cmd->args[0].kind != ARG_FUNC)
    {
      if (cmd->n_args > 1 || has_piped)
        {
          *rc = xerr (err, "can't give argument to non-function", NULL);
          return NULL;
        }
      return eval_arg (st, dot, &cmd->args[0], err, rc);
    }
  size_t n = cmd->n_args - 1 + (has_piped ? 1 : 0);
  json_t **vals = calloc (n + 1, sizeof *vals);
  for (size_t i = 1; i < cmd->n_args; i++)
    {
      vals[i - 1] = eval_arg (st, dot, &cmd->args[i], err, rc);
      if (*rc < 0)
        {
          for (size_t j = 0; j < i; j++)
            json_decref (vals[j]);
          free (vals);
          return NULL;
        }
    }
  if (has_piped)
    vals[n - 1] = piped ? json_incref (piped) : NULL;
  json_t *r = call_func (cmd->args[0].name, vals, n, err, rc);
  for (size_t i = 0; i < n; i++)
    json_decref (vals[i]);
  free (vals);
  return r;
}

static json_t *
eval_pipe (struct exec_state *st, json_t *dot, struct tpipe *p, struct berth_error **err, int *rc)
{
  json_t *v = NULL;
  for (size_t i = 0; i < p->n_cmds; i++)
    {
      json_t *next = eval_cmd (st, dot, &p->cmds[i], v, i > 0, err, rc);
      json_decref (v);
      if (*rc < 0)
        return NULL;
      v = next;
    }
  return v;
}

static void
var_push (struct exec_state *st, const char *name, json_t *v)
{
  if (st->n_vars >= sizeof st->vars / sizeof st->vars[0])
    return;
  st->vars[st->n_vars].name = xstrdup (name);
  st->vars[st->n_vars].value = v ? json_incref (v) : NULL;
  st->n_vars++;
}

static void
vars_pop_to (struct exec_state *st, size_t n)
{
  while (st->n_vars > n)
    {
      st->n_vars--;
      free (st->vars[st->n_vars].name);
      json_decref (st->vars[st->n_vars].value);
    }
}

static int exec_list (struct exec_state *st, json_t *dot, struct tnode *n, struct berth_error **err);

static int
exec_range (struct exec_state *st, json_t *dot, struct tnode *n, json_t *v, struct berth_error **err)
{
  size_t mark = st->n_vars;
  int rc = 0;
  bool any = false;
  if (json_is_array (v))
    {
      size_t i;
      json_t *e;
      json_array_foreach (v, i, e)
        {
          any = true;
          if (n->pipe->n_decl == 2)
            {
              json_t *idx = json_integer ((json_int_t) i);
              var_push (st, n->pipe->decl[0], idx);
              json_decref (idx);
              var_push (st, n->pipe->decl[1], e);
            }
          else if (n->pipe->n_decl == 1)
            var_push (st, n->pipe->decl[0], e);
          rc = exec_list (st, e, n->list, err);
          vars_pop_to (st, mark);
          if (rc < 0)
            return rc;
        }
    }
  else if (json_is_object (v))
    {
      size_t cnt;
      _cleanup_free_ const char **keys = sorted_keys (v, &cnt);
      for (size_t i = 0; i < cnt; i++)
        {
          any = true;
          json_t *e = json_object_get (v, keys[i]);
          if (n->pipe->n_decl == 2)
            {
              json_t *k = json_string (keys[i]);
              var_push (st, n->pipe->decl[0], k);
              json_decref (k);
              var_push (st, n->pipe->decl[1], e);
            }
          else if (n->pipe->n_decl == 1)
            var_push (st, n->pipe->decl[0], e);
          rc = exec_list (st, e, n->list, err);
          vars_pop_to (st, mark);
          if (rc < 0)
            return rc;
        }
    }
  else if (v != NULL && !json_is_null (v))
    return xerr (err, "range can't iterate over value", NULL);
  if (!any && n->else_list)
    return exec_list (st, dot, n->else_list, err);
  return 0;
}

static int
exec_list (struct exec_state *st, json_t *dot, struct tnode *n, struct berth_error **err)
{
  for (; n; n = n->next)
    {
      int rc = 0;
      if (n->kind == TN_TEXT)
        {
          fputs (n->text, st->out);
          continue;
        }
      size_t mark = st->n_vars;
      _cleanup_json_ json_t *v = eval_pipe (st, dot, n->pipe, err, &rc);
      if (rc < 0)
        return rc;
      switch (n->kind)
        {
        case TN_ACTION:
          if (n->pipe->n_decl > 0)
            {
              /* {{$x := …}} declares for the rest of the enclosing list. */
              var_push (st, n->pipe->decl[0], v);
              continue;
            }
          tmpl_print_value (st->out, v);
          break;
        case TN_IF:
          rc = exec_list (st, dot, truthy (v) ? n->list : n->else_list, err);
          break;
        case TN_WITH:
          if (truthy (v))
            rc = exec_list (st, v, n->list, err);
          else
            rc = exec_list (st, dot, n->else_list, err);
          break;
        case TN_RANGE:
          rc = exec_range (st, dot, n, v, err);
          break;
        case TN_TEXT:
          break;
        }
      vars_pop_to (st, mark);
      if (rc < 0)
        return rc;
    }
  return 0;
}

int
tmpl_execute (const struct tmpl *t, json_t *data, FILE *f, struct berth_error **err)
{
  struct exec_state st = { .out = f, .root = data };
  int rc = exec_list (&st, data, t->root, err);
  vars_pop_to (&st, 0);
  return rc;
}
